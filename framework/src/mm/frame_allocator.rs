//! The physical frame allocator: one buddy allocator over all managed RAM,
//! with its free lists threaded through the frame metadata, plus the pool of
//! unaccepted memory it draws on when it runs dry.
//!
//! Owns: which frames are free. Hands out blocks of 2^order frames by
//! physical address to [`frame`](super::frame) (the owning handles) and the
//! kernel heap; takes them back from there. Nothing outside `mm` sees raw
//! blocks.

use core::sync::atomic::Ordering;

use boot::PhysRange;

use super::buddy::{BlockState, Buddy, FrameLinks, MAX_ORDER};
use super::lock::IrqSafeMutex;
use super::meta::{self, NO_LINK, STATE_ALLOCATED, STATE_FREE, STATE_NONE};
use super::unaccepted::{AlreadyAccepted, MemoryAcceptor, UnacceptedPool};
use super::{OutOfMemory, PAGE_SIZE};

struct AllocatorState {
    buddy: Buddy,
    unaccepted: UnacceptedPool,
    /// `None`: [`AlreadyAccepted`] (keeps this static all-zero, in .bss).
    acceptor: Option<&'static dyn MemoryAcceptor>,
    /// Frames ever handed to the buddy allocator.
    managed_frames: u64,
    /// End of the highest range handed to the buddy allocator.
    managed_end: u64,
}

static ALLOCATOR: IrqSafeMutex<AllocatorState> = IrqSafeMutex::new(AllocatorState {
    buddy: Buddy::new(),
    unaccepted: UnacceptedPool::new(),
    acceptor: None,
    managed_frames: 0,
    managed_end: 0,
});

/// The buddy links, stored in the frame metadata.
struct MetaLinks;

impl FrameLinks for MetaLinks {
    fn state(&self, pfn: u64) -> BlockState {
        let Some(slot) = meta::slot(pfn * PAGE_SIZE as u64) else {
            return BlockState::None;
        };
        let order = slot.order.load(Ordering::Relaxed);
        match slot.state.load(Ordering::Relaxed) {
            STATE_FREE => BlockState::Free(order),
            STATE_ALLOCATED => BlockState::Allocated(order),
            _ => BlockState::None,
        }
    }
    fn set_state(&mut self, pfn: u64, state: BlockState) {
        if let Some(slot) = meta::slot(pfn * PAGE_SIZE as u64) {
            let (state, order) = match state {
                BlockState::None => (STATE_NONE, 0),
                BlockState::Free(order) => (STATE_FREE, order),
                BlockState::Allocated(order) => (STATE_ALLOCATED, order),
            };
            slot.order.store(order, Ordering::Relaxed);
            slot.state.store(state, Ordering::Relaxed);
        }
    }
    fn next(&self, pfn: u64) -> Option<u64> {
        let link = meta::slot(pfn * PAGE_SIZE as u64)?.next.load(Ordering::Relaxed);
        (link != NO_LINK).then_some(u64::from(link))
    }
    fn set_next(&mut self, pfn: u64, next: Option<u64>) {
        if let Some(slot) = meta::slot(pfn * PAGE_SIZE as u64) {
            slot.next.store(next.map_or(NO_LINK, |n| n as u32), Ordering::Relaxed);
        }
    }
    fn prev(&self, pfn: u64) -> Option<u64> {
        let link = meta::slot(pfn * PAGE_SIZE as u64)?.prev.load(Ordering::Relaxed);
        (link != NO_LINK).then_some(u64::from(link))
    }
    fn set_prev(&mut self, pfn: u64, prev: Option<u64>) {
        if let Some(slot) = meta::slot(pfn * PAGE_SIZE as u64) {
            slot.prev.store(prev.map_or(NO_LINK, |p| p as u32), Ordering::Relaxed);
        }
    }
}

/// Hand `range` (page-aligned, not managed yet, metadata installed) to the
/// allocator. Pieces without metadata are skipped with a warning.
pub(crate) fn add_free_range(range: PhysRange) {
    add_locked(&mut ALLOCATOR.lock(), range);
}

fn add_locked(state: &mut AllocatorState, range: PhysRange) {
    let section_bytes = 1u64 << meta::SECTION_SHIFT;
    let mut start = range.start;
    while start < range.end {
        let section_end = (start | (section_bytes - 1)).saturating_add(1);
        let end = section_end.min(range.end);
        if meta::has_section(start) {
            let (first, last) = (start / PAGE_SIZE as u64, end / PAGE_SIZE as u64);
            state.buddy.add_frames(&mut MetaLinks, first, last);
            state.managed_frames += last - first;
            state.managed_end = state.managed_end.max(end);
        } else {
            log::warn!("mm: no frame metadata for [{:#x}-{:#x}): not used", start, end);
        }
        start = end;
    }
}

/// Make `ranges` the pool of unaccepted memory drawn on when free memory
/// runs out (metadata must be installed for them).
pub(crate) fn set_unaccepted(ranges: &super::range_set::RangeSet<{ super::unaccepted::POOL_CAPACITY }>) {
    ALLOCATOR.lock().unaccepted.set(ranges);
}

/// Register the platform's memory acceptor (the tee layer does, at boot,
/// before the first allocation could need unaccepted memory).
pub fn set_memory_acceptor(acceptor: &'static dyn MemoryAcceptor) {
    ALLOCATOR.lock().acceptor = Some(acceptor);
}

/// Frames kept back for the kernel heap: 1/32 of memory, between 2 and
/// 32 MiB. Why: a heap allocation that fails panics (`alloc`'s error
/// handler), so user memory (demand-paged pages, page tables, kernel
/// stacks of new processes, ramfs pages through [`user_data_may_grow`])
/// must run out first, as ENOMEM/ENOSPC/SIGSEGV, while the heap can still
/// grow (a process holding all RAM made the next `write` panic the kernel).
fn reserve_frames(state: &AllocatorState) -> u64 {
    let total = state.managed_frames + state.unaccepted.remaining() / PAGE_SIZE as u64;
    (total / 32).clamp(512, 8192)
}

/// Frames that can still be had, unaccepted memory included.
fn available_frames(state: &AllocatorState) -> u64 {
    state.buddy.free_frames() + state.unaccepted.remaining() / PAGE_SIZE as u64
}

/// Whether `bytes` more of heap memory holding user data (ramfs file
/// pages) would leave the kernel's reserve alone (true before the
/// allocator manages any memory).
pub fn user_data_may_grow(bytes: u64) -> bool {
    let state = ALLOCATOR.lock();
    state.managed_frames == 0
        || available_frames(&state) >= bytes.div_ceil(PAGE_SIZE as u64).saturating_add(reserve_frames(&state))
}

/// Allocate 2^order contiguous frames, aligned to their size; contents
/// undefined. The block's head frame gets reference count 1. Fails rather
/// than dip into the heap's reserve ([`reserve_frames`]).
pub(crate) fn alloc_block(order: u8) -> Result<u64, OutOfMemory> {
    alloc_block_inner(order, false)
}

/// [`alloc_block`] for the kernel heap, which may use the reserve.
pub(crate) fn alloc_block_for_heap(order: u8) -> Result<u64, OutOfMemory> {
    alloc_block_inner(order, true)
}

fn alloc_block_inner(order: u8, use_reserve: bool) -> Result<u64, OutOfMemory> {
    if order > MAX_ORDER {
        return Err(OutOfMemory);
    }
    let mut state = ALLOCATOR.lock();
    if !use_reserve && available_frames(&state) < (1u64 << order) + reserve_frames(&state) {
        return Err(OutOfMemory);
    }
    loop {
        if let Some(pfn) = state.buddy.alloc(&mut MetaLinks, order) {
            let paddr = pfn * PAGE_SIZE as u64;
            if let Some(slot) = meta::slot(paddr) {
                slot.refcount.store(1, Ordering::Release);
            }
            if let Some(acceptor) = state.acceptor {
                acceptor.check_handed_out(PhysRange { start: paddr, end: paddr + (PAGE_SIZE << order) as u64 });
            }
            return Ok(paddr);
        }
        // Out of free memory: accept the next piece of unaccepted memory.
        let acceptor = state.acceptor.unwrap_or(&AlreadyAccepted);
        match state.unaccepted.accept_next(acceptor) {
            Ok(Some(chunk)) => {
                log::debug!("mm: accepted [{:#x}-{:#x})", chunk.start, chunk.end);
                add_locked(&mut state, chunk);
            }
            Ok(None) => return Err(OutOfMemory),
            Err(chunk) => log::warn!("mm: the platform refused to accept [{:#x}-{:#x}): not used", chunk.start, chunk.end),
        }
    }
}

/// Return a block from [`alloc_block`] (its reference count already 0).
/// A block that is not allocated with that order is a kernel bug: panic.
pub(crate) fn free_block(paddr: u64, order: u8) {
    let result = ALLOCATOR.lock().buddy.free(&mut MetaLinks, paddr / PAGE_SIZE as u64, order);
    if let Err(error) = result {
        panic!("mm: freeing frame block {:#x} of order {}: {:?}", paddr, order, error);
    }
}

/// What the allocator holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameStats {
    /// Frames free now.
    pub free_frames: u64,
    /// Frames ever handed to the allocator (free or in use).
    pub managed_frames: u64,
    /// End of the highest memory handed to the allocator.
    pub managed_end: u64,
    /// Bytes of unaccepted memory not drawn on yet.
    pub unaccepted_bytes: u64,
    /// Free blocks of each order.
    pub free_blocks: [u64; MAX_ORDER as usize + 1],
}

pub fn stats() -> FrameStats {
    let state = ALLOCATOR.lock();
    FrameStats {
        free_frames: state.buddy.free_frames(),
        managed_frames: state.managed_frames,
        managed_end: state.managed_end,
        unaccepted_bytes: state.unaccepted.remaining(),
        free_blocks: state.buddy.free_blocks(),
    }
}

/// Test support: take `segment` out of the allocator for good and put its
/// memory into the unaccepted pool, as if the firmware had reported it
/// unaccepted.
pub(crate) fn return_as_unaccepted_for_test(segment: super::frame::Segment) {
    let range = PhysRange { start: segment.paddr(), end: segment.paddr() + segment.size() as u64 };
    let paddr = segment.leak();
    if let Some(slot) = meta::slot(paddr) {
        slot.refcount.store(0, Ordering::Release);
        slot.state.store(STATE_NONE, Ordering::Relaxed);
    }
    let mut state = ALLOCATOR.lock();
    state.managed_frames -= range.len() / PAGE_SIZE as u64;
    if state.unaccepted.add(range).is_err() {
        log::warn!("mm: unaccepted pool full; [{:#x}-{:#x}) lost", range.start, range.end);
    }
}

/// Test support: the acceptor in use.
pub(crate) fn memory_acceptor() -> &'static dyn MemoryAcceptor {
    ALLOCATOR.lock().acceptor.unwrap_or(&AlreadyAccepted)
}
