//! PCI: configuration space ([`config`]), the bus scan, BAR sizing and
//! the capability-list walk.
//!
//! Every value read from a device comes from the (untrusted) host: vendor
//! and header fields are only compared, BARs must be power-of-two sized,
//! aligned and inside the shared window, and the capability walk is
//! bounded (offsets masked to the space, at most [`MAX_CAPABILITIES`]
//! entries, a revisited offset ends it as an error) before any driver
//! trusts the list.
//!
//! Owns: the scan and the checks. Must never: map a BAR it has not
//! checked, or loop on a host-made capability cycle.

#[cfg(target_os = "none")]
pub mod config;
#[cfg(test)]
mod tests;

use alloc::vec::Vec;
use core::ops::RangeInclusive;

#[cfg(target_os = "none")]
pub use config::ConfigSpace;

/// Bus, device and function of a PCI function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PciAddress {
    pub bus: u8,
    /// 0..32.
    pub device: u8,
    /// 0..8.
    pub function: u8,
}

impl core::fmt::Display for PciAddress {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus, self.device, self.function)
    }
}

/// Reads and writes configuration dwords ([`ConfigSpace`] in the kernel,
/// a fake device in tests). Out-of-range accesses read all ones and
/// write nothing.
pub trait ConfigAccess {
    /// The buses to scan.
    fn buses(&self) -> RangeInclusive<u8>;
    fn read_u32(&self, at: PciAddress, offset: u16) -> u32;
    fn write_u32(&self, at: PciAddress, offset: u16, value: u32);
}

/// Memory BARs must end below this: what the framework's shared window
/// can map for MMIO (`mm::dma::MMIO_SPAN`).
pub const MAX_BAR_END: u64 = 4 << 40;
#[cfg(target_os = "none")]
const _: () = assert!(MAX_BAR_END == crate::mm::dma::MMIO_SPAN);

/// Configuration registers (offsets in the type-0 header).
pub const VENDOR_ID: u16 = 0x00;
pub const COMMAND: u16 = 0x04;
pub const CLASS: u16 = 0x08;
pub const HEADER: u16 = 0x0c;
pub const BAR0: u16 = 0x10;
pub const CAPABILITIES_POINTER: u16 = 0x34;
pub const STATUS_HAS_CAPABILITIES: u32 = 1 << 4;

/// Command register bits.
pub const COMMAND_IO: u16 = 1 << 0;
pub const COMMAND_MEMORY: u16 = 1 << 1;
pub const COMMAND_BUS_MASTER: u16 = 1 << 2;

/// Capability ids.
pub const CAP_MSIX: u8 = 0x11;
pub const CAP_VENDOR: u8 = 0x09;

/// A walk longer than this is a cycle or garbage (256 bytes hold at most
/// 48 four-byte capabilities after the header).
pub const MAX_CAPABILITIES: usize = 48;
/// At most this many functions are kept from a scan.
const MAX_FUNCTIONS: usize = 256;

/// A base address register, sized and checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bar {
    Memory { address: u64, size: u64, prefetchable: bool, is_64bit: bool },
    Io { port: u16, size: u16 },
}

/// One function found by the scan.
#[derive(Clone, Debug)]
pub struct PciFunction {
    pub address: PciAddress,
    pub vendor_id: u16,
    pub device_id: u16,
    pub class: u8,
    pub subclass: u8,
    pub prog_if: u8,
    pub header_type: u8,
}

/// A capability: its id and the offset of its header in config space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability {
    pub id: u8,
    pub offset: u16,
}

/// Why a device's configuration was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadDevice {
    CapabilityCycle,
    TooManyCapabilities,
    BadCapabilityPointer(u16),
    BadBar(u8),
}

/// Every function on the accessor's buses (type-0 and bridge headers
/// alike; a function reading vendor 0xffff is absent).
pub fn scan(config: &impl ConfigAccess) -> Vec<PciFunction> {
    let mut found = Vec::new();
    for bus in config.buses() {
        for device in 0..32 {
            for function in 0..8 {
                let address = PciAddress { bus, device, function };
                let id = config.read_u32(address, VENDOR_ID);
                if id as u16 == 0xffff || id as u16 == 0 {
                    if function == 0 {
                        break;
                    }
                    continue;
                }
                let class = config.read_u32(address, CLASS);
                let header_type = (config.read_u32(address, HEADER) >> 16) as u8;
                if found.len() == MAX_FUNCTIONS {
                    log::warn!("pci: more than {} functions: the rest are ignored", MAX_FUNCTIONS);
                    return found;
                }
                found.push(PciFunction {
                    address,
                    vendor_id: id as u16,
                    device_id: (id >> 16) as u16,
                    class: (class >> 24) as u8,
                    subclass: (class >> 16) as u8,
                    prog_if: (class >> 8) as u8,
                    header_type,
                });
                // Bit 7: multi-function; otherwise functions 1-7 are absent.
                if function == 0 && header_type & 0x80 == 0 {
                    break;
                }
            }
        }
    }
    found
}

/// The capability list, walked with every step checked.
pub fn capabilities(config: &impl ConfigAccess, at: PciAddress) -> Result<Vec<Capability>, BadDevice> {
    let mut list = Vec::new();
    let status = config.read_u32(at, COMMAND) >> 16;
    if status & STATUS_HAS_CAPABILITIES == 0 {
        return Ok(list);
    }
    let mut offset = (config.read_u32(at, CAPABILITIES_POINTER) & 0xff) as u16;
    while offset != 0 {
        // Capabilities live after the 64-byte header, dword aligned.
        if offset < 0x40 || !offset.is_multiple_of(4) || offset > 0xfc {
            return Err(BadDevice::BadCapabilityPointer(offset));
        }
        if list.iter().any(|c: &Capability| c.offset == offset) {
            return Err(BadDevice::CapabilityCycle);
        }
        if list.len() == MAX_CAPABILITIES {
            return Err(BadDevice::TooManyCapabilities);
        }
        let header = config.read_u32(at, offset);
        list.push(Capability { id: header as u8, offset });
        offset = ((header >> 8) & 0xff) as u16;
    }
    Ok(list)
}

/// Set bits in the command register.
pub fn enable(config: &impl ConfigAccess, at: PciAddress, bits: u16) {
    let command = config.read_u32(at, COMMAND) as u16;
    // The status half is write-one-to-clear: write zeros there.
    config.write_u32(at, COMMAND, u32::from(command | bits));
}

/// Size and check BAR `index` (0..6) of a type-0 header: `Ok(None)` for
/// an unused BAR or the upper half of a 64-bit one. Decoding is off while
/// the BAR holds the sizing pattern.
pub fn bar(config: &impl ConfigAccess, at: PciAddress, index: u8) -> Result<Option<Bar>, BadDevice> {
    if index >= 6 {
        return Err(BadDevice::BadBar(index));
    }
    let register = BAR0 + 4 * u16::from(index);
    let command = config.read_u32(at, COMMAND) as u16;
    config.write_u32(at, COMMAND, u32::from(command & !(COMMAND_IO | COMMAND_MEMORY)));
    let original = config.read_u32(at, register);
    config.write_u32(at, register, u32::MAX);
    let mask = config.read_u32(at, register);
    config.write_u32(at, register, original);
    let is_io = original & 1 == 1;
    let is_64bit = !is_io && original & 0b110 == 0b100;
    let (original_high, mask_high) = if is_64bit && index < 5 {
        let high = register + 4;
        let original_high = config.read_u32(at, high);
        config.write_u32(at, high, u32::MAX);
        let mask_high = config.read_u32(at, high);
        config.write_u32(at, high, original_high);
        (original_high, mask_high)
    } else {
        (0, if mask == 0 { 0 } else { u32::MAX })
    };
    config.write_u32(at, COMMAND, u32::from(command));
    if is_64bit && index == 5 {
        return Err(BadDevice::BadBar(index));
    }
    if mask == 0 {
        return Ok(None);
    }
    let bar = if is_io {
        let size_mask = (mask & !0b11) | 0xffff_0000;
        let size = (!size_mask).wrapping_add(1);
        let port = original & !0b11;
        if !size.is_power_of_two() || port > 0xffff || port + size > 0x1_0000 || !port.is_multiple_of(size) {
            return Err(BadDevice::BadBar(index));
        }
        Bar::Io { port: port as u16, size: size as u16 }
    } else {
        let size_mask = (u64::from(mask_high) << 32) | u64::from(mask & !0xf);
        let size = (!size_mask).wrapping_add(1);
        let address = (u64::from(original_high) << 32) | u64::from(original & !0xf);
        let fits = address.checked_add(size).is_some_and(|end| end <= MAX_BAR_END);
        if size < 16 || !size.is_power_of_two() || !address.is_multiple_of(size) || !fits {
            log::warn!("pci {}: BAR{} at {:#x}, size {:#x}: refused", at, index, address, size);
            return Err(BadDevice::BadBar(index));
        }
        Bar::Memory { address, size, prefetchable: original & 0b1000 != 0, is_64bit }
    };
    Ok(Some(bar))
}

/// All six BARs (a 64-bit BAR's upper half reads as `None`).
pub fn bars(config: &impl ConfigAccess, at: PciAddress) -> Result<[Option<Bar>; 6], BadDevice> {
    let mut bars = [None; 6];
    let mut index = 0;
    while index < 6 {
        let found = bar(config, at, index)?;
        bars[usize::from(index)] = found;
        index += if matches!(found, Some(Bar::Memory { is_64bit: true, .. })) { 2 } else { 1 };
    }
    Ok(bars)
}
