//! The lock for critical sections that may wait long (a TDCALL, the
//! host's quote service): framework's sleeping mutex in the kernel, a
//! spin lock in host tests (framework's mutex is kernel-only).

#[cfg(target_os = "none")]
pub type SleepMutex<T> = framework::sync::Mutex<T>;
#[cfg(not(target_os = "none"))]
pub type SleepMutex<T> = spin::Mutex<T>;
