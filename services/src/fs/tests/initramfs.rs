//! Unpacking cpio newc archives into the tree.

use alloc::format;
use alloc::vec::Vec;

use super::*;
use crate::fs::clock::Timespec;
use crate::fs::initramfs::unpack;
use crate::fs::types::{DeviceId, InodeType};

/// One newc member with every header field under control.
#[allow(clippy::too_many_arguments)]
pub(super) fn member_full(out: &mut Vec<u8>, name: &str, mode: u32, uid: u32, ino: u32, nlink: u32, rdev: (u32, u32), mtime: u32, data: &[u8]) {
    let header = format!(
        "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
        ino, mode, uid, uid, nlink, mtime, data.len(), 8, 1, rdev.0, rdev.1, name.len() + 1, 0
    );
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out.extend_from_slice(data);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

pub(super) fn member(out: &mut Vec<u8>, name: &str, mode: u32, uid: u32, ino: u32, data: &[u8]) {
    member_full(out, name, mode, uid, ino, 1, (0, 0), 1_600_000_000, data);
}

pub(super) fn trailer(out: &mut Vec<u8>) {
    member_full(out, "TRAILER!!!", 0, 0, 0, 1, (0, 0), 0, b"");
}

#[test]
fn files_directories_symlinks_with_attributes() {
    let ctx = setup();
    let mut archive = Vec::new();
    member(&mut archive, ".", 0o040755, 0, 1, b"");
    member(&mut archive, "bin", 0o040755, 0, 2, b"");
    member(&mut archive, "bin/busybox", 0o104755, 0, 3, b"\x7fELF...");
    member(&mut archive, "bin/sh", 0o120777, 0, 4, b"busybox");
    member(&mut archive, "home/user/notes", 0o100600, 1000, 5, b"mine");
    trailer(&mut archive);
    let report = unpack(ctx.root(), &archive);
    assert_eq!((report.unpacked, report.skipped, report.error), (4, 0, None));
    let busybox = meta(&ctx, "/bin/busybox");
    assert_eq!((busybox.kind, busybox.perm, busybox.size), (InodeType::File, 0o4755, 7));
    assert_eq!(busybox.mtime, Timespec::new(1_600_000_000, 0));
    assert_eq!(read_file(&ctx, "/bin/sh"), b"\x7fELF...");
    assert_eq!(meta(&ctx, "/bin/sh").kind, InodeType::Symlink);
    let notes = meta(&ctx, "/home/user/notes");
    assert_eq!((notes.uid, notes.gid, notes.perm), (1000, 1000, 0o600));
    assert_eq!(meta(&ctx, "/home/user").perm, 0o755, "missing parents are created 0755");
    assert_eq!(meta(&ctx, "/bin").mtime, Timespec::new(1_600_000_000, 0), "directory mtimes are set last");
}

#[test]
fn hard_links_share_one_inode() {
    let ctx = setup();
    let mut archive = Vec::new();
    // GNU cpio: the data comes with the last link.
    member_full(&mut archive, "a", 0o100644, 0, 77, 3, (0, 0), 5, b"");
    member_full(&mut archive, "b", 0o100644, 0, 77, 3, (0, 0), 5, b"");
    member_full(&mut archive, "c", 0o100644, 0, 77, 3, (0, 0), 5, b"payload");
    member_full(&mut archive, "other", 0o100644, 0, 78, 1, (0, 0), 5, b"x");
    trailer(&mut archive);
    let report = unpack(ctx.root(), &archive);
    assert_eq!(report.unpacked, 4);
    let a = meta(&ctx, "/a");
    assert_eq!(a.nlink, 3);
    assert_eq!(a.ino, meta(&ctx, "/b").ino);
    assert_eq!(a.ino, meta(&ctx, "/c").ino);
    assert_eq!(read_file(&ctx, "/a"), b"payload");
    assert_eq!(a.blocks, 8, "one copy of the data");
    assert_eq!(meta(&ctx, "/other").nlink, 1);
}

#[test]
fn device_nodes_and_fifos() {
    let ctx = setup();
    let mut archive = Vec::new();
    member_full(&mut archive, "dev/console", 0o020600, 0, 9, 1, (5, 1), 0, b"");
    member_full(&mut archive, "run/fifo", 0o010644, 0, 10, 1, (0, 0), 0, b"");
    trailer(&mut archive);
    let report = unpack(ctx.root(), &archive);
    assert_eq!(report.unpacked, 2);
    let console = meta(&ctx, "/dev/console");
    assert_eq!((console.kind, console.rdev, console.perm), (InodeType::CharDevice, DeviceId::new(5, 1), 0o600));
    assert_eq!(meta(&ctx, "/run/fifo").kind, InodeType::Fifo);
}

#[test]
fn bad_members_are_skipped_and_the_rest_unpacked() {
    let ctx = setup();
    let mut archive = Vec::new();
    member(&mut archive, "file", 0o100644, 0, 1, b"plain");
    member(&mut archive, "file/under-a-file", 0o100644, 0, 2, b"bad");
    member(&mut archive, "weird", 0o170644, 0, 3, b"bad type");
    member(&mut archive, &"n".repeat(300), 0o100644, 0, 4, b"name too long");
    member(&mut archive, "good", 0o100644, 0, 5, b"ok");
    trailer(&mut archive);
    let report = unpack(ctx.root(), &archive);
    assert_eq!((report.unpacked, report.skipped), (2, 3));
    assert_eq!(read_file(&ctx, "/good"), b"ok");
    assert_eq!(read_file(&ctx, "/file"), b"plain");
}

#[test]
fn a_corrupt_tail_keeps_what_came_before() {
    let ctx = setup();
    let mut archive = Vec::new();
    member(&mut archive, "first", 0o100644, 0, 1, b"1");
    archive.extend_from_slice(b"070701garbage");
    let report = unpack(ctx.root(), &archive);
    assert_eq!(report.unpacked, 1);
    assert!(report.error.is_some());
    assert_eq!(read_file(&ctx, "/first"), b"1");
}

#[test]
fn later_members_replace_earlier_ones() {
    let ctx = setup();
    let mut archive = Vec::new();
    member(&mut archive, "x", 0o040755, 0, 1, b"");
    member(&mut archive, "x", 0o100644, 0, 2, b"now a file");
    member(&mut archive, "y", 0o100644, 0, 3, b"long original");
    member(&mut archive, "y", 0o100600, 0, 4, b"short");
    member(&mut archive, "z", 0o100644, 0, 5, b"file");
    member(&mut archive, "z", 0o120777, 0, 6, b"y");
    trailer(&mut archive);
    let report = unpack(ctx.root(), &archive);
    assert_eq!(report.skipped, 0);
    assert_eq!(read_file(&ctx, "/x"), b"now a file");
    assert_eq!(read_file(&ctx, "/y"), b"short");
    assert_eq!(meta(&ctx, "/y").perm, 0o600);
    assert_eq!(meta(&ctx, "/z").kind, InodeType::Symlink);
}
