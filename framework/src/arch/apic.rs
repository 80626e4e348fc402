//! The local APIC in x2APIC mode: all registers are MSRs (no MMIO page to
//! map or share), which is also the only mode a TDX guest gets.
//!
//! Owns: enabling the APIC, its spurious/error vectors and LVT masks,
//! end-of-interrupt, the APIC ID, IPIs (fixed vector, and INIT/SIPI for
//! starting application processors), and raw access to the timer registers
//! for [`super::timer`].
//!
//! Without x2APIC (CPUID.1:ECX[21] clear, e.g. `-cpu qemu64`) [`init`]
//! fails and the kernel runs without timer interrupts or IPIs.
//!
//! Threat model: under TDX the x2APIC is virtualised by the TDX module and
//! some registers (ICR) are emulated by the host via #VE; the host decides
//! when interrupts arrive anyway. Nothing here trusts an APIC value for
//! memory safety.

use core::sync::atomic::{AtomicBool, Ordering};

use super::irq::{self, IrqError};
use super::msr;
use super::trap::TrapFrame;

/// Spurious-interrupt vector (low 4 bits must be 1 on old APICs: 0xff).
pub const SPURIOUS_VECTOR: u8 = 0xff;
/// The APIC's internal-error interrupt.
pub const ERROR_VECTOR: u8 = 0xfe;

const APIC_BASE_ENABLE: u64 = 1 << 11;
const APIC_BASE_X2APIC: u64 = 1 << 10;

// x2APIC registers (MSR 0x800 + MMIO offset / 16).
const ID: u32 = msr::X2APIC_BASE + 0x02;
const VERSION: u32 = msr::X2APIC_BASE + 0x03;
const TPR: u32 = msr::X2APIC_BASE + 0x08;
const EOI: u32 = msr::X2APIC_BASE + 0x0b;
const SVR: u32 = msr::X2APIC_BASE + 0x0f;
const ISR: u32 = msr::X2APIC_BASE + 0x10; // ISR bits 0..31; +1 per 32 vectors
const ESR: u32 = msr::X2APIC_BASE + 0x28;
const ICR: u32 = msr::X2APIC_BASE + 0x30;
const LVT_TIMER: u32 = msr::X2APIC_BASE + 0x32;
const LVT_THERMAL: u32 = msr::X2APIC_BASE + 0x33;
const LVT_PERFORMANCE: u32 = msr::X2APIC_BASE + 0x34;
const LVT_LINT0: u32 = msr::X2APIC_BASE + 0x35;
const LVT_LINT1: u32 = msr::X2APIC_BASE + 0x36;
const LVT_ERROR: u32 = msr::X2APIC_BASE + 0x37;
const TIMER_INITIAL_COUNT: u32 = msr::X2APIC_BASE + 0x38;
const TIMER_CURRENT_COUNT: u32 = msr::X2APIC_BASE + 0x39;
const TIMER_DIVIDE: u32 = msr::X2APIC_BASE + 0x3e;
const SELF_IPI: u32 = msr::X2APIC_BASE + 0x3f;

const SVR_ENABLE: u64 = 1 << 8;
const LVT_MASKED: u64 = 1 << 16;
const LVT_DELIVERY_NMI: u64 = 0b100 << 8;
const ICR_LEVEL_ASSERT: u64 = 1 << 14;
const ICR_DELIVERY_INIT: u64 = 0b101 << 8;
const ICR_DELIVERY_STARTUP: u64 = 0b110 << 8;

/// Set once the boot CPU has switched its APIC to x2APIC mode; every CPU
/// that runs kernel code with interrupts on does the same first.
static ENABLED: AtomicBool = AtomicBool::new(false);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApicError {
    /// CPUID.1:EDX[9]: no local APIC at all.
    NoApic,
    /// CPUID.1:ECX[21]: the APIC has no x2APIC mode.
    NoX2Apic,
    /// A fixed vector was taken before `init`.
    Vector(IrqError),
}

impl core::fmt::Display for ApicError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoApic => f.write_str("the CPU has no local APIC"),
            Self::NoX2Apic => f.write_str("the local APIC has no x2APIC mode (CPUID.1:ECX[21] clear)"),
            Self::Vector(error) => write!(f, "{}", error),
        }
    }
}

fn read(register: u32) -> u64 {
    // SAFETY: callers only run once this CPU's APIC is in x2APIC mode
    // (`ENABLED`/`enable_this_cpu`), where these MSRs exist; reading them
    // has no side effect.
    unsafe { msr::read(register) }
}

fn write(register: u32, value: u64) {
    // SAFETY: x2APIC mode is on (as for `read`); APIC registers steer
    // interrupt delivery, never memory, except INIT/SIPI in the ICR, which
    // only the unsafe `send_init`/`send_startup` write.
    unsafe { msr::write(register, value) }
}

/// Enable the boot CPU's APIC in x2APIC mode and claim the spurious and
/// error vectors. Interrupts must be off.
pub fn init() -> Result<(), ApicError> {
    let features = super::cpuid::features();
    if !features.apic {
        return Err(ApicError::NoApic);
    }
    if !features.x2apic {
        return Err(ApicError::NoX2Apic);
    }
    irq::register(SPURIOUS_VECTOR, on_spurious).map_err(ApicError::Vector)?;
    irq::register(ERROR_VECTOR, on_error).map_err(ApicError::Vector)?;
    enable_this_cpu();
    ENABLED.store(true, Ordering::Release);
    log::info!(
        "apic: x2APIC on, id {}, version {:#x}, {} LVT entries",
        id(),
        read(VERSION) & 0xff,
        max_lvt() + 1
    );
    Ok(())
}

/// Per-CPU part of `init`: for application processors (after the boot CPU
/// ran `init` successfully), with interrupts off.
pub fn init_this_cpu() -> Result<(), ApicError> {
    if !is_enabled() {
        return Err(ApicError::NoX2Apic);
    }
    enable_this_cpu();
    Ok(())
}

fn enable_this_cpu() {
    // SAFETY: IA32_APIC_BASE exists on every CPU with an APIC (checked).
    let base = unsafe { msr::read(msr::IA32_APIC_BASE) };
    if base & APIC_BASE_X2APIC == 0 {
        // Disabled -> x2APIC directly is an invalid transition: go through
        // xAPIC-enabled.
        // SAFETY: enabling the APIC and its x2APIC mode changes how
        // interrupts are delivered, not memory; the physical base stays.
        unsafe {
            msr::write(msr::IA32_APIC_BASE, base | APIC_BASE_ENABLE);
            msr::write(msr::IA32_APIC_BASE, base | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
        }
    }
    write(TPR, 0);
    write(LVT_TIMER, LVT_MASKED);
    let lvts = max_lvt();
    if lvts >= 5 {
        write(LVT_THERMAL, LVT_MASKED);
    }
    if lvts >= 4 {
        write(LVT_PERFORMANCE, LVT_MASKED);
    }
    write(LVT_LINT0, LVT_MASKED); // the (masked) 8259 PIC
    write(LVT_LINT1, LVT_DELIVERY_NMI); // external NMIs, as on PCs
    write(LVT_ERROR, u64::from(ERROR_VECTOR));
    write(ESR, 0);
    write(SVR, SVR_ENABLE | u64::from(SPURIOUS_VECTOR));
    // Acknowledge anything left in service by the firmware.
    write(EOI, 0);
}

/// Index of the last LVT entry (version register bits 23:16).
fn max_lvt() -> u64 {
    (read(VERSION) >> 16) & 0xff
}

/// Is the boot CPU's APIC enabled in x2APIC mode?
pub fn is_enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

/// Signal end-of-interrupt, if the APIC is enabled.
pub fn end_of_interrupt() {
    if is_enabled() {
        write(EOI, 0);
    }
}

/// This CPU's x2APIC ID (0 without x2APIC).
pub fn id() -> u32 {
    if is_enabled() {
        read(ID) as u32
    } else {
        0
    }
}

/// Is `vector` in service (delivered, not yet acknowledged) on this CPU?
pub fn in_service(vector: u8) -> bool {
    is_enabled() && read(ISR + u32::from(vector / 32)) & (1 << (vector % 32)) != 0
}

fn on_spurious(_: &TrapFrame) {}

fn on_error(_: &TrapFrame) {
    write(ESR, 0); // latch the errors into ESR
    let errors = read(ESR);
    log::warn!("apic: error interrupt, ESR {:#x}", errors);
}

/// Send interrupt `vector` (fixed delivery) to the CPU with x2APIC ID
/// `destination`. Does nothing without x2APIC.
pub fn send_ipi(destination: u32, vector: u8) {
    if is_enabled() && vector >= irq::FIRST_VECTOR {
        write(ICR, (u64::from(destination) << 32) | ICR_LEVEL_ASSERT | u64::from(vector));
    }
}

/// Send an NMI to the CPU with x2APIC ID `destination` (e.g. to make
/// every CPU report its state when one panics).
pub fn send_nmi(destination: u32) {
    if is_enabled() {
        write(ICR, (u64::from(destination) << 32) | ICR_LEVEL_ASSERT | LVT_DELIVERY_NMI);
    }
}

/// Send interrupt `vector` to this CPU (x2APIC SELF IPI register).
pub fn send_self_ipi(vector: u8) {
    if is_enabled() && vector >= irq::FIRST_VECTOR {
        write(SELF_IPI, u64::from(vector));
    }
}

/// Send INIT to the CPU `destination` (first step of starting an AP).
///
/// # Safety
/// `destination` must be a CPU that runs no kernel code (not started yet,
/// or parked with nothing it owns): INIT resets it on the spot.
pub unsafe fn send_init(destination: u32) {
    if is_enabled() {
        write(ICR, (u64::from(destination) << 32) | ICR_LEVEL_ASSERT | ICR_DELIVERY_INIT);
    }
}

/// Send STARTUP: the CPU `destination` starts in real mode at physical
/// address `start_page * 4096`.
///
/// # Safety
/// That page must hold the AP start-up code, and `destination` must have
/// received INIT (see `send_init`).
pub unsafe fn send_startup(destination: u32, start_page: u8) {
    if is_enabled() {
        write(ICR, (u64::from(destination) << 32) | ICR_LEVEL_ASSERT | ICR_DELIVERY_STARTUP | u64::from(start_page));
    }
}

/// Raw timer registers, for `timer` only.
pub(crate) mod timer_registers {
    use super::*;

    pub const MODE_ONE_SHOT: u64 = 0b00 << 17;
    pub const MODE_PERIODIC: u64 = 0b01 << 17;
    pub const MODE_TSC_DEADLINE: u64 = 0b10 << 17;
    pub const MASKED: u64 = LVT_MASKED;
    /// Divide configuration value for "divide by 16".
    pub const DIVIDE_BY_16: u64 = 0b0011;

    pub fn set_lvt(value: u64) {
        write(LVT_TIMER, value);
    }
    pub fn set_divide(value: u64) {
        write(TIMER_DIVIDE, value);
    }
    pub fn set_initial_count(count: u32) {
        write(TIMER_INITIAL_COUNT, u64::from(count));
    }
    pub fn current_count() -> u32 {
        read(TIMER_CURRENT_COUNT) as u32
    }
    /// Arm the TSC-deadline timer (LVT in TSC-deadline mode) at `tsc`.
    pub fn set_tsc_deadline(tsc: u64) {
        // SAFETY: IA32_TSC_DEADLINE exists when CPUID.1:ECX[24] is set,
        // which `timer` checks before choosing this mode; it only arms the
        // timer.
        unsafe { msr::write(msr::IA32_TSC_DEADLINE, tsc) };
    }
}

mod tests {
    use super::*;
    use crate::ktest;
    use core::sync::atomic::AtomicU64;

    static IPI_HITS: AtomicU64 = AtomicU64::new(0);
    static IPI_STILL_IN_SERVICE: AtomicU64 = AtomicU64::new(0);

    fn count_ipi(frame: &TrapFrame) {
        if in_service(frame.vector()) || frame.from_user() {
            IPI_STILL_IN_SERVICE.fetch_add(1, Ordering::SeqCst);
        }
        IPI_HITS.fetch_add(1, Ordering::SeqCst);
    }

    /// Wait up to 100 ms (by the TSC) for `hits` IPIs.
    fn wait_for(hits: u64) -> bool {
        let deadline = super::super::tsc::monotonic_ns() + 100_000_000;
        while super::super::tsc::monotonic_ns() < deadline {
            if IPI_HITS.load(Ordering::SeqCst) >= hits {
                return true;
            }
            core::hint::spin_loop();
        }
        false
    }

    #[ktest]
    fn self_ipi_runs_its_handler() {
        if !is_enabled() {
            crate::println!("  (skipped: no x2APIC)");
            return;
        }
        assert!(crate::arch::irq::is_local_enabled());
        let vector = irq::allocate(count_ipi).expect("a free vector");
        IPI_HITS.store(0, Ordering::SeqCst);
        IPI_STILL_IN_SERVICE.store(0, Ordering::SeqCst);
        send_self_ipi(vector);
        let by_self_ipi = wait_for(1);
        send_ipi(id(), vector);
        let by_icr = wait_for(2);
        irq::unregister(vector);
        assert!(by_self_ipi, "the SELF IPI register did not deliver vector {:#x}", vector);
        assert!(by_icr, "an ICR IPI to our own id {} did not arrive", id());
        assert_eq!(IPI_HITS.load(Ordering::SeqCst), 2);
        assert_eq!(IPI_STILL_IN_SERVICE.load(Ordering::SeqCst), 0, "end-of-interrupt must come before the handler");
    }

    #[ktest]
    fn nmi_runs_on_its_ist_stack_and_resumes() {
        if !is_enabled() {
            crate::println!("  (skipped: no x2APIC)");
            return;
        }
        let before = crate::arch::trap::nmi_count();
        send_nmi(id());
        let deadline = crate::arch::tsc::monotonic_ns() + 100_000_000;
        while crate::arch::trap::nmi_count() == before && crate::arch::tsc::monotonic_ns() < deadline {
            core::hint::spin_loop();
        }
        assert_eq!(crate::arch::trap::nmi_count(), before + 1, "the NMI did not arrive");
        let stack = crate::arch::gdt::current_ist_stacks()
            .and_then(|stacks| stacks.stack_range(crate::arch::gdt::IST_NMI))
            .expect("NMI stack");
        let handler_rbp = crate::arch::trap::last_nmi_frame_pointer();
        assert!(stack.contains(&handler_rbp), "NMI handler ran at {:#x}, not on IST2 {:x?}", handler_rbp, stack);
    }

    #[ktest]
    fn apic_vectors_are_claimed() {
        if !is_enabled() {
            crate::println!("  (skipped: no x2APIC)");
            return;
        }
        assert!(irq::is_registered(SPURIOUS_VECTOR) && irq::is_registered(ERROR_VECTOR));
        // SAFETY: reading IA32_APIC_BASE (the APIC exists: it is enabled).
        let base = unsafe { msr::read(msr::IA32_APIC_BASE) };
        assert_eq!(base & (APIC_BASE_ENABLE | APIC_BASE_X2APIC), APIC_BASE_ENABLE | APIC_BASE_X2APIC);
        assert_eq!(read(SVR) & 0x1ff, SVR_ENABLE | u64::from(SPURIOUS_VECTOR));
        assert!(read(LVT_LINT0) & LVT_MASKED != 0);
    }
}
