//! Locks and waiting: [`SpinLock`] (IRQ- and preemption-safe busy lock),
//! [`WaitQueue`] (sleep until a condition holds) and [`Mutex`] (a sleeping
//! lock for long critical sections).
mod mutex;
mod spin;
mod wait_queue;

pub use mutex::{Mutex, MutexGuard};
pub use spin::{disable_preempt, PreemptGuard, SpinLock, SpinLockGuard};
pub use wait_queue::WaitQueue;
