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
/// A thin pass-through kept for the call sites: it used to keep interrupts
/// off across the wait to dodge a framework scheduler bug (a task preempted
/// between `prepare_to_sleep` and joining the queue was lost), fixed since
/// in the framework (a preempted task stays runnable whatever its state).
/// Waiting with interrupts off was itself a hazard: a condition that spins
/// on a lock held by a preempted task could never get the CPU back.
#[cfg(target_os = "none")]
pub fn wait_until<R>(queue: &framework::sync::WaitQueue, condition: impl FnMut() -> Option<R>) -> R {
    queue.wait_until(condition)
}

/// `framework::task::sleep` (see [`wait_until`]).
#[cfg(target_os = "none")]
pub fn sleep(duration: core::time::Duration) {
    framework::task::sleep(duration);
}
