//! What the kernel learns from the boot loader or firmware, already bounded.

use crate::layout::CMDLINE_MAX;

/// Most memory-map entries kept (Linux's zero page holds 128; EFI maps of
/// large VMs can have a few hundred).
pub const MAX_REGIONS: usize = 512;
/// Most boot warnings kept.
pub const MAX_WARNINGS: usize = 16;

/// How the kernel was entered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Firmware {
    /// Linux 32-bit boot protocol from a BIOS loader (e.g. SeaBIOS + QEMU `-kernel`).
    Bios,
    /// EFI stub: started as a UEFI application (OVMF, TDVF, SNP OVMF).
    Uefi,
}

/// A half-open physical range `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PhysRange {
    pub start: u64,
    pub end: u64,
}

impl PhysRange {
    /// `None` when `start + len` overflows.
    pub fn from_start_len(start: u64, len: u64) -> Option<Self> {
        Some(Self { start, end: start.checked_add(len)? })
    }
    pub fn len(&self) -> u64 {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// What a range of physical memory is, as far as the kernel cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// Free RAM.
    Usable,
    /// RAM that is free once we no longer need firmware/loader state in it
    /// (EFI boot-services code/data, loader data): the page tables we boot
    /// on may live here.
    Reclaimable,
    /// RAM the platform has not accepted yet (EFI_UNACCEPTED_MEMORY, TDX/SNP):
    /// must go through the TEE accept hook before first use.
    Unaccepted,
    /// ACPI tables, reclaimable after they are parsed.
    AcpiReclaimable,
    /// ACPI NVS: never touch.
    AcpiNvs,
    /// Persistent memory.
    Persistent,
    /// RAM with errors.
    Unusable,
    /// Everything else (firmware runtime, MMIO, holes the firmware reported).
    Reserved,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRegion {
    pub range: PhysRange,
    pub kind: RegionKind,
}

/// Everything the boot layer hands to the framework.
pub struct BootInfo {
    pub firmware: Firmware,
    /// The payload's physical extent, .bss included.
    pub kernel: PhysRange,
    /// The initial ramdisk, if the loader gave one.
    pub initrd: Option<PhysRange>,
    /// ACPI RSDP physical address, if the loader/firmware told us.
    pub rsdp: Option<u64>,
    regions: [MemoryRegion; MAX_REGIONS],
    region_count: usize,
    cmdline: [u8; CMDLINE_MAX],
    cmdline_len: usize,
    warnings: [&'static str; MAX_WARNINGS],
    warning_count: usize,
}

impl BootInfo {
    pub const fn new(firmware: Firmware) -> Self {
        const EMPTY: MemoryRegion =
            MemoryRegion { range: PhysRange { start: 0, end: 0 }, kind: RegionKind::Reserved };
        Self {
            firmware,
            kernel: PhysRange { start: 0, end: 0 },
            initrd: None,
            rsdp: None,
            regions: [EMPTY; MAX_REGIONS],
            region_count: 0,
            cmdline: [0; CMDLINE_MAX],
            cmdline_len: 0,
            warnings: [""; MAX_WARNINGS],
            warning_count: 0,
        }
    }

    /// The memory map, sorted by start address, empty ranges dropped.
    pub fn memory_map(&self) -> &[MemoryRegion] {
        &self.regions[..self.region_count]
    }

    /// The kernel command line (printable ASCII only; anything else from the
    /// loader was replaced by `?`).
    pub fn cmdline(&self) -> &str {
        // Only printable ASCII is ever stored (see `set_cmdline`).
        core::str::from_utf8(&self.cmdline[..self.cmdline_len]).unwrap_or("")
    }

    /// What the boot layer had to drop or correct, for the kernel to log.
    pub fn warnings(&self) -> &[&'static str] {
        &self.warnings[..self.warning_count]
    }

    pub fn warn(&mut self, what: &'static str) {
        if self.warning_count < MAX_WARNINGS {
            self.warnings[self.warning_count] = what;
            self.warning_count += 1;
        }
    }

    /// Store the command line, bounded and sanitised; stops at the first NUL.
    pub fn set_cmdline(&mut self, bytes: impl IntoIterator<Item = u8>) {
        let mut len = 0;
        let mut truncated = false;
        for byte in bytes {
            if byte == 0 {
                break;
            }
            if len == CMDLINE_MAX {
                truncated = true;
                break;
            }
            self.cmdline[len] = match byte {
                b'\t' | b'\n' | b'\r' => b' ',
                0x20..=0x7e => byte,
                _ => b'?',
            };
            len += 1;
        }
        self.cmdline_len = len;
        if truncated {
            self.warn("kernel command line truncated to 4095 bytes");
        }
    }

    /// Add a memory region; drops empty or overflowing ranges and keeps the
    /// map sorted. Adjacent regions of the same kind are merged.
    pub fn add_region(&mut self, start: u64, len: u64, kind: RegionKind) {
        let Some(range) = PhysRange::from_start_len(start, len) else {
            self.warn("memory map entry with start + length overflowing: dropped");
            return;
        };
        if range.is_empty() {
            return;
        }
        if self.region_count == MAX_REGIONS {
            self.warn("memory map has too many entries: rest dropped");
            return;
        }
        let at = self.regions[..self.region_count]
            .iter()
            .position(|r| r.range.start > range.start)
            .unwrap_or(self.region_count);
        self.regions.copy_within(at..self.region_count, at + 1);
        self.regions[at] = MemoryRegion { range, kind };
        self.region_count += 1;
        self.merge_adjacent();
    }

    fn merge_adjacent(&mut self) {
        let mut out = 0;
        for i in 0..self.region_count {
            let region = self.regions[i];
            if out > 0 {
                let last = &mut self.regions[out - 1];
                if last.kind == region.kind && last.range.end == region.range.start {
                    last.range.end = region.range.end;
                    continue;
                }
            }
            self.regions[out] = region;
            out += 1;
        }
        self.region_count = out;
    }

    /// Total bytes of regions of `kind`.
    pub fn total(&self, kind: RegionKind) -> u64 {
        self.memory_map().iter().filter(|r| r.kind == kind).map(|r| r.range.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_sorted_and_merged() {
        let mut info = BootInfo::new(Firmware::Bios);
        info.add_region(0x10_0000, 0x10_0000, RegionKind::Usable);
        info.add_region(0, 0x9f000, RegionKind::Usable);
        info.add_region(0x20_0000, 0x10_0000, RegionKind::Usable); // adjacent: merged
        info.add_region(0xf000_0000, 0x1000, RegionKind::Reserved);
        let map = info.memory_map();
        assert_eq!(map.len(), 3);
        assert_eq!(map[0].range, PhysRange { start: 0, end: 0x9f000 });
        assert_eq!(map[1].range, PhysRange { start: 0x10_0000, end: 0x30_0000 });
        assert_eq!(map[2].kind, RegionKind::Reserved);
        assert_eq!(info.total(RegionKind::Usable), 0x9f000 + 0x20_0000);
    }

    #[test]
    fn hostile_entries_are_dropped_with_a_warning() {
        let mut info = BootInfo::new(Firmware::Bios);
        info.add_region(u64::MAX - 10, 100, RegionKind::Usable);
        info.add_region(0x1000, 0, RegionKind::Usable);
        assert!(info.memory_map().is_empty());
        assert_eq!(info.warnings().len(), 1);
        for i in 0..(MAX_REGIONS as u64 + 5) {
            // Alternate kinds so nothing merges.
            let kind = if i % 2 == 0 { RegionKind::Usable } else { RegionKind::Reserved };
            info.add_region(i * 0x1000, 0x1000, kind);
        }
        assert_eq!(info.memory_map().len(), MAX_REGIONS);
        assert!(info.warnings().iter().any(|w| w.contains("too many")));
    }

    #[test]
    fn cmdline_is_bounded_and_printable() {
        let mut info = BootInfo::new(Firmware::Uefi);
        info.set_cmdline(b"console=ttyS0\tquiet \xff\x01end\0ignored".iter().copied());
        assert_eq!(info.cmdline(), "console=ttyS0 quiet ??end");
        info.set_cmdline(core::iter::repeat(b'a').take(10_000));
        assert_eq!(info.cmdline().len(), CMDLINE_MAX);
        assert!(info.warnings().iter().any(|w| w.contains("truncated")));
    }
}
