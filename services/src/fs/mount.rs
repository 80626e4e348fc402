//! The mount tree: which filesystem is mounted on which directory.
//!
//! Owns: [`Mount`] (a filesystem instance attached at a dentry of a parent
//! mount, with its own root dentry), [`MountFlags`], and `mount`/`umount`.
//! Walking across mount points is [`super::path::Path`]'s job; this module
//! only keeps the tree.

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::dentry::Dentry;
use super::inode::FileSystem;
use super::path::Path;
use crate::error::Result;
use crate::return_errno_with_message;
use crate::sync::Mutex;

/// Per-mount flags (Linux `MS_*` values where one exists).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MountFlags(u64);

impl MountFlags {
    pub const RDONLY: MountFlags = MountFlags(1);
    pub const NOSUID: MountFlags = MountFlags(2);
    pub const NODEV: MountFlags = MountFlags(4);
    pub const NOEXEC: MountFlags = MountFlags(8);

    pub const fn empty() -> Self {
        MountFlags(0)
    }
    pub const fn from_bits_truncate(bits: u64) -> Self {
        MountFlags(bits & 0xf)
    }
    pub const fn bits(self) -> u64 {
        self.0
    }
    pub const fn contains(self, other: MountFlags) -> bool {
        self.0 & other.0 == other.0
    }
}

/// One mounted filesystem.
pub struct Mount {
    id: u64,
    fs: Arc<dyn FileSystem>,
    root: Arc<Dentry>,
    flags: MountFlags,
    /// The `source` given to mount(2) (`none` when it was NULL); `None`
    /// for the kernel's own mounts, which show the file-system name.
    source: Option<Vec<u8>>,
    /// The mount this one is attached to and the dentry it covers.
    parent: Option<(Weak<Mount>, Arc<Dentry>)>,
    /// Child mounts by the id of the dentry they cover.
    children: Mutex<BTreeMap<u64, Arc<Mount>>>,
    detached: AtomicBool,
}

impl core::fmt::Debug for Mount {
    fn fmt(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
        f.debug_struct("Mount").field("id", &self.id).field("fs", &self.fs.name()).finish()
    }
}

fn next_mount_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Mount {
    /// The root of a new mount tree (the `/` of a namespace).
    pub fn new_root(fs: Arc<dyn FileSystem>, flags: MountFlags) -> Arc<Mount> {
        let root = Dentry::new_root(fs.root());
        Arc::new(Mount {
            id: next_mount_id(),
            fs,
            root,
            flags,
            source: None,
            parent: None,
            children: Mutex::new(BTreeMap::new()),
            detached: AtomicBool::new(false),
        })
    }

    /// `statx` `stx_mnt_id`.
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn fs(&self) -> &Arc<dyn FileSystem> {
        &self.fs
    }

    pub fn root_dentry(&self) -> &Arc<Dentry> {
        &self.root
    }

    pub fn flags(&self) -> MountFlags {
        self.flags
    }

    pub fn is_readonly(&self) -> bool {
        self.flags.contains(MountFlags::RDONLY)
    }

    /// The first field of `/proc/mounts`: mount(2)'s source, else the
    /// file-system name.
    pub fn source(&self) -> &[u8] {
        self.source.as_deref().unwrap_or(self.fs.name().as_bytes())
    }

    /// The parent mount and the dentry this mount covers (`None` for a
    /// tree root or a detached mount).
    pub fn parent(&self) -> Option<(Arc<Mount>, Arc<Dentry>)> {
        if self.detached.load(Ordering::Acquire) {
            return None;
        }
        let (parent, mountpoint) = self.parent.as_ref()?;
        Some((parent.upgrade()?, mountpoint.clone()))
    }

    /// The mount covering `dentry` (a dentry of this mount), if any.
    pub fn child_at(&self, dentry: &Dentry) -> Option<Arc<Mount>> {
        if !dentry.is_mountpoint() {
            return None;
        }
        self.children.lock().get(&dentry.id()).cloned()
    }

    /// Every mount of the tree under (and including) this one, parents
    /// first (for `/proc/mounts`).
    pub fn collect_tree(self: &Arc<Self>, out: &mut Vec<Arc<Mount>>) {
        out.push(self.clone());
        let children: Vec<Arc<Mount>> = self.children.lock().values().cloned().collect();
        for child in children {
            child.collect_tree(out);
        }
    }
}

/// Mount `fs` on the directory `at` (already crossed to the topmost mount
/// there, as a path walk returns it). Returns the new mount's root.
pub fn mount(at: &Path, fs: Arc<dyn FileSystem>, flags: MountFlags) -> Result<Path> {
    mount_from(at, fs, flags, None)
}

/// [`mount`] with mount(2)'s `source` string, shown in `/proc/mounts`.
pub fn mount_from(at: &Path, fs: Arc<dyn FileSystem>, flags: MountFlags, source: Option<Vec<u8>>) -> Result<Path> {
    if !at.dentry().kind().is_dir() {
        return_errno_with_message!(ENOTDIR, "mount point is not a directory");
    }
    if at.dentry().is_deleted() {
        return_errno_with_message!(ENOENT, "mount point was removed");
    }
    let parent = at.mount();
    let mut children = parent.children.lock();
    if children.contains_key(&at.dentry().id()) {
        return_errno_with_message!(EBUSY, "already a mount point of this mount");
    }
    let root = Dentry::new_root(fs.root());
    let child = Arc::new(Mount {
        id: next_mount_id(),
        fs,
        root: root.clone(),
        flags,
        source,
        parent: Some((Arc::downgrade(parent), at.dentry().clone())),
        children: Mutex::new(BTreeMap::new()),
        detached: AtomicBool::new(false),
    });
    children.insert(at.dentry().id(), child.clone());
    at.dentry().add_mount();
    Ok(Path::new(child, root))
}

/// `umount2` flag `MNT_DETACH`.
pub const MNT_DETACH: u32 = 2;

/// Unmount the mount whose root is `target`. `EINVAL` if `target` is not
/// a mount root or is the tree root; `EBUSY` if something is mounted
/// below it or (without `MNT_DETACH`) it is in use — an open file, a cwd
/// or any other path into it. Detached mounts stay usable by whoever
/// still holds them, as with Linux's lazy unmount.
pub fn umount(target: Path, flags: u32) -> Result<()> {
    if flags & !MNT_DETACH != 0 {
        return_errno_with_message!(EINVAL, "unsupported umount flags");
    }
    let mount = target.mount().clone();
    if !Arc::ptr_eq(target.dentry(), &mount.root) {
        return_errno_with_message!(EINVAL, "not a mount root");
    }
    let Some((parent, mountpoint)) = mount.parent() else {
        return_errno_with_message!(EINVAL, "cannot unmount the root of the tree");
    };
    if !mount.children.lock().is_empty() {
        return_errno_with_message!(EBUSY, "filesystems are mounted below");
    }
    drop(target);
    let mut siblings = parent.children.lock();
    // Held by: the parent's table, `mount` here.
    if flags & MNT_DETACH == 0 && Arc::strong_count(&mount) > 2 {
        return_errno_with_message!(EBUSY, "mount is in use");
    }
    siblings.remove(&mountpoint.id());
    mount.detached.store(true, Ordering::Release);
    mountpoint.remove_mount();
    Ok(())
}
