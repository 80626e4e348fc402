//! configfs attribute files (fs/configfs/file.c): text attributes are
//! shown once per open (on the first read, again after a write) and
//! stored write by write (at most 4095 bytes each); binary attributes are
//! read whole once per open and written into a per-open buffer that is
//! committed when the open file is released (its last close).
//!
//! Owns: those buffers and Linux's errors — `EACCES` opening for an
//! access the attribute lacks (even for root), `EFBIG` past a binary
//! attribute's maximum, `ETXTBSY` mixing reads and writes of a binary
//! attribute in one open, `ENOENT` once the item is gone, `EFAULT` for
//! an empty write.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, Ordering};

use services::error::Result;
use services::fs::device::Device;
use services::fs::flags::{O_ACCMODE, O_RDONLY, O_WRONLY};
use services::fs::inode::Inode;
use services::fs::types::{InodeType, Metadata, SetAttr};
use services::return_errno_with_message;

use super::{dev, ConfigItem};
use crate::node::{metadata, next_ino};
use crate::sync::SleepMutex;

/// configfs' `SIMPLE_ATTR_SIZE`: a text attribute is at most one page,
/// and one write stores at most this minus one bytes.
pub const SIMPLE_ATTR_SIZE: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrKind {
    Text,
    /// A binary attribute of at most `max` bytes (0: unlimited).
    Bin { max: usize },
}

/// One attribute file of an item.
#[derive(Clone, Copy, Debug)]
pub struct AttrDesc {
    pub name: &'static str,
    /// Permission bits (`CONFIGFS_ATTR_RO` 0444, `_WO` 0200, `_RW` 0644).
    pub perm: u32,
    pub kind: AttrKind,
    /// Passed back to the item's methods.
    pub id: usize,
}

impl AttrDesc {
    fn readable(&self) -> bool {
        self.perm & 0o444 != 0
    }
    fn writable(&self) -> bool {
        self.perm & 0o222 != 0
    }
}

/// An attribute file.
pub struct ConfigAttr {
    ino: u64,
    desc: AttrDesc,
    item: Arc<dyn ConfigItem>,
    dead: Arc<AtomicBool>,
}

impl ConfigAttr {
    pub(super) fn new(desc: AttrDesc, item: Arc<dyn ConfigItem>, dead: Arc<AtomicBool>) -> Arc<ConfigAttr> {
        Arc::new(ConfigAttr { ino: next_ino(), desc, item, dead })
    }

    fn check_alive(&self) -> Result<()> {
        if self.dead.load(Ordering::Acquire) {
            return_errno_with_message!(ENOENT, "the configfs item was removed");
        }
        Ok(())
    }
}

impl Inode for ConfigAttr {
    fn metadata(&self) -> Metadata {
        let size = match self.desc.kind {
            AttrKind::Text => SIMPLE_ATTR_SIZE as u64,
            AttrKind::Bin { .. } => 0,
        };
        metadata(dev(), self.ino, InodeType::File, self.desc.perm, size, crate::node::time())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn set_attr(&self, _attr: &SetAttr) -> Result<()> {
        return_errno_with_message!(EPERM, "configfs attributes are fixed here")
    }

    /// `__configfs_open_file`.
    fn open_file(&self, flags: u32) -> Result<Option<Arc<dyn Device>>> {
        self.check_alive()?;
        let (reads, writes) = match flags & O_ACCMODE {
            O_RDONLY => (true, false),
            O_WRONLY => (false, true),
            _ => (true, true),
        };
        if (writes && !self.desc.writable()) || (reads && !self.desc.readable()) {
            return_errno_with_message!(EACCES, "configfs attribute lacks that access");
        }
        let open = AttrOpen {
            desc: self.desc,
            item: self.item.clone(),
            dead: self.dead.clone(),
            state: SleepMutex::new(OpenState { needs_fill: true, ..OpenState::default() }),
        };
        Ok(Some(Arc::new(open)))
    }

    /// `O_TRUNC` changes nothing.
    fn resize(&self, _size: u64) -> Result<()> {
        Ok(())
    }
}

#[derive(Default)]
struct OpenState {
    needs_fill: bool,
    /// Text: what `show` gave. Binary: what was read or is being written.
    buffer: Vec<u8>,
    reading: bool,
    writing: bool,
}

/// One open of an attribute file (`struct configfs_buffer`).
struct AttrOpen {
    desc: AttrDesc,
    item: Arc<dyn ConfigItem>,
    dead: Arc<AtomicBool>,
    /// Held across the item's methods (Linux `buffer->mutex`): making a
    /// report may wait on the host.
    state: SleepMutex<OpenState>,
}

impl AttrOpen {
    fn check_alive(&self) -> Result<()> {
        if self.dead.load(Ordering::Acquire) {
            return_errno_with_message!(ENOENT, "the configfs item was removed");
        }
        Ok(())
    }

    fn copy_out(buffer: &[u8], offset: u64, buf: &mut [u8]) -> usize {
        let Some(start) = usize::try_from(offset).ok().filter(|&o| o < buffer.len()) else {
            return 0;
        };
        let n = buf.len().min(buffer.len() - start);
        buf[..n].copy_from_slice(&buffer[start..start + n]);
        n
    }
}

impl Device for AttrOpen {
    fn read(&self, offset: u64, buf: &mut [u8], _nonblocking: bool) -> Result<usize> {
        let mut state = self.state.lock();
        match self.desc.kind {
            AttrKind::Text => {
                if state.needs_fill {
                    self.check_alive()?;
                    let mut text = self.item.show(self.desc.id)?;
                    text.truncate(SIMPLE_ATTR_SIZE);
                    state.buffer = text;
                    state.needs_fill = false;
                }
            }
            AttrKind::Bin { max } => {
                if state.writing {
                    return_errno_with_message!(ETXTBSY, "binary attribute open for writing");
                }
                state.reading = true;
                if state.needs_fill {
                    self.check_alive()?;
                    let blob = self.item.read_blob(self.desc.id)?;
                    if blob.is_empty() {
                        return Ok(0);
                    }
                    if max != 0 && blob.len() > max {
                        return_errno_with_message!(EFBIG, "binary attribute larger than its maximum");
                    }
                    state.buffer = blob;
                    state.needs_fill = false;
                }
            }
        }
        Ok(Self::copy_out(&state.buffer, offset, buf))
    }

    fn write(&self, offset: u64, data: &[u8], _nonblocking: bool) -> Result<usize> {
        let mut state = self.state.lock();
        match self.desc.kind {
            AttrKind::Text => {
                let data = &data[..data.len().min(SIMPLE_ATTR_SIZE - 1)];
                state.needs_fill = true;
                if data.is_empty() {
                    return_errno_with_message!(EFAULT, "empty configfs write");
                }
                self.check_alive()?;
                self.item.store(self.desc.id, data)
            }
            AttrKind::Bin { max } => {
                if state.reading {
                    return_errno_with_message!(ETXTBSY, "binary attribute open for reading");
                }
                state.writing = true;
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                let Some(end) = start.checked_add(data.len()) else {
                    return_errno_with_message!(EFBIG, "binary attribute write past its maximum");
                };
                if end > state.buffer.len() {
                    if max != 0 && end > max {
                        return_errno_with_message!(EFBIG, "binary attribute write past its maximum");
                    }
                    state.buffer.resize(end, 0);
                }
                if data.is_empty() {
                    return_errno_with_message!(EFAULT, "empty configfs write");
                }
                state.buffer[start..end].copy_from_slice(data);
                Ok(data.len())
            }
        }
    }
}

impl Drop for AttrOpen {
    /// `configfs_release_bin_file`: commit what this open wrote.
    fn drop(&mut self) {
        let state = self.state.lock();
        if matches!(self.desc.kind, AttrKind::Bin { .. }) && state.writing && !self.dead.load(Ordering::Acquire) {
            let _ = self.item.write_blob(self.desc.id, &state.buffer);
        }
    }
}
