//! Processes and threads: what a running Linux program is made of, the
//! process table, and "current".
//!
//! Owns: [`Process`] (pid, parent and children, address space, files,
//! credentials, limits, signal actions, job-control state, interval
//! timers, how it ended) and [`Thread`] (one
//! per process for now: its tid is the pid; the register state lives with
//! the task loop in [`super::task`]). A thread's kernel task carries an
//! `Arc<Thread>` as its data, which is how [`current_thread`] finds it.
//!
//! Life cycle: created by [`super::spawn_init`] or `fork`; `execve`
//! swaps its [`Mm`]; `exit_group` or a fatal signal marks it exiting, its
//! task then releases its resources and leaves it a zombie
//! ([`Process::exit_status`] set) until the parent's `wait4` reaps it.
//! A stop signal parks the (only) thread in [`Process::stop_and_wait`]
//! until SIGCONT or SIGKILL; with threads, all of them must park there.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use framework::sync::WaitQueue;

use super::itimer::ITimers;
use super::mm::Mm;
use super::rlimit::ResourceLimits;
use super::signal::{is_stop_signal, SigActions, SigSet, SIGCHLD, SIGCONT, SIGKILL, STOP_SIGNALS};
use super::signal_delivery::{info_child, SigInfo, SA_NOCLDSTOP, SI_KERNEL};
use super::signal_restart::{RestartBlock, RestartKind};
use super::wait_status::{ExitStatus, JobControl, JobEvent};
use crate::error::Result;
use crate::fs::{Credentials, FdTable, FsContext};
use crate::sync::{Mutex, RwLock};

pub type Pid = u32;

/// Real, effective and saved user and group ids.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ids {
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
}

impl Ids {
    /// The identity file-system checks use (fsuid = euid, fsgid = egid).
    pub fn fs_credentials(&self) -> Credentials {
        Credentials::new(self.euid, self.egid)
    }
}

pub struct Process {
    pid: Pid,
    parent: Mutex<Weak<Process>>,
    pub(crate) children: Mutex<BTreeMap<Pid, Arc<Process>>>,
    pgid: AtomicU32,
    sid: AtomicU32,
    mm: Mutex<Option<Arc<Mm>>>,
    pub fs: RwLock<FsContext>,
    pub fds: Mutex<FdTable>,
    pub ids: Mutex<Ids>,
    pub umask: AtomicU32,
    pub rlimits: Mutex<ResourceLimits>,
    pub sigactions: Mutex<SigActions>,
    /// Signals sent to the process and not yet acted on.
    pending: AtomicU64,
    /// The `siginfo` of each pending signal (the last one sent).
    pending_info: Mutex<BTreeMap<u32, SigInfo>>,
    /// Set once by `exit_group` or a fatal signal: the status to report.
    exiting: Mutex<Option<ExitStatus>>,
    exiting_flag: AtomicBool,
    /// Set when the process has released everything: a zombie.
    exit_status: Mutex<Option<ExitStatus>>,
    /// Job control: stopped or not, and what the parent has yet to hear.
    /// Lock order: `job` before `pending_info`.
    pub(crate) job: Mutex<JobControl>,
    /// Woken when a stopped process is continued or killed.
    pub(crate) continued: WaitQueue,
    /// `setitimer`/`alarm` timers. Lock order: `itimers` before the
    /// real-timer service's table.
    pub(crate) itimers: Mutex<ITimers>,
    /// The CPU time (ns) at which the next ITIMER_VIRTUAL/PROF expires
    /// (u64::MAX: none), checked cheaply on every entry to the kernel.
    pub(crate) cpu_timer_next: AtomicU64,
    /// Woken when a child becomes a zombie (`wait4` sleeps here).
    pub(crate) child_exited: WaitQueue,
    /// Woken when this process becomes a zombie.
    pub(crate) terminated: WaitQueue,
    /// For a `vfork` child: set when it has exec'd or exited, which lets
    /// the parent go on.
    pub(crate) vfork_done: Mutex<Option<Arc<VforkDone>>>,
    /// `comm`: the first 15 bytes of the program's file name.
    comm: Mutex<Vec<u8>>,
    /// The path of the program (`/proc/<pid>/exe`).
    exe: Mutex<Vec<u8>>,
    /// The process's thread, for waking it when a signal arrives.
    thread: Mutex<Weak<Thread>>,
    /// argv and envp strings of the last exec, NUL-terminated
    /// (`/proc/<pid>/cmdline`, `environ`).
    cmdline: Mutex<Vec<u8>>,
    environ: Mutex<Vec<u8>>,
    /// When the process was created, ns since boot.
    start_ns: u64,
    /// personality(2)'s execution domain and flags (copied by fork).
    personality: AtomicU32,
}

/// The completion a `vfork` parent waits for.
pub struct VforkDone {
    done: AtomicBool,
    queue: WaitQueue,
}

impl VforkDone {
    pub fn new() -> Arc<Self> {
        Arc::new(VforkDone { done: AtomicBool::new(false), queue: WaitQueue::new() })
    }

    pub fn complete(&self) {
        self.done.store(true, Ordering::Release);
        self.queue.wake_all();
    }

    pub fn wait(&self) {
        crate::sync::wait_until(&self.queue, || self.done.load(Ordering::Acquire).then_some(()));
    }
}

/// What a new process starts with (from `fork`, or the defaults of init).
pub struct ProcessInit {
    pub parent: Weak<Process>,
    pub pgid: Pid,
    pub sid: Pid,
    pub mm: Option<Arc<Mm>>,
    pub fs: FsContext,
    pub fds: FdTable,
    pub ids: Ids,
    pub umask: u32,
    pub rlimits: ResourceLimits,
    pub sigactions: SigActions,
    pub comm: Vec<u8>,
    pub exe: Vec<u8>,
}

static PROCESSES: RwLock<BTreeMap<Pid, Weak<Process>>> = RwLock::new(BTreeMap::new());
static NEXT_PID: AtomicU32 = AtomicU32::new(1);
/// Linux's default `pid_max`.
const PID_MAX: u32 = 4_194_304;

fn allocate_pid() -> Pid {
    let table = PROCESSES.read();
    loop {
        let pid = NEXT_PID.fetch_add(1, Ordering::Relaxed);
        if pid >= PID_MAX {
            // Wrap past the low pids daemons usually hold, as Linux does.
            let _ = NEXT_PID.compare_exchange(pid + 1, 300, Ordering::Relaxed, Ordering::Relaxed);
            continue;
        }
        if !table.contains_key(&pid) {
            return pid;
        }
    }
}

impl Process {
    /// A new process in the table. `pgid`/`sid` of 0 mean "its own pid".
    pub fn new(init: ProcessInit) -> Arc<Process> {
        let pid = allocate_pid();
        let pgid = if init.pgid == 0 { pid } else { init.pgid };
        let sid = if init.sid == 0 { pid } else { init.sid };
        let process = Arc::new(Process {
            pid,
            parent: Mutex::new(init.parent),
            children: Mutex::new(BTreeMap::new()),
            pgid: AtomicU32::new(pgid),
            sid: AtomicU32::new(sid),
            mm: Mutex::new(init.mm),
            fs: RwLock::new(init.fs),
            fds: Mutex::new(init.fds),
            ids: Mutex::new(init.ids),
            umask: AtomicU32::new(init.umask),
            rlimits: Mutex::new(init.rlimits),
            sigactions: Mutex::new(init.sigactions),
            pending: AtomicU64::new(0),
            pending_info: Mutex::new(BTreeMap::new()),
            exiting: Mutex::new(None),
            exiting_flag: AtomicBool::new(false),
            exit_status: Mutex::new(None),
            job: Mutex::new(JobControl::default()),
            continued: WaitQueue::new(),
            itimers: Mutex::new(ITimers::default()),
            cpu_timer_next: AtomicU64::new(u64::MAX),
            child_exited: WaitQueue::new(),
            terminated: WaitQueue::new(),
            vfork_done: Mutex::new(None),
            comm: Mutex::new(init.comm),
            exe: Mutex::new(init.exe),
            thread: Mutex::new(Weak::new()),
            cmdline: Mutex::new(Vec::new()),
            environ: Mutex::new(Vec::new()),
            start_ns: framework::arch::tsc::monotonic_ns(),
            personality: AtomicU32::new(0),
        });
        PROCESSES.write().insert(pid, Arc::downgrade(&process));
        process
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    pub fn parent(&self) -> Option<Arc<Process>> {
        self.parent.lock().upgrade()
    }

    /// `getppid`: 0 for a process without a parent (init).
    pub fn ppid(&self) -> Pid {
        self.parent().map_or(0, |p| p.pid)
    }

    pub fn set_parent(&self, parent: Weak<Process>) {
        *self.parent.lock() = parent;
    }

    pub fn pgid(&self) -> Pid {
        self.pgid.load(Ordering::Acquire)
    }

    pub fn set_pgid(&self, pgid: Pid) {
        self.pgid.store(pgid, Ordering::Release);
    }

    pub fn sid(&self) -> Pid {
        self.sid.load(Ordering::Acquire)
    }

    pub fn set_sid(&self, sid: Pid) {
        self.sid.store(sid, Ordering::Release);
    }

    /// The address space (None once the process has exited).
    pub fn mm(&self) -> Option<Arc<Mm>> {
        self.mm.lock().clone()
    }

    /// Replace the address space (exec); returns the old one.
    pub fn set_mm(&self, mm: Option<Arc<Mm>>) -> Option<Arc<Mm>> {
        core::mem::replace(&mut *self.mm.lock(), mm)
    }

    pub fn credentials(&self) -> Credentials {
        self.ids.lock().fs_credentials()
    }

    pub fn comm(&self) -> Vec<u8> {
        self.comm.lock().clone()
    }

    /// `comm` from a program path: its last component, cut to 15 bytes.
    pub fn set_comm_from_path(&self, path: &[u8]) {
        let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
        *self.comm.lock() = name[..name.len().min(15)].to_vec();
    }

    pub fn exe(&self) -> Vec<u8> {
        self.exe.lock().clone()
    }

    pub fn set_exe(&self, path: Vec<u8>) {
        *self.exe.lock() = path;
    }

    /// argv strings of the last exec, each NUL-terminated.
    pub fn cmdline(&self) -> Vec<u8> {
        self.cmdline.lock().clone()
    }

    /// envp strings of the last exec, each NUL-terminated.
    pub fn environ(&self) -> Vec<u8> {
        self.environ.lock().clone()
    }

    /// Set at exec (and copied by fork).
    pub fn set_cmdline(&self, cmdline: Vec<u8>, environ: Vec<u8>) {
        *self.cmdline.lock() = cmdline;
        *self.environ.lock() = environ;
    }

    /// personality(2)'s value (`PER_LINUX`, 0, unless changed).
    pub fn personality(&self) -> u32 {
        self.personality.load(Ordering::Relaxed)
    }

    /// Set by personality(2) and exec; copied by fork. Returns the old one.
    pub fn set_personality(&self, value: u32) -> u32 {
        self.personality.swap(value, Ordering::Relaxed)
    }

    /// Creation time, ns since boot.
    pub fn start_ns(&self) -> u64 {
        self.start_ns
    }

    /// The comm as text, for logs.
    pub fn comm_str(&self) -> alloc::string::String {
        alloc::string::String::from_utf8_lossy(&self.comm()).into_owned()
    }

    // ---- signals and exit ------------------------------------------

    pub fn pending_signals(&self) -> SigSet {
        SigSet(self.pending.load(Ordering::Acquire))
    }

    /// Send `sig` from the kernel (`SI_KERNEL`).
    pub fn send_signal(&self, sig: u32) {
        self.send_signal_info(sig, info_kernel(sig));
    }

    /// Mark `sig` pending with `info` (it is acted on when the thread next
    /// returns to user space) and interrupt an interruptible wait of the
    /// thread. A signal the process ignores is dropped at once, as Linux
    /// does, so that it interrupts nothing. Job control acts at sending
    /// time (Linux's `prepare_signal`): a stop signal cancels a pending
    /// SIGCONT; SIGCONT cancels pending stop signals and continues a
    /// stopped process, even when SIGCONT itself is ignored or blocked.
    pub fn send_signal_info(&self, sig: u32, info: SigInfo) {
        if self.exit_status().is_some() {
            return;
        }
        if is_stop_signal(sig) {
            self.discard_pending(SigSet(SigSet::bit(SIGCONT)));
        } else if sig == SIGCONT {
            let continued = {
                let mut job = self.job.lock();
                self.discard_pending(STOP_SIGNALS);
                job.cont()
            };
            if continued {
                self.continued.wake_all();
                self.notify_parent_job(JobEvent::Continued);
            }
        }
        // Blocked signals are never dropped: the action may change before
        // they are unblocked, and `rt_sigtimedwait` takes them (Linux's
        // `sig_ignored`).
        if sig != SIGKILL && self.sigactions.lock().is_ignored(sig) && !self.blocks(sig) {
            return;
        }
        if self.init_ignores(sig) {
            return;
        }
        self.pending_info.lock().insert(sig, info);
        let mut set = SigSet::EMPTY;
        set.add(sig);
        self.pending.fetch_or(set.0, Ordering::AcqRel);
        self.child_exited.wake_all();
        let thread = self.thread.lock().upgrade();
        if let Some(thread) = thread {
            let queue = thread.waiting.lock().clone();
            if let Some(queue) = queue {
                queue.wake_all();
            }
        }
        if sig == SIGKILL {
            self.continued.wake_all();
        }
    }

    /// Does the process's thread block `sig`?
    fn blocks(&self, sig: u32) -> bool {
        let thread = self.thread.lock().upgrade();
        thread.is_some_and(|t| t.state.lock().sigmask.contains(sig))
    }

    /// Drop the pending signals of `set`.
    fn discard_pending(&self, set: SigSet) {
        let was = self.pending.fetch_and(!set.0, Ordering::AcqRel);
        if was & set.0 != 0 {
            let mut info = self.pending_info.lock();
            for sig in 1..=super::signal::NSIG {
                if set.contains(sig) {
                    info.remove(&sig);
                }
            }
        }
    }

    /// Tell the parent about a stop or continue: SIGCHLD with
    /// CLD_STOPPED/CLD_CONTINUED unless its SIGCHLD action has
    /// SA_NOCLDSTOP, and a wake-up of its waits either way (Linux's
    /// `do_notify_parent_cldstop`).
    pub(crate) fn notify_parent_job(&self, event: JobEvent) {
        let Some(parent) = self.parent() else { return };
        let nocldstop = parent.sigactions.lock().get(SIGCHLD).flags & SA_NOCLDSTOP != 0;
        if !nocldstop {
            let (code, status) = event.child_code();
            let uid = self.ids.lock().uid;
            parent.send_signal_info(SIGCHLD, info_child(SIGCHLD, code, self.pid, uid, status));
        }
        parent.child_exited.wake_all();
    }

    /// Take the stop signal `sig` off the pending set and arm the stop
    /// (atomically with respect to SIGCONT, which disarms it).
    pub(crate) fn dequeue_stop_signal(&self, sig: u32) -> SigInfo {
        let mut job = self.job.lock();
        job.stop_dequeued();
        self.take_signal(sig)
    }

    /// Stop by `sig` (unless a SIGCONT came since it was dequeued), tell
    /// the parent, and block until continued or killed.
    pub(crate) fn stop_and_wait(&self, sig: u32) {
        if !self.job.lock().stop(sig) {
            return;
        }
        log::trace!("pid {}: stopped by signal {}", self.pid, sig);
        self.notify_parent_job(JobEvent::Stopped(sig));
        crate::sync::wait_until(&self.continued, || {
            let go = !self.job.lock().is_stopped() || self.pending_signals().contains(SIGKILL) || self.is_exiting();
            go.then_some(())
        });
        log::trace!("pid {}: continued", self.pid);
    }

    /// Is the process stopped by a signal?
    pub fn is_stopped(&self) -> bool {
        self.job.lock().is_stopped()
    }

    /// Linux's `SIGNAL_UNKILLABLE` for init: PID 1 gets no signal it has
    /// no handler for, SIGKILL and SIGSTOP included (`kill -9 1` does
    /// nothing, and busybox `poweroff` without `-f`, which signals init,
    /// does not end the VM). Faults still end it: they do not come here.
    pub fn init_ignores(&self, sig: u32) -> bool {
        self.pid == 1 && self.sigactions.lock().get(sig).is_default()
    }

    /// Take `sig` off the pending set; its `siginfo`.
    pub fn take_signal(&self, sig: u32) -> SigInfo {
        let mut set = SigSet::EMPTY;
        set.add(sig);
        self.pending.fetch_and(!set.0, Ordering::AcqRel);
        self.pending_info.lock().remove(&sig).unwrap_or_else(|| info_kernel(sig))
    }

    /// Start exiting with `status` (the first call wins). The thread stops
    /// at its next return towards user space.
    pub fn begin_exit(&self, status: ExitStatus) {
        let mut exiting = self.exiting.lock();
        if exiting.is_none() {
            *exiting = Some(status);
            self.exiting_flag.store(true, Ordering::Release);
        }
    }

    pub fn is_exiting(&self) -> bool {
        self.exiting_flag.load(Ordering::Acquire)
    }

    pub(crate) fn exit_reason(&self) -> Option<ExitStatus> {
        *self.exiting.lock()
    }

    /// The status of a zombie (None while running).
    pub fn exit_status(&self) -> Option<ExitStatus> {
        *self.exit_status.lock()
    }

    pub(crate) fn set_zombie(&self, status: ExitStatus) {
        *self.exit_status.lock() = Some(status);
        self.terminated.wake_all();
    }

    /// Block until this process is a zombie; its status.
    pub fn wait_for_exit(&self) -> ExitStatus {
        crate::sync::wait_until(&self.terminated, || self.exit_status())
    }

    /// Remove a reaped process from the table.
    pub(crate) fn unregister(&self) {
        PROCESSES.write().remove(&self.pid);
    }
}

/// The process with `pid`, if it exists (zombies included).
pub fn find_process(pid: Pid) -> Option<Arc<Process>> {
    PROCESSES.read().get(&pid).and_then(Weak::upgrade)
}

/// The pid handed out last (`/proc/loadavg`), and how many were.
pub fn last_pid() -> Pid {
    NEXT_PID.load(Ordering::Relaxed).saturating_sub(1)
}

/// Every live process (zombies included).
pub fn all_processes() -> Vec<Arc<Process>> {
    PROCESSES.read().values().filter_map(Weak::upgrade).collect()
}

/// Linux's `will_become_orphaned_pgrp`: no live member of group `pgid`
/// has a parent (other than init) in another group of the same session,
/// so no shell is left to continue it after a stop: SIGTSTP, SIGTTIN and
/// SIGTTOU then do nothing, and a tty read from it gets EIO.
pub fn is_pgrp_orphaned(pgid: Pid) -> bool {
    !all_processes().iter().filter(|p| p.pgid() == pgid && p.exit_status().is_none()).any(|p| {
        p.parent().is_some_and(|parent| parent.pid() != 1 && parent.pgid() != pgid && parent.sid() == p.sid())
    })
}

/// Per-thread state.
pub struct Thread {
    process: Arc<Process>,
    pub state: Mutex<ThreadState>,
    /// The queue of the interruptible wait the thread is in, if any.
    waiting: Mutex<Option<Arc<WaitQueue>>>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadState {
    pub sigmask: SigSet,
    /// `set_tid_address` / `CLONE_CHILD_CLEARTID`.
    pub clear_child_tid: u64,
    /// `CLONE_CHILD_SETTID`: written by the child before it first runs.
    pub set_child_tid: u64,
    pub robust_list: u64,
    pub robust_list_len: u64,
    /// `sigaltstack`: sp, flags, size.
    pub altstack: [u64; 3],
    /// The mask to restore after the handler of a `rt_sigsuspend`.
    pub saved_mask: Option<SigSet>,
    /// The number of the syscall a signal just interrupted and its
    /// restart code (see `signal_restart`): acted on at the next return
    /// to user space.
    pub restart: Option<(u64, RestartKind)>,
    /// What `restart_syscall` continues.
    pub restart_block: Option<RestartBlock>,
}

impl Thread {
    pub fn new(process: Arc<Process>) -> Arc<Thread> {
        let thread = Arc::new(Thread { process, state: Mutex::new(ThreadState::default()), waiting: Mutex::new(None) });
        *thread.process.thread.lock() = Arc::downgrade(&thread);
        thread
    }

    /// Block on `queue` until `condition` gives a result, or until a signal
    /// is pending: [`Process::send_signal`] wakes the queue. The error is
    /// then `ERESTART` (Linux's ERESTARTSYS: the syscall layer turns it
    /// into a restart under `SA_RESTART`, else `EINTR`).
    pub fn wait_interruptible<R>(&self, queue: &Arc<WaitQueue>, mut condition: impl FnMut() -> Option<Result<R>>) -> Result<R> {
        *self.waiting.lock() = Some(queue.clone());
        let result = crate::sync::wait_until(queue, || {
            if let Some(result) = condition() {
                return Some(result);
            }
            self.has_pending_work().then(|| Err(crate::errno!(ERESTART, "interrupted by a signal")))
        });
        *self.waiting.lock() = None;
        result
    }

    pub fn process(&self) -> &Arc<Process> {
        &self.process
    }

    /// One thread per process: the tid is the pid.
    pub fn tid(&self) -> Pid {
        self.process.pid()
    }

    /// Should the thread leave user mode: exiting, or an unblocked signal.
    pub fn has_pending_work(&self) -> bool {
        self.process.is_exiting() || self.process.pending_signals().0 & !self.state.lock().sigmask.0 != 0
    }
}

/// The thread the calling kernel task runs (None for kernel tasks).
pub fn current_thread() -> Option<Arc<Thread>> {
    framework::task::current().data().downcast_ref::<Arc<Thread>>().cloned()
}

/// The process of [`current_thread`].
pub fn current_process() -> Option<Arc<Process>> {
    current_thread().map(|t| t.process().clone())
}

fn info_kernel(sig: u32) -> SigInfo {
    let mut info = [0u8; super::signal_delivery::SIGINFO_SIZE];
    info[0..4].copy_from_slice(&(sig as i32).to_le_bytes());
    info[8..12].copy_from_slice(&SI_KERNEL.to_le_bytes());
    info
}
