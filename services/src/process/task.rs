//! The life of a user thread on its kernel task: enter user mode, handle
//! what brought it back (a syscall, an exception, an interrupt), act on
//! pending signals, and at the end release the process and leave a zombie.
//!
//! Owns: the user-task loop, exception-to-signal mapping (#PF first tries
//! demand paging), signal disposition at return to user space (default
//! actions here, handlers through `signal_delivery`), process
//! exit (files, address space, reparenting, waking the parent), and the
//! creation of the first process ([`spawn_init`]).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use framework::mm::VmSpace;
use framework::task::TaskOptions;
use framework::user::{self, ReturnReason, UserContext, UserException};

use super::exec;
use super::exec_args::ExecArgs;
use super::mm::Access;
use super::process::{all_processes, find_process, is_pgrp_orphaned, Ids, Process, ProcessInit, Thread};
use super::rlimit::{ResourceLimits, RLIMIT_STACK};
use super::signal::{
    self, SigActions, SIGBUS, SIGCHLD, SIGFPE, SIGILL, SIGKILL, SIGPROF, SIGSEGV, SIGSTOP, SIGTRAP, SIGVTALRM,
};
use super::signal_delivery;
use super::signal_restart::RestartAction;
use crate::syscall_numbers::SYS_RESTART_SYSCALL;
use super::wait_status::ExitStatus;
use crate::error::{Errno, Result};
use crate::fs::flags::O_RDWR;
use crate::fs::mount::Mount;
use crate::fs::{FdTable, FsContext, Path};

/// Start a kernel task running `thread` in user mode from `context`.
pub fn spawn_user_task(thread: Arc<Thread>, context: UserContext) {
    let name = thread.process().comm_str();
    let data = thread.clone();
    TaskOptions::new(&name).data(data).spawn(move || user_task_main(thread, context));
}

fn user_task_main(thread: Arc<Thread>, mut context: UserContext) {
    let process = thread.process().clone();
    let task = framework::task::current();
    let mut attached: Option<Arc<VmSpace>> = None;
    let set_child_tid = core::mem::take(&mut thread.state.lock().set_child_tid);
    if set_child_tid != 0 && attach(&task, &process, &mut attached) {
        let _ = crate::uaccess::write_u32(set_child_tid, thread.tid());
    }
    while !process.is_exiting() {
        // execve may have swapped the address space.
        if !attach(&task, &process, &mut attached) {
            break;
        }
        let reason = user::execute(&mut context, || {
            check_cpu_timers(&process);
            thread.has_pending_work()
        });
        match reason {
            ReturnReason::Syscall => {
                crate::syscall::handle(&thread, &mut context);
                check_cpu_timers(&process);
            }
            ReturnReason::Exception(exception) => handle_exception(&thread, &context, exception),
            ReturnReason::Interrupted => {}
        }
        act_on_signals(&thread, &mut context);
    }
    log::trace!("pid {}: exiting", process.pid());
    exit_process(&process);
    log::trace!("pid {}: zombie", process.pid());
    task.set_vm_space(None);
    log::trace!("pid {}: task done", process.pid());
}

/// Make the task run in the process's current page tables (the scheduler
/// switches them with the task); false if the process has none.
fn attach(task: &Arc<framework::task::Task>, process: &Process, attached: &mut Option<Arc<VmSpace>>) -> bool {
    let Some(mm) = process.mm() else { return false };
    if !attached.as_ref().is_some_and(|vm| Arc::ptr_eq(vm, mm.vm())) {
        task.set_vm_space(Some(mm.vm().clone()));
        *attached = Some(mm.vm().clone());
    }
    true
}

const DIVIDE_ERROR: u8 = 0;
const DEBUG: u8 = 1;
const BREAKPOINT: u8 = 3;
const INVALID_OPCODE: u8 = 6;
const PAGE_FAULT: u8 = 14;
const X87_FP: u8 = 16;
const ALIGNMENT_CHECK: u8 = 17;
const SIMD_FP: u8 = 19;

const PF_WRITE: u64 = 1 << 1;
const PF_INSTRUCTION: u64 = 1 << 4;

fn handle_exception(thread: &Thread, context: &UserContext, exception: UserException) {
    let process = thread.process();
    let sig = match exception.vector {
        PAGE_FAULT => {
            let address = exception.fault_address.unwrap_or(0);
            let access = if exception.error_code & PF_INSTRUCTION != 0 {
                Access::Execute
            } else if exception.error_code & PF_WRITE != 0 {
                Access::Write
            } else {
                Access::Read
            };
            match process.mm().map(|mm| mm.handle_fault(address, access)) {
                Some(Ok(())) => return,
                Some(Err(Errno::EIO)) => SIGBUS,
                _ => SIGSEGV,
            }
        }
        DIVIDE_ERROR | X87_FP | SIMD_FP => SIGFPE,
        INVALID_OPCODE => SIGILL,
        DEBUG | BREAKPOINT => SIGTRAP,
        ALIGNMENT_CHECK => SIGBUS,
        _ => SIGSEGV,
    };
    // A handler that may run gets the fault; otherwise it kills.
    let action = process.sigactions.lock().get(sig);
    let blocked = thread.state.lock().sigmask.contains(sig);
    if !action.is_default() && !action.is_ignored() && !blocked {
        let code = if sig == SIGSEGV { signal_delivery::SEGV_MAPERR } else { signal_delivery::SI_KERNEL };
        process.send_signal_info(sig, signal_delivery::info_fault(sig, code, exception.fault_address.unwrap_or(0)));
        return;
    }
    log::info!(
        "pid {} ({}): {} (vector {}, error {:#x}, address {:#x}) at rip {:#x}",
        process.pid(),
        process.comm_str(),
        signal::name(sig),
        exception.vector,
        exception.error_code,
        exception.fault_address.unwrap_or(0),
        context.regs().rip
    );
    process.begin_exit(ExitStatus::Signaled { signal: sig, core: false });
}

/// Act on the unblocked pending signals, as Linux's `get_signal`:
/// ignored ones go, fatal ones end the process, stop signals stop it
/// until SIGCONT (the loop then goes on), a handled one gets a frame
/// (one per return to user space; the next return takes the next).
/// A syscall a signal interrupted then returns EINTR or restarts
/// (`signal_restart`), and the mask a `rt_sigsuspend` swapped in is put
/// back if no handler took it.
fn act_on_signals(thread: &Thread, context: &mut UserContext) {
    let process = thread.process();
    let restart = thread.state.lock().restart.take();
    loop {
        if process.is_exiting() {
            return;
        }
        let mask = thread.state.lock().sigmask;
        let pending = process.pending_signals();
        let deliverable = pending.0 & !mask.0;
        if deliverable == 0 {
            break;
        }
        let sig = if pending.contains(SIGKILL) { SIGKILL } else { deliverable.trailing_zeros() + 1 };
        let action = process.sigactions.lock().get(sig);
        // Pending from before init reset its handler: dropped, as Linux does.
        if process.init_ignores(sig) {
            process.take_signal(sig);
            continue;
        }
        if sig != SIGKILL && process.sigactions.lock().is_stop(sig) {
            // SIGTSTP, SIGTTIN, SIGTTOU do nothing to an orphaned process
            // group (no shell left to continue it); SIGSTOP always stops.
            if sig != SIGSTOP && is_pgrp_orphaned(process.pgid()) {
                process.take_signal(sig);
                continue;
            }
            process.dequeue_stop_signal(sig);
            process.stop_and_wait(sig);
            continue;
        }
        let info = process.take_signal(sig);
        if sig == SIGKILL || (action.is_default() && process.sigactions.lock().is_fatal(sig)) {
            process.begin_exit(ExitStatus::Signaled { signal: sig, core: false });
            return;
        }
        if action.is_default() || action.is_ignored() {
            continue;
        }
        if let Some((number, kind)) = restart {
            thread.state.lock().restart_block = None;
            match kind.with_handler(action.flags) {
                RestartAction::Again => restart_syscall(context, number),
                RestartAction::Eintr | RestartAction::RestartSyscall => {}
            }
        }
        if let Err(error) = signal_delivery::setup_frame(thread, context, sig, action, &info) {
            log::info!("pid {}: cannot deliver {}: {}", process.pid(), signal::name(sig), error);
            process.begin_exit(ExitStatus::Signaled { signal: SIGSEGV, core: false });
        }
        return;
    }
    // No handler ran: an interrupted syscall starts again.
    if let Some((number, kind)) = restart {
        match kind.without_handler() {
            RestartAction::Again => restart_syscall(context, number),
            RestartAction::RestartSyscall => restart_syscall(context, SYS_RESTART_SYSCALL),
            RestartAction::Eintr => {}
        }
    }
    let mut state = thread.state.lock();
    if let Some(saved) = state.saved_mask.take() {
        state.sigmask = saved;
    }
}

/// Fire the process's ITIMER_VIRTUAL / ITIMER_PROF if the thread's CPU
/// time reached them (called on every entry to the kernel; one atomic
/// load when none is armed).
fn check_cpu_timers(process: &Process) {
    let next = process.cpu_timer_next.load(Ordering::Relaxed);
    if next == u64::MAX {
        return;
    }
    let now = framework::task::current().cpu_time_ns();
    if now < next {
        return;
    }
    let (virt, prof) = {
        let mut timers = process.itimers.lock();
        let fired = (timers.virt.fire(now), timers.prof.fire(now));
        process.cpu_timer_next.store(timers.next_cpu_expiry(), Ordering::Relaxed);
        fired
    };
    if virt {
        process.send_signal(SIGVTALRM);
    }
    if prof {
        process.send_signal(SIGPROF);
    }
}

/// Make the thread execute a `syscall` instruction (2 bytes) again, with
/// `number` in rax.
fn restart_syscall(context: &mut UserContext, number: u64) {
    let regs = context.regs_mut();
    regs.rip -= 2;
    regs.rax = number;
}

/// Release everything the process holds and leave a zombie for the
/// parent (PID 1's status goes to whoever waits for it: the kernel).
fn exit_process(process: &Arc<Process>) {
    let status = process.exit_reason().unwrap_or(ExitStatus::Exited(0));
    super::real_timer::disarm(process);
    let files = process.fds.lock().clear();
    drop(files);
    // The task still holds the page tables (set_vm_space) until it ends.
    drop(process.set_mm(None));
    if let Some(done) = process.vfork_done.lock().take() {
        done.complete();
    }
    // Orphans go to init.
    let children: Vec<Arc<Process>> = core::mem::take(&mut *process.children.lock()).into_values().collect();
    // Groups this exit may orphan: those of children in another group of
    // the same session, and the process's own if its parent linked it.
    let mut linked_groups: Vec<u32> = children
        .iter()
        .filter(|c| process.pid() != 1 && c.pgid() != process.pgid() && c.sid() == process.sid())
        .map(|c| c.pgid())
        .collect();
    if process.parent().is_some_and(|p| p.pgid() != process.pgid() && p.sid() == process.sid()) {
        linked_groups.push(process.pgid());
    }
    if !children.is_empty() {
        match find_process(1).filter(|init| init.pid() != process.pid()) {
            Some(init) => {
                let mut adopted = init.children.lock();
                for child in children {
                    child.set_parent(Arc::downgrade(&init));
                    adopted.insert(child.pid(), child);
                }
                drop(adopted);
                init.child_exited.wake_all();
            }
            None => {
                for child in children {
                    child.set_parent(alloc::sync::Weak::new());
                }
            }
        }
    }
    process.set_zombie(status);
    hang_up_orphaned_groups(linked_groups);
    match process.parent() {
        Some(parent) => {
            let (code, value) = status.child_code();
            let uid = process.ids.lock().uid;
            parent.send_signal_info(SIGCHLD, signal_delivery::info_child(SIGCHLD, code, process.pid(), uid, value));
            // SIGCHLD set to SIG_IGN, or SA_NOCLDWAIT: no zombie, the
            // child is reaped now (a wait4 then finds no child: ECHILD).
            let action = parent.sigactions.lock().get(SIGCHLD);
            if action.is_ignored() || action.flags & signal_delivery::SA_NOCLDWAIT != 0 {
                parent.children.lock().remove(&process.pid());
                process.unregister();
            }
            parent.child_exited.wake_all();
        }
        None if process.pid() != 1 => process.unregister(),
        None => {}
    }
}

/// A process group that has just become orphaned and has a stopped
/// member gets SIGHUP then SIGCONT, so that it does not stay stopped with
/// no shell left to continue it (Linux's `kill_orphaned_pgrp`).
fn hang_up_orphaned_groups(mut groups: Vec<u32>) {
    groups.sort_unstable();
    groups.dedup();
    for pgid in groups {
        let members: Vec<Arc<Process>> =
            all_processes().into_iter().filter(|p| p.pgid() == pgid && p.exit_status().is_none()).collect();
        if members.iter().any(|p| p.is_stopped()) && is_pgrp_orphaned(pgid) {
            crate::syscall::kill_group(pgid, signal::SIGHUP);
            crate::syscall::kill_group(pgid, signal::SIGCONT);
        }
    }
}

/// Create PID 1 running `path` with `argv`/`envp`, its fds 0, 1 and 2 on
/// `/dev/console`, root and cwd at `/` of `root`. Returns the process; its
/// thread is running.
pub fn spawn_init(root: &Arc<Mount>, path: &[u8], argv: &[&[u8]], envp: &[&[u8]]) -> Result<Arc<Process>> {
    let fs = FsContext::new(Path::root_of(root));
    let rlimits = ResourceLimits::default();
    let mut fds = FdTable::new();
    let creds = Ids::default().fs_credentials();
    match fs.open(None, b"/dev/console", O_RDWR, 0, &creds) {
        Ok(console) => {
            for _ in 0..3 {
                fds.insert(console.clone(), false)?;
            }
        }
        Err(error) => log::warn!("init: no /dev/console ({}): starting without stdin/stdout/stderr", error),
    }
    let process = Process::new(ProcessInit {
        parent: alloc::sync::Weak::new(),
        pgid: 0,
        sid: 0,
        mm: None,
        fs,
        fds,
        ids: Ids::default(),
        umask: 0o022,
        rlimits: rlimits.clone(),
        sigactions: SigActions::default(),
        comm: Vec::new(),
        exe: Vec::new(),
    });
    let mut args = ExecArgs::new(path, argv.len(), envp.len(), rlimits.soft(RLIMIT_STACK))?;
    for arg in argv {
        args.push_arg(arg)?;
    }
    for env in envp {
        args.push_env(env)?;
    }
    args.finish()?;
    let program = match exec::load(&process, path, args) {
        Ok(program) => program,
        Err(error) => {
            process.unregister();
            return Err(error);
        }
    };
    let context = exec::commit(&process, program);
    spawn_user_task(Thread::new(process.clone()), context);
    Ok(process)
}
