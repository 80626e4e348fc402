//! Access to the firmware's ACPI tables (through the `acpi` crate), read
//! via the direct map. The tables come from the host: the crate checks
//! signatures and checksums, and callers bound every count they take from
//! them.

use core::ptr::NonNull;

use acpi::madt::{Madt, MadtEntry};
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};

/// Maps physical regions through the kernel's direct map (no new mappings).
#[derive(Clone, Copy, Debug)]
struct DirectMapHandler;

impl AcpiHandler for DirectMapHandler {
    unsafe fn map_physical_region<T>(&self, physical_address: usize, size: usize) -> PhysicalMapping<Self, T> {
        let virtual_address = crate::mm::paddr_to_vaddr(physical_address as u64) as *mut T;
        // SAFETY: the direct map covers the low 4 GiB and all RAM, where firmware places its tables; the acpi crate
        // only reads `size` bytes from the mapping. The pointer is non-null (direct-map base is far above 0).
        unsafe {
            PhysicalMapping::new(
                physical_address,
                NonNull::new_unchecked(virtual_address),
                size,
                size,
                *self,
            )
        }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// A local APIC the firmware lists as usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcessorApic {
    pub apic_id: u32,
}

/// Find the tables from the RSDP the boot loader gave, or by the BIOS
/// search (EBDA and 0xE0000-0xFFFFF) when it gave none.
fn tables(rsdp: Option<u64>) -> Option<AcpiTables<DirectMapHandler>> {
    let result = match rsdp {
        // SAFETY: the RSDP address came from the firmware (EFI configuration
        // table or boot_params); the crate validates signature and checksum
        // before trusting it, and reads through the direct map.
        Some(address) => unsafe { AcpiTables::from_rsdp(DirectMapHandler, address as usize) },
        // SAFETY: the BIOS areas searched are low RAM/ROM, in the direct map.
        None => unsafe { AcpiTables::search_for_rsdp_bios(DirectMapHandler) },
    };
    match result {
        Ok(tables) => Some(tables),
        Err(error) => {
            log::warn!("acpi: no usable tables ({:?})", error);
            None
        }
    }
}

/// The enabled (or online-capable) processors of the MADT, at most `limit`.
pub fn processors(rsdp: Option<u64>, limit: usize, out: &mut alloc::vec::Vec<ProcessorApic>) {
    let Some(tables) = tables(rsdp) else { return };
    let madt = match tables.find_table::<Madt>() {
        Ok(madt) => madt,
        Err(error) => {
            log::warn!("acpi: no MADT ({:?})", error);
            return;
        }
    };
    for entry in madt.get().entries() {
        let (apic_id, flags) = match entry {
            MadtEntry::LocalApic(entry) => (u32::from(entry.apic_id), entry.flags),
            MadtEntry::LocalX2Apic(entry) => (entry.x2apic_id, entry.flags),
            _ => continue,
        };
        // Bit 0: enabled; bit 1: online capable (may be enabled later).
        if flags & 0b11 == 0 || out.iter().any(|p| p.apic_id == apic_id) {
            continue;
        }
        if out.len() == limit {
            log::warn!("acpi: more than {} processors; the rest are not used", limit);
            break;
        }
        out.push(ProcessorApic { apic_id });
    }
}

/// The physical address of the ACPI multiprocessor wake-up mailbox (MADT
/// entry type 0x10), if the firmware provides one (TDVF does: TDX guests
/// wake APs through it, not with INIT/SIPI).
pub fn mp_wakeup_mailbox(rsdp: Option<u64>) -> Option<u64> {
    let tables = tables(rsdp)?;
    let madt = tables.find_table::<Madt>().ok()?;
    madt.get().entries().find_map(|entry| match entry {
        MadtEntry::MultiprocessorWakeup(wakeup) => Some(wakeup.mailbox_address),
        _ => None,
    })
}

/// An I/O APIC from the MADT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoApicInfo {
    pub id: u8,
    pub address: u32,
    pub gsi_base: u32,
}

/// An ISA IRQ that the firmware routes to a different GSI or polarity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterruptOverride {
    pub isa_irq: u8,
    pub gsi: u32,
    /// MPS INTI flags: polarity bits 1:0, trigger mode bits 3:2.
    pub flags: u16,
}

/// The MADT's I/O APICs and ISA interrupt overrides (at most 8 and 16).
pub fn io_apics(
    rsdp: Option<u64>,
    apics: &mut alloc::vec::Vec<IoApicInfo>,
    overrides: &mut alloc::vec::Vec<InterruptOverride>,
) {
    let Some(tables) = tables(rsdp) else { return };
    let Ok(madt) = tables.find_table::<Madt>() else { return };
    for entry in madt.get().entries() {
        match entry {
            MadtEntry::IoApic(entry) if apics.len() < 8 => apics.push(IoApicInfo {
                id: entry.io_apic_id,
                address: entry.io_apic_address,
                gsi_base: entry.global_system_interrupt_base,
            }),
            MadtEntry::InterruptSourceOverride(entry) if overrides.len() < 16 && entry.bus == 0 => {
                overrides.push(InterruptOverride { isa_irq: entry.irq, gsi: entry.global_system_interrupt, flags: entry.flags })
            }
            _ => {}
        }
    }
}

/// The ECAM window of PCI segment 0 from the MCFG table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EcamRegion {
    pub base: u64,
    pub start_bus: u8,
    pub end_bus: u8,
}

/// Segment 0's ECAM region, if the firmware lists one (QEMU's q35 does;
/// the `pc` machine has no MCFG). Only the first segment-0 entry counts,
/// and a region whose bus range is inverted is ignored.
pub fn pci_ecam(rsdp: Option<u64>) -> Option<EcamRegion> {
    let tables = tables(rsdp)?;
    let mcfg = tables.find_table::<acpi::mcfg::Mcfg>().ok()?;
    let mcfg = mcfg.get();
    let entry = mcfg.entries().iter().take(16).find(|entry| entry.pci_segment_group == 0)?;
    let region = EcamRegion { base: entry.base_address, start_bus: entry.bus_number_start, end_bus: entry.bus_number_end };
    if region.end_bus < region.start_bus || region.base & 0xf_ffff != 0 {
        log::warn!("acpi: MCFG entry {:x?} rejected", region);
        return None;
    }
    Some(region)
}
