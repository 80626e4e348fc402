//! open/openat flags and their errnos.

use super::*;
use crate::fs::types::InodeType;

#[test]
fn o_creat_creates_with_mode_and_owner() {
    let ctx = setup();
    mkdir(&ctx, "/home", 0o777);
    let file = ctx.open(None, b"/home/new", O_CREAT | O_WRONLY, 0o640, &user()).unwrap();
    assert_eq!(file.write(b"hi").unwrap(), 2);
    let m = meta(&ctx, "/home/new");
    assert_eq!(m.kind, InodeType::File);
    assert_eq!(m.perm, 0o640);
    assert_eq!((m.uid, m.gid), (1000, 1000));
    assert_eq!(m.nlink, 1);
    // Opening again without O_CREAT finds it; with O_CREAT too.
    assert!(ctx.open(None, b"/home/new", O_RDONLY, 0, &user()).is_ok());
    assert!(ctx.open(None, b"/home/new", O_CREAT | O_RDONLY, 0o777, &user()).is_ok());
    assert_eq!(meta(&ctx, "/home/new").perm, 0o640, "mode only applies on creation");
}

#[test]
fn a_file_created_read_only_can_still_be_written_by_its_creator() {
    let ctx = setup();
    mkdir(&ctx, "/home", 0o777);
    let file = ctx.open(None, b"/home/ro", O_CREAT | O_RDWR, 0o444, &user()).unwrap();
    assert_eq!(file.write(b"ok").unwrap(), 2);
    assert_eq!(errno(ctx.open(None, b"/home/ro", O_RDWR, 0, &user())), Errno::EACCES);
}

#[test]
fn o_excl_gives_eexist_even_for_a_dangling_symlink() {
    let ctx = setup();
    write_file(&ctx, "/f", b"");
    symlink(&ctx, "/nowhere", "/dangling");
    mkdir(&ctx, "/d", 0o755);
    assert_eq!(errno(open(&ctx, "/f", O_CREAT | O_EXCL | O_WRONLY)), Errno::EEXIST);
    assert_eq!(errno(open(&ctx, "/dangling", O_CREAT | O_EXCL | O_WRONLY)), Errno::EEXIST);
    assert_eq!(errno(open(&ctx, "/d", O_CREAT | O_EXCL | O_RDONLY)), Errno::EEXIST);
    assert_eq!(errno(open(&ctx, "/d/.", O_CREAT | O_EXCL | O_RDONLY)), Errno::EEXIST);
    assert_eq!(errno(lookup(&ctx, "/nowhere")), Errno::ENOENT, "nothing created");
}

#[test]
fn o_creat_through_a_dangling_symlink_creates_its_target() {
    let ctx = setup();
    mkdir(&ctx, "/d", 0o755);
    symlink(&ctx, "d/target", "/link");
    let file = open(&ctx, "/link", O_CREAT | O_WRONLY).unwrap();
    file.write(b"via link").unwrap();
    assert_eq!(read_file(&ctx, "/d/target"), b"via link");
    symlink(&ctx, "/missing-dir/x", "/bad");
    assert_eq!(errno(open(&ctx, "/bad", O_CREAT | O_WRONLY)), Errno::ENOENT);
}

#[test]
fn o_nofollow_and_o_path() {
    let ctx = setup();
    write_file(&ctx, "/f", b"abc");
    symlink(&ctx, "f", "/link");
    assert_eq!(errno(open(&ctx, "/link", O_RDONLY | O_NOFOLLOW)), Errno::ELOOP);
    assert!(open(&ctx, "/link", O_RDONLY).is_ok());
    let path_fd = open(&ctx, "/link", O_PATH | O_NOFOLLOW).unwrap();
    assert_eq!(path_fd.metadata().kind, InodeType::Symlink);
    let mut buf = [0u8; 3];
    assert_eq!(errno(path_fd.read(&mut buf)), Errno::EBADF);
    assert_eq!(errno(path_fd.write(b"x")), Errno::EBADF);
    assert_eq!(errno(path_fd.seek(0, SEEK_SET)), Errno::EBADF);
    assert_eq!(path_fd.flags(), O_PATH | O_NOFOLLOW);
    // O_PATH needs no read permission on the file itself.
    set_owner_mode(&ctx, "/f", 0, 0, 0o000);
    assert!(ctx.open(None, b"/f", O_PATH, 0, &user()).is_ok());
    assert_eq!(errno(ctx.open(None, b"/f", O_RDONLY, 0, &user())), Errno::EACCES);
}

#[test]
fn o_directory_rules() {
    let ctx = setup();
    write_file(&ctx, "/f", b"");
    mkdir(&ctx, "/d", 0o755);
    assert_eq!(errno(open(&ctx, "/f", O_RDONLY | O_DIRECTORY)), Errno::ENOTDIR);
    assert!(open(&ctx, "/d", O_RDONLY | O_DIRECTORY).is_ok());
    assert_eq!(errno(open(&ctx, "/new", O_CREAT | O_DIRECTORY | O_RDONLY)), Errno::EINVAL);
    assert_eq!(errno(open(&ctx, "/d", O_RDONLY | O_TMPFILE)), Errno::EOPNOTSUPP);
}

#[test]
fn eisdir_for_writing_or_creating_a_directory() {
    let ctx = setup();
    mkdir(&ctx, "/d", 0o777);
    assert_eq!(errno(open(&ctx, "/d", O_WRONLY)), Errno::EISDIR);
    assert_eq!(errno(open(&ctx, "/d", O_RDWR)), Errno::EISDIR);
    assert_eq!(errno(open(&ctx, "/d", O_RDONLY | O_TRUNC)), Errno::EISDIR);
    assert_eq!(errno(open(&ctx, "/d", O_CREAT | O_RDONLY)), Errno::EISDIR);
    assert_eq!(errno(open(&ctx, "/", O_CREAT | O_RDONLY)), Errno::EISDIR);
    assert_eq!(errno(open(&ctx, "/d/new/", O_CREAT | O_WRONLY)), Errno::EISDIR);
    assert_eq!(errno(open(&ctx, "/d/", O_CREAT | O_WRONLY)), Errno::EISDIR);
    assert!(open(&ctx, "/d", O_RDONLY).is_ok());
}

#[test]
fn o_trunc_truncates_when_writable() {
    let ctx = setup();
    write_file(&ctx, "/f", b"long contents");
    open(&ctx, "/f", O_WRONLY | O_TRUNC).unwrap();
    assert_eq!(meta(&ctx, "/f").size, 0);
    write_file(&ctx, "/f", b"again");
    open(&ctx, "/f", O_RDONLY | O_TRUNC).unwrap();
    assert_eq!(meta(&ctx, "/f").size, 0, "Linux truncates with O_RDONLY|O_TRUNC too");
    write_file(&ctx, "/f", b"kept");
    set_owner_mode(&ctx, "/f", 0, 0, 0o644);
    assert_eq!(errno(ctx.open(None, b"/f", O_RDONLY | O_TRUNC, 0, &user())), Errno::EACCES);
    assert_eq!(read_file(&ctx, "/f"), b"kept");
}

#[test]
fn permissions_on_open_and_create() {
    let ctx = setup();
    write_file(&ctx, "/secret", b"s");
    set_owner_mode(&ctx, "/secret", 0, 0, 0o600);
    assert_eq!(errno(ctx.open(None, b"/secret", O_RDONLY, 0, &user())), Errno::EACCES);
    assert_eq!(errno(ctx.open(None, b"/secret", O_WRONLY, 0, &user())), Errno::EACCES);
    assert!(ctx.open(None, b"/secret", O_RDWR, 0, &root()).is_ok());
    mkdir(&ctx, "/ro", 0o755);
    assert_eq!(errno(ctx.open(None, b"/ro/new", O_CREAT | O_WRONLY, 0o644, &user())), Errno::EACCES);
    write_file(&ctx, "/ro/existing", b"");
    set_owner_mode(&ctx, "/ro/existing", 1000, 1000, 0o644);
    assert!(ctx.open(None, b"/ro/existing", O_CREAT | O_WRONLY, 0o644, &user()).is_ok(), "no create, no dir write needed");
}

#[test]
fn enoent_without_o_creat_or_without_parent() {
    let ctx = setup();
    assert_eq!(errno(open(&ctx, "/nope", O_RDONLY)), Errno::ENOENT);
    assert_eq!(errno(open(&ctx, "/nope/f", O_CREAT | O_WRONLY)), Errno::ENOENT);
    assert_eq!(errno(open(&ctx, "", O_CREAT | O_WRONLY)), Errno::ENOENT);
}

#[test]
fn creating_in_a_removed_directory_is_enoent() {
    let mut ctx = setup();
    mkdir(&ctx, "/gone", 0o755);
    ctx.chdir(lookup(&ctx, "/gone").unwrap(), &root()).unwrap();
    ctx.rmdir(None, b"/gone", &root()).unwrap();
    assert_eq!(errno(open(&ctx, "new", O_CREAT | O_WRONLY)), Errno::ENOENT);
    assert_eq!(errno(ctx.mkdir(None, b"sub", 0o755, &root())), Errno::ENOENT);
}

#[test]
fn getfl_keeps_what_linux_keeps() {
    let ctx = setup();
    let file = open(&ctx, "/f", O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_EXCL | O_NOCTTY).unwrap();
    assert_eq!(file.flags(), O_RDWR | O_APPEND | O_LARGEFILE);
    let file = open(&ctx, "/f", O_WRONLY | O_NONBLOCK | O_SYNC).unwrap();
    assert_eq!(file.flags(), O_WRONLY | O_NONBLOCK | O_SYNC | O_LARGEFILE);
}

#[test]
fn device_nodes_without_driver_give_enxio() {
    let ctx = setup();
    ctx.mknod(None, b"/nodriver", S_IFCHR_TEST | 0o666, crate::fs::types::DeviceId::new(241, 99).encode(), &root()).unwrap();
    assert_eq!(errno(open(&ctx, "/nodriver", O_RDWR)), Errno::ENXIO);
    ctx.mknod(None, b"/fifo", crate::fs::types::S_IFIFO | 0o666, 0, &root()).unwrap();
    // (Opening FIFOs needs the kernel's pipes: tests/programs/fifos.c.)
    ctx.mknod(None, b"/blk", crate::fs::types::S_IFBLK | 0o666, 0x801, &root()).unwrap();
    assert_eq!(errno(open(&ctx, "/blk", O_RDONLY)), Errno::ENXIO);
    // O_PATH opens any of them.
    assert!(open(&ctx, "/nodriver", O_PATH).is_ok());
    assert!(open(&ctx, "/fifo", O_PATH).is_ok());
}

const S_IFCHR_TEST: u32 = crate::fs::types::S_IFCHR;
