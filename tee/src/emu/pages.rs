//! The emulated TDX module's record of each guest page: unaccepted,
//! private (accepted) or shared. Two bitmaps (accepted, shared) indexed
//! compactly over the RAM regions of the memory map, so holes (the PCI
//! window below 4 GiB) cost nothing.
//!
//! Bits change only under the emulator's lock; reads are lock-free
//! (atomics), so the frame allocator's check can run anywhere.
//!
//! Owns: the bookkeeping. Pure logic: unit-tested on the host.

use core::sync::atomic::{AtomicU64, Ordering};

use boot::PhysRange;

pub const PAGE: u64 = 4096;
/// RAM regions tracked at most.
pub const MAX_REGIONS: usize = 64;

/// A page's state in the emulated TDX module.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageState {
    /// Private but pending: must be accepted before use.
    Unaccepted,
    /// Private and accepted.
    Private,
    /// Shared with the host (MapGPA to shared).
    Shared,
}

/// Result of an accept request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcceptOutcome {
    Accepted,
    /// Every page was accepted before.
    AlreadyAccepted,
    /// Some (not all) pages were accepted before: a 2 MiB accept over
    /// 4 KiB mappings (TDX_PAGE_SIZE_MISMATCH).
    SizeMismatch,
    /// A page is shared: it must be converted to private first.
    Shared,
    /// Not RAM of this TD.
    NotRam,
}

/// Result of a rescind request (the reverse of [`AcceptOutcome`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RescindOutcome {
    Rescinded,
    /// No page was accepted: nothing to rescind.
    NotAccepted,
    /// Some pages accepted, some not.
    SizeMismatch,
    Shared,
    NotRam,
}

#[derive(Clone, Copy, Debug, Default)]
struct Region {
    start: u64,
    end: u64,
    /// Bit index of `start`'s page.
    first_bit: u64,
}

/// Too many pages or regions for the static bitmaps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflow;

/// The page map, for up to `WORDS * 64` pages.
pub struct PageMap<const WORDS: usize> {
    regions: spin::Once<([Region; MAX_REGIONS], usize)>,
    accepted: [AtomicU64; WORDS],
    shared: [AtomicU64; WORDS],
}

impl<const WORDS: usize> Default for PageMap<WORDS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const WORDS: usize> PageMap<WORDS> {
    pub const CAPACITY_PAGES: u64 = WORDS as u64 * 64;

    pub const fn new() -> Self {
        Self {
            regions: spin::Once::new(),
            accepted: [const { AtomicU64::new(0) }; WORDS],
            shared: [const { AtomicU64::new(0) }; WORDS],
        }
    }

    /// Track `ram` (sorted, disjoint, page-aligned ranges), all pages
    /// unaccepted; once. Ranges that do not fit are left out and reported.
    pub fn init(&self, ram: &[PhysRange]) -> Result<(), Overflow> {
        let mut overflow = false;
        self.regions.call_once(|| {
            let mut table = [Region::default(); MAX_REGIONS];
            let (mut count, mut bit) = (0, 0u64);
            for range in ram.iter().filter(|r| !r.is_empty()) {
                let pages = range.len() / PAGE;
                if count == MAX_REGIONS || bit + pages > Self::CAPACITY_PAGES {
                    overflow = true;
                    continue;
                }
                table[count] = Region { start: range.start, end: range.end, first_bit: bit };
                count += 1;
                bit += pages;
            }
            (table, count)
        });
        if overflow {
            Err(Overflow)
        } else {
            Ok(())
        }
    }

    fn regions(&self) -> &[Region] {
        self.regions.get().map_or(&[], |(table, count)| &table[..*count])
    }

    /// Bit range of `[gpa, gpa + pages * 4K)` if it lies in one RAM region.
    fn bits(&self, gpa: u64, pages: u64) -> Option<(u64, u64)> {
        let end = gpa.checked_add(pages.checked_mul(PAGE)?)?;
        let region = self.regions().iter().find(|r| r.start <= gpa && gpa < r.end)?;
        (end <= region.end && gpa.is_multiple_of(PAGE)).then(|| (region.first_bit + (gpa - region.start) / PAGE, pages))
    }

    /// Is `gpa` tracked RAM?
    pub fn is_ram(&self, range: PhysRange) -> bool {
        !range.is_empty() && self.bits(range.start & !(PAGE - 1), range.len().div_ceil(PAGE)).is_some()
    }

    fn test(map: &[AtomicU64; WORDS], bit: u64) -> bool {
        map[(bit / 64) as usize].load(Ordering::Acquire) & (1 << (bit % 64)) != 0
    }

    /// Apply `set` (or clear) to bits [first, first + count) of `map`,
    /// word by word.
    fn update(map: &[AtomicU64; WORDS], first: u64, count: u64, set: bool) {
        let mut bit = first;
        let end = first + count;
        while bit < end {
            let in_word = (64 - bit % 64).min(end - bit);
            let mask = if in_word == 64 { u64::MAX } else { ((1u64 << in_word) - 1) << (bit % 64) };
            let word = &map[(bit / 64) as usize];
            if set {
                word.fetch_or(mask, Ordering::AcqRel);
            } else {
                word.fetch_and(!mask, Ordering::AcqRel);
            }
            bit += in_word;
        }
    }

    /// Count of bits set in [first, first + count).
    fn count_set(map: &[AtomicU64; WORDS], first: u64, count: u64) -> u64 {
        let mut bit = first;
        let end = first + count;
        let mut set = 0;
        while bit < end {
            let in_word = (64 - bit % 64).min(end - bit);
            let mask = if in_word == 64 { u64::MAX } else { ((1u64 << in_word) - 1) << (bit % 64) };
            set += u64::from((map[(bit / 64) as usize].load(Ordering::Acquire) & mask).count_ones());
            bit += in_word;
        }
        set
    }

    /// The state of the page holding `gpa`, if it is tracked RAM.
    pub fn state(&self, gpa: u64) -> Option<PageState> {
        let (bit, _) = self.bits(gpa & !(PAGE - 1), 1)?;
        Some(if Self::test(&self.shared, bit) {
            PageState::Shared
        } else if Self::test(&self.accepted, bit) {
            PageState::Private
        } else {
            PageState::Unaccepted
        })
    }

    /// Accept `pages` pages at `gpa` (the caller serialises changes).
    pub fn accept(&self, gpa: u64, pages: u64) -> AcceptOutcome {
        let Some((first, count)) = self.bits(gpa, pages) else {
            return AcceptOutcome::NotRam;
        };
        if Self::count_set(&self.shared, first, count) != 0 {
            return AcceptOutcome::Shared;
        }
        match Self::count_set(&self.accepted, first, count) {
            0 => {
                Self::update(&self.accepted, first, count, true);
                AcceptOutcome::Accepted
            }
            all if all == count => AcceptOutcome::AlreadyAccepted,
            _ => AcceptOutcome::SizeMismatch,
        }
    }

    /// Rescind the acceptance (SNP: PVALIDATE with validate = 0) of
    /// `pages` pages at `gpa`; the caller serialises changes.
    pub fn rescind(&self, gpa: u64, pages: u64) -> RescindOutcome {
        let Some((first, count)) = self.bits(gpa, pages) else {
            return RescindOutcome::NotRam;
        };
        if Self::count_set(&self.shared, first, count) != 0 {
            return RescindOutcome::Shared;
        }
        match Self::count_set(&self.accepted, first, count) {
            0 => RescindOutcome::NotAccepted,
            all if all == count => {
                Self::update(&self.accepted, first, count, false);
                RescindOutcome::Rescinded
            }
            _ => RescindOutcome::SizeMismatch,
        }
    }

    /// Mark pages accepted without an accept (what firmware accepted
    /// before the kernel ran).
    pub fn mark_accepted(&self, range: PhysRange) -> Result<(), Overflow> {
        let (first, count) = self.bits(range.start, range.len() / PAGE).ok_or(Overflow)?;
        Self::update(&self.accepted, first, count, true);
        Ok(())
    }

    /// MapGPA: to shared (any state -> shared), or to private (shared ->
    /// unaccepted; private pages stay accepted, as KVM leaves them).
    pub fn map_gpa(&self, gpa: u64, pages: u64, to_shared: bool) -> Result<(), Overflow> {
        let (first, count) = self.bits(gpa, pages).ok_or(Overflow)?;
        if to_shared {
            Self::update(&self.accepted, first, count, false);
            Self::update(&self.shared, first, count, true);
        } else {
            for bit in first..first + count {
                if Self::test(&self.shared, bit) {
                    Self::update(&self.shared, bit, 1, false);
                    Self::update(&self.accepted, bit, 1, false);
                }
            }
        }
        Ok(())
    }

    /// The first page of `range` that is not private (accepted), if any.
    pub fn first_not_private(&self, range: PhysRange) -> Option<u64> {
        let pages = range.len().div_ceil(PAGE);
        let Some((first, count)) = self.bits(range.start & !(PAGE - 1), pages) else {
            return Some(range.start);
        };
        if Self::count_set(&self.accepted, first, count) == count && Self::count_set(&self.shared, first, count) == 0 {
            return None;
        }
        (0..count)
            .find(|&i| !Self::test(&self.accepted, first + i) || Self::test(&self.shared, first + i))
            .map(|i| (range.start & !(PAGE - 1)) + i * PAGE)
    }

    /// Bytes tracked in each state: (unaccepted, private, shared).
    pub fn totals(&self) -> (u64, u64, u64) {
        let (mut unaccepted, mut private, mut shared) = (0, 0, 0);
        for region in self.regions() {
            let count = (region.end - region.start) / PAGE;
            let accepted = Self::count_set(&self.accepted, region.first_bit, count);
            let shared_pages = Self::count_set(&self.shared, region.first_bit, count);
            private += accepted;
            shared += shared_pages;
            unaccepted += count - accepted - shared_pages;
        }
        (unaccepted * PAGE, private * PAGE, shared * PAGE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    fn map() -> Box<PageMap<64>> {
        let map = Box::new(PageMap::<64>::new());
        // 1 MiB of RAM, a hole, 2 MiB more (256 + 512 pages of 4096 capacity).
        map.init(&[PhysRange { start: 0, end: 0x10_0000 }, PhysRange { start: 0x40_0000, end: 0x60_0000 }]).unwrap();
        map
    }

    #[test]
    fn accept_once_then_already_accepted() {
        let map = map();
        assert_eq!(map.state(0x40_1000), Some(PageState::Unaccepted));
        assert_eq!(map.accept(0x40_1000, 1), AcceptOutcome::Accepted);
        assert_eq!(map.state(0x40_1fff), Some(PageState::Private));
        assert_eq!(map.accept(0x40_1000, 1), AcceptOutcome::AlreadyAccepted);
        assert_eq!(map.accept(0x40_0000, 512), AcceptOutcome::SizeMismatch);
        assert_eq!(map.accept(0x20_0000, 1), AcceptOutcome::NotRam);
        assert_eq!(map.accept(0x5f_f000, 2), AcceptOutcome::NotRam, "crosses the end of RAM");
    }

    #[test]
    fn map_gpa_round_trip_needs_a_new_accept() {
        let map = map();
        assert_eq!(map.accept(0x40_0000, 512), AcceptOutcome::Accepted);
        map.map_gpa(0x40_2000, 2, true).unwrap();
        assert_eq!(map.state(0x40_3000), Some(PageState::Shared));
        assert_eq!(map.accept(0x40_2000, 1), AcceptOutcome::Shared);
        assert_eq!(map.first_not_private(PhysRange { start: 0x40_0000, end: 0x40_4000 }), Some(0x40_2000));
        map.map_gpa(0x40_0000, 4, false).unwrap();
        assert_eq!(map.state(0x40_0000), Some(PageState::Private), "private stays accepted");
        assert_eq!(map.state(0x40_2000), Some(PageState::Unaccepted));
        assert_eq!(map.accept(0x40_2000, 2), AcceptOutcome::Accepted);
        assert_eq!(map.first_not_private(PhysRange { start: 0x40_0000, end: 0x60_0000 }), None);
        assert_eq!(map.totals(), (0x10_0000, 0x20_0000, 0));
    }

    #[test]
    fn rescind_is_the_reverse_of_accept() {
        let map = map();
        assert_eq!(map.rescind(0x40_0000, 1), RescindOutcome::NotAccepted);
        assert_eq!(map.accept(0x40_0000, 2), AcceptOutcome::Accepted);
        assert_eq!(map.rescind(0x40_0000, 1), RescindOutcome::Rescinded);
        assert_eq!(map.state(0x40_0000), Some(PageState::Unaccepted));
        assert_eq!(map.rescind(0x40_0000, 2), RescindOutcome::SizeMismatch);
        assert_eq!(map.rescind(0x20_0000, 1), RescindOutcome::NotRam);
    }

    #[test]
    fn capacity_is_enforced() {
        let map = Box::new(PageMap::<1>::new());
        assert_eq!(map.init(&[PhysRange { start: 0, end: 0x41_000 }]), Err(Overflow));
        assert_eq!(map.state(0), None);
    }
}
