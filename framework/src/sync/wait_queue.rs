//! Sleep until a condition holds, woken by whoever makes it true.

use alloc::collections::VecDeque;
use alloc::sync::Arc;

use crate::sync::SpinLock;
use crate::task::{self, Task};

pub struct WaitQueue {
    waiters: SpinLock<VecDeque<Arc<Task>>>,
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    pub const fn new() -> Self {
        Self { waiters: SpinLock::new(VecDeque::new()) }
    }

    /// Block until `condition` returns `Some`, and return that value.
    /// `condition` is re-checked after every wake-up and after queueing, so
    /// a wake-up between the check and the sleep is never lost.
    pub fn wait_until<R>(&self, mut condition: impl FnMut() -> Option<R>) -> R {
        loop {
            if let Some(result) = condition() {
                return result;
            }
            let me = task::current();
            task::prepare_to_sleep(&me);
            self.waiters.lock().push_back(me.clone());
            if let Some(result) = condition() {
                self.remove(&me);
                task::cancel_sleep(&me);
                return result;
            }
            drop(me);
            task::block_current();
        }
    }

    fn remove(&self, task: &Arc<Task>) {
        self.waiters.lock().retain(|t| !Arc::ptr_eq(t, task));
    }

    /// Wake the longest waiter; returns whether one was woken.
    pub fn wake_one(&self) -> bool {
        loop {
            let Some(task) = self.waiters.lock().pop_front() else { return false };
            if task.wake() {
                return true;
            }
        }
    }

    /// Wake every waiter; returns how many were woken.
    pub fn wake_all(&self) -> usize {
        let waiters = core::mem::take(&mut *self.waiters.lock());
        waiters.into_iter().filter(|task| task.wake()).count()
    }

    /// Is anyone waiting?
    pub fn is_empty(&self) -> bool {
        self.waiters.lock().is_empty()
    }
}
