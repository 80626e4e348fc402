//! The dentry cache: named links from a directory to its children, so a
//! path can be walked back up (`..`, `getcwd`) and mount points have an
//! identity.
//!
//! Owns: [`Dentry`] and the rule that keeps the cache coherent — every
//! namespace change (create, link, unlink, rmdir, rename) goes through the
//! parent dentry, which holds its children lock across the inode operation
//! and then updates, moves or unhashes the cached children. Children are
//! cached weakly (a dentry lives while a path, an open file or a child
//! holds it); a child holds its parent strongly.
//!
//! Lock order: the global rename lock, then children locks (only rename
//! holds two), then the filesystem's own locks.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use super::inode::{Inode, NewInode, RenameFlags};
use super::types::{InodeType, NAME_MAX};
use crate::error::Result;
use crate::return_errno_with_message;
use crate::sync::{Mutex, MutexGuard, RwLock};

/// Serialises renames, so the ancestry checks the VFS makes stay true
/// until the rename is done (Linux `s_vfs_rename_mutex`, global here).
pub static RENAME_LOCK: Mutex<()> = Mutex::new(());

/// Weak entries are pruned after this many inserts.
const PRUNE_EVERY: u32 = 64;

type ChildMap = BTreeMap<Vec<u8>, Weak<Dentry>>;

/// A name in a directory (or a filesystem root), bound to an inode.
pub struct Dentry {
    id: u64,
    inode: Arc<dyn Inode>,
    name: RwLock<Vec<u8>>,
    parent: RwLock<Option<Arc<Dentry>>>,
    children: Mutex<ChildMap>,
    inserts: AtomicU32,
    deleted: AtomicBool,
    mounts: AtomicU32,
}

impl core::fmt::Debug for Dentry {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.debug_struct("Dentry").field("id", &self.id).field("name", &*self.name.read()).finish()
    }
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Dentry {
    /// The root dentry of a filesystem (no parent).
    pub fn new_root(inode: Arc<dyn Inode>) -> Arc<Dentry> {
        Self::new(inode, Vec::from(&b"/"[..]), None)
    }

    fn new(inode: Arc<dyn Inode>, name: Vec<u8>, parent: Option<Arc<Dentry>>) -> Arc<Dentry> {
        Arc::new(Dentry {
            id: next_id(),
            inode,
            name: RwLock::new(name),
            parent: RwLock::new(parent),
            children: Mutex::new(BTreeMap::new()),
            inserts: AtomicU32::new(0),
            deleted: AtomicBool::new(false),
            mounts: AtomicU32::new(0),
        })
    }

    /// Unique for the life of the kernel (keys mount points).
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn inode(&self) -> &Arc<dyn Inode> {
        &self.inode
    }

    pub fn kind(&self) -> InodeType {
        self.inode.kind()
    }

    pub fn name(&self) -> Vec<u8> {
        self.name.read().clone()
    }

    /// `None` for a filesystem root.
    pub fn parent(&self) -> Option<Arc<Dentry>> {
        self.parent.read().clone()
    }

    /// Unlinked, removed or replaced by a rename.
    pub fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Acquire)
    }

    pub fn is_mountpoint(&self) -> bool {
        self.mounts.load(Ordering::Acquire) > 0
    }

    pub(super) fn add_mount(&self) {
        self.mounts.fetch_add(1, Ordering::AcqRel);
    }

    pub(super) fn remove_mount(&self) {
        self.mounts.fetch_sub(1, Ordering::AcqRel);
    }

    /// `self` is `other` or one of its ancestors (same filesystem tree).
    pub fn is_ancestor_of(&self, other: &Arc<Dentry>) -> bool {
        let mut current = Some(other.clone());
        while let Some(dentry) = current {
            if core::ptr::eq(&*dentry, self) {
                return true;
            }
            current = dentry.parent();
        }
        false
    }

    fn cache(self: &Arc<Self>, children: &mut MutexGuard<'_, ChildMap>, name: &[u8], inode: Arc<dyn Inode>) -> Arc<Dentry> {
        let child = Dentry::new(inode, name.to_vec(), Some(self.clone()));
        children.insert(name.to_vec(), Arc::downgrade(&child));
        if self.inserts.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            children.retain(|_, weak| weak.strong_count() > 0);
        }
        child
    }

    /// The child `name` (not "." or ".."), from the cache or the inode.
    /// Permission to search was checked by the caller.
    pub fn lookup_child(self: &Arc<Self>, name: &[u8]) -> Result<Arc<Dentry>> {
        if name.len() > NAME_MAX {
            return_errno_with_message!(ENAMETOOLONG, "path component longer than NAME_MAX");
        }
        let mut children = self.children.lock();
        if let Some(child) = children.get(name).and_then(Weak::upgrade) {
            return Ok(child);
        }
        let inode = self.inode.lookup(name)?;
        Ok(self.cache(&mut children, name, inode))
    }

    /// Create `name` (file, directory or node) through the inode.
    pub fn create_child(self: &Arc<Self>, name: &[u8], kind: InodeType, init: NewInode) -> Result<Arc<Dentry>> {
        let mut children = self.children.lock();
        let inode = self.inode.create(name, kind, init)?;
        Ok(self.cache(&mut children, name, inode))
    }

    pub fn symlink_child(self: &Arc<Self>, name: &[u8], target: &[u8], init: NewInode) -> Result<Arc<Dentry>> {
        let mut children = self.children.lock();
        let inode = self.inode.symlink(name, target, init)?;
        Ok(self.cache(&mut children, name, inode))
    }

    /// Add `name` as a hard link to `target`'s inode.
    pub fn link_child(self: &Arc<Self>, name: &[u8], target: &Arc<dyn Inode>) -> Result<Arc<Dentry>> {
        let mut children = self.children.lock();
        self.inode.link(name, target)?;
        Ok(self.cache(&mut children, name, target.clone()))
    }

    fn unhash(children: &mut ChildMap, name: &[u8]) {
        if let Some(child) = children.remove(name).and_then(|weak| weak.upgrade()) {
            child.deleted.store(true, Ordering::Release);
        }
    }

    pub fn unlink_child(self: &Arc<Self>, name: &[u8]) -> Result<()> {
        let mut children = self.children.lock();
        self.inode.unlink(name)?;
        Self::unhash(&mut children, name);
        Ok(())
    }

    pub fn rmdir_child(self: &Arc<Self>, name: &[u8]) -> Result<()> {
        let mut children = self.children.lock();
        self.inode.rmdir(name)?;
        Self::unhash(&mut children, name);
        Ok(())
    }

    /// Rename through the inode and move the cached dentries to match.
    /// The caller holds [`RENAME_LOCK`] and has made the VFS checks.
    pub fn rename_child(
        old_dir: &Arc<Dentry>,
        old_name: &[u8],
        new_dir: &Arc<Dentry>,
        new_name: &[u8],
        flags: RenameFlags,
    ) -> Result<()> {
        let exchange = flags.contains(RenameFlags::EXCHANGE);
        if Arc::ptr_eq(old_dir, new_dir) {
            let mut children = old_dir.children.lock();
            if flags.bits() == 0 && Self::same_inode(old_dir, old_name, new_dir, new_name) {
                return Ok(());
            }
            old_dir.inode.rename(old_name, &new_dir.inode, new_name, flags)?;
            let moved = children.remove(old_name).and_then(|weak| weak.upgrade());
            let other = children.remove(new_name).and_then(|weak| weak.upgrade());
            Self::settle(&mut children, moved, new_name, new_dir);
            if exchange {
                Self::settle(&mut children, other, old_name, old_dir);
            } else if let Some(other) = other {
                Self::settle_victim(other);
            }
            return Ok(());
        }
        // Only renames take two children locks, and they are serialised.
        let (mut old_children, mut new_children) = if old_dir.id < new_dir.id {
            let old = old_dir.children.lock();
            (old, new_dir.children.lock())
        } else {
            let new = new_dir.children.lock();
            (old_dir.children.lock(), new)
        };
        if flags.bits() == 0 && Self::same_inode(old_dir, old_name, new_dir, new_name) {
            return Ok(());
        }
        old_dir.inode.rename(old_name, &new_dir.inode, new_name, flags)?;
        let moved = old_children.remove(old_name).and_then(|weak| weak.upgrade());
        let other = new_children.remove(new_name).and_then(|weak| weak.upgrade());
        Self::settle(&mut new_children, moved, new_name, new_dir);
        if exchange {
            Self::settle(&mut old_children, other, old_name, old_dir);
        } else if let Some(other) = other {
            Self::settle_victim(other);
        }
        Ok(())
    }

    /// Both names are links to one inode: Linux's rename does nothing
    /// (and succeeds) then. `RENAME_NOREPLACE` was checked by the caller.
    fn same_inode(old_dir: &Dentry, old_name: &[u8], new_dir: &Dentry, new_name: &[u8]) -> bool {
        match (old_dir.inode.lookup(old_name), new_dir.inode.lookup(new_name)) {
            (Ok(old), Ok(new)) => Arc::ptr_eq(&old, &new),
            _ => false,
        }
    }

    /// Put a moved dentry under its new name and parent.
    fn settle(children: &mut ChildMap, dentry: Option<Arc<Dentry>>, name: &[u8], parent: &Arc<Dentry>) {
        if let Some(dentry) = dentry {
            *dentry.name.write() = name.to_vec();
            *dentry.parent.write() = Some(parent.clone());
            children.insert(name.to_vec(), Arc::downgrade(&dentry));
        }
    }

    /// The replaced target is gone from the namespace.
    fn settle_victim(victim: Arc<Dentry>) {
        victim.deleted.store(true, Ordering::Release);
    }
}
