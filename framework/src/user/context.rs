//! The saved state of a user thread ([`UserContext`]) and why user code
//! stopped running ([`ReturnReason`]). Pure data: builds on the host too,
//! so services can unit-test code that handles contexts.

use super::fpu::FpuState;

/// The general-purpose registers, instruction pointer and flags of user
/// code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GeneralRegs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub rsp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    /// Only the flags user code may hold survive the next entry: IOPL, NT,
    /// VM and the virtual-interrupt bits are cleared, IF and bit 1 set
    /// ([`sanitize_rflags`]).
    pub rflags: u64,
}

/// RFLAGS bits.
pub mod rflags {
    pub const CF: u64 = 1 << 0;
    pub const RESERVED_1: u64 = 1 << 1;
    pub const PF: u64 = 1 << 2;
    pub const AF: u64 = 1 << 4;
    pub const ZF: u64 = 1 << 6;
    pub const SF: u64 = 1 << 7;
    pub const TF: u64 = 1 << 8;
    pub const IF: u64 = 1 << 9;
    pub const DF: u64 = 1 << 10;
    pub const OF: u64 = 1 << 11;
    pub const IOPL: u64 = 3 << 12;
    pub const NT: u64 = 1 << 14;
    pub const RF: u64 = 1 << 16;
    pub const VM: u64 = 1 << 17;
    pub const AC: u64 = 1 << 18;
    pub const ID: u64 = 1 << 21;
    /// What user code may set (as Linux's FIX_EFLAGS, plus ID).
    pub const USER_CHANGEABLE: u64 = CF | PF | AF | ZF | SF | TF | DF | OF | RF | AC | ID;
}

/// The RFLAGS value user code is entered with for a requested `value`:
/// the user-changeable bits of `value`, interrupts on.
pub const fn sanitize_rflags(value: u64) -> u64 {
    (value & rflags::USER_CHANGEABLE) | rflags::IF | rflags::RESERVED_1
}

/// RFLAGS of a fresh context: interrupts on, nothing else.
pub const INITIAL_RFLAGS: u64 = 0x202;

/// Everything needed to run a user thread: registers, FS/GS base and the
/// x87/SSE/AVX state. Clone it for `fork` (the clone has its own copy of
/// every piece, the FPU state included).
#[derive(Clone)]
pub struct UserContext {
    pub(super) regs: GeneralRegs,
    pub(super) fs_base: u64,
    pub(super) gs_base: u64,
    pub(super) fpu: FpuState,
}

impl UserContext {
    /// A context that starts at `entry_rip` with stack pointer `stack_rsp`:
    /// all other registers zero, RFLAGS 0x202, FS/GS base 0, the FPU in its
    /// initial state (as after FNINIT, MXCSR 0x1f80, vector registers 0).
    pub fn new(entry_rip: u64, stack_rsp: u64) -> Self {
        Self {
            regs: GeneralRegs { rip: entry_rip, rsp: stack_rsp, rflags: INITIAL_RFLAGS, ..GeneralRegs::default() },
            fs_base: 0,
            gs_base: 0,
            fpu: FpuState::new(),
        }
    }

    pub fn regs(&self) -> &GeneralRegs {
        &self.regs
    }
    pub fn regs_mut(&mut self) -> &mut GeneralRegs {
        &mut self.regs
    }

    pub fn fs_base(&self) -> u64 {
        self.fs_base
    }
    /// Set the FS base (arch_prctl(ARCH_SET_FS); Linux refuses values at
    /// or above `USER_SPACE_END` with EPERM, callers should too). The entry
    /// code never loads a non-canonical base: with one, `execute` returns a
    /// #GP exception without running user code.
    pub fn set_fs_base(&mut self, value: u64) {
        self.fs_base = value;
    }
    pub fn gs_base(&self) -> u64 {
        self.gs_base
    }
    /// Set the GS base (arch_prctl(ARCH_SET_GS)); as [`Self::set_fs_base`].
    pub fn set_gs_base(&mut self, value: u64) {
        self.gs_base = value;
    }

    /// The system-call number (x86-64 Linux ABI: RAX).
    pub fn syscall_number(&self) -> u64 {
        self.regs.rax
    }
    /// The six system-call arguments: RDI, RSI, RDX, R10, R8, R9.
    pub fn syscall_args(&self) -> [u64; 6] {
        let r = &self.regs;
        [r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9]
    }
    /// Set the system call's return value (RAX; a negated errno for errors).
    pub fn set_syscall_return(&mut self, value: u64) {
        self.regs.rax = value;
    }

    /// The x87/SSE/AVX state as the CPU saves it: the XSAVE standard
    /// format (512-byte legacy FXSAVE region, 64-byte header, extended
    /// components; [`Self::fpu_state_len`] bytes), or the 512-byte FXSAVE
    /// image on a CPU without XSAVE. What signal frames carry.
    pub fn fpu_state(&self) -> &[u8] {
        self.fpu.bytes()
    }
    /// Length of [`Self::fpu_state`] on this machine.
    pub fn fpu_state_len(&self) -> usize {
        self.fpu.bytes().len()
    }
    /// Replace the FPU state (rt_sigreturn) with an image in the format of
    /// [`Self::fpu_state`]. A 512-byte image is taken as an FXSAVE image
    /// (the extended components go to their initial state). Refused, with
    /// the state unchanged, when it could not be loaded: MXCSR reserved bits
    /// set, components the kernel did not enable, a compacted or
    /// non-zero reserved header.
    pub fn set_fpu_state(&mut self, image: &[u8]) -> Result<(), InvalidFpuState> {
        self.fpu.set_bytes(image)
    }
    /// Put the FPU back into its initial state (execve).
    pub fn reset_fpu_state(&mut self) {
        self.fpu = FpuState::new();
    }
}

impl core::fmt::Debug for UserContext {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UserContext")
            .field("regs", &self.regs)
            .field("fs_base", &format_args!("{:#x}", self.fs_base))
            .field("gs_base", &format_args!("{:#x}", self.gs_base))
            .field("fpu_state_len", &self.fpu.bytes().len())
            .finish()
    }
}

/// An FPU image [`UserContext::set_fpu_state`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvalidFpuState {
    /// Shorter than the 512-byte legacy region, or longer than this
    /// machine's state.
    BadLength,
    /// MXCSR has bits set that the CPU does not support.
    ReservedMxcsrBits,
    /// The XSAVE header names components the kernel did not enable, uses
    /// the compacted format, or has reserved bytes set.
    BadHeader,
}

impl core::fmt::Display for InvalidFpuState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::BadLength => "FPU state image has the wrong length",
            Self::ReservedMxcsrBits => "MXCSR reserved bits set",
            Self::BadHeader => "invalid XSAVE header",
        })
    }
}

/// Why [`execute`](super::execute) returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnReason {
    /// User code executed `syscall`: see [`UserContext::syscall_number`].
    /// RCX and R11 hold the return RIP and RFLAGS, as the CPU leaves them.
    Syscall,
    /// An exception nobody in the kernel could resolve (deliver a signal).
    Exception(UserException),
    /// An interrupt arrived and `should_return` said to come back.
    Interrupted,
}

/// A user-mode exception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserException {
    /// The exception vector (0 #DE, 1 #DB, 3 #BP, 6 #UD, 13 #GP, 14 #PF,
    /// 16 #MF, 17 #AC, 19 #XM, ...).
    pub vector: u8,
    /// The CPU's error code (0 for vectors without one).
    pub error_code: u64,
    /// The faulting address (CR2) for #PF.
    pub fault_address: Option<u64>,
}

impl UserException {
    pub const DIVIDE_ERROR: u8 = 0;
    pub const DEBUG: u8 = 1;
    pub const BREAKPOINT: u8 = 3;
    pub const OVERFLOW: u8 = 4;
    pub const BOUND_RANGE: u8 = 5;
    pub const INVALID_OPCODE: u8 = 6;
    pub const DEVICE_NOT_AVAILABLE: u8 = 7;
    pub const SEGMENT_NOT_PRESENT: u8 = 11;
    pub const STACK_SEGMENT: u8 = 12;
    pub const GENERAL_PROTECTION: u8 = 13;
    pub const PAGE_FAULT: u8 = 14;
    pub const X87_FLOATING_POINT: u8 = 16;
    pub const ALIGNMENT_CHECK: u8 = 17;
    pub const SIMD_FLOATING_POINT: u8 = 19;
    pub const CONTROL_PROTECTION: u8 = 21;

    /// #PF error code bit: the page was present (a protection violation).
    pub const PF_PRESENT: u64 = 1 << 0;
    /// #PF error code bit: the access was a write.
    pub const PF_WRITE: u64 = 1 << 1;
    /// #PF error code bit: an instruction fetch.
    pub const PF_INSTRUCTION: u64 = 1 << 4;
}

#[cfg(test)]
mod host_tests {
    use super::*;

    #[test]
    fn syscall_view_follows_the_linux_abi() {
        let mut ctx = UserContext::new(0x40_1000, 0x7fff_0000);
        assert_eq!(ctx.regs().rflags, 0x202);
        let r = ctx.regs_mut();
        (r.rax, r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9, r.rcx) = (60, 1, 2, 3, 4, 5, 6, 99);
        assert_eq!(ctx.syscall_number(), 60);
        assert_eq!(ctx.syscall_args(), [1, 2, 3, 4, 5, 6]);
        ctx.set_syscall_return(-14i64 as u64);
        assert_eq!(ctx.regs().rax, -14i64 as u64);
    }

    #[test]
    fn rflags_are_sanitized() {
        assert_eq!(sanitize_rflags(0), 0x202);
        // IOPL 3, NT, VM, VIF/VIP cleared; CF, DF, AC, ID kept.
        let wild = rflags::IOPL | rflags::NT | rflags::VM | (1 << 19) | (1 << 20) | rflags::CF | rflags::DF | rflags::AC;
        assert_eq!(sanitize_rflags(wild | rflags::ID), rflags::CF | rflags::DF | rflags::AC | rflags::ID | 0x202);
    }

    #[test]
    fn clone_copies_fpu_state() {
        let mut ctx = UserContext::new(0, 0);
        let mut image = ctx.fpu_state().to_vec();
        image[24..28].copy_from_slice(&0x3f80u32.to_le_bytes()); // MXCSR: rounding control 01 (down)
        ctx.set_fpu_state(&image).unwrap();
        let copy = ctx.clone();
        assert_eq!(copy.fpu_state(), ctx.fpu_state());
        assert_eq!(u32::from_le_bytes(copy.fpu_state()[24..28].try_into().unwrap()), 0x3f80);
    }
}
