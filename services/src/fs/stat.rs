//! The `stat` family's user-visible bytes: x86-64 `struct stat` (144
//! bytes), `struct statx` (256 bytes, with the request-mask and flag
//! rules) and `struct statfs` (120 bytes).
//!
//! Owns: those layouts. Values come from [`Metadata`] / [`StatFs`].

use super::clock::Timespec;
use super::flags::{AT_EMPTY_PATH, AT_NO_AUTOMOUNT, AT_STATX_SYNC_TYPE, AT_SYMLINK_NOFOLLOW};
use super::inode::StatFs;
use super::types::Metadata;
use crate::error::Result;
use crate::return_errno_with_message;

pub const STAT_SIZE: usize = 144;
pub const STATX_SIZE: usize = 256;
pub const STATFS_SIZE: usize = 120;

pub const STATX_TYPE: u32 = 0x1;
pub const STATX_MODE: u32 = 0x2;
pub const STATX_NLINK: u32 = 0x4;
pub const STATX_UID: u32 = 0x8;
pub const STATX_GID: u32 = 0x10;
pub const STATX_ATIME: u32 = 0x20;
pub const STATX_MTIME: u32 = 0x40;
pub const STATX_CTIME: u32 = 0x80;
pub const STATX_INO: u32 = 0x100;
pub const STATX_SIZE_BIT: u32 = 0x200;
pub const STATX_BLOCKS: u32 = 0x400;
pub const STATX_BASIC_STATS: u32 = 0x7ff;
pub const STATX_BTIME: u32 = 0x800;
pub const STATX_MNT_ID: u32 = 0x1000;
pub const STATX_MNT_ID_UNIQUE: u32 = 0x4000;
pub const STATX_RESERVED: u32 = 0x8000_0000;
/// `stx_attributes` bit: the file is the root of a mount.
pub const STATX_ATTR_MOUNT_ROOT: u64 = 0x2000;

fn put_u16(buf: &mut [u8], at: usize, value: u16) {
    buf[at..at + 2].copy_from_slice(&value.to_ne_bytes());
}
fn put_u32(buf: &mut [u8], at: usize, value: u32) {
    buf[at..at + 4].copy_from_slice(&value.to_ne_bytes());
}
fn put_u64(buf: &mut [u8], at: usize, value: u64) {
    buf[at..at + 8].copy_from_slice(&value.to_ne_bytes());
}
fn put_i64(buf: &mut [u8], at: usize, value: i64) {
    buf[at..at + 8].copy_from_slice(&value.to_ne_bytes());
}

/// x86-64 `struct stat`.
pub fn encode_stat(meta: &Metadata) -> [u8; STAT_SIZE] {
    let mut buf = [0u8; STAT_SIZE];
    put_u64(&mut buf, 0, meta.dev.encode());
    put_u64(&mut buf, 8, meta.ino);
    put_u64(&mut buf, 16, meta.nlink);
    put_u32(&mut buf, 24, meta.mode());
    put_u32(&mut buf, 28, meta.uid);
    put_u32(&mut buf, 32, meta.gid);
    // 36: __pad0
    put_u64(&mut buf, 40, meta.rdev.encode());
    put_i64(&mut buf, 48, meta.size as i64);
    put_i64(&mut buf, 56, i64::from(meta.blksize));
    put_i64(&mut buf, 64, meta.blocks as i64);
    let times = [meta.atime, meta.mtime, meta.ctime];
    for (index, time) in times.iter().enumerate() {
        put_i64(&mut buf, 72 + index * 16, time.sec);
        put_i64(&mut buf, 80 + index * 16, i64::from(time.nsec));
    }
    // 120..144: __unused[3]
    buf
}

/// Check `statx`'s `flags` and `mask` arguments (`EINVAL` as Linux).
pub fn check_statx_args(flags: u32, mask: u32) -> Result<()> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | AT_STATX_SYNC_TYPE) != 0 {
        return_errno_with_message!(EINVAL, "unknown statx flags");
    }
    if flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE {
        return_errno_with_message!(EINVAL, "AT_STATX_FORCE_SYNC with AT_STATX_DONT_SYNC");
    }
    if mask & STATX_RESERVED != 0 {
        return_errno_with_message!(EINVAL, "STATX__RESERVED in mask");
    }
    Ok(())
}

/// What `statx` reports beyond the inode's metadata.
#[derive(Clone, Copy, Debug)]
pub struct StatxExtra {
    pub mount_id: u64,
    pub mount_root: bool,
}

fn put_statx_time(buf: &mut [u8], at: usize, time: Timespec) {
    put_i64(buf, at, time.sec);
    put_u32(buf, at + 8, time.nsec);
}

/// `struct statx`. Like Linux, every basic field is filled whatever was
/// requested; `stx_mask` says what is valid: the basic stats, the birth
/// time and the mount id (`STATX_MNT_ID_UNIQUE` instead of `STATX_MNT_ID`
/// when that was asked for; our mount ids are never reused).
pub fn encode_statx(meta: &Metadata, request: u32, extra: StatxExtra) -> [u8; STATX_SIZE] {
    let mut buf = [0u8; STATX_SIZE];
    let mount_bit = if request & STATX_MNT_ID_UNIQUE != 0 { STATX_MNT_ID_UNIQUE } else { STATX_MNT_ID };
    put_u32(&mut buf, 0, STATX_BASIC_STATS | STATX_BTIME | mount_bit);
    put_u32(&mut buf, 4, meta.blksize);
    put_u64(&mut buf, 8, if extra.mount_root { STATX_ATTR_MOUNT_ROOT } else { 0 });
    put_u32(&mut buf, 16, meta.nlink.min(u64::from(u32::MAX)) as u32);
    put_u32(&mut buf, 20, meta.uid);
    put_u32(&mut buf, 24, meta.gid);
    put_u16(&mut buf, 28, meta.mode() as u16);
    put_u64(&mut buf, 32, meta.ino);
    put_u64(&mut buf, 40, meta.size);
    put_u64(&mut buf, 48, meta.blocks);
    put_u64(&mut buf, 56, STATX_ATTR_MOUNT_ROOT);
    put_statx_time(&mut buf, 64, meta.atime);
    put_statx_time(&mut buf, 80, meta.btime);
    put_statx_time(&mut buf, 96, meta.ctime);
    put_statx_time(&mut buf, 112, meta.mtime);
    put_u32(&mut buf, 128, meta.rdev.major);
    put_u32(&mut buf, 132, meta.rdev.minor);
    put_u32(&mut buf, 136, meta.dev.major);
    put_u32(&mut buf, 140, meta.dev.minor);
    put_u64(&mut buf, 144, extra.mount_id);
    buf
}

/// x86-64 `struct statfs`.
pub fn encode_statfs(info: &StatFs) -> [u8; STATFS_SIZE] {
    let mut buf = [0u8; STATFS_SIZE];
    put_u64(&mut buf, 0, info.magic);
    put_u64(&mut buf, 8, info.block_size);
    put_u64(&mut buf, 16, info.blocks);
    put_u64(&mut buf, 24, info.blocks_free);
    put_u64(&mut buf, 32, info.blocks_available);
    put_u64(&mut buf, 40, info.files);
    put_u64(&mut buf, 48, info.files_free);
    put_u32(&mut buf, 56, info.fsid as u32);
    put_u32(&mut buf, 60, (info.fsid >> 32) as u32);
    put_u64(&mut buf, 64, info.name_max);
    put_u64(&mut buf, 72, info.block_size);
    put_u64(&mut buf, 80, info.flags);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Errno;
    use crate::fs::types::{DeviceId, InodeType};

    fn sample() -> Metadata {
        Metadata {
            dev: DeviceId::new(0, 22),
            ino: 0x1122_3344,
            kind: InodeType::File,
            perm: 0o4755,
            nlink: 3,
            uid: 1000,
            gid: 100,
            rdev: DeviceId::new(1, 3),
            size: 12345,
            blksize: 4096,
            blocks: 32,
            atime: Timespec::new(1_700_000_001, 11),
            mtime: Timespec::new(1_700_000_002, 22),
            ctime: Timespec::new(1_700_000_003, 33),
            btime: Timespec::new(1_700_000_000, 44),
        }
    }

    fn u32_at(buf: &[u8], at: usize) -> u32 {
        u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap())
    }
    fn u64_at(buf: &[u8], at: usize) -> u64 {
        u64::from_ne_bytes(buf[at..at + 8].try_into().unwrap())
    }

    #[test]
    fn stat_layout_matches_x86_64() {
        let buf = encode_stat(&sample());
        assert_eq!(u64_at(&buf, 0), 22); // st_dev 0:22
        assert_eq!(u64_at(&buf, 8), 0x1122_3344);
        assert_eq!(u64_at(&buf, 16), 3);
        assert_eq!(u32_at(&buf, 24), 0o104755);
        assert_eq!(u32_at(&buf, 28), 1000);
        assert_eq!(u32_at(&buf, 32), 100);
        assert_eq!(u32_at(&buf, 36), 0);
        assert_eq!(u64_at(&buf, 40), 0x103);
        assert_eq!(u64_at(&buf, 48), 12345);
        assert_eq!(u64_at(&buf, 56), 4096);
        assert_eq!(u64_at(&buf, 64), 32);
        assert_eq!(u64_at(&buf, 72), 1_700_000_001);
        assert_eq!(u64_at(&buf, 80), 11);
        assert_eq!(u64_at(&buf, 88), 1_700_000_002);
        assert_eq!(u64_at(&buf, 96), 22);
        assert_eq!(u64_at(&buf, 104), 1_700_000_003);
        assert_eq!(u64_at(&buf, 112), 33);
        assert!(buf[120..].iter().all(|&b| b == 0));
    }

    #[test]
    fn statx_layout_and_mask() {
        let buf = encode_statx(&sample(), STATX_BASIC_STATS, StatxExtra { mount_id: 7, mount_root: true });
        assert_eq!(u32_at(&buf, 0), STATX_BASIC_STATS | STATX_BTIME | STATX_MNT_ID);
        assert_eq!(u32_at(&buf, 4), 4096);
        assert_eq!(u64_at(&buf, 8), STATX_ATTR_MOUNT_ROOT);
        assert_eq!(u32_at(&buf, 16), 3);
        assert_eq!(u32_at(&buf, 20), 1000);
        assert_eq!(u32_at(&buf, 24), 100);
        assert_eq!(u16::from_ne_bytes([buf[28], buf[29]]), 0o104755);
        assert_eq!(u64_at(&buf, 32), 0x1122_3344);
        assert_eq!(u64_at(&buf, 40), 12345);
        assert_eq!(u64_at(&buf, 48), 32);
        assert_eq!(u64_at(&buf, 56), STATX_ATTR_MOUNT_ROOT);
        assert_eq!(u64_at(&buf, 64), 1_700_000_001);
        assert_eq!(u32_at(&buf, 72), 11);
        assert_eq!(u64_at(&buf, 80), 1_700_000_000); // btime
        assert_eq!(u64_at(&buf, 96), 1_700_000_003); // ctime
        assert_eq!(u64_at(&buf, 112), 1_700_000_002); // mtime
        assert_eq!(u32_at(&buf, 128), 1);
        assert_eq!(u32_at(&buf, 132), 3);
        assert_eq!(u32_at(&buf, 136), 0);
        assert_eq!(u32_at(&buf, 140), 22);
        assert_eq!(u64_at(&buf, 144), 7);
        assert!(buf[152..].iter().all(|&b| b == 0));
        let unique = encode_statx(&sample(), STATX_MNT_ID_UNIQUE, StatxExtra { mount_id: 7, mount_root: false });
        assert_eq!(u32_at(&unique, 0), STATX_BASIC_STATS | STATX_BTIME | STATX_MNT_ID_UNIQUE);
        assert_eq!(u64_at(&unique, 8), 0);
    }

    #[test]
    fn statx_argument_checks() {
        assert!(check_statx_args(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, STATX_BASIC_STATS).is_ok());
        assert!(check_statx_args(0x2000, 0).is_ok());
        assert_eq!(check_statx_args(AT_STATX_SYNC_TYPE, 0).unwrap_err().errno(), Errno::EINVAL);
        assert_eq!(check_statx_args(0x1, 0).unwrap_err().errno(), Errno::EINVAL);
        assert_eq!(check_statx_args(0, STATX_RESERVED).unwrap_err().errno(), Errno::EINVAL);
    }

    #[test]
    fn statfs_layout() {
        let info = StatFs {
            magic: 0x0102_1994,
            block_size: 4096,
            blocks: 100,
            blocks_free: 60,
            blocks_available: 60,
            files: 10,
            files_free: 5,
            name_max: 255,
            fsid: 0x0000_0002_0000_0001,
            flags: 0x20,
        };
        let buf = encode_statfs(&info);
        assert_eq!(u64_at(&buf, 0), 0x0102_1994);
        assert_eq!(u64_at(&buf, 8), 4096);
        assert_eq!(u64_at(&buf, 16), 100);
        assert_eq!(u64_at(&buf, 24), 60);
        assert_eq!(u64_at(&buf, 32), 60);
        assert_eq!(u64_at(&buf, 40), 10);
        assert_eq!(u64_at(&buf, 48), 5);
        assert_eq!(u32_at(&buf, 56), 1);
        assert_eq!(u32_at(&buf, 60), 2);
        assert_eq!(u64_at(&buf, 64), 255);
        assert_eq!(u64_at(&buf, 72), 4096);
        assert_eq!(u64_at(&buf, 80), 0x20);
        assert!(buf[88..].iter().all(|&b| b == 0));
    }
}
