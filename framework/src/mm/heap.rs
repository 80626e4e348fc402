//! The kernel heap: the `#[global_allocator]` behind `alloc` (Box, Vec,
//! BTreeMap, Arc) for every kernel crate.
//!
//! Owns: the heap's memory. The allocator is Talc (no_std, O(1) bins),
//! guarded by an interrupt-safe lock. It starts empty and grows on demand:
//! when Talc runs out, it asks the frame allocator for a segment (at least
//! [`GROW_ORDER`], more for a big request) and claims it through the direct
//! map. Heap segments are never returned. An allocation that cannot be
//! satisfied (more than a [`Segment`](super::Segment) of the largest order,
//! or no memory left) fails, and `alloc`'s error handler panics with the
//! size ("memory allocation of N bytes failed").

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{null_mut, NonNull};
use core::sync::atomic::{AtomicUsize, Ordering};

use talc::{OomHandler, Span, Talc};

use super::buddy::MAX_ORDER;
use super::frame::Segment;
use super::kernel_space::paddr_to_vaddr;
use super::lock::IrqSafeMutex;
use super::PAGE_SIZE;

/// The heap grows by at least 2^6 pages (256 KiB) at a time.
pub const GROW_ORDER: u8 = 6;
/// Room Talc needs around a request in a fresh span (its tags, and its bin
/// array in the first span).
const SPAN_OVERHEAD: usize = 4096;

/// Bytes of memory the heap has taken from the frame allocator.
static HEAP_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Grows the heap from the frame allocator.
struct FrameGrower;

impl OomHandler for FrameGrower {
    fn handle_oom(talc: &mut Talc<Self>, layout: Layout) -> Result<(), ()> {
        let needed = layout.size().checked_add(layout.align()).and_then(|n| n.checked_add(SPAN_OVERHEAD)).ok_or(())?;
        let pages = needed.div_ceil(PAGE_SIZE).checked_next_power_of_two().ok_or(())?;
        let min_order = pages.trailing_zeros() as u8;
        if min_order > MAX_ORDER {
            log::error!("heap: a single allocation of {} bytes is larger than the heap can grow by", layout.size());
            return Err(());
        }
        let segment = Segment::alloc_uninit_for_heap(min_order.max(GROW_ORDER))
            .or_else(|_| Segment::alloc_uninit_for_heap(min_order))
            .map_err(|_| log::error!("heap: out of memory growing for {} bytes", layout.size()))?;
        let size = segment.size();
        let base = paddr_to_vaddr(segment.paddr()) as *mut u8;
        // SAFETY: the segment is RAM nobody else uses, direct-mapped,
        // readable and writable; it is leaked below, so it stays the heap's
        // for good and overlaps no other heap span.
        match unsafe { talc.claim(Span::from_base_size(base, size)) } {
            Ok(_) => {
                segment.leak();
                HEAP_BYTES.fetch_add(size, Ordering::Relaxed);
                Ok(())
            }
            // Too small for Talc (cannot happen with these sizes): the
            // segment is freed on drop.
            Err(()) => Err(()),
        }
    }
}

/// The global allocator.
pub struct KernelHeap {
    talc: IrqSafeMutex<Talc<FrameGrower>>,
}

// SAFETY: every method forwards to Talc under the lock, which serialises
// all heap state; Talc returns memory that fits the layout and is not in
// use, and frees only what it handed out.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: GlobalAlloc callers pass a non-zero size, as Talc needs.
        unsafe { self.talc.lock().malloc(layout) }.map_or(null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(ptr) = NonNull::new(ptr) {
            // SAFETY: the caller passes a pointer this allocator returned
            // for `layout`.
            unsafe { self.talc.lock().free(ptr, layout) };
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, old_layout: Layout, new_size: usize) -> *mut u8 {
        let Some(ptr) = NonNull::new(ptr) else {
            return null_mut();
        };
        let mut talc = self.talc.lock();
        if new_size > old_layout.size() {
            // SAFETY: `ptr` was allocated with `old_layout` (caller) and the
            // new size is larger.
            unsafe { talc.grow(ptr, old_layout, new_size) }.map_or(null_mut(), NonNull::as_ptr)
        } else {
            // SAFETY: as above, and the new size is not larger (and not 0,
            // GlobalAlloc's contract).
            unsafe { talc.shrink(ptr, old_layout, new_size) };
            ptr.as_ptr()
        }
    }
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap { talc: IrqSafeMutex::new(Talc::new(FrameGrower)) };

/// Bytes the heap has taken from the frame allocator so far.
pub fn heap_bytes() -> usize {
    HEAP_BYTES.load(Ordering::Relaxed)
}
