//! Timed sleeps: tasks waiting for a deadline, woken by the timer tick.

use alloc::collections::BinaryHeap;
use alloc::sync::Arc;
use core::cmp::{Ordering as CmpOrdering, Reverse};
use core::time::Duration;

use super::{current, scheduler, Task};
use crate::sync::SpinLock;

struct Sleeper {
    deadline_ns: u64,
    task: Arc<Task>,
}

impl PartialEq for Sleeper {
    fn eq(&self, other: &Self) -> bool {
        self.deadline_ns == other.deadline_ns
    }
}
impl Eq for Sleeper {}
impl PartialOrd for Sleeper {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Sleeper {
    fn cmp(&self, other: &Self) -> CmpOrdering {
        self.deadline_ns.cmp(&other.deadline_ns)
    }
}

static SLEEPERS: SpinLock<BinaryHeap<Reverse<Sleeper>>> = SpinLock::new(BinaryHeap::new());

/// Block the current task for at least `duration`.
pub fn sleep(duration: Duration) {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    sleep_until_ns(crate::arch::tsc::monotonic_ns().saturating_add(nanos));
}

/// Block the current task until the monotonic clock reaches `deadline_ns`.
pub fn sleep_until_ns(deadline_ns: u64) {
    while crate::arch::tsc::monotonic_ns() < deadline_ns {
        let task = current();
        super::prepare_to_sleep(&task);
        SLEEPERS.lock().push(Reverse(Sleeper { deadline_ns, task: task.clone() }));
        drop(task);
        scheduler::schedule();
    }
}

/// Called from the timer interrupt on every CPU: wake expired sleepers and
/// account the time slice.
pub fn timer_tick() {
    let now = crate::arch::tsc::monotonic_ns();
    loop {
        let expired = {
            let mut sleepers = SLEEPERS.lock();
            match sleepers.peek() {
                Some(Reverse(first)) if first.deadline_ns <= now => sleepers.pop(),
                _ => None,
            }
        };
        let Some(Reverse(sleeper)) = expired else { break };
        sleeper.task.wake();
    }
    scheduler::tick(now);
}
