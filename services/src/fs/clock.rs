//! The clock that file timestamps read.
//!
//! Owns: [`Timespec`] and the clock source. The kernel sets the source once
//! with [`set_clock`] when it has a real-time clock; until then every
//! timestamp is zero. Tests inject a fake clock the same way.

use crate::sync::RwLock;

/// Seconds and nanoseconds since the Unix epoch (Linux `timespec64`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timespec {
    pub sec: i64,
    /// 0..1_000_000_000.
    pub nsec: u32,
}

impl Timespec {
    pub const ZERO: Timespec = Timespec { sec: 0, nsec: 0 };

    pub const fn new(sec: i64, nsec: u32) -> Self {
        Timespec { sec, nsec }
    }
}

fn zero_clock() -> Timespec {
    Timespec::ZERO
}

static CLOCK: RwLock<fn() -> Timespec> = RwLock::new(zero_clock);

/// Set the clock source (real time, `CLOCK_REALTIME`). Later calls replace it.
pub fn set_clock(clock: fn() -> Timespec) {
    *CLOCK.write() = clock;
}

/// The current time from the clock source (zero when none is set).
pub fn now() -> Timespec {
    let clock = *CLOCK.read();
    clock()
}
