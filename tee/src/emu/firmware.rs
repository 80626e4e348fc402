//! The emulator playing firmware (TDVF): it decides which RAM the TD
//! starts with accepted and reports the rest as unaccepted in the memory
//! map, as TDVF does with EFI_UNACCEPTED_MEMORY, so the kernel's lazy
//! accept path runs.
//!
//! Owns: the amended memory map. Pure logic. Must never: report as
//! unaccepted a range the loader put something in (kernel, initrd) or any
//! region that is not plain usable RAM.

use boot::{BootInfo, PhysRange, RegionKind};

/// RAM below this stays accepted ("accepted by firmware"); usable RAM
/// above it starts unaccepted.
pub const ACCEPTED_BY_FIRMWARE: u64 = 256 << 20;

const PAGE: u64 = 4096;

/// Is `kind` private RAM of the TD (tracked by the emulator)?
pub fn is_ram(kind: RegionKind) -> bool {
    matches!(
        kind,
        RegionKind::Usable
            | RegionKind::Reclaimable
            | RegionKind::Unaccepted
            | RegionKind::AcpiReclaimable
            | RegionKind::AcpiNvs
    )
}

/// Fill `out` (fresh) from `boot`: the same, except usable RAM at or above
/// `threshold` that holds neither the kernel nor the initrd becomes
/// unaccepted.
pub fn amend(boot: &BootInfo, out: &mut BootInfo, threshold: u64) {
    out.firmware = boot.firmware;
    out.kernel = boot.kernel;
    out.initrd = boot.initrd;
    out.rsdp = boot.rsdp;
    out.set_cmdline(boot.cmdline().bytes());
    for warning in boot.warnings() {
        out.warn(warning);
    }
    let keep = [boot.kernel, boot.initrd.unwrap_or_default()];
    for region in boot.memory_map() {
        if region.kind != RegionKind::Usable || region.range.end <= threshold {
            out.add_region(region.range.start, region.range.len(), region.kind);
            continue;
        }
        // Cut at the threshold and at the bounds of what must stay (page
        // outward), then classify each piece.
        let mut cuts = [0u64; 6];
        let mut n = 0;
        for point in [threshold, keep[0].start & !(PAGE - 1), keep[0].end.div_ceil(PAGE) * PAGE]
            .into_iter()
            .chain([keep[1].start & !(PAGE - 1), keep[1].end.div_ceil(PAGE) * PAGE])
        {
            if region.range.start < point && point < region.range.end {
                cuts[n] = point;
                n += 1;
            }
        }
        cuts[..n].sort_unstable();
        let mut start = region.range.start;
        for end in cuts[..n].iter().copied().chain([region.range.end]) {
            if end <= start {
                continue;
            }
            let piece = PhysRange { start, end };
            let kept = keep.iter().any(|k| !k.is_empty() && k.start < piece.end && piece.start < k.end);
            let kind = if piece.start >= threshold && !kept { RegionKind::Unaccepted } else { RegionKind::Usable };
            out.add_region(piece.start, piece.len(), kind);
            start = end;
        }
    }
}

/// The TD's RAM: the RAM regions of `boot`, pages aligned inward,
/// touching ranges merged; returns how many of `out` are filled.
pub fn ram_ranges(boot: &BootInfo, out: &mut [PhysRange]) -> usize {
    let mut n = 0;
    for region in boot.memory_map().iter().filter(|r| is_ram(r.kind)) {
        let start = region.range.start.div_ceil(PAGE) * PAGE;
        let end = region.range.end & !(PAGE - 1);
        if end <= start {
            continue;
        }
        if n > 0 && out[n - 1].end == start {
            out[n - 1].end = end;
        } else if n < out.len() {
            out[n] = PhysRange { start, end };
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    const MIB: u64 = 1 << 20;

    #[test]
    fn usable_ram_above_the_threshold_becomes_unaccepted_except_the_initrd() {
        let mut boot = Box::new(BootInfo::new(boot::Firmware::Bios));
        boot.kernel = PhysRange { start: 16 * MIB, end: 20 * MIB };
        boot.initrd = Some(PhysRange { start: 1000 * MIB + 100, end: 1010 * MIB });
        boot.add_region(0, 0x9fc00, RegionKind::Usable);
        boot.add_region(MIB, 1023 * MIB, RegionKind::Usable);
        boot.add_region(1024 * MIB, 4096, RegionKind::Reserved);
        boot.set_cmdline(*b"console=ttyS0");
        let mut out = Box::new(BootInfo::new(boot::Firmware::Bios));
        amend(&boot, &mut out, 256 * MIB);
        let map: std::vec::Vec<_> = out.memory_map().iter().map(|r| (r.range.start / MIB, r.range.end.div_ceil(MIB), r.kind)).collect();
        assert_eq!(
            map,
            [
                (0, 1, RegionKind::Usable),
                (1, 256, RegionKind::Usable),
                (256, 1000, RegionKind::Unaccepted),
                (1000, 1010, RegionKind::Usable),
                (1010, 1024, RegionKind::Unaccepted),
                (1024, 1025, RegionKind::Reserved),
            ]
        );
        assert_eq!(out.cmdline(), "console=ttyS0");
        assert_eq!(out.initrd, boot.initrd);
        let mut ram = [PhysRange::default(); 8];
        let n = ram_ranges(&out, &mut ram);
        assert_eq!(&ram[..n], &[PhysRange { start: 0, end: 0x9f000 }, PhysRange { start: MIB, end: 1024 * MIB }]);
    }
}
