//! `rt_sigaction`, `rt_sigprocmask`, `rt_sigpending`, `rt_sigsuspend`,
//! `pause`, `rt_sigreturn`, `sigaltstack`, `kill`, `tkill`, `tgkill`.
//! Signals are acted on at the return to user space (`process::task`);
//! handlers run on a frame from `process::signal_delivery`.

use alloc::vec::Vec;
use alloc::sync::Arc;

use super::{ok, SyscallContext, SyscallResult, SyscallReturn};
use crate::process::signal::SIGSEGV;
use crate::process::signal_delivery::{info_kill, restore_frame, SIGINFO_SIZE};
use crate::process::wait_status::ExitStatus;
use crate::process::process::all_processes;
use crate::process::signal::{check_signal, SigAction, SigSet, SIGACTION_SIZE, SIGSET_SIZE};
use crate::process::{find_process, Process};
use crate::return_errno_with_message;
use crate::uaccess;

pub fn sys_rt_sigaction(sig: u32, act: u64, oldact: u64, sigsetsize: u64, ctx: &mut SyscallContext) -> SyscallResult {
    if sigsetsize != SIGSET_SIZE {
        return_errno_with_message!(EINVAL, "rt_sigaction: sigsetsize is not 8");
    }
    check_signal(sig)?;
    let new = if act != 0 { Some(SigAction::from_bytes(&uaccess::read_array::<SIGACTION_SIZE>(act)?)) } else { None };
    let old = {
        let mut actions = ctx.process.sigactions.lock();
        match new {
            Some(new) => actions.set(sig, new)?,
            None => actions.get(sig),
        }
    };
    if oldact != 0 {
        uaccess::write_bytes(oldact, &old.to_bytes())?;
    }
    ok(0)
}

pub fn sys_rt_sigprocmask(how: u32, set: u64, oldset: u64, sigsetsize: u64, ctx: &mut SyscallContext) -> SyscallResult {
    if sigsetsize != SIGSET_SIZE {
        return_errno_with_message!(EINVAL, "rt_sigprocmask: sigsetsize is not 8");
    }
    let new = if set != 0 { Some(SigSet(uaccess::read_u64(set)?)) } else { None };
    let old = ctx.thread.state.lock().sigmask;
    if let Some(new) = new {
        let mask = old.apply(how, new)?;
        ctx.thread.state.lock().sigmask = mask;
    }
    if oldset != 0 {
        uaccess::write_u64(oldset, old.0)?;
    }
    ok(0)
}

pub fn sys_rt_sigpending(set: u64, sigsetsize: u64, ctx: &mut SyscallContext) -> SyscallResult {
    if sigsetsize > SIGSET_SIZE {
        return_errno_with_message!(EINVAL, "rt_sigpending: sigsetsize too large");
    }
    let pending = ctx.process.pending_signals().0 & ctx.thread.state.lock().sigmask.0;
    uaccess::write_bytes(set, &pending.to_le_bytes()[..sigsetsize as usize])?;
    ok(0)
}

/// `rt_sigtimedwait(set, info, timeout, sigsetsize)` (`sigwaitinfo`,
/// `sigtimedwait`): take a pending signal of `set` (blocked ones too,
/// which is the point) and return its number, with its `siginfo` at
/// `info`; EAGAIN when `timeout` passes first, EINTR when another
/// signal's handler is to run. Waits in slices (a signal of `set` is
/// usually blocked, so nothing wakes the thread for it).
pub fn sys_rt_sigtimedwait(set: u64, info: u64, timeout: u64, sigsetsize: u64, ctx: &mut SyscallContext) -> SyscallResult {
    if sigsetsize != SIGSET_SIZE {
        return_errno_with_message!(EINVAL, "rt_sigtimedwait: sigsetsize is not 8");
    }
    let wanted = uaccess::read_u64(set)? & !SigSet::UNBLOCKABLE.0;
    let limit = if timeout != 0 { Some(super::time::read_timespec(timeout)?) } else { None };
    let deadline = limit.map(|ns| framework::arch::tsc::monotonic_ns().saturating_add(ns));
    loop {
        let ready = ctx.process.pending_signals().0 & wanted;
        if ready != 0 {
            let sig = ready.trailing_zeros() + 1;
            let siginfo = ctx.process.take_signal(sig);
            if info != 0 {
                uaccess::write_bytes(info, &siginfo)?;
            }
            return ok(sig);
        }
        let now = framework::arch::tsc::monotonic_ns();
        if deadline.is_some_and(|d| now >= d) {
            return_errno_with_message!(EAGAIN, "rt_sigtimedwait: timed out");
        }
        if ctx.thread.has_pending_work() {
            return_errno_with_message!(EINTR, "rt_sigtimedwait: interrupted by another signal");
        }
        let nap = deadline.map_or(SIGWAIT_SLICE_NS, |d| (d - now).min(SIGWAIT_SLICE_NS));
        crate::sync::sleep(core::time::Duration::from_nanos(nap));
    }
}

const SIGWAIT_SLICE_NS: u64 = 5_000_000;

const SS_DISABLE: u64 = 2;

pub fn sys_sigaltstack(new: u64, old: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let current = ctx.thread.state.lock().altstack;
    if old != 0 {
        let mut raw = [0u8; 24];
        let flags = if current[2] == 0 { SS_DISABLE } else { current[1] };
        raw[..8].copy_from_slice(&current[0].to_le_bytes());
        raw[8..16].copy_from_slice(&flags.to_le_bytes());
        raw[16..].copy_from_slice(&current[2].to_le_bytes());
        uaccess::write_bytes(old, &raw)?;
    }
    if new != 0 {
        let raw: [u8; 24] = uaccess::read_array(new)?;
        let word = |i: usize| u64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        let (sp, flags, size) = (word(0), word(1) as u32 as u64, word(2));
        ctx.thread.state.lock().altstack = if flags & SS_DISABLE != 0 { [0; 3] } else { [sp, flags, size] };
    }
    ok(0)
}

fn deliver(targets: &[Arc<Process>], sig: u32, ctx: &SyscallContext) -> SyscallResult {
    if targets.is_empty() {
        return_errno_with_message!(ESRCH, "no such process or group");
    }
    if sig != 0 {
        for target in targets {
            if target.exit_status().is_none() {
                let uid = ctx.process.ids.lock().uid;
                target.send_signal_info(sig, info_kill(sig, ctx.process.pid(), uid));
            }
        }
    }
    ok(0)
}

/// `rt_sigreturn`: back from a handler.
pub fn sys_rt_sigreturn(ctx: &mut SyscallContext) -> SyscallResult {
    if let Err(error) = restore_frame(ctx.thread, ctx.user) {
        log::info!("pid {}: rt_sigreturn with a bad frame: {}", ctx.process.pid(), error);
        ctx.process.begin_exit(ExitStatus::Signaled { signal: SIGSEGV, core: false });
    }
    Ok(SyscallReturn::NoReturn)
}

/// `rt_sigsuspend(mask)`: wait for a signal with `mask` in force; the old
/// mask comes back after the handler (or at once if none runs). EINTR
/// when a handler runs; after a stop and SIGCONT it waits again.
pub fn sys_rt_sigsuspend(mask: u64, sigsetsize: u64, ctx: &mut SyscallContext) -> SyscallResult {
    if sigsetsize != SIGSET_SIZE {
        return_errno_with_message!(EINVAL, "rt_sigsuspend: sigsetsize is not 8");
    }
    let new = SigSet(uaccess::read_u64(mask)? & !SigSet::UNBLOCKABLE.0);
    {
        let mut state = ctx.thread.state.lock();
        state.saved_mask = Some(state.sigmask);
        state.sigmask = new;
    }
    pause(ctx)
}

/// `pause()`: wait for a signal. EINTR when a handler runs; after a stop
/// and SIGCONT it waits again.
pub fn sys_pause(ctx: &mut SyscallContext) -> SyscallResult {
    pause(ctx)
}

fn pause(ctx: &SyscallContext) -> SyscallResult {
    // Linux's ERESTARTNOHAND: never restarted after a handler.
    let queue = Arc::new(framework::sync::WaitQueue::new());
    let _ = ctx.thread.wait_interruptible::<()>(&queue, || None);
    return_errno_with_message!(ERESTARTNOHAND, "woken by a signal")
}

/// Send `sig` to every process of group `pgid` (the tty's ^C uses it).
pub fn kill_group(pgid: u32, sig: u32) {
    for process in all_processes().into_iter().filter(|p| p.pgid() == pgid) {
        if process.exit_status().is_none() {
            process.send_signal(sig);
        }
    }
}

pub fn sys_kill(pid: i32, sig: u32, ctx: &mut SyscallContext) -> SyscallResult {
    if sig != 0 {
        check_signal(sig)?;
    }
    let targets: Vec<Arc<Process>> = match pid {
        p if p > 0 => find_process(p as u32).into_iter().collect(),
        0 => {
            let pgid = ctx.process.pgid();
            all_processes().into_iter().filter(|p| p.pgid() == pgid).collect()
        }
        -1 => all_processes().into_iter().filter(|p| p.pid() != 1 && p.pid() != ctx.process.pid()).collect(),
        p => {
            let pgid = p.unsigned_abs();
            all_processes().into_iter().filter(|q| q.pgid() == pgid).collect()
        }
    };
    deliver(&targets, sig, ctx)
}

/// `SI_TKILL`: the code `tgkill` puts in the siginfo.
const SI_TKILL: i32 = -6;

/// `rt_sigqueueinfo(pid, sig, info)` (`sigqueue`) and
/// `rt_tgsigqueueinfo(tgid, tid, sig, info)`: send `sig` with the
/// caller's `siginfo` (its `si_signo` becomes `sig`). Only to itself may
/// a process claim a kernel or `kill`/`tgkill` origin (`si_code >= 0` or
/// `SI_TKILL`): EPERM otherwise, as Linux.
pub fn sys_rt_sigqueueinfo(tgid: i32, tid: Option<i32>, sig: u32, uinfo: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let mut info: [u8; SIGINFO_SIZE] = uaccess::read_array(uinfo)?;
    if tid.is_some_and(|t| t <= 0 || tgid <= 0) {
        return_errno_with_message!(EINVAL, "rt_tgsigqueueinfo: bad ids");
    }
    let code = i32::from_le_bytes([info[8], info[9], info[10], info[11]]);
    let target_pid = tid.unwrap_or(tgid);
    if (code >= 0 || code == SI_TKILL) && i64::from(target_pid) != i64::from(ctx.process.pid()) {
        return_errno_with_message!(EPERM, "rt_sigqueueinfo: may not pretend to be the kernel or kill");
    }
    let target = (target_pid > 0)
        .then(|| find_process(target_pid as u32))
        .flatten()
        .filter(|p| p.pid() == tgid as u32 && p.exit_status().is_none());
    let Some(target) = target else {
        return_errno_with_message!(ESRCH, "rt_sigqueueinfo: no such process");
    };
    if sig != 0 {
        check_signal(sig)?;
        info[0..4].copy_from_slice(&(sig as i32).to_le_bytes());
        target.send_signal_info(sig, info);
    }
    ok(0)
}

/// `tgkill(tgid, tid, sig)`; `tkill` passes tgid -1.
pub fn sys_tgkill(tgid: i32, tid: i32, sig: u32, ctx: &mut SyscallContext) -> SyscallResult {
    if tid <= 0 || (tgid != -1 && tgid <= 0) {
        return_errno_with_message!(EINVAL, "tgkill: bad ids");
    }
    if sig != 0 {
        check_signal(sig)?;
    }
    let target = find_process(tid as u32).filter(|p| tgid == -1 || p.pid() == tgid as u32);
    deliver(&target.into_iter().collect::<Vec<_>>(), sig, ctx)
}
