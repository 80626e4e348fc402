//! Lock types used by services, behind aliases so the framework's own
//! spin/sleep locks can replace the `spin` crate later without touching
//! the users.
//!
//! Owns: the names `Mutex`, `MutexGuard`, `RwLock`, `RwLockReadGuard`,
//! `RwLockWriteGuard`. Must never: grow lock logic of its own.

pub type Mutex<T> = spin::Mutex<T>;
pub type MutexGuard<'a, T> = spin::MutexGuard<'a, T>;
pub type RwLock<T> = spin::RwLock<T>;
pub type RwLockReadGuard<'a, T> = spin::RwLockReadGuard<'a, T>;
pub type RwLockWriteGuard<'a, T> = spin::RwLockWriteGuard<'a, T>;

/// Block on `queue` until `condition` holds (framework `WaitQueue`).
///
/// WORKAROUND (framework scheduler issue, reported): `WaitQueue::wait_until`
/// and `task::sleep` mark the task Sleeping and only then queue it; a timer
/// tick delivered in between (pending ticks arrive exactly when the first
/// lock re-enables interrupts) preempts the task, the scheduler takes it
/// off the run queue as Sleeping, and with nobody able to wake it the task
/// is lost. Local interrupts off across the wait close that window (each
/// task's interrupt flag is restored by the context switch). Drop this
/// once the framework keeps a preempted sleeper runnable.
#[cfg(target_os = "none")]
pub fn wait_until<R>(queue: &framework::sync::WaitQueue, condition: impl FnMut() -> Option<R>) -> R {
    let _irq = framework::arch::irq::disable_local();
    queue.wait_until(condition)
}

/// `framework::task::sleep` with the same workaround as [`wait_until`].
#[cfg(target_os = "none")]
pub fn sleep(duration: core::time::Duration) {
    let _irq = framework::arch::irq::disable_local();
    framework::task::sleep(duration);
}
