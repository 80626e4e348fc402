//! `futex`, as far as single-threaded processes need it: `FUTEX_WAKE`
//! wakes nobody; `FUTEX_WAIT` checks the value and then polls it (only
//! another process sharing the page could change it).
//!
//! A signal ends a wait as on Linux: `ERESTARTSYS` without a timeout
//! (restarted under `SA_RESTART`), `ERESTART_RESTARTBLOCK` with one (EINTR
//! after a handler; the rest of the wait after a stop and SIGCONT).

use core::time::Duration;

use framework::arch::{rtc, tsc};

use super::time::read_timespec;
use super::{ok, SyscallContext, SyscallResult};
use crate::process::signal_restart::RestartBlock;
use crate::return_errno_with_message;
use crate::uaccess;

const FUTEX_WAIT: u32 = 0;
const FUTEX_WAKE: u32 = 1;
const FUTEX_WAIT_BITSET: u32 = 9;
const FUTEX_WAKE_BITSET: u32 = 10;
const FUTEX_CMD_MASK: u32 = 0x7f;
const FUTEX_CLOCK_REALTIME: u32 = 256;

pub fn sys_futex(uaddr: u64, op: u32, val: u32, timeout: u64, ctx: &mut SyscallContext) -> SyscallResult {
    match op & FUTEX_CMD_MASK {
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            uaccess::read_u32(uaddr)?;
            ok(0)
        }
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let deadline = if timeout == 0 {
                None
            } else {
                let ns = read_timespec(timeout)?;
                let now = tsc::monotonic_ns();
                Some(if op & FUTEX_CMD_MASK == FUTEX_WAIT {
                    // Relative.
                    now.saturating_add(ns)
                } else if op & FUTEX_CLOCK_REALTIME != 0 {
                    // Absolute on CLOCK_REALTIME.
                    now.saturating_add(ns.saturating_sub(rtc::realtime_ns()))
                } else {
                    // Absolute on CLOCK_MONOTONIC.
                    ns
                })
            };
            if uaccess::read_u32(uaddr)? != val {
                return_errno_with_message!(EAGAIN, "futex value changed");
            }
            wait_on_value(uaddr, val, deadline, ctx)
        }
        _ => return_errno_with_message!(ENOSYS, "futex operation not supported"),
    }
}

/// Wait while `*uaddr == val`, until the monotonic `deadline` if any.
pub(super) fn wait_on_value(uaddr: u64, val: u32, deadline: Option<u64>, ctx: &SyscallContext) -> SyscallResult {
    loop {
        if uaccess::read_u32(uaddr)? != val {
            return ok(0);
        }
        let now = tsc::monotonic_ns();
        if deadline.is_some_and(|d| now >= d) {
            return_errno_with_message!(ETIMEDOUT, "futex wait timed out");
        }
        if ctx.thread.has_pending_work() {
            match deadline {
                None => return_errno_with_message!(ERESTARTSYS, "futex wait interrupted by a signal"),
                Some(deadline_ns) => {
                    ctx.thread.state.lock().restart_block = Some(RestartBlock::FutexWait { uaddr, val, deadline_ns });
                    return_errno_with_message!(ERESTART_RESTARTBLOCK, "timed futex wait interrupted by a signal");
                }
            }
        }
        crate::sync::sleep(Duration::from_millis(5));
    }
}
