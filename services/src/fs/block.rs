//! Block device nodes (`/dev/vda`, ...) over the framework's virtio-blk
//! disks: byte-addressed reads and writes (whole sectors moved to and
//! from the device, read-modify-write for partial ones), `lseek` from the
//! capacity, `fsync` as a device flush, and Linux's size ioctls.
//!
//! No cache yet: every call goes to the device (writes are written
//! through, so a flush only asks the device to persist its own cache).

use alloc::sync::Arc;
use alloc::vec;

use framework::virtio::{BlockDevice, BlockError, SECTOR_SIZE};

use super::device::{register_block_device, Device};
use super::devfs::register_block_node;
use super::types::DeviceId;
use crate::error::{Error, Result};
use crate::{errno, uaccess};

/// `_IO(0x12, 94)`: read-only flag (int).
pub const BLKROGET: u32 = 0x125e;
/// `_IO(0x12, 96)`: size in 512-byte sectors (unsigned long).
pub const BLKGETSIZE: u32 = 0x1260;
/// `_IO(0x12, 97)`: flush buffers.
pub const BLKFLSBUF: u32 = 0x1261;
/// `_IO(0x12, 104)`: logical sector size (int).
pub const BLKSSZGET: u32 = 0x1268;
/// `_IO(0x12, 123)`: physical sector size (unsigned int).
pub const BLKPBSZGET: u32 = 0x127b;
/// `_IOR(0x12, 114, size_t)`: size in bytes (u64).
pub const BLKGETSIZE64: u32 = 0x8008_1272;

/// The major Linux's virtio-blk usually gets (`register_blkdev(0, ...)`
/// hands out 254 first); each disk has 16 minors (partitions later).
pub const VIRTBLK_MAJOR: u32 = 254;
/// Debian's `disk` group.
const GID_DISK: u32 = 6;
/// Bytes moved per read/write call (larger calls return short counts, as
/// Linux may).
const MAX_IO: usize = 1 << 20;

fn io_error(error: BlockError) -> Error {
    match error {
        BlockError::OutOfRange => errno!(EINVAL, "block request out of range"),
        BlockError::ReadOnly => errno!(EROFS, "read-only disk"),
        BlockError::Io => errno!(EIO, "disk I/O error"),
    }
}

/// A disk as a device-node driver.
pub struct Disk(Arc<BlockDevice>);

impl Disk {
    /// The sector span covering `[offset, offset + len)`.
    fn span(offset: u64, len: usize) -> (u64, usize) {
        let first = offset / SECTOR_SIZE as u64;
        let end = (offset + len as u64).div_ceil(SECTOR_SIZE as u64);
        (first, ((end - first) as usize) * SECTOR_SIZE)
    }

    /// How many bytes from `offset` a call of `wanted` bytes moves.
    fn clamp(&self, offset: u64, wanted: usize) -> usize {
        let left = self.0.size_bytes().saturating_sub(offset);
        wanted.min(MAX_IO).min(usize::try_from(left).unwrap_or(usize::MAX))
    }
}

impl Device for Disk {
    fn read(&self, offset: u64, buf: &mut [u8], _nonblocking: bool) -> Result<usize> {
        let len = self.clamp(offset, buf.len());
        if len == 0 {
            return Ok(0);
        }
        let buf = &mut buf[..len];
        let (first, bytes) = Self::span(offset, len);
        if offset.is_multiple_of(SECTOR_SIZE as u64) && bytes == len {
            self.0.read_sectors(first, buf).map_err(io_error)?;
        } else {
            let mut sectors = vec![0u8; bytes];
            self.0.read_sectors(first, &mut sectors).map_err(io_error)?;
            let skip = (offset % SECTOR_SIZE as u64) as usize;
            buf.copy_from_slice(&sectors[skip..skip + len]);
        }
        Ok(len)
    }

    fn write(&self, offset: u64, buf: &[u8], _nonblocking: bool) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let len = self.clamp(offset, buf.len());
        if len == 0 {
            return Err(errno!(ENOSPC, "write at the end of the disk"));
        }
        let buf = &buf[..len];
        let (first, bytes) = Self::span(offset, len);
        if offset.is_multiple_of(SECTOR_SIZE as u64) && bytes == len {
            self.0.write_sectors(first, buf).map_err(io_error)?;
        } else {
            // Partial sectors: read them, patch, write back.
            let mut sectors = vec![0u8; bytes];
            self.0.read_sectors(first, &mut sectors).map_err(io_error)?;
            let skip = (offset % SECTOR_SIZE as u64) as usize;
            sectors[skip..skip + len].copy_from_slice(buf);
            self.0.write_sectors(first, &sectors).map_err(io_error)?;
        }
        Ok(len)
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64> {
        match cmd {
            BLKGETSIZE64 => uaccess::write_u64(arg, self.0.size_bytes())?,
            BLKGETSIZE => uaccess::write_u64(arg, self.0.sectors())?,
            BLKSSZGET | BLKPBSZGET => uaccess::write_u32(arg, SECTOR_SIZE as u32)?,
            BLKROGET => uaccess::write_u32(arg, u32::from(self.0.is_readonly()))?,
            BLKFLSBUF => self.0.flush().map_err(io_error)?,
            _ => return Err(errno!(ENOTTY, "unsupported block device ioctl")),
        }
        Ok(0)
    }

    fn size(&self) -> u64 {
        self.0.size_bytes()
    }

    fn fsync(&self) -> Result<()> {
        self.0.flush().map_err(io_error)
    }
}

/// Register every disk the framework found as `/dev/vdX` (254, 16 * X).
/// Call before the boot tree mounts `/dev`.
pub fn register_disks() {
    for (index, disk) in framework::virtio::block_devices().into_iter().enumerate() {
        let id = DeviceId::new(VIRTBLK_MAJOR, (index as u32) * 16);
        register_block_node(disk.name(), id, 0o660, GID_DISK);
        register_block_device(id, Arc::new(Disk(disk)));
    }
}
