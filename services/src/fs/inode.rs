//! The interfaces a filesystem implements: [`Inode`] (one file, directory,
//! symlink or node) and [`FileSystem`] (a mounted instance: root inode and
//! `statfs` numbers).
//!
//! Owns: those traits and their argument types. Inode methods do the
//! filesystem's part only: the VFS (path walk, `ops_*` modules) has
//! already resolved names, checked permissions and Linux's argument rules,
//! and keeps the dentry cache coherent. A method a kind of inode does not
//! support keeps its default, which returns the errno Linux gives.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicU32, Ordering};

use super::device::Device;
use super::types::{DeviceId, InodeType, Metadata, SetAttr};
use crate::error::Result;
use crate::return_errno_with_message;

/// Receives directory entries from [`Inode::readdir_at`].
pub trait DirentSink {
    /// Offer one entry; `next_offset` is the directory position just after
    /// it. Returns `false` if the entry was not taken (the sink is full);
    /// the directory then stops.
    fn push(&mut self, name: &[u8], ino: u64, kind: InodeType, next_offset: u64) -> bool;
}

/// `renameat2` flags (Linux values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenameFlags(u32);

impl RenameFlags {
    pub const NOREPLACE: RenameFlags = RenameFlags(1);
    pub const EXCHANGE: RenameFlags = RenameFlags(2);
    pub const WHITEOUT: RenameFlags = RenameFlags(4);

    pub const fn empty() -> Self {
        RenameFlags(0)
    }
    /// The raw `flags`; unknown bits are kept so the VFS can refuse them.
    pub const fn from_bits(bits: u32) -> Self {
        RenameFlags(bits)
    }
    pub const fn bits(self) -> u32 {
        self.0
    }
    pub const fn contains(self, other: RenameFlags) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn union(self, other: RenameFlags) -> RenameFlags {
        RenameFlags(self.0 | other.0)
    }
}

/// Initial attributes of a new inode, decided by the VFS (owner from the
/// credentials and the parent's setgid bit, permission bits after umask).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewInode {
    /// `mode & 0o7777`.
    pub perm: u32,
    pub uid: u32,
    pub gid: u32,
    /// For device nodes.
    pub rdev: DeviceId,
}

/// One file, directory, symlink or special node of a filesystem.
pub trait Inode: Any + Send + Sync {
    fn metadata(&self) -> Metadata;

    fn ino(&self) -> u64 {
        self.metadata().ino
    }

    fn kind(&self) -> InodeType {
        self.metadata().kind
    }

    /// For downcasting between inodes of one filesystem (rename, link).
    fn as_any(&self) -> &dyn Any;

    /// Apply attribute changes (the VFS has checked who may).
    fn set_attr(&self, attr: &SetAttr) -> Result<()>;

    // ---- data ----

    fn read_at(&self, _offset: u64, _buf: &mut [u8]) -> Result<usize> {
        if self.kind().is_dir() {
            return_errno_with_message!(EISDIR, "read of a directory");
        }
        return_errno_with_message!(EINVAL, "inode has no data")
    }

    fn write_at(&self, _offset: u64, _buf: &[u8]) -> Result<usize> {
        if self.kind().is_dir() {
            return_errno_with_message!(EISDIR, "write to a directory");
        }
        return_errno_with_message!(EINVAL, "inode has no data")
    }

    /// Write at the current end of file, atomically with respect to other
    /// writers (`O_APPEND`). Returns bytes written and the new end.
    fn append(&self, buf: &[u8]) -> Result<(usize, u64)> {
        let end = self.metadata().size;
        let written = self.write_at(end, buf)?;
        Ok((written, end + written as u64))
    }

    /// Set the size (truncate or extend with zeros).
    fn resize(&self, _size: u64) -> Result<()> {
        if self.kind().is_dir() {
            return_errno_with_message!(EISDIR, "truncate of a directory");
        }
        return_errno_with_message!(EINVAL, "inode cannot be resized")
    }

    /// `SEEK_DATA` (`data`) or `SEEK_HOLE` from `offset` (< size, checked by
    /// the caller). Default: the whole file is data, the hole is at EOF.
    fn seek_data_or_hole(&self, offset: u64, data: bool) -> Result<u64> {
        Ok(if data { offset } else { self.metadata().size })
    }

    /// `false` for pipes, sockets, ttys: `lseek`/`pread`/`pwrite` give `ESPIPE`.
    fn is_seekable(&self) -> bool {
        true
    }

    /// The driver behind a character-device node (`None`: not a device
    /// node, or no driver registered for its number).
    fn device(&self) -> Option<Arc<dyn Device>> {
        None
    }

    /// Per-open behaviour of a regular file whose bytes are not plain data
    /// (sysfs and configfs attributes; Linux `f_op->open`/`release`):
    /// called on every `open` after the VFS permission checks. `Some`
    /// routes this open's `read`/`write`/`ioctl`/`poll` to the returned
    /// handler, which is dropped on the last close of the open file; an
    /// error refuses the open. Default: plain data (`read_at`/`write_at`).
    fn open_file(&self, _flags: u32) -> Result<Option<Arc<dyn Device>>> {
        Ok(None)
    }

    // ---- directories ----

    fn lookup(&self, _name: &[u8]) -> Result<Arc<dyn Inode>> {
        return_errno_with_message!(ENOTDIR, "lookup in a non-directory")
    }

    /// Create `name` of `kind` (not a symlink). `EEXIST` if present.
    fn create(&self, _name: &[u8], _kind: InodeType, _init: NewInode) -> Result<Arc<dyn Inode>> {
        return_errno_with_message!(ENOTDIR, "create in a non-directory")
    }

    fn mkdir(&self, name: &[u8], init: NewInode) -> Result<Arc<dyn Inode>> {
        self.create(name, InodeType::Dir, init)
    }

    /// Create a symlink `name` -> `target`.
    fn symlink(&self, _name: &[u8], _target: &[u8], _init: NewInode) -> Result<Arc<dyn Inode>> {
        return_errno_with_message!(ENOTDIR, "symlink in a non-directory")
    }

    /// Add `name` as another link to `target` (same filesystem, not a
    /// directory: checked by the VFS).
    fn link(&self, _name: &[u8], _target: &Arc<dyn Inode>) -> Result<()> {
        return_errno_with_message!(ENOTDIR, "link in a non-directory")
    }

    /// Remove a non-directory entry (`EISDIR` for a directory).
    fn unlink(&self, _name: &[u8]) -> Result<()> {
        return_errno_with_message!(ENOTDIR, "unlink in a non-directory")
    }

    /// Remove an empty directory entry (`ENOTDIR`, `ENOTEMPTY`).
    fn rmdir(&self, _name: &[u8]) -> Result<()> {
        return_errno_with_message!(ENOTDIR, "rmdir in a non-directory")
    }

    /// Move `old_name` here to `new_name` in `new_dir` (same filesystem,
    /// else `EXDEV`), replacing a compatible target unless `NOREPLACE`,
    /// swapping with `EXCHANGE`.
    fn rename(&self, _old_name: &[u8], _new_dir: &Arc<dyn Inode>, _new_name: &[u8], _flags: RenameFlags) -> Result<()> {
        return_errno_with_message!(ENOTDIR, "rename in a non-directory")
    }

    /// Offer entries from position `offset` on (0 and 1 are "." and "..",
    /// later positions are stable across insertions and removals).
    fn readdir_at(&self, _offset: u64, _sink: &mut dyn DirentSink) -> Result<()> {
        return_errno_with_message!(ENOTDIR, "readdir of a non-directory")
    }

    // ---- symlinks ----

    fn read_link(&self) -> Result<Vec<u8>> {
        return_errno_with_message!(EINVAL, "not a symlink")
    }
}

/// Numbers for `statfs` (Linux `struct kstatfs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatFs {
    /// `f_type`, e.g. `TMPFS_MAGIC`.
    pub magic: u64,
    pub block_size: u64,
    pub blocks: u64,
    pub blocks_free: u64,
    pub blocks_available: u64,
    pub files: u64,
    pub files_free: u64,
    pub name_max: u64,
    pub fsid: u64,
    /// `ST_*` mount flags (`f_flags`).
    pub flags: u64,
}

/// A filesystem instance.
pub trait FileSystem: Any + Send + Sync {
    fn root(&self) -> Arc<dyn Inode>;
    fn statfs(&self) -> StatFs;
    /// The type name (`/proc/mounts` third column), e.g. "tmpfs".
    fn name(&self) -> &'static str;
    /// `st_dev` of its inodes.
    fn dev(&self) -> DeviceId;
    /// Its own mount options for `/proc/mounts`, each after a comma
    /// (Linux's `show_options`: those that differ from the defaults).
    fn show_options(&self) -> alloc::vec::Vec<u8> {
        alloc::vec::Vec::new()
    }
}

/// A fresh anonymous device number (major 0) for an in-memory filesystem,
/// as Linux's `get_anon_bdev` hands out.
pub fn anonymous_device_id() -> DeviceId {
    static NEXT_MINOR: AtomicU32 = AtomicU32::new(16);
    DeviceId::new(0, NEXT_MINOR.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Errno;
    use crate::fs::clock::Timespec;

    /// An inode that implements only what is required.
    struct Bare(InodeType);

    impl Inode for Bare {
        fn metadata(&self) -> Metadata {
            Metadata {
                dev: DeviceId::NONE,
                ino: 9,
                kind: self.0,
                perm: 0o644,
                nlink: 1,
                uid: 0,
                gid: 0,
                rdev: DeviceId::NONE,
                size: 5,
                blksize: 4096,
                blocks: 0,
                atime: Timespec::ZERO,
                mtime: Timespec::ZERO,
                ctime: Timespec::ZERO,
                btime: Timespec::ZERO,
            }
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
        fn set_attr(&self, _: &SetAttr) -> Result<()> {
            Ok(())
        }
    }

    struct Nothing;
    impl DirentSink for Nothing {
        fn push(&mut self, _: &[u8], _: u64, _: InodeType, _: u64) -> bool {
            false
        }
    }

    fn errno<T>(result: Result<T>) -> Errno {
        result.err().map(|e| e.errno()).expect("an error")
    }

    #[test]
    fn defaults_give_linux_errnos() {
        let file: Arc<dyn Inode> = Arc::new(Bare(InodeType::File));
        let dir = Bare(InodeType::Dir);
        let init = NewInode { perm: 0, uid: 0, gid: 0, rdev: DeviceId::NONE };
        assert_eq!((file.ino(), file.kind()), (9, InodeType::File));
        assert_eq!(errno(file.read_at(0, &mut [0u8; 1])), Errno::EINVAL);
        assert_eq!(errno(dir.read_at(0, &mut [0u8; 1])), Errno::EISDIR);
        assert_eq!(errno(file.write_at(0, b"x")), Errno::EINVAL);
        assert_eq!(errno(dir.write_at(0, b"x")), Errno::EISDIR);
        assert_eq!(errno(file.append(b"x")), Errno::EINVAL);
        assert_eq!(errno(file.resize(0)), Errno::EINVAL);
        assert_eq!(errno(dir.resize(0)), Errno::EISDIR);
        assert_eq!(file.seek_data_or_hole(1, true).unwrap(), 1);
        assert_eq!(file.seek_data_or_hole(1, false).unwrap(), 5);
        assert!(file.is_seekable());
        assert!(file.device().is_none());
        assert!(file.open_file(0).unwrap().is_none());
        assert_eq!(errno(file.lookup(b"x")), Errno::ENOTDIR);
        assert_eq!(errno(file.create(b"x", InodeType::File, init)), Errno::ENOTDIR);
        assert_eq!(errno(file.mkdir(b"x", init)), Errno::ENOTDIR);
        assert_eq!(errno(file.symlink(b"x", b"y", init)), Errno::ENOTDIR);
        assert_eq!(errno(file.link(b"x", &file)), Errno::ENOTDIR);
        assert_eq!(errno(file.unlink(b"x")), Errno::ENOTDIR);
        assert_eq!(errno(file.rmdir(b"x")), Errno::ENOTDIR);
        assert_eq!(errno(file.rename(b"x", &file, b"y", RenameFlags::empty())), Errno::ENOTDIR);
        assert_eq!(errno(file.readdir_at(0, &mut Nothing)), Errno::ENOTDIR);
        assert_eq!(errno(file.read_link()), Errno::EINVAL);
        assert!(file.set_attr(&SetAttr::default()).is_ok());
        assert!(file.as_any().downcast_ref::<Bare>().is_some());
    }

    #[test]
    fn anonymous_device_ids_are_distinct() {
        let (a, b) = (anonymous_device_id(), anonymous_device_id());
        assert_eq!(a.major, 0);
        assert_ne!(a, b);
    }
}
