//! A spin lock that keeps interrupts off on this CPU while it is held, so an
//! interrupt handler that allocates memory cannot deadlock against the code
//! it interrupted. Used for the memory manager's global state.
//!
//! Owns: only this. When the CPU code grows a general IRQ-safe lock, this
//! one should become it.

use core::arch::asm;
use core::ops::{Deref, DerefMut};

pub struct IrqSafeMutex<T> {
    inner: spin::Mutex<T>,
}

pub struct IrqSafeGuard<'a, T> {
    guard: Option<spin::MutexGuard<'a, T>>,
    interrupts_were_on: bool,
}

impl<T> IrqSafeMutex<T> {
    pub const fn new(value: T) -> Self {
        Self { inner: spin::Mutex::new(value) }
    }

    pub fn lock(&self) -> IrqSafeGuard<'_, T> {
        let interrupts_were_on = disable_interrupts();
        IrqSafeGuard { guard: Some(self.inner.lock()), interrupts_were_on }
    }
}

impl<T> Deref for IrqSafeGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // The guard is only taken out in `drop`.
        self.guard.as_deref().unwrap_or_else(|| unreachable!())
    }
}

impl<T> DerefMut for IrqSafeGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_deref_mut().unwrap_or_else(|| unreachable!())
    }
}

impl<T> Drop for IrqSafeGuard<'_, T> {
    fn drop(&mut self) {
        // Unlock first, then let interrupts in again.
        drop(self.guard.take());
        if self.interrupts_were_on {
            // SAFETY: interrupts were on when the lock was taken, so the
            // code around us runs with them on; the lock is released.
            unsafe { asm!("sti", options(nomem, nostack)) };
        }
    }
}

/// Clear IF; return whether it was set.
fn disable_interrupts() -> bool {
    let flags: u64;
    // SAFETY: reading RFLAGS and clearing IF only delay interrupts on this
    // CPU; the caller restores IF.
    unsafe { asm!("pushfq", "pop {}", "cli", out(reg) flags, options(nomem)) };
    flags & (1 << 9) != 0
}
