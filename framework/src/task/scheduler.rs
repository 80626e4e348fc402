//! Per-CPU round-robin run queues and the switch protocol.

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use super::{context, Task, TaskState};
use crate::cpu_local::{this_cpu, MAX_CPUS};
use crate::sync::SpinLock;

/// What each CPU schedules.
struct CpuScheduler {
    /// Runnable tasks waiting for this CPU.
    queue: VecDeque<Arc<Task>>,
    /// The task on this CPU now.
    current: Option<Arc<Task>>,
    /// This CPU's idle task: runs when the queue is empty, never queued.
    idle: Option<Arc<Task>>,
    /// The task switched away from, for `finish_switch` to settle.
    previous: Option<Arc<Task>>,
}

impl CpuScheduler {
    const fn new() -> Self {
        Self { queue: VecDeque::new(), current: None, idle: None, previous: None }
    }
}

static SCHEDULERS: [SpinLock<CpuScheduler>; MAX_CPUS] = [const { SpinLock::new(CpuScheduler::new()) }; MAX_CPUS];

/// IPI vector that makes another CPU look at its run queue.
pub const RESCHEDULE_VECTOR: u8 = 0xf0;

fn send_reschedule_ipi(cpu: usize) {
    if let Some(target) = crate::cpu_local::cpu(cpu) {
        if target.online.load(Ordering::Acquire) && crate::arch::apic::is_enabled() {
            crate::arch::apic::send_ipi(target.apic_id.load(Ordering::Relaxed) as u32, RESCHEDULE_VECTOR);
        }
    }
}

pub(super) fn reschedule_interrupt(_frame: &crate::arch::trap::TrapFrame) {
    this_cpu().need_resched.store(true, Ordering::Release);
}

/// Time slice before the tick asks for a switch.
pub const TIME_SLICE_NS: u64 = 10_000_000;

/// Timer-tick hook: ask for a switch when the current task used up its
/// slice and someone else is waiting.
pub(super) fn tick(now_ns: u64) {
    let index = this_index();
    let sched = SCHEDULERS[index].lock();
    let Some(current) = &sched.current else { return };
    let waiting = !sched.queue.is_empty();
    let is_idle = sched.idle.as_ref().is_some_and(|idle| Arc::ptr_eq(idle, current));
    if waiting && (is_idle || now_ns.saturating_sub(current.run_start_ns.load(Ordering::Relaxed)) >= TIME_SLICE_NS) {
        this_cpu().need_resched.store(true, Ordering::Release);
    }
}

fn this_index() -> usize {
    this_cpu().index
}

pub(super) fn current() -> Arc<Task> {
    SCHEDULERS[this_index()]
        .lock()
        .current
        .clone()
        .expect("task::current() before the scheduler adopted this CPU's boot context")
}

pub(super) fn set_current(task: Arc<Task>) {
    SCHEDULERS[this_index()].lock().current = Some(task);
}

/// Install `idle` as this CPU's idle task.
pub(crate) fn set_idle(idle: Arc<Task>) {
    SCHEDULERS[this_index()].lock().idle = Some(idle);
}

/// The least-loaded online CPU.
pub(super) fn pick_cpu_for_new_task() -> usize {
    let online = crate::cpu_local::online_count().max(1);
    (0..online).min_by_key(|&cpu| SCHEDULERS[cpu].lock().queue.len()).unwrap_or(0)
}

/// Put a runnable task on its CPU's queue; poke that CPU if idle.
pub(super) fn enqueue(task: Arc<Task>) {
    let cpu = task.last_cpu().min(MAX_CPUS - 1);
    let target_idle = {
        let mut sched = SCHEDULERS[cpu].lock();
        sched.queue.push_back(task);
        match (&sched.current, &sched.idle) {
            (Some(current), Some(idle)) => Arc::ptr_eq(current, idle),
            _ => false,
        }
    };
    if target_idle {
        if let Some(percpu) = crate::cpu_local::cpu(cpu) {
            percpu.need_resched.store(true, Ordering::Release);
        }
        if cpu != this_index() {
            send_reschedule_ipi(cpu);
        }
    }
}

/// Steal one runnable task from the busiest other CPU.
fn steal(for_cpu: usize) -> Option<Arc<Task>> {
    let online = crate::cpu_local::online_count().max(1);
    let victim = (0..online)
        .filter(|&cpu| cpu != for_cpu)
        .max_by_key(|&cpu| SCHEDULERS[cpu].lock().queue.len())?;
    let task = {
        let mut victim_queue = SCHEDULERS[victim].lock();
        let at = victim_queue.queue.iter().position(|t| t.pinned_cpu.is_none())?;
        victim_queue.queue.remove(at)?
    };
    task.last_cpu.store(for_cpu, Ordering::Relaxed);
    Some(task)
}

/// Give up the CPU if another task is waiting (round-robin).
pub fn yield_now() {
    schedule_with(false);
}

/// Called on the way out of an interrupt: switch if the tick (or a wake-up)
/// asked for it and preemption is allowed.
pub fn preempt_point() {
    let cpu = this_cpu();
    if cpu.preempt_count.load(Ordering::Acquire) == 0 && cpu.need_resched.load(Ordering::Acquire) {
        schedule_with(true);
    }
}

/// Pick the next task and switch to it. The current task's state decides
/// what happens to it: Running (yield, preemption) -> back on the queue;
/// Sleeping -> off the queues until woken; Runnable (woken before it could
/// switch away) -> keeps running; Exited -> dropped after the switch.
pub(super) fn schedule() {
    schedule_with(false);
}

/// `preempted`: the switch is forced (timer, wake-up), not asked for by the
/// task. A preempted task stays on the run queue whatever its state, like
/// Linux's preemption: it may be between `prepare_to_sleep` and joining
/// a wait queue, and must get to finish that (and then block for real).
fn schedule_with(preempted: bool) {
    let _irq = crate::arch::irq::disable_local();
    let index = this_index();
    this_cpu().need_resched.store(false, Ordering::Release);
    let Some(current) = SCHEDULERS[index].lock().current.clone() else {
        return;
    };
    let current_is_idle = is_idle(index, &current);

    // Decide about the current task (under its sched_lock, against wakers).
    let current_keeps_cpu_if_alone;
    {
        let _guard = current.sched_lock.lock();
        match current.state() {
            TaskState::Runnable => {
                // Woken between prepare_to_sleep and here: no sleep.
                current.set_state(TaskState::Running);
                return;
            }
            TaskState::Running => current_keeps_cpu_if_alone = true,
            TaskState::Sleeping | TaskState::Exited if preempted => current_keeps_cpu_if_alone = true,
            TaskState::Sleeping | TaskState::Exited => {
                current_keeps_cpu_if_alone = false;
                if !current_is_idle {
                    current.on_rq.store(false, Ordering::Release);
                }
            }
        }
    }

    let mut next = SCHEDULERS[index].lock().queue.pop_front();
    if next.is_none() {
        next = steal(index);
    }
    let next = match next {
        Some(next) => next,
        None if current_keeps_cpu_if_alone => {
            return;
        }
        None => match SCHEDULERS[index].lock().idle.clone() {
            Some(idle) if !Arc::ptr_eq(&idle, &current) => idle,
            _ => {
                // No idle task yet (early boot): wait here for a wake-up.
                return;
            }
        },
    };
    let current_state = current.state();
    if (current_state == TaskState::Running || preempted) && !current_is_idle {
        if current_state == TaskState::Running {
            current.set_state(TaskState::Runnable);
        }
        SCHEDULERS[index].lock().queue.push_back(current.clone());
    }
    switch_to(index, current, next);
}

fn is_idle(index: usize, task: &Arc<Task>) -> bool {
    SCHEDULERS[index].lock().idle.as_ref().is_some_and(|idle| Arc::ptr_eq(idle, task))
}

/// Switch from `current` to `next` on CPU `index`; interrupts are off.
fn switch_to(index: usize, current: Arc<Task>, next: Arc<Task>) {
    // The task may still be leaving another CPU (requeued or woken while
    // that CPU was switching away): wait until its stack is free.
    while next.on_cpu.load(Ordering::Acquire) {
        // The CPU leaving `next` may be waiting for us (TLB shootdown).
        crate::smp::poll_pending();
        core::hint::spin_loop();
    }
    let now = crate::arch::tsc::monotonic_ns();
    current
        .cpu_time_ns
        .fetch_add(now.saturating_sub(current.run_start_ns.load(Ordering::Relaxed)), Ordering::Relaxed);
    next.run_start_ns.store(now, Ordering::Relaxed);
    // The next task's user address space, if it has one (tasks without
    // one run on whatever tables are loaded: the kernel half is in all).
    #[cfg(target_os = "none")]
    if let Some(space) = next.vm_space.lock().as_ref() {
        if !space.is_active() {
            space.activate();
        }
    }
    next.on_cpu.store(true, Ordering::Release);
    next.last_cpu.store(index, Ordering::Relaxed);
    // A task preempted while preparing to sleep (or exit) keeps that state:
    // it finishes blocking when it runs again.
    if next.state() == TaskState::Runnable {
        next.set_state(TaskState::Running);
    }
    let prev_ctx = current.context.get();
    let next_ctx = next.context.get() as *const context::TaskContext;
    {
        let mut sched = SCHEDULERS[index].lock();
        sched.current = Some(next);
        sched.previous = Some(current);
    }
    // SAFETY: interrupts are off; `next` is not running anywhere (on_cpu was false and we set it), its context was
    // saved by its last switch away or built by new_context; `current` stays alive in `previous` until finish_switch,
    // so `prev_ctx` is valid for the save.
    unsafe { context::switch(prev_ctx, next_ctx) };
    finish_switch();
}

/// Release the task we switched away from to other CPUs. Runs first thing
/// on the task we switched to (after the switch returns, or in a new task).
pub(super) fn finish_switch() {
    let previous = SCHEDULERS[this_index()].lock().previous.take();
    if let Some(previous) = previous {
        previous.on_cpu.store(false, Ordering::Release);
        // An exited task's stack is freed here, with no CPU on it, when
        // this was the last reference.
    }
}

pub(super) fn exit_current() -> ! {
    {
        let current = current();
        {
            let _guard = current.sched_lock.lock();
            current.set_state(TaskState::Exited);
        }
        current.exit_waiters.wake_all();
    }
    loop {
        schedule();
        // Only reached if nothing else could run and there is no idle task.
        crate::arch::irq::enable_local_and_halt();
    }
}

/// The idle loop of a CPU: halt until an interrupt, then look for work.
pub fn idle_loop() -> ! {
    loop {
        let has_work = !SCHEDULERS[this_index()].lock().queue.is_empty();
        if has_work || this_cpu().need_resched.load(Ordering::Acquire) || work_to_steal() {
            schedule();
        } else {
            crate::arch::irq::enable_local_and_halt();
        }
    }
}

/// Does another CPU have more than one task waiting?
fn work_to_steal() -> bool {
    let online = crate::cpu_local::online_count().max(1);
    let me = this_index();
    (0..online).any(|cpu| cpu != me && SCHEDULERS[cpu].lock().queue.iter().filter(|t| t.pinned_cpu.is_none()).count() > 1)
}
