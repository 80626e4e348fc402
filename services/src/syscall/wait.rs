//! `wait4`: reap a child that ended.

use alloc::sync::Arc;

use super::{ok, SyscallContext, SyscallResult};
use crate::error::Result;
use crate::process::wait_status::{WALL, WCLONE, WCONTINUED, WNOHANG, WNOTHREAD, WUNTRACED};
use crate::process::Process;
use crate::return_errno_with_message;
use crate::uaccess;

/// Which children a `wait4` pid argument selects.
fn selects(pid: i32, caller: &Process, child: &Process) -> bool {
    match pid {
        -1 => true,
        0 => child.pgid() == caller.pgid(),
        p if p > 0 => child.pid() == p as u32,
        p => child.pgid() == p.unsigned_abs(),
    }
}

pub fn sys_wait4(pid: i32, status: u64, options: u32, rusage: u64, ctx: &mut SyscallContext) -> SyscallResult {
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE) != 0 {
        return_errno_with_message!(EINVAL, "wait4: unknown options");
    }
    if pid == i32::MIN {
        return_errno_with_message!(ESRCH, "wait4: no such process group");
    }
    let caller = ctx.process.clone();
    let thread = ctx.thread.clone();
    let found: Result<Option<Arc<Process>>> = crate::sync::wait_until(&caller.child_exited, || {
        let children = caller.children.lock();
        let mut any = false;
        for child in children.values().filter(|c| selects(pid, &caller, c)) {
            any = true;
            if child.exit_status().is_some() {
                return Some(Ok(Some(child.clone())));
            }
        }
        if !any {
            return Some(Err(crate::errno!(ECHILD, "no child to wait for")));
        }
        if options & WNOHANG != 0 {
            return Some(Ok(None));
        }
        // Woken by send_signal too.
        if thread.has_pending_work() {
            return Some(Err(crate::errno!(ERESTART, "wait4 interrupted by a signal")));
        }
        None
    });
    let Some(child) = found? else { return ok(0) };
    let exit = child.exit_status().unwrap_or(crate::process::wait_status::ExitStatus::Exited(0));
    if status != 0 {
        uaccess::write_u32(status, exit.wait_status())?;
    }
    if rusage != 0 {
        uaccess::clear(rusage, 144)?;
    }
    caller.children.lock().remove(&child.pid());
    child.unregister();
    ok(child.pid())
}
