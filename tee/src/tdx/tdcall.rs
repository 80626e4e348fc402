//! The TDCALL instruction (`66 0F 01 CC`): the one place tee executes it.
//!
//! Owns: the register transfer. Must never: interpret results (the typed
//! wrappers in [`super::calls`] and [`super::vmcall`] do, and validate
//! them).
//!
//! Why not the `tdx-guest` crate: its 0.3.1 wrappers (the last version this
//! compiler builds) fold every status into `(rax >> 32).into()`, losing
//! the detail bits and mapping unknown codes to `Other`; `Gpaw::from`
//! panics on an unexpected TDG.VP.INFO answer; its TDVMCALL I/O returns
//! R11 unmasked; and it pulls `iced-x86`, `raw-cpuid` and `uefi-raw` into
//! the TCB for #VE decoding we do not use yet. One `asm!` here is smaller
//! and every caller sees the full 64-bit status.

/// The registers one TDCALL reads and writes. RBX, RSI, RDI and RBP are
/// not used by any leaf we call and are preserved by the TDX module (and
/// never exposed to the host by a TDVMCALL from here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TdcallRegs {
    pub rax: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
}

/// Execute TDCALL with `regs` in and out.
///
/// # Safety
/// The leaf and operands must not break memory safety: a leaf that writes
/// guest memory (TDG.MR.REPORT) or zeroes it (TDG.MEM.PAGE.ACCEPT) must be
/// given physical addresses of memory the caller owns and nothing else
/// references; a TDVMCALL must expose to the host only registers that hold
/// nothing secret.
#[cfg(target_arch = "x86_64")]
pub unsafe fn tdcall(regs: &mut TdcallRegs) {
    // SAFETY: forwarded to the caller. TDCALL touches no stack and only the listed registers (in a TD; under the
    // emulator the #UD handler runs on the kernel stack below the red-zone-free kernel frame and restores every
    // register it does not define as output).
    unsafe {
        core::arch::asm!(
            ".byte 0x66, 0x0f, 0x01, 0xcc",
            inout("rax") regs.rax,
            inout("rcx") regs.rcx,
            inout("rdx") regs.rdx,
            inout("r8") regs.r8,
            inout("r9") regs.r9,
            inout("r10") regs.r10,
            inout("r11") regs.r11,
            inout("r12") regs.r12,
            inout("r13") regs.r13,
            inout("r14") regs.r14,
            inout("r15") regs.r15,
            options(nostack),
        );
    }
}
