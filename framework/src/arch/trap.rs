//! Traps: the saved register state ([`TrapFrame`]), the dispatcher every
//! IDT vector reaches through `trap_entry.s`, and the exception policy.
//!
//! Exceptions (vectors 0..=31):
//! - #PF: the page-fault hook ([`set_page_fault_hook`], the memory manager's)
//!   first; if it returns true the access is retried. Then, from kernel
//!   mode, the exception-fixup table ([`super::extable`]); else fatal.
//! - #GP, from kernel mode: the fixup table, else fatal.
//! - #BP: an installed hook, else resume after the `int3`.
//! - NMI (own IST stack): counted, logged when the console is free,
//!   resumed.
//! - #DF (IST1), #MC (IST3): fatal report.
//! - others: an installed hook ([`set_exception_hook`], e.g. the TEE
//!   emulator's #UD hook), else fatal.
//!
//! Fatal means a report on the console ([`super::report`]) and a panic.
//!
//! Traps from user mode (CPL 3) do not reach [`dispatch`]: the entry code
//! hands them to [`crate::user::execute`], which calls back here:
//! - exceptions: [`handle_user_exception`]: #PF goes to the page-fault
//!   hook; #VE and #VC to their exception hooks (the TEE layer emulates
//!   e.g. CPUID for user mode too). Other hooks are *not* offered user
//!   exceptions: a hook written for kernel faults (say, the TEE emulator's
//!   #UD decoder) must never emulate a platform instruction for user code.
//!   What stays unresolved goes back to the caller of `execute` (it
//!   becomes a signal);
//! - interrupts: [`handle_user_interrupt`] (the same irq dispatch as from
//!   kernel mode).
//!
//! NMI, #DF and #MC from user mode arrive on IST stacks and take the
//! kernel path above.
//!
//! Hooks run on the trapping CPU with interrupts off and must not fault on
//! their own (a fault in the #PF hook re-enters it).
//!
//! NMIs are not nested-safe the way Linux's are: if the NMI handler took
//! an exception, its `iretq` would unblock NMIs and a second NMI would
//! reuse the IST2 stack under the first. The handler therefore only counts
//! and (if the console is free) logs.
//!
//! Interrupts (vectors 32..=255) go to [`super::irq`].

use core::sync::atomic::{AtomicU64, Ordering};

use super::hook::FnSlot;

core::arch::global_asm!(
    include_str!("trap_entry.s"),
    dispatch = sym dispatch,
    smap = sym crate::user::SMAP_INSTRUCTIONS,
    options(att_syntax)
);

extern "C" {
    /// 256 stubs of 16 bytes each (trap_entry.s).
    fn umbra_trap_stubs();
    /// The instruction after the call to the dispatcher.
    fn umbra_trap_return_site();
}

/// Size of one entry stub in `trap_entry.s`.
const STUB_SIZE: usize = 16;

/// Address of the entry stub of `vector` (what the IDT gate points at).
pub(crate) fn stub_address(vector: u8) -> u64 {
    umbra_trap_stubs as unsafe extern "C" fn() as usize as u64 + (usize::from(vector) * STUB_SIZE) as u64
}

/// Return address of the dispatcher's frame (the backtrace may switch
/// stacks after it: the next frame record is the trapped context's).
pub(crate) fn return_site() -> u64 {
    umbra_trap_return_site as unsafe extern "C" fn() as usize as u64
}

pub const DIVIDE_ERROR: u8 = 0;
pub const DEBUG: u8 = 1;
pub const NMI: u8 = 2;
pub const BREAKPOINT: u8 = 3;
pub const INVALID_OPCODE: u8 = 6;
pub const DOUBLE_FAULT: u8 = 8;
pub const GENERAL_PROTECTION: u8 = 13;
pub const PAGE_FAULT: u8 = 14;
pub const MACHINE_CHECK: u8 = 18;
pub const VIRTUALIZATION_EXCEPTION: u8 = 20;
pub const VMM_COMMUNICATION: u8 = 29;

/// Short name and description of exception `vector` (0..=31).
pub fn exception_name(vector: u8) -> (&'static str, &'static str) {
    match vector {
        0 => ("#DE", "divide error"),
        1 => ("#DB", "debug"),
        2 => ("NMI", "non-maskable interrupt"),
        3 => ("#BP", "breakpoint"),
        4 => ("#OF", "overflow"),
        5 => ("#BR", "bound range exceeded"),
        6 => ("#UD", "invalid opcode"),
        7 => ("#NM", "device not available"),
        8 => ("#DF", "double fault"),
        9 => ("#MF", "coprocessor segment overrun"),
        10 => ("#TS", "invalid TSS"),
        11 => ("#NP", "segment not present"),
        12 => ("#SS", "stack-segment fault"),
        13 => ("#GP", "general protection fault"),
        14 => ("#PF", "page fault"),
        16 => ("#MF", "x87 floating-point error"),
        17 => ("#AC", "alignment check"),
        18 => ("#MC", "machine check"),
        19 => ("#XM", "SIMD floating-point exception"),
        20 => ("#VE", "virtualization exception"),
        21 => ("#CP", "control protection exception"),
        28 => ("#HV", "hypervisor injection exception"),
        29 => ("#VC", "VMM communication exception"),
        30 => ("#SX", "security exception"),
        _ => ("#??", "reserved exception"),
    }
}

/// The state saved on a trap, as `trap_entry.s` lays it out (lowest address
/// first). Handlers may change it: the trapped code resumes with it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrapFrame {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    /// The IDT vector, 0..=255.
    pub vector: u64,
    /// The CPU's error code, or 0 for vectors without one.
    pub error_code: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}
const _: () = assert!(core::mem::size_of::<TrapFrame>() == 22 * 8);

impl TrapFrame {
    /// Did the trap come from user mode (CPL 3)?
    pub fn from_user(&self) -> bool {
        self.cs & 3 != 0
    }

    /// The vector as a byte (the entry stubs push 0..=255 only).
    pub fn vector(&self) -> u8 {
        self.vector as u8
    }
}

/// The #PF error code (Intel SDM vol. 3, 4.7).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PageFaultError(pub u64);

impl PageFaultError {
    /// P: the page was present (a protection violation); else not present.
    pub fn present(self) -> bool {
        self.0 & (1 << 0) != 0
    }
    /// W/R: the access was a write.
    pub fn write(self) -> bool {
        self.0 & (1 << 1) != 0
    }
    /// U/S: the access was a user-mode access.
    pub fn user(self) -> bool {
        self.0 & (1 << 2) != 0
    }
    /// RSVD: a reserved bit was set in a paging-structure entry.
    pub fn reserved_bit(self) -> bool {
        self.0 & (1 << 3) != 0
    }
    /// I/D: an instruction fetch.
    pub fn instruction_fetch(self) -> bool {
        self.0 & (1 << 4) != 0
    }
    /// PK: a protection-key violation.
    pub fn protection_key(self) -> bool {
        self.0 & (1 << 5) != 0
    }
    /// SS: a shadow-stack access.
    pub fn shadow_stack(self) -> bool {
        self.0 & (1 << 6) != 0
    }
}

impl core::fmt::Debug for PageFaultError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{:#x} ({}, {}, {}",
            self.0,
            if self.present() { "protection violation" } else { "not present" },
            if self.instruction_fetch() {
                "instruction fetch"
            } else if self.write() {
                "write"
            } else {
                "read"
            },
            if self.user() { "user access" } else { "supervisor access" },
        )?;
        for (set, name) in [
            (self.reserved_bit(), "reserved bit set"),
            (self.protection_key(), "protection key"),
            (self.shadow_stack(), "shadow stack"),
        ] {
            if set {
                write!(f, ", {}", name)?;
            }
        }
        f.write_str(")")
    }
}

/// What the page-fault hook learns about a #PF.
#[derive(Clone, Copy, Debug)]
pub struct PageFaultInfo {
    /// The faulting linear address (CR2).
    pub address: u64,
    pub error: PageFaultError,
    /// The trap came from CPL 3.
    pub from_user: bool,
    /// The faulting instruction.
    pub rip: u64,
}

/// The memory manager's page-fault handler: return true if it resolved the
/// fault (e.g. mapped the page), so the access is retried.
pub type PageFaultHook = fn(&PageFaultInfo) -> bool;
/// A handler for one exception vector: return true if it handled the
/// exception (it may change the frame, e.g. emulate the instruction and
/// advance `rip`), false for the default action.
pub type ExceptionHook = fn(&mut TrapFrame) -> bool;

static PAGE_FAULT_HOOK: FnSlot<PageFaultHook> = FnSlot::empty();
static EXCEPTION_HOOKS: [FnSlot<ExceptionHook>; 32] = [const { FnSlot::empty() }; 32];

/// Install the page-fault hook; returns the previous one.
pub fn set_page_fault_hook(hook: PageFaultHook) -> Option<PageFaultHook> {
    PAGE_FAULT_HOOK.replace(Some(hook))
}

/// Put back (or clear, with `None`) a page-fault hook.
pub fn restore_page_fault_hook(hook: Option<PageFaultHook>) {
    PAGE_FAULT_HOOK.replace(hook);
}

/// Exceptions that cannot take an [`ExceptionHook`]: #PF has its own typed
/// hook; NMI, #DF and #MC run on IST stacks with a fixed policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotHookable(pub u8);

/// Install (or clear) the hook for exception `vector`; returns the
/// previous one.
pub fn set_exception_hook(vector: u8, hook: Option<ExceptionHook>) -> Result<Option<ExceptionHook>, NotHookable> {
    match vector {
        NMI | DOUBLE_FAULT | PAGE_FAULT | MACHINE_CHECK | 32.. => Err(NotHookable(vector)),
        _ => Ok(EXCEPTION_HOOKS[usize::from(vector)].replace(hook)),
    }
}

/// Install the #UD hook (the TEE emulator decodes TDCALL/VMGEXIT/PVALIDATE
/// there); returns the previous one.
pub fn set_invalid_opcode_hook(hook: ExceptionHook) -> Option<ExceptionHook> {
    EXCEPTION_HOOKS[usize::from(INVALID_OPCODE)].replace(Some(hook))
}

/// Deliver exception `vector` (no error code) on `frame` as if the CPU had
/// raised it there: the same policy as a real one (hook, else fatal), for
/// kernel or user frames. For a TEE emulator that synthesises exceptions
/// (#VE, #VC) TCG cannot raise; called from within another exception's
/// hook, with interrupts off. Returns whether it was resolved (a user
/// frame that is not becomes the caller's problem, as in
/// [`handle_user_exception`]).
pub fn deliver_exception(frame: &mut TrapFrame, vector: u8) -> bool {
    frame.vector = u64::from(vector);
    frame.error_code = 0;
    if frame.from_user() {
        return handle_user_exception(frame, 0);
    }
    TRAP_COUNTS[usize::from(vector)].fetch_add(1, Ordering::Relaxed);
    exception(frame, vector);
    true
}

static TRAP_COUNTS: [AtomicU64; 256] = [const { AtomicU64::new(0) }; 256];
static FIXUP_COUNTS: [AtomicU64; 32] = [const { AtomicU64::new(0) }; 32];

/// How many traps arrived on `vector` since boot (all CPUs).
pub fn trap_count(vector: u8) -> u64 {
    TRAP_COUNTS[usize::from(vector)].load(Ordering::Relaxed)
}

/// How many exceptions on `vector` were resolved by the fixup table.
pub fn fixup_count(vector: u8) -> u64 {
    FIXUP_COUNTS.get(usize::from(vector)).map_or(0, |count| count.load(Ordering::Relaxed))
}

/// Entered from `trap_entry.s` with interrupts off.
extern "C" fn dispatch(frame: &mut TrapFrame) {
    let vector = frame.vector();
    TRAP_COUNTS[usize::from(vector)].fetch_add(1, Ordering::Relaxed);
    if vector < 32 {
        exception(frame, vector);
    } else {
        super::irq::dispatch(frame);
        // Interrupts are the preemption points of kernel code.
        #[cfg(target_os = "none")]
        crate::task::preempt_point();
    }
}

/// An exception from user mode (vector < 32, not NMI/#DF/#MC), handed
/// over by `user::execute` with interrupts off. `cr2` is the fault address
/// for #PF. Returns true if it was resolved and user code can resume with
/// `frame` (which a hook may have changed); false if it must be delivered
/// to the process.
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
pub(crate) fn handle_user_exception(frame: &mut TrapFrame, cr2: u64) -> bool {
    let vector = frame.vector();
    TRAP_COUNTS[usize::from(vector)].fetch_add(1, Ordering::Relaxed);
    match vector {
        PAGE_FAULT => {
            let info =
                PageFaultInfo { address: cr2, error: PageFaultError(frame.error_code), from_user: true, rip: frame.rip };
            PAGE_FAULT_HOOK.get().is_some_and(|hook| hook(&info))
        }
        VIRTUALIZATION_EXCEPTION | VMM_COMMUNICATION => {
            EXCEPTION_HOOKS[usize::from(vector)].get().is_some_and(|hook| hook(frame))
        }
        _ => false,
    }
}

/// An interrupt (vector >= 32) that arrived in user mode, handed over by
/// `user::execute` with interrupts off. The caller runs the preemption
/// point afterwards.
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
pub(crate) fn handle_user_interrupt(frame: &TrapFrame) {
    TRAP_COUNTS[usize::from(frame.vector())].fetch_add(1, Ordering::Relaxed);
    super::irq::dispatch(frame);
}

fn exception(frame: &mut TrapFrame, vector: u8) {
    match vector {
        PAGE_FAULT => page_fault(frame),
        NMI => nmi(frame),
        DOUBLE_FAULT | MACHINE_CHECK => super::report::fatal(frame, None),
        _ => {
            if let Some(hook) = EXCEPTION_HOOKS[usize::from(vector)].get() {
                if hook(frame) {
                    return;
                }
            }
            match vector {
                // `int3` is a trap: rip is already past it.
                BREAKPOINT => {}
                GENERAL_PROTECTION if !frame.from_user() && try_fixup(frame, vector) => {}
                _ => super::report::fatal(frame, None),
            }
        }
    }
}

fn try_fixup(frame: &mut TrapFrame, vector: u8) -> bool {
    match super::extable::fixup_for(frame.rip) {
        Some(fixup) => {
            frame.rip = fixup;
            FIXUP_COUNTS[usize::from(vector)].fetch_add(1, Ordering::Relaxed);
            true
        }
        None => false,
    }
}

fn page_fault(frame: &mut TrapFrame) {
    let address = super::registers::cr2();
    let info =
        PageFaultInfo { address, error: PageFaultError(frame.error_code), from_user: frame.from_user(), rip: frame.rip };
    // A kernel access to user memory outside a user copy (RFLAGS.AC clear)
    // is a SMAP violation: a kernel bug, not a fault to resolve (on a
    // writable page the memory manager would find nothing to do and the
    // access would fault forever). Only the fixup table may catch it.
    let smap_violation = !info.from_user
        && address < crate::user::USER_SPACE_END
        && info.error.present()
        && frame.rflags & crate::user::rflags::AC == 0
        && crate::user::SMAP_ENABLED.load(Ordering::Relaxed);
    if let Some(hook) = PAGE_FAULT_HOOK.get().filter(|_| !smap_violation) {
        if hook(&info) {
            return;
        }
    }
    if !info.from_user && try_fixup(frame, PAGE_FAULT) {
        return;
    }
    super::report::fatal(frame, Some(address))
}

static NMI_COUNT: AtomicU64 = AtomicU64::new(0);
/// RBP in the last NMI handler: shows which stack it ran on.
static LAST_NMI_FRAME_POINTER: AtomicU64 = AtomicU64::new(0);
/// NMIs logged at most (the host can send any number).
const NMI_LOG_LIMIT: u64 = 8;

fn nmi(frame: &TrapFrame) {
    LAST_NMI_FRAME_POINTER.store(super::registers::rbp(), Ordering::Relaxed);
    let count = NMI_COUNT.fetch_add(1, Ordering::Relaxed) + 1;
    // The NMI may have interrupted this CPU inside the console: only log
    // when it is free (nothing else on this CPU runs until we return).
    if count <= NMI_LOG_LIMIT && !crate::console::is_busy() {
        log::warn!("NMI #{} at rip {:#x} ({} mode): ignored", count, frame.rip, if frame.from_user() { "user" } else { "kernel" });
    }
}

/// NMIs received since boot (all CPUs).
pub fn nmi_count() -> u64 {
    NMI_COUNT.load(Ordering::Relaxed)
}

/// The frame pointer of the last NMI handler run (a diagnostic: it shows
/// the NMI ran on its IST stack).
pub fn last_nmi_frame_pointer() -> u64 {
    LAST_NMI_FRAME_POINTER.load(Ordering::Relaxed)
}

mod tests {
    use super::*;
    use crate::ktest;
    use core::sync::atomic::AtomicBool;

    #[ktest]
    fn stubs_push_their_vector() {
        // Each stub: [push 0 (6a 00)] push vector (6a vv | 68 vv vv vv vv) jmp.
        let errors = [8u8, 10, 11, 12, 13, 14, 17, 21, 29, 30];
        for vector in 0..=255u8 {
            let stub = stub_address(vector);
            // SAFETY: the stubs are 256 * 16 bytes of kernel text, mapped
            // and never written; reading 8 bytes of stub `vector` stays in it.
            let bytes = unsafe { core::ptr::read(stub as *const [u8; 8]) };
            let at = if errors.contains(&vector) {
                0
            } else {
                assert_eq!(bytes[..2], [0x6a, 0x00], "vector {} lacks the zero error code", vector);
                2
            };
            let pushed = match bytes[at] {
                0x6a => bytes[at + 1],
                0x68 => {
                    assert_eq!(bytes[at + 2..at + 5], [0, 0, 0], "vector {}", vector);
                    bytes[at + 1]
                }
                other => panic!("vector {}: unexpected opcode {:#x}", vector, other),
            };
            assert_eq!(pushed, vector);
        }
    }

    static BREAKPOINT_SEEN: AtomicBool = AtomicBool::new(false);
    static BREAKPOINT_FRAME: spin::Mutex<Option<TrapFrame>> = spin::Mutex::new(None);

    fn record_breakpoint(frame: &mut TrapFrame) -> bool {
        if let Some(mut slot) = BREAKPOINT_FRAME.try_lock() {
            *slot = Some(*frame);
        }
        BREAKPOINT_SEEN.store(true, Ordering::SeqCst);
        // Change a register: the trapped code must see it.
        frame.r15 = 0x1515_1515_1515_1515;
        true
    }

    #[ktest]
    fn int3_resumes_with_registers_intact() {
        let before = trap_count(BREAKPOINT);
        // Without a hook: the default action resumes.
        // SAFETY: int3 traps to our #BP handler, which returns.
        unsafe { core::arch::asm!("int3", options(nomem, nostack)) };
        assert_eq!(trap_count(BREAKPOINT), before + 1);

        let previous = set_exception_hook(BREAKPOINT, Some(record_breakpoint)).expect("#BP is hookable");
        BREAKPOINT_SEEN.store(false, Ordering::SeqCst);
        let (mut rax, mut rcx, mut rdx, mut rsi, mut rdi) = (0xa0u64, 0xc1u64, 0xd2u64, 0x51u64, 0xd1u64);
        let (mut r8, mut r9, mut r10, mut r11, mut r12, mut r13, mut r14) =
            (0x08u64, 0x09u64, 0x10u64, 0x11u64, 0x12u64, 0x13u64, 0x14u64);
        let r15: u64;
        let after_int3: u64;
        // SAFETY: as above; all registers are declared as operands.
        unsafe {
            core::arch::asm!(
                "mov r15, 0x15",
                "lea {after}, [rip + 2f]",
                "int3",
                "2:",
                after = out(reg) after_int3,
                inout("rax") rax, inout("rcx") rcx, inout("rdx") rdx, inout("rsi") rsi, inout("rdi") rdi,
                inout("r8") r8, inout("r9") r9, inout("r10") r10, inout("r11") r11,
                inout("r12") r12, inout("r13") r13, inout("r14") r14, out("r15") r15,
                options(nostack),
            );
        }
        set_exception_hook(BREAKPOINT, previous).expect("#BP is hookable");
        assert!(BREAKPOINT_SEEN.load(Ordering::SeqCst), "the #BP hook did not run");
        assert_eq!(
            (rax, rcx, rdx, rsi, rdi, r8, r9, r10, r11, r12, r13, r14),
            (0xa0, 0xc1, 0xd2, 0x51, 0xd1, 0x08, 0x09, 0x10, 0x11, 0x12, 0x13, 0x14),
            "registers changed across int3"
        );
        assert_eq!(r15, 0x1515_1515_1515_1515, "the hook's change to the frame was lost");
        let frame = BREAKPOINT_FRAME.lock().take().expect("frame recorded");
        assert_eq!(frame.vector, u64::from(BREAKPOINT));
        assert_eq!(frame.rip, after_int3, "saved rip is the instruction after int3");
        assert_eq!((frame.rax, frame.rcx, frame.r14, frame.r15), (0xa0, 0xc1, 0x14, 0x15));
        assert_eq!(frame.cs, u64::from(super::super::gdt::KERNEL_CS));
        assert_eq!(frame.ss & !3, u64::from(super::super::gdt::KERNEL_SS) & !3);
        assert!(!frame.from_user());
        assert!(frame.rflags & 0x2 != 0, "rflags bit 1 is always set");
    }

    #[ktest]
    fn hooks_refuse_fixed_vectors() {
        for vector in [NMI, DOUBLE_FAULT, PAGE_FAULT, MACHINE_CHECK, 32, 255] {
            assert_eq!(set_exception_hook(vector, None), Err(NotHookable(vector)));
        }
        // Re-install the current #UD hook (the TEE emulator's, under it):
        // clearing it, even briefly, would break everything it serves.
        let current = EXCEPTION_HOOKS[usize::from(INVALID_OPCODE)].get();
        assert!(set_exception_hook(INVALID_OPCODE, current).is_ok());
    }

    static UD_HOOK_RAN: AtomicBool = AtomicBool::new(false);

    static PREVIOUS_UD_HOOK: FnSlot<ExceptionHook> = FnSlot::empty();

    fn skip_ud2(frame: &mut TrapFrame) -> bool {
        // Only our ud2 (0f 0b); any other #UD (a TDCALL the TEE emulator
        // serves) goes to the hook we replaced.
        let is_ud2 = super::super::extable::probe_read_u64(frame.rip).is_ok_and(|bytes| bytes & 0xffff == 0x0b0f);
        if !is_ud2 {
            return PREVIOUS_UD_HOOK.get().is_some_and(|previous| previous(frame));
        }
        UD_HOOK_RAN.store(true, Ordering::SeqCst);
        frame.rip += 2; // ud2 is 0f 0b
        true
    }

    #[ktest]
    fn invalid_opcode_hook_can_emulate() {
        PREVIOUS_UD_HOOK.replace(EXCEPTION_HOOKS[usize::from(INVALID_OPCODE)].get());
        let previous = set_invalid_opcode_hook(skip_ud2);
        UD_HOOK_RAN.store(false, Ordering::SeqCst);
        // SAFETY: ud2 raises #UD; the hook skips it.
        unsafe { core::arch::asm!("ud2", options(nomem, nostack)) };
        set_exception_hook(INVALID_OPCODE, previous).expect("#UD is hookable");
        assert!(UD_HOOK_RAN.load(Ordering::SeqCst));
    }

    #[ktest]
    fn exception_names_cover_the_architected_vectors() {
        assert_eq!(exception_name(PAGE_FAULT).0, "#PF");
        assert_eq!(exception_name(VIRTUALIZATION_EXCEPTION).0, "#VE");
        assert_eq!(exception_name(VMM_COMMUNICATION).0, "#VC");
        assert_eq!(exception_name(15).0, "#??");
        let decoded = PageFaultError(0b10011);
        assert!(decoded.present() && decoded.write() && decoded.instruction_fetch() && !decoded.user());
    }

    static HOOK_CALLS: AtomicU64 = AtomicU64::new(0);
    static HOOK_RETRIES_LEFT: AtomicU64 = AtomicU64::new(0);
    static HOOK_INFO: spin::Mutex<Option<PageFaultInfo>> = spin::Mutex::new(None);

    /// Maps nothing: records the call; "retries" while told to.
    fn recording_hook(info: &PageFaultInfo) -> bool {
        HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
        if let Some(mut slot) = HOOK_INFO.try_lock() {
            *slot = Some(*info);
        }
        HOOK_RETRIES_LEFT.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1)).is_ok()
    }

    #[ktest]
    fn kernel_page_fault_goes_to_the_hook_then_the_fixup() {
        use super::super::extable::{probe_read_u64, Fault};
        const ADDRESS: u64 = 0xffff_ffff_7fff_f008; // unmapped (see extable's tests)
        HOOK_CALLS.store(0, Ordering::SeqCst);
        HOOK_RETRIES_LEFT.store(0, Ordering::SeqCst);
        let previous = set_page_fault_hook(recording_hook);
        let declined = probe_read_u64(ADDRESS);
        let calls_declined = HOOK_CALLS.swap(0, Ordering::SeqCst);
        // A hook that claims success twice: the read is retried twice (it
        // faults again, the hook really mapped nothing), then the fixup.
        HOOK_RETRIES_LEFT.store(2, Ordering::SeqCst);
        let retried = probe_read_u64(ADDRESS);
        let calls_retried = HOOK_CALLS.load(Ordering::SeqCst);
        restore_page_fault_hook(previous);

        assert_eq!(declined, Err(Fault));
        assert_eq!(calls_declined, 1, "the hook runs once per fault");
        assert_eq!(retried, Err(Fault));
        assert_eq!(calls_retried, 3, "true from the hook must retry the access");
        let info = HOOK_INFO.lock().take().expect("hook recorded the fault");
        assert_eq!(info.address, ADDRESS, "CR2");
        assert!(!info.from_user && !info.error.user() && !info.error.present() && !info.error.write());
        assert!(!info.error.instruction_fetch());
        assert!(info.rip >= 0xffff_ffff_8000_0000, "rip {:#x} is kernel text", info.rip);
    }

    /// Shows the fatal report for a kernel page fault (run with
    /// `ktest --ignored deliberate_page_fault`; it fails on purpose).
    #[ktest(ignore)]
    fn deliberate_page_fault() {
        let address = core::hint::black_box(0xffff_ffff_7fff_f010u64);
        // SAFETY: not safe: this faults on purpose, to show the report.
        let value = unsafe { core::ptr::read_volatile(address as *const u64) };
        panic!("read {:#x} from an unmapped address", value);
    }

    /// Shows the double-fault report: a push with RSP on an unmapped page
    /// faults, and delivering that #PF needs the same stack (fails on
    /// purpose).
    #[ktest(ignore)]
    fn deliberate_double_fault() {
        // SAFETY: not safe: this faults on purpose, to show the report.
        unsafe { core::arch::asm!("mov rsp, {}", "push rax", in(reg) 0xffff_ffff_7fff_f000u64, options(noreturn)) };
    }
}
