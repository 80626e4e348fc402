//! The sysfs nodes a driver here hangs into `/sys` (through
//! `services::fs::procfs::attach_sysfs`): fixed directories, read-only
//! text attributes, symlinks and binary attributes, with the rules of
//! Linux's sysfs/kernfs for them.
//!
//! Owns: those rules — a binary attribute of size N reads nothing at or
//! past N and is clipped there; a write at or past N is `EFBIG`, longer
//! ones are clipped to N; opening for writing a file without write
//! permission bits (or without a write method) is `EACCES` even for root,
//! as `kernfs_fop_open` refuses it; attributes are fixed (`EPERM` on
//! chmod, as the sysfs skeleton in services answers).
//!
//! Must never: call a binary attribute with an offset or length outside
//! its size.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use services::error::Result;
use services::fs::device::Device;
use services::fs::flags::{O_ACCMODE, O_RDONLY, O_WRONLY};
use services::fs::inode::{anonymous_device_id, DirentSink, Inode};
use services::fs::types::{DeviceId, InodeType, Metadata, SetAttr};
use services::return_errno_with_message;

use crate::node::{metadata, next_ino};

/// The device number all attestation sysfs nodes report (`st_dev`).
fn sysfs_dev() -> DeviceId {
    static DEV: spin::Once<DeviceId> = spin::Once::new();
    *DEV.call_once(anonymous_device_id)
}

/// `EACCES` unless the open's access mode fits the file (`readable`,
/// `writable`: has the permission bits and the method).
fn check_open(flags: u32, readable: bool, writable: bool) -> Result<()> {
    let (reads, writes) = match flags & O_ACCMODE {
        O_RDONLY => (true, false),
        O_WRONLY => (false, true),
        _ => (true, true),
    };
    if (reads && !readable) || (writes && !writable) {
        return_errno_with_message!(EACCES, "sysfs attribute lacks that access");
    }
    Ok(())
}

/// A fixed sysfs directory.
pub struct SysDir {
    ino: u64,
    entries: Vec<(&'static str, Arc<dyn Inode>)>,
}

impl SysDir {
    pub fn new(entries: Vec<(&'static str, Arc<dyn Inode>)>) -> Arc<SysDir> {
        Arc::new(SysDir { ino: next_ino(), entries })
    }
}

impl Inode for SysDir {
    fn metadata(&self) -> Metadata {
        metadata(sysfs_dev(), self.ino, InodeType::Dir, 0o755, 0, crate::node::time())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn set_attr(&self, _attr: &SetAttr) -> Result<()> {
        return_errno_with_message!(EPERM, "sysfs attributes are fixed")
    }
    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        match self.entries.iter().find(|(n, _)| n.as_bytes() == name) {
            Some((_, inode)) => Ok(inode.clone()),
            None => return_errno_with_message!(ENOENT, "no such sysfs entry"),
        }
    }
    fn create(&self, _name: &[u8], _kind: services::fs::types::InodeType, _init: services::fs::inode::NewInode) -> Result<Arc<dyn Inode>> {
        return_errno_with_message!(EACCES, "sysfs directories take no new entries")
    }
    fn readdir_at(&self, offset: u64, sink: &mut dyn DirentSink) -> Result<()> {
        if offset == 0 && !sink.push(b".", self.ino, InodeType::Dir, 1) {
            return Ok(());
        }
        if offset <= 1 && !sink.push(b"..", self.ino, InodeType::Dir, 2) {
            return Ok(());
        }
        let skip = offset.saturating_sub(2) as usize;
        for (index, (name, inode)) in self.entries.iter().enumerate().skip(skip) {
            if !sink.push(name.as_bytes(), inode.ino(), inode.kind(), index as u64 + 3) {
                break;
            }
        }
        Ok(())
    }
}

/// A read-only text attribute with fixed contents (`dev`, `uevent`).
pub struct SysText {
    ino: u64,
    text: Vec<u8>,
}

impl SysText {
    pub fn new(text: Vec<u8>) -> Arc<SysText> {
        Arc::new(SysText { ino: next_ino(), text })
    }
}

impl Inode for SysText {
    fn metadata(&self) -> Metadata {
        // sysfs text attributes report one page as their size.
        metadata(sysfs_dev(), self.ino, InodeType::File, 0o444, 4096, crate::node::time())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn set_attr(&self, _attr: &SetAttr) -> Result<()> {
        return_errno_with_message!(EPERM, "sysfs attributes are fixed")
    }
    fn open_file(&self, flags: u32) -> Result<Option<Arc<dyn Device>>> {
        check_open(flags, true, false)?;
        Ok(None)
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(self.text.len());
        let n = buf.len().min(self.text.len() - start);
        buf[..n].copy_from_slice(&self.text[start..start + n]);
        Ok(n)
    }
    fn resize(&self, _size: u64) -> Result<()> {
        Ok(())
    }
}

/// A sysfs symlink (target relative to the link's directory).
pub struct SysLink {
    ino: u64,
    target: &'static [u8],
}

impl SysLink {
    pub fn new(target: &'static [u8]) -> Arc<SysLink> {
        Arc::new(SysLink { ino: next_ino(), target })
    }
}

impl Inode for SysLink {
    fn metadata(&self) -> Metadata {
        metadata(sysfs_dev(), self.ino, InodeType::Symlink, 0o777, 0, crate::node::time())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn set_attr(&self, _attr: &SetAttr) -> Result<()> {
        return_errno_with_message!(EPERM, "sysfs attributes are fixed")
    }
    fn read_link(&self) -> Result<Vec<u8>> {
        Ok(self.target.to_vec())
    }
}

/// What a binary attribute does; [`SysBin`] has already clipped the
/// range to `[0, SIZE)` and dropped empty accesses.
pub trait BinAttr: Send + Sync + 'static {
    /// `None`: not readable (no read method).
    fn read(&self, offset: usize, buf: &mut [u8]) -> Option<Result<usize>>;
    /// `None`: not writable (no write method).
    fn write(&self, offset: usize, data: &[u8]) -> Option<Result<usize>>;
    fn readable(&self) -> bool;
    fn writable(&self) -> bool;
}

/// A binary sysfs attribute of a fixed size (Linux `bin_attribute`).
pub struct SysBin<A: BinAttr> {
    ino: u64,
    size: usize,
    attr: A,
    /// Mode bits the attribute declares (e.g. 0400 for ACPI tables);
    /// `None`: derived from its methods.
    mode: Option<u32>,
}

impl<A: BinAttr> SysBin<A> {
    pub fn new(size: usize, attr: A) -> Arc<SysBin<A>> {
        Arc::new(SysBin { ino: next_ino(), size, attr, mode: None })
    }

    /// A binary attribute with explicit mode bits (Linux `attr.mode`).
    pub fn with_mode(size: usize, attr: A, mode: u32) -> Arc<SysBin<A>> {
        Arc::new(SysBin { ino: next_ino(), size, attr, mode: Some(mode & 0o777) })
    }

    /// Mode bits: the declared ones, else as sysfs derives them: 0444 if
    /// readable, 0200 if writable.
    fn perm(&self) -> u32 {
        self.mode.unwrap_or((if self.attr.readable() { 0o444 } else { 0 }) | (if self.attr.writable() { 0o200 } else { 0 }))
    }
}

impl<A: BinAttr> Inode for SysBin<A> {
    fn metadata(&self) -> Metadata {
        metadata(sysfs_dev(), self.ino, InodeType::File, self.perm(), self.size as u64, crate::node::time())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn set_attr(&self, _attr: &SetAttr) -> Result<()> {
        return_errno_with_message!(EPERM, "sysfs attributes are fixed")
    }
    fn open_file(&self, flags: u32) -> Result<Option<Arc<dyn Device>>> {
        check_open(flags, self.attr.readable(), self.attr.writable())?;
        Ok(None)
    }
    /// `sysfs_kf_bin_read`.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let Some(offset) = usize::try_from(offset).ok().filter(|&o| o < self.size) else {
            return Ok(0);
        };
        let count = buf.len().min(self.size - offset);
        match self.attr.read(offset, &mut buf[..count]) {
            Some(result) => result,
            None => return_errno_with_message!(EIO, "binary attribute has no read method"),
        }
    }
    /// `sysfs_kf_bin_write`.
    fn write_at(&self, offset: u64, data: &[u8]) -> Result<usize> {
        let Some(offset) = usize::try_from(offset).ok().filter(|&o| o < self.size) else {
            return_errno_with_message!(EFBIG, "write at or past the end of a binary attribute");
        };
        let count = data.len().min(self.size - offset);
        if count == 0 {
            return Ok(0);
        }
        match self.attr.write(offset, &data[..count]) {
            Some(result) => result,
            None => return_errno_with_message!(EIO, "binary attribute has no write method"),
        }
    }
    /// `O_TRUNC` on a sysfs file changes nothing.
    fn resize(&self, _size: u64) -> Result<()> {
        Ok(())
    }
}
