//! Locks and waiting: [`SpinLock`] (IRQ- and preemption-safe busy lock),
//! [`WaitQueue`] (sleep until a condition holds) and [`Mutex`] (a sleeping
//! lock for long critical sections).
#[cfg(target_os = "none")]
mod mutex;
mod spin;
#[cfg(target_os = "none")]
mod wait_queue;

#[cfg(target_os = "none")]
pub use mutex::{Mutex, MutexGuard};
pub use spin::{disable_preempt, PreemptGuard, SpinLock, SpinLockGuard};
#[cfg(target_os = "none")]
pub use wait_queue::WaitQueue;
