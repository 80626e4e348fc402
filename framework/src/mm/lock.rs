//! The memory manager's lock: the framework's IRQ- and preemption-safe
//! spin lock, so an interrupt handler that allocates memory cannot deadlock
//! against the code it interrupted.

pub use crate::sync::SpinLock as IrqSafeMutex;
