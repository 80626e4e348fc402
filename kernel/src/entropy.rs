//! Seeding the kernel's random generator (`services::random`).
//!
//! The key material is hardware randomness (RDSEED, RDRAND where RDSEED
//! runs dry; `framework::arch::rng`) mixed with TSC jitter and the wall
//! clock. In a TDX/SEV-SNP guest the host can neither see nor steer
//! RDSEED/RDRAND, while it can observe and influence the TSC and the
//! clock: those are mixed in (they cannot hurt) but never relied on. The
//! generator then reseeds itself from the hardware every minute or MiB
//! ([`reseed_material`]).
//!
//! Without RDSEED and RDRAND (a CPU model that lacks them, or a host that
//! hides them outside a TEE) the kernel says so loudly and falls back to
//! TSC jitter alone: fine for hash seeds and AT_RANDOM, not for secrets.

use framework::arch::rng;
use framework::println;

/// Key the generator and install its reseed source; logs the sources.
pub fn seed_generator() {
    let status = rng::status();
    let mut hardware = [0u8; 64];
    let report = rng::fill(&mut hardware);
    let jitter = tsc_jitter();
    let clock = framework::arch::rtc::realtime_ns().to_le_bytes();
    services::random::seed(&[&hardware, &jitter, &clock]);
    services::random::set_reseed_source(reseed_material);
    if report.complete(hardware.len()) {
        println!(
            "random: ChaCha20 keyed from {} (RDSEED {}, RDRAND {}) mixed with TSC jitter",
            if report.rdseed_words > 0 { "RDSEED" } else { "RDRAND" },
            if status.rdseed { "yes" } else { "no" },
            if status.rdrand { "yes" } else { "no" },
        );
    } else {
        log::warn!(
            "random: no usable RDSEED/RDRAND (RDSEED {}, RDRAND {}): FALLBACK to TSC jitter and the clock alone, \
             which the host can guess; do not derive secrets from getrandom on this machine",
            status.rdseed,
            status.rdrand
        );
    }
}

/// 32 fresh hardware bytes for a reseed, or `None` without hardware (the
/// generator then keeps its key; TSC readings add nothing worth a reseed).
fn reseed_material() -> Option<[u8; 32]> {
    let mut fresh = [0u8; 32];
    rng::fill(&mut fresh).complete(fresh.len()).then_some(fresh)
}

/// 32 bytes distilled from TSC readings taken around timing-variable work.
/// Timing jitter under a hypervisor is partly host-observable and
/// guessable: mixed in, never trusted alone.
fn tsc_jitter() -> [u8; 32] {
    let mut seed = [0u8; 32];
    let mut state: u64 = framework::arch::rdtsc() ^ 0x9e37_79b9_7f4a_7c15;
    for round in 0..4 {
        for byte in seed.iter_mut() {
            let before = framework::arch::rdtsc();
            // Work whose duration varies with caches, interrupts, the host.
            let mut spin = state;
            for _ in 0..(64 + (state & 63)) {
                spin = spin.rotate_left(7) ^ framework::arch::rdtsc();
            }
            let delta = framework::arch::rdtsc().wrapping_sub(before);
            // splitmix64 step over everything observed.
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15) ^ delta ^ spin.rotate_left(round * 11);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            *byte ^= (z ^ (z >> 31)) as u8;
        }
    }
    seed
}
