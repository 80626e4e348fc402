//! Model-specific registers: `rdmsr`/`wrmsr` and the numbers the framework
//! uses. Owners of each MSR (apic, timer, later syscall entry and per-CPU
//! data) wrap these in safe functions for their own registers.
//!
//! Under TDX many MSR accesses are virtualised by the TDX module, others
//! raise #VE and go to the host; under SNP they may raise #VC. The tee
//! layer's handlers will serve those; nothing here trusts a value that the
//! host controls for memory safety.

/// Local APIC base and mode (EN bit 11, EXTD = x2APIC bit 10, BSP bit 8).
pub const IA32_APIC_BASE: u32 = 0x1b;
/// Absolute TSC value at which the TSC-deadline timer fires.
pub const IA32_TSC_DEADLINE: u32 = 0x6e0;
/// Extended features: SCE (bit 0) enables SYSCALL/SYSRET, NXE (bit 11).
pub const IA32_EFER: u32 = 0xc000_0080;
/// SYSCALL/SYSRET segment selectors.
pub const IA32_STAR: u32 = 0xc000_0081;
/// 64-bit SYSCALL entry point.
pub const IA32_LSTAR: u32 = 0xc000_0082;
/// RFLAGS bits SYSCALL clears.
pub const IA32_FMASK: u32 = 0xc000_0084;
/// The FS base.
pub const IA32_FS_BASE: u32 = 0xc000_0100;
/// The GS base in use now (kernel's after `swapgs` on entry).
pub const IA32_GS_BASE: u32 = 0xc000_0101;
/// The GS base `swapgs` swaps in.
pub const IA32_KERNEL_GS_BASE: u32 = 0xc000_0102;
/// First x2APIC register (MMIO offset `off` is MSR `X2APIC_BASE + off / 16`).
pub const X2APIC_BASE: u32 = 0x800;

/// Read an MSR.
///
/// # Safety
/// `msr` must exist on this CPU (else #GP) and reading it must have no side
/// effect that breaks an invariant the kernel relies on.
pub unsafe fn read(msr: u32) -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: the caller guarantees the MSR exists and is harmless to read.
    unsafe {
        core::arch::asm!("rdmsr", in("ecx") msr, out("eax") low, out("edx") high, options(nomem, nostack, preserves_flags));
    }
    (u64::from(high) << 32) | u64::from(low)
}

/// Write an MSR.
///
/// # Safety
/// `msr` must exist on this CPU and `value` must be valid for it and keep
/// every invariant the kernel relies on (e.g. not move a page-table root or
/// a stack the kernel is using).
pub unsafe fn write(msr: u32, value: u64) {
    // SAFETY: the caller guarantees the MSR exists and the value is sound.
    unsafe {
        core::arch::asm!(
            "wrmsr",
            in("ecx") msr,
            in("eax") value as u32,
            in("edx") (value >> 32) as u32,
            options(nostack, preserves_flags)
        );
    }
}
