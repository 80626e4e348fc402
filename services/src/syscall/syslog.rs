//! `syslog(type, buf, len)` (glibc's `klogctl`): the kernel log buffer
//! ([`framework::klog`]) as Linux's syslog(2) hands it out, for busybox
//! `dmesg`. Console on/off and level calls succeed and change nothing
//! (the console shows what the `log` level lets through).

use core::time::Duration;

use super::{ok, SyscallContext, SyscallResult};
use crate::return_errno_with_message;
use crate::uaccess;

// include/linux/syslog.h
const ACTION_CLOSE: i32 = 0;
const ACTION_OPEN: i32 = 1;
const ACTION_READ: i32 = 2;
const ACTION_READ_ALL: i32 = 3;
const ACTION_READ_CLEAR: i32 = 4;
const ACTION_CLEAR: i32 = 5;
const ACTION_CONSOLE_OFF: i32 = 6;
const ACTION_CONSOLE_ON: i32 = 7;
const ACTION_CONSOLE_LEVEL: i32 = 8;
const ACTION_SIZE_UNREAD: i32 = 9;
const ACTION_SIZE_BUFFER: i32 = 10;

/// How often a blocked READ looks for new records.
const READ_POLL: Duration = Duration::from_millis(10);

pub fn sys_syslog(action: i32, buf: u64, len: i32, ctx: &mut SyscallContext) -> SyscallResult {
    // Linux with dmesg_restrict=0 (its default): everybody may READ_ALL
    // and ask the size; the rest needs CAP_SYSLOG, checked before the type.
    let restricted = action != ACTION_READ_ALL && action != ACTION_SIZE_BUFFER;
    if restricted && ctx.process.ids.lock().euid != 0 {
        return_errno_with_message!(EPERM, "syslog: needs CAP_SYSLOG");
    }
    match action {
        ACTION_CLOSE | ACTION_OPEN | ACTION_CONSOLE_OFF | ACTION_CONSOLE_ON => ok(0),
        ACTION_READ => {
            let Some(len) = read_len(buf, len)? else { return ok(0) };
            loop {
                let records = framework::klog::read_unread(len);
                if !records.is_empty() {
                    return copy_out(buf, &records);
                }
                if ctx.thread.has_pending_work() {
                    return_errno_with_message!(ERESTART, "syslog read interrupted by a signal");
                }
                crate::sync::sleep(READ_POLL);
            }
        }
        ACTION_READ_ALL | ACTION_READ_CLEAR => {
            let Some(len) = read_len(buf, len)? else { return ok(0) };
            let records = framework::klog::read_all(len);
            let done = copy_out(buf, &records);
            if action == ACTION_READ_CLEAR && done.is_ok() {
                framework::klog::clear();
            }
            done
        }
        ACTION_CLEAR => {
            framework::klog::clear();
            ok(0)
        }
        ACTION_CONSOLE_LEVEL => {
            if !(1..=8).contains(&len) {
                return_errno_with_message!(EINVAL, "syslog: console level not in 1..=8");
            }
            ok(0)
        }
        ACTION_SIZE_UNREAD => ok(framework::klog::unread() as u64),
        ACTION_SIZE_BUFFER => ok(framework::klog::CAPACITY as u64),
        _ => return_errno_with_message!(EINVAL, "syslog: unknown action"),
    }
}

/// The checks of the reading actions: `EINVAL` for a NULL buffer or a
/// negative length; `None` (return 0) for length 0.
fn read_len(buf: u64, len: i32) -> crate::error::Result<Option<usize>> {
    if buf == 0 || len < 0 {
        return_errno_with_message!(EINVAL, "syslog: NULL buffer or negative length");
    }
    Ok((len > 0).then_some(len as usize))
}

fn copy_out(buf: u64, records: &[u8]) -> SyscallResult {
    uaccess::write_bytes(buf, records)?;
    ok(records.len() as u64)
}
