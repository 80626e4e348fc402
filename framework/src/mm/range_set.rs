//! A set of physical address ranges with a fixed capacity and no heap: the
//! boot-time bookkeeping of which memory is what (usable, reclaimable,
//! unaccepted), before and while the frame allocator exists.
//!
//! Owns: the range arithmetic (union, difference, alignment, carving pieces
//! off). The ranges are kept sorted, disjoint and non-adjacent (touching
//! ranges are merged), so every physical address is in at most one range.
//! Pure logic: unit-tested on the host.

use boot::PhysRange;

/// The set is full: an operation would need more ranges than it can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapacityExceeded;

/// Sorted, disjoint, non-adjacent physical ranges; at most `N` of them.
#[derive(Clone)]
pub struct RangeSet<const N: usize> {
    ranges: [PhysRange; N],
    len: usize,
}

impl<const N: usize> Default for RangeSet<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RangeSet<N> {
    pub const fn new() -> Self {
        Self { ranges: [PhysRange { start: 0, end: 0 }; N], len: 0 }
    }

    /// The ranges, in increasing address order.
    pub fn as_slice(&self) -> &[PhysRange] {
        &self.ranges[..self.len]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Total bytes in the set.
    pub fn total(&self) -> u64 {
        self.as_slice().iter().map(PhysRange::len).sum()
    }

    /// Does the set contain every byte of `range`?
    pub fn contains(&self, range: PhysRange) -> bool {
        range.is_empty() || self.as_slice().iter().any(|r| r.start <= range.start && range.end <= r.end)
    }

    /// Does any byte of `range` lie in the set?
    pub fn overlaps(&self, range: PhysRange) -> bool {
        !range.is_empty() && self.as_slice().iter().any(|r| r.start < range.end && range.start < r.end)
    }

    /// Add `range` (union). Empty ranges are ignored.
    pub fn insert(&mut self, range: PhysRange) -> Result<(), CapacityExceeded> {
        if range.is_empty() {
            return Ok(());
        }
        // First range that touches or follows `range`, and one past the last
        // range that touches it: everything in [first, last) merges with it.
        let first = self.as_slice().iter().position(|r| r.end >= range.start).unwrap_or(self.len);
        let last = self.as_slice().iter().rposition(|r| r.start <= range.end).map_or(0, |i| i + 1);
        if first >= last {
            // Touches nothing: a new entry at `first`.
            if self.len == N {
                return Err(CapacityExceeded);
            }
            self.ranges.copy_within(first..self.len, first + 1);
            self.ranges[first] = range;
            self.len += 1;
            return Ok(());
        }
        let merged = PhysRange {
            start: range.start.min(self.ranges[first].start),
            end: range.end.max(self.ranges[last - 1].end),
        };
        self.ranges[first] = merged;
        self.ranges.copy_within(last..self.len, first + 1);
        self.len -= last - first - 1;
        Ok(())
    }

    /// Remove `range` (difference). Removing from the middle of a range
    /// splits it, which needs one free entry.
    pub fn remove(&mut self, range: PhysRange) -> Result<(), CapacityExceeded> {
        if range.is_empty() {
            return Ok(());
        }
        let mut i = 0;
        while i < self.len {
            let r = self.ranges[i];
            if r.end <= range.start || range.end <= r.start {
                i += 1;
                continue;
            }
            let left = PhysRange { start: r.start, end: range.start };
            let right = PhysRange { start: range.end, end: r.end };
            match (r.start < range.start, range.end < r.end) {
                (true, true) => {
                    if self.len == N {
                        return Err(CapacityExceeded);
                    }
                    self.ranges.copy_within(i + 1..self.len, i + 2);
                    self.ranges[i] = left;
                    self.ranges[i + 1] = right;
                    self.len += 1;
                    return Ok(());
                }
                (true, false) => {
                    self.ranges[i] = left;
                    i += 1;
                }
                (false, true) => {
                    self.ranges[i] = right;
                    return Ok(());
                }
                (false, false) => {
                    self.ranges.copy_within(i + 1..self.len, i);
                    self.len -= 1;
                }
            }
        }
        Ok(())
    }

    /// Shrink every range to `align`-aligned bounds (start up, end down) and
    /// drop the ranges that vanish. `align` is a power of two.
    pub fn align_inward(&mut self, align: u64) {
        debug_assert!(align.is_power_of_two());
        let mut out = 0;
        for i in 0..self.len {
            let r = self.ranges[i];
            let start = align_up(r.start, align);
            let end = r.end & !(align - 1);
            if let Some(start) = start {
                if start < end {
                    self.ranges[out] = PhysRange { start, end };
                    out += 1;
                }
            }
        }
        self.len = out;
    }

    /// Take `size` bytes aligned to `align` out of the set, below `limit`,
    /// from the top of the highest range that has room (like Linux's
    /// memblock, so low memory stays for whoever needs it). Returns the
    /// start address. `align` is a power of two.
    pub fn carve(&mut self, size: u64, align: u64, limit: u64) -> Option<u64> {
        debug_assert!(align.is_power_of_two());
        if size == 0 {
            return None;
        }
        for i in (0..self.len).rev() {
            let r = self.ranges[i];
            let top = r.end.min(limit);
            let Some(start) = top.checked_sub(size).map(|s| s & !(align - 1)) else {
                continue;
            };
            if start >= r.start && start < top {
                let taken = PhysRange { start, end: start + size };
                // Splitting may need an entry; fall back to the next range.
                if self.remove(taken).is_ok() {
                    return Some(start);
                }
            }
        }
        None
    }

    /// Take the lowest piece of the set that ends at the next multiple of
    /// `granule` (or at the end of its range): the unit in which memory is
    /// accepted. `granule` is a power of two.
    pub fn take_lowest_chunk(&mut self, granule: u64) -> Option<PhysRange> {
        debug_assert!(granule.is_power_of_two());
        let first = *self.as_slice().first()?;
        let boundary = align_up(first.start + 1, granule).unwrap_or(u64::MAX);
        let chunk = PhysRange { start: first.start, end: boundary.min(first.end) };
        // Removing a prefix never splits a range.
        self.remove(chunk).ok()?;
        Some(chunk)
    }
}

/// `value` rounded up to a multiple of `align` (a power of two), or `None`
/// on overflow.
pub fn align_up(value: u64, align: u64) -> Option<u64> {
    Some(value.checked_add(align - 1)? & !(align - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn r(start: u64, end: u64) -> PhysRange {
        PhysRange { start, end }
    }

    fn pairs<const N: usize>(set: &RangeSet<N>) -> Vec<(u64, u64)> {
        set.as_slice().iter().map(|r| (r.start, r.end)).collect()
    }

    #[test]
    fn insert_merges_overlapping_and_adjacent() {
        let mut set = RangeSet::<8>::new();
        set.insert(r(10, 20)).unwrap();
        set.insert(r(30, 40)).unwrap();
        set.insert(r(0, 5)).unwrap();
        assert_eq!(pairs(&set), [(0, 5), (10, 20), (30, 40)]);
        set.insert(r(20, 30)).unwrap(); // touches both neighbours
        assert_eq!(pairs(&set), [(0, 5), (10, 40)]);
        set.insert(r(3, 12)).unwrap();
        assert_eq!(pairs(&set), [(0, 40)]);
        set.insert(r(50, 50)).unwrap(); // empty: ignored
        assert_eq!(pairs(&set), [(0, 40)]);
        assert_eq!(set.total(), 40);
    }

    #[test]
    fn remove_splits_trims_and_drops() {
        let mut set = RangeSet::<8>::new();
        set.insert(r(0, 100)).unwrap();
        set.remove(r(40, 60)).unwrap();
        assert_eq!(pairs(&set), [(0, 40), (60, 100)]);
        set.remove(r(30, 70)).unwrap();
        assert_eq!(pairs(&set), [(0, 30), (70, 100)]);
        set.remove(r(0, 30)).unwrap();
        assert_eq!(pairs(&set), [(70, 100)]);
        set.remove(r(90, 200)).unwrap();
        assert_eq!(pairs(&set), [(70, 90)]);
        set.remove(r(0, 1000)).unwrap();
        assert!(set.is_empty());
    }

    #[test]
    fn capacity_is_reported_not_exceeded() {
        let mut set = RangeSet::<2>::new();
        set.insert(r(0, 10)).unwrap();
        set.insert(r(20, 30)).unwrap();
        assert_eq!(set.insert(r(40, 50)), Err(CapacityExceeded));
        assert_eq!(set.remove(r(2, 3)), Err(CapacityExceeded));
        assert_eq!(pairs(&set), [(0, 10), (20, 30)]);
        // Merging needs no new entry.
        set.insert(r(10, 20)).unwrap();
        assert_eq!(pairs(&set), [(0, 30)]);
    }

    #[test]
    fn align_inward_shrinks_and_drops() {
        let mut set = RangeSet::<8>::new();
        set.insert(r(0x1001, 0x5fff)).unwrap();
        set.insert(r(0x7001, 0x7fff)).unwrap();
        set.insert(r(u64::MAX - 10, u64::MAX)).unwrap();
        set.align_inward(0x1000);
        assert_eq!(pairs(&set), [(0x2000, 0x5000)]);
    }

    #[test]
    fn carve_takes_from_the_top_below_the_limit() {
        let mut set = RangeSet::<8>::new();
        set.insert(r(0x10_0000, 0x20_0000)).unwrap();
        set.insert(r(0x1_0000_0000, 0x2_0000_0000)).unwrap();
        assert_eq!(set.carve(0x1000, 0x1000, u64::MAX), Some(0x1_ffff_f000));
        assert_eq!(set.carve(0x1000, 0x1000, 0x1_0000_0000), Some(0x1f_f000));
        assert_eq!(set.carve(0x20_0000, 0x20_0000, 0x1_0000_0000), None);
        assert_eq!(set.carve(0x20_0000, 0x20_0000, u64::MAX), Some(0x1_ffc0_0000));
        assert_eq!(set.total(), 0x10_0000 - 0x1000 + 0x1_0000_0000 - 0x1000 - 0x20_0000);
        assert_eq!(set.carve(0, 0x1000, u64::MAX), None);
    }

    #[test]
    fn take_lowest_chunk_stops_at_granule_boundaries() {
        let mut set = RangeSet::<8>::new();
        set.insert(r(0x10_1000, 0x60_0000)).unwrap();
        let granule = 0x20_0000;
        assert_eq!(set.take_lowest_chunk(granule), Some(r(0x10_1000, 0x20_0000)));
        assert_eq!(set.take_lowest_chunk(granule), Some(r(0x20_0000, 0x40_0000)));
        assert_eq!(set.take_lowest_chunk(granule), Some(r(0x40_0000, 0x60_0000)));
        assert_eq!(set.take_lowest_chunk(granule), None);
    }

    /// Random inserts and removes against a bitmap model.
    #[test]
    fn matches_a_bitmap_model() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut set = RangeSet::<64>::new();
        let mut model = [false; 256];
        for _ in 0..5000 {
            let a = next() % 256;
            let b = (a + next() % 32).min(256);
            let insert = next() % 2 == 0;
            let result = if insert { set.insert(r(a, b)) } else { set.remove(r(a, b)) };
            if result.is_ok() {
                for bit in &mut model[a as usize..b as usize] {
                    *bit = insert;
                }
            }
            let mut expected = Vec::new();
            let mut i = 0;
            while i < 256 {
                if model[i] {
                    let start = i;
                    while i < 256 && model[i] {
                        i += 1;
                    }
                    expected.push((start as u64, i as u64));
                } else {
                    i += 1;
                }
            }
            assert_eq!(pairs(&set), expected);
        }
    }
}
