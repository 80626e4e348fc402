//! User, group, process-group and session ids.

use alloc::sync::Arc;

use super::{ok, SyscallContext, SyscallResult};
use crate::process::{find_process, Process};
use crate::return_errno_with_message;
use crate::uaccess;

pub fn sys_getuid(ctx: &mut SyscallContext) -> SyscallResult {
    ok(ctx.process.ids.lock().uid)
}

pub fn sys_geteuid(ctx: &mut SyscallContext) -> SyscallResult {
    ok(ctx.process.ids.lock().euid)
}

pub fn sys_getgid(ctx: &mut SyscallContext) -> SyscallResult {
    ok(ctx.process.ids.lock().gid)
}

pub fn sys_getegid(ctx: &mut SyscallContext) -> SyscallResult {
    ok(ctx.process.ids.lock().egid)
}

/// `setresuid` (and `setuid`/`setreuid` through it): -1 keeps a value;
/// root may set anything, others only values among their current ids.
pub fn sys_setresuid(ruid: u32, euid: u32, suid: u32, ctx: &mut SyscallContext) -> SyscallResult {
    let mut ids = ctx.process.ids.lock();
    let privileged = ids.euid == 0;
    let current = [ids.uid, ids.euid, ids.suid];
    for id in [ruid, euid, suid] {
        if id != u32::MAX && !privileged && !current.contains(&id) {
            return_errno_with_message!(EPERM, "setresuid to an id the caller does not have");
        }
    }
    // setuid(x) by root sets all three (the dispatcher passes suid -1).
    let set_all = privileged && ruid == euid && suid == u32::MAX;
    if ruid != u32::MAX {
        ids.uid = ruid;
    }
    if euid != u32::MAX {
        ids.euid = euid;
    }
    if suid != u32::MAX {
        ids.suid = suid;
    } else if set_all && euid != u32::MAX {
        ids.suid = euid;
    }
    ok(0)
}

pub fn sys_setresgid(rgid: u32, egid: u32, sgid: u32, ctx: &mut SyscallContext) -> SyscallResult {
    let mut ids = ctx.process.ids.lock();
    let privileged = ids.euid == 0;
    let current = [ids.gid, ids.egid, ids.sgid];
    for id in [rgid, egid, sgid] {
        if id != u32::MAX && !privileged && !current.contains(&id) {
            return_errno_with_message!(EPERM, "setresgid to an id the caller does not have");
        }
    }
    let set_all = privileged && rgid == egid && sgid == u32::MAX;
    if rgid != u32::MAX {
        ids.gid = rgid;
    }
    if egid != u32::MAX {
        ids.egid = egid;
    }
    if sgid != u32::MAX {
        ids.sgid = sgid;
    } else if set_all && egid != u32::MAX {
        ids.sgid = egid;
    }
    ok(0)
}

fn write_three(a: u64, b: u64, c: u64, values: [u32; 3]) -> SyscallResult {
    uaccess::write_u32(a, values[0])?;
    uaccess::write_u32(b, values[1])?;
    uaccess::write_u32(c, values[2])?;
    ok(0)
}

pub fn sys_getresuid(a: u64, b: u64, c: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let ids = *ctx.process.ids.lock();
    write_three(a, b, c, [ids.uid, ids.euid, ids.suid])
}

pub fn sys_getresgid(a: u64, b: u64, c: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let ids = *ctx.process.ids.lock();
    write_three(a, b, c, [ids.gid, ids.egid, ids.sgid])
}

pub fn sys_setgroups(ctx: &mut SyscallContext) -> SyscallResult {
    if ctx.process.ids.lock().euid != 0 {
        return_errno_with_message!(EPERM, "setgroups needs CAP_SETGID");
    }
    ok(0)
}

/// `pid` 0 means the caller.
fn target(pid: u32, ctx: &SyscallContext) -> crate::error::Result<Arc<Process>> {
    if pid == 0 {
        return Ok(ctx.process.clone());
    }
    find_process(pid).ok_or(crate::errno!(ESRCH, "no such process"))
}

pub fn sys_getpgid(pid: u32, ctx: &mut SyscallContext) -> SyscallResult {
    ok(target(pid, ctx)?.pgid())
}

pub fn sys_getsid(pid: u32, ctx: &mut SyscallContext) -> SyscallResult {
    ok(target(pid, ctx)?.sid())
}

/// `setpgid`: the caller or one of its children, within its session.
pub fn sys_setpgid(pid: u32, pgid: u32, ctx: &mut SyscallContext) -> SyscallResult {
    if (pgid as i32) < 0 {
        return_errno_with_message!(EINVAL, "negative process group");
    }
    let process = target(pid, ctx)?;
    let is_self = process.pid() == ctx.process.pid();
    if !is_self && process.ppid() != ctx.process.pid() {
        return_errno_with_message!(ESRCH, "setpgid of a process that is not a child");
    }
    if process.sid() != ctx.process.sid() {
        return_errno_with_message!(EPERM, "setpgid across sessions");
    }
    if process.sid() == process.pid() {
        return_errno_with_message!(EPERM, "setpgid of a session leader");
    }
    let pgid = if pgid == 0 { process.pid() } else { pgid };
    // Joining another group: it must exist in the same session.
    if pgid != process.pid() {
        let sid = process.sid();
        let exists = crate::process::process::all_processes().iter().any(|p| p.pgid() == pgid && p.sid() == sid);
        if !exists {
            return_errno_with_message!(EPERM, "setpgid into a group not in the session");
        }
    }
    process.set_pgid(pgid);
    ok(0)
}

pub fn sys_setsid(ctx: &mut SyscallContext) -> SyscallResult {
    let pid = ctx.process.pid();
    let leads_group = crate::process::process::all_processes().iter().any(|p| p.pid() != pid && p.pgid() == pid);
    if ctx.process.pgid() == pid || leads_group {
        return_errno_with_message!(EPERM, "setsid by a process-group leader");
    }
    ctx.process.set_sid(pid);
    ctx.process.set_pgid(pid);
    ok(pid)
}
