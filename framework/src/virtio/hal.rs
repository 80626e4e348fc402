//! `virtio-drivers`' [`Hal`] on the framework's shared DMA buffers.
//!
//! Queues (`dma_alloc`) are [`DmaBuffer`]s: zeroed, shared, mapped only
//! through the shared window. Request buffers the driver passes by
//! reference (`share`) are never given to the device: they are *bounced*
//! through a shared buffer from a pool (copied in for the device to read,
//! copied out on `unshare` for it to write), so no private page ever
//! reaches the host and no per-I/O page conversion happens once the pool
//! is warm. A bounce is at most [`MAX_BOUNCE`] bytes: the block driver
//! splits larger requests.
//!
//! Owns: the pool and the live allocations (by device address). Must
//! never: return the address of private memory; when no shared buffer can
//! be had it hands out the [sink](SINK_PAGES) (shared, owned by no one)
//! and flags the failure so the request is reported as an I/O error.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicBool, Ordering};

use virtio_drivers::{BufferDirection, Hal, PhysAddr};

use crate::mm::dma::{map_mmio, DmaBuffer};
use crate::mm::PAGE_SIZE;
use crate::sync::SpinLock;

/// Largest bounce buffer: 2^BOUNCE_ORDER pages.
pub const BOUNCE_ORDER: u8 = 4;
pub const MAX_BOUNCE: usize = PAGE_SIZE << BOUNCE_ORDER;
/// Idle bounce buffers kept per order.
const POOL_DEPTH: usize = 8;

/// Queue memory handed out by `dma_alloc`, by device address.
static QUEUES: SpinLock<BTreeMap<u64, DmaBuffer>> = SpinLock::new(BTreeMap::new());
/// Bounces in flight, by device address.
static BOUNCES: SpinLock<BTreeMap<u64, DmaBuffer>> = SpinLock::new(BTreeMap::new());
/// Idle bounces, by order.
static POOL: SpinLock<[Vec<DmaBuffer>; BOUNCE_ORDER as usize + 1]> =
    SpinLock::new([const { Vec::new() }; BOUNCE_ORDER as usize + 1]);
/// The sink: a shared buffer of `MAX_BOUNCE` bytes given to the device
/// when no bounce could be allocated (its contents are garbage).
static SINK: spin::Once<Option<DmaBuffer>> = spin::Once::new();
/// Set when a request went to the sink; the driver turns it into EIO.
static BOUNCE_FAILED: AtomicBool = AtomicBool::new(false);

/// How the host's bus sees a shared buffer: given its device address and
/// length, the address to hand the device, or `None` to refuse the DMA.
/// The TEE emulator installs one (it checks the pages are shared and
/// strips the shared bit its QEMU does not know); without one the device
/// address is used as is.
pub type DmaBusHook = fn(u64, u64) -> Option<u64>;
static BUS_HOOK: spin::Once<DmaBusHook> = spin::Once::new();

/// Install the [`DmaBusHook`] (once, at boot, before [`super::probe`]).
pub fn set_dma_bus_hook(hook: DmaBusHook) {
    BUS_HOOK.call_once(|| hook);
}

fn bus_address(buffer: &DmaBuffer) -> Option<u64> {
    let address = buffer.device_address();
    match BUS_HOOK.get() {
        Some(hook) => hook(address, buffer.len() as u64),
        None => Some(address),
    }
}

/// Allocate the sink (once, at probe time).
pub fn init() -> bool {
    SINK.call_once(|| DmaBuffer::alloc(BOUNCE_ORDER).ok()).is_some()
}

/// Whether a bounce failed since the last call (and clear the flag).
pub fn take_bounce_failure() -> bool {
    BOUNCE_FAILED.swap(false, Ordering::AcqRel)
}

fn order_for(bytes: usize) -> Option<u8> {
    let pages = bytes.max(1).div_ceil(PAGE_SIZE);
    let order = pages.next_power_of_two().trailing_zeros() as u8;
    (order <= BOUNCE_ORDER).then_some(order)
}

fn take_bounce(bytes: usize) -> Option<DmaBuffer> {
    let order = order_for(bytes)?;
    if let Some(buffer) = POOL.lock()[usize::from(order)].pop() {
        return Some(buffer);
    }
    DmaBuffer::alloc(order).ok()
}

fn return_bounce(buffer: DmaBuffer) {
    let Some(order) = order_for(buffer.len()) else { return };
    let mut pool = POOL.lock();
    let idle = &mut pool[usize::from(order)];
    if idle.len() < POOL_DEPTH {
        idle.push(buffer);
    }
}

/// Fill the pool so that a request of `bytes` plus three small buffers
/// (header, status, indirect descriptor list) needs no allocation.
pub fn reserve(bytes: usize) {
    let mut wanted = [0usize; BOUNCE_ORDER as usize + 1];
    for size in [bytes.min(MAX_BOUNCE), 16, 16, 16] {
        if let Some(order) = order_for(size) {
            wanted[usize::from(order)] += 1;
        }
    }
    for (order, &count) in wanted.iter().enumerate() {
        let idle = POOL.lock()[order].len();
        for _ in idle..count {
            match DmaBuffer::alloc(order as u8) {
                Ok(buffer) => return_bounce(buffer),
                Err(_) => return,
            }
        }
    }
}

fn sink_address() -> PhysAddr {
    BOUNCE_FAILED.store(true, Ordering::Release);
    match SINK.get() {
        Some(Some(sink)) => bus_address(sink).unwrap_or(0),
        // `init` failed, so no device was set up: never reached.
        _ => 0,
    }
}

/// The framework's HAL for `virtio-drivers`.
pub struct UmbraHal;

// `dma_alloc` returns zeroed, page-aligned, shared memory of the size asked
// for, mapped at the returned pointer until `dma_dealloc`; `share` returns a
// device address of a shared buffer at least as large as the caller's, live
// SAFETY: until `unshare`; `mmio_phys_to_virt` maps the range uncached —
// together the contract `Hal` requires of its implementors.
unsafe impl Hal for UmbraHal {
    fn dma_alloc(pages: usize, _direction: BufferDirection) -> (PhysAddr, NonNull<u8>) {
        let order = pages.max(1).next_power_of_two().trailing_zeros();
        let Ok(order) = u8::try_from(order) else { return (0, NonNull::dangling()) };
        match DmaBuffer::alloc(order) {
            Ok(buffer) => {
                let Some(address) = bus_address(&buffer) else {
                    log::error!("virtio: the bus refused queue memory at {:#x}", buffer.device_address());
                    return (0, NonNull::dangling());
                };
                let Some(vaddr) = NonNull::new(buffer.vaddr() as *mut u8) else { return (0, NonNull::dangling()) };
                QUEUES.lock().insert(address, buffer);
                (address, vaddr)
            }
            Err(error) => {
                log::error!("virtio: queue memory of {} pages: {:?}", pages, error);
                (0, NonNull::dangling())
            }
        }
    }

    unsafe fn dma_dealloc(paddr: PhysAddr, _vaddr: NonNull<u8>, _pages: usize) -> i32 {
        // Dropping converts the pages back to private and frees them.
        match QUEUES.lock().remove(&paddr) {
            Some(_) => 0,
            None => -1,
        }
    }

    unsafe fn mmio_phys_to_virt(paddr: PhysAddr, size: usize) -> NonNull<u8> {
        // The probe mapped and checked every BAR of the device before the
        // transport was made; mapping again is idempotent.
        let vaddr = map_mmio(paddr, size as u64).unwrap_or_else(|error| {
            log::error!("virtio: cannot map registers at {:#x}: {:?}", paddr, error);
            crate::mm::dma::SHARED_WINDOW + paddr as usize
        });
        NonNull::new(vaddr as *mut u8).unwrap_or(NonNull::dangling())
    }

    unsafe fn share(buffer: NonNull<[u8]>, direction: BufferDirection) -> PhysAddr {
        let len = buffer.len();
        let Some(bounce) = take_bounce(len) else {
            log::error!("virtio: no bounce buffer for {} bytes: request fails", len);
            return sink_address();
        };
        if direction != BufferDirection::DeviceToDriver {
            // SAFETY: the driver passes a buffer valid for reads of `len`
            // bytes until `unshare` (the Hal contract).
            let bytes = unsafe { core::slice::from_raw_parts(buffer.cast::<u8>().as_ptr(), len) };
            // Cannot fail: the bounce holds at least `len` bytes.
            let _ = bounce.write_bytes(0, bytes);
        }
        let Some(address) = bus_address(&bounce) else {
            log::error!("virtio: the bus refused a bounce buffer at {:#x}", bounce.device_address());
            return_bounce(bounce);
            return sink_address();
        };
        BOUNCES.lock().insert(address, bounce);
        address
    }

    unsafe fn unshare(paddr: PhysAddr, buffer: NonNull<[u8]>, direction: BufferDirection) {
        let Some(bounce) = BOUNCES.lock().remove(&paddr) else {
            // The sink (or an address we never gave): nothing to copy.
            return;
        };
        if direction != BufferDirection::DriverToDevice {
            // SAFETY: as in `share`, and writable (the driver gave a
            // mutable buffer for a device-written direction).
            let bytes = unsafe { core::slice::from_raw_parts_mut(buffer.cast::<u8>().as_ptr(), buffer.len()) };
            let _ = bounce.read_bytes(0, bytes);
        }
        return_bounce(bounce);
    }
}
