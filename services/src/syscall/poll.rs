//! `poll`, `ppoll`: readiness of open files, waited for by polling every
//! few milliseconds (drivers have no wake-up hooks for poll yet).

use alloc::vec;
use core::time::Duration;

use super::time::read_timespec;
use super::{ok, SyscallContext, SyscallResult};
use crate::fs::PollEvents;
use crate::return_errno_with_message;
use crate::uaccess;

const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// `timeout_ns`: None waits forever.
fn do_poll(fds_ptr: u64, nfds: u64, timeout_ns: Option<u64>, ctx: &mut SyscallContext) -> SyscallResult {
    if nfds > u64::from(ctx.process.fds.lock().limit()) {
        return_errno_with_message!(EINVAL, "poll: more fds than RLIMIT_NOFILE");
    }
    let mut raw = vec![0u8; nfds as usize * 8];
    uaccess::read_bytes(fds_ptr, &mut raw)?;
    let start = framework::arch::tsc::monotonic_ns();
    loop {
        let mut ready = 0usize;
        for entry in raw.chunks_exact_mut(8) {
            let fd = i32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]);
            let events = u16::from_le_bytes([entry[4], entry[5]]);
            let revents = if fd < 0 {
                PollEvents::EMPTY
            } else {
                match ctx.file(fd) {
                    Ok(file) => file.poll(PollEvents::from_bits_truncate(events)),
                    Err(_) => PollEvents::NVAL,
                }
            };
            entry[6..8].copy_from_slice(&revents.bits().to_le_bytes());
            if !revents.is_empty() {
                ready += 1;
            }
        }
        let expired = timeout_ns.is_some_and(|t| framework::arch::tsc::monotonic_ns().saturating_sub(start) >= t);
        if ready > 0 || expired || ctx.thread.has_pending_work() {
            uaccess::write_bytes(fds_ptr, &raw)?;
            if ready == 0 && !expired {
                // EINTR after a handler; restarted after a stop (Linux).
                return_errno_with_message!(ERESTARTNOHAND, "poll interrupted by a signal");
            }
            return ok(ready);
        }
        crate::sync::sleep(POLL_INTERVAL);
    }
}

pub fn sys_poll(fds: u64, nfds: u64, timeout_ms: i32, ctx: &mut SyscallContext) -> SyscallResult {
    let timeout = (timeout_ms >= 0).then(|| timeout_ms as u64 * 1_000_000);
    do_poll(fds, nfds, timeout, ctx)
}

pub fn sys_ppoll(fds: u64, nfds: u64, timeout: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let timeout = if timeout != 0 { Some(read_timespec(timeout)?) } else { None };
    do_poll(fds, nfds, timeout, ctx)
}
