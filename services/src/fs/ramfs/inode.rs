//! A ramfs inode: metadata plus its content (file pages, directory
//! entries, symlink target, or nothing for device/FIFO/socket nodes),
//! under one lock per inode.
//!
//! Owns: the [`Inode`] implementation of ramfs, link counts, the
//! timestamps Linux updates on each operation (write: mtime+ctime; read:
//! atime, relatime rule; create/unlink/rename: the directories'
//! mtime+ctime and the inode's ctime). Namespace changes (create, link,
//! unlink, rmdir, rename) take the filesystem's namespace lock first, then
//! directory locks, then child locks, so they never deadlock.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::any::Any;

use super::data::{FileData, PAGE_SIZE};
use super::dir::DirEntries;
use super::Shared;
use crate::error::Result;
use crate::fs::clock::{now, Timespec};
use crate::fs::device::{block_device, char_device, Device};
use crate::fs::inode::{DirentSink, Inode, NewInode, RenameFlags};
use crate::fs::types::{DeviceId, InodeType, Metadata, SetAttr, MODE_PERM_MASK};
use crate::sync::RwLock;
use crate::{errno, return_errno_with_message};

/// tmpfs reports a directory's size as 20 bytes per entry (`BOGO_DIRENT_SIZE`).
const BOGO_DIRENT_SIZE: u64 = 20;

#[derive(Debug)]
enum Content {
    File(FileData),
    Dir(DirEntries),
    Symlink(Vec<u8>),
    /// Device, FIFO or socket node: only metadata.
    Node,
}

#[derive(Debug)]
struct Inner {
    perm: u32,
    uid: u32,
    gid: u32,
    nlink: u64,
    rdev: DeviceId,
    atime: Timespec,
    mtime: Timespec,
    ctime: Timespec,
    btime: Timespec,
    content: Content,
}

impl Inner {
    fn dir(&self) -> Result<&DirEntries> {
        match &self.content {
            Content::Dir(entries) => Ok(entries),
            _ => Err(errno!(ENOTDIR, "not a directory")),
        }
    }

    fn dir_mut(&mut self) -> Result<&mut DirEntries> {
        match &mut self.content {
            Content::Dir(entries) => Ok(entries),
            _ => Err(errno!(ENOTDIR, "not a directory")),
        }
    }

    /// A directory entry was added or removed.
    fn touch_dir(&mut self, time: Timespec) {
        self.mtime = time;
        self.ctime = time;
    }

    /// Linux relatime: update atime if it is not newer than mtime/ctime or
    /// is more than a day old.
    fn atime_is_stale(&self, time: Timespec) -> bool {
        self.atime <= self.mtime || self.atime <= self.ctime || time.sec.saturating_sub(self.atime.sec) >= 24 * 3600
    }
}

/// One ramfs inode.
#[derive(Debug)]
pub struct RamInode {
    ino: u64,
    kind: InodeType,
    shared: Arc<Shared>,
    this: Weak<RamInode>,
    inner: RwLock<Inner>,
}

fn check_name(name: &[u8]) -> Result<()> {
    if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') || name.contains(&0) {
        return_errno_with_message!(EINVAL, "ramfs: invalid entry name");
    }
    Ok(())
}

impl RamInode {
    /// A root directory (its own parent).
    pub(super) fn new_root(shared: Arc<Shared>, perm: u32, uid: u32, gid: u32) -> Arc<RamInode> {
        let time = now();
        let ino = shared.alloc_ino();
        Arc::new_cyclic(|this| RamInode {
            ino,
            kind: InodeType::Dir,
            shared,
            this: this.clone(),
            inner: RwLock::new(Inner {
                perm: perm & MODE_PERM_MASK,
                uid,
                gid,
                nlink: 2,
                rdev: DeviceId::NONE,
                atime: time,
                mtime: time,
                ctime: time,
                btime: time,
                content: Content::Dir(DirEntries::new(this.clone())),
            }),
        })
    }

    fn new_child(&self, kind: InodeType, init: NewInode, target: Option<&[u8]>) -> Arc<RamInode> {
        let time = now();
        let content = match kind {
            InodeType::File => Content::File(FileData::new(self.shared.budget.clone())),
            InodeType::Dir => Content::Dir(DirEntries::new(self.this.clone())),
            InodeType::Symlink => Content::Symlink(target.unwrap_or_default().to_vec()),
            _ => Content::Node,
        };
        let rdev = if matches!(kind, InodeType::CharDevice | InodeType::BlockDevice) { init.rdev } else { DeviceId::NONE };
        Arc::new_cyclic(|this| RamInode {
            ino: self.shared.alloc_ino(),
            kind,
            shared: self.shared.clone(),
            this: this.clone(),
            inner: RwLock::new(Inner {
                perm: if kind == InodeType::Symlink { 0o777 } else { init.perm & MODE_PERM_MASK },
                uid: init.uid,
                gid: init.gid,
                nlink: if kind == InodeType::Dir { 2 } else { 1 },
                rdev,
                atime: time,
                mtime: time,
                ctime: time,
                btime: time,
                content,
            }),
        })
    }

    fn arc(&self) -> Result<Arc<RamInode>> {
        self.this.upgrade().ok_or(errno!(EIO, "ramfs inode is being dropped"))
    }

    /// `other` as an inode of this same ramfs, else `EXDEV`.
    fn same_fs(&self, other: &Arc<dyn Inode>) -> Result<Arc<RamInode>> {
        let other = other
            .as_any()
            .downcast_ref::<RamInode>()
            .filter(|other| Arc::ptr_eq(&other.shared, &self.shared))
            .ok_or(errno!(EXDEV, "not the same filesystem"))?;
        other.arc()
    }

    /// Insert a new child of `kind` under the namespace lock.
    fn add_child(&self, name: &[u8], kind: InodeType, init: NewInode, target: Option<&[u8]>) -> Result<Arc<dyn Inode>> {
        check_name(name)?;
        let _namespace = self.shared.namespace_lock.lock();
        let mut inner = self.inner.write();
        let nlink = inner.nlink;
        let entries = inner.dir_mut()?;
        if nlink == 0 {
            return_errno_with_message!(ENOENT, "directory was removed");
        }
        if entries.get(name).is_some() {
            return_errno_with_message!(EEXIST, "name exists");
        }
        let child = self.new_child(kind, init, target);
        entries.insert(name, child.clone());
        if kind == InodeType::Dir {
            inner.nlink += 1;
        }
        inner.touch_dir(now());
        Ok(child)
    }

    fn note_atime(&self) {
        let time = now();
        if self.inner.read().atime_is_stale(time) {
            self.inner.write().atime = time;
        }
    }

    /// The driver of this character or block device node.
    fn char_device(&self) -> Result<Arc<dyn Device>> {
        let rdev = self.inner.read().rdev;
        let driver = if self.kind == InodeType::BlockDevice { block_device(rdev) } else { char_device(rdev) };
        driver.ok_or(errno!(ENXIO, "no driver for this device number"))
    }
}

impl Inode for RamInode {
    fn metadata(&self) -> Metadata {
        let inner = self.inner.read();
        let (size, blocks) = match &inner.content {
            Content::File(data) => (data.size(), data.blocks()),
            Content::Dir(entries) => ((entries.len() as u64 + 2) * BOGO_DIRENT_SIZE, 0),
            Content::Symlink(target) => (target.len() as u64, 0),
            Content::Node => (0, 0),
        };
        Metadata {
            dev: self.shared.dev,
            ino: self.ino,
            kind: self.kind,
            perm: inner.perm,
            nlink: inner.nlink,
            uid: inner.uid,
            gid: inner.gid,
            rdev: inner.rdev,
            size,
            blksize: PAGE_SIZE as u32,
            blocks,
            atime: inner.atime,
            mtime: inner.mtime,
            ctime: inner.ctime,
            btime: inner.btime,
        }
    }

    fn ino(&self) -> u64 {
        self.ino
    }

    fn kind(&self) -> InodeType {
        self.kind
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn set_attr(&self, attr: &SetAttr) -> Result<()> {
        let mut inner = self.inner.write();
        if let Some(perm) = attr.perm {
            inner.perm = perm & MODE_PERM_MASK;
        }
        if let Some(uid) = attr.uid {
            inner.uid = uid;
        }
        if let Some(gid) = attr.gid {
            inner.gid = gid;
        }
        if let Some(atime) = attr.atime {
            inner.atime = atime;
        }
        if let Some(mtime) = attr.mtime {
            inner.mtime = mtime;
        }
        if let Some(ctime) = attr.ctime {
            inner.ctime = ctime;
        }
        Ok(())
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let read = match &self.inner.read().content {
            Content::File(data) => data.read(offset, buf),
            Content::Dir(_) => return_errno_with_message!(EISDIR, "read of a directory"),
            Content::Node if matches!(self.kind, InodeType::CharDevice | InodeType::BlockDevice) => {
                return self.char_device()?.read(offset, buf, false);
            }
            _ => return_errno_with_message!(EINVAL, "inode has no data"),
        };
        self.note_atime();
        Ok(read)
    }

    fn write_at(&self, offset: u64, buf: &[u8]) -> Result<usize> {
        if matches!(self.kind, InodeType::CharDevice | InodeType::BlockDevice) {
            return self.char_device()?.write(offset, buf, false);
        }
        let mut inner = self.inner.write();
        let written = match &mut inner.content {
            Content::File(data) => data.write(offset, buf)?,
            Content::Dir(_) => return_errno_with_message!(EISDIR, "write to a directory"),
            _ => return_errno_with_message!(EINVAL, "inode has no data"),
        };
        if written > 0 {
            let time = now();
            inner.mtime = time;
            inner.ctime = time;
        }
        Ok(written)
    }

    fn append(&self, buf: &[u8]) -> Result<(usize, u64)> {
        if self.kind != InodeType::File {
            let written = self.write_at(0, buf)?;
            return Ok((written, 0));
        }
        let mut inner = self.inner.write();
        let (written, end) = match &mut inner.content {
            Content::File(data) => {
                let written = data.write(data.size(), buf)?;
                (written, data.size())
            }
            _ => return_errno_with_message!(EINVAL, "inode has no data"),
        };
        if written > 0 {
            let time = now();
            inner.mtime = time;
            inner.ctime = time;
        }
        Ok((written, end))
    }

    fn resize(&self, size: u64) -> Result<()> {
        let mut inner = self.inner.write();
        match &mut inner.content {
            Content::File(data) => data.resize(size)?,
            Content::Dir(_) => return_errno_with_message!(EISDIR, "truncate of a directory"),
            _ => return_errno_with_message!(EINVAL, "inode cannot be resized"),
        }
        let time = now();
        inner.mtime = time;
        inner.ctime = time;
        Ok(())
    }

    fn seek_data_or_hole(&self, offset: u64, data: bool) -> Result<u64> {
        match &self.inner.read().content {
            Content::File(file) => file.seek_data_or_hole(offset, data),
            _ => return_errno_with_message!(EINVAL, "no data to seek in"),
        }
    }

    fn is_seekable(&self) -> bool {
        match self.kind {
            InodeType::Fifo | InodeType::Socket => false,
            InodeType::CharDevice => self.char_device().map(|device| device.is_seekable()).unwrap_or(true),
            _ => true,
        }
    }

    fn device(&self) -> Option<Arc<dyn Device>> {
        if matches!(self.kind, InodeType::CharDevice | InodeType::BlockDevice) {
            self.char_device().ok()
        } else {
            None
        }
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        let inner = self.inner.read();
        let entries = inner.dir()?;
        match name {
            b"." => Ok(self.arc()?),
            b".." => Ok(entries.parent.upgrade().map_or_else(|| self.arc(), Ok)?),
            _ => match entries.get(name) {
                Some(child) => Ok(child.clone()),
                None => return_errno_with_message!(ENOENT, "no such entry"),
            },
        }
    }

    fn create(&self, name: &[u8], kind: InodeType, init: NewInode) -> Result<Arc<dyn Inode>> {
        if kind == InodeType::Symlink {
            return_errno_with_message!(EINVAL, "symlinks are made with symlink()");
        }
        self.add_child(name, kind, init, None)
    }

    fn symlink(&self, name: &[u8], target: &[u8], init: NewInode) -> Result<Arc<dyn Inode>> {
        self.add_child(name, InodeType::Symlink, init, Some(target))
    }

    fn link(&self, name: &[u8], target: &Arc<dyn Inode>) -> Result<()> {
        check_name(name)?;
        let target = self.same_fs(target)?;
        if target.kind == InodeType::Dir {
            return_errno_with_message!(EPERM, "hard link to a directory");
        }
        let _namespace = self.shared.namespace_lock.lock();
        let mut inner = self.inner.write();
        let nlink = inner.nlink;
        let entries = inner.dir_mut()?;
        if nlink == 0 {
            return_errno_with_message!(ENOENT, "directory was removed");
        }
        if entries.get(name).is_some() {
            return_errno_with_message!(EEXIST, "name exists");
        }
        let time = now();
        {
            let mut target_inner = target.inner.write();
            if target_inner.nlink == 0 {
                return_errno_with_message!(ENOENT, "link to a removed file");
            }
            target_inner.nlink += 1;
            target_inner.ctime = time;
        }
        entries.insert(name, target);
        inner.touch_dir(time);
        Ok(())
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        let _namespace = self.shared.namespace_lock.lock();
        let mut inner = self.inner.write();
        let entries = inner.dir_mut()?;
        let child = entries.get(name).cloned().ok_or(errno!(ENOENT, "no such entry"))?;
        if child.kind == InodeType::Dir {
            return_errno_with_message!(EISDIR, "unlink of a directory");
        }
        entries.remove(name);
        let time = now();
        {
            let mut child_inner = child.inner.write();
            child_inner.nlink = child_inner.nlink.saturating_sub(1);
            child_inner.ctime = time;
        }
        inner.touch_dir(time);
        Ok(())
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        let _namespace = self.shared.namespace_lock.lock();
        let mut inner = self.inner.write();
        let entries = inner.dir_mut()?;
        let child = entries.get(name).cloned().ok_or(errno!(ENOENT, "no such entry"))?;
        if child.kind != InodeType::Dir {
            return_errno_with_message!(ENOTDIR, "rmdir of a non-directory");
        }
        let time = now();
        {
            let mut child_inner = child.inner.write();
            if !child_inner.dir()?.is_empty() {
                return_errno_with_message!(ENOTEMPTY, "directory not empty");
            }
            child_inner.nlink = 0;
            child_inner.ctime = time;
        }
        entries.remove(name);
        inner.nlink = inner.nlink.saturating_sub(1);
        inner.touch_dir(time);
        Ok(())
    }

    fn rename(&self, old_name: &[u8], new_dir: &Arc<dyn Inode>, new_name: &[u8], flags: RenameFlags) -> Result<()> {
        check_name(new_name)?;
        let new_dir = self.same_fs(new_dir)?;
        if flags.bits() & !(RenameFlags::NOREPLACE.bits() | RenameFlags::EXCHANGE.bits()) != 0
            || flags.contains(RenameFlags::NOREPLACE.union(RenameFlags::EXCHANGE))
        {
            return_errno_with_message!(EINVAL, "unsupported rename flags");
        }
        let _namespace = self.shared.namespace_lock.lock();
        if core::ptr::eq(self, Arc::as_ptr(&new_dir)) {
            let mut inner = self.inner.write();
            let entries = inner.dir_mut()?;
            let moved = entries.get(old_name).cloned().ok_or(errno!(ENOENT, "no such entry"))?;
            let victim = entries.get(new_name).cloned();
            let time = now();
            if flags.contains(RenameFlags::EXCHANGE) {
                let victim = victim.ok_or(errno!(ENOENT, "exchange with a missing entry"))?;
                entries.replace(old_name, victim.clone());
                entries.replace(new_name, moved.clone());
                moved.inner.write().ctime = time;
                if !Arc::ptr_eq(&moved, &victim) {
                    victim.inner.write().ctime = time;
                }
            } else {
                if let Some(victim) = &victim {
                    check_replace(&moved, victim, flags, self)?;
                    if Arc::ptr_eq(victim, &moved) {
                        return Ok(());
                    }
                    entries.remove(new_name);
                    if victim.kind == InodeType::Dir {
                        inner_nlink_dec(&mut inner.nlink);
                    }
                    drop_victim_link(victim, time);
                }
                let entries = inner.dir_mut()?;
                entries.remove(old_name);
                entries.insert(new_name, moved.clone());
                moved.inner.write().ctime = time;
            }
            inner.touch_dir(time);
            return Ok(());
        }

        let mut old_inner = self.inner.write();
        let mut new_inner = new_dir.inner.write();
        if new_inner.nlink == 0 {
            return_errno_with_message!(ENOENT, "target directory was removed");
        }
        let moved = old_inner.dir()?.get(old_name).cloned().ok_or(errno!(ENOENT, "no such entry"))?;
        let victim = new_inner.dir()?.get(new_name).cloned();
        if Arc::ptr_eq(&moved, &new_dir) {
            return_errno_with_message!(EINVAL, "directory moved into itself");
        }
        let time = now();
        let moved_is_dir = moved.kind == InodeType::Dir;
        if flags.contains(RenameFlags::EXCHANGE) {
            let victim = victim.ok_or(errno!(ENOENT, "exchange with a missing entry"))?;
            if core::ptr::eq(Arc::as_ptr(&victim), self) {
                return_errno_with_message!(EINVAL, "exchange with an ancestor");
            }
            let victim_is_dir = victim.kind == InodeType::Dir;
            old_inner.dir_mut()?.replace(old_name, victim.clone());
            new_inner.dir_mut()?.replace(new_name, moved.clone());
            if moved_is_dir {
                moved.inner.write().dir_mut()?.parent = Arc::downgrade(&new_dir);
                inner_nlink_dec(&mut old_inner.nlink);
                new_inner.nlink += 1;
            }
            if victim_is_dir {
                victim.inner.write().dir_mut()?.parent = self.this.clone();
                inner_nlink_dec(&mut new_inner.nlink);
                old_inner.nlink += 1;
            }
            moved.inner.write().ctime = time;
            victim.inner.write().ctime = time;
        } else {
            if let Some(victim) = &victim {
                if core::ptr::eq(Arc::as_ptr(victim), self) {
                    return_errno_with_message!(ENOTEMPTY, "target is an ancestor of the source");
                }
                check_replace(&moved, victim, flags, self)?;
                if Arc::ptr_eq(victim, &moved) {
                    return Ok(());
                }
                new_inner.dir_mut()?.remove(new_name);
                if victim.kind == InodeType::Dir {
                    inner_nlink_dec(&mut new_inner.nlink);
                }
                drop_victim_link(victim, time);
            }
            old_inner.dir_mut()?.remove(old_name);
            new_inner.dir_mut()?.insert(new_name, moved.clone());
            let mut moved_inner = moved.inner.write();
            if moved_is_dir {
                moved_inner.dir_mut()?.parent = Arc::downgrade(&new_dir);
                inner_nlink_dec(&mut old_inner.nlink);
                new_inner.nlink += 1;
            }
            moved_inner.ctime = time;
        }
        old_inner.touch_dir(time);
        new_inner.touch_dir(time);
        Ok(())
    }

    fn readdir_at(&self, offset: u64, sink: &mut dyn DirentSink) -> Result<()> {
        {
            let inner = self.inner.read();
            let entries = inner.dir()?;
            if offset == 0 && !sink.push(b".", self.ino, InodeType::Dir, 1) {
                return Ok(());
            }
            if offset <= 1 {
                let parent_ino = entries.parent.upgrade().map_or(self.ino, |parent| parent.ino);
                if !sink.push(b"..", parent_ino, InodeType::Dir, 2) {
                    return Ok(());
                }
            }
            for (position, name, child) in entries.from_position(offset) {
                if !sink.push(name, child.ino, child.kind, position + 1) {
                    break;
                }
            }
        }
        self.note_atime();
        Ok(())
    }

    fn read_link(&self) -> Result<Vec<u8>> {
        match &self.inner.read().content {
            Content::Symlink(target) => Ok(target.clone()),
            _ => return_errno_with_message!(EINVAL, "not a symlink"),
        }
    }
}

fn inner_nlink_dec(nlink: &mut u64) {
    *nlink = nlink.saturating_sub(1);
}

/// Linux's rules for replacing an existing target in a rename.
fn check_replace(moved: &Arc<RamInode>, victim: &Arc<RamInode>, flags: RenameFlags, old_dir: &RamInode) -> Result<()> {
    if flags.contains(RenameFlags::NOREPLACE) {
        return_errno_with_message!(EEXIST, "target exists (RENAME_NOREPLACE)");
    }
    if Arc::ptr_eq(moved, victim) {
        return Ok(());
    }
    match (moved.kind == InodeType::Dir, victim.kind == InodeType::Dir) {
        (true, false) => return_errno_with_message!(ENOTDIR, "directory over a non-directory"),
        (false, true) => return_errno_with_message!(EISDIR, "non-directory over a directory"),
        (true, true) => {
            if core::ptr::eq(Arc::as_ptr(victim), old_dir) || !victim.inner.read().dir()?.is_empty() {
                return_errno_with_message!(ENOTEMPTY, "target directory not empty");
            }
            Ok(())
        }
        (false, false) => Ok(()),
    }
}

/// The replaced target loses this link (a directory loses both of its own).
fn drop_victim_link(victim: &Arc<RamInode>, time: Timespec) {
    let mut inner = victim.inner.write();
    inner.nlink = if victim.kind == InodeType::Dir { 0 } else { inner.nlink.saturating_sub(1) };
    inner.ctime = time;
}
