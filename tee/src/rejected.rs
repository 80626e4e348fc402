//! Host answers the guest refused: counted always, logged at a limited
//! rate (the first 16, then at powers of two), so a hostile host cannot
//! flood the console but every kind of refusal shows up in the log.
//!
//! Owns: the counter. Must never: be called from the port-I/O hook (the
//! console itself goes through it).

use core::sync::atomic::{AtomicU64, Ordering};

static REJECTED: AtomicU64 = AtomicU64::new(0);

/// Record that the host's `value` for `what` was refused.
pub fn reject(what: &str, value: u64) {
    let n = REJECTED.fetch_add(1, Ordering::Relaxed) + 1;
    if n <= 16 || n.is_power_of_two() {
        log::warn!("tee: rejected host answer #{}: {} ({:#x})", n, what, value);
    }
}

/// Host answers refused since boot.
pub fn count() -> u64 {
    REJECTED.load(Ordering::Relaxed)
}
