//! A spin lock that also disables local interrupts and preemption while
//! held, so it can be shared between tasks and interrupt handlers on any CPU
//! without deadlocking against itself.

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

use crate::arch::irq::DisabledLocalIrqGuard;
use crate::cpu_local::this_cpu;

/// While alive, the current task is not preempted (scheduling is deferred).
pub struct PreemptGuard {
    _not_send: core::marker::PhantomData<*const ()>,
}

/// Disable preemption until the guard is dropped.
pub fn disable_preempt() -> PreemptGuard {
    this_cpu().preempt_count.fetch_add(1, Ordering::SeqCst);
    PreemptGuard { _not_send: core::marker::PhantomData }
}

impl Drop for PreemptGuard {
    fn drop(&mut self) {
        this_cpu().preempt_count.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct SpinLock<T: ?Sized> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock serialises all access to `value`, so sharing the lock
// across threads is safe whenever moving a T between them is.
unsafe impl<T: ?Sized + Send> Sync for SpinLock<T> {}
// SAFETY: owning the lock is owning the T.
unsafe impl<T: ?Sized + Send> Send for SpinLock<T> {}

pub struct SpinLockGuard<'a, T: ?Sized> {
    lock: &'a SpinLock<T>,
    // Dropped in this order after the lock is released: preemption back
    // on, then interrupts.
    _preempt: PreemptGuard,
    _irq: DisabledLocalIrqGuard,
}

impl<T> SpinLock<T> {
    pub const fn new(value: T) -> Self {
        Self { locked: AtomicBool::new(false), value: UnsafeCell::new(value) }
    }

    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> SpinLock<T> {
    /// Acquire with local interrupts off and preemption disabled.
    pub fn lock(&self) -> SpinLockGuard<'_, T> {
        let irq = crate::arch::irq::disable_local();
        let preempt = disable_preempt();
        while self
            .locked
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            while self.locked.load(Ordering::Relaxed) {
                // The holder may be waiting for us (TLB shootdown) with
                // interrupts off: answer it while we wait.
                #[cfg(target_os = "none")]
                crate::smp::poll_pending();
                core::hint::spin_loop();
            }
        }
        SpinLockGuard { lock: self, _preempt: preempt, _irq: irq }
    }

    /// Acquire if free right now.
    pub fn try_lock(&self) -> Option<SpinLockGuard<'_, T>> {
        let irq = crate::arch::irq::disable_local();
        let preempt = disable_preempt();
        if self.locked.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            Some(SpinLockGuard { lock: self, _preempt: preempt, _irq: irq })
        } else {
            None
        }
    }
}

impl<T: ?Sized> Deref for SpinLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard proves we hold the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T: ?Sized> DerefMut for SpinLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves we hold the lock exclusively.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T: ?Sized> Drop for SpinLockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.locked.store(false, Ordering::Release);
    }
}
