//! The periodic tick: the local APIC timer, at [`DEFAULT_HZ`] unless the
//! command line says otherwise (`umbra.hz=N`, 10..=1000).
//!
//! Why 250 Hz: the tick drives preemption and coarse timeouts only (precise
//! time comes from the TSC). Every tick is a VM exit under KVM and a TDX
//! module round trip under TDX, and is slow under TCG emulation; 4 ms
//! slices are what most Linux distributions use (CONFIG_HZ_250) and keep
//! interactive latency fine while costing a quarter of 1000 Hz.
//!
//! Mode: TSC-deadline (CPUID.1:ECX[24]) when present, re-armed each tick at
//! the previous deadline + one period (no drift); else the APIC timer's
//! periodic mode, with its count rate calibrated against the TSC (10 ms).
//! `umbra.timer=periodic` forces periodic mode.
//!
//! Each tick bumps [`ticks`] and calls the tick callback
//! ([`set_tick_callback`], the scheduler's preemption hook) in interrupt
//! context. Only the boot CPU runs the timer so far; when application
//! processors start theirs, the tick count becomes per-CPU.

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use super::apic::timer_registers as registers;
use super::hook::FnSlot;
use super::irq;
use super::trap::TrapFrame;

pub const DEFAULT_HZ: u32 = 250;
/// Accepted tick rates.
pub const HZ_RANGE: core::ops::RangeInclusive<u32> = 10..=1000;
/// The timer's vector (a high priority class, like Linux's 0xec).
pub const TIMER_VECTOR: u8 = 0xec;

/// Plausible APIC timer count rates (after the divide-by-16).
const MIN_APIC_HZ: u64 = 100_000;
const MAX_APIC_HZ: u64 = 10_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerMode {
    TscDeadline,
    Periodic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerError {
    /// The local APIC is not in x2APIC mode.
    NoApic,
    /// The tick rate is outside [`HZ_RANGE`].
    BadRate(u32),
    /// The APIC timer's count rate is implausible (Hz measured).
    Calibration(u64),
    /// The timer vector is taken.
    Vector(irq::IrqError),
}

/// What `init` set up.
#[derive(Clone, Copy, Debug)]
pub struct TimerInfo {
    pub hz: u32,
    pub mode: TimerMode,
    /// APIC timer count rate after the divider (periodic mode).
    pub apic_hz: Option<u64>,
}

static HZ: AtomicU32 = AtomicU32::new(0);
static TICKS: AtomicU64 = AtomicU64::new(0);
static DEADLINE_MODE: AtomicBool = AtomicBool::new(false);
static PERIOD_CYCLES: AtomicU64 = AtomicU64::new(0);
static NEXT_DEADLINE: AtomicU64 = AtomicU64::new(0);
static MISSED_DEADLINES: AtomicU64 = AtomicU64::new(0);
static TICK_CALLBACK: FnSlot<fn()> = FnSlot::empty();
static PERIODIC_COUNT: AtomicU32 = AtomicU32::new(0);

/// Start the tick on an AP with the boot CPU's settings (same rate and
/// mode; all CPUs have the same APIC timer and TSC frequency).
pub fn init_this_cpu() {
    if HZ.load(Ordering::Relaxed) == 0 || !super::apic::is_enabled() {
        return;
    }
    let vector = u64::from(TIMER_VECTOR);
    if DEADLINE_MODE.load(Ordering::Relaxed) {
        registers::set_lvt(registers::MODE_TSC_DEADLINE | vector);
        // SAFETY: mfence only orders memory accesses (see `init`).
        unsafe { core::arch::asm!("mfence", options(nostack, preserves_flags)) };
        registers::set_tsc_deadline(super::tsc::read() + PERIOD_CYCLES.load(Ordering::Relaxed));
    } else {
        registers::set_divide(registers::DIVIDE_BY_16);
        registers::set_lvt(registers::MODE_PERIODIC | vector);
        registers::set_initial_count(PERIODIC_COUNT.load(Ordering::Relaxed));
    }
}

/// Start the boot CPU's tick at `hz`. `mode` `None` picks TSC-deadline
/// when available. Needs `tsc::init` and `apic::init` first; interrupts
/// off (ticks start when they are enabled).
pub fn init(hz: u32, mode: Option<TimerMode>) -> Result<TimerInfo, TimerError> {
    if !super::apic::is_enabled() {
        return Err(TimerError::NoApic);
    }
    if !HZ_RANGE.contains(&hz) {
        return Err(TimerError::BadRate(hz));
    }
    let deadline_available = super::cpuid::features().tsc_deadline;
    let mode = match mode {
        Some(TimerMode::TscDeadline) if !deadline_available => {
            log::warn!("timer: no TSC-deadline mode (CPUID.1:ECX[24]); using periodic");
            TimerMode::Periodic
        }
        Some(mode) => mode,
        None if deadline_available => TimerMode::TscDeadline,
        None => TimerMode::Periodic,
    };
    let tsc_hz = super::tsc::frequency_hz();
    let apic_hz = match mode {
        TimerMode::Periodic => Some(calibrate(tsc_hz)?),
        TimerMode::TscDeadline => None,
    };
    irq::register(TIMER_VECTOR, on_tick).map_err(TimerError::Vector)?;
    HZ.store(hz, Ordering::Relaxed);
    let vector = u64::from(TIMER_VECTOR);
    match (mode, apic_hz) {
        (TimerMode::Periodic, Some(apic_hz)) => {
            let count = (apic_hz / u64::from(hz)).clamp(1, u64::from(u32::MAX)) as u32;
            PERIODIC_COUNT.store(count, Ordering::Relaxed);
            registers::set_divide(registers::DIVIDE_BY_16);
            registers::set_lvt(registers::MODE_PERIODIC | vector);
            registers::set_initial_count(count);
        }
        _ => {
            let period = tsc_hz / u64::from(hz);
            PERIOD_CYCLES.store(period, Ordering::Relaxed);
            DEADLINE_MODE.store(true, Ordering::Relaxed);
            registers::set_lvt(registers::MODE_TSC_DEADLINE | vector);
            // The LVT write must reach the APIC before the deadline MSR
            // write (SDM 10.5.4.1): Linux uses mfence.
            // SAFETY: mfence only orders memory accesses.
            unsafe { core::arch::asm!("mfence", options(nostack, preserves_flags)) };
            let first = super::tsc::read() + period;
            NEXT_DEADLINE.store(first, Ordering::Relaxed);
            registers::set_tsc_deadline(first);
        }
    }
    Ok(TimerInfo { hz, mode, apic_hz })
}

/// Count rate of the APIC timer (divide by 16), measured over 10 ms of TSC.
///
/// The start (initial-count write) and the end (current-count read) are
/// each bracketed by TSC reads; a run counts when both brackets are
/// narrow (a vCPU stall in the middle moves both clocks alike). Up to ten
/// runs; without a clean one, the run with the narrowest brackets.
fn calibrate(tsc_hz: u64) -> Result<u64, TimerError> {
    let window = tsc_hz / 100;
    registers::set_divide(registers::DIVIDE_BY_16);
    registers::set_lvt(registers::MASKED | registers::MODE_ONE_SHOT | u64::from(TIMER_VECTOR));
    // (uncertainty per mille, rate) of the best run so far.
    let mut best = (u64::MAX, 0);
    for _ in 0..10 {
        let start_low = super::tsc::read();
        registers::set_initial_count(u32::MAX);
        let start_high = super::tsc::read();
        while super::tsc::read() - start_high < window {
            core::hint::spin_loop();
        }
        let end_low = super::tsc::read();
        let counted = u64::from(u32::MAX - registers::current_count());
        let end_high = super::tsc::read();
        let (shortest, longest) = (end_low - start_high, end_high - start_low);
        let rate = counted * tsc_hz / (shortest + (longest - shortest) / 2).max(1);
        let per_mille = (longest - shortest) * 1000 / shortest.max(1);
        if per_mille < best.0 {
            best = (per_mille, rate);
        }
        if per_mille <= 2 {
            break;
        }
    }
    registers::set_initial_count(0);
    let (per_mille, rate) = best;
    if per_mille > 2 {
        log::warn!("timer: APIC timer calibration disturbed by stalls (+-{} per mille)", per_mille / 2);
    }
    if (MIN_APIC_HZ..=MAX_APIC_HZ).contains(&rate) {
        Ok(rate)
    } else {
        Err(TimerError::Calibration(rate))
    }
}

fn on_tick(_frame: &TrapFrame) {
    let boot_cpu = crate::cpu_local::this_cpu().index == 0;
    if !boot_cpu {
        // APs: re-arm (deadline mode) and run the callback; the global tick
        // count and the missed-deadline accounting are the boot CPU's.
        if DEADLINE_MODE.load(Ordering::Relaxed) {
            registers::set_tsc_deadline(super::tsc::read() + PERIOD_CYCLES.load(Ordering::Relaxed));
        }
        if let Some(callback) = TICK_CALLBACK.get() {
            callback();
        }
        return;
    }
    TICKS.fetch_add(1, Ordering::Relaxed);
    if DEADLINE_MODE.load(Ordering::Relaxed) {
        let period = PERIOD_CYCLES.load(Ordering::Relaxed);
        let mut next = NEXT_DEADLINE.load(Ordering::Relaxed) + period;
        let now = super::tsc::read();
        if next <= now {
            // Late (a long stall): drop the lost ticks, stay in phase.
            let lost = (now - next) / period + 1;
            MISSED_DEADLINES.fetch_add(lost, Ordering::Relaxed);
            next += lost * period;
        }
        NEXT_DEADLINE.store(next, Ordering::Relaxed);
        registers::set_tsc_deadline(next);
    }
    if let Some(callback) = TICK_CALLBACK.get() {
        callback();
    }
}

/// Ticks since the timer started (boot CPU).
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// The tick rate (0 when no timer runs).
pub fn hz() -> u32 {
    HZ.load(Ordering::Relaxed)
}

/// Ticks dropped in TSC-deadline mode because the CPU was late.
pub fn missed_ticks() -> u64 {
    MISSED_DEADLINES.load(Ordering::Relaxed)
}

/// Install (or clear) the per-tick callback; returns the previous one. It
/// runs in interrupt context, interrupts off, after end-of-interrupt (so
/// it may switch tasks: the next tick is not blocked) and after the next
/// deadline is armed.
pub fn set_tick_callback(callback: Option<fn()>) -> Option<fn()> {
    TICK_CALLBACK.replace(callback)
}

mod tests {
    use super::*;
    use crate::ktest;

    static CALLBACKS: AtomicU64 = AtomicU64::new(0);

    /// Counts the boot CPU's callbacks (every CPU ticks; `ticks()` is the
    /// boot CPU's count).
    fn count_callback() {
        if crate::cpu_local::this_cpu().index == 0 {
            CALLBACKS.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One 200 ms window measured by the TSC.
    struct Window {
        ticks: u64,
        callbacks: u64,
        /// Time (TSC cycles) in steps of the spin loop longer than half a
        /// tick period: the vCPU did not run (a loaded host), and the
        /// ticks due then coalesce into one pending interrupt.
        stalled: u64,
        stalls: u64,
    }

    fn measure_window(window: u64, period: u64) -> Window {
        CALLBACKS.store(0, Ordering::Relaxed);
        let (mut stalled, mut stalls) = (0, 0);
        let start_ticks = ticks();
        let start = crate::arch::tsc::read();
        let mut last = start;
        while last - start < window {
            let now = crate::arch::tsc::read();
            if now - last > period / 2 {
                stalled += now - last;
                stalls += 1;
            }
            last = now;
        }
        Window { ticks: ticks() - start_ticks, callbacks: CALLBACKS.load(Ordering::Relaxed), stalled, stalls }
    }

    #[ktest]
    fn timer_ticks_at_its_rate() {
        if hz() == 0 {
            crate::println!("  (skipped: no timer: no x2APIC)");
            return;
        }
        assert!(crate::arch::irq::is_local_enabled());
        let previous = set_tick_callback(Some(count_callback));
        let tsc_hz = crate::arch::tsc::frequency_hz();
        let (window, period) = (tsc_hz / 5, tsc_hz / u64::from(hz()));
        let expected = u64::from(hz()) / 5;
        // +-25 % over the time the vCPU ran (each stall may still deliver
        // one coalesced tick); a loaded host gets three tries.
        let mut verdict = Err(0);
        for _ in 0..3 {
            let w = measure_window(window, period);
            let ran = window.saturating_sub(w.stalled);
            let low = ran * expected / window * 3 / 4;
            let high = expected * 5 / 4 + w.stalls;
            crate::println!(
                "  {} ticks in 200 ms (expected {}; {} stalls, {} ms stalled)",
                w.ticks,
                expected,
                w.stalls,
                w.stalled * 1000 / tsc_hz
            );
            assert!(w.callbacks.abs_diff(w.ticks) <= 1, "callback ran {} times for {} ticks", w.callbacks, w.ticks);
            verdict = if (low..=high).contains(&w.ticks) { Ok(()) } else { Err(w.ticks) };
            if verdict.is_ok() {
                break;
            }
        }
        set_tick_callback(previous);
        if let Err(ticks) = verdict {
            panic!("{} ticks in 200 ms at {} Hz (expected {} +-25%)", ticks, hz(), expected);
        }
    }
}
