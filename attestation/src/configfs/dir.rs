//! configfs directories (fs/configfs/dir.c): the root and default groups
//! (fixed), groups whose [`GroupOps`] make items on `mkdir`, and items.
//!
//! Owns: Linux's answers — `mkdir` where no items are made is `EPERM`,
//! creating a file `EACCES`, mknod/symlink/link/unlink/rename `EPERM`,
//! `rmdir` of a default group `EPERM`, of an item removes it with its
//! attribute files.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;
use core::sync::atomic::{AtomicBool, Ordering};

use services::error::Result;
use services::fs::inode::{DirentSink, Inode, NewInode, RenameFlags};
use services::fs::types::{InodeType, Metadata, SetAttr};
use services::return_errno_with_message;
use spin::Mutex;

use super::attr::ConfigAttr;
use super::{dev, ConfigItem, GroupOps};
use crate::node::{metadata, next_ino};

enum Role {
    /// The root or a subsystem's default group: fixed.
    Default,
    /// `mkdir` here makes items.
    Group(Arc<dyn GroupOps>),
    /// A user-made item (`dead` once removed).
    Item(Arc<dyn ConfigItem>, Arc<AtomicBool>),
}

enum Child {
    Dir(Arc<ConfigDir>),
    Attr(Arc<ConfigAttr>),
}

impl Child {
    fn inode(&self) -> Arc<dyn Inode> {
        match self {
            Child::Dir(dir) => dir.clone(),
            Child::Attr(attr) => attr.clone(),
        }
    }
}

/// A configfs directory.
pub struct ConfigDir {
    ino: u64,
    role: Role,
    children: Mutex<Vec<(Vec<u8>, Child)>>,
}

impl ConfigDir {
    fn build(role: Role) -> Arc<ConfigDir> {
        Arc::new(ConfigDir { ino: next_ino(), role, children: Mutex::new(Vec::new()) })
    }

    /// A fixed directory (root, default group).
    pub fn new_default() -> Arc<ConfigDir> {
        Self::build(Role::Default)
    }

    /// A group whose `mkdir` makes items through `ops`.
    pub fn new_group(ops: Arc<dyn GroupOps>) -> Arc<ConfigDir> {
        Self::build(Role::Group(ops))
    }

    /// Add (or replace) a fixed subdirectory.
    pub fn add_default_group(&self, name: &[u8], group: Arc<ConfigDir>) {
        let mut children = self.children.lock();
        children.retain(|(existing, _)| existing != name);
        children.push((name.to_vec(), Child::Dir(group)));
    }

    fn make_item(&self, ops: &Arc<dyn GroupOps>, name: &[u8]) -> Result<Arc<ConfigDir>> {
        let (item, attrs) = ops.make_item(name)?;
        let dead = Arc::new(AtomicBool::new(false));
        let dir = Self::build(Role::Item(item.clone(), dead.clone()));
        *dir.children.lock() = attrs
            .into_iter()
            .map(|desc| (desc.name.as_bytes().to_vec(), Child::Attr(ConfigAttr::new(desc, item.clone(), dead.clone()))))
            .collect();
        Ok(dir)
    }
}

impl Inode for ConfigDir {
    fn metadata(&self) -> Metadata {
        metadata(dev(), self.ino, InodeType::Dir, 0o755, 0, crate::node::time())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn set_attr(&self, _attr: &SetAttr) -> Result<()> {
        return_errno_with_message!(EPERM, "configfs attributes are fixed here")
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        match self.children.lock().iter().find(|(n, _)| n == name) {
            Some((_, child)) => Ok(child.inode()),
            None => return_errno_with_message!(ENOENT, "no such configfs entry"),
        }
    }

    fn create(&self, name: &[u8], kind: InodeType, _init: NewInode) -> Result<Arc<dyn Inode>> {
        match kind {
            InodeType::Dir => {}
            InodeType::File => return_errno_with_message!(EACCES, "configfs directories have no create"),
            _ => return_errno_with_message!(EPERM, "configfs directories have no mknod"),
        }
        let Role::Group(ops) = &self.role else {
            return_errno_with_message!(EPERM, "mkdir where configfs makes no items");
        };
        if self.children.lock().iter().any(|(n, _)| n == name) {
            return_errno_with_message!(EEXIST, "configfs entry exists");
        }
        // Made outside the children lock: the group's constructor may
        // take its own locks.
        let dir = self.make_item(ops, name)?;
        let mut children = self.children.lock();
        if children.iter().any(|(n, _)| n == name) {
            ops.drop_item(&dir.item().expect("an item directory"));
            return_errno_with_message!(EEXIST, "configfs entry exists");
        }
        children.push((name.to_vec(), Child::Dir(dir.clone())));
        Ok(dir)
    }

    fn symlink(&self, _name: &[u8], _target: &[u8], _init: NewInode) -> Result<Arc<dyn Inode>> {
        return_errno_with_message!(EPERM, "configfs links need allow_link")
    }

    fn link(&self, _name: &[u8], _target: &Arc<dyn Inode>) -> Result<()> {
        return_errno_with_message!(EPERM, "configfs has no hard links")
    }

    fn unlink(&self, name: &[u8]) -> Result<()> {
        if !self.children.lock().iter().any(|(n, _)| n == name) {
            return_errno_with_message!(ENOENT, "no such configfs entry");
        }
        return_errno_with_message!(EPERM, "configfs attributes cannot be removed")
    }

    fn rmdir(&self, name: &[u8]) -> Result<()> {
        let mut children = self.children.lock();
        let Some(index) = children.iter().position(|(n, _)| n == name) else {
            return_errno_with_message!(ENOENT, "no such configfs entry");
        };
        let removed = match &children[index].1 {
            Child::Attr(_) => return_errno_with_message!(ENOTDIR, "rmdir of an attribute"),
            Child::Dir(dir) => match (&dir.role, &self.role) {
                (Role::Item(item, dead), Role::Group(ops)) => {
                    dead.store(true, Ordering::Release);
                    (item.clone(), ops.clone())
                }
                _ => return_errno_with_message!(EPERM, "rmdir of a default group"),
            },
        };
        children.remove(index);
        drop(children);
        let (item, ops) = removed;
        ops.drop_item(&item);
        Ok(())
    }

    fn rename(&self, _old: &[u8], _new_dir: &Arc<dyn Inode>, _new: &[u8], _flags: RenameFlags) -> Result<()> {
        return_errno_with_message!(EPERM, "configfs entries cannot be renamed")
    }

    fn readdir_at(&self, offset: u64, sink: &mut dyn DirentSink) -> Result<()> {
        if offset == 0 && !sink.push(b".", self.ino, InodeType::Dir, 1) {
            return Ok(());
        }
        if offset <= 1 && !sink.push(b"..", self.ino, InodeType::Dir, 2) {
            return Ok(());
        }
        let entries: Vec<(Vec<u8>, Arc<dyn Inode>)> =
            self.children.lock().iter().map(|(name, child)| (name.clone(), child.inode())).collect();
        let skip = offset.saturating_sub(2) as usize;
        for (index, (name, inode)) in entries.iter().enumerate().skip(skip) {
            if !sink.push(name, inode.ino(), inode.kind(), index as u64 + 3) {
                break;
            }
        }
        Ok(())
    }
}

impl ConfigDir {
    fn item(&self) -> Option<Arc<dyn ConfigItem>> {
        match &self.role {
            Role::Item(item, _) => Some(item.clone()),
            _ => None,
        }
    }
}
