//! Seeding the kernel's random generator (`services::random`).
//!
//! INTERIM: the seed is 32 bytes distilled from TSC readings taken around
//! timing-variable work, plus the wall clock. Timing jitter under a
//! hypervisor is partly host-observable and guessable: this is *not* the
//! target design, which keys the generator from RDSEED/RDRAND through a
//! framework entropy API (requested; not there yet).

/// A 32-byte seed from TSC jitter.
pub fn tsc_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    let mut state: u64 = framework::arch::rtc::realtime_ns() ^ 0x9e37_79b9_7f4a_7c15;
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
