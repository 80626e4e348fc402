//! Interval timers (`setitimer`, `getitimer`, `alarm`): the
//! `struct itimerval` layout and a timer that expires at a point of some
//! clock and may re-arm itself.
//!
//! Owns: the numbers only. Which clock a timer counts and who fires it
//! is the kernel's business: `ITIMER_REAL` runs on the monotonic clock
//! and the real-timer service sends SIGALRM (`process::real_timer`);
//! `ITIMER_VIRTUAL` and `ITIMER_PROF` count the thread's CPU time and are
//! checked whenever it enters the kernel (both count user and system
//! time here: the framework does not split them, so `ITIMER_VIRTUAL`
//! runs a little fast for a process that spends time in syscalls).

use crate::error::Result;
use crate::return_errno_with_message;

pub const ITIMER_REAL: i32 = 0;
pub const ITIMER_VIRTUAL: i32 = 1;
pub const ITIMER_PROF: i32 = 2;

const NSEC_PER_USEC: u64 = 1_000;
const USEC_PER_SEC: u64 = 1_000_000;
const NSEC_PER_SEC: u64 = 1_000_000_000;

/// `struct itimerval`: `it_interval` then `it_value`, each a
/// `struct timeval` of two 64-bit words.
pub const ITIMERVAL_SIZE: usize = 32;

/// A timer setting: time to the first expiry and the period (0: once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ITimerVal {
    pub value_ns: u64,
    pub interval_ns: u64,
}

fn timeval_ns(sec: i64, usec: i64) -> Result<u64> {
    if sec < 0 || !(0..USEC_PER_SEC as i64).contains(&usec) {
        return_errno_with_message!(EINVAL, "timeval out of range");
    }
    Ok((sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(usec as u64 * NSEC_PER_USEC))
}

impl ITimerVal {
    /// From user bytes: EINVAL for a negative second count or a
    /// microsecond count outside 0..1000000 (Linux's `timeval_valid`).
    pub fn from_bytes(b: &[u8; ITIMERVAL_SIZE]) -> Result<ITimerVal> {
        let word = |i: usize| i64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        Ok(ITimerVal { interval_ns: timeval_ns(word(0), word(1))?, value_ns: timeval_ns(word(2), word(3))? })
    }

    /// To user bytes (microseconds truncated, as Linux).
    pub fn to_bytes(self) -> [u8; ITIMERVAL_SIZE] {
        let mut b = [0u8; ITIMERVAL_SIZE];
        let words = [
            self.interval_ns / NSEC_PER_SEC,
            self.interval_ns % NSEC_PER_SEC / NSEC_PER_USEC,
            self.value_ns / NSEC_PER_SEC,
            self.value_ns % NSEC_PER_SEC / NSEC_PER_USEC,
        ];
        for (i, w) in words.into_iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    /// What `alarm` returns for the old setting: whole seconds left,
    /// rounded to nearest, and never 0 while a timer is pending (Linux's
    /// `alarm_setitimer`).
    pub fn alarm_seconds(self) -> u64 {
        let (sec, usec) = (self.value_ns / NSEC_PER_SEC, self.value_ns % NSEC_PER_SEC / NSEC_PER_USEC);
        if (sec == 0 && usec != 0) || usec >= 500_000 {
            sec + 1
        } else {
            sec
        }
    }
}

/// One interval timer on some clock (absolute clock values in ns).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IntervalTimer {
    expires: Option<u64>,
    interval_ns: u64,
}

impl IntervalTimer {
    /// The clock value at which it next expires, if armed.
    pub fn expires(&self) -> Option<u64> {
        self.expires
    }

    /// The setting as `getitimer` reports it at clock value `now` (an
    /// armed timer whose time has come but has not fired yet shows 1 µs).
    pub fn get(&self, now: u64) -> ITimerVal {
        let value_ns = match self.expires {
            Some(at) if at > now => at - now,
            Some(_) => NSEC_PER_USEC,
            None => 0,
        };
        ITimerVal { value_ns, interval_ns: if self.expires.is_some() { self.interval_ns } else { 0 } }
    }

    /// `setitimer`: arm (or disarm, for a zero value) at clock value
    /// `now`; returns the old setting.
    pub fn set(&mut self, now: u64, new: ITimerVal) -> ITimerVal {
        let old = self.get(now);
        if new.value_ns == 0 {
            *self = IntervalTimer::default();
        } else {
            self.expires = Some(now.saturating_add(new.value_ns));
            self.interval_ns = new.interval_ns;
        }
        old
    }

    /// At clock value `now`: has it expired? If so it re-arms by its
    /// interval (expiries missed meanwhile are folded into one signal, as
    /// a pending signal would be) or disarms.
    pub fn fire(&mut self, now: u64) -> bool {
        match self.expires {
            Some(at) if at <= now => {
                match (now - at).checked_div(self.interval_ns) {
                    None => self.expires = None,
                    Some(periods) => {
                        let missed = periods + 1;
                        self.expires = Some(at.saturating_add(missed.saturating_mul(self.interval_ns)));
                    }
                }
                true
            }
            _ => false,
        }
    }
}

/// `ITIMER_REAL`, `ITIMER_VIRTUAL`, `ITIMER_PROF` of a process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ITimers {
    pub real: IntervalTimer,
    pub virt: IntervalTimer,
    pub prof: IntervalTimer,
}

impl ITimers {
    /// The timer `which` names (EINVAL for anything else).
    pub fn timer_mut(&mut self, which: i32) -> Result<&mut IntervalTimer> {
        Ok(match which {
            ITIMER_REAL => &mut self.real,
            ITIMER_VIRTUAL => &mut self.virt,
            ITIMER_PROF => &mut self.prof,
            _ => return_errno_with_message!(EINVAL, "itimer: which is not REAL, VIRTUAL or PROF"),
        })
    }

    /// The earlier expiry of the two CPU-time timers (u64::MAX if none).
    pub fn next_cpu_expiry(&self) -> u64 {
        self.virt.expires().unwrap_or(u64::MAX).min(self.prof.expires().unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(words: [i64; 4]) -> [u8; ITIMERVAL_SIZE] {
        let mut b = [0u8; ITIMERVAL_SIZE];
        for (i, w) in words.into_iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    #[test]
    fn itimerval_layout_and_validation() {
        let v = ITimerVal::from_bytes(&bytes([0, 250_000, 2, 5])).unwrap();
        assert_eq!(v, ITimerVal { interval_ns: 250_000_000, value_ns: 2_000_005_000 });
        assert_eq!(v.to_bytes(), bytes([0, 250_000, 2, 5]));
        assert!(ITimerVal::from_bytes(&bytes([0, 1_000_000, 0, 0])).is_err());
        assert!(ITimerVal::from_bytes(&bytes([0, 0, -1, 0])).is_err());
        assert!(ITimerVal::from_bytes(&bytes([0, 0, 0, -1])).is_err());
    }

    #[test]
    fn alarm_rounding_matches_linux() {
        let s = |ns| ITimerVal { value_ns: ns, interval_ns: 0 }.alarm_seconds();
        assert_eq!(s(0), 0);
        assert_eq!(s(1_000), 1);
        assert_eq!(s(2_499_999_000), 2);
        assert_eq!(s(2_500_000_000), 3);
        assert_eq!(s(10_000_000_000), 10);
    }

    #[test]
    fn timer_arms_fires_and_rearms() {
        let mut t = IntervalTimer::default();
        assert_eq!(t.set(100, ITimerVal { value_ns: 50, interval_ns: 0 }), ITimerVal::default());
        assert_eq!(t.get(120), ITimerVal { value_ns: 30, interval_ns: 0 });
        assert!(!t.fire(149));
        assert_eq!(t.get(150).value_ns, 1_000, "due but not fired: 1 us");
        assert!(t.fire(150) && t.expires().is_none() && !t.fire(500));
        t.set(0, ITimerVal { value_ns: 10, interval_ns: 10 });
        assert!(t.fire(35));
        assert_eq!(t.expires(), Some(40));
        assert_eq!(t.set(36, ITimerVal::default()), ITimerVal { value_ns: 4, interval_ns: 10 });
        assert_eq!(t, IntervalTimer::default());
        let mut all = ITimers::default();
        assert!(all.timer_mut(3).is_err() && all.timer_mut(-1).is_err());
        all.timer_mut(ITIMER_PROF).unwrap().set(0, ITimerVal { value_ns: 7, interval_ns: 0 });
        assert_eq!(all.next_cpu_expiry(), 7);
    }
}
