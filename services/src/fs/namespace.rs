//! Operations that add, remove or move names: `mkdir`, `mknod`,
//! `symlink`, `link`, `unlink`, `rmdir`, `rename`/`renameat2`.
//!
//! Owns: Linux's argument and permission rules for them, in Linux's
//! order — `EEXIST`/`ENOENT` for the names, `EXDEV` across mounts,
//! `EROFS`, write+search permission on the directories (`EACCES`), the
//! sticky bit (`EPERM`), type mismatches (`EISDIR`/`ENOTDIR`),
//! `ENOTEMPTY`, `EBUSY` for mount points and `.`/`..`, `EINVAL` for moving
//! a directory under itself — and the ownership of new inodes (caller's
//! fsuid; gid and setgid bit inherited from a setgid directory).

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::context::FsContext;
use super::dentry::{Dentry, RENAME_LOCK};
use super::inode::{NewInode, RenameFlags};
use super::path::Path;
use super::perm::{check_access, check_sticky, Access, Credentials};
use super::types::{DeviceId, InodeType, PATH_MAX, S_IFDIR, S_IFMT, S_ISGID, S_ISVTX, S_IXGRP};
use super::walk::{Last, LastKind};
use crate::error::{Errno, Result};
use crate::return_errno_with_message;

/// Owner, group and mode of a new inode in `dir` (Linux
/// `inode_init_owner` + `mode_strip_sgid`). `perm` is already umasked.
pub(super) fn new_inode(dir: &Path, creds: &Credentials, kind: InodeType, perm: u32, rdev: DeviceId) -> NewInode {
    let dir_meta = dir.inode().metadata();
    let mut perm = perm & 0o7777;
    let gid = if dir_meta.perm & S_ISGID != 0 {
        if kind == InodeType::Dir {
            perm |= S_ISGID;
        }
        dir_meta.gid
    } else {
        creds.gid
    };
    if kind != InodeType::Dir && perm & (S_ISGID | S_IXGRP) == (S_ISGID | S_IXGRP) && !creds.in_group(gid) && !creds.is_root() {
        perm &= !S_ISGID;
    }
    NewInode { perm, uid: creds.uid, gid, rdev }
}

/// `EROFS` on a read-only mount.
pub(super) fn check_writable_mount(path: &Path) -> Result<()> {
    if path.mount().is_readonly() {
        return_errno_with_message!(EROFS, "read-only mount");
    }
    Ok(())
}

/// Linux `may_create`: the directory still exists and is writable and
/// searchable.
pub(super) fn may_create(dir: &Path, creds: &Credentials) -> Result<()> {
    if dir.dentry().is_deleted() {
        return_errno_with_message!(ENOENT, "directory was removed");
    }
    check_access(&dir.inode().metadata(), creds, Access::WRITE.union(Access::EXEC))
}

/// Linux `may_delete`: permission on the directory, the sticky bit, the
/// victim's type, mount points.
fn may_delete(dir: &Path, victim: &Arc<Dentry>, is_dir: bool, creds: &Credentials) -> Result<()> {
    let dir_meta = dir.inode().metadata();
    check_access(&dir_meta, creds, Access::WRITE.union(Access::EXEC))?;
    check_sticky(&dir_meta, &victim.inode().metadata(), creds)?;
    match (is_dir, victim.kind() == InodeType::Dir) {
        (true, false) => return_errno_with_message!(ENOTDIR, "not a directory"),
        (false, true) => return_errno_with_message!(EISDIR, "is a directory"),
        _ => {}
    }
    if victim.is_mountpoint() {
        return_errno_with_message!(EBUSY, "is a mount point");
    }
    Ok(())
}

/// The name to create from a parent walk (Linux `filename_create`):
/// `EEXIST` for `.`, `..`, `/` or an existing name; `ENOENT` for a
/// trailing slash unless creating a directory; `EROFS`.
fn name_to_create(dir: &Path, last: &Last, is_dir: bool) -> Result<Vec<u8>> {
    let LastKind::Normal(name) = &last.kind else {
        return_errno_with_message!(EEXIST, "cannot create . or .. or /");
    };
    match dir.dentry().lookup_child(name) {
        Ok(_) => return_errno_with_message!(EEXIST, "file exists"),
        Err(error) if error.errno() == Errno::ENOENT => {}
        Err(error) => return Err(error),
    }
    if last.trailing_slash && !is_dir {
        return_errno_with_message!(ENOENT, "trailing slash on a new non-directory");
    }
    check_writable_mount(dir)?;
    Ok(name.clone())
}

impl FsContext {
    /// `mkdir`/`mkdirat`; `mode` already umasked.
    pub fn mkdir(&self, at: Option<&Path>, path: &[u8], mode: u32, creds: &Credentials) -> Result<()> {
        let (dir, last) = self.walker(creds).walk_parent(self.start(at), path)?;
        let name = name_to_create(&dir, &last, true)?;
        may_create(&dir, creds)?;
        let init = new_inode(&dir, creds, InodeType::Dir, mode & (0o777 | S_ISVTX), DeviceId::NONE);
        dir.dentry().create_child(&name, InodeType::Dir, init)?;
        Ok(())
    }

    /// `mknod`/`mknodat`: regular files (type 0 or `S_IFREG`), FIFOs,
    /// sockets, and (root only, `EPERM`) character/block device nodes;
    /// `EPERM` for a directory type, `EINVAL` for an unknown type.
    pub fn mknod(&self, at: Option<&Path>, path: &[u8], mode: u32, dev: u64, creds: &Credentials) -> Result<()> {
        let kind = match mode & S_IFMT {
            0 => InodeType::File,
            S_IFDIR => return_errno_with_message!(EPERM, "mknod of a directory"),
            bits => match InodeType::from_mode(bits) {
                Some(InodeType::Symlink) | None => return_errno_with_message!(EINVAL, "mknod of an unknown type"),
                Some(kind) => kind,
            },
        };
        let (dir, last) = self.walker(creds).walk_parent(self.start(at), path)?;
        let name = name_to_create(&dir, &last, false)?;
        may_create(&dir, creds)?;
        let is_device = matches!(kind, InodeType::CharDevice | InodeType::BlockDevice);
        if is_device && !creds.is_root() {
            return_errno_with_message!(EPERM, "mknod of a device needs CAP_MKNOD");
        }
        let rdev = if is_device { DeviceId::decode(dev) } else { DeviceId::NONE };
        let init = new_inode(&dir, creds, kind, mode & 0o7777, rdev);
        dir.dentry().create_child(&name, kind, init)?;
        Ok(())
    }

    /// `symlink`/`symlinkat`: `ENOENT` for an empty target.
    pub fn symlink(&self, target: &[u8], at: Option<&Path>, path: &[u8], creds: &Credentials) -> Result<()> {
        if target.is_empty() {
            return_errno_with_message!(ENOENT, "empty symlink target");
        }
        if target.len() >= PATH_MAX {
            return_errno_with_message!(ENAMETOOLONG, "symlink target too long");
        }
        let (dir, last) = self.walker(creds).walk_parent(self.start(at), path)?;
        let name = name_to_create(&dir, &last, false)?;
        may_create(&dir, creds)?;
        let init = new_inode(&dir, creds, InodeType::Symlink, 0o777, DeviceId::NONE);
        dir.dentry().symlink_child(&name, target, init)?;
        Ok(())
    }

    /// `link`/`linkat`: `follow` is `AT_SYMLINK_FOLLOW` for the old path.
    /// `EXDEV` across mounts, `EPERM` for a directory.
    #[allow(clippy::too_many_arguments)]
    pub fn link(
        &self,
        old_at: Option<&Path>,
        old_path: &[u8],
        new_at: Option<&Path>,
        new_path: &[u8],
        follow: bool,
        creds: &Credentials,
    ) -> Result<()> {
        let old = self.walker(creds).resolve(self.start(old_at), old_path, follow)?;
        let (dir, last) = self.walker(creds).walk_parent(self.start(new_at), new_path)?;
        let name = name_to_create(&dir, &last, false)?;
        if !Arc::ptr_eq(old.mount(), dir.mount()) {
            return_errno_with_message!(EXDEV, "link across mounts");
        }
        may_create(&dir, creds)?;
        if old.kind() == InodeType::Dir {
            return_errno_with_message!(EPERM, "hard link to a directory");
        }
        dir.dentry().link_child(&name, old.inode())?;
        Ok(())
    }

    /// `unlink` / `unlinkat` without `AT_REMOVEDIR`.
    pub fn unlink(&self, at: Option<&Path>, path: &[u8], creds: &Credentials) -> Result<()> {
        let (dir, last) = self.walker(creds).walk_parent(self.start(at), path)?;
        let LastKind::Normal(name) = &last.kind else {
            return_errno_with_message!(EISDIR, "unlink of . or .. or /");
        };
        check_writable_mount(&dir)?;
        let victim = dir.dentry().lookup_child(name)?;
        if last.trailing_slash {
            if victim.kind() == InodeType::Dir {
                return_errno_with_message!(EISDIR, "unlink of a directory");
            }
            return_errno_with_message!(ENOTDIR, "trailing slash on a non-directory");
        }
        may_delete(&dir, &victim, false, creds)?;
        dir.dentry().unlink_child(name)
    }

    /// `rmdir` / `unlinkat` with `AT_REMOVEDIR`: `EINVAL` for `.`,
    /// `ENOTEMPTY` for `..`, `EBUSY` for `/` and mount points.
    pub fn rmdir(&self, at: Option<&Path>, path: &[u8], creds: &Credentials) -> Result<()> {
        let (dir, last) = self.walker(creds).walk_parent(self.start(at), path)?;
        let name = match &last.kind {
            LastKind::Normal(name) => name,
            LastKind::Dot => return_errno_with_message!(EINVAL, "rmdir of ."),
            LastKind::DotDot => return_errno_with_message!(ENOTEMPTY, "rmdir of .."),
            LastKind::Root => return_errno_with_message!(EBUSY, "rmdir of /"),
        };
        check_writable_mount(&dir)?;
        let victim = dir.dentry().lookup_child(name)?;
        may_delete(&dir, &victim, true, creds)?;
        if dir.child(victim.clone()).is_same(self.root()) {
            return_errno_with_message!(EBUSY, "rmdir of the root");
        }
        dir.dentry().rmdir_child(name)
    }

    /// `rename`/`renameat`/`renameat2` (`flags`: `RENAME_NOREPLACE`,
    /// `RENAME_EXCHANGE`; `RENAME_WHITEOUT` is not supported: `EINVAL`).
    #[allow(clippy::too_many_arguments)]
    pub fn rename(
        &self,
        old_at: Option<&Path>,
        old_path: &[u8],
        new_at: Option<&Path>,
        new_path: &[u8],
        flags: RenameFlags,
        creds: &Credentials,
    ) -> Result<()> {
        let noreplace = flags.contains(RenameFlags::NOREPLACE);
        let exchange = flags.contains(RenameFlags::EXCHANGE);
        if flags.bits() & !(RenameFlags::NOREPLACE.bits() | RenameFlags::EXCHANGE.bits()) != 0 {
            return_errno_with_message!(EINVAL, "unsupported rename flags");
        }
        if noreplace && exchange {
            return_errno_with_message!(EINVAL, "RENAME_NOREPLACE with RENAME_EXCHANGE");
        }
        let (old_dir, old_last) = self.walker(creds).walk_parent(self.start(old_at), old_path)?;
        let (new_dir, new_last) = self.walker(creds).walk_parent(self.start(new_at), new_path)?;
        if !Arc::ptr_eq(old_dir.mount(), new_dir.mount()) {
            return_errno_with_message!(EXDEV, "rename across mounts");
        }
        let LastKind::Normal(old_name) = &old_last.kind else {
            return_errno_with_message!(EBUSY, "rename of . or .. or /");
        };
        let LastKind::Normal(new_name) = &new_last.kind else {
            if noreplace {
                return_errno_with_message!(EEXIST, "rename onto . or .. or /");
            }
            return_errno_with_message!(EBUSY, "rename onto . or .. or /");
        };
        check_writable_mount(&old_dir)?;

        let _rename = RENAME_LOCK.lock();
        let moved = old_dir.dentry().lookup_child(old_name)?;
        let victim = match new_dir.dentry().lookup_child(new_name) {
            Ok(victim) => Some(victim),
            Err(error) if error.errno() == Errno::ENOENT => None,
            Err(error) => return Err(error),
        };
        if noreplace && victim.is_some() {
            return_errno_with_message!(EEXIST, "target exists (RENAME_NOREPLACE)");
        }
        if exchange && victim.is_none() {
            return_errno_with_message!(ENOENT, "exchange with a missing name");
        }
        let moved_is_dir = moved.kind() == InodeType::Dir;
        if !moved_is_dir && (old_last.trailing_slash || (!exchange && new_last.trailing_slash)) {
            return_errno_with_message!(ENOTDIR, "trailing slash on a non-directory");
        }
        if exchange {
            if let Some(victim) = &victim {
                if victim.kind() != InodeType::Dir && new_last.trailing_slash {
                    return_errno_with_message!(ENOTDIR, "trailing slash on a non-directory");
                }
            }
        }
        // The source may not be an ancestor of the target's directory...
        if moved.is_ancestor_of(new_dir.dentry()) {
            return_errno_with_message!(EINVAL, "directory moved under itself");
        }
        // ...nor the target an ancestor of the source.
        if let Some(victim) = &victim {
            if victim.is_ancestor_of(old_dir.dentry()) {
                if exchange {
                    return_errno_with_message!(EINVAL, "exchange with an ancestor");
                }
                return_errno_with_message!(ENOTEMPTY, "target is an ancestor of the source");
            }
            if Arc::ptr_eq(victim.inode(), moved.inode()) && !exchange {
                return Ok(());
            }
        }

        may_delete(&old_dir, &moved, moved_is_dir, creds)?;
        match &victim {
            None => may_create(&new_dir, creds)?,
            Some(victim) => {
                let victim_must_be_dir = if exchange { victim.kind() == InodeType::Dir } else { moved_is_dir };
                may_delete(&new_dir, victim, victim_must_be_dir, creds)?;
            }
        }
        if moved.is_mountpoint() {
            return_errno_with_message!(EBUSY, "rename of a mount point");
        }
        let same_dir = Arc::ptr_eq(old_dir.dentry(), new_dir.dentry());
        if !same_dir {
            // A directory changing parents has its ".." rewritten.
            if moved_is_dir {
                check_access(&moved.inode().metadata(), creds, Access::WRITE)?;
            }
            if let Some(victim) = victim.as_ref().filter(|victim| exchange && victim.kind() == InodeType::Dir) {
                check_access(&victim.inode().metadata(), creds, Access::WRITE)?;
            }
        }
        Dentry::rename_child(old_dir.dentry(), old_name, new_dir.dentry(), new_name, flags)
    }
}
