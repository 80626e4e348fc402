//! The scan, BAR and capability checks against a fake (and hostile)
//! configuration space.

use alloc::vec;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::ops::RangeInclusive;

use super::*;

/// One function at 00:03.0 with a 256-byte space; BAR writes behave as
/// a real BAR of `bar_sizes[i]` bytes (0: unused).
struct FakeDevice {
    space: RefCell<Vec<u32>>,
    bar_sizes: [u64; 6],
}

const AT: PciAddress = PciAddress { bus: 0, device: 3, function: 0 };

impl FakeDevice {
    fn new() -> Self {
        let mut space = vec![0u32; 64];
        space[0] = 0x1042_1af4; // virtio-blk, modern
        space[2] = 0x0100_0000; // class 01 (storage)
        FakeDevice { space: RefCell::new(space), bar_sizes: [0; 6] }
    }
    fn set(&self, offset: u16, value: u32) {
        self.space.borrow_mut()[usize::from(offset / 4)] = value;
    }
    /// Capabilities at the given offsets, each pointing to the next
    /// (`next` overrides the pointers).
    fn with_capabilities(self, list: &[(u8, u16, u16)]) -> Self {
        self.set(COMMAND, STATUS_HAS_CAPABILITIES << 16);
        self.set(CAPABILITIES_POINTER, u32::from(list[0].1));
        for &(id, offset, next) in list {
            self.set(offset, u32::from(id) | (u32::from(next) << 8));
        }
        self
    }
}

impl ConfigAccess for FakeDevice {
    fn buses(&self) -> RangeInclusive<u8> {
        0..=0
    }
    fn read_u32(&self, at: PciAddress, offset: u16) -> u32 {
        if at != AT || offset >= 256 {
            return u32::MAX;
        }
        self.space.borrow()[usize::from(offset / 4)]
    }
    fn write_u32(&self, at: PciAddress, offset: u16, value: u32) {
        if at != AT || offset >= 256 {
            return;
        }
        let index = usize::from(offset / 4);
        let mut space = self.space.borrow_mut();
        if (4..10).contains(&index) && value == u32::MAX {
            // Sizing: the BAR answers its size mask (flags kept).
            let bar = index - 4;
            let flags = space[index] & 0xf;
            let size = if bar > 0 && space[index - 1] & 0b110 == 0b100 && self.bar_sizes[bar] == 0 {
                // Upper half of a 64-bit BAR.
                (!(self.bar_sizes[bar - 1] - 1) >> 32) as u32
            } else if self.bar_sizes[bar] == 0 {
                0
            } else {
                (!(self.bar_sizes[bar] - 1) as u32 & !0xf) | flags
            };
            space[index] = size;
            return;
        }
        space[index] = value;
    }
}

#[test]
fn scan_finds_the_one_function() {
    let device = FakeDevice::new();
    let found = scan(&device);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].vendor_id, found[0].device_id, found[0].class), (0x1af4, 0x1042, 1));
    assert_eq!(found[0].address, AT);
}

#[test]
fn capability_walk_stops_on_cycles_and_bad_pointers() {
    let good = FakeDevice::new().with_capabilities(&[(CAP_VENDOR, 0x40, 0x50), (CAP_MSIX, 0x50, 0)]);
    assert_eq!(
        capabilities(&good, AT),
        Ok(vec![Capability { id: CAP_VENDOR, offset: 0x40 }, Capability { id: CAP_MSIX, offset: 0x50 }])
    );
    let cycle = FakeDevice::new().with_capabilities(&[(CAP_VENDOR, 0x40, 0x50), (CAP_VENDOR, 0x50, 0x40)]);
    assert_eq!(capabilities(&cycle, AT), Err(BadDevice::CapabilityCycle));
    let into_header = FakeDevice::new().with_capabilities(&[(CAP_VENDOR, 0x40, 0x10)]);
    assert_eq!(capabilities(&into_header, AT), Err(BadDevice::BadCapabilityPointer(0x10)));
    let unaligned = FakeDevice::new().with_capabilities(&[(CAP_VENDOR, 0x40, 0x45)]);
    assert_eq!(capabilities(&unaligned, AT), Err(BadDevice::BadCapabilityPointer(0x45)));
    let none = FakeDevice::new();
    assert_eq!(capabilities(&none, AT), Ok(vec![]));
}

#[test]
fn bars_are_sized_and_checked() {
    let mut device = FakeDevice::new();
    device.bar_sizes = [0x1000, 0, 0, 0, 0x4000, 0];
    device.set(BAR0, 0xfebd_0000);
    device.set(BAR0 + 16, 0xfe00_0000 | 0b1100); // 64-bit prefetchable
    device.set(BAR0 + 20, 0);
    device.set(COMMAND, u32::from(COMMAND_MEMORY));
    let bars = bars(&device, AT).expect("valid BARs");
    assert_eq!(bars[0], Some(Bar::Memory { address: 0xfebd_0000, size: 0x1000, prefetchable: false, is_64bit: false }));
    assert_eq!(bars[4], Some(Bar::Memory { address: 0xfe00_0000, size: 0x4000, prefetchable: true, is_64bit: true }));
    assert_eq!(bars[1], None);
    // Sizing restored the BARs and the command register.
    assert_eq!(device.read_u32(AT, BAR0), 0xfebd_0000);
    assert_eq!(device.read_u32(AT, COMMAND) as u16, COMMAND_MEMORY);
}

#[test]
fn hostile_bars_are_refused() {
    // Not aligned to its size.
    let mut device = FakeDevice::new();
    device.bar_sizes[0] = 0x2000;
    device.set(BAR0, 0xfebd_1000);
    assert_eq!(bar(&device, AT, 0), Err(BadDevice::BadBar(0)));
    // Beyond the shared window (64-bit BAR at 4 TiB).
    let mut device = FakeDevice::new();
    device.bar_sizes[0] = 0x1000;
    device.set(BAR0, 0b100);
    device.set(BAR0 + 4, 0x400);
    assert_eq!(bar(&device, AT, 0), Err(BadDevice::BadBar(0)));
    // A 64-bit BAR in the last slot has no upper half.
    let mut device = FakeDevice::new();
    device.bar_sizes[5] = 0x1000;
    device.set(BAR0 + 20, 0xfe00_0000 | 0b100);
    assert_eq!(bar(&device, AT, 5), Err(BadDevice::BadBar(5)));
    assert_eq!(bar(&device, AT, 6), Err(BadDevice::BadBar(6)));
}
