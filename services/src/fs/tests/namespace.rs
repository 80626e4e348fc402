//! mkdir, mknod, symlink, link, unlink, rmdir, rename.

use super::*;
use crate::fs::inode::RenameFlags;
use crate::fs::types::{DeviceId, InodeType, S_IFCHR, S_IFDIR, S_IFIFO, S_IFREG, S_IFSOCK};

fn rename(ctx: &FsContext, old: &str, new: &str) -> Result<()> {
    ctx.rename(None, old.as_bytes(), None, new.as_bytes(), RenameFlags::empty(), &root())
}

fn rename2(ctx: &FsContext, old: &str, new: &str, flags: RenameFlags) -> Result<()> {
    ctx.rename(None, old.as_bytes(), None, new.as_bytes(), flags, &root())
}

#[test]
fn mkdir_rules_and_link_counts() {
    let ctx = setup();
    let root_links = meta(&ctx, "/").nlink;
    mkdir(&ctx, "/d", 0o755);
    assert_eq!(meta(&ctx, "/d").nlink, 2);
    assert_eq!(meta(&ctx, "/").nlink, root_links + 1);
    mkdir(&ctx, "/d/trailing/", 0o700);
    assert_eq!(meta(&ctx, "/d/trailing").perm, 0o700);
    assert_eq!(meta(&ctx, "/d").nlink, 3);
    assert_eq!(errno(ctx.mkdir(None, b"/d", 0o755, &root())), Errno::EEXIST);
    assert_eq!(errno(ctx.mkdir(None, b"/", 0o755, &root())), Errno::EEXIST);
    assert_eq!(errno(ctx.mkdir(None, b"/d/.", 0o755, &root())), Errno::EEXIST);
    assert_eq!(errno(ctx.mkdir(None, b"/d/..", 0o755, &root())), Errno::EEXIST);
    assert_eq!(errno(ctx.mkdir(None, b"/missing/x", 0o755, &root())), Errno::ENOENT);
    assert_eq!(errno(ctx.mkdir(None, b"/d", 0o755, &user())), Errno::EEXIST, "EEXIST before EACCES");
    assert_eq!(errno(ctx.mkdir(None, b"/d/u", 0o755, &user())), Errno::EACCES);
    symlink(&ctx, "/nowhere", "/dangling");
    assert_eq!(errno(ctx.mkdir(None, b"/dangling", 0o755, &root())), Errno::EEXIST);
    write_file(&ctx, "/f", b"");
    assert_eq!(errno(ctx.mkdir(None, b"/f/x", 0o755, &root())), Errno::ENOTDIR);
    // mkdir drops setuid/setgid from the mode.
    mkdir(&ctx, "/bits", 0o6777);
    assert_eq!(meta(&ctx, "/bits").perm, 0o777);
    mkdir(&ctx, "/sticky", 0o1777);
    assert_eq!(meta(&ctx, "/sticky").perm, 0o1777);
}

#[test]
fn setgid_directories_pass_on_their_group() {
    let ctx = setup();
    mkdir(&ctx, "/shared", 0o777);
    set_owner_mode(&ctx, "/shared", 0, 50, 0o2777);
    ctx.mkdir(None, b"/shared/sub", 0o755, &user()).unwrap();
    let sub = meta(&ctx, "/shared/sub");
    assert_eq!((sub.uid, sub.gid), (1000, 50));
    assert_eq!(sub.perm, 0o2755, "subdirectories inherit setgid");
    ctx.open(None, b"/shared/file", O_CREAT | O_WRONLY, 0o2755, &user()).unwrap();
    let file = meta(&ctx, "/shared/file");
    assert_eq!(file.gid, 50);
    assert_eq!(file.perm, 0o755, "setgid stripped: creator is not in group 50");
    let member = Credentials::new(1000, 1000).with_groups(&[50]);
    ctx.open(None, b"/shared/file2", O_CREAT | O_WRONLY, 0o2755, &member).unwrap();
    assert_eq!(meta(&ctx, "/shared/file2").perm, 0o2755);
}

#[test]
fn mknod_types_and_permissions() {
    let ctx = setup();
    mkdir(&ctx, "/tmp", 0o777);
    ctx.mknod(None, b"/tmp/plain", 0o600, 0, &user()).unwrap();
    assert_eq!(meta(&ctx, "/tmp/plain").kind, InodeType::File);
    ctx.mknod(None, b"/tmp/reg", S_IFREG | 0o600, 0, &user()).unwrap();
    ctx.mknod(None, b"/tmp/fifo", S_IFIFO | 0o600, 0, &user()).unwrap();
    assert_eq!(meta(&ctx, "/tmp/fifo").kind, InodeType::Fifo);
    ctx.mknod(None, b"/tmp/sock", S_IFSOCK | 0o600, 0, &user()).unwrap();
    assert_eq!(errno(ctx.mknod(None, b"/tmp/chr", S_IFCHR | 0o600, 0x103, &user())), Errno::EPERM);
    ctx.mknod(None, b"/tmp/chr", S_IFCHR | 0o600, 0x103, &root()).unwrap();
    let chr = meta(&ctx, "/tmp/chr");
    assert_eq!((chr.kind, chr.rdev), (InodeType::CharDevice, DeviceId::new(1, 3)));
    assert_eq!(errno(ctx.mknod(None, b"/tmp/dir", S_IFDIR | 0o700, 0, &root())), Errno::EPERM);
    assert_eq!(errno(ctx.mknod(None, b"/tmp/bad", 0o170000 | 0o700, 0, &root())), Errno::EINVAL);
    assert_eq!(errno(ctx.mknod(None, b"/tmp/fifo", S_IFIFO | 0o600, 0, &root())), Errno::EEXIST);
    assert_eq!(errno(ctx.mknod(None, b"/tmp/new/", S_IFIFO | 0o600, 0, &root())), Errno::ENOENT);
    assert_eq!(errno(ctx.mknod(None, b"/x", S_IFIFO | 0o600, 0, &user())), Errno::EACCES);
}

#[test]
fn symlink_and_readlink() {
    let ctx = setup();
    symlink(&ctx, "some/where", "/link");
    let link = ctx.lookup(None, b"/link", false, &root()).unwrap();
    assert_eq!(crate::fs::attr::readlink(&link).unwrap(), b"some/where");
    let m = link.inode().metadata();
    assert_eq!((m.kind, m.perm, m.size), (InodeType::Symlink, 0o777, 10));
    assert_eq!(errno(ctx.symlink(b"x", None, b"/link", &root())), Errno::EEXIST);
    assert_eq!(errno(ctx.symlink(b"", None, b"/empty", &root())), Errno::ENOENT);
    assert_eq!(errno(ctx.symlink(b"x", None, b"/new/", &root())), Errno::ENOENT);
    assert_eq!(errno(ctx.symlink(b"x", None, b"/missing/l", &root())), Errno::ENOENT);
    write_file(&ctx, "/f", b"");
    assert_eq!(errno(crate::fs::attr::readlink(&lookup(&ctx, "/f").unwrap())), Errno::EINVAL);
}

#[test]
fn hard_links() {
    let ctx = setup();
    write_file(&ctx, "/a", b"shared");
    ctx.link(None, b"/a", None, b"/b", false, &root()).unwrap();
    assert_eq!(meta(&ctx, "/a").nlink, 2);
    assert_eq!(meta(&ctx, "/a").ino, meta(&ctx, "/b").ino);
    let file = open(&ctx, "/b", O_WRONLY | O_APPEND).unwrap();
    file.write(b"!").unwrap();
    assert_eq!(read_file(&ctx, "/a"), b"shared!");
    ctx.unlink(None, b"/a", &root()).unwrap();
    assert_eq!(meta(&ctx, "/b").nlink, 1);
    assert_eq!(errno(ctx.link(None, b"/missing", None, b"/c", false, &root())), Errno::ENOENT);
    assert_eq!(errno(ctx.link(None, b"/b", None, b"/b", false, &root())), Errno::EEXIST);
    mkdir(&ctx, "/d", 0o755);
    assert_eq!(errno(ctx.link(None, b"/d", None, b"/d2", false, &root())), Errno::EPERM);
    assert_eq!(errno(ctx.link(None, b"/b", None, b"/d/", false, &root())), Errno::EEXIST);
    assert_eq!(errno(ctx.link(None, b"/b", None, b"/new/", false, &root())), Errno::ENOENT);
    assert_eq!(errno(ctx.link(None, b"/b", None, b"/d/x", false, &user())), Errno::EACCES);
    // Symlinks: linked themselves by default, followed with AT_SYMLINK_FOLLOW.
    symlink(&ctx, "b", "/sl");
    ctx.link(None, b"/sl", None, b"/sl2", false, &root()).unwrap();
    assert_eq!(meta(&ctx, "/sl2").kind, InodeType::Symlink);
    ctx.link(None, b"/sl", None, b"/b2", true, &root()).unwrap();
    assert_eq!(meta(&ctx, "/b2").ino, meta(&ctx, "/b").ino);
}

#[test]
fn unlink_rules() {
    let ctx = setup();
    mkdir(&ctx, "/d", 0o755);
    write_file(&ctx, "/f", b"");
    assert_eq!(errno(ctx.unlink(None, b"/d", &root())), Errno::EISDIR);
    assert_eq!(errno(ctx.unlink(None, b"/d/", &root())), Errno::EISDIR);
    assert_eq!(errno(ctx.unlink(None, b"/f/", &root())), Errno::ENOTDIR);
    assert_eq!(errno(ctx.unlink(None, b"/missing", &root())), Errno::ENOENT);
    assert_eq!(errno(ctx.unlink(None, b"/d/.", &root())), Errno::EISDIR);
    assert_eq!(errno(ctx.unlink(None, b"/", &root())), Errno::EISDIR);
    assert_eq!(errno(ctx.unlink(None, b"/f", &user())), Errno::EACCES);
    symlink(&ctx, "/d", "/link-to-dir");
    ctx.unlink(None, b"/link-to-dir", &root()).unwrap();
    assert!(lookup(&ctx, "/d").is_ok(), "unlink removes the link, not the target");
    ctx.unlink(None, b"/f", &root()).unwrap();
    assert_eq!(errno(lookup(&ctx, "/f")), Errno::ENOENT);
}

#[test]
fn sticky_directories() {
    let ctx = setup();
    mkdir(&ctx, "/tmp", 0o1777);
    ctx.open(None, b"/tmp/mine", O_CREAT | O_WRONLY, 0o644, &user()).unwrap();
    assert_eq!(errno(ctx.unlink(None, b"/tmp/mine", &other_user())), Errno::EPERM);
    assert_eq!(
        errno(ctx.rename(None, b"/tmp/mine", None, b"/tmp/theirs", RenameFlags::empty(), &other_user())),
        Errno::EPERM
    );
    ctx.unlink(None, b"/tmp/mine", &user()).unwrap();
    ctx.open(None, b"/tmp/again", O_CREAT | O_WRONLY, 0o644, &user()).unwrap();
    ctx.unlink(None, b"/tmp/again", &root()).unwrap();
}

#[test]
fn rmdir_rules() {
    let ctx = setup();
    mkdir(&ctx, "/d", 0o755);
    mkdir(&ctx, "/d/sub", 0o755);
    write_file(&ctx, "/f", b"");
    let root_links = meta(&ctx, "/").nlink;
    assert_eq!(errno(ctx.rmdir(None, b"/d", &root())), Errno::ENOTEMPTY);
    assert_eq!(errno(ctx.rmdir(None, b"/f", &root())), Errno::ENOTDIR);
    assert_eq!(errno(ctx.rmdir(None, b"/missing", &root())), Errno::ENOENT);
    assert_eq!(errno(ctx.rmdir(None, b"/d/sub/.", &root())), Errno::EINVAL);
    assert_eq!(errno(ctx.rmdir(None, b"/d/sub/..", &root())), Errno::ENOTEMPTY);
    assert_eq!(errno(ctx.rmdir(None, b"/", &root())), Errno::EBUSY);
    assert_eq!(errno(ctx.rmdir(None, b"/d/sub", &user())), Errno::EACCES);
    symlink(&ctx, "d/sub", "/link");
    assert_eq!(errno(ctx.rmdir(None, b"/link", &root())), Errno::ENOTDIR);
    ctx.rmdir(None, b"/d/sub/", &root()).unwrap();
    assert_eq!(meta(&ctx, "/d").nlink, 2);
    ctx.rmdir(None, b"/d", &root()).unwrap();
    assert_eq!(meta(&ctx, "/").nlink, root_links - 1);
}

#[test]
fn rename_files() {
    let ctx = setup();
    mkdir(&ctx, "/d", 0o755);
    write_file(&ctx, "/a", b"A");
    write_file(&ctx, "/b", b"B");
    let open_b = open(&ctx, "/b", O_RDONLY).unwrap();
    rename(&ctx, "/a", "/b").unwrap();
    assert_eq!(read_file(&ctx, "/b"), b"A");
    assert_eq!(errno(lookup(&ctx, "/a")), Errno::ENOENT);
    assert_eq!(open_b.metadata().nlink, 0, "the replaced file lost its name");
    rename(&ctx, "/b", "/d/c").unwrap();
    assert_eq!(read_file(&ctx, "/d/c"), b"A");
    let file = open(&ctx, "/d/c", O_RDONLY).unwrap();
    rename(&ctx, "/d/c", "/d/e").unwrap();
    assert_eq!(ctx.display_path(file.path()), b"/d/e", "open files follow the rename");
    assert_eq!(errno(rename(&ctx, "/missing", "/x")), Errno::ENOENT);
    assert_eq!(errno(rename(&ctx, "/d/e", "/missing/x")), Errno::ENOENT);
    assert_eq!(errno(rename(&ctx, "/d/e/", "/x")), Errno::ENOTDIR);
    assert_eq!(errno(rename(&ctx, "/d/e", "/x/")), Errno::ENOTDIR);
    rename(&ctx, "/d/e", "/d/e").unwrap();
    assert_eq!(read_file(&ctx, "/d/e"), b"A");
}

#[test]
fn rename_between_links_of_one_file_does_nothing() {
    let ctx = setup();
    write_file(&ctx, "/a", b"x");
    ctx.link(None, b"/a", None, b"/b", false, &root()).unwrap();
    rename(&ctx, "/a", "/b").unwrap();
    assert!(lookup(&ctx, "/a").is_ok() && lookup(&ctx, "/b").is_ok());
    assert_eq!(meta(&ctx, "/a").nlink, 2);
}

#[test]
fn rename_directories() {
    let ctx = setup();
    mkdir(&ctx, "/a", 0o755);
    mkdir(&ctx, "/a/sub", 0o755);
    mkdir(&ctx, "/b", 0o755);
    mkdir(&ctx, "/empty", 0o755);
    mkdir(&ctx, "/full", 0o755);
    write_file(&ctx, "/full/x", b"");
    write_file(&ctx, "/f", b"");
    assert_eq!(errno(rename(&ctx, "/a", "/a/sub/inside")), Errno::EINVAL);
    assert_eq!(errno(rename(&ctx, "/a", "/a/inside")), Errno::EINVAL);
    assert_eq!(errno(rename(&ctx, "/a/sub", "/a")), Errno::ENOTEMPTY, "target is an ancestor");
    assert_eq!(errno(rename(&ctx, "/a", "/f")), Errno::ENOTDIR);
    assert_eq!(errno(rename(&ctx, "/f", "/a")), Errno::EISDIR);
    assert_eq!(errno(rename(&ctx, "/a", "/full")), Errno::ENOTEMPTY);
    assert_eq!(errno(rename(&ctx, "/a/.", "/z")), Errno::EBUSY);
    assert_eq!(errno(rename(&ctx, "/a", "/b/..")), Errno::EBUSY);
    assert_eq!(errno(rename2(&ctx, "/a", "/b/..", RenameFlags::NOREPLACE)), Errno::EEXIST);
    let links_before = (meta(&ctx, "/a").nlink, meta(&ctx, "/b").nlink);
    rename(&ctx, "/a/sub", "/b/sub/").unwrap();
    assert_eq!(meta(&ctx, "/a").nlink, links_before.0 - 1);
    assert_eq!(meta(&ctx, "/b").nlink, links_before.1 + 1);
    assert!(lookup(&ctx, "/b/sub/..").unwrap().is_same(&lookup(&ctx, "/b").unwrap()), ".. follows the move");
    let root_links = meta(&ctx, "/").nlink;
    rename(&ctx, "/a", "/empty").unwrap();
    assert_eq!(meta(&ctx, "/").nlink, root_links - 1, "the replaced directory is gone");
    assert_eq!(errno(lookup(&ctx, "/a")), Errno::ENOENT);
}

#[test]
fn rename_noreplace_and_exchange() {
    let ctx = setup();
    write_file(&ctx, "/f", b"file");
    mkdir(&ctx, "/d", 0o755);
    mkdir(&ctx, "/d/inner", 0o755);
    assert_eq!(errno(rename2(&ctx, "/f", "/d", RenameFlags::NOREPLACE)), Errno::EEXIST);
    rename2(&ctx, "/f", "/g", RenameFlags::NOREPLACE).unwrap();
    let both = RenameFlags::NOREPLACE.union(RenameFlags::EXCHANGE);
    assert_eq!(errno(rename2(&ctx, "/g", "/h", both)), Errno::EINVAL);
    assert_eq!(errno(rename2(&ctx, "/g", "/h", RenameFlags::WHITEOUT)), Errno::EINVAL);
    assert_eq!(errno(rename2(&ctx, "/g", "/h", RenameFlags::from_bits(0x80))), Errno::EINVAL);
    assert_eq!(errno(rename2(&ctx, "/g", "/missing", RenameFlags::EXCHANGE)), Errno::ENOENT);
    // Exchange a file and a directory across directories.
    let (file_ino, dir_ino) = (meta(&ctx, "/g").ino, meta(&ctx, "/d/inner").ino);
    rename2(&ctx, "/g", "/d/inner", RenameFlags::EXCHANGE).unwrap();
    assert_eq!(meta(&ctx, "/g").ino, dir_ino);
    assert_eq!(meta(&ctx, "/g").kind, InodeType::Dir);
    assert_eq!(meta(&ctx, "/d/inner").ino, file_ino);
    assert_eq!(read_file(&ctx, "/d/inner"), b"file");
    assert_eq!(meta(&ctx, "/d").nlink, 2, "the directory left /d");
    assert!(lookup(&ctx, "/g/..").unwrap().is_same(ctx.root()));
    assert_eq!(errno(rename2(&ctx, "/d", "/d/inner", RenameFlags::EXCHANGE)), Errno::EINVAL);
}

#[test]
fn rename_moving_a_directory_needs_write_permission_on_it() {
    let ctx = setup();
    mkdir(&ctx, "/a", 0o777);
    mkdir(&ctx, "/b", 0o777);
    mkdir(&ctx, "/a/theirs", 0o755);
    let move_it = |creds: &Credentials| ctx.rename(None, b"/a/theirs", None, b"/b/theirs", RenameFlags::empty(), creds);
    assert_eq!(errno(move_it(&user())), Errno::EACCES);
    ctx.rename(None, b"/a/theirs", None, b"/a/renamed", RenameFlags::empty(), &user()).unwrap();
}

#[test]
fn rename_exchange_with_an_ancestor_and_busy_mount_points() {
    let ctx = setup();
    mkdir(&ctx, "/a", 0o755);
    mkdir(&ctx, "/a/b", 0o755);
    write_file(&ctx, "/a/b/f", b"");
    assert_eq!(errno(rename2(&ctx, "/a/b/f", "/a", RenameFlags::EXCHANGE)), Errno::EINVAL);
    assert_eq!(errno(rename2(&ctx, "/a/b/f", "/a/b/g/", RenameFlags::EXCHANGE)), Errno::ENOENT);
    mkdir(&ctx, "/m", 0o755);
    crate::fs::mount::mount(&lookup(&ctx, "/m").unwrap(), RamFs::new(), MountFlags::empty()).unwrap();
    assert_eq!(errno(rename(&ctx, "/a", "/m")), Errno::EBUSY);
    assert_eq!(errno(ctx.unlink(None, b"/m", &root())), Errno::EISDIR);
}
