//! ramfs inode operations called directly (below the VFS checks), so the
//! filesystem's own guards are exercised too.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::RamFs;
use crate::error::{Errno, Result};
use crate::fs::inode::{DirentSink, FileSystem, Inode, NewInode, RenameFlags};
use crate::fs::types::{DeviceId, InodeType, SetAttr};

fn init(perm: u32) -> NewInode {
    NewInode { perm, uid: 0, gid: 0, rdev: DeviceId::NONE }
}

#[track_caller]
fn errno<T>(result: Result<T>) -> Errno {
    match result {
        Ok(_) => panic!("expected an error"),
        Err(error) => error.errno(),
    }
}

fn fs_root() -> (Arc<RamFs>, Arc<dyn Inode>) {
    let fs = RamFs::new();
    let root = fs.root();
    (fs, root)
}

struct Names(Vec<(Vec<u8>, u64)>);

impl DirentSink for Names {
    fn push(&mut self, name: &[u8], _: u64, _: InodeType, next: u64) -> bool {
        self.0.push((name.to_vec(), next));
        true
    }
}

#[test]
fn create_lookup_and_names() {
    let (_fs, root) = fs_root();
    let file = root.create(b"f", InodeType::File, init(0o644)).unwrap();
    assert_eq!(errno(root.create(b"f", InodeType::File, init(0o644))), Errno::EEXIST);
    assert_eq!(errno(root.create(b"", InodeType::File, init(0o644))), Errno::EINVAL);
    assert_eq!(errno(root.create(b"a/b", InodeType::File, init(0o644))), Errno::EINVAL);
    assert_eq!(errno(root.create(b"..", InodeType::Dir, init(0o755))), Errno::EINVAL);
    assert_eq!(errno(root.create(b"s", InodeType::Symlink, init(0o777))), Errno::EINVAL);
    assert_eq!(root.lookup(b"f").unwrap().ino(), file.ino());
    assert_eq!(root.lookup(b".").unwrap().ino(), root.ino());
    assert_eq!(root.lookup(b"..").unwrap().ino(), root.ino(), "the root is its own parent");
    assert_eq!(errno(root.lookup(b"missing")), Errno::ENOENT);
    assert_eq!(errno(file.lookup(b"x")), Errno::ENOTDIR);
    assert_eq!(errno(file.create(b"x", InodeType::File, init(0o644))), Errno::ENOTDIR);
    assert_eq!(errno(file.readdir_at(0, &mut Names(Vec::new()))), Errno::ENOTDIR);
    assert_eq!(errno(file.read_link()), Errno::EINVAL);
    assert_eq!(errno(root.read_at(0, &mut [0u8; 1])), Errno::EISDIR);
    assert_eq!(errno(root.write_at(0, b"x")), Errno::EISDIR);
    assert_eq!(errno(root.resize(0)), Errno::EISDIR);
}

#[test]
fn unlink_rmdir_guards() {
    let (_fs, root) = fs_root();
    let dir = root.mkdir(b"d", init(0o755)).unwrap();
    dir.create(b"inner", InodeType::File, init(0o644)).unwrap();
    root.create(b"f", InodeType::File, init(0o644)).unwrap();
    assert_eq!(errno(root.unlink(b"d")), Errno::EISDIR);
    assert_eq!(errno(root.rmdir(b"f")), Errno::ENOTDIR);
    assert_eq!(errno(root.rmdir(b"d")), Errno::ENOTEMPTY);
    assert_eq!(errno(root.unlink(b"missing")), Errno::ENOENT);
    assert_eq!(errno(root.rmdir(b"missing")), Errno::ENOENT);
    dir.unlink(b"inner").unwrap();
    root.rmdir(b"d").unwrap();
    assert_eq!(dir.metadata().nlink, 0);
    assert_eq!(errno(dir.create(b"late", InodeType::File, init(0o644))), Errno::ENOENT, "removed directory");
    assert_eq!(errno(dir.symlink(b"late", b"x", init(0o777))), Errno::ENOENT);
}

#[test]
fn link_guards() {
    let (_fs, root) = fs_root();
    let (_other_fs, other_root) = fs_root();
    let file = root.create(b"f", InodeType::File, init(0o644)).unwrap();
    let dir = root.mkdir(b"d", init(0o755)).unwrap();
    let foreign = other_root.create(b"g", InodeType::File, init(0o644)).unwrap();
    assert_eq!(errno(root.link(b"g", &foreign)), Errno::EXDEV);
    assert_eq!(errno(root.link(b"d2", &dir)), Errno::EPERM);
    assert_eq!(errno(root.link(b"f", &file)), Errno::EEXIST);
    root.unlink(b"f").unwrap();
    assert_eq!(errno(root.link(b"again", &file)), Errno::ENOENT, "no links back to a removed file");
}

#[test]
fn rename_guards() {
    let (_fs, root) = fs_root();
    let (_other_fs, other_root) = fs_root();
    let dir = root.mkdir(b"d", init(0o755)).unwrap();
    dir.create(b"x", InodeType::File, init(0o644)).unwrap();
    root.mkdir(b"empty", init(0o755)).unwrap();
    root.create(b"f", InodeType::File, init(0o644)).unwrap();
    let none = RenameFlags::empty();
    assert_eq!(errno(root.rename(b"f", &other_root, b"f", none)), Errno::EXDEV);
    assert_eq!(errno(root.rename(b"missing", &root, b"y", none)), Errno::ENOENT);
    assert_eq!(errno(root.rename(b"f", &root, b"d", none)), Errno::EISDIR);
    assert_eq!(errno(root.rename(b"d", &root, b"f", none)), Errno::ENOTDIR);
    assert_eq!(errno(root.rename(b"empty", &root, b"d", none)), Errno::ENOTEMPTY);
    assert_eq!(errno(root.rename(b"f", &root, b"d", RenameFlags::NOREPLACE)), Errno::EEXIST);
    assert_eq!(errno(root.rename(b"f", &root, b"g", RenameFlags::WHITEOUT)), Errno::EINVAL);
    assert_eq!(errno(root.rename(b"f", &root, b"g", RenameFlags::NOREPLACE.union(RenameFlags::EXCHANGE))), Errno::EINVAL);
    assert_eq!(errno(root.rename(b"f", &root, b"nope", RenameFlags::EXCHANGE)), Errno::ENOENT);
    assert_eq!(errno(root.rename(b"d", &dir, b"self", none)), Errno::EINVAL, "into itself");
    assert_eq!(errno(dir.rename(b"x", &root, b"d", none)), Errno::ENOTEMPTY, "over its own parent, as Linux");
    let sub = dir.mkdir(b"sub", init(0o755)).unwrap();
    assert_eq!(errno(sub.rename(b"..", &root, b"z", none)), Errno::ENOENT, "dot names are not entries");
    assert_eq!(errno(dir.rename(b"sub", &root, b"d", none)), Errno::ENOTEMPTY, "over its own parent");
    assert_eq!(errno(dir.rename(b"sub", &root, b"d", RenameFlags::EXCHANGE)), Errno::EINVAL);
    // Same-directory exchange keeps both positions.
    root.rename(b"f", &root, b"empty", RenameFlags::EXCHANGE).unwrap();
    assert_eq!(root.lookup(b"f").unwrap().kind(), InodeType::Dir);
    assert_eq!(root.lookup(b"empty").unwrap().kind(), InodeType::File);
    // Replacing an empty directory drops the parent's link count.
    let links = root.metadata().nlink;
    root.mkdir(b"victim", init(0o755)).unwrap();
    root.rename(b"f", &root, b"victim", none).unwrap();
    assert_eq!(root.metadata().nlink, links);
}

#[test]
fn readdir_positions_are_stable() {
    let (_fs, root) = fs_root();
    for name in [&b"a"[..], b"b", b"c"] {
        root.create(name, InodeType::File, init(0o644)).unwrap();
    }
    let mut all = Names(Vec::new());
    root.readdir_at(0, &mut all).unwrap();
    let names: Vec<&[u8]> = all.0.iter().map(|(name, _)| name.as_slice()).collect();
    assert_eq!(names, [&b"."[..], b"..", b"a", b"b", b"c"]);
    let after_a = all.0[2].1;
    root.unlink(b"a").unwrap();
    root.create(b"d", InodeType::File, init(0o644)).unwrap();
    let mut rest = Names(Vec::new());
    root.readdir_at(after_a, &mut rest).unwrap();
    let names: Vec<&[u8]> = rest.0.iter().map(|(name, _)| name.as_slice()).collect();
    assert_eq!(names, [&b"b"[..], b"c", b"d"]);
    let mut from_one = Names(Vec::new());
    root.readdir_at(1, &mut from_one).unwrap();
    assert_eq!(from_one.0[0].0, b"..");
}

#[test]
fn attributes_and_special_nodes() {
    let (fs, root) = fs_root();
    let node = root.create(b"null", InodeType::CharDevice, NewInode { perm: 0o666, uid: 3, gid: 4, rdev: DeviceId::new(1, 3) }).unwrap();
    let m = node.metadata();
    assert_eq!((m.rdev, m.uid, m.gid, m.size, m.dev), (DeviceId::new(1, 3), 3, 4, 0, fs.dev()));
    let fifo = root.create(b"fifo", InodeType::Fifo, NewInode { perm: 0o600, uid: 0, gid: 0, rdev: DeviceId::new(9, 9) }).unwrap();
    assert_eq!(fifo.metadata().rdev, DeviceId::NONE, "only device nodes keep rdev");
    assert!(!fifo.is_seekable());
    assert_eq!(errno(fifo.read_at(0, &mut [0u8; 1])), Errno::EINVAL);
    assert_eq!(errno(fifo.resize(0)), Errno::EINVAL);
    let orphan = root.create(b"orphan", InodeType::CharDevice, NewInode { perm: 0o600, uid: 0, gid: 0, rdev: DeviceId::new(243, 7) }).unwrap();
    assert!(orphan.device().is_none());
    assert_eq!(errno(orphan.read_at(0, &mut [0u8; 1])), Errno::ENXIO);
    assert_eq!(errno(orphan.write_at(0, b"x")), Errno::ENXIO);
    node.set_attr(&SetAttr { perm: Some(0o100600), ..Default::default() }).unwrap();
    assert_eq!(node.metadata().perm, 0o600, "only permission bits are stored");
    let link = root.symlink(b"l", b"target", init(0o600)).unwrap();
    assert_eq!(link.metadata().perm, 0o777);
    assert_eq!(link.read_link().unwrap(), b"target");
    assert_eq!(root.metadata().size, 6 * 20, "tmpfs-style directory size");
    assert_eq!(fs.statfs().magic, super::RAMFS_MAGIC);
}
