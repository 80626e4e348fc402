//! Per-frame metadata (Linux's `struct page`, OSTD's `MetaSlot`): one
//! 16-byte [`MetaSlot`] for every 4 KiB frame of managed RAM, holding the
//! frame's reference count and the buddy allocator's links.
//!
//! Owns: the metadata table. It is sparse, by sections of 128 MiB (like
//! Linux's SPARSEMEM): a section that holds managed RAM gets a 512 KiB slot
//! array, carved out of usable memory at boot and never freed; holes in the
//! physical address space cost one pointer each. Lookup is O(1).
//!
//! Every field is atomic, so slots are shared as plain `&MetaSlot`; the
//! buddy links are only written with the frame allocator's lock held.

use core::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};

use super::boot_memory::MAX_PHYS_ADDR;
use super::PAGE_SIZE;

/// Metadata of one frame.
#[repr(C)]
pub(crate) struct MetaSlot {
    /// Handles ([`Frame`](super::Frame), page-table entries, the head of a
    /// [`Segment`](super::Segment)) that keep the frame allocated. 0 when
    /// free.
    pub refcount: AtomicU32,
    /// Buddy free-list links (pfns; [`NO_LINK`] for none).
    pub next: AtomicU32,
    pub prev: AtomicU32,
    /// Buddy block state: [`STATE_NONE`], [`STATE_FREE`] or
    /// [`STATE_ALLOCATED`], with the block's order in `order`.
    pub state: AtomicU8,
    pub order: AtomicU8,
    _reserved: [u8; 2],
}

const _: () = assert!(core::mem::size_of::<MetaSlot>() == 16);

pub(crate) const NO_LINK: u32 = u32::MAX;
pub(crate) const STATE_NONE: u8 = 0;
pub(crate) const STATE_FREE: u8 = 1;
pub(crate) const STATE_ALLOCATED: u8 = 2;

/// log2 of a section's size (128 MiB).
pub(crate) const SECTION_SHIFT: u32 = 27;
const FRAMES_PER_SECTION: usize = 1 << (SECTION_SHIFT - 12);
/// Bytes of metadata per section (512 KiB).
pub(crate) const SECTION_METADATA_BYTES: u64 = (FRAMES_PER_SECTION * core::mem::size_of::<MetaSlot>()) as u64;
pub(crate) const SECTION_COUNT: usize = (MAX_PHYS_ADDR >> SECTION_SHIFT) as usize;

/// Direct-map address of each section's slot array; 0 = no metadata.
static SECTIONS: [AtomicUsize; SECTION_COUNT] = [const { AtomicUsize::new(0) }; SECTION_COUNT];

/// The section holding `paddr`.
pub(crate) fn section_of(paddr: u64) -> usize {
    (paddr >> SECTION_SHIFT) as usize
}

/// The metadata of the frame holding `paddr`, if it is managed RAM.
pub(crate) fn slot(paddr: u64) -> Option<&'static MetaSlot> {
    let base = SECTIONS.get(section_of(paddr))?.load(Ordering::Acquire);
    if base == 0 {
        return None;
    }
    let index = (paddr as usize / PAGE_SIZE) & (FRAMES_PER_SECTION - 1);
    // SAFETY: `install_section` stored the direct-map address of a zeroed, never-freed array of FRAMES_PER_SECTION
    // slots; `index` is below that; a MetaSlot is atomics and bytes, valid for any bit pattern and shared by
    // reference only.
    Some(unsafe { &*(base as *const MetaSlot).add(index) })
}

/// Does the section holding `paddr` have metadata?
pub(crate) fn has_section(paddr: u64) -> bool {
    SECTIONS.get(section_of(paddr)).is_some_and(|s| s.load(Ordering::Acquire) != 0)
}

/// Give section `section` its slot array.
///
/// # Safety
/// `vaddr` is the direct-map address of [`SECTION_METADATA_BYTES`] bytes
/// of zeroed RAM, page-aligned, that nothing else will ever use.
pub(crate) unsafe fn install_section(section: usize, vaddr: usize) {
    if let Some(entry) = SECTIONS.get(section) {
        entry.store(vaddr, Ordering::Release);
    }
}

/// The reference count of the frame at `paddr` (0 if unmanaged).
pub(crate) fn refcount(paddr: u64) -> u32 {
    slot(paddr).map_or(0, |s| s.refcount.load(Ordering::Acquire))
}
