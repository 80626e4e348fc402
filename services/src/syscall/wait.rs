//! `wait4`, `waitid`: reap a child that ended, or hear that one stopped
//! (`WUNTRACED`/`WSTOPPED`) or continued (`WCONTINUED`), as Linux's
//! `do_wait`: children are looked at in pid order, each for an exit
//! first, then a stop, then a continue.

use alloc::sync::Arc;

use super::{ok, SyscallContext, SyscallResult};
use crate::error::Result;
use crate::process::signal::SIGCHLD;
use crate::process::wait_status::{
    ExitStatus, JobEvent, P_ALL, P_PGID, P_PID, WALL, WCLONE, WCONTINUED, WEXITED, WNOHANG, WNOTHREAD, WNOWAIT,
    WSTOPPED, WUNTRACED,
};
use crate::process::Process;
use crate::return_errno_with_message;
use crate::uaccess;

/// Which children a wait selects.
#[derive(Clone, Copy)]
enum Selector {
    Any,
    Pid(u32),
    Group(u32),
}

impl Selector {
    fn selects(self, child: &Process) -> bool {
        match self {
            Selector::Any => true,
            Selector::Pid(pid) => child.pid() == pid,
            Selector::Group(pgid) => child.pgid() == pgid,
        }
    }
}

/// What a wait found.
enum Found {
    Exited(ExitStatus),
    Job(JobEvent),
}

struct WaitResult {
    pid: u32,
    uid: u32,
    found: Found,
}

/// Linux's `do_wait`: block (unless WNOHANG) until a selected child has
/// something to report; None for WNOHANG with nothing yet. A zombie is
/// reaped and a stop/continue consumed unless `WNOWAIT`.
fn do_wait(selector: Selector, options: u32, ctx: &SyscallContext) -> Result<Option<WaitResult>> {
    let caller = ctx.process.clone();
    let thread = ctx.thread.clone();
    let found: Result<Option<(Arc<Process>, Found)>> = crate::sync::wait_until(&caller.child_exited, || {
        let children = caller.children.lock();
        let mut any = false;
        for child in children.values().filter(|c| selector.selects(c)) {
            any = true;
            if let Some(status) = child.exit_status() {
                if options & WEXITED != 0 {
                    return Some(Ok(Some((child.clone(), Found::Exited(status)))));
                }
                continue;
            }
            let mut job = child.job.lock();
            if let Some(event) = job.report(options & WSTOPPED != 0, options & WCONTINUED != 0) {
                if options & WNOWAIT == 0 {
                    job.consume(event);
                }
                return Some(Ok(Some((child.clone(), Found::Job(event)))));
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
            return Some(Err(crate::errno!(ERESTARTSYS, "wait interrupted by a signal")));
        }
        None
    });
    let Some((child, found)) = found? else { return Ok(None) };
    if matches!(found, Found::Exited(_)) && options & WNOWAIT == 0 {
        caller.children.lock().remove(&child.pid());
        child.unregister();
    }
    let uid = child.ids.lock().uid;
    Ok(Some(WaitResult { pid: child.pid(), uid, found }))
}

pub fn sys_wait4(pid: i32, status: u64, options: u32, rusage: u64, ctx: &mut SyscallContext) -> SyscallResult {
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE) != 0 {
        return_errno_with_message!(EINVAL, "wait4: unknown options");
    }
    let selector = match pid {
        i32::MIN => return_errno_with_message!(ESRCH, "wait4: no such process group"),
        -1 => Selector::Any,
        0 => Selector::Group(ctx.process.pgid()),
        p if p > 0 => Selector::Pid(p as u32),
        p => Selector::Group(p.unsigned_abs()),
    };
    let Some(result) = do_wait(selector, options | WEXITED, ctx)? else { return ok(0) };
    // As Linux: the child is already reaped when a bad pointer faults.
    if status != 0 {
        let word = match result.found {
            Found::Exited(exit) => exit.wait_status(),
            Found::Job(event) => event.wait_status(),
        };
        uaccess::write_u32(status, word)?;
    }
    if rusage != 0 {
        uaccess::clear(rusage, RUSAGE_SIZE)?;
    }
    ok(result.pid)
}

/// `struct rusage` (all zero: no accounting per child yet).
const RUSAGE_SIZE: usize = 144;

/// `waitid(idtype, id, infop, options, rusage)`: the result goes to the
/// `siginfo_t` at `infop` (`si_signo` SIGCHLD, `si_code` CLD_*, `si_pid`,
/// `si_uid`, `si_status`); with WNOHANG and nothing to report, those
/// fields are zero and the call returns 0.
pub fn sys_waitid(idtype: u32, id: i32, infop: u64, options: u32, rusage: u64, ctx: &mut SyscallContext) -> SyscallResult {
    if options & !(WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | WNOTHREAD | WALL | WCLONE) != 0 {
        return_errno_with_message!(EINVAL, "waitid: unknown options");
    }
    if options & (WEXITED | WSTOPPED | WCONTINUED) == 0 {
        return_errno_with_message!(EINVAL, "waitid: none of WEXITED, WSTOPPED, WCONTINUED");
    }
    let selector = match idtype {
        P_ALL => Selector::Any,
        P_PID if id > 0 => Selector::Pid(id as u32),
        P_PGID if id > 0 => Selector::Group(id as u32),
        P_PGID if id == 0 => Selector::Group(ctx.process.pgid()),
        _ => return_errno_with_message!(EINVAL, "waitid: bad id type or id"),
    };
    let result = do_wait(selector, options, ctx)?;
    if rusage != 0 && result.is_some() {
        uaccess::clear(rusage, RUSAGE_SIZE)?;
    }
    if infop != 0 {
        let (signo, code, pid, uid, status) = match &result {
            None => (0, 0, 0, 0, 0),
            Some(r) => {
                let (code, status) = match r.found {
                    Found::Exited(exit) => exit.child_code(),
                    Found::Job(event) => event.child_code(),
                };
                (SIGCHLD as i32, code, r.pid, r.uid, status)
            }
        };
        let mut info = [0u8; 28];
        info[0..4].copy_from_slice(&signo.to_le_bytes());
        info[8..12].copy_from_slice(&code.to_le_bytes());
        info[16..20].copy_from_slice(&pid.to_le_bytes());
        info[20..24].copy_from_slice(&uid.to_le_bytes());
        info[24..28].copy_from_slice(&status.to_le_bytes());
        uaccess::write_bytes(infop, &info)?;
    }
    ok(0)
}
