//! The Linux 32-bit boot protocol: `struct boot_params` (the zero page).
//!
//! Offsets are Linux's (arch/x86/include/uapi/asm/bootparam.h). The loader
//! (and so the host) writes the zero page: it is copied out once and every
//! field is bounded before use.

use crate::info::{BootInfo, RegionKind};
use crate::phys::{copy_from_phys, read_phys_u8, LEGACY_IDENTITY_LIMIT};

const ZERO_PAGE_SIZE: usize = 4096;
const ACPI_RSDP_ADDR: usize = 0x070;
const EXT_RAMDISK_IMAGE: usize = 0x0c0;
const EXT_RAMDISK_SIZE: usize = 0x0c4;
const EXT_CMD_LINE_PTR: usize = 0x0c8;
const E820_ENTRIES: usize = 0x1e8;
const HDR_RAMDISK_IMAGE: usize = 0x218;
const HDR_RAMDISK_SIZE: usize = 0x21c;
const HDR_CMD_LINE_PTR: usize = 0x228;
const HDR_CMDLINE_SIZE: usize = 0x238;
const E820_TABLE: usize = 0x2d0;
const E820_ENTRY_SIZE: usize = 20;
const E820_MAX_ENTRIES_ZEROPAGE: usize = 128;

fn u32_at(page: &[u8; ZERO_PAGE_SIZE], offset: usize) -> u32 {
    u32::from_le_bytes(page[offset..offset + 4].try_into().unwrap_or([0; 4]))
}

fn u64_at(page: &[u8; ZERO_PAGE_SIZE], offset: usize) -> u64 {
    u64::from_le_bytes(page[offset..offset + 8].try_into().unwrap_or([0; 8]))
}

fn e820_kind(kind: u32) -> RegionKind {
    match kind {
        1 => RegionKind::Usable,
        3 => RegionKind::AcpiReclaimable,
        4 => RegionKind::AcpiNvs,
        5 => RegionKind::Unusable,
        7 | 12 => RegionKind::Persistent,
        _ => RegionKind::Reserved,
    }
}

/// Fill `info` from the zero page at physical address `zero_page`.
///
/// # Safety
/// `zero_page` is the pointer the 32-bit boot protocol passed in %esi, the
/// identity map of the first 4 GiB is live, and nothing else runs.
pub unsafe fn parse(zero_page: u64, info: &mut BootInfo) {
    if zero_page == 0 || zero_page + ZERO_PAGE_SIZE as u64 > LEGACY_IDENTITY_LIMIT {
        info.warn("boot_params pointer outside low memory: ignored");
        return;
    }
    let mut page = [0u8; ZERO_PAGE_SIZE];
    // SAFETY: the range was checked to lie in the identity-mapped low 4 GiB;
    // the caller guarantees it is the loader's zero page.
    unsafe { copy_from_phys(zero_page, &mut page) };

    let entries = usize::from(page[E820_ENTRIES]);
    if entries > E820_MAX_ENTRIES_ZEROPAGE {
        info.warn("boot_params.e820_entries above 128: clamped");
    }
    for i in 0..entries.min(E820_MAX_ENTRIES_ZEROPAGE) {
        let at = E820_TABLE + i * E820_ENTRY_SIZE;
        let addr = u64_at(&page, at);
        let size = u64_at(&page, at + 8);
        let kind = u32_at(&page, at + 16);
        info.add_region(addr, size, e820_kind(kind));
    }
    if entries == 0 {
        info.warn("boot loader passed no e820 memory map");
    }

    let cmdline = u64::from(u32_at(&page, HDR_CMD_LINE_PTR))
        | (u64::from(u32_at(&page, EXT_CMD_LINE_PTR)) << 32);
    let cmdline_size = (u32_at(&page, HDR_CMDLINE_SIZE) as usize).min(crate::layout::CMDLINE_MAX);
    if cmdline != 0 {
        match cmdline.checked_add(cmdline_size as u64 + 1) {
            Some(end) if end <= LEGACY_IDENTITY_LIMIT => {
                // SAFETY: every byte read lies in [cmdline, end), checked to be
                // in the identity-mapped low 4 GiB.
                info.set_cmdline((0..=cmdline_size as u64).map(|i| unsafe { read_phys_u8(cmdline + i) }));
            }
            _ => info.warn("kernel command line pointer outside low memory: ignored"),
        }
    }

    let ramdisk = u64::from(u32_at(&page, HDR_RAMDISK_IMAGE))
        | (u64::from(u32_at(&page, EXT_RAMDISK_IMAGE)) << 32);
    let ramdisk_size = u64::from(u32_at(&page, HDR_RAMDISK_SIZE))
        | (u64::from(u32_at(&page, EXT_RAMDISK_SIZE)) << 32);
    if ramdisk != 0 && ramdisk_size != 0 {
        match crate::PhysRange::from_start_len(ramdisk, ramdisk_size) {
            Some(range) if range.end <= LEGACY_IDENTITY_LIMIT => info.initrd = Some(range),
            _ => info.warn("initrd outside low memory or overflowing: ignored"),
        }
    }

    let rsdp = u64_at(&page, ACPI_RSDP_ADDR);
    if rsdp != 0 {
        info.rsdp = Some(rsdp);
    }
}
