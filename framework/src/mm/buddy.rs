//! The buddy allocator's bookkeeping: blocks of 2^order frames (order
//! 0..=[`MAX_ORDER`]), one doubly linked free list per order, split on
//! allocation and coalesced with their buddy on free. O(MAX_ORDER) per
//! operation, no heap.
//!
//! Owns: the free lists and the free-frame count. It does not own the
//! per-frame link storage: that is a [`FrameLinks`] (the frame metadata
//! array in the kernel, a plain vector in the host tests), so the free lists
//! live outside the free frames and nothing here touches frame contents.
//! Frames are named by frame number (pfn = physical address / 4096).
//! Pure logic: unit-tested on the host.

/// Largest block: 2^12 frames = 16 MiB.
pub const MAX_ORDER: u8 = 12;
const ORDERS: usize = MAX_ORDER as usize + 1;

/// What the allocator records about a frame that heads a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockState {
    /// Not the head of a block the allocator knows: never given to it,
    /// inside a bigger block, or merged into its buddy.
    None,
    /// Heads a free block of this order (on that order's free list).
    Free(u8),
    /// Heads an allocated block of this order.
    Allocated(u8),
}

/// Per-frame storage the allocator needs: a state and two list links for
/// each frame it manages. Frames outside managed memory report
/// [`BlockState::None`] and are never written.
pub trait FrameLinks {
    fn state(&self, pfn: u64) -> BlockState;
    fn set_state(&mut self, pfn: u64, state: BlockState);
    fn next(&self, pfn: u64) -> Option<u64>;
    fn set_next(&mut self, pfn: u64, next: Option<u64>);
    fn prev(&self, pfn: u64) -> Option<u64>;
    fn set_prev(&mut self, pfn: u64, prev: Option<u64>);
}

/// Why a free was refused (always a caller bug; the state is unchanged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeError {
    /// The block is not an allocated block of that order (double free, or
    /// wrong order, or never allocated).
    NotAllocated,
    /// The pfn is not aligned to the order, or the order is too big.
    BadBlock,
}

/// Free lists of a buddy allocator.
pub struct Buddy {
    heads: [Option<u64>; ORDERS],
    blocks: [u64; ORDERS],
    free_frames: u64,
}

impl Default for Buddy {
    fn default() -> Self {
        Self::new()
    }
}

impl Buddy {
    pub const fn new() -> Self {
        Self { heads: [None; ORDERS], blocks: [0; ORDERS], free_frames: 0 }
    }

    /// Frames currently free.
    pub fn free_frames(&self) -> u64 {
        self.free_frames
    }

    /// Number of free blocks of each order.
    pub fn free_blocks(&self) -> [u64; ORDERS] {
        self.blocks
    }

    /// Hand the frames `[start, end)` (pfns) to the allocator. They must not
    /// be managed already and `links` must have storage for all of them.
    /// They merge with free neighbours that are already managed.
    pub fn add_frames<L: FrameLinks>(&mut self, links: &mut L, start: u64, end: u64) {
        let mut pfn = start;
        while pfn < end {
            let mut order = MAX_ORDER;
            while order > 0 && (pfn & ((1 << order) - 1) != 0 || pfn + (1 << order) > end) {
                order -= 1;
            }
            self.release(links, pfn, order);
            pfn += 1 << order;
        }
    }

    /// Allocate a block of 2^order frames, aligned to its size. Returns its
    /// first pfn, now in state [`BlockState::Allocated`].
    pub fn alloc<L: FrameLinks>(&mut self, links: &mut L, order: u8) -> Option<u64> {
        if order > MAX_ORDER {
            return None;
        }
        let found = (order..=MAX_ORDER).find(|&o| self.heads[usize::from(o)].is_some())?;
        let pfn = self.heads[usize::from(found)]?;
        self.unlink(links, pfn, found);
        // Split down: the upper half of each split goes back on the lists.
        for lower in (order..found).rev() {
            self.push(links, pfn + (1 << lower), lower);
        }
        links.set_state(pfn, BlockState::Allocated(order));
        self.free_frames -= 1 << order;
        Some(pfn)
    }

    /// Free a block that [`Buddy::alloc`] returned with the same order.
    pub fn free<L: FrameLinks>(&mut self, links: &mut L, pfn: u64, order: u8) -> Result<(), FreeError> {
        if order > MAX_ORDER || pfn & ((1 << order) - 1) != 0 {
            return Err(FreeError::BadBlock);
        }
        if links.state(pfn) != BlockState::Allocated(order) {
            return Err(FreeError::NotAllocated);
        }
        self.release(links, pfn, order);
        Ok(())
    }

    /// Put a block on the free lists, merging it with its buddy while the
    /// buddy is a free block of the same order.
    fn release<L: FrameLinks>(&mut self, links: &mut L, mut pfn: u64, mut order: u8) {
        self.free_frames += 1 << order;
        while order < MAX_ORDER {
            let buddy = pfn ^ (1 << order);
            if links.state(buddy) != BlockState::Free(order) {
                break;
            }
            self.unlink(links, buddy, order);
            links.set_state(buddy, BlockState::None);
            links.set_state(pfn, BlockState::None);
            pfn = pfn.min(buddy);
            order += 1;
        }
        self.push(links, pfn, order);
    }

    fn push<L: FrameLinks>(&mut self, links: &mut L, pfn: u64, order: u8) {
        let head = &mut self.heads[usize::from(order)];
        links.set_prev(pfn, None);
        links.set_next(pfn, *head);
        if let Some(old) = *head {
            links.set_prev(old, Some(pfn));
        }
        *head = Some(pfn);
        links.set_state(pfn, BlockState::Free(order));
        self.blocks[usize::from(order)] += 1;
    }

    fn unlink<L: FrameLinks>(&mut self, links: &mut L, pfn: u64, order: u8) {
        let next = links.next(pfn);
        let prev = links.prev(pfn);
        match prev {
            Some(prev) => links.set_next(prev, next),
            None => self.heads[usize::from(order)] = next,
        }
        if let Some(next) = next {
            links.set_prev(next, prev);
        }
        links.set_state(pfn, BlockState::None);
        self.blocks[usize::from(order)] -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::vec;
    use std::vec::Vec;

    /// Link storage for frames `[base, base + len)`; others are unmanaged.
    struct VecLinks {
        base: u64,
        slots: Vec<(BlockState, Option<u64>, Option<u64>)>,
    }

    impl VecLinks {
        fn new(base: u64, len: u64) -> Self {
            Self { base, slots: vec![(BlockState::None, None, None); len as usize] }
        }
        fn slot(&self, pfn: u64) -> Option<&(BlockState, Option<u64>, Option<u64>)> {
            pfn.checked_sub(self.base).and_then(|i| self.slots.get(i as usize))
        }
        fn slot_mut(&mut self, pfn: u64) -> &mut (BlockState, Option<u64>, Option<u64>) {
            let i = (pfn - self.base) as usize;
            &mut self.slots[i]
        }
    }

    impl FrameLinks for VecLinks {
        fn state(&self, pfn: u64) -> BlockState {
            self.slot(pfn).map_or(BlockState::None, |s| s.0)
        }
        fn set_state(&mut self, pfn: u64, state: BlockState) {
            self.slot_mut(pfn).0 = state;
        }
        fn next(&self, pfn: u64) -> Option<u64> {
            self.slot(pfn).and_then(|s| s.1)
        }
        fn set_next(&mut self, pfn: u64, next: Option<u64>) {
            self.slot_mut(pfn).1 = next;
        }
        fn prev(&self, pfn: u64) -> Option<u64> {
            self.slot(pfn).and_then(|s| s.2)
        }
        fn set_prev(&mut self, pfn: u64, prev: Option<u64>) {
            self.slot_mut(pfn).2 = prev;
        }
    }

    #[test]
    fn add_frames_builds_maximal_aligned_blocks() {
        let mut links = VecLinks::new(0, 1 << 14);
        let mut buddy = Buddy::new();
        // [3, 4100): 1 + 4 + 8 + ... blocks up to the 4096 boundary, then 4.
        buddy.add_frames(&mut links, 3, 4100);
        assert_eq!(buddy.free_frames(), 4097);
        let blocks = buddy.free_blocks();
        assert_eq!(blocks[0], 1); // 3
        assert_eq!(blocks[2], 2); // 4..8 and 4096..4100
        assert_eq!(blocks[11], 1); // 2048..4096
        assert_eq!(links.state(2048), BlockState::Free(11));
    }

    #[test]
    fn split_then_free_coalesces_back() {
        let mut links = VecLinks::new(0, 1 << 13);
        let mut buddy = Buddy::new();
        buddy.add_frames(&mut links, 0, 1 << MAX_ORDER);
        let before = buddy.free_blocks();
        let a = buddy.alloc(&mut links, 0).unwrap();
        assert_eq!(a, 0);
        // One free block of each order below MAX_ORDER remains.
        let split = buddy.free_blocks();
        for (order, &count) in split.iter().enumerate().take(MAX_ORDER as usize) {
            assert_eq!(count, 1, "order {order}");
        }
        assert_eq!(split[MAX_ORDER as usize], 0);
        let b = buddy.alloc(&mut links, 0).unwrap();
        assert_eq!(b, 1);
        buddy.free(&mut links, a, 0).unwrap();
        buddy.free(&mut links, b, 0).unwrap();
        assert_eq!(buddy.free_blocks(), before);
        assert_eq!(buddy.free_frames(), 1 << MAX_ORDER);
        assert_eq!(links.state(0), BlockState::Free(MAX_ORDER));
    }

    #[test]
    fn blocks_are_aligned_to_their_size() {
        let mut links = VecLinks::new(0, 1 << 13);
        let mut buddy = Buddy::new();
        buddy.add_frames(&mut links, 1, 1 << 13);
        for order in [3u8, 0, 5, 1, 7, 2] {
            let pfn = buddy.alloc(&mut links, order).unwrap();
            assert_eq!(pfn % (1 << order), 0);
        }
    }

    #[test]
    fn bad_frees_are_refused() {
        let mut links = VecLinks::new(0, 64);
        let mut buddy = Buddy::new();
        buddy.add_frames(&mut links, 0, 64);
        let pfn = buddy.alloc(&mut links, 2).unwrap();
        assert_eq!(buddy.free(&mut links, pfn, 1), Err(FreeError::NotAllocated));
        assert_eq!(buddy.free(&mut links, pfn + 1, 0), Err(FreeError::NotAllocated));
        assert_eq!(buddy.free(&mut links, pfn + 2, 2), Err(FreeError::BadBlock));
        assert_eq!(buddy.free(&mut links, pfn, MAX_ORDER + 1), Err(FreeError::BadBlock));
        buddy.free(&mut links, pfn, 2).unwrap();
        assert_eq!(buddy.free(&mut links, pfn, 2), Err(FreeError::NotAllocated));
        assert_eq!(buddy.free_frames(), 64);
    }

    #[test]
    fn exhaustion_returns_none() {
        let mut links = VecLinks::new(0, 8);
        let mut buddy = Buddy::new();
        buddy.add_frames(&mut links, 0, 8);
        assert_eq!(buddy.alloc(&mut links, 4), None);
        assert_eq!(buddy.alloc(&mut links, MAX_ORDER + 1), None);
        for _ in 0..8 {
            assert!(buddy.alloc(&mut links, 0).is_some());
        }
        assert_eq!(buddy.alloc(&mut links, 0), None);
        assert_eq!(buddy.free_frames(), 0);
    }

    #[test]
    fn separately_added_neighbours_merge() {
        let mut links = VecLinks::new(0, 1 << 10);
        let mut buddy = Buddy::new();
        buddy.add_frames(&mut links, 0, 512);
        buddy.add_frames(&mut links, 512, 1024);
        assert_eq!(buddy.free_blocks()[10], 1);
        assert_eq!(buddy.free_frames(), 1024);
    }

    #[test]
    fn holes_are_never_merged_into() {
        // Frames 0..4 managed, 4..8 not (a hole): 0..4 stays order 2.
        let mut links = VecLinks::new(0, 4);
        let mut buddy = Buddy::new();
        buddy.add_frames(&mut links, 0, 4);
        assert_eq!(buddy.free_blocks()[2], 1);
        assert_eq!(buddy.alloc(&mut links, 3), None);
    }

    /// Thousands of random allocations and frees of mixed orders: blocks
    /// never overlap, frees restore everything, coalescing restores the
    /// free-list shape.
    #[test]
    fn churn_keeps_blocks_disjoint() {
        let frames = 1 << 14;
        let mut links = VecLinks::new(0, frames);
        let mut buddy = Buddy::new();
        buddy.add_frames(&mut links, 0, frames);
        let shape = buddy.free_blocks();
        let mut owner: Vec<Option<usize>> = vec![None; frames as usize];
        let mut live: BTreeMap<usize, (u64, u8)> = BTreeMap::new();
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for id in 0..20_000usize {
            if next() % 3 != 0 || live.is_empty() {
                let order = (next() % 7) as u8;
                if let Some(pfn) = buddy.alloc(&mut links, order) {
                    for f in pfn..pfn + (1 << order) {
                        assert_eq!(owner[f as usize], None, "frame {f} handed out twice");
                        owner[f as usize] = Some(id);
                    }
                    live.insert(id, (pfn, order));
                }
            } else {
                let pick = (next() as usize) % live.len();
                let (&key, &(pfn, order)) = live.iter().nth(pick).unwrap();
                live.remove(&key);
                for f in pfn..pfn + (1 << order) {
                    assert_eq!(owner[f as usize], Some(key));
                    owner[f as usize] = None;
                }
                buddy.free(&mut links, pfn, order).unwrap();
            }
            let in_use: u64 = live.values().map(|&(_, o)| 1u64 << o).sum();
            assert_eq!(buddy.free_frames() + in_use, frames);
        }
        for (_, (pfn, order)) in live {
            buddy.free(&mut links, pfn, order).unwrap();
        }
        assert_eq!(buddy.free_frames(), frames);
        assert_eq!(buddy.free_blocks(), shape);
    }
}
