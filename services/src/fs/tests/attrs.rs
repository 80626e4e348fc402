//! stat/statx/statfs, access, chmod, chown, truncate, utimensat, exec.

use super::*;
use crate::fs::attr::{self, TimeChange};
use crate::fs::clock::Timespec;
use crate::fs::stat::{STATX_BASIC_STATS, STATX_BTIME, STATX_MNT_ID};
use crate::fs::types::{S_ISGID, S_ISUID};

fn at(ctx: &FsContext, path: &str) -> Path {
    ctx.lookup(None, path.as_bytes(), false, &root()).unwrap()
}

#[test]
fn stat_reports_the_inode() {
    let ctx = setup();
    mkdir(&ctx, "/d", 0o750);
    write_file(&ctx, "/d/f", &[7u8; 5000]);
    let bytes = attr::stat_bytes(&at(&ctx, "/d/f"));
    let m = meta(&ctx, "/d/f");
    assert_eq!(u64::from_ne_bytes(bytes[8..16].try_into().unwrap()), m.ino);
    assert_eq!(u32::from_ne_bytes(bytes[24..28].try_into().unwrap()), 0o100644);
    assert_eq!(i64::from_ne_bytes(bytes[48..56].try_into().unwrap()), 5000);
    assert_eq!(i64::from_ne_bytes(bytes[64..72].try_into().unwrap()), 16, "two pages = 16 blocks of 512");
    let dir = attr::stat_bytes(&at(&ctx, "/d"));
    assert_eq!(u32::from_ne_bytes(dir[24..28].try_into().unwrap()), 0o040750);
    assert_eq!(u64::from_ne_bytes(dir[16..24].try_into().unwrap()), 2);
    assert_eq!(u64::from_ne_bytes(dir[0..8].try_into().unwrap()), m.dev.encode());
}

#[test]
fn statx_reports_mount_id_and_mount_root() {
    let ctx = setup();
    mkdir(&ctx, "/d", 0o755);
    let root_bytes = attr::statx_bytes(ctx.root(), STATX_BASIC_STATS);
    assert_eq!(u32::from_ne_bytes(root_bytes[0..4].try_into().unwrap()), STATX_BASIC_STATS | STATX_BTIME | STATX_MNT_ID);
    assert_eq!(u64::from_ne_bytes(root_bytes[8..16].try_into().unwrap()), 0x2000, "mount root attribute");
    assert_eq!(u64::from_ne_bytes(root_bytes[144..152].try_into().unwrap()), ctx.root().mount().id());
    let d = attr::statx_bytes(&at(&ctx, "/d"), STATX_BASIC_STATS);
    assert_eq!(u64::from_ne_bytes(d[8..16].try_into().unwrap()), 0);
}

#[test]
fn statfs_of_ramfs() {
    let ctx = setup();
    let info = attr::statfs(ctx.root());
    assert_eq!(info.magic, crate::fs::ramfs::RAMFS_MAGIC);
    assert_eq!(info.name_max, 255);
    assert_eq!(info.flags, 0x1020, "ST_VALID | ST_RELATIME");
    let bytes = attr::statfs_bytes(ctx.root());
    assert_eq!(u64::from_ne_bytes(bytes[0..8].try_into().unwrap()), crate::fs::ramfs::RAMFS_MAGIC);
}

#[test]
fn access_checks() {
    let ctx = setup();
    write_file(&ctx, "/f", b"");
    set_owner_mode(&ctx, "/f", 1000, 1000, 0o640);
    let f = at(&ctx, "/f");
    attr::access(&f, F_OK, &other_user()).unwrap();
    attr::access(&f, R_OK | W_OK, &user()).unwrap();
    assert_eq!(errno(attr::access(&f, X_OK, &user())), Errno::EACCES);
    assert_eq!(errno(attr::access(&f, R_OK, &other_user())), Errno::EACCES);
    assert_eq!(errno(attr::access(&f, X_OK, &root())), Errno::EACCES, "root needs an x bit to execute");
    attr::access(&f, R_OK | W_OK, &root()).unwrap();
    assert_eq!(errno(attr::access(&f, 8, &root())), Errno::EINVAL);
    assert_eq!(errno(attr::check_access_mode(0x10)), Errno::EINVAL);
}

#[test]
fn chmod_rules() {
    let ctx = setup();
    write_file(&ctx, "/f", b"");
    set_owner_mode(&ctx, "/f", 1000, 50, 0o644);
    let f = at(&ctx, "/f");
    let before = f.inode().metadata().ctime;
    assert_eq!(errno(attr::chmod(&f, 0o777, &other_user())), Errno::EPERM);
    attr::chmod(&f, 0o4755 | S_ISGID, &user()).unwrap();
    let m = f.inode().metadata();
    assert_eq!(m.perm, 0o4755, "setgid dropped: owner is not in group 50");
    assert!(m.ctime > before);
    attr::chmod(&f, 0o2755, &root()).unwrap();
    assert_eq!(f.inode().metadata().perm, 0o2755);
    attr::chmod(&f, 0o100600, &user()).unwrap();
    assert_eq!(f.inode().metadata().perm, 0o600, "type bits in the mode are ignored");
    symlink(&ctx, "f", "/l");
    assert_eq!(errno(attr::chmod(&at(&ctx, "/l"), 0o600, &root())), Errno::EOPNOTSUPP);
}

#[test]
fn chown_rules() {
    let ctx = setup();
    write_file(&ctx, "/f", b"");
    set_owner_mode(&ctx, "/f", 1000, 1000, 0o6755);
    let f = at(&ctx, "/f");
    let member = Credentials::new(1000, 1000).with_groups(&[60]);
    assert_eq!(errno(attr::chown(&f, Some(2000), None, &member)), Errno::EPERM);
    assert_eq!(errno(attr::chown(&f, None, Some(70), &member)), Errno::EPERM);
    assert_eq!(errno(attr::chown(&f, None, Some(60), &other_user())), Errno::EPERM);
    attr::chown(&f, Some(1000), Some(60), &member).unwrap();
    let m = f.inode().metadata();
    assert_eq!((m.uid, m.gid), (1000, 60));
    assert_eq!(m.perm, 0o755, "chown of a file clears setuid, and setgid with group exec");
    attr::chmod(&f, 0o6745, &root()).unwrap();
    attr::chown(&f, Some(0), None, &root()).unwrap();
    let m = f.inode().metadata();
    assert_eq!(m.uid, 0);
    assert_eq!(m.perm, 0o2745, "even for root; setgid without group exec stays");
    attr::chown(&f, None, None, &root()).unwrap();
    mkdir(&ctx, "/d", 0o755);
    attr::chmod(&at(&ctx, "/d"), 0o2755 | S_ISUID, &root()).unwrap();
    attr::chown(&at(&ctx, "/d"), Some(5), Some(5), &root()).unwrap();
    assert_eq!(meta(&ctx, "/d").perm, 0o6755, "directories keep their bits");
}

#[test]
fn truncate_by_path() {
    let ctx = setup();
    write_file(&ctx, "/f", b"0123456789");
    mkdir(&ctx, "/d", 0o755);
    let f = at(&ctx, "/f");
    attr::truncate(&f, 3, &root()).unwrap();
    assert_eq!(read_file(&ctx, "/f"), b"012");
    assert_eq!(errno(attr::truncate(&f, -1, &root())), Errno::EINVAL);
    assert_eq!(errno(attr::truncate(&f, 0, &user())), Errno::EACCES);
    assert_eq!(errno(attr::truncate(&at(&ctx, "/d"), 0, &root())), Errno::EISDIR);
    ctx.mknod(None, b"/fifo", crate::fs::types::S_IFIFO | 0o666, 0, &root()).unwrap();
    assert_eq!(errno(attr::truncate(&at(&ctx, "/fifo"), 0, &root())), Errno::EINVAL);
    attr::truncate(&f, i64::MAX, &root()).unwrap();
    assert_eq!(f.inode().metadata().size, i64::MAX as u64, "MAX_LFS_FILESIZE, all hole");
    assert_eq!(f.inode().metadata().blocks, 8);
}

#[test]
fn utimensat_rules() {
    let ctx = setup();
    write_file(&ctx, "/f", b"");
    set_owner_mode(&ctx, "/f", 1000, 1000, 0o646);
    let f = at(&ctx, "/f");
    let when = TimeChange::Set(Timespec::new(42, 7));
    assert_eq!(errno(attr::set_times(&f, when, when, &other_user())), Errno::EPERM);
    attr::set_times(&f, when, TimeChange::Omit, &user()).unwrap();
    let m = f.inode().metadata();
    assert_eq!(m.atime, Timespec::new(42, 7));
    assert_ne!(m.mtime, Timespec::new(42, 7));
    attr::set_times(&f, TimeChange::Now, TimeChange::Now, &other_user()).unwrap();
    assert!(f.inode().metadata().atime > Timespec::new(42, 7), "write permission allows 'now'");
    set_owner_mode(&ctx, "/f", 1000, 1000, 0o644);
    assert_eq!(errno(attr::set_times(&f, TimeChange::Now, TimeChange::Now, &other_user())), Errno::EACCES);
    attr::set_times(&f, TimeChange::Omit, TimeChange::Omit, &other_user()).unwrap();
    assert_eq!(TimeChange::from_timespec(5, (1 << 30) - 1).unwrap(), TimeChange::Now);
    assert_eq!(TimeChange::from_timespec(5, (1 << 30) - 2).unwrap(), TimeChange::Omit);
    assert_eq!(errno(TimeChange::from_timespec(5, 1_000_000_000)), Errno::EINVAL);
    assert_eq!(errno(TimeChange::from_timespec(5, -1)), Errno::EINVAL);
}

#[test]
fn exec_checks() {
    let ctx = setup();
    write_file(&ctx, "/script", b"#!/bin/sh");
    mkdir(&ctx, "/d", 0o755);
    assert_eq!(errno(attr::check_exec(&at(&ctx, "/script"), &root())), Errno::EACCES);
    attr::chmod(&at(&ctx, "/script"), 0o744, &root()).unwrap();
    attr::check_exec(&at(&ctx, "/script"), &root()).unwrap();
    assert_eq!(errno(attr::check_exec(&at(&ctx, "/script"), &user())), Errno::EACCES);
    assert_eq!(errno(attr::check_exec(&at(&ctx, "/d"), &root())), Errno::EACCES);
}
