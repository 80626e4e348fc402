//! PCI configuration space access: ECAM (memory-mapped, from the ACPI
//! MCFG table) when the firmware lists it, else the legacy port mechanism
//! (address at 0xCF8, data at 0xCFC), which goes through [`Port`] and so
//! through the platform's port-I/O path (TDVMCALL / GHCB on a TEE).
//!
//! Owns: the one configuration-space accessor and its ECAM mapping. Must
//! never: touch an offset outside the function's space (every offset is
//! checked here, so callers may pass host-derived ones).

use core::ops::RangeInclusive;

use super::{ConfigAccess, PciAddress};
use crate::arch::port::Port;
use crate::sync::SpinLock;

/// Buses of the ECAM window that are mapped and scanned: enough for
/// QEMU's root bus and a few bridges, without mapping all 256 MiB.
pub const ECAM_MAX_BUSES: u16 = 8;
/// Buses scanned through the port mechanism.
const PORT_BUSES: RangeInclusive<u8> = 0..=7;

enum Mechanism {
    /// `base` is the kernel address of bus `buses.start()`'s space.
    Ecam { base: usize, buses: RangeInclusive<u8> },
    Ports,
}

/// Serialises the address/data pair of the port mechanism.
static PORT_LOCK: SpinLock<()> = SpinLock::new(());

static GLOBAL: spin::Once<ConfigSpace> = spin::Once::new();

/// The configuration space of every function on the scanned buses.
pub struct ConfigSpace {
    mechanism: Mechanism,
}

impl ConfigSpace {
    /// ECAM from the MCFG table of `rsdp`'s tables, else ports.
    pub fn discover(rsdp: Option<u64>) -> Self {
        if let Some(region) = crate::acpi_tables::pci_ecam(rsdp) {
            let buses = u16::from(region.end_bus - region.start_bus) + 1;
            let buses = buses.min(ECAM_MAX_BUSES);
            let end_bus = region.start_bus + (buses - 1) as u8;
            match crate::mm::dma::map_mmio(region.base, u64::from(buses) << 20) {
                Ok(base) => {
                    log::info!("pci: ECAM at {:#x}, buses {}..={}", region.base, region.start_bus, end_bus);
                    return ConfigSpace { mechanism: Mechanism::Ecam { base, buses: region.start_bus..=end_bus } };
                }
                Err(error) => log::warn!("pci: cannot map ECAM at {:#x} ({:?}): using ports", region.base, error),
            }
        }
        log::info!("pci: no MCFG: configuration through ports 0xcf8/0xcfc");
        ConfigSpace { mechanism: Mechanism::Ports }
    }

    /// The port mechanism, whatever the firmware lists.
    pub fn ports() -> Self {
        ConfigSpace { mechanism: Mechanism::Ports }
    }

    /// The accessor the kernel uses, discovered on first call.
    pub fn global(rsdp: Option<u64>) -> &'static ConfigSpace {
        GLOBAL.call_once(|| ConfigSpace::discover(rsdp))
    }

    /// The buses this accessor reaches.
    fn buses(&self) -> RangeInclusive<u8> {
        match &self.mechanism {
            Mechanism::Ecam { buses, .. } => buses.clone(),
            Mechanism::Ports => PORT_BUSES,
        }
    }

    /// Size of one function's space: 4 KiB (ECAM) or 256 bytes (ports).
    pub fn space_size(&self) -> u16 {
        match self.mechanism {
            Mechanism::Ecam { .. } => 4096,
            Mechanism::Ports => 256,
        }
    }

    fn valid(&self, at: PciAddress, offset: u16) -> bool {
        at.device < 32 && at.function < 8 && offset.is_multiple_of(4) && offset < self.space_size() && self.buses().contains(&at.bus)
    }

    /// The ECAM address of `(at, offset)`; `valid` must hold.
    fn ecam_address(base: usize, first_bus: u8, at: PciAddress, offset: u16) -> usize {
        base + (usize::from(at.bus - first_bus) << 20)
            + (usize::from(at.device) << 15)
            + (usize::from(at.function) << 12)
            + usize::from(offset)
    }

    fn port_address(at: PciAddress, offset: u16) -> u32 {
        (1 << 31) | (u32::from(at.bus) << 16) | (u32::from(at.device) << 11) | (u32::from(at.function) << 8) | u32::from(offset & 0xfc)
    }

    /// The dword at `offset` (4-aligned); all ones (what an absent
    /// function reads as) for an offset or address out of range.
    fn read(&self, at: PciAddress, offset: u16) -> u32 {
        if !self.valid(at, offset) {
            return u32::MAX;
        }
        match &self.mechanism {
            Mechanism::Ecam { base, buses } => {
                let address = Self::ecam_address(*base, *buses.start(), at, offset);
                // SAFETY: `valid` put the address inside the ECAM window
                // mapped (uncached, shared) in `discover`, 4-aligned;
                // configuration reads have no effect on memory.
                unsafe { core::ptr::read_volatile(address as *const u32) }
            }
            Mechanism::Ports => {
                let _serialised = PORT_LOCK.lock();
                // SAFETY: the configuration mechanism's ports; selecting
                // and reading a register has no effect on memory.
                let (address, data) = unsafe { (Port::new(0xcf8), Port::new(0xcfc)) };
                address.write_u32(Self::port_address(at, offset));
                data.read_u32()
            }
        }
    }

    /// Write the dword at `offset` (ignored when out of range).
    fn write(&self, at: PciAddress, offset: u16, value: u32) {
        if !self.valid(at, offset) {
            return;
        }
        match &self.mechanism {
            Mechanism::Ecam { base, buses } => {
                let address = Self::ecam_address(*base, *buses.start(), at, offset);
                // SAFETY: as in `read_u32`; the framework only writes
                // registers it owns (command, BARs while sizing).
                unsafe { core::ptr::write_volatile(address as *mut u32, value) }
            }
            Mechanism::Ports => {
                let _serialised = PORT_LOCK.lock();
                // SAFETY: as in `read_u32`.
                let (address, data) = unsafe { (Port::new(0xcf8), Port::new(0xcfc)) };
                address.write_u32(Self::port_address(at, offset));
                data.write_u32(value);
            }
        }
    }
}

impl ConfigAccess for ConfigSpace {
    fn buses(&self) -> RangeInclusive<u8> {
        ConfigSpace::buses(self)
    }
    fn read_u32(&self, at: PciAddress, offset: u16) -> u32 {
        self.read(at, offset)
    }
    fn write_u32(&self, at: PciAddress, offset: u16, value: u32) {
        self.write(at, offset, value)
    }
}

mod tests {
    use super::*;
    use crate::ktest;

    /// Both mechanisms see the same header of every function on bus 0
    /// (QEMU's q35 has MCFG, so this checks the port path against ECAM).
    #[ktest]
    fn ports_and_ecam_agree() {
        let Some(global) = GLOBAL.get() else { return };
        let ports = ConfigSpace::ports();
        let functions = crate::pci::scan(global);
        assert!(!functions.is_empty(), "no PCI function found");
        for function in functions.iter().filter(|f| f.address.bus == 0) {
            for offset in (0..0x40).step_by(4) {
                if offset == 0x04 {
                    continue; // status bits may change between reads
                }
                assert_eq!(
                    global.read_u32(function.address, offset),
                    ports.read_u32(function.address, offset),
                    "{} offset {:#x}",
                    function.address,
                    offset
                );
            }
        }
        // Out of range: all ones, never a wild access.
        let at = PciAddress { bus: 0, device: 32, function: 0 };
        assert_eq!(ports.read_u32(at, 0), u32::MAX);
        assert_eq!(ports.read_u32(PciAddress { bus: 0, device: 0, function: 0 }, 256), u32::MAX);
    }
}
