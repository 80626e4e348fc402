//! `alarm`, `setitimer`, `getitimer`: a process's three interval timers
//! (`process::itimer`). ITIMER_REAL is fired by the real-timer service
//! (`process::real_timer`); ITIMER_VIRTUAL and ITIMER_PROF count the
//! thread's CPU time and are checked on every entry to the kernel
//! (`process::task`).

use framework::arch::tsc;

use super::{ok, SyscallContext, SyscallResult};
use crate::error::Result;
use crate::process::itimer::{ITimerVal, ITIMERVAL_SIZE, ITIMER_REAL};
use crate::process::{real_timer, Process};
use crate::uaccess;

const NSEC_PER_SEC: u64 = 1_000_000_000;

/// The clock timer `which` counts.
fn clock_now(which: i32) -> u64 {
    if which == ITIMER_REAL {
        tsc::monotonic_ns()
    } else {
        framework::task::current().cpu_time_ns()
    }
}

/// Set timer `which` of `process` (the caller's own); the old setting.
fn set_timer(process: &Process, which: i32, new: ITimerVal) -> Result<ITimerVal> {
    let mut timers = process.itimers.lock();
    let now = clock_now(which);
    let old = timers.timer_mut(which)?.set(now, new);
    if which == ITIMER_REAL {
        real_timer::update(process, timers.real.expires());
    } else {
        process.cpu_timer_next.store(timers.next_cpu_expiry(), core::sync::atomic::Ordering::Relaxed);
    }
    Ok(old)
}

/// `alarm(seconds)`: ITIMER_REAL once in `seconds` (0 cancels); the
/// seconds the previous alarm had left, rounded as Linux does.
pub fn sys_alarm(seconds: u32, ctx: &mut SyscallContext) -> SyscallResult {
    let new = ITimerVal { value_ns: u64::from(seconds) * NSEC_PER_SEC, interval_ns: 0 };
    let old = set_timer(ctx.process, ITIMER_REAL, new)?;
    ok(old.alarm_seconds())
}

/// `setitimer(which, new, old)`: the new value is read (EFAULT, EINVAL
/// for a bad timeval) before `which` is checked, as Linux does; a NULL
/// new value disarms (a Linux misfeature programs rely on).
pub fn sys_setitimer(which: i32, new: u64, old: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let value = if new != 0 { ITimerVal::from_bytes(&uaccess::read_array::<ITIMERVAL_SIZE>(new)?)? } else { ITimerVal::default() };
    let previous = set_timer(ctx.process, which, value)?;
    if old != 0 {
        uaccess::write_bytes(old, &previous.to_bytes())?;
    }
    ok(0)
}

pub fn sys_getitimer(which: i32, value: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let current = {
        let mut timers = ctx.process.itimers.lock();
        let now = clock_now(which);
        timers.timer_mut(which)?.get(now)
    };
    uaccess::write_bytes(value, &current.to_bytes())?;
    ok(0)
}
