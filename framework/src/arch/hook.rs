//! Lock-free slots for function pointers: the hooks other modules install
//! into the trap paths (page fault, invalid opcode, ...) and the interrupt
//! handler table. A trap never waits on a lock here, so a trap that hits
//! while its own CPU is installing a hook cannot deadlock.

use core::marker::PhantomData;
use core::sync::atomic::{AtomicUsize, Ordering};

/// A plain `fn` pointer type that round-trips through `usize`.
///
/// # Safety
/// `Self` must be a function pointer type (non-null, pointer-sized), so
/// that `from_raw(into_raw(f))` is `f`.
pub unsafe trait FnPointer: Copy {
    fn into_raw(self) -> usize;
    /// # Safety
    /// `raw` must come from `into_raw` of the same type.
    unsafe fn from_raw(raw: usize) -> Self;
}

macro_rules! fn_pointer {
    ($($ty:ty),* $(,)?) => {$(
        // SAFETY: `$ty` is a function pointer type.
        unsafe impl<A> FnPointer for $ty {
            fn into_raw(self) -> usize {
                self as usize
            }
            unsafe fn from_raw(raw: usize) -> Self {
                // SAFETY: per the contract, `raw` is a `$ty` turned into a
                // usize; function pointers and usize have the same size.
                unsafe { core::mem::transmute::<usize, Self>(raw) }
            }
        }
    )*};
}
fn_pointer!(fn(&A), fn(&A) -> bool, fn(&mut A) -> bool);

// SAFETY: `fn()` is a function pointer type.
unsafe impl FnPointer for fn() {
    fn into_raw(self) -> usize {
        self as usize
    }
    unsafe fn from_raw(raw: usize) -> Self {
        // SAFETY: as in `fn_pointer!`.
        unsafe { core::mem::transmute::<usize, Self>(raw) }
    }
}

// SAFETY: a function pointer type.
unsafe impl FnPointer for fn(u32, u64) -> bool {
    fn into_raw(self) -> usize {
        self as usize
    }
    unsafe fn from_raw(raw: usize) -> Self {
        // SAFETY: as in `fn_pointer!`.
        unsafe { core::mem::transmute::<usize, Self>(raw) }
    }
}

/// An atomically replaceable, optional function pointer.
pub struct FnSlot<F: FnPointer> {
    raw: AtomicUsize,
    _type: PhantomData<F>,
}

impl<F: FnPointer> FnSlot<F> {
    pub const fn empty() -> Self {
        Self { raw: AtomicUsize::new(0), _type: PhantomData }
    }

    fn decode(raw: usize) -> Option<F> {
        // SAFETY: the slot only ever holds 0 or `F::into_raw` of an `F`.
        (raw != 0).then(|| unsafe { F::from_raw(raw) })
    }

    /// The function installed now.
    pub fn get(&self) -> Option<F> {
        Self::decode(self.raw.load(Ordering::Acquire))
    }

    /// Install `function` (or clear with `None`); returns the previous one.
    pub fn replace(&self, function: Option<F>) -> Option<F> {
        Self::decode(self.raw.swap(function.map_or(0, F::into_raw), Ordering::AcqRel))
    }

    /// Install `function` only if the slot is empty.
    pub fn try_install(&self, function: F) -> Result<(), F> {
        self.raw
            .compare_exchange(0, function.into_raw(), Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
            .map_err(|_| function)
    }
}

mod tests {
    use super::FnSlot;
    use crate::ktest;

    fn one(x: &u32) -> bool {
        *x == 1
    }
    fn two(x: &u32) -> bool {
        *x == 2
    }

    #[ktest]
    fn slot_replace_and_try_install() {
        let slot: FnSlot<fn(&u32) -> bool> = FnSlot::empty();
        assert!(slot.get().is_none());
        assert!(slot.try_install(one).is_ok());
        assert!(slot.try_install(two).is_err(), "a full slot refuses try_install");
        assert!(slot.get().is_some_and(|f| f(&1)));
        let previous = slot.replace(Some(two)).expect("one was installed");
        assert!(previous(&1));
        assert!(slot.get().is_some_and(|f| f(&2) && !f(&1)));
        assert!(slot.replace(None).is_some());
        assert!(slot.get().is_none());
    }
}
