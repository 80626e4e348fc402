//! ramfs: a filesystem that lives in memory only, used for the root
//! filesystem (unpacked from the initramfs), for `tmpfs` mounts (with an
//! optional size limit) and as the backing of devfs.
//!
//! Owns: the filesystem instance ([`RamFs`]: root, inode numbers, device
//! number, page budget, `statfs`) and, in the submodules, the inodes
//! ([`inode`]), directory entries ([`dir`]) and file pages ([`data`]).

pub mod data;
pub mod dir;
pub mod inode;

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use self::data::{PageBudget, PAGE_SIZE};
use self::inode::RamInode;
use super::inode::{anonymous_device_id, FileSystem, Inode, StatFs};
use super::types::{DeviceId, NAME_MAX};
use crate::sync::Mutex;

pub use self::inode::RamInode as RamfsInode;

/// Linux `RAMFS_MAGIC`.
pub const RAMFS_MAGIC: u64 = 0x8584_58f6;
/// Linux `TMPFS_MAGIC`.
pub const TMPFS_MAGIC: u64 = 0x0102_1994;

/// State every inode of one ramfs shares.
#[derive(Debug)]
pub struct Shared {
    dev: DeviceId,
    next_ino: AtomicU64,
    /// Serialises namespace changes (create/link/unlink/rmdir/rename).
    namespace_lock: Mutex<()>,
    budget: Arc<PageBudget>,
}

impl Shared {
    fn alloc_ino(&self) -> u64 {
        self.next_ino.fetch_add(1, Ordering::Relaxed)
    }
}

/// A ramfs or tmpfs instance.
#[derive(Debug)]
pub struct RamFs {
    name: &'static str,
    magic: u64,
    shared: Arc<Shared>,
    root: Arc<RamInode>,
    /// The root's mode as mounted (`mode=`), for `/proc/mounts`.
    mode: u32,
}

impl RamFs {
    /// A ramfs: no size limit, root `0755` owned by root.
    pub fn new() -> Arc<RamFs> {
        Self::build("ramfs", RAMFS_MAGIC, None, 0o755)
    }

    /// A tmpfs: optional size limit in bytes (rounded up to pages), root
    /// `1777` as Linux's default `mode=`.
    pub fn new_tmpfs(size_limit: Option<u64>) -> Arc<RamFs> {
        let pages = size_limit.map(|bytes| bytes.div_ceil(PAGE_SIZE as u64));
        Self::build("tmpfs", TMPFS_MAGIC, pages, 0o1777)
    }

    /// Any flavour: type name, `statfs` magic, size limit in pages, root
    /// permission bits (devtmpfs, for one, is a tmpfs named "devtmpfs").
    pub fn build(name: &'static str, magic: u64, limit_pages: Option<u64>, root_perm: u32) -> Arc<RamFs> {
        let shared = Arc::new(Shared {
            dev: anonymous_device_id(),
            // Linux starts tmpfs inode numbers low; the root gets 1.
            next_ino: AtomicU64::new(1),
            namespace_lock: Mutex::new(()),
            budget: Arc::new(PageBudget::new(limit_pages)),
        });
        let root = RamInode::new_root(shared.clone(), root_perm, 0, 0);
        Arc::new(RamFs { name, magic, shared, root, mode: root_perm })
    }

    /// The root inode with its concrete type.
    pub fn root_inode(&self) -> Arc<RamInode> {
        self.root.clone()
    }
}

impl FileSystem for RamFs {
    fn root(&self) -> Arc<dyn Inode> {
        self.root.clone()
    }

    fn statfs(&self) -> StatFs {
        let budget = &self.shared.budget;
        let (blocks, free) = match budget.limit() {
            Some(limit) => (limit, limit.saturating_sub(budget.used())),
            None => (0, 0),
        };
        StatFs {
            magic: self.magic,
            block_size: PAGE_SIZE as u64,
            blocks,
            blocks_free: free,
            blocks_available: free,
            files: 0,
            files_free: 0,
            name_max: NAME_MAX as u64,
            fsid: 0,
            flags: 0,
        }
    }

    /// tmpfs: `size=` in KiB when limited, `mode=` (3 octal digits) when
    /// not 1777 (`shmem_show_options`); ramfs: `mode=` when not 755
    /// (`ramfs_show_options`).
    fn show_options(&self) -> alloc::vec::Vec<u8> {
        let mut out = alloc::string::String::new();
        if self.magic == TMPFS_MAGIC {
            if let Some(pages) = self.shared.budget.limit() {
                out += &alloc::format!(",size={}k", pages * (PAGE_SIZE as u64 / 1024));
            }
            if self.mode != 0o1777 {
                out += &alloc::format!(",mode={:03o}", self.mode);
            }
        } else if self.mode != 0o755 {
            out += &alloc::format!(",mode={:o}", self.mode);
        }
        out.into_bytes()
    }

    fn name(&self) -> &'static str {
        self.name
    }

    fn dev(&self) -> DeviceId {
        self.shared.dev
    }
}

#[cfg(test)]
mod tests;
