//! Who is asking, and whether they may: credentials and the Linux
//! permission checks (owner/group/other bits, root's overrides, the
//! sticky bit, owner-only operations).
//!
//! Owns: [`Credentials`], [`Access`] and the check functions. Root here
//! means filesystem uid 0, standing in for the capabilities Linux checks
//! (`CAP_DAC_OVERRIDE`, `CAP_DAC_READ_SEARCH`, `CAP_FOWNER`, `CAP_CHOWN`,
//! `CAP_FSETID`, `CAP_MKNOD`) until capabilities exist.

use alloc::vec::Vec;

use super::types::{Metadata, S_ISVTX};
use crate::error::Result;
use crate::return_errno_with_message;

/// The filesystem identity of the caller (fsuid, fsgid, supplementary
/// groups). `access`/`faccessat` pass the real ids instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

impl Credentials {
    pub fn root() -> Self {
        Credentials { uid: 0, gid: 0, groups: Vec::new() }
    }

    pub fn new(uid: u32, gid: u32) -> Self {
        Credentials { uid, gid, groups: Vec::new() }
    }

    pub fn with_groups(mut self, groups: &[u32]) -> Self {
        self.groups = groups.to_vec();
        self
    }

    /// Has the capabilities root has (see the module comment).
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    /// `gid` is the primary or a supplementary group.
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || self.groups.contains(&gid)
    }
}

/// Requested access, with the values of `R_OK`, `W_OK`, `X_OK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access(u32);

impl Access {
    pub const NONE: Access = Access(0);
    pub const EXEC: Access = Access(1);
    pub const WRITE: Access = Access(2);
    pub const READ: Access = Access(4);

    pub const fn bits(self) -> u32 {
        self.0
    }

    /// From `R_OK|W_OK|X_OK` bits; other bits are dropped.
    pub const fn from_bits_truncate(bits: u32) -> Self {
        Access(bits & 7)
    }

    pub const fn union(self, other: Access) -> Access {
        Access(self.0 | other.0)
    }

    pub const fn contains(self, other: Access) -> bool {
        self.0 & other.0 == other.0
    }
}

/// Linux `generic_permission`: the owner, group or other bits, whichever
/// class the caller falls in; root may read and write anything and search
/// any directory, but executes a non-directory only if some `x` bit is set.
pub fn check_access(meta: &Metadata, creds: &Credentials, access: Access) -> Result<()> {
    if access.0 == 0 {
        return Ok(());
    }
    if creds.is_root() {
        if !access.contains(Access::EXEC) || meta.kind.is_dir() || meta.perm & 0o111 != 0 {
            return Ok(());
        }
        return_errno_with_message!(EACCES, "no execute bit set, even for root");
    }
    let class_bits = if creds.uid == meta.uid {
        (meta.perm >> 6) & 7
    } else if creds.in_group(meta.gid) {
        (meta.perm >> 3) & 7
    } else {
        meta.perm & 7
    };
    if class_bits & access.0 == access.0 {
        Ok(())
    } else {
        return_errno_with_message!(EACCES, "permission bits deny access")
    }
}

/// Owner-only operations (chmod, utimes with explicit times, ...): the
/// owner or root (`inode_owner_or_capable`), else `EPERM`.
pub fn check_owner(meta: &Metadata, creds: &Credentials) -> Result<()> {
    if creds.is_root() || creds.uid == meta.uid {
        Ok(())
    } else {
        return_errno_with_message!(EPERM, "not the owner")
    }
}

/// Removing or renaming `victim` out of `dir`: in a sticky directory only
/// the victim's owner, the directory's owner or root may (`EPERM`).
pub fn check_sticky(dir: &Metadata, victim: &Metadata, creds: &Credentials) -> Result<()> {
    if dir.perm & S_ISVTX == 0 || creds.is_root() || creds.uid == victim.uid || creds.uid == dir.uid {
        Ok(())
    } else {
        return_errno_with_message!(EPERM, "sticky directory: not the owner")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Errno;
    use crate::fs::clock::Timespec;
    use crate::fs::types::{DeviceId, InodeType};

    fn meta(kind: InodeType, perm: u32, uid: u32, gid: u32) -> Metadata {
        Metadata {
            dev: DeviceId::NONE,
            ino: 1,
            kind,
            perm,
            nlink: 1,
            uid,
            gid,
            rdev: DeviceId::NONE,
            size: 0,
            blksize: 4096,
            blocks: 0,
            atime: Timespec::ZERO,
            mtime: Timespec::ZERO,
            ctime: Timespec::ZERO,
            btime: Timespec::ZERO,
        }
    }

    fn errno(result: Result<()>) -> Option<Errno> {
        result.err().map(|e| e.errno())
    }

    #[test]
    fn owner_group_other_classes() {
        let file = meta(InodeType::File, 0o640, 1000, 100);
        let owner = Credentials::new(1000, 1000);
        let member = Credentials::new(2000, 100);
        let supplementary = Credentials::new(2000, 2000).with_groups(&[7, 100]);
        let other = Credentials::new(3000, 3000);
        assert_eq!(errno(check_access(&file, &owner, Access::READ.union(Access::WRITE))), None);
        assert_eq!(errno(check_access(&file, &owner, Access::EXEC)), Some(Errno::EACCES));
        assert_eq!(errno(check_access(&file, &member, Access::READ)), None);
        assert_eq!(errno(check_access(&file, &member, Access::WRITE)), Some(Errno::EACCES));
        assert_eq!(errno(check_access(&file, &supplementary, Access::READ)), None);
        assert_eq!(errno(check_access(&file, &other, Access::READ)), Some(Errno::EACCES));
        assert_eq!(errno(check_access(&file, &other, Access::NONE)), None);
        // The owner class applies even when it grants less than "other".
        let odd = meta(InodeType::File, 0o077, 1000, 100);
        assert_eq!(errno(check_access(&odd, &owner, Access::READ)), Some(Errno::EACCES));
    }

    #[test]
    fn root_overrides_except_exec_without_any_x_bit() {
        let root = Credentials::root();
        let file = meta(InodeType::File, 0o000, 1000, 100);
        assert_eq!(errno(check_access(&file, &root, Access::READ.union(Access::WRITE))), None);
        assert_eq!(errno(check_access(&file, &root, Access::EXEC)), Some(Errno::EACCES));
        let other_x = meta(InodeType::File, 0o001, 1000, 100);
        assert_eq!(errno(check_access(&other_x, &root, Access::EXEC)), None);
        let dir = meta(InodeType::Dir, 0o000, 1000, 100);
        assert_eq!(errno(check_access(&dir, &root, Access::EXEC)), None);
    }

    #[test]
    fn owner_and_sticky_checks() {
        let file = meta(InodeType::File, 0o644, 1000, 100);
        assert_eq!(errno(check_owner(&file, &Credentials::new(1000, 1))), None);
        assert_eq!(errno(check_owner(&file, &Credentials::root())), None);
        assert_eq!(errno(check_owner(&file, &Credentials::new(1001, 100))), Some(Errno::EPERM));
        let tmp = meta(InodeType::Dir, 0o1777, 0, 0);
        assert_eq!(errno(check_sticky(&tmp, &file, &Credentials::new(1000, 1))), None);
        assert_eq!(errno(check_sticky(&tmp, &file, &Credentials::new(1001, 1))), Some(Errno::EPERM));
        assert_eq!(errno(check_sticky(&tmp, &file, &Credentials::root())), None);
        let plain = meta(InodeType::Dir, 0o777, 0, 0);
        assert_eq!(errno(check_sticky(&plain, &file, &Credentials::new(1001, 1))), None);
    }
}
