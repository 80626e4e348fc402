//! virtio devices over PCI (the modern transport, `virtio-drivers`).
//!
//! [`probe`] scans PCI, checks each virtio function's capability list and
//! BARs with the framework's own bounded code ([`crate::pci`]) *before*
//! `virtio-drivers` reads them (its walk does not stop on a cycle), maps
//! the BARs as shared MMIO, and brings up the drivers. Found disks are
//! listed by [`block_devices`].
//!
//! Owns: the device list. Must never: hand a device private memory (the
//! [`hal`] bounces everything through shared buffers).

pub mod blk;
pub mod hal;

use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;

use virtio_drivers::device::blk::VirtIOBlk;
use virtio_drivers::transport::pci::bus::{ConfigurationAccess, DeviceFunction, PciRoot};
use virtio_drivers::transport::pci::PciTransport;

use crate::pci::{self, Bar, ConfigAccess as _, ConfigSpace, PciAddress, PciFunction};
use crate::sync::SpinLock;
pub use blk::{BlockDevice, BlockError, SECTOR_SIZE};

/// The vendor of every virtio PCI function.
const VIRTIO_VENDOR: u16 = 0x1af4;
/// virtio-blk: transitional and modern (0x1040 + type 2) device ids.
const BLK_TRANSITIONAL: u16 = 0x1001;
const BLK_MODERN: u16 = 0x1042;
/// Disks beyond this are ignored (names vda..vdz).
const MAX_DISKS: usize = 26;

static DISKS: SpinLock<Vec<Arc<BlockDevice>>> = SpinLock::new(Vec::new());

/// `virtio-drivers`' view of the framework's configuration space (its
/// register offsets are u8: within the 256-byte space either way).
struct Access(&'static ConfigSpace);

fn address(function: DeviceFunction) -> PciAddress {
    PciAddress { bus: function.bus, device: function.device, function: function.function }
}

impl ConfigurationAccess for Access {
    fn read_word(&self, function: DeviceFunction, register_offset: u8) -> u32 {
        self.0.read_u32(address(function), u16::from(register_offset))
    }
    fn write_word(&mut self, function: DeviceFunction, register_offset: u8, data: u32) {
        self.0.write_u32(address(function), u16::from(register_offset), data)
    }
    unsafe fn unsafe_clone(&self) -> Self {
        Access(self.0)
    }
}

/// Check the function's capabilities and BARs and map its memory BARs.
fn prepare(config: &ConfigSpace, function: &PciFunction) -> Result<(), pci::BadDevice> {
    pci::capabilities(config, function.address)?;
    for bar in pci::bars(config, function.address)?.into_iter().flatten() {
        if let Bar::Memory { address, size, .. } = bar {
            if crate::mm::dma::map_mmio(address, size).is_err() {
                return Err(pci::BadDevice::BadBar(0));
            }
        }
    }
    pci::enable(config, function.address, pci::COMMAND_MEMORY | pci::COMMAND_BUS_MASTER);
    Ok(())
}

/// Scan PCI (through `rsdp`'s MCFG, else ports) and bring up the virtio
/// devices found. Call once, at boot, after memory and the platform.
pub fn probe(rsdp: Option<u64>) {
    let config = ConfigSpace::global(rsdp);
    let functions = pci::scan(config);
    for function in &functions {
        log::debug!(
            "pci {}: {:04x}:{:04x} class {:02x}.{:02x}",
            function.address, function.vendor_id, function.device_id, function.class, function.subclass
        );
    }
    let disks: Vec<&PciFunction> = functions
        .iter()
        .filter(|f| f.vendor_id == VIRTIO_VENDOR && matches!(f.device_id, BLK_TRANSITIONAL | BLK_MODERN))
        .collect();
    if disks.is_empty() {
        return;
    }
    if !hal::init() {
        log::error!("virtio: no shared memory for the bounce sink: devices not started");
        return;
    }
    for function in disks {
        if DISKS.lock().len() == MAX_DISKS {
            log::warn!("virtio: more than {} disks: the rest are ignored", MAX_DISKS);
            break;
        }
        if let Err(error) = prepare(config, function) {
            log::warn!("virtio {}: rejected: {:?}", function.address, error);
            continue;
        }
        let mut root = PciRoot::new(Access(config));
        let at = function.address;
        let df = DeviceFunction { bus: at.bus, device: at.device, function: at.function };
        let transport = match PciTransport::new::<hal::UmbraHal, _>(&mut root, df) {
            Ok(transport) => transport,
            Err(error) => {
                log::warn!("virtio {}: transport: {}", at, error);
                continue;
            }
        };
        let driver = match VirtIOBlk::<hal::UmbraHal, _>::new(transport) {
            Ok(driver) => driver,
            Err(error) => {
                log::warn!("virtio {}: blk: {}", at, error);
                continue;
            }
        };
        let mut disks = DISKS.lock();
        let name = format!("vd{}", (b'a' + disks.len() as u8) as char);
        let disk = BlockDevice::new(name, driver);
        log::info!("virtio {}: {} with {} sectors{}", at, disk.name(), disk.sectors(), if disk.is_readonly() { " (read-only)" } else { "" });
        disks.push(Arc::new(disk));
    }
}

/// The disks found by [`probe`], in PCI order.
pub fn block_devices() -> Vec<Arc<BlockDevice>> {
    DISKS.lock().clone()
}
