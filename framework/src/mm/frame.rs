//! Owning handles to physical memory: [`Frame`] (one 4 KiB page, shared by
//! reference counting) and [`Segment`] (2^order contiguous pages, one
//! owner). Both free their memory when the last handle goes away.
//!
//! Owns: the rules for touching frame contents. Frame memory is *untyped*:
//! the kernel never holds a Rust reference into it, only copies bytes in
//! and out through the direct map ([`Frame::read_bytes`],
//! [`Frame::write_bytes`], [`Frame::fill`]). So sharing a frame between
//! handles, CPUs, user space or a device can tear data but never breaks the
//! memory safety of a Rust object.
//!
//! Zeroing rule: [`Frame::alloc`] and [`Segment::alloc`] return zeroed
//! memory. The uninitialised variants are crate-private and used only where
//! the framework overwrites every byte before anyone else can see it (the
//! copy-on-write copy, the heap). Frames that reach user space or the host
//! are therefore always zeroed or fully written first.

use core::sync::atomic::{fence, Ordering};

use super::buddy::MAX_ORDER;
use super::kernel_space::paddr_to_vaddr;
use super::{frame_allocator, meta, OutOfMemory, PAGE_SIZE};

/// An access outside the frame or segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfBounds;

/// One 4 KiB physical page, reference counted: clones share the page, the
/// last drop frees it.
#[derive(Debug)]
pub struct Frame {
    /// Invariant: an allocated order-0 block whose metadata reference count
    /// includes this handle.
    paddr: u64,
}

/// Allocate a zeroed frame.
pub fn alloc_frame() -> Result<Frame, OutOfMemory> {
    Frame::alloc()
}

impl Frame {
    /// A zeroed frame.
    pub fn alloc() -> Result<Self, OutOfMemory> {
        let frame = Self::alloc_uninit()?;
        frame.fill(0);
        Ok(frame)
    }

    /// A frame with whatever the last owner left in it (see the zeroing
    /// rule in the module documentation).
    pub(crate) fn alloc_uninit() -> Result<Self, OutOfMemory> {
        Ok(Self { paddr: frame_allocator::alloc_block(0)? })
    }

    /// The physical address.
    pub fn paddr(&self) -> u64 {
        self.paddr
    }

    /// Handles to this frame (this one, its clones, page-table entries).
    pub fn refcount(&self) -> u32 {
        meta::refcount(self.paddr)
    }

    /// Copy `buf.len()` bytes at `offset` out of the frame.
    pub fn read_bytes(&self, offset: usize, buf: &mut [u8]) -> Result<(), OutOfBounds> {
        read_untyped(self.paddr, PAGE_SIZE, offset, buf)
    }

    /// Copy `buf` into the frame at `offset`.
    pub fn write_bytes(&self, offset: usize, buf: &[u8]) -> Result<(), OutOfBounds> {
        write_untyped(self.paddr, PAGE_SIZE, offset, buf)
    }

    /// Set every byte to `byte`.
    pub fn fill(&self, byte: u8) {
        fill_untyped(self.paddr, PAGE_SIZE, byte);
    }

    /// Read a little-endian u64 at `offset`.
    pub fn read_u64(&self, offset: usize) -> Result<u64, OutOfBounds> {
        let mut bytes = [0; 8];
        self.read_bytes(offset, &mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// Write a little-endian u64 at `offset`.
    pub fn write_u64(&self, offset: usize, value: u64) -> Result<(), OutOfBounds> {
        self.write_bytes(offset, &value.to_le_bytes())
    }

    /// Copy the whole contents of the frame at `source` into this one.
    pub(crate) fn copy_from_paddr(&self, source: u64) {
        // SAFETY: both are whole managed frames reachable through the direct
        // map: `self` is owned, `source` is kept alive by the caller (a
        // page-table entry's reference). Distinct frames never overlap.
        unsafe {
            core::ptr::copy_nonoverlapping(
                paddr_to_vaddr(source) as *const u8,
                paddr_to_vaddr(self.paddr) as *mut u8,
                PAGE_SIZE,
            )
        };
    }

    /// Give up the handle without dropping its reference: the caller (a
    /// page-table entry) now owns it. Undo with [`Frame::from_raw`].
    pub(crate) fn into_raw(self) -> u64 {
        let paddr = self.paddr;
        core::mem::forget(self);
        paddr
    }

    /// Take back a reference given away by [`Frame::into_raw`].
    ///
    /// # Safety
    /// `paddr` came from `into_raw` (or is an allocated frame whose count
    /// was raised by [`Frame::add_ref_raw`]), and that reference is not
    /// used by anyone else any more.
    pub(crate) unsafe fn from_raw(paddr: u64) -> Self {
        Self { paddr }
    }

    /// Add one reference to the allocated frame at `paddr`, to be taken by
    /// a later [`Frame::from_raw`] (a second page-table entry, after fork).
    ///
    /// # Safety
    /// `paddr` is an allocated frame kept alive by a reference the caller
    /// holds.
    pub(crate) unsafe fn add_ref_raw(paddr: u64) {
        if let Some(slot) = meta::slot(paddr) {
            increment(&slot.refcount);
        }
    }
}

fn increment(refcount: &core::sync::atomic::AtomicU32) {
    let old = refcount.fetch_add(1, Ordering::Relaxed);
    // Far beyond any real count: a leak loop. Stop before it wraps to 0.
    assert!(old < u32::MAX / 2, "mm: frame reference count overflow");
}

impl Clone for Frame {
    fn clone(&self) -> Self {
        if let Some(slot) = meta::slot(self.paddr) {
            increment(&slot.refcount);
        }
        Self { paddr: self.paddr }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        let Some(slot) = meta::slot(self.paddr) else {
            return;
        };
        if slot.refcount.fetch_sub(1, Ordering::Release) == 1 {
            // Every other handle's accesses happen before the frame is reused.
            fence(Ordering::Acquire);
            frame_allocator::free_block(self.paddr, 0);
        }
    }
}

/// 2^order physically contiguous pages with one owner, aligned to their
/// size (for DMA buffers, page-table roots of devices, the heap).
#[derive(Debug)]
pub struct Segment {
    /// Invariant: an allocated block of this order, owned by this handle
    /// (reference count 1 on its head frame).
    paddr: u64,
    order: u8,
}

/// Allocate a zeroed segment of 2^order pages.
pub fn alloc_segment(order: u8) -> Result<Segment, OutOfMemory> {
    Segment::alloc(order)
}

impl Segment {
    /// Largest order a segment can have.
    pub const MAX_ORDER: u8 = MAX_ORDER;

    /// A zeroed segment of 2^order pages.
    pub fn alloc(order: u8) -> Result<Self, OutOfMemory> {
        let segment = Self::alloc_uninit(order)?;
        segment.fill(0);
        Ok(segment)
    }

    /// A segment with old contents (see the zeroing rule).
    pub(crate) fn alloc_uninit(order: u8) -> Result<Self, OutOfMemory> {
        Ok(Self { paddr: frame_allocator::alloc_block(order)?, order })
    }

    /// [`Segment::alloc_uninit`] for the kernel heap: may use the memory
    /// kept back for it.
    pub(crate) fn alloc_uninit_for_heap(order: u8) -> Result<Self, OutOfMemory> {
        Ok(Self { paddr: frame_allocator::alloc_block_for_heap(order)?, order })
    }

    pub fn paddr(&self) -> u64 {
        self.paddr
    }
    pub fn order(&self) -> u8 {
        self.order
    }
    /// Size in bytes.
    pub fn size(&self) -> usize {
        PAGE_SIZE << self.order
    }

    pub fn read_bytes(&self, offset: usize, buf: &mut [u8]) -> Result<(), OutOfBounds> {
        read_untyped(self.paddr, self.size(), offset, buf)
    }
    pub fn write_bytes(&self, offset: usize, buf: &[u8]) -> Result<(), OutOfBounds> {
        write_untyped(self.paddr, self.size(), offset, buf)
    }
    pub fn fill(&self, byte: u8) {
        fill_untyped(self.paddr, self.size(), byte);
    }

    /// Keep the memory allocated forever and return its physical address
    /// (memory handed to the kernel heap).
    pub(crate) fn leak(self) -> u64 {
        let paddr = self.paddr;
        core::mem::forget(self);
        paddr
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        if let Some(slot) = meta::slot(self.paddr) {
            slot.refcount.store(0, Ordering::Release);
        }
        frame_allocator::free_block(self.paddr, self.order);
    }
}

/// `offset..offset + len` if it fits in `size`.
fn checked_span(size: usize, offset: usize, len: usize) -> Result<(), OutOfBounds> {
    match offset.checked_add(len) {
        Some(end) if end <= size => Ok(()),
        _ => Err(OutOfBounds),
    }
}

fn read_untyped(paddr: u64, size: usize, offset: usize, buf: &mut [u8]) -> Result<(), OutOfBounds> {
    checked_span(size, offset, buf.len())?;
    // SAFETY: the caller owns the `size` bytes at `paddr` (a live Frame or
    // Segment), direct-mapped; the span is in bounds; frame memory is
    // untyped (no Rust reference points into it), so `buf` cannot overlap.
    unsafe {
        core::ptr::copy_nonoverlapping((paddr_to_vaddr(paddr) + offset) as *const u8, buf.as_mut_ptr(), buf.len())
    };
    Ok(())
}

fn write_untyped(paddr: u64, size: usize, offset: usize, buf: &[u8]) -> Result<(), OutOfBounds> {
    checked_span(size, offset, buf.len())?;
    // SAFETY: as in `read_untyped`; writing untyped memory cannot break any
    // Rust object.
    unsafe { core::ptr::copy_nonoverlapping(buf.as_ptr(), (paddr_to_vaddr(paddr) + offset) as *mut u8, buf.len()) };
    Ok(())
}

fn fill_untyped(paddr: u64, size: usize, byte: u8) {
    // SAFETY: the caller owns the `size` bytes at `paddr`, direct-mapped
    // and untyped.
    unsafe { core::ptr::write_bytes(paddr_to_vaddr(paddr) as *mut u8, byte, size) };
}
