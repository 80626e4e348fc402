//! In-kernel tests of tasks, the scheduler, sleeping and the locks.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::time::Duration;

use crate::arch::tsc::monotonic_ns;
use crate::ktest;
use crate::sync::{Mutex, SpinLock, WaitQueue};
use crate::task::{self, TaskState};

#[ktest]
fn spawned_task_runs_and_can_be_joined() {
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let task = task::spawn("test-spawn", move || flag.store(true, Ordering::SeqCst));
    task.join();
    assert!(ran.load(Ordering::SeqCst));
    assert_eq!(task.state(), TaskState::Exited);
}

#[ktest]
fn yield_alternates_between_tasks() {
    let log = Arc::new(SpinLock::new(Vec::new()));
    let tasks: Vec<_> = (0..2u8)
        .map(|id| {
            let log = log.clone();
            task::TaskOptions::new("test-yield").cpu(0).spawn(move || {
                for _ in 0..5 {
                    log.lock().push(id);
                    task::yield_now();
                }
            })
        })
        .collect();
    for task in &tasks {
        task.join();
    }
    let log = log.lock();
    assert_eq!(log.len(), 10);
    let switches = log.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(switches >= 5, "tasks did not alternate: {:?}", *log);
}

/// A task that never yields still lets others run: the timer preempts it.
#[ktest]
fn busy_task_is_preempted() {
    if !crate::arch::apic::is_enabled() {
        crate::println!("  skipped: no timer interrupts without x2APIC");
        return;
    }
    let progress = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (p, s) = (progress.clone(), stop.clone());
    let spinner = task::TaskOptions::new("test-spinner").pin(crate::cpu_local::this_cpu().index).spawn(move || {
        while !s.load(Ordering::Relaxed) {
            p.fetch_add(1, Ordering::Relaxed);
            core::hint::spin_loop();
        }
    });
    // Busy-wait too (no yield): only preemption can run the spinner here.
    let deadline = monotonic_ns() + 2_000_000_000;
    while progress.load(Ordering::Relaxed) == 0 && monotonic_ns() < deadline {
        core::hint::spin_loop();
    }
    let seen = progress.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    spinner.join();
    assert!(seen > 0, "the spinner never ran while the main task was busy");
    assert!(spinner.cpu_time_ns() > 0);
}

#[ktest]
fn sleep_lasts_about_as_long_as_asked() {
    let start = monotonic_ns();
    task::sleep(Duration::from_millis(40));
    let slept = monotonic_ns() - start;
    assert!(slept >= 40_000_000, "woke after {} ns", slept);
    assert!(slept < 1_000_000_000, "slept {} ns for 40 ms", slept);
}

#[ktest]
fn wait_queue_hands_over_every_item() {
    const ITEMS: usize = 2000;
    let queue = Arc::new((SpinLock::new(Vec::<usize>::new()), WaitQueue::new(), WaitQueue::new()));
    let producer_queue = queue.clone();
    let producer = task::spawn("test-producer", move || {
        let (items, not_empty, not_full) = &*producer_queue;
        for i in 0..ITEMS {
            not_full.wait_until(|| (items.lock().len() < 8).then_some(()));
            items.lock().push(i);
            not_empty.wake_one();
        }
    });
    let (items, not_empty, not_full) = &*queue;
    let mut expected = 0;
    while expected < ITEMS {
        let batch = not_empty.wait_until(|| {
            let mut items = items.lock();
            (!items.is_empty()).then(|| core::mem::take(&mut *items))
        });
        not_full.wake_all();
        for item in batch {
            assert_eq!(item, expected);
            expected += 1;
        }
    }
    producer.join();
}

#[ktest]
fn mutex_serialises_sleeping_holders() {
    let counter = Arc::new(Mutex::new(0usize));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let counter = counter.clone();
            task::spawn("test-mutex", move || {
                for _ in 0..200 {
                    let mut value = counter.lock();
                    let read = *value;
                    task::yield_now(); // hold the mutex across a switch
                    *value = read + 1;
                }
            })
        })
        .collect();
    for task in &tasks {
        task.join();
    }
    assert_eq!(*counter.lock(), 800);
}
