//! The time-stamp counter: its frequency and the monotonic clock on top.
//!
//! Frequency, at boot ([`init`]):
//! 1. CPUID 0x15 (TSC/crystal ratio and crystal Hz; with CPUID 0x16's base
//!    MHz when the crystal Hz is 0, as Linux does), if present and
//!    plausible (100 MHz..=20 GHz);
//! 2. a PIT calibration: 10 ms gate runs of PIT channel 2, the median of
//!    three whose ends are known within 0.25 % (see [`pit_frequency`]);
//! 3. CPUID 0x16 base MHz alone, as a last resort.
//!
//! With [`TscPolicy::CrossCheck`] (no TEE) CPUID is used only if the PIT
//! agrees within 10 % (TCG and some hypervisors report nonsense); with
//! [`TscPolicy::TrustCpuid`] (TDX: leaf 0x15 comes from the TDX module, the
//! PIT from the untrusted host) a plausible CPUID value wins. If nothing is
//! plausible the kernel panics: it cannot keep time.
//!
//! [`monotonic_ns`] = TSC cycles since `init` scaled by a 32.32 fixed-point
//! multiplier, clamped so that it never goes backwards (also not across
//! CPUs whose TSCs differ slightly). Without an invariant TSC
//! (CPUID.8000_0007:EDX[8]) the rate may change with power states: logged.

use core::sync::atomic::{AtomicU64, Ordering};

use super::pit;

/// Plausible TSC frequencies.
const MIN_HZ: u64 = 100_000_000;
const MAX_HZ: u64 = 20_000_000_000;
/// PIT ticks per calibration run: 10 ms.
const PIT_CALIBRATION_TICKS: u16 = (pit::PIT_HZ / 100) as u16;
/// CPUID and PIT must agree this closely (percent) under `CrossCheck`.
const AGREEMENT_PERCENT: u64 = 10;

/// Whom to believe when CPUID and the PIT disagree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TscPolicy {
    /// Use CPUID only when the PIT confirms it (no TEE: both come from the
    /// same hypervisor, and TCG's CPUID leaves may be wrong).
    #[default]
    CrossCheck,
    /// Prefer a plausible CPUID value (TDX: the TDX module sets leaf 0x15;
    /// the PIT is emulated by the untrusted host).
    TrustCpuid,
}

/// Where the frequency came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TscSource {
    /// CPUID 0x15 (with 0x16 for the crystal when needed).
    Cpuid15,
    /// PIT channel 2 calibration.
    Pit,
    /// CPUID 0x16 base frequency only.
    Cpuid16,
}

/// What `init` found.
#[derive(Clone, Copy, Debug)]
pub struct TscInfo {
    pub hz: u64,
    pub source: TscSource,
    pub invariant: bool,
    /// Frequency CPUID claimed, if any.
    pub cpuid_hz: Option<u64>,
    /// Frequency the PIT measured, if it worked.
    pub pit_hz: Option<u64>,
}

static HZ: AtomicU64 = AtomicU64::new(0);
/// ns = (cycles * MULT) >> 32.
static MULT: AtomicU64 = AtomicU64::new(0);
static BOOT_TSC: AtomicU64 = AtomicU64::new(0);
static LAST_NS: AtomicU64 = AtomicU64::new(0);

/// Read the TSC, ordered after earlier loads (`lfence; rdtsc`), so a
/// clock read is not hoisted above the code it measures.
pub fn read() -> u64 {
    // SAFETY: lfence only orders instructions.
    unsafe { core::arch::asm!("lfence", options(nomem, nostack, preserves_flags)) };
    super::rdtsc()
}

fn plausible(hz: u64) -> bool {
    (MIN_HZ..=MAX_HZ).contains(&hz)
}

/// The frequency CPUID 0x15/0x16 claims, if any (unvalidated).
pub fn cpuid_frequency() -> Option<u64> {
    let ratio = super::cpuid::leaf(0x15, 0)?;
    let (denominator, numerator) = (u64::from(ratio.eax), u64::from(ratio.ebx));
    if denominator == 0 || numerator == 0 {
        return None;
    }
    let crystal_hz = match u64::from(ratio.ecx) {
        // Crystal not enumerated: derive it from the base frequency.
        0 => u64::from(super::cpuid::leaf(0x16, 0)?.eax & 0xffff) * 1_000_000 * denominator / numerator,
        hz => hz,
    };
    crystal_hz.checked_mul(numerator).map(|hz| hz / denominator).filter(|&hz| hz != 0)
}

/// CPUID 0x16 base frequency in Hz, if present.
fn cpuid16_base_hz() -> Option<u64> {
    let mhz = u64::from(super::cpuid::leaf(0x16, 0)?.eax & 0xffff);
    (mhz != 0).then_some(mhz * 1_000_000)
}

/// Measure the TSC frequency against the PIT: the median of three clean
/// 10 ms runs (no vCPU stall blurred their ends; see `pit::GateRun`), out
/// of at most eight; with no clean run, the median of those made (logged).
pub fn pit_frequency() -> Option<u64> {
    const WANTED: usize = 3;
    const ATTEMPTS: usize = 8;
    let _irq = super::irq::disable_local();
    let (mut clean, mut clean_count) = ([0u64; WANTED], 0);
    let (mut any, mut any_count) = ([0u64; ATTEMPTS], 0);
    for _ in 0..ATTEMPTS {
        let Some(run) = pit::measure(PIT_CALIBRATION_TICKS, super::rdtsc) else {
            continue;
        };
        any[any_count] = run.elapsed;
        any_count += 1;
        if run.is_clean() {
            clean[clean_count] = run.elapsed;
            clean_count += 1;
            if clean_count == WANTED {
                break;
            }
        }
    }
    let cycles = match (clean_count, any_count) {
        (0, 0) => return None,
        (0, _) => {
            log::warn!("tsc: every PIT calibration run was disturbed by a stall; using them anyway");
            median(&mut any[..any_count])
        }
        _ => median(&mut clean[..clean_count]),
    };
    Some(cycles * pit::PIT_HZ / u64::from(PIT_CALIBRATION_TICKS))
}

fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values[values.len() / 2]
}

fn agree(a: u64, b: u64) -> bool {
    a.abs_diff(b) * 100 <= a.max(b) * AGREEMENT_PERCENT
}

/// Decide the frequency (pure policy, separated for tests).
fn choose(policy: TscPolicy, cpuid_hz: Option<u64>, pit_hz: Option<u64>, base_hz: Option<u64>) -> Option<(u64, TscSource)> {
    let cpuid_hz = cpuid_hz.filter(|&hz| plausible(hz));
    let pit_hz = pit_hz.filter(|&hz| plausible(hz));
    match (cpuid_hz, pit_hz) {
        (Some(c), Some(p)) if agree(c, p) || policy == TscPolicy::TrustCpuid => Some((c, TscSource::Cpuid15)),
        (_, Some(p)) => Some((p, TscSource::Pit)),
        (Some(c), None) => Some((c, TscSource::Cpuid15)),
        (None, None) => base_hz.filter(|&hz| plausible(hz)).map(|hz| (hz, TscSource::Cpuid16)),
    }
}

/// Determine the TSC frequency and start the monotonic clock. Boot CPU,
/// once, interrupts off. Panics if the CPU has no TSC or no plausible
/// frequency can be found.
pub fn init(policy: TscPolicy) -> TscInfo {
    let features = super::cpuid::features();
    assert!(features.tsc, "this CPU has no time-stamp counter (CPUID.1:EDX[4]); Umbra needs one");
    let cpuid_hz = cpuid_frequency();
    let pit_hz = pit_frequency();
    let Some((hz, source)) = choose(policy, cpuid_hz, pit_hz, cpuid16_base_hz()) else {
        panic!(
            "cannot determine the TSC frequency: CPUID 0x15 says {:?}, the PIT measured {:?} (plausible: {}..={} Hz)",
            cpuid_hz, pit_hz, MIN_HZ, MAX_HZ
        );
    };
    if let (Some(c), Some(p)) = (cpuid_hz, pit_hz) {
        if !agree(c, p) {
            log::warn!("tsc: CPUID 0x15 says {} Hz, the PIT measured {} Hz; using {:?}", c, p, source);
        }
    }
    if !features.invariant_tsc {
        log::warn!("tsc: not invariant (CPUID.8000_0007:EDX[8] clear): its rate may vary; time may drift");
    }
    HZ.store(hz, Ordering::Relaxed);
    MULT.store(((1_000_000_000u128 << 32) / u128::from(hz)) as u64, Ordering::Relaxed);
    BOOT_TSC.store(read(), Ordering::Release);
    TscInfo { hz, source, invariant: features.invariant_tsc, cpuid_hz, pit_hz }
}

/// TSC frequency in Hz (0 before `init`).
pub fn frequency_hz() -> u64 {
    HZ.load(Ordering::Relaxed)
}

/// Convert TSC cycles to nanoseconds.
pub fn cycles_to_ns(cycles: u64) -> u64 {
    ((u128::from(cycles) * u128::from(MULT.load(Ordering::Relaxed))) >> 32) as u64
}

/// Convert nanoseconds to TSC cycles.
pub fn ns_to_cycles(ns: u64) -> u64 {
    (u128::from(ns) * u128::from(frequency_hz()) / 1_000_000_000) as u64
}

/// Nanoseconds since `tsc::init` (0 before). Never goes backwards.
pub fn monotonic_ns() -> u64 {
    let since_boot = read().saturating_sub(BOOT_TSC.load(Ordering::Acquire));
    let now = cycles_to_ns(since_boot);
    let last = LAST_NS.fetch_max(now, Ordering::Relaxed);
    now.max(last)
}

/// Busy-wait for `ns` nanoseconds.
pub fn spin_for_ns(ns: u64) {
    let end = monotonic_ns().saturating_add(ns);
    while monotonic_ns() < end {
        core::hint::spin_loop();
    }
}

mod tests {
    use super::*;
    use crate::ktest;

    #[ktest]
    fn frequency_choice_validates_and_cross_checks() {
        const GHZ2: u64 = 2_000_000_000;
        let cross = TscPolicy::CrossCheck;
        let trust = TscPolicy::TrustCpuid;
        assert_eq!(choose(cross, Some(GHZ2), Some(GHZ2 + 10_000_000), None), Some((GHZ2, TscSource::Cpuid15)));
        assert_eq!(choose(cross, Some(GHZ2), Some(3 * GHZ2 / 2), None), Some((3 * GHZ2 / 2, TscSource::Pit)));
        assert_eq!(choose(trust, Some(GHZ2), Some(3 * GHZ2 / 2), None), Some((GHZ2, TscSource::Cpuid15)));
        assert_eq!(choose(cross, Some(1000), Some(GHZ2), None), Some((GHZ2, TscSource::Pit)), "implausible CPUID");
        assert_eq!(choose(cross, Some(u64::MAX), None, None), None);
        assert_eq!(choose(cross, None, Some(50), Some(GHZ2)), Some((GHZ2, TscSource::Cpuid16)));
        assert_eq!(choose(cross, None, None, None), None);
        assert_eq!(choose(trust, None, Some(GHZ2), None), Some((GHZ2, TscSource::Pit)));
    }

    #[ktest]
    fn monotonic_clock_never_goes_back() {
        assert!(frequency_hz() >= MIN_HZ);
        let mut previous = monotonic_ns();
        for _ in 0..10_000 {
            let now = monotonic_ns();
            assert!(now >= previous, "{} after {}", now, previous);
            previous = now;
        }
        let start = monotonic_ns();
        spin_for_ns(1_000_000);
        assert!(monotonic_ns() - start >= 1_000_000);
        let one_second = cycles_to_ns(frequency_hz());
        assert!((999_999_990..=1_000_000_000).contains(&one_second), "1 s of cycles = {} ns", one_second);
        assert_eq!(ns_to_cycles(1_000_000_000), frequency_hz());
    }

    #[ktest]
    fn monotonic_clock_matches_the_pit() {
        // ~50 ms by the PIT (its counter is 16 bits: at most 54.9 ms).
        const TICKS: u16 = 59_659;
        let expected_ns = u64::from(TICKS) * 1_000_000_000 / pit::PIT_HZ;
        let _irq = crate::arch::irq::disable_local();
        // A stalled vCPU blurs the ends of a run: retry until one is clean.
        let Some(run) = (0..5).filter_map(|_| pit::measure(TICKS, monotonic_ns)).find(pit::GateRun::is_clean) else {
            crate::println!("  (skipped: no working PIT, or every run stalled)");
            return;
        };
        let elapsed_ns = run.elapsed;
        assert!(
            // Coarse on purpose: under TCG on a loaded host the two virtual
            // clocks drift apart by tens of percent in a 50 ms window; a
            // wrong TSC frequency (divisor, unit) is off by 2x or more.
            elapsed_ns * 2 > expected_ns && elapsed_ns < expected_ns * 2,
            "the PIT counted {} ns, the monotonic clock {} ns",
            expected_ns,
            elapsed_ns
        );
    }
}
