//! An open file description (Linux `struct file`): a path, the open
//! flags, a file position, and the driver for device nodes.
//!
//! Owns: `read`/`write`/`pread`/`pwrite`/`lseek`/`getdents64`/`ftruncate`/
//! `ioctl`/`poll` on an already open file, with Linux's errno rules
//! (`EBADF` for the wrong access mode or an `O_PATH` file, `EISDIR` for
//! data I/O on a directory, `ESPIPE` for positioned I/O on a stream,
//! `EINVAL` for negative positions). Opening is in [`super::open`].
//! Shared by every fd `dup`ed from one open and kept alive as long as any
//! holds it, which keeps an unlinked inode alive too.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU32, Ordering};

use super::device::{Device, PollEvents};
use super::dirent::Dirent64Writer;
use super::flags::*;
use super::inode::Inode;
use super::path::Path;
use super::ramfs::data::MAX_FILE_SIZE;
use super::types::{InodeType, Metadata};
use crate::error::Result;
use crate::return_errno_with_message;
use crate::sync::Mutex;

pub struct OpenFile {
    path: Path,
    device: Option<Arc<dyn Device>>,
    /// What `F_GETFL` returns: access mode and status flags.
    flags: AtomicU32,
    position: Mutex<u64>,
}

impl core::fmt::Debug for OpenFile {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.debug_struct("OpenFile").field("path", &self.path).field("flags", &self.flags()).finish()
    }
}

impl OpenFile {
    /// A new open file; `flags` as passed to `open` (the bits Linux does
    /// not keep are dropped, `O_LARGEFILE` is added as on 64-bit Linux).
    pub fn new(path: Path, flags: u32, device: Option<Arc<dyn Device>>) -> Arc<OpenFile> {
        let kept = if flags & O_PATH != 0 {
            flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW)
        } else {
            (flags & !OPEN_ONLY_FLAGS) | O_LARGEFILE
        };
        Arc::new(OpenFile { path, device, flags: AtomicU32::new(kept), position: Mutex::new(0) })
    }

    /// A file no `open` made (a pipe end, as Linux's `alloc_file_pseudo`):
    /// `flags` are kept as given, without the `O_LARGEFILE` open adds.
    pub fn new_pseudo(path: Path, flags: u32, device: Option<Arc<dyn Device>>) -> Arc<OpenFile> {
        Arc::new(OpenFile { path, device, flags: AtomicU32::new(flags), position: Mutex::new(0) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The device driver behind this file, if it is a device node.
    pub fn device(&self) -> Option<&Arc<dyn Device>> {
        self.device.as_ref()
    }

    pub fn inode(&self) -> &Arc<dyn Inode> {
        self.path.inode()
    }

    pub fn metadata(&self) -> Metadata {
        self.inode().metadata()
    }

    /// `F_GETFL`.
    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Acquire)
    }

    /// `F_SETFL`: only `O_APPEND`, `O_NONBLOCK`, `O_ASYNC`, `O_DIRECT`,
    /// `O_NOATIME` change; other bits are ignored, as on Linux.
    pub fn set_flags(&self, flags: u32) -> Result<()> {
        if self.is_path_only() {
            return_errno_with_message!(EBADF, "F_SETFL on an O_PATH file");
        }
        let _ = self.flags.fetch_update(Ordering::AcqRel, Ordering::Acquire, |old| {
            Some((old & !SETFL_MASK) | (flags & SETFL_MASK))
        });
        Ok(())
    }

    /// Opened with `O_PATH`: only a location (fstat, dirfd, fchdir).
    pub fn is_path_only(&self) -> bool {
        self.flags() & O_PATH != 0
    }

    pub fn is_readable(&self) -> bool {
        !self.is_path_only() && matches!(self.flags() & O_ACCMODE, O_RDONLY | O_RDWR)
    }

    pub fn is_writable(&self) -> bool {
        !self.is_path_only() && matches!(self.flags() & O_ACCMODE, O_WRONLY | O_RDWR)
    }

    fn is_nonblocking(&self) -> bool {
        self.flags() & O_NONBLOCK != 0
    }

    fn is_seekable(&self) -> bool {
        match &self.device {
            Some(device) => device.is_seekable(),
            None => self.inode().is_seekable(),
        }
    }

    /// The current position (`lseek(fd, 0, SEEK_CUR)` without the checks).
    pub fn position(&self) -> u64 {
        *self.position.lock()
    }

    fn check_readable(&self) -> Result<()> {
        if !self.is_readable() {
            return_errno_with_message!(EBADF, "file not open for reading");
        }
        if self.path.kind() == InodeType::Dir {
            return_errno_with_message!(EISDIR, "read of a directory");
        }
        Ok(())
    }

    fn check_writable(&self) -> Result<()> {
        if !self.is_writable() {
            return_errno_with_message!(EBADF, "file not open for writing");
        }
        Ok(())
    }

    fn read_raw(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        match &self.device {
            Some(device) => device.read(offset, buf, self.is_nonblocking()),
            None => self.inode().read_at(offset, buf),
        }
    }

    fn write_raw(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        match &self.device {
            Some(device) => device.write(offset, buf, self.is_nonblocking()),
            None => self.inode().write_at(offset, buf),
        }
    }

    /// `read`: from the file position, which advances. Streams have no
    /// position and are read without holding the position lock (a
    /// driver may block in `read` while another thread writes).
    pub fn read(&self, buf: &mut [u8]) -> Result<usize> {
        self.check_readable()?;
        if !self.is_seekable() {
            return self.read_raw(0, buf);
        }
        let mut position = self.position.lock();
        let read = self.read_raw(*position, buf)?;
        *position += read as u64;
        Ok(read)
    }

    /// `write`: at the file position (at the end with `O_APPEND`).
    pub fn write(&self, buf: &[u8]) -> Result<usize> {
        self.check_writable()?;
        if !self.is_seekable() {
            return self.write_raw(0, buf);
        }
        let mut position = self.position.lock();
        if self.device.is_none() && self.flags() & O_APPEND != 0 {
            let (written, end) = self.inode().append(buf)?;
            *position = end;
            return Ok(written);
        }
        let written = self.write_raw(*position, buf)?;
        *position += written as u64;
        Ok(written)
    }

    fn check_positioned(&self, offset: i64) -> Result<u64> {
        if !self.is_seekable() {
            return_errno_with_message!(ESPIPE, "positioned I/O on a stream");
        }
        if offset < 0 {
            return_errno_with_message!(EINVAL, "negative offset");
        }
        Ok(offset as u64)
    }

    /// `pread64`: at `offset`; the file position does not move.
    pub fn pread(&self, buf: &mut [u8], offset: i64) -> Result<usize> {
        self.check_readable()?;
        let offset = self.check_positioned(offset)?;
        self.read_raw(offset, buf)
    }

    /// `pwrite64`: at `offset` — or, as Linux does, at the end when the
    /// file has `O_APPEND`; the file position does not move.
    pub fn pwrite(&self, buf: &[u8], offset: i64) -> Result<usize> {
        self.check_writable()?;
        let offset = self.check_positioned(offset)?;
        if self.device.is_none() && self.flags() & O_APPEND != 0 {
            return Ok(self.inode().append(buf)?.0);
        }
        self.write_raw(offset, buf)
    }

    /// `lseek`. Directories take `SEEK_SET`/`SEEK_CUR` (positions are
    /// readdir cookies); `SEEK_DATA`/`SEEK_HOLE` give `ENXIO` at or past
    /// the end.
    pub fn seek(&self, offset: i64, whence: u32) -> Result<u64> {
        if self.is_path_only() {
            return_errno_with_message!(EBADF, "lseek on an O_PATH file");
        }
        if !self.is_seekable() {
            return_errno_with_message!(ESPIPE, "lseek on a stream");
        }
        let is_dir = self.path.kind() == InodeType::Dir;
        let mut position = self.position.lock();
        let new = match whence {
            SEEK_SET => Some(offset),
            SEEK_CUR => (*position as i64).checked_add(offset),
            SEEK_END if !is_dir => {
                let size = match &self.device {
                    Some(device) => device.size(),
                    None => self.metadata().size,
                };
                (size as i64).checked_add(offset)
            }
            SEEK_DATA | SEEK_HOLE if !is_dir && self.device.is_none() => {
                let size = self.metadata().size;
                if offset < 0 || offset as u64 >= size {
                    return_errno_with_message!(ENXIO, "SEEK_DATA/SEEK_HOLE at or past the end");
                }
                let found = self.inode().seek_data_or_hole(offset as u64, whence == SEEK_DATA)?;
                Some(found as i64)
            }
            _ => return_errno_with_message!(EINVAL, "unsupported whence"),
        };
        match new {
            Some(new) if new >= 0 && new as u64 <= MAX_FILE_SIZE => {
                *position = new as u64;
                Ok(new as u64)
            }
            _ => return_errno_with_message!(EINVAL, "resulting offset negative or too large"),
        }
    }

    /// `getdents64`: as many `linux_dirent64` records as fit in `buf`;
    /// 0 at the end; `EINVAL` if not even one record fits.
    pub fn getdents64(&self, buf: &mut [u8]) -> Result<usize> {
        if self.is_path_only() {
            return_errno_with_message!(EBADF, "getdents64 on an O_PATH file");
        }
        if self.path.kind() != InodeType::Dir {
            return_errno_with_message!(ENOTDIR, "getdents64 on a non-directory");
        }
        // iterate_dir's IS_DEADDIR: a removed directory lists nothing.
        if self.metadata().nlink == 0 {
            return_errno_with_message!(ENOENT, "getdents64 of a removed directory");
        }
        let mut position = self.position.lock();
        let mut writer = Dirent64Writer::new(buf);
        self.inode().readdir_at(*position, &mut writer)?;
        match writer.next_offset() {
            Some(next) => {
                *position = next;
                Ok(writer.written())
            }
            None => {
                // Nothing taken: either the end, or the first record did
                // not fit. Ask once more with an unlimited sink.
                let mut probe = ProbeSink(false);
                self.inode().readdir_at(*position, &mut probe)?;
                if probe.0 {
                    return_errno_with_message!(EINVAL, "buffer too small for a directory entry");
                }
                Ok(0)
            }
        }
    }

    /// `ftruncate`: `EINVAL` unless a regular file open for writing, or
    /// for a negative length.
    pub fn truncate(&self, length: i64) -> Result<()> {
        if self.is_path_only() {
            return_errno_with_message!(EBADF, "ftruncate on an O_PATH file");
        }
        if length < 0 {
            return_errno_with_message!(EINVAL, "negative length");
        }
        if self.path.kind() != InodeType::File || !self.is_writable() {
            return_errno_with_message!(EINVAL, "ftruncate needs a regular file open for writing");
        }
        if self.path.mount().is_readonly() {
            return_errno_with_message!(EROFS, "read-only mount");
        }
        self.inode().resize(length as u64)
    }

    /// `ioctl`: the device's, else `ENOTTY`.
    pub fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64> {
        if self.is_path_only() {
            return_errno_with_message!(EBADF, "ioctl on an O_PATH file");
        }
        match &self.device {
            Some(device) => device.ioctl(cmd, arg),
            None => return_errno_with_message!(ENOTTY, "not a device"),
        }
    }

    /// Readiness for `poll`/`select`: files and directories are always
    /// ready; devices answer themselves.
    pub fn poll(&self, interest: PollEvents) -> PollEvents {
        if self.is_path_only() {
            return PollEvents::NVAL;
        }
        match &self.device {
            Some(device) => device.poll(interest),
            None => PollEvents::always_ready(interest),
        }
    }
}

/// Notes whether a directory has any entry at a position.
struct ProbeSink(bool);

impl super::inode::DirentSink for ProbeSink {
    fn push(&mut self, _: &[u8], _: u64, _: InodeType, _: u64) -> bool {
        self.0 = true;
        false
    }
}
