//! Mounting, crossing mount points, unmounting, tmpfs limits, read-only.

use alloc::vec::Vec;

use super::*;
use crate::fs::attr;
use crate::fs::inode::RenameFlags;
use crate::fs::mount::{mount, umount, MNT_DETACH};
use crate::fs::ramfs::TMPFS_MAGIC;

fn with_tmp() -> FsContext {
    let ctx = setup();
    mkdir(&ctx, "/mnt", 0o755);
    mkdir(&ctx, "/mnt/under", 0o755);
    let at = lookup(&ctx, "/mnt").unwrap();
    mount(&at, RamFs::new_tmpfs(None), MountFlags::empty()).unwrap();
    ctx
}

#[test]
fn lookups_cross_mount_points_both_ways() {
    let mut ctx = with_tmp();
    assert_eq!(errno(lookup(&ctx, "/mnt/under")), Errno::ENOENT, "the mount hides what was there");
    write_file(&ctx, "/mnt/file", b"on tmpfs");
    assert_ne!(meta(&ctx, "/mnt/file").dev, meta(&ctx, "/").dev);
    assert_eq!(meta(&ctx, "/mnt").perm, 0o1777, "the tmpfs root");
    assert!(lookup(&ctx, "/mnt/..").unwrap().is_same(ctx.root()));
    assert!(lookup(&ctx, "/mnt/../mnt/file").is_ok());
    ctx.chdir(lookup(&ctx, "/mnt").unwrap(), &root()).unwrap();
    assert_eq!(ctx.getcwd().unwrap(), b"/mnt");
    assert!(lookup(&ctx, "..").unwrap().is_same(ctx.root()));
    mkdir(&ctx, "/mnt/deep", 0o755);
    ctx.chdir(lookup(&ctx, "/mnt/deep").unwrap(), &root()).unwrap();
    assert_eq!(ctx.getcwd().unwrap(), b"/mnt/deep");
    assert!(lookup(&ctx, "../..").unwrap().is_same(ctx.root()));
    let statfs = attr::statfs(&lookup(&ctx, "/mnt/deep").unwrap());
    assert_eq!(statfs.magic, TMPFS_MAGIC);
}

#[test]
fn cross_mount_link_and_rename_are_exdev() {
    let ctx = with_tmp();
    write_file(&ctx, "/f", b"");
    assert_eq!(errno(ctx.link(None, b"/f", None, b"/mnt/f", false, &root())), Errno::EXDEV);
    assert_eq!(errno(ctx.rename(None, b"/f", None, b"/mnt/f", RenameFlags::empty(), &root())), Errno::EXDEV);
}

#[test]
fn mount_points_are_busy() {
    let ctx = with_tmp();
    assert_eq!(errno(ctx.rmdir(None, b"/mnt", &root())), Errno::EBUSY);
    assert_eq!(errno(ctx.rename(None, b"/mnt", None, b"/other", RenameFlags::empty(), &root())), Errno::EBUSY);
    write_file(&ctx, "/file", b"");
    assert_eq!(errno(mount(&lookup(&ctx, "/file").unwrap(), RamFs::new(), MountFlags::empty())), Errno::ENOTDIR);
}

#[test]
fn stacked_mounts_and_umount() {
    let ctx = with_tmp();
    write_file(&ctx, "/mnt/lower", b"");
    let top = mount(&lookup(&ctx, "/mnt").unwrap(), RamFs::new_tmpfs(None), MountFlags::empty()).unwrap();
    assert_eq!(errno(lookup(&ctx, "/mnt/lower")), Errno::ENOENT, "the top mount wins");
    drop(top);
    umount(lookup(&ctx, "/mnt").unwrap(), 0).unwrap();
    assert!(lookup(&ctx, "/mnt/lower").is_ok(), "the lower mount shows again");
    umount(lookup(&ctx, "/mnt").unwrap(), 0).unwrap();
    assert!(lookup(&ctx, "/mnt/under").is_ok(), "the original directory shows again");
    assert_eq!(errno(umount(lookup(&ctx, "/mnt").unwrap(), 0)), Errno::EINVAL, "not a mount root");
    assert_eq!(errno(umount(ctx.root().clone(), 0)), Errno::EINVAL, "the tree root");
}

#[test]
fn umount_busy_and_detach() {
    let ctx = with_tmp();
    write_file(&ctx, "/mnt/f", b"kept");
    let file = open(&ctx, "/mnt/f", O_RDONLY).unwrap();
    assert_eq!(errno(umount(lookup(&ctx, "/mnt").unwrap(), 0)), Errno::EBUSY);
    assert_eq!(errno(umount(lookup(&ctx, "/mnt").unwrap(), 0x80)), Errno::EINVAL);
    mkdir(&ctx, "/mnt/inner", 0o755);
    mount(&lookup(&ctx, "/mnt/inner").unwrap(), RamFs::new(), MountFlags::empty()).unwrap();
    assert_eq!(errno(umount(lookup(&ctx, "/mnt").unwrap(), MNT_DETACH)), Errno::EBUSY, "children mounted");
    umount(lookup(&ctx, "/mnt/inner").unwrap(), 0).unwrap();
    umount(lookup(&ctx, "/mnt").unwrap(), MNT_DETACH).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(file.pread(&mut buf, 0).unwrap(), 4, "a detached mount stays usable");
    assert!(lookup(&ctx, "/mnt/under").is_ok());
}

#[test]
fn tmpfs_size_limit_gives_enospc() {
    let ctx = setup();
    mkdir(&ctx, "/small", 0o755);
    mount(&lookup(&ctx, "/small").unwrap(), RamFs::new_tmpfs(Some(2 * 4096)), MountFlags::empty()).unwrap();
    let file = open(&ctx, "/small/f", O_WRONLY | O_CREAT).unwrap();
    assert_eq!(file.write(&[1u8; 3 * 4096]).unwrap(), 2 * 4096, "short write at the limit");
    assert_eq!(errno(file.write(b"more")), Errno::ENOSPC);
    let info = attr::statfs(&lookup(&ctx, "/small").unwrap());
    assert_eq!((info.blocks, info.blocks_free), (2, 0));
    file.truncate(0).unwrap();
    assert_eq!(attr::statfs(&lookup(&ctx, "/small").unwrap()).blocks_free, 2);
    assert_eq!(file.write(b"fits again").unwrap(), 10);
}

#[test]
fn read_only_mounts_give_erofs() {
    let ctx = setup();
    mkdir(&ctx, "/ro", 0o755);
    let fs = RamFs::new();
    let fs_root = fs.root_inode();
    let init = crate::fs::inode::NewInode { perm: 0o644, uid: 0, gid: 0, rdev: Default::default() };
    crate::fs::inode::Inode::create(&*fs_root, b"f", crate::fs::types::InodeType::File, init).unwrap();
    mount(&lookup(&ctx, "/ro").unwrap(), fs, MountFlags::RDONLY).unwrap();
    assert!(open(&ctx, "/ro/f", O_RDONLY).is_ok());
    assert_eq!(errno(open(&ctx, "/ro/f", O_WRONLY)), Errno::EROFS);
    assert_eq!(errno(open(&ctx, "/ro/new", O_WRONLY | O_CREAT)), Errno::EROFS);
    assert_eq!(errno(ctx.mkdir(None, b"/ro/d", 0o755, &root())), Errno::EROFS);
    assert_eq!(errno(ctx.unlink(None, b"/ro/f", &root())), Errno::EROFS);
    assert_eq!(errno(ctx.rename(None, b"/ro/f", None, b"/ro/g", RenameFlags::empty(), &root())), Errno::EROFS);
    let f = lookup(&ctx, "/ro/f").unwrap();
    assert_eq!(errno(attr::chmod(&f, 0o600, &root())), Errno::EROFS);
    assert_eq!(errno(attr::truncate(&f, 0, &root())), Errno::EROFS);
    assert_eq!(errno(attr::access(&f, W_OK, &root())), Errno::EROFS);
    assert_eq!(attr::statfs(&f).flags & 1, 1, "ST_RDONLY");
}

#[test]
fn mount_tree_listing() {
    let ctx = with_tmp();
    mkdir(&ctx, "/mnt/a", 0o755);
    mount(&lookup(&ctx, "/mnt/a").unwrap(), RamFs::new(), MountFlags::empty()).unwrap();
    let mut all = Vec::new();
    ctx.root().mount().collect_tree(&mut all);
    let names: Vec<&str> = all.iter().map(|m| m.fs().name()).collect();
    assert_eq!(names, ["ramfs", "tmpfs", "ramfs"]);
}

#[test]
fn mount_source_is_kept_for_proc_mounts() {
    let ctx = setup();
    mkdir(&ctx, "/a", 0o755);
    mkdir(&ctx, "/b", 0o755);
    let a = mount(&lookup(&ctx, "/a").unwrap(), RamFs::new_tmpfs(None), MountFlags::empty()).unwrap();
    let b = crate::fs::mount::mount_from(&lookup(&ctx, "/b").unwrap(), RamFs::new_tmpfs(None), MountFlags::empty(), Some(b"none".to_vec()))
        .unwrap();
    assert_eq!(a.mount().source(), b"tmpfs", "the kernel's own mounts show the file-system name");
    assert_eq!(b.mount().source(), b"none");
}

#[test]
fn tmpfs_and_ramfs_show_their_options() {
    use crate::fs::fstype::new_filesystem;
    let shown = |fstype: &[u8], options: &[u8]| new_filesystem(fstype, options).unwrap().show_options();
    assert_eq!(shown(b"tmpfs", b""), b"");
    assert_eq!(shown(b"tmpfs", b"size=1m"), b",size=1024k");
    assert_eq!(shown(b"tmpfs", b"size=5000,mode=700"), b",size=8k,mode=700");
    assert_eq!(shown(b"ramfs", b""), b"");
    assert_eq!(shown(b"ramfs", b"mode=1777"), b",mode=1777");
}
