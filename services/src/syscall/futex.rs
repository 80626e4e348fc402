//! `futex`, as far as single-threaded processes need it: `FUTEX_WAKE`
//! wakes nobody; `FUTEX_WAIT` checks the value and then polls it (only
//! another process sharing the page could change it).

use core::time::Duration;

use super::time::read_timespec;
use super::{ok, SyscallContext, SyscallResult};
use crate::return_errno_with_message;
use crate::uaccess;

const FUTEX_WAIT: u32 = 0;
const FUTEX_WAKE: u32 = 1;
const FUTEX_WAIT_BITSET: u32 = 9;
const FUTEX_WAKE_BITSET: u32 = 10;
const FUTEX_CMD_MASK: u32 = 0x7f;

pub fn sys_futex(uaddr: u64, op: u32, val: u32, timeout: u64, ctx: &mut SyscallContext) -> SyscallResult {
    match op & FUTEX_CMD_MASK {
        FUTEX_WAKE | FUTEX_WAKE_BITSET => {
            uaccess::read_u32(uaddr)?;
            ok(0)
        }
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            let limit_ns = if timeout != 0 { Some(read_timespec(timeout)?) } else { None };
            let start = framework::arch::tsc::monotonic_ns();
            loop {
                if uaccess::read_u32(uaddr)? != val {
                    return if framework::arch::tsc::monotonic_ns() == start {
                        Err(crate::errno!(EAGAIN, "futex value changed"))
                    } else {
                        ok(0)
                    };
                }
                if let Some(limit) = limit_ns {
                    if framework::arch::tsc::monotonic_ns().saturating_sub(start) >= limit {
                        return_errno_with_message!(ETIMEDOUT, "futex wait timed out");
                    }
                }
                if ctx.thread.has_pending_work() {
                    return_errno_with_message!(ERESTART, "futex wait interrupted by a signal");
                }
                crate::sync::sleep(Duration::from_millis(5));
            }
        }
        _ => return_errno_with_message!(ENOSYS, "futex operation not supported"),
    }
}
