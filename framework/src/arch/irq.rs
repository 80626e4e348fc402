//! Interrupts: handlers for vectors 32..=255 and the local interrupt flag.
//!
//! A handler is a plain `fn(&TrapFrame)` in a static, lock-free table (no
//! heap yet); it runs on the interrupted stack with interrupts off and must
//! not block.
//!
//! End-of-interrupt is signalled to the local APIC *before* the handler
//! runs (except for the APIC's spurious vector, which must not be
//! acknowledged). Every source we use is edge-triggered (APIC timer, IPIs,
//! MSI/MSI-X): with interrupts off in the handler a new interrupt just
//! waits in the IRR, and a handler that switches tasks (the scheduler's
//! tick) does not leave its vector in service, blocking all interrupts of
//! its priority class. Level-triggered I/O APIC lines, if ever used, need
//! end-of-interrupt after the device is serviced instead.
//!
//! Vector plan (priority class = vector >> 4 in the local APIC):
//! - 0x20..=0x2f: the masked legacy PIC (see [`super::pic`]); free to use.
//! - [`DYNAMIC_VECTORS`] (0x30..=0xdf): handed out by [`allocate`] to
//!   devices (MSI) and IPIs.
//! - 0xe0..=0xff: fixed system vectors: the timer (0xec), APIC error
//!   (0xfe), APIC spurious (0xff).

use core::marker::PhantomData;
use core::ops::RangeInclusive;
use core::sync::atomic::{AtomicU64, Ordering};

use super::hook::FnSlot;
use super::registers::{rflags, RFLAGS_IF};
use super::trap::TrapFrame;

/// The first vector that is not an exception.
pub const FIRST_VECTOR: u8 = 32;
/// Vectors [`allocate`] chooses from.
pub const DYNAMIC_VECTORS: RangeInclusive<u8> = 0x30..=0xdf;

/// An interrupt handler.
pub type IrqHandler = fn(&TrapFrame);

const HANDLER_COUNT: usize = 256 - FIRST_VECTOR as usize;
static HANDLERS: [FnSlot<IrqHandler>; HANDLER_COUNT] = [const { FnSlot::empty() }; HANDLER_COUNT];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrqError {
    /// Vectors 0..=31 are exceptions.
    NotAnInterruptVector(u8),
    /// Someone else owns this vector.
    AlreadyRegistered(u8),
    /// Every dynamic vector is taken.
    NoFreeVector,
}

impl core::fmt::Display for IrqError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotAnInterruptVector(v) => write!(f, "vector {:#x} is an exception, not an interrupt", v),
            Self::AlreadyRegistered(v) => write!(f, "vector {:#x} already has a handler", v),
            Self::NoFreeVector => f.write_str("no free interrupt vector"),
        }
    }
}

fn slot(vector: u8) -> Result<&'static FnSlot<IrqHandler>, IrqError> {
    let index = vector.checked_sub(FIRST_VECTOR).ok_or(IrqError::NotAnInterruptVector(vector))?;
    Ok(&HANDLERS[usize::from(index)])
}

/// Install `handler` for `vector`; fails if the vector is an exception or
/// already has a handler.
pub fn register(vector: u8, handler: IrqHandler) -> Result<(), IrqError> {
    slot(vector)?.try_install(handler).map_err(|_| IrqError::AlreadyRegistered(vector))
}

/// Install `handler` on a free vector of [`DYNAMIC_VECTORS`]; returns it.
pub fn allocate(handler: IrqHandler) -> Result<u8, IrqError> {
    DYNAMIC_VECTORS.into_iter().find(|&vector| register(vector, handler).is_ok()).ok_or(IrqError::NoFreeVector)
}

/// Remove the handler of `vector` (the owner releasing it); returns it.
pub fn unregister(vector: u8) -> Option<IrqHandler> {
    slot(vector).ok()?.replace(None)
}

/// Does `vector` have a handler?
pub fn is_registered(vector: u8) -> bool {
    slot(vector).is_ok_and(|slot| slot.get().is_some())
}

static UNEXPECTED: AtomicU64 = AtomicU64::new(0);
const UNEXPECTED_LOG_LIMIT: u64 = 16;

/// From the trap dispatcher, for vectors 32..=255.
pub(crate) fn dispatch(frame: &TrapFrame) {
    let vector = frame.vector();
    if vector != super::apic::SPURIOUS_VECTOR {
        super::apic::end_of_interrupt();
    }
    match slot(vector).ok().and_then(FnSlot::get) {
        Some(handler) => handler(frame),
        None => {
            let count = UNEXPECTED.fetch_add(1, Ordering::Relaxed) + 1;
            if count <= UNEXPECTED_LOG_LIMIT {
                log::warn!("unexpected interrupt on vector {:#x} (no handler; {} so far)", vector, count);
            }
        }
    }
}

/// Interrupts that arrived on a vector without a handler.
pub fn unexpected_count() -> u64 {
    UNEXPECTED.load(Ordering::Relaxed)
}

/// Are maskable interrupts enabled on this CPU?
pub fn is_local_enabled() -> bool {
    rflags() & RFLAGS_IF != 0
}

/// Enable maskable interrupts on this CPU.
///
/// Panics if this CPU has not loaded the IDT (an interrupt would then
/// triple-fault the machine).
pub fn enable_local() {
    assert!(super::idt::is_loaded(), "interrupts enabled before the IDT was loaded");
    // SAFETY: the IDT is loaded, so every interrupt reaches a handler.
    unsafe { core::arch::asm!("sti", options(nomem, nostack)) };
}

/// Enable interrupts and halt until one arrives, with no window in between
/// (`sti` takes effect after the next instruction): the idle loop's step.
pub fn enable_local_and_halt() {
    assert!(super::idt::is_loaded(), "interrupts enabled before the IDT was loaded");
    // SAFETY: as in `enable_local`; `hlt` only waits.
    unsafe { core::arch::asm!("sti", "hlt", options(nomem, nostack)) };
}

/// Disable maskable interrupts on this CPU until the guard is dropped.
pub fn disable_local() -> DisabledLocalIrqGuard {
    let was_enabled = is_local_enabled();
    // SAFETY: clearing IF only defers interrupt delivery on this CPU.
    unsafe { core::arch::asm!("cli", options(nomem, nostack)) };
    DisabledLocalIrqGuard { was_enabled, _not_send: PhantomData }
}

/// Interrupts stay off on this CPU while this lives; dropping it restores
/// the interrupt flag as it was when the guard was made. Not `Send`: it
/// belongs to the CPU that made it.
#[must_use = "interrupts are re-enabled when the guard is dropped"]
pub struct DisabledLocalIrqGuard {
    was_enabled: bool,
    _not_send: PhantomData<*const ()>,
}

impl Drop for DisabledLocalIrqGuard {
    fn drop(&mut self) {
        if self.was_enabled {
            // SAFETY: interrupts were enabled when the guard was made, so
            // this CPU's IDT is loaded.
            unsafe { core::arch::asm!("sti", options(nomem, nostack)) };
        }
    }
}

mod tests {
    use super::*;
    use crate::ktest;

    #[ktest]
    fn irq_guard_restores_the_interrupt_flag() {
        assert!(is_local_enabled(), "tests run with interrupts on");
        {
            let _outer = disable_local();
            assert!(!is_local_enabled());
            {
                let _inner = disable_local();
                assert!(!is_local_enabled());
            }
            assert!(!is_local_enabled(), "an inner guard must not re-enable");
        }
        assert!(is_local_enabled(), "the outer guard must re-enable");
    }

    fn nothing(_: &TrapFrame) {}
    fn other(_: &TrapFrame) {}

    #[ktest]
    fn registering_a_vector_twice_fails() {
        let vector = allocate(nothing).expect("a free vector");
        assert!(DYNAMIC_VECTORS.contains(&vector));
        assert!(is_registered(vector));
        assert_eq!(register(vector, other), Err(IrqError::AlreadyRegistered(vector)));
        assert_eq!(register(14, other), Err(IrqError::NotAnInterruptVector(14)));
        assert!(unregister(vector).is_some());
        assert!(!is_registered(vector));
        assert_eq!(register(vector, other), Ok(()), "a released vector can be taken again");
        assert!(unregister(vector).is_some());
        assert!(unregister(3).is_none());
    }
}
