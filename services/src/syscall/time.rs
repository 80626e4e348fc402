//! Clocks and sleeping: `clock_gettime`, `clock_getres`, `gettimeofday`,
//! `time`, `nanosleep`, `clock_nanosleep`.

use core::time::Duration;

use framework::arch::{rtc, tsc};

use super::{ok, SyscallContext, SyscallResult};
use crate::process::signal_restart::RestartBlock;
use crate::error::Result;
use crate::return_errno_with_message;
use crate::uaccess;

const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;
const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
const CLOCK_MONOTONIC_RAW: i32 = 4;
const CLOCK_REALTIME_COARSE: i32 = 5;
const CLOCK_MONOTONIC_COARSE: i32 = 6;
const CLOCK_BOOTTIME: i32 = 7;
const CLOCK_REALTIME_ALARM: i32 = 8;
const CLOCK_BOOTTIME_ALARM: i32 = 9;
const CLOCK_TAI: i32 = 11;
const TIMER_ABSTIME: u32 = 1;
const NSEC_PER_SEC: u64 = 1_000_000_000;

/// Nanoseconds on `clock`, or EINVAL for an unknown clock.
fn clock_ns(clock: i32) -> Result<u64> {
    Ok(match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_TAI | CLOCK_REALTIME_ALARM => rtc::realtime_ns(),
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME | CLOCK_BOOTTIME_ALARM => {
            tsc::monotonic_ns()
        }
        CLOCK_PROCESS_CPUTIME_ID | CLOCK_THREAD_CPUTIME_ID => framework::task::current().cpu_time_ns(),
        _ => return_errno_with_message!(EINVAL, "unknown clock"),
    })
}

fn timespec_bytes(ns: u64) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / NSEC_PER_SEC).to_le_bytes());
    b[8..].copy_from_slice(&(ns % NSEC_PER_SEC).to_le_bytes());
    b
}

/// A user `struct timespec` as nanoseconds (EINVAL when out of range).
pub fn read_timespec(addr: u64) -> Result<u64> {
    let raw: [u8; 16] = uaccess::read_array(addr)?;
    let sec = i64::from_le_bytes(raw[..8].try_into().unwrap_or([0; 8]));
    let nsec = i64::from_le_bytes(raw[8..].try_into().unwrap_or([0; 8]));
    if sec < 0 || !(0..NSEC_PER_SEC as i64).contains(&nsec) {
        return_errno_with_message!(EINVAL, "timespec out of range");
    }
    Ok((sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(nsec as u64))
}

pub fn sys_clock_gettime(clock: i32, tp: u64) -> SyscallResult {
    let ns = clock_ns(clock)?;
    uaccess::write_bytes(tp, &timespec_bytes(ns))?;
    ok(0)
}

pub fn sys_clock_getres(clock: i32, res: u64) -> SyscallResult {
    clock_ns(clock)?;
    let resolution = match clock {
        CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => 4_000_000,
        _ => 1,
    };
    if res != 0 {
        uaccess::write_bytes(res, &timespec_bytes(resolution))?;
    }
    ok(0)
}

pub fn sys_gettimeofday(tv: u64, tz: u64) -> SyscallResult {
    let ns = rtc::realtime_ns();
    if tv != 0 {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&(ns / NSEC_PER_SEC).to_le_bytes());
        b[8..].copy_from_slice(&(ns % NSEC_PER_SEC / 1000).to_le_bytes());
        uaccess::write_bytes(tv, &b)?;
    }
    if tz != 0 {
        uaccess::write_bytes(tz, &[0u8; 8])?;
    }
    ok(0)
}

pub fn sys_time(tloc: u64) -> SyscallResult {
    let seconds = rtc::realtime_ns() / NSEC_PER_SEC;
    if tloc != 0 {
        uaccess::write_u64(tloc, seconds)?;
    }
    ok(seconds)
}

/// How often a sleeper looks for a signal (the framework's timed sleep
/// cannot be woken early).
const SLICE_NS: u64 = 10_000_000;

/// Sleep until the monotonic clock reaches `deadline`, in slices so that
/// a signal ends the sleep: the time left then goes to `rem` (when
/// non-zero) and the sleep is saved for `restart_syscall`
/// (`ERESTART_RESTARTBLOCK`: EINTR if a handler runs, the rest of the
/// sleep if the signal only stopped and continued the process).
fn sleep_until_deadline(deadline: u64, rem: u64, ctx: &SyscallContext) -> SyscallResult {
    loop {
        let now = tsc::monotonic_ns();
        if now >= deadline {
            return ok(0);
        }
        if ctx.thread.has_pending_work() {
            if rem != 0 {
                uaccess::write_bytes(rem, &timespec_bytes(deadline - now))?;
            }
            ctx.thread.state.lock().restart_block = Some(RestartBlock::Sleep { deadline_ns: deadline, rem });
            return_errno_with_message!(ERESTART_RESTARTBLOCK, "sleep interrupted by a signal");
        }
        crate::sync::sleep(Duration::from_nanos((deadline - now).min(SLICE_NS)));
    }
}

/// Sleep until `clock` reads `target` (TIMER_ABSTIME). A signal ends it
/// with `ERESTARTNOHAND`: the restart just sleeps to the same time.
fn sleep_until_clock(clock: i32, target: u64, ctx: &SyscallContext) -> SyscallResult {
    loop {
        let now = clock_ns(clock)?;
        if now >= target {
            return ok(0);
        }
        if ctx.thread.has_pending_work() {
            return_errno_with_message!(ERESTARTNOHAND, "sleep interrupted by a signal");
        }
        crate::sync::sleep(Duration::from_nanos((target - now).min(SLICE_NS)));
    }
}

pub fn sys_nanosleep(req: u64, rem: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let ns = read_timespec(req)?;
    sleep_until_deadline(tsc::monotonic_ns().saturating_add(ns), rem, ctx)
}

pub fn sys_clock_nanosleep(clock: i32, flags: u32, req: u64, rem: u64, ctx: &mut SyscallContext) -> SyscallResult {
    if matches!(clock, CLOCK_THREAD_CPUTIME_ID) {
        return_errno_with_message!(EINVAL, "clock_nanosleep on the thread CPU clock");
    }
    clock_ns(clock)?;
    let ns = read_timespec(req)?;
    if flags & TIMER_ABSTIME != 0 {
        sleep_until_clock(clock, ns, ctx)
    } else {
        sleep_until_deadline(tsc::monotonic_ns().saturating_add(ns), rem, ctx)
    }
}

/// `restart_syscall`: continue what a syscall interrupted with
/// `ERESTART_RESTARTBLOCK` saved; EINTR if nothing was saved (Linux's
/// `do_no_restart_syscall`).
pub fn sys_restart_syscall(ctx: &mut SyscallContext) -> SyscallResult {
    let block = ctx.thread.state.lock().restart_block.take();
    match block {
        Some(RestartBlock::Sleep { deadline_ns, rem }) => sleep_until_deadline(deadline_ns, rem, ctx),
        Some(RestartBlock::FutexWait { uaddr, val, deadline_ns }) => {
            super::futex::wait_on_value(uaddr, val, Some(deadline_ns), ctx)
        }
        None => return_errno_with_message!(EINTR, "restart_syscall with nothing to restart"),
    }
}
