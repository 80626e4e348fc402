//! `getrlimit`, `setrlimit`, `prlimit64`.

use super::{ok, SyscallContext, SyscallResult};
use crate::process::find_process;
use crate::process::rlimit::{Rlimit, RLIMIT_NOFILE};
use crate::uaccess;

/// `prlimit64(pid, resource, new, old)`; `getrlimit`/`setrlimit` are the
/// pid-0 cases with one of the pointers NULL.
pub fn sys_prlimit64(pid: u32, resource: u32, new: u64, old: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let target = if pid == 0 || pid == ctx.process.pid() {
        ctx.process.clone()
    } else {
        find_process(pid).ok_or(crate::errno!(ESRCH, "no such process"))?
    };
    let new_limit = if new != 0 { Some(Rlimit::from_bytes(&uaccess::read_array(new)?)) } else { None };
    let privileged = ctx.process.ids.lock().euid == 0;
    let previous = {
        let mut limits = target.rlimits.lock();
        match new_limit {
            Some(limit) => {
                let previous = limits.set(resource, limit, privileged)?;
                if resource == RLIMIT_NOFILE {
                    let soft = u32::try_from(limit.soft).unwrap_or(u32::MAX).min(crate::fs::fd_table::NR_OPEN);
                    target.fds.lock().set_limit(soft)?;
                }
                previous
            }
            None => limits.get(resource)?,
        }
    };
    if old != 0 {
        uaccess::write_bytes(old, &previous.to_bytes())?;
    }
    ok(0)
}
