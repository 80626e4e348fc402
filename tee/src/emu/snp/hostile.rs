//! Hostile mode: the emulated hypervisor keeps doing its work but then
//! answers with adversarial values (random or boundary registers, valid
//! bits cleared or all set, error codes, rewritten PSC headers, wrong
//! MSR-protocol responses), so tests can check that the guest's SNP code
//! rejects them without a panic or a memory-safety violation.
//!
//! Spared, so the run can report: port I/O to the console and the exit
//! devices, GHCB registration and termination requests.
//!
//! Owns: the switch, the random source and the count of hostile answers.

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static HOSTILE: AtomicBool = AtomicBool::new(false);
static STATE: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
/// Hostile answers given since boot.
pub static ANSWERS: AtomicU64 = AtomicU64::new(0);

/// Turn hostile mode on or off (tests only).
pub fn set(on: bool) {
    HOSTILE.store(on, Ordering::SeqCst);
}

pub fn active() -> bool {
    HOSTILE.load(Ordering::Relaxed)
}

/// xorshift64*: cheap, lock-free, good enough to pick bad answers.
pub(super) fn next() -> u64 {
    let mut x = STATE.load(Ordering::Relaxed);
    loop {
        let mut y = x;
        y ^= y >> 12;
        y ^= y << 25;
        y ^= y >> 27;
        match STATE.compare_exchange_weak(x, y, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return y.wrapping_mul(0x2545_f491_4f6c_dd1d),
            Err(now) => x = now,
        }
    }
}

/// A value from the edges more often than not.
pub(super) fn boundary_or_random() -> u64 {
    const EDGES: [u64; 8] = [0, 1, u64::MAX, u32::MAX as u64, 0x8000_0000_0000_0000, 0xfff, 0x1000, 0xffff_ffff_ffff_f000];
    let r = next();
    if r & 1 == 0 {
        EDGES[(r >> 1) as usize % EDGES.len()]
    } else {
        next()
    }
}

/// Is `port` one the run's own output needs?
pub(super) fn spared_port(port: u16) -> bool {
    matches!(port, 0x3f8..=0x3ff | 0xe9 | 0xf4)
}
