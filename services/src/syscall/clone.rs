//! `clone`, `fork`, `vfork`: new processes. Threads (`CLONE_THREAD`) are
//! not supported yet.
//!
//! `fork` copies the address space copy-on-write; `CLONE_VM` (only with
//! `CLONE_VFORK`, as `vfork` and `posix_spawn` use it) shares it while the
//! parent waits for the child to exec or exit.

use alloc::sync::Arc;

use super::{ok, SyscallContext, SyscallResult};
use crate::process::process::{ProcessInit, VforkDone};
use crate::process::task::spawn_user_task;
use crate::process::{Process, Thread};
use crate::return_errno_with_message;
use crate::uaccess;

pub const CLONE_VM: u64 = 0x0000_0100;
pub const CLONE_SIGHAND: u64 = 0x0000_0800;
pub const CLONE_PTRACE: u64 = 0x0000_2000;
pub const CLONE_VFORK: u64 = 0x0000_4000;
pub const CLONE_THREAD: u64 = 0x0001_0000;
pub const CLONE_SETTLS: u64 = 0x0008_0000;
pub const CLONE_PARENT_SETTID: u64 = 0x0010_0000;
pub const CLONE_CHILD_CLEARTID: u64 = 0x0020_0000;
pub const CLONE_DETACHED: u64 = 0x0040_0000;
pub const CLONE_CHILD_SETTID: u64 = 0x0100_0000;
const CSIGNAL: u64 = 0xff;

const SUPPORTED: u64 = CSIGNAL
    | CLONE_VM
    | CLONE_VFORK
    | CLONE_SETTLS
    | CLONE_PARENT_SETTID
    | CLONE_CHILD_CLEARTID
    | CLONE_CHILD_SETTID
    | CLONE_DETACHED
    | CLONE_PTRACE;

/// `clone(flags, stack, parent_tid, child_tid, tls)` (x86-64 order).
pub fn sys_clone(flags: u64, stack: u64, parent_tid: u64, child_tid: u64, tls: u64, ctx: &mut SyscallContext) -> SyscallResult {
    if flags & (CLONE_THREAD | CLONE_SIGHAND) != 0 {
        return_errno_with_message!(EINVAL, "threads (CLONE_THREAD) are not supported yet");
    }
    if flags & !SUPPORTED != 0 {
        return_errno_with_message!(EINVAL, "unsupported clone flags");
    }
    if flags & CLONE_VM != 0 && flags & CLONE_VFORK == 0 {
        return_errno_with_message!(EINVAL, "CLONE_VM without CLONE_VFORK needs threads");
    }
    let parent = ctx.process.clone();
    let parent_mm = parent.mm().ok_or(crate::errno!(EFAULT, "no address space"))?;
    let mm = if flags & CLONE_VM != 0 { parent_mm } else { parent_mm.fork()? };
    let fds = parent.fds.lock().clone();
    let child = Process::new(ProcessInit {
        parent: Arc::downgrade(&parent),
        pgid: parent.pgid(),
        sid: parent.sid(),
        mm: Some(mm),
        fs: parent.fs.read().clone(),
        fds,
        ids: *parent.ids.lock(),
        umask: parent.umask.load(core::sync::atomic::Ordering::Relaxed),
        rlimits: parent.rlimits.lock().clone(),
        sigactions: parent.sigactions.lock().clone(),
        comm: parent.comm(),
        exe: parent.exe(),
    });
    child.set_cmdline(parent.cmdline(), parent.environ());
    child.set_personality(parent.personality());
    let thread = Thread::new(child.clone());
    {
        let parent_state = *ctx.thread.state.lock();
        let mut state = thread.state.lock();
        state.sigmask = parent_state.sigmask;
        state.altstack = parent_state.altstack;
        if flags & CLONE_CHILD_SETTID != 0 {
            state.set_child_tid = child_tid;
        }
        if flags & CLONE_CHILD_CLEARTID != 0 {
            state.clear_child_tid = child_tid;
        }
    }
    let mut context = ctx.user.clone();
    context.set_syscall_return(0);
    if stack != 0 {
        context.regs_mut().rsp = stack;
    }
    if flags & CLONE_SETTLS != 0 {
        context.set_fs_base(tls);
    }
    if flags & CLONE_PARENT_SETTID != 0 {
        uaccess::write_u32(parent_tid, child.pid())?;
    }
    let vfork = (flags & CLONE_VFORK != 0).then(VforkDone::new);
    if let Some(done) = &vfork {
        *child.vfork_done.lock() = Some(done.clone());
    }
    parent.children.lock().insert(child.pid(), child.clone());
    let pid = child.pid();
    spawn_user_task(thread, context);
    if let Some(done) = vfork {
        done.wait();
    }
    ok(pid)
}
