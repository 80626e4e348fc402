//! The SNP instructions: VMGEXIT (`F3 0F 01 D9`, REP VMMCALL), PVALIDATE
//! (`F2 0F 01 FF`) and the GHCB MSR. The one place tee executes them.
//!
//! Owns: the register transfer. Must never: interpret results (callers
//! in [`super::msr_protocol`], [`super::ghcb`] and [`super::pvalidate`]
//! do, and treat every host answer as hostile).

use super::abi::{pvalidate::FAIL_NOUPDATE, MSR_GHCB};

/// How the TEE emulator serves the SEV MSRs (SEV_STATUS, the GHCB MSR):
/// `write` is `Some(value)` for wrmsr; returns the value read. QEMU TCG
/// reads unknown MSRs as 0 and drops writes without a #GP, so unlike
/// VMGEXIT and PVALIDATE these cannot be trapped; as with port I/O, the
/// accessor consults the emulator. Never set on real hardware (the
/// emulator refuses to start there).
#[cfg(feature = "emulation")]
pub type SevMsrEmulation = fn(msr: u32, write: Option<u64>) -> u64;

#[cfg(feature = "emulation")]
static SEV_MSR_EMULATION: spin::Once<SevMsrEmulation> = spin::Once::new();

/// Route the SEV MSRs to the emulator (once, by the emulator's install).
#[cfg(feature = "emulation")]
pub fn set_sev_msr_emulation(access: SevMsrEmulation) {
    SEV_MSR_EMULATION.call_once(|| access);
}

/// Read a SEV MSR (SEV_STATUS or the GHCB MSR).
fn read_sev_msr(msr: u32) -> u64 {
    #[cfg(feature = "emulation")]
    if let Some(access) = SEV_MSR_EMULATION.get() {
        return access(msr, None);
    }
    // SAFETY: the SEV MSRs exist on every SEV-ES/SNP guest (the only
    // platform that calls this) and reading them has no side effect.
    unsafe { framework::arch::msr::read(msr) }
}

/// SEV_STATUS (read natively: it does not #VC).
pub fn read_sev_status() -> u64 {
    read_sev_msr(super::abi::MSR_SEV_STATUS)
}

/// Exit to the hypervisor: it reads the GHCB MSR (MSR protocol) or the
/// GHCB page that MSR names, and answers there.
///
/// # Safety
/// The GHCB MSR must hold a request whose effects on guest memory (page
/// state changes) the caller owns; a GHCB named by it must hold nothing
/// but the request.
pub unsafe fn vmgexit() {
    // VMGEXIT changes no register (the guest state is saved in the VMSA);
    // the hypervisor writes only the GHCB MSR and the shared GHCB page,
    // hence no `nomem`. Under the TEE emulator the #UD handler plays the
    // SAFETY: hypervisor with the same effect; the rest is the caller's.
    unsafe { core::arch::asm!(".byte 0xf3, 0x0f, 0x01, 0xd9", options(nostack, preserves_flags)) };
}

/// PVALIDATE the page at `vaddr` (4 KiB: `size` 0, 2 MiB: 1); returns
/// the instruction's code, or [`FAIL_NOUPDATE`] when RFLAGS.CF says the
/// validated bit already had that value (Linux's convention).
///
/// # Safety
/// Validating makes the page's (unpredictable) contents usable: nothing
/// may rely on them. Rescinding makes any later access fault (#VC): the
/// caller owns the page and nothing references it.
pub unsafe fn pvalidate(vaddr: u64, size: u32, validate: bool) -> u32 {
    let rc: u64;
    let no_update: u8;
    // SAFETY: forwarded to the caller. PVALIDATE reads RAX, ECX, EDX,
    // writes RAX and RFLAGS, and changes only the RMP entry of the page.
    unsafe {
        core::arch::asm!(
            ".byte 0xf2, 0x0f, 0x01, 0xff",
            "setc {no_update}",
            inout("rax") vaddr => rc,
            in("ecx") size,
            in("edx") u32::from(validate),
            no_update = out(reg_byte) no_update,
            options(nostack),
        );
    }
    if no_update != 0 {
        FAIL_NOUPDATE
    } else {
        rc as u32
    }
}

/// The GHCB MSR.
pub fn read_ghcb_msr() -> u64 {
    read_sev_msr(MSR_GHCB)
}

/// Set the GHCB MSR (a GHCB GPA or an MSR-protocol request).
///
/// # Safety
/// The next VMGEXIT on this CPU hands `value` to the hypervisor: it must
/// name nothing private.
pub unsafe fn write_ghcb_msr(value: u64) {
    #[cfg(feature = "emulation")]
    if let Some(access) = SEV_MSR_EMULATION.get() {
        access(MSR_GHCB, Some(value));
        return;
    }
    // SAFETY: forwarded to the caller; the MSR only holds a value for the
    // hypervisor.
    unsafe { framework::arch::msr::write(MSR_GHCB, value) }
}
