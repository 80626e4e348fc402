//! Kernel tasks and the preemptive scheduler.
//!
//! A [`Task`] is a kernel thread of control with its own stack; services
//! build processes and threads on top of it (and attach their own state via
//! [`Task::data`]). Scheduling is round-robin over per-CPU run queues:
//! - a task runs until it blocks ([`WaitQueue`](crate::sync::WaitQueue),
//!   [`sleep`]), yields ([`yield_now`]) or its time slice ends (the timer
//!   tick sets `need_resched`; the interrupt exit path calls
//!   [`preempt_point`]);
//! - woken tasks go back to the run queue of the CPU they last ran on; an
//!   idle CPU steals from the busiest queue.
//!
//! Invariants: a context switch happens only with interrupts off and
//! preemption count 0 (besides the scheduler's own); a task is on at most
//! one run queue; a task's stack is not resumed on another CPU before the
//! CPU it left has finished switching away (`on_cpu`).

mod context;
mod scheduler;
mod sleep;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use core::any::Any;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};

pub use scheduler::{preempt_point, yield_now};
pub use sleep::{sleep, sleep_until_ns, timer_tick};

use context::TaskContext;

/// Kernel stack size of every task.
pub const KERNEL_STACK_SIZE: usize = 64 * 1024;

/// A task's scheduling state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum TaskState {
    /// On a run queue, waiting for a CPU.
    Runnable = 0,
    /// On a CPU.
    Running = 1,
    /// Blocked; a wake-up makes it Runnable.
    Sleeping = 2,
    /// Finished; never runs again.
    Exited = 3,
}

impl TaskState {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => TaskState::Runnable,
            1 => TaskState::Running,
            2 => TaskState::Sleeping,
            _ => TaskState::Exited,
        }
    }
}

/// Unique task id (never reused).
pub type TaskId = u64;

pub struct Task {
    id: TaskId,
    name: String,
    state: AtomicU8,
    /// True from when a CPU switches to this task until that CPU has
    /// completely switched away from it.
    on_cpu: AtomicBool,
    /// True while the task is running or on a run queue: a wake-up then
    /// only flips the state, it must not enqueue the task a second time.
    on_rq: AtomicBool,
    /// Serialises state/on_rq transitions between the task going to sleep
    /// and its wakers.
    sched_lock: crate::sync::SpinLock<()>,
    /// The CPU whose run queue takes this task when it is woken.
    last_cpu: AtomicUsize,
    /// Only this CPU may run the task (never stolen), if set.
    pinned_cpu: Option<usize>,
    context: UnsafeCell<TaskContext>,
    /// The stack memory (None for the boot task, which runs on the boot stack).
    stack: Option<Box<[usize]>>,
    entry: crate::sync::SpinLock<Option<Box<dyn FnOnce() + Send>>>,
    /// Nanoseconds of CPU time used (updated at each switch away).
    cpu_time_ns: AtomicU64,
    /// Monotonic time at which this task last started running.
    run_start_ns: AtomicU64,
    /// Services' per-task data (process/thread state).
    data: Box<dyn Any + Send + Sync>,
    /// Tasks waiting in `join` for this one to exit.
    exit_waiters: crate::sync::WaitQueue,
    /// The user address space this task runs in (loaded on every switch to
    /// it, on whichever CPU), or None for kernel-only tasks.
    vm_space: crate::sync::SpinLock<Option<Arc<crate::mm::VmSpace>>>,
}

// SAFETY: `context` is only touched by the scheduler while switching, with
// interrupts off, by the one CPU that owns the switch (`on_cpu` protocol);
// everything else is atomics, locks or immutable.
unsafe impl Sync for Task {}
// SAFETY: as above.
unsafe impl Send for Task {}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Task {
    pub fn id(&self) -> TaskId {
        self.id
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn state(&self) -> TaskState {
        TaskState::from_u8(self.state.load(Ordering::Acquire))
    }
    fn set_state(&self, state: TaskState) {
        self.state.store(state as u8, Ordering::Release);
    }
    /// The data services attached at spawn time.
    pub fn data(&self) -> &(dyn Any + Send + Sync) {
        &*self.data
    }
    /// CPU time used so far, in nanoseconds.
    pub fn cpu_time_ns(&self) -> u64 {
        let mut total = self.cpu_time_ns.load(Ordering::Relaxed);
        if self.state() == TaskState::Running {
            total += crate::arch::tsc::monotonic_ns().saturating_sub(self.run_start_ns.load(Ordering::Relaxed));
        }
        total
    }
    /// The CPU this task ran on last.
    pub fn last_cpu(&self) -> usize {
        self.last_cpu.load(Ordering::Relaxed)
    }

    /// Block until this task has exited.
    pub fn join(&self) {
        self.exit_waiters.wait_until(|| (self.state() == TaskState::Exited).then_some(()));
    }

    /// Attach the user address space this task runs in (or detach it with
    /// `None`). The scheduler activates the space whenever it switches to
    /// the task, so user code and user copies of this task always see it;
    /// for the running task it takes effect at once (`None` then loads
    /// the kernel-only tables).
    #[cfg(target_os = "none")]
    pub fn set_vm_space(self: &Arc<Self>, space: Option<Arc<crate::mm::VmSpace>>) {
        // No switch between updating the field and activating.
        let _irq = crate::arch::irq::disable_local();
        *self.vm_space.lock() = space.clone();
        if Arc::ptr_eq(self, &current()) {
            match space {
                Some(space) => space.activate(),
                None => crate::mm::activate_kernel_space(),
            }
        }
    }

    /// The user address space attached with [`Task::set_vm_space`].
    #[cfg(target_os = "none")]
    pub fn vm_space(&self) -> Option<Arc<crate::mm::VmSpace>> {
        self.vm_space.lock().clone()
    }

    /// Make a sleeping task runnable. Returns false if it was not asleep.
    pub fn wake(self: &Arc<Self>) -> bool {
        let enqueue = {
            let _guard = self.sched_lock.lock();
            if self.state() != TaskState::Sleeping {
                return false;
            }
            self.set_state(TaskState::Runnable);
            // Still on its CPU (between deciding to sleep and switching
            // away): it sees Runnable there and keeps running instead.
            !self.on_rq.swap(true, Ordering::AcqRel)
        };
        if enqueue {
            scheduler::enqueue(self.clone());
        }
        true
    }
}

/// Options for a new task.
pub struct TaskOptions {
    name: String,
    data: Box<dyn Any + Send + Sync>,
    cpu: Option<usize>,
    pinned: bool,
}

impl TaskOptions {
    pub fn new(name: &str) -> Self {
        Self { name: String::from(name), data: Box::new(()), cpu: None, pinned: false }
    }
    /// Attach services' data to the task.
    pub fn data(mut self, data: impl Any + Send + Sync) -> Self {
        self.data = Box::new(data);
        self
    }
    /// Start on this CPU (it may migrate later through stealing).
    pub fn cpu(mut self, cpu: usize) -> Self {
        self.cpu = Some(cpu);
        self
    }
    /// Run only on this CPU (a CPU index below `smp::cpu_count()`).
    pub fn pin(mut self, cpu: usize) -> Self {
        self.cpu = Some(cpu);
        self.pinned = true;
        self
    }

    /// Create the task and make it runnable.
    pub fn spawn(self, body: impl FnOnce() + Send + 'static) -> Arc<Task> {
        let task = self.build(body);
        scheduler::enqueue(task.clone());
        task
    }

    /// Create the task without queueing it (idle tasks).
    fn build(self, body: impl FnOnce() + Send + 'static) -> Arc<Task> {
        let mut stack = vec![0usize; KERNEL_STACK_SIZE / 8].into_boxed_slice();
        let task = Arc::new_cyclic(|_| Task {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name: self.name,
            state: AtomicU8::new(TaskState::Runnable as u8),
            on_cpu: AtomicBool::new(false),
            on_rq: AtomicBool::new(true),
            sched_lock: crate::sync::SpinLock::new(()),
            last_cpu: AtomicUsize::new(self.cpu.unwrap_or_else(scheduler::pick_cpu_for_new_task)),
            pinned_cpu: if self.pinned { self.cpu } else { None },
            context: UnsafeCell::new(TaskContext::default()),
            stack: None,
            entry: crate::sync::SpinLock::new(Some(Box::new(body))),
            cpu_time_ns: AtomicU64::new(0),
            run_start_ns: AtomicU64::new(0),
            data: self.data,
            exit_waiters: crate::sync::WaitQueue::new(),
            vm_space: crate::sync::SpinLock::new(None),
        });
        // The entry argument is the Task's address; the run queue keeps the
        // task alive until it has run and exited.
        let context = context::new_context(&mut stack, Arc::as_ptr(&task) as usize);
        // SAFETY: the task is not shared with any CPU yet (not enqueued), so
        // we are the only one touching its context and stack slot.
        unsafe {
            *task.context.get() = context;
            let task_mut = Arc::as_ptr(&task) as *mut Task;
            (*task_mut).stack = Some(stack);
        }
        task
    }
}

/// Start a kernel task running `body`.
pub fn spawn(name: &str, body: impl FnOnce() + Send + 'static) -> Arc<Task> {
    TaskOptions::new(name).spawn(body)
}

/// The task running on this CPU.
pub fn current() -> Arc<Task> {
    scheduler::current()
}

/// Mark the current task as going to sleep: the next `block_current`
/// switches away unless a wake-up comes first.
pub fn prepare_to_sleep(task: &Arc<Task>) {
    let _guard = task.sched_lock.lock();
    task.set_state(TaskState::Sleeping);
}

/// Undo `prepare_to_sleep` (the condition became true meanwhile).
pub fn cancel_sleep(task: &Arc<Task>) {
    let _guard = task.sched_lock.lock();
    task.set_state(TaskState::Running);
}

/// Switch away from the current task, which `prepare_to_sleep` marked;
/// returns once it has been woken (at once if it already was).
pub fn block_current() {
    scheduler::schedule();
}

/// End the current task.
pub fn exit_current() -> ! {
    scheduler::exit_current()
}

/// First Rust code of every new task (called from the context-switch asm).
extern "C" fn task_entry_trampoline(task: *const Task) -> ! {
    scheduler::finish_switch();
    // SAFETY: `task` is the address of the Arc'd Task we were created
    // with; the scheduler holds a reference (it is `current`) while it runs.
    let task = unsafe { &*task };
    let body = task.entry.lock().take();
    crate::arch::irq::enable_local();
    if let Some(body) = body {
        body();
    }
    exit_current()
}

/// Start scheduling on this CPU: per-CPU data, the code running now
/// becomes the task `name`, and an idle task is created. The boot CPU also
/// installs the timer-tick and reschedule-IPI handlers.
pub fn init_this_cpu(index: usize, name: &str) {
    crate::cpu_local::init_this_cpu(index, crate::arch::apic::id());
    if index == 0 {
        crate::cpu_local::mark_gs_ready();
        if let Err(error) = crate::arch::irq::register(scheduler::RESCHEDULE_VECTOR, scheduler::reschedule_interrupt) {
            log::warn!("task: no reschedule IPI vector: {:?}", error);
        }
        crate::arch::timer::set_tick_callback(Some(timer_tick));
    }
    adopt_current_context(name, index);
    // Any task on this CPU may run user code.
    #[cfg(target_os = "none")]
    crate::user::init_this_cpu();
    let idle = TaskOptions::new("idle").cpu(index).build(|| scheduler::idle_loop());
    scheduler::set_idle(idle);
    crate::cpu_local::set_online(index);
}

/// Join the scheduler on an AP: the code running now becomes this CPU's
/// idle task. Never returns.
pub fn init_ap(index: usize, apic_id: u32) -> ! {
    crate::cpu_local::init_this_cpu(index, apic_id);
    let idle = adopt_current_context("idle", index);
    crate::user::init_this_cpu();
    scheduler::set_idle(idle);
    crate::cpu_local::set_online(index);
    crate::arch::irq::enable_local();
    scheduler::idle_loop()
}

/// Make the code running now (the boot path on the boot CPU, or an AP's
/// bring-up path) a task of its own, so it can block and be switched away.
fn adopt_current_context(name: &str, cpu: usize) -> Arc<Task> {
    let task = Arc::new(Task {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        name: String::from(name),
        state: AtomicU8::new(TaskState::Running as u8),
        on_cpu: AtomicBool::new(true),
        on_rq: AtomicBool::new(true),
        sched_lock: crate::sync::SpinLock::new(()),
        last_cpu: AtomicUsize::new(cpu),
        pinned_cpu: Some(cpu),
        context: UnsafeCell::new(TaskContext::default()),
        stack: None,
        entry: crate::sync::SpinLock::new(None),
        cpu_time_ns: AtomicU64::new(0),
        run_start_ns: AtomicU64::new(crate::arch::tsc::monotonic_ns()),
        data: Box::new(()),
        exit_waiters: crate::sync::WaitQueue::new(),
        vm_space: crate::sync::SpinLock::new(None),
    });
    scheduler::set_current(task.clone());
    task
}

#[cfg(target_os = "none")]
mod tests;
