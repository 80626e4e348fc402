//! Which physical memory the kernel may use, worked out once from the boot
//! memory map: the [`BootMemoryPlan`].
//!
//! The memory map is host data. It may list overlapping regions, unaligned
//! bounds, RAM on top of the kernel or the initrd, or addresses far beyond
//! anything real; none of that reaches the frame allocator. Rules:
//! - a range is usable only if a region of that kind covers it and no region
//!   of another kind does (the more restrictive claim wins);
//! - the first 1 MiB (real-mode and AP trampolines), the kernel image, the
//!   initrd and the page holding the ACPI RSDP are never free;
//! - bounds are aligned inward to pages; memory at or above
//!   [`MAX_PHYS_ADDR`] is ignored with a warning.
//!
//! Owns: that arithmetic only. Pure logic: unit-tested on the host.

use super::range_set::{CapacityExceeded, RangeSet};
use super::PAGE_SIZE;
use boot::{BootInfo, PhysRange, RegionKind};

/// Physical memory the kernel manages and direct-maps ends below this
/// (1 TiB; the frame metadata table is sized for it).
pub const MAX_PHYS_ADDR: u64 = 1 << 40;
/// Low memory kept out of the allocator for real-mode code (AP start-up).
pub const LOW_MEMORY_END: u64 = 1 << 20;
/// The direct map always covers at least this much (the MMIO below 4 GiB).
pub const DIRECT_MAP_MIN: u64 = 4 << 30;
const GIB: u64 = 1 << 30;
/// Room for each kind's ranges: the memory map's regions plus the pieces
/// exclusions cut them into.
pub const PLAN_CAPACITY: usize = 1024;

/// What the boot memory map allows, split by when it may be used.
pub struct BootMemoryPlan {
    /// Free RAM now.
    pub usable: RangeSet<PLAN_CAPACITY>,
    /// Free once nothing needs firmware or loader state any more (after the
    /// switch to the kernel's own page tables: UEFI's live here).
    pub reclaimable: RangeSet<PLAN_CAPACITY>,
    /// RAM that must be accepted before use (TDX/SNP).
    pub unaccepted: RangeSet<PLAN_CAPACITY>,
    /// Which GiBs of physical address space the direct map covers (bit
    /// `g % 64` of word `g / 64` for GiB `g`): the low 4 GiB (MMIO) and
    /// every GiB a memory-map region touches, below [`MAX_PHYS_ADDR`].
    /// Holes between them (e.g. up to a reserved range near 1 TiB) cost no
    /// page tables.
    pub direct_map: DirectMapGibs,
}

/// Number of GiBs the direct map can cover.
pub const DIRECT_MAP_GIBS: usize = (MAX_PHYS_ADDR / GIB) as usize;

/// A set of GiB-sized pieces of physical address space.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DirectMapGibs(pub [u64; DIRECT_MAP_GIBS / 64]);

impl DirectMapGibs {
    pub const fn empty() -> Self {
        Self([0; DIRECT_MAP_GIBS / 64])
    }
    pub fn insert(&mut self, gib: usize) {
        if let Some(word) = self.0.get_mut(gib / 64) {
            *word |= 1 << (gib % 64);
        }
    }
    pub fn contains(&self, gib: usize) -> bool {
        self.0.get(gib / 64).is_some_and(|word| word & (1 << (gib % 64)) != 0)
    }
    /// The GiBs in the set, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..DIRECT_MAP_GIBS).filter(|&gib| self.contains(gib))
    }
    /// End (exclusive, bytes) of the highest GiB in the set.
    pub fn end(&self) -> u64 {
        self.iter().last().map_or(0, |gib| (gib as u64 + 1) * GIB)
    }
    /// Do the GiBs cover every byte of `range`?
    pub fn covers(&self, range: PhysRange) -> bool {
        range.is_empty() || (range.start / GIB..=(range.end - 1) / GIB).all(|gib| self.contains(gib as usize))
    }
}

impl Default for BootMemoryPlan {
    fn default() -> Self {
        Self::new()
    }
}

impl BootMemoryPlan {
    pub const fn new() -> Self {
        Self {
            usable: RangeSet::new(),
            reclaimable: RangeSet::new(),
            unaccepted: RangeSet::new(),
            direct_map: DirectMapGibs::empty(),
        }
    }

    /// Fill the plan from `boot` (in place: the sets are too big for the
    /// boot stack).
    pub fn build(&mut self, boot: &BootInfo) {
        let mut exclusions = [PhysRange::default(); 5];
        exclusions[0] = PhysRange { start: 0, end: LOW_MEMORY_END };
        exclusions[1] = page_outward(boot.kernel);
        exclusions[2] = boot.initrd.map(page_outward).unwrap_or_default();
        exclusions[3] = boot
            .rsdp
            .map(|rsdp| page_outward(PhysRange { start: rsdp, end: rsdp.saturating_add(1) }))
            .unwrap_or_default();
        exclusions[4] = PhysRange { start: MAX_PHYS_ADDR, end: u64::MAX };

        if boot.memory_map().iter().any(|r| r.range.end > MAX_PHYS_ADDR && is_ram(r.kind)) {
            log::warn!("memory map: RAM at or above {:#x} is ignored", MAX_PHYS_ADDR);
        }
        collect(&mut self.usable, boot, RegionKind::Usable, &exclusions);
        collect(&mut self.reclaimable, boot, RegionKind::Reclaimable, &exclusions);
        collect(&mut self.unaccepted, boot, RegionKind::Unaccepted, &exclusions);

        self.direct_map = DirectMapGibs::empty();
        for gib in 0..DIRECT_MAP_MIN / GIB {
            self.direct_map.insert(gib as usize);
        }
        for region in boot.memory_map() {
            let end = region.range.end.min(MAX_PHYS_ADDR);
            if region.range.start < end {
                for gib in region.range.start / GIB..end.div_ceil(GIB) {
                    self.direct_map.insert(gib as usize);
                }
            }
        }
    }
}

fn is_ram(kind: RegionKind) -> bool {
    matches!(kind, RegionKind::Usable | RegionKind::Reclaimable | RegionKind::Unaccepted)
}

/// `range` grown to page boundaries (saturating at the top).
fn page_outward(range: PhysRange) -> PhysRange {
    let start = range.start & !(PAGE_SIZE as u64 - 1);
    let end = super::range_set::align_up(range.end, PAGE_SIZE as u64).unwrap_or(u64::MAX);
    PhysRange { start, end }
}

/// `set` = regions of `kind`, minus every region of another kind, minus
/// `exclusions`, aligned inward to pages.
fn collect(set: &mut RangeSet<PLAN_CAPACITY>, boot: &BootInfo, kind: RegionKind, exclusions: &[PhysRange]) {
    set.clear();
    for region in boot.memory_map().iter().filter(|r| r.kind == kind) {
        if set.insert(region.range) == Err(CapacityExceeded) {
            log::warn!("memory map: too many {:?} regions, [{:#x}-{:#x}) ignored", kind, region.range.start, region.range.end);
        }
    }
    let others = boot.memory_map().iter().filter(|r| r.kind != kind).map(|r| r.range);
    for range in others.chain(exclusions.iter().copied()) {
        remove_or_drop(set, range, kind);
    }
    set.align_inward(PAGE_SIZE as u64);
}

/// Remove `range`; if the set is too full to split a range around it, drop
/// every range it touches instead (losing memory, never handing out memory
/// that is not free).
fn remove_or_drop(set: &mut RangeSet<PLAN_CAPACITY>, range: PhysRange, kind: RegionKind) {
    if set.remove(range) == Err(CapacityExceeded) {
        log::warn!("memory map: too fragmented; {:?} memory around [{:#x}-{:#x}) ignored", kind, range.start, range.end);
        while let Some(&hit) = set.as_slice().iter().find(|r| r.start < range.end && range.start < r.end) {
            // Removing a whole range never needs room.
            let _ = set.remove(hit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;
    use std::vec::Vec;

    const MIB: u64 = 1 << 20;

    fn plan(boot: &BootInfo) -> Box<BootMemoryPlan> {
        let mut plan = Box::new(BootMemoryPlan::new());
        plan.build(boot);
        plan
    }

    fn pairs(set: &RangeSet<PLAN_CAPACITY>) -> Vec<(u64, u64)> {
        set.as_slice().iter().map(|r| (r.start, r.end)).collect()
    }

    fn boot_info() -> Box<BootInfo> {
        let mut boot = Box::new(BootInfo::new(boot::Firmware::Bios));
        boot.kernel = PhysRange { start: 16 * MIB, end: 16 * MIB + 0x3a000 };
        boot
    }

    #[test]
    fn excludes_low_memory_kernel_and_initrd() {
        let mut boot = boot_info();
        boot.add_region(0, 0x9fc00, RegionKind::Usable);
        boot.add_region(0xf0000, 0x10000, RegionKind::Reserved);
        boot.add_region(MIB, 511 * MIB, RegionKind::Usable);
        boot.initrd = Some(PhysRange { start: 0x1f00_0123, end: 0x1f10_0456 });
        boot.rsdp = Some(0xf5a40);
        let plan = plan(&boot);
        assert_eq!(
            pairs(&plan.usable),
            [(MIB, 16 * MIB), (16 * MIB + 0x3a000, 0x1f00_0000), (0x1f10_1000, 512 * MIB)]
        );
        assert!(plan.reclaimable.is_empty());
        assert_eq!(plan.direct_map.end(), 4 << 30);
        assert_eq!(plan.direct_map.iter().count(), 4);
    }

    #[test]
    fn other_kinds_win_over_overlapping_usable() {
        let mut boot = boot_info();
        boot.add_region(MIB, 100 * MIB, RegionKind::Usable);
        boot.add_region(50 * MIB, MIB, RegionKind::Reserved);
        boot.add_region(60 * MIB, 200 * MIB, RegionKind::Reclaimable);
        let plan = plan(&boot);
        assert_eq!(
            pairs(&plan.usable),
            [(MIB, 16 * MIB), (16 * MIB + 0x3a000, 50 * MIB), (51 * MIB, 60 * MIB)]
        );
        // Reclaimable minus the usable region it overlaps: no double use.
        assert_eq!(pairs(&plan.reclaimable), [(101 * MIB, 260 * MIB)]);
    }

    #[test]
    fn unaligned_and_huge_regions_are_trimmed() {
        let mut boot = boot_info();
        boot.add_region(0x20_0123, 0x10_0000, RegionKind::Usable);
        boot.add_region(MAX_PHYS_ADDR - 0x2000, 0x1_0000, RegionKind::Usable);
        boot.add_region(u64::MAX - 0x1000, 0x1000, RegionKind::Usable);
        boot.add_region(6 << 30, 0x1000, RegionKind::Unaccepted);
        boot.add_region((5 << 30) + 5, 3, RegionKind::Reserved);
        let plan = plan(&boot);
        assert_eq!(pairs(&plan.usable), [(0x20_1000, 0x30_0000), (MAX_PHYS_ADDR - 0x2000, MAX_PHYS_ADDR)]);
        assert_eq!(pairs(&plan.unaccepted), [(6 << 30, (6 << 30) + 0x1000)]);
        assert_eq!(plan.direct_map.end(), MAX_PHYS_ADDR);
        // 0..4 GiB, GiBs 5 and 6, and the last one: no page tables for the rest.
        assert_eq!(plan.direct_map.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 5, 6, DIRECT_MAP_GIBS - 1]);
    }

    #[test]
    fn direct_map_covers_regions_in_whole_gibs_skipping_holes() {
        let mut boot = boot_info();
        boot.add_region(MIB, 2047 * MIB, RegionKind::Usable);
        boot.add_region(4 << 30, (2 << 30) + 4096, RegionKind::Usable);
        boot.add_region(0xfd_0000_0000, 0x3_0000_0000, RegionKind::Reserved);
        let plan = plan(&boot);
        assert_eq!(plan.direct_map.iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5, 6, 1012, 1013, 1014, 1015, 1016, 1017, 1018, 1019, 1020, 1021, 1022, 1023]);
        assert!(plan.direct_map.covers(PhysRange { start: 5 << 30, end: (6 << 30) + 4096 }));
        assert!(!plan.direct_map.covers(PhysRange { start: 6 << 30, end: (7 << 30) + 1 }));
        assert_eq!(plan.usable.as_slice().last().map(|r| r.end), Some((6 << 30) + 4096));
    }

    #[test]
    fn kernel_covered_by_reclaimable_is_kept_out() {
        let mut boot = boot_info();
        boot.kernel = PhysRange { start: 0x1e60_0000, end: 0x1e63_a000 };
        boot.add_region(0x1e5d_d000, 0x3f_2000, RegionKind::Reclaimable);
        let plan = plan(&boot);
        assert_eq!(pairs(&plan.reclaimable), [(0x1e5d_d000, 0x1e60_0000), (0x1e63_a000, 0x1e9c_f000)]);
    }
}
