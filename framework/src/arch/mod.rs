//! x86-64 specifics.
pub mod cpuid;
pub mod hook;
pub mod msr;
pub mod port;
pub mod registers;

/// Stop this CPU until the next interrupt (forever if interrupts are off).
pub fn halt() {
    // SAFETY: `hlt` only waits; it has no memory effects.
    unsafe { core::arch::asm!("hlt", options(nomem, nostack)) }
}

/// Busy-wait hint for spin loops.
pub fn spin_hint() {
    core::hint::spin_loop();
}

/// Read the time-stamp counter.
pub fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` reads a counter; it is always allowed at CPL 0.
    unsafe { core::arch::x86_64::_rdtsc() }
}
