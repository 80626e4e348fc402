//! A location in the mount tree: a mount plus a dentry of it.
//!
//! Owns: [`Path`] and moving along it — down into mounts, up through `..`
//! (stopping at the process root, climbing out of a mount root into the
//! parent mount as Linux does) — and turning a path back into bytes for
//! `getcwd` and `/proc/*/fd` links.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::dentry::Dentry;
use super::inode::Inode;
use super::mount::Mount;
use super::types::InodeType;

/// A mount and a dentry within it.
#[derive(Clone, Debug)]
pub struct Path {
    mount: Arc<Mount>,
    dentry: Arc<Dentry>,
}

impl Path {
    pub fn new(mount: Arc<Mount>, dentry: Arc<Dentry>) -> Path {
        Path { mount, dentry }
    }

    /// The root of `mount`.
    pub fn root_of(mount: &Arc<Mount>) -> Path {
        Path::new(mount.clone(), mount.root_dentry().clone())
    }

    pub fn mount(&self) -> &Arc<Mount> {
        &self.mount
    }

    pub fn dentry(&self) -> &Arc<Dentry> {
        &self.dentry
    }

    pub fn inode(&self) -> &Arc<dyn Inode> {
        self.dentry.inode()
    }

    pub fn kind(&self) -> InodeType {
        self.dentry.kind()
    }

    /// Same mount and same dentry.
    pub fn is_same(&self, other: &Path) -> bool {
        Arc::ptr_eq(&self.mount, &other.mount) && Arc::ptr_eq(&self.dentry, &other.dentry)
    }

    /// Is the root dentry of its mount.
    pub fn is_mount_root(&self) -> bool {
        Arc::ptr_eq(&self.dentry, self.mount.root_dentry())
    }

    /// If a filesystem is mounted here, its root (repeatedly, for stacked
    /// mounts); else `self`.
    pub fn cross_mounts(self) -> Path {
        let mut path = self;
        while let Some(child) = path.mount.child_at(&path.dentry) {
            path = Path::root_of(&child);
        }
        path
    }

    /// A child dentry in the same mount, crossed into any mount on it.
    pub fn child(&self, dentry: Arc<Dentry>) -> Path {
        Path::new(self.mount.clone(), dentry).cross_mounts()
    }

    /// `..`: never above `root`; from a mount root, the parent of the
    /// covered dentry in the parent mount.
    pub fn parent_within(&self, root: &Path) -> Path {
        let mut path = self.clone();
        loop {
            if path.is_same(root) {
                return path;
            }
            if !path.is_mount_root() {
                break;
            }
            match path.mount.parent() {
                Some((parent, mountpoint)) => path = Path::new(parent, mountpoint),
                None => return path,
            }
        }
        match path.dentry.parent() {
            Some(parent) => Path::new(path.mount.clone(), parent).cross_mounts(),
            None => path,
        }
    }

    /// The absolute path of `self` as seen from `root`, and whether `root`
    /// was reached (`false`: the path is outside the root, e.g. after a
    /// chroot or a detached mount; the bytes are then relative to the
    /// top of the tree).
    pub fn to_bytes(&self, root: &Path) -> (Vec<u8>, bool) {
        let mut names: Vec<Vec<u8>> = Vec::new();
        let mut path = self.clone();
        let reached = loop {
            if path.is_same(root) {
                break true;
            }
            if path.is_mount_root() {
                match path.mount.parent() {
                    Some((parent, mountpoint)) => {
                        path = Path::new(parent, mountpoint);
                        continue;
                    }
                    None => break false,
                }
            }
            match path.dentry.parent() {
                Some(parent) => {
                    names.push(path.dentry.name());
                    path = Path::new(path.mount.clone(), parent);
                }
                None => break false,
            }
        };
        let mut bytes = Vec::new();
        for name in names.iter().rev() {
            bytes.push(b'/');
            bytes.extend_from_slice(name);
        }
        if bytes.is_empty() {
            bytes.push(b'/');
        }
        (bytes, reached)
    }
}
