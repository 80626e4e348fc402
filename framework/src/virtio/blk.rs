//! virtio-blk disks as a safe block-device API for the layers above:
//! whole 512-byte sectors, bounds checked against the capacity read once
//! at probe time, requests split to the bounce size.
//!
//! A device that fails a request or breaks the queue protocol is marked
//! broken and gets no more requests (no reset yet).
//!
//! Interrupts: none yet. Each request is submitted and its completion
//! polled (`virtio-drivers`' blocking calls); MSI-X comes later.

use alloc::string::String;
use core::sync::atomic::{AtomicBool, Ordering};

use virtio_drivers::device::blk::VirtIOBlk;
use virtio_drivers::transport::pci::PciTransport;

use super::hal::{self, UmbraHal, MAX_BOUNCE};
use crate::sync::Mutex;

/// Bytes per sector (virtio-blk's unit, whatever the device's block size).
pub const SECTOR_SIZE: usize = 512;
/// Sectors moved per device request.
const SECTORS_PER_REQUEST: usize = MAX_BOUNCE / SECTOR_SIZE;

/// Why a block request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockError {
    /// Beyond the end of the disk, or a buffer not a whole number of sectors.
    OutOfRange,
    ReadOnly,
    /// The device failed the request or answered nonsense.
    Io,
}

/// One virtio-blk disk.
pub struct BlockDevice {
    name: String,
    sectors: u64,
    readonly: bool,
    /// Set when the device failed a request or answered out of protocol
    /// (wrong descriptor id, bad status): the queue state is then
    /// unknown, so every later request fails instead of trusting it.
    broken: AtomicBool,
    driver: Mutex<VirtIOBlk<UmbraHal, PciTransport>>,
}

impl BlockDevice {
    pub(super) fn new(name: String, driver: VirtIOBlk<UmbraHal, PciTransport>) -> Self {
        // The capacity is host data: keep byte offsets representable.
        let sectors = driver.capacity().min(u64::MAX / SECTOR_SIZE as u64 / 2);
        let readonly = driver.readonly();
        BlockDevice { name, sectors, readonly, broken: AtomicBool::new(false), driver: Mutex::new(driver) }
    }

    /// The kernel's name for it (`vda`, `vdb`, ...).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Size in sectors.
    pub fn sectors(&self) -> u64 {
        self.sectors
    }

    /// Size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.sectors * SECTOR_SIZE as u64
    }

    pub fn is_readonly(&self) -> bool {
        self.readonly
    }

    fn fail(&self) -> BlockError {
        if !self.broken.swap(true, Ordering::AcqRel) {
            log::error!("{}: device misbehaved: no more requests go to it", self.name);
        }
        BlockError::Io
    }

    fn check(&self, sector: u64, len: usize) -> Result<(), BlockError> {
        if self.broken.load(Ordering::Acquire) {
            return Err(BlockError::Io);
        }
        if !len.is_multiple_of(SECTOR_SIZE) {
            return Err(BlockError::OutOfRange);
        }
        let count = (len / SECTOR_SIZE) as u64;
        match sector.checked_add(count) {
            Some(end) if end <= self.sectors => Ok(()),
            _ => Err(BlockError::OutOfRange),
        }
    }

    /// Read whole sectors starting at `sector` into `buf`.
    pub fn read_sectors(&self, sector: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.check(sector, buf.len())?;
        let mut driver = self.driver.lock();
        for (index, chunk) in buf.chunks_mut(SECTORS_PER_REQUEST * SECTOR_SIZE).enumerate() {
            let at = sector + (index * SECTORS_PER_REQUEST) as u64;
            hal::reserve(chunk.len());
            let result = driver.read_blocks(at as usize, chunk);
            if hal::take_bounce_failure() || result.is_err() {
                log::warn!("{}: read of sector {} failed: {:?}", self.name, at, result.err());
                return Err(self.fail());
            }
        }
        Ok(())
    }

    /// Write whole sectors starting at `sector` from `buf`.
    pub fn write_sectors(&self, sector: u64, buf: &[u8]) -> Result<(), BlockError> {
        if self.readonly {
            return Err(BlockError::ReadOnly);
        }
        self.check(sector, buf.len())?;
        let mut driver = self.driver.lock();
        for (index, chunk) in buf.chunks(SECTORS_PER_REQUEST * SECTOR_SIZE).enumerate() {
            let at = sector + (index * SECTORS_PER_REQUEST) as u64;
            hal::reserve(chunk.len());
            let result = driver.write_blocks(at as usize, chunk);
            if hal::take_bounce_failure() || result.is_err() {
                log::warn!("{}: write of sector {} failed: {:?}", self.name, at, result.err());
                return Err(self.fail());
            }
        }
        Ok(())
    }

    /// Ask the device to make written data durable (a no-op for devices
    /// without a write cache to flush).
    pub fn flush(&self) -> Result<(), BlockError> {
        if self.broken.load(Ordering::Acquire) {
            return Err(BlockError::Io);
        }
        let mut driver = self.driver.lock();
        hal::reserve(16);
        let result = driver.flush();
        if hal::take_bounce_failure() || result.is_err() {
            log::warn!("{}: flush failed: {:?}", self.name, result.err());
            return Err(self.fail());
        }
        Ok(())
    }
}
