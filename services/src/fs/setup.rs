//! The file-system tree the kernel boots with: a `rootfs` (ramfs/tmpfs
//! flavour) holding the unpacked initramfs, and devfs mounted on `/dev`
//! (created if the archive has none), as Linux does with
//! `devtmpfs.mount=1`, then procfs on `/proc` and sysfs on `/sys`
//! (nosuid, nodev, noexec, as init systems mount them).
//!
//! Owns: that assembly only; the kernel calls [`boot_tree`] once its heap
//! exists and builds the first process's [`FsContext`] from the result.

use alloc::sync::Arc;

use super::context::FsContext;
use super::devfs::new_devfs;
use super::inode::FileSystem;
use super::procfs::ProcFs;
use super::initramfs::{unpack, UnpackReport};
use super::mount::{mount, Mount, MountFlags};
use super::path::Path;
use super::perm::Credentials;
use super::ramfs::{RamFs, TMPFS_MAGIC};
use crate::error::{Errno, Result};

/// Build the boot tree from the initramfs bytes. Returns the root mount
/// and what the unpacking did (it never fails the boot by itself).
pub fn boot_tree(initramfs: &[u8]) -> Result<(Arc<Mount>, UnpackReport)> {
    let root_mount = Mount::new_root(RamFs::build("rootfs", TMPFS_MAGIC, None, 0o755), MountFlags::empty());
    let root = Path::root_of(&root_mount);
    let report = unpack(&root, initramfs);
    let context = FsContext::new(root);
    let creds = Credentials::root();
    match context.mkdir(None, b"/dev", 0o755, &creds) {
        Ok(()) => {}
        Err(error) if error.errno() == Errno::EEXIST => {}
        Err(error) => return Err(error),
    }
    let dev = context.lookup(None, b"/dev", true, &creds)?;
    mount(&dev, new_devfs()?, MountFlags::empty())?;
    let proc: Arc<dyn FileSystem> = ProcFs::new_proc();
    let sys: Arc<dyn FileSystem> = ProcFs::new_sysfs();
    for (dir, fs) in [(&b"/proc"[..], proc), (&b"/sys"[..], sys)] {
        match context.mkdir(None, dir, 0o555, &creds) {
            Ok(()) => {}
            Err(error) if error.errno() == Errno::EEXIST => {}
            Err(error) => return Err(error),
        }
        let at = context.lookup(None, dir, true, &creds)?;
        mount(&at, fs, MountFlags::from_bits_truncate(MountFlags::NOSUID.bits() | MountFlags::NODEV.bits() | MountFlags::NOEXEC.bits()))?;
    }
    Ok((root_mount, report))
}
