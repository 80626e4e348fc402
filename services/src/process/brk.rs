//! The program break: Linux's `sys_brk` (mm/mmap.c, 6.x) over a
//! [`VmaSet`].
//!
//! `brk(addr)` never fails with an errno: it returns the new break on
//! success and the unchanged one otherwise (below the start, colliding
//! with another mapping, or a limit). Growing keeps one page plus the
//! stack guard gap free below the next mapping; shrinking unmaps the
//! whole pages above the new break.

use alloc::vec::Vec;

use super::mman::Prot;
use super::vm_layout::{page_align_up, PAGE_SIZE, TASK_SIZE};
use super::vma::{Range, Vma, VmaSet};

/// The heap bounds of a process (`mm->start_brk`, `mm->brk`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramBreak {
    pub start: u64,
    pub current: u64,
}

/// What a `brk` call did to the address space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrkOutcome {
    /// The value the syscall returns (the break after the call).
    pub brk: u64,
    /// New anonymous read-write pages.
    pub mapped: Option<Range>,
    /// Pages to drop.
    pub unmapped: Vec<Range>,
}

impl ProgramBreak {
    /// A break starting at `start` (the ELF plan's page-aligned brk).
    pub fn new(start: u64) -> ProgramBreak {
        ProgramBreak { start, current: start }
    }

    /// `brk(requested)`. `data_limit` is what `check_data_rlimit` allows
    /// the heap: RLIMIT_DATA's soft limit minus the data segment's size
    /// (`end_data - start_data`), or `u64::MAX` when unlimited.
    pub fn brk(&mut self, vmas: &mut VmaSet, requested: u64, data_limit: u64) -> BrkOutcome {
        let unchanged = |b: u64| BrkOutcome { brk: b, mapped: None, unmapped: Vec::new() };
        let orig = self.current;
        if requested < self.start {
            return unchanged(orig);
        }
        if requested - self.start > data_limit {
            return unchanged(orig);
        }
        let (Some(new_top), Some(old_top)) = (page_align_up(requested), page_align_up(self.current)) else {
            return unchanged(orig);
        };
        if new_top == old_top {
            self.current = requested;
            return unchanged(requested);
        }
        if requested <= self.current {
            // Shrink: there must be a mapping in [new_top, old_top).
            if !vmas.intersects(new_top, old_top) {
                return unchanged(orig);
            }
            let Ok(unmapped) = vmas.munmap(new_top, old_top - new_top) else {
                return unchanged(orig);
            };
            self.current = requested;
            return BrkOutcome { brk: requested, mapped: None, unmapped };
        }
        // Grow: keep a page (and a stack's guard gap) free above.
        if new_top > TASK_SIZE {
            return unchanged(orig);
        }
        if let Some(next) = vmas.find_from(old_top) {
            let gap_start = if next.grows_down {
                next.start.saturating_sub(super::vm_layout::STACK_GUARD_GAP)
            } else {
                next.start
            };
            if new_top + PAGE_SIZE > gap_start {
                return unchanged(orig);
            }
        }
        // Extend the heap VMA ending at old_top if there is one, else
        // start a new one (not merged with the bss below, as Linux).
        let heap = vmas
            .find(old_top - 1)
            .filter(|v| v.end == old_top && v.start >= self.start)
            .filter(|v| v.prot == Prot::RW && v.backing == super::vma::Backing::Anonymous)
            .cloned();
        let vma = match heap {
            Some(v) => Vma { end: new_top, ..v },
            None => Vma::anonymous(old_top, new_top, Prot::RW),
        };
        if vmas.map_fixed(vma, false).is_err() {
            return unchanged(orig);
        }
        self.current = requested;
        BrkOutcome { brk: requested, mapped: Some((old_top, new_top)), unmapped: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::super::vma::Placement;
    use super::*;
    use alloc::vec;

    const START: u64 = 0x4c_9000;
    const P: u64 = PAGE_SIZE;

    fn setup() -> (VmaSet, ProgramBreak) {
        let mut s = VmaSet::new(0x7fff_f7ff_f000);
        // bss right below the break.
        s.map_fixed(Vma::anonymous(0x4c_5000, START, Prot::RW), false).unwrap();
        (s, ProgramBreak::new(START))
    }

    #[test]
    fn query_returns_current() {
        let (mut s, mut b) = setup();
        assert_eq!(b.brk(&mut s, 0, u64::MAX).brk, START);
    }

    #[test]
    fn grows_and_extends_one_heap_vma() {
        let (mut s, mut b) = setup();
        let r = b.brk(&mut s, START + 0x21000, u64::MAX);
        assert_eq!(r, BrkOutcome { brk: START + 0x21000, mapped: Some((START, START + 0x21000)), unmapped: vec![] });
        let r = b.brk(&mut s, START + 0x21800, u64::MAX);
        assert_eq!(r.mapped, Some((START + 0x21000, START + 0x22000)));
        // Within the same page: only the value changes.
        let r = b.brk(&mut s, START + 0x21900, u64::MAX);
        assert_eq!((r.brk, r.mapped), (START + 0x21900, None));
        // bss and heap stay separate VMAs; the heap is one.
        assert_eq!(s.count(), 2);
        assert_eq!(s.find(START).unwrap().end, START + 0x22000);
    }

    #[test]
    fn below_start_fails_silently() {
        let (mut s, mut b) = setup();
        b.brk(&mut s, START + P, u64::MAX);
        assert_eq!(b.brk(&mut s, START - 1, u64::MAX).brk, START + P);
        assert_eq!(b.current, START + P);
    }

    #[test]
    fn shrinks_by_whole_pages() {
        let (mut s, mut b) = setup();
        b.brk(&mut s, START + 4 * P, u64::MAX);
        let r = b.brk(&mut s, START + P + 5, u64::MAX);
        assert_eq!(r.brk, START + P + 5);
        assert_eq!(r.unmapped, vec![(START + 2 * P, START + 4 * P)]);
        let r = b.brk(&mut s, START, u64::MAX);
        assert_eq!(r.unmapped, vec![(START, START + 2 * P)]);
        assert!(s.find(START).is_none());
    }

    #[test]
    fn shrink_over_unmapped_heap_fails() {
        let (mut s, mut b) = setup();
        b.brk(&mut s, START + 2 * P, u64::MAX);
        s.munmap(START, 2 * P).unwrap();
        assert_eq!(b.brk(&mut s, START, u64::MAX).brk, START + 2 * P);
    }

    #[test]
    fn growth_blocked_by_a_mapping_one_page_above() {
        let (mut s, mut b) = setup();
        s.mmap(Placement::Fixed(START + 4 * P), P, Vma::anonymous(0, 0, Prot::R)).unwrap();
        // Up to START + 3P leaves one free page: fine.
        assert_eq!(b.brk(&mut s, START + 3 * P, u64::MAX).brk, START + 3 * P);
        // START + 4P would touch the mapping's page gap.
        assert_eq!(b.brk(&mut s, START + 3 * P + 1, u64::MAX).brk, START + 3 * P);
    }

    #[test]
    fn growth_blocked_by_stack_guard_gap() {
        let mut s = VmaSet::new(0x7fff_f7ff_f000);
        let top = 0x7fff_ffff_f000;
        let stack = Vma { grows_down: true, ..Vma::anonymous(top - 0x21000, top, Prot::RW) };
        s.map_fixed(stack, false).unwrap();
        let start = top - 0x21000 - (1 << 20) - 4 * P;
        let mut b = ProgramBreak::new(start);
        assert_eq!(b.brk(&mut s, start + 3 * P, u64::MAX).brk, start + 3 * P);
        assert_eq!(b.brk(&mut s, start + 4 * P, u64::MAX).brk, start + 3 * P);
    }

    #[test]
    fn limits() {
        let (mut s, mut b) = setup();
        assert_eq!(b.brk(&mut s, START + 2 * P, P).brk, START);
        assert_eq!(b.brk(&mut s, u64::MAX, u64::MAX).brk, START);
        assert_eq!(b.brk(&mut s, TASK_SIZE + P, u64::MAX).brk, START);
    }

    #[test]
    fn static_pie_break_far_from_image() {
        let mut s = VmaSet::new(0x7fff_f7ff_f000);
        let mut b = ProgramBreak::new(0x5555_5555_5000);
        let r = b.brk(&mut s, 0x5555_5557_6000, u64::MAX);
        assert_eq!(r.mapped, Some((0x5555_5555_5000, 0x5555_5557_6000)));
    }
}
