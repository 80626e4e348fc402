//! Operations on an inode's attributes and other per-path queries:
//! `stat`/`statx`/`statfs` bytes, `access`, `readlink`, `chmod`, `chown`,
//! `truncate`, `utimensat`, and the exec check the ELF loader needs.
//!
//! Owns: who may change what (owner-or-root for `chmod` and explicit
//! times, root for changing the owner, owner-and-member for changing the
//! group, write permission for `UTIME_NOW`), the mode bits Linux clears
//! (`S_ISGID` on `chmod` by a non-member; on `chown` of a non-directory
//! `S_ISUID`, and `S_ISGID` when group-exec is set, whoever the caller
//! is), and ctime updates. They act on a resolved [`Path`], so the `f*`
//! variants (`fchmod`, `fstat`, ...) pass an open file's path.

use alloc::vec::Vec;

use super::clock::{now, Timespec};
use super::flags::{F_OK, R_OK, W_OK, X_OK};
use super::inode::StatFs;
use super::mount::MountFlags;
use super::namespace::check_writable_mount;
use super::path::Path;
use super::perm::{check_access, check_owner, Access, Credentials};
use super::stat::{encode_stat, encode_statfs, encode_statx, StatxExtra, STATFS_SIZE, STATX_SIZE, STAT_SIZE};
use super::types::{InodeType, SetAttr, S_ISGID, S_ISUID, S_IXGRP};
use crate::error::Result;
use crate::return_errno_with_message;

/// `struct stat` bytes for `stat`/`lstat`/`fstat`/`newfstatat`.
pub fn stat_bytes(path: &Path) -> [u8; STAT_SIZE] {
    encode_stat(&path.inode().metadata())
}

/// `struct statx` bytes (the caller checked the arguments with
/// [`super::stat::check_statx_args`]).
pub fn statx_bytes(path: &Path, mask: u32) -> [u8; STATX_SIZE] {
    let extra = StatxExtra { mount_id: path.mount().id(), mount_root: path.is_mount_root() };
    encode_statx(&path.inode().metadata(), mask, extra)
}

/// `ST_*` bits of `statfs` `f_flags`.
const ST_VALID: u64 = 0x20;
const ST_RELATIME: u64 = 0x1000;

/// `statfs`/`fstatfs` numbers of the filesystem `path` is on, with the
/// mount's flags (`ST_RDONLY`... plus `ST_VALID`, `ST_RELATIME`).
pub fn statfs(path: &Path) -> StatFs {
    let mut info = path.mount().fs().statfs();
    let mount_flags = path.mount().flags().bits() & MountFlags::from_bits_truncate(u64::MAX).bits();
    info.flags = ST_VALID | ST_RELATIME | mount_flags;
    info
}

pub fn statfs_bytes(path: &Path) -> [u8; STATFS_SIZE] {
    encode_statfs(&statfs(path))
}

/// `access`/`faccessat` on a resolved path: `mode` is `F_OK` or any of
/// `R_OK|W_OK|X_OK` (else `EINVAL`, checked before the lookup by the
/// caller with [`check_access_mode`]); `EROFS` for `W_OK` on a read-only
/// mount.
pub fn access(path: &Path, mode: u32, creds: &Credentials) -> Result<()> {
    check_access_mode(mode)?;
    if mode == F_OK {
        return Ok(());
    }
    let meta = path.inode().metadata();
    if mode & W_OK != 0 && matches!(meta.kind, InodeType::File | InodeType::Dir | InodeType::Symlink) {
        check_writable_mount(path)?;
    }
    check_access(&meta, creds, Access::from_bits_truncate(mode & (R_OK | W_OK | X_OK)))
}

/// `EINVAL` for `access` mode bits other than `R_OK|W_OK|X_OK`.
pub fn check_access_mode(mode: u32) -> Result<()> {
    if mode & !(R_OK | W_OK | X_OK) != 0 {
        return_errno_with_message!(EINVAL, "invalid access mode");
    }
    Ok(())
}

/// `readlink` target bytes (the caller truncates to the user buffer):
/// `EINVAL` if not a symlink.
pub fn readlink(path: &Path) -> Result<Vec<u8>> {
    if path.kind() != InodeType::Symlink {
        return_errno_with_message!(EINVAL, "not a symlink");
    }
    path.inode().read_link()
}

/// `chmod`/`fchmod`/`fchmodat`: owner or root (`EPERM`); `S_ISGID` is
/// dropped when a non-root caller is not in the file's group. Symlinks
/// have no mode of their own (`EOPNOTSUPP`, as `fchmodat` with
/// `AT_SYMLINK_NOFOLLOW`).
pub fn chmod(path: &Path, mode: u32, creds: &Credentials) -> Result<()> {
    let meta = path.inode().metadata();
    if meta.kind == InodeType::Symlink {
        return_errno_with_message!(EOPNOTSUPP, "chmod of a symlink");
    }
    check_writable_mount(path)?;
    check_owner(&meta, creds)?;
    let mut perm = mode & 0o7777;
    if !creds.is_root() && !creds.in_group(meta.gid) {
        perm &= !S_ISGID;
    }
    path.inode().set_attr(&SetAttr { perm: Some(perm), ctime: Some(now()), ..SetAttr::default() })
}

/// `chown`/`fchown`/`lchown`/`fchownat`; `None` for "-1" (unchanged).
pub fn chown(path: &Path, uid: Option<u32>, gid: Option<u32>, creds: &Credentials) -> Result<()> {
    let meta = path.inode().metadata();
    check_writable_mount(path)?;
    let is_owner = creds.uid == meta.uid;
    if let Some(uid) = uid {
        let allowed = creds.is_root() || (is_owner && uid == meta.uid);
        if !allowed {
            return_errno_with_message!(EPERM, "changing the owner needs CAP_CHOWN");
        }
    }
    if let Some(gid) = gid {
        let allowed = creds.is_root() || (is_owner && (gid == meta.gid || creds.in_group(gid)));
        if !allowed {
            return_errno_with_message!(EPERM, "changing the group needs ownership and membership");
        }
    }
    let mut perm = meta.perm;
    if meta.kind != InodeType::Dir {
        perm &= !S_ISUID;
        if perm & S_IXGRP != 0 {
            perm &= !S_ISGID;
        }
    }
    path.inode().set_attr(&SetAttr {
        perm: (perm != meta.perm).then_some(perm),
        uid,
        gid,
        ctime: Some(now()),
        ..SetAttr::default()
    })
}

/// `truncate` (by path): `EINVAL` for a negative length or a
/// non-regular file, `EISDIR`, `EROFS`, `EACCES` without write permission.
pub fn truncate(path: &Path, length: i64, creds: &Credentials) -> Result<()> {
    if length < 0 {
        return_errno_with_message!(EINVAL, "negative length");
    }
    match path.kind() {
        InodeType::Dir => return_errno_with_message!(EISDIR, "truncate of a directory"),
        InodeType::File => {}
        _ => return_errno_with_message!(EINVAL, "truncate of a non-regular file"),
    }
    check_writable_mount(path)?;
    check_access(&path.inode().metadata(), creds, Access::WRITE)?;
    path.inode().resize(length as u64)
}

/// One timestamp argument of `utimensat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeChange {
    Now,
    Omit,
    Set(Timespec),
}

impl TimeChange {
    /// From a user `struct timespec`: `UTIME_NOW`/`UTIME_OMIT` in
    /// `tv_nsec`, else `EINVAL` unless 0 <= nsec < 1e9.
    pub fn from_timespec(sec: i64, nsec: i64) -> Result<Self> {
        match nsec {
            super::flags::UTIME_NOW => Ok(TimeChange::Now),
            super::flags::UTIME_OMIT => Ok(TimeChange::Omit),
            0..=999_999_999 => Ok(TimeChange::Set(Timespec::new(sec, nsec as u32))),
            _ => return_errno_with_message!(EINVAL, "tv_nsec out of range"),
        }
    }
}

/// `utimensat`/`futimens` (a NULL times pointer is `(Now, Now)`).
/// Explicit times need the owner or root (`EPERM`); setting only "now"
/// also allows anyone with write permission (`EACCES` otherwise).
pub fn set_times(path: &Path, atime: TimeChange, mtime: TimeChange, creds: &Credentials) -> Result<()> {
    if atime == TimeChange::Omit && mtime == TimeChange::Omit {
        return Ok(());
    }
    check_writable_mount(path)?;
    let meta = path.inode().metadata();
    let explicit = matches!(atime, TimeChange::Set(_)) || matches!(mtime, TimeChange::Set(_));
    if explicit {
        check_owner(&meta, creds)?;
    } else if !creds.is_root() && creds.uid != meta.uid {
        check_access(&meta, creds, Access::WRITE)?;
    }
    let time = now();
    let resolve = |change: TimeChange| match change {
        TimeChange::Now => Some(time),
        TimeChange::Omit => None,
        TimeChange::Set(value) => Some(value),
    };
    path.inode().set_attr(&SetAttr { atime: resolve(atime), mtime: resolve(mtime), ctime: Some(time), ..SetAttr::default() })
}

/// Whether `execve` may run the file at `path`: a regular file
/// (`EACCES` otherwise), not on a `noexec` mount, with execute permission
/// (root needs some `x` bit).
pub fn check_exec(path: &Path, creds: &Credentials) -> Result<()> {
    if path.kind() != InodeType::File {
        return_errno_with_message!(EACCES, "exec of a non-regular file");
    }
    if path.mount().flags().contains(MountFlags::NOEXEC) {
        return_errno_with_message!(EACCES, "noexec mount");
    }
    check_access(&path.inode().metadata(), creds, Access::EXEC)
}
