//! Path resolution: components, dots, symlinks, limits, permissions.

use alloc::format;
use alloc::string::String;
use alloc::vec;

use super::*;
use crate::fs::types::InodeType;

#[test]
fn absolute_relative_dots_and_slashes() {
    let ctx = setup();
    mkdir(&ctx, "/a", 0o755);
    mkdir(&ctx, "/a/b", 0o755);
    write_file(&ctx, "/a/b/f", b"x");
    let f = lookup(&ctx, "/a/b/f").unwrap();
    for spelling in ["a/b/f", "//a///b/./f", "/a/../a/b/f", "./a/b/../b/f", "/../../a/b/f"] {
        assert!(lookup(&ctx, spelling).unwrap().is_same(&f), "{spelling}");
    }
    assert!(lookup(&ctx, "/").unwrap().is_same(ctx.root()));
    assert!(lookup(&ctx, "/..").unwrap().is_same(ctx.root()), ".. at the root stays there");
    assert!(lookup(&ctx, "a/b/..").unwrap().is_same(&lookup(&ctx, "/a").unwrap()));
    assert!(lookup(&ctx, "a/b/.").unwrap().is_same(&lookup(&ctx, "/a/b").unwrap()));
    assert!(lookup(&ctx, "a/b/").unwrap().is_same(&lookup(&ctx, "/a/b").unwrap()));
}

#[test]
fn relative_to_a_directory_and_errors_for_a_file() {
    let ctx = setup();
    mkdir(&ctx, "/d", 0o755);
    write_file(&ctx, "/d/f", b"");
    let dir = lookup(&ctx, "/d").unwrap();
    let file = lookup(&ctx, "/d/f").unwrap();
    assert!(ctx.lookup(Some(&dir), b"f", true, &root()).unwrap().is_same(&file));
    assert!(ctx.lookup(Some(&file), b"/d", true, &root()).unwrap().is_same(&dir), "absolute ignores dirfd");
    assert_eq!(errno(ctx.lookup(Some(&file), b"x", true, &root())), Errno::ENOTDIR);
}

#[test]
fn enoent_for_missing_and_empty() {
    let ctx = setup();
    mkdir(&ctx, "/a", 0o755);
    assert_eq!(errno(lookup(&ctx, "/missing")), Errno::ENOENT);
    assert_eq!(errno(lookup(&ctx, "/missing/x")), Errno::ENOENT);
    assert_eq!(errno(lookup(&ctx, "/a/missing/")), Errno::ENOENT);
    assert_eq!(errno(lookup(&ctx, "")), Errno::ENOENT);
}

#[test]
fn enotdir_for_a_file_in_the_middle_or_with_a_trailing_slash() {
    let ctx = setup();
    write_file(&ctx, "/f", b"");
    assert_eq!(errno(lookup(&ctx, "/f/x")), Errno::ENOTDIR);
    assert_eq!(errno(lookup(&ctx, "/f/")), Errno::ENOTDIR);
    assert_eq!(errno(lookup(&ctx, "/f/.")), Errno::ENOTDIR);
    assert_eq!(errno(lookup(&ctx, "/f/..")), Errno::ENOTDIR);
}

#[test]
fn name_and_path_length_limits() {
    let ctx = setup();
    let long = "n".repeat(256);
    assert_eq!(errno(lookup(&ctx, &format!("/{long}"))), Errno::ENAMETOOLONG);
    assert_eq!(errno(lookup(&ctx, &format!("/{long}/x"))), Errno::ENAMETOOLONG);
    let ok = "n".repeat(255);
    assert_eq!(errno(lookup(&ctx, &format!("/{ok}"))), Errno::ENOENT);
    mkdir(&ctx, &format!("/{ok}"), 0o755);
    assert!(lookup(&ctx, &format!("/{ok}")).is_ok());
    // 4095 bytes is a valid length (here: many "./" then "."), 4096 is not.
    let mut path = String::from("/");
    while path.len() < 4094 {
        path.push_str("./");
    }
    path.truncate(4094);
    path.push('.');
    assert_eq!(path.len(), 4095);
    assert!(lookup(&ctx, &path).is_ok());
    path.push('/');
    assert_eq!(errno(lookup(&ctx, &path)), Errno::ENAMETOOLONG);
    assert_eq!(errno(ctx.mkdir(None, format!("/{long}").as_bytes(), 0o755, &root())), Errno::ENAMETOOLONG);
}

#[test]
fn symlinks_in_the_middle_and_at_the_end() {
    let ctx = setup();
    mkdir(&ctx, "/real", 0o755);
    mkdir(&ctx, "/real/sub", 0o755);
    write_file(&ctx, "/real/sub/f", b"data");
    symlink(&ctx, "real", "/rel");
    symlink(&ctx, "/real/sub", "/abs");
    symlink(&ctx, "../real/sub/f", "/real/up");
    symlink(&ctx, "sub/f", "/real/down");
    let f = lookup(&ctx, "/real/sub/f").unwrap();
    for spelling in ["/rel/sub/f", "/abs/f", "/real/up", "/real/down", "rel/./sub/../sub/f"] {
        assert!(lookup(&ctx, spelling).unwrap().is_same(&f), "{spelling}");
    }
    let link = ctx.lookup(None, b"/real/up", false, &root()).unwrap();
    assert_eq!(link.kind(), InodeType::Symlink, "no-follow returns the link itself");
    // A trailing slash follows even without "follow".
    let dir = ctx.lookup(None, b"/abs/", false, &root()).unwrap();
    assert_eq!(dir.kind(), InodeType::Dir);
    assert_eq!(errno(ctx.lookup(None, b"/real/up/", false, &root())), Errno::ENOTDIR);
}

#[test]
fn dangling_symlink() {
    let ctx = setup();
    symlink(&ctx, "/nowhere", "/dangling");
    assert_eq!(errno(lookup(&ctx, "/dangling")), Errno::ENOENT);
    assert!(ctx.lookup(None, b"/dangling", false, &root()).is_ok());
    assert_eq!(errno(lookup(&ctx, "/dangling/x")), Errno::ENOENT);
}

#[test]
fn eloop_after_forty_links() {
    let ctx = setup();
    symlink(&ctx, "self", "/self");
    assert_eq!(errno(lookup(&ctx, "/self")), Errno::ELOOP);
    assert_eq!(errno(lookup(&ctx, "/self/x")), Errno::ELOOP);
    assert!(ctx.lookup(None, b"/self", false, &root()).is_ok());
    symlink(&ctx, "b", "/a");
    symlink(&ctx, "a", "/b");
    assert_eq!(errno(lookup(&ctx, "/a")), Errno::ELOOP);
    // A chain of exactly 40 links resolves; 41 does not.
    write_file(&ctx, "/target", b"");
    symlink(&ctx, "target", "/l0");
    for i in 1..=40 {
        symlink(&ctx, &format!("l{}", i - 1), &format!("/l{i}"));
    }
    assert!(lookup(&ctx, "/l39").is_ok(), "40 links");
    assert_eq!(errno(lookup(&ctx, "/l40")), Errno::ELOOP, "41 links");
    // The same count applies to links in the middle of a path.
    mkdir(&ctx, "/d", 0o755);
    symlink(&ctx, "d", "/m0");
    for i in 1..=40 {
        symlink(&ctx, &format!("m{}", i - 1), &format!("/m{i}"));
    }
    assert!(lookup(&ctx, "/m39/.").is_ok());
    assert_eq!(errno(lookup(&ctx, "/m40/.")), Errno::ELOOP);
}

#[test]
fn search_permission_is_checked_on_every_directory() {
    let ctx = setup();
    mkdir(&ctx, "/private", 0o700);
    mkdir(&ctx, "/private/inner", 0o755);
    mkdir(&ctx, "/xonly", 0o711);
    write_file(&ctx, "/xonly/f", b"");
    assert_eq!(errno(lookup_as(&ctx, "/private/inner", &user())), Errno::EACCES);
    assert_eq!(errno(lookup_as(&ctx, "/private/missing", &user())), Errno::EACCES);
    assert_eq!(errno(lookup_as(&ctx, "/private/..", &user())), Errno::EACCES);
    assert!(lookup_as(&ctx, "/private/inner", &root()).is_ok(), "root bypasses");
    assert!(lookup_as(&ctx, "/xonly/f", &user()).is_ok(), "x without r is enough to walk");
    set_owner_mode(&ctx, "/private", 1000, 1000, 0o700);
    assert!(lookup_as(&ctx, "/private/inner", &user()).is_ok(), "owner class");
}

#[test]
fn chroot_confines_dotdot_and_absolute_symlinks() {
    let mut ctx = setup();
    mkdir(&ctx, "/jail", 0o755);
    mkdir(&ctx, "/jail/etc", 0o755);
    write_file(&ctx, "/jail/etc/hosts", b"jailed");
    write_file(&ctx, "/etc", b"outside");
    symlink(&ctx, "/etc/hosts", "/jail/hosts");
    let jail = lookup(&ctx, "/jail").unwrap();
    assert_eq!(errno(ctx.chroot(jail.clone(), &user())), Errno::EPERM);
    ctx.chroot(jail.clone(), &root()).unwrap();
    assert!(lookup(&ctx, "/").unwrap().is_same(&jail));
    assert!(lookup(&ctx, "/../..").unwrap().is_same(&jail));
    assert!(lookup(&ctx, "/hosts").unwrap().is_same(&lookup(&ctx, "/etc/hosts").unwrap()));
    let file = write_and_find(&ctx);
    assert_eq!(file, vec![b'j', b'a', b'i', b'l', b'e', b'd']);
}

fn write_and_find(ctx: &FsContext) -> alloc::vec::Vec<u8> {
    read_file(ctx, "/hosts")
}

#[test]
fn chdir_and_getcwd() {
    let mut ctx = setup();
    mkdir(&ctx, "/a", 0o755);
    mkdir(&ctx, "/a/b", 0o755);
    mkdir(&ctx, "/secret", 0o700);
    write_file(&ctx, "/f", b"");
    assert_eq!(ctx.getcwd().unwrap(), b"/");
    ctx.chdir(lookup(&ctx, "/a/b").unwrap(), &user()).unwrap();
    assert_eq!(ctx.getcwd().unwrap(), b"/a/b");
    assert!(lookup(&ctx, "..").unwrap().is_same(&lookup(&ctx, "/a").unwrap()));
    assert_eq!(errno(ctx.chdir(lookup(&ctx, "/f").unwrap(), &user())), Errno::ENOTDIR);
    assert_eq!(errno(ctx.chdir(lookup(&ctx, "/secret").unwrap(), &user())), Errno::EACCES);
    // Renaming an ancestor renames the cwd's path.
    ctx.rename(None, b"/a", None, b"/z", Default::default(), &root()).unwrap();
    assert_eq!(ctx.getcwd().unwrap(), b"/z/b");
    ctx.rmdir(None, b"/z/b", &root()).unwrap();
    assert_eq!(errno(ctx.getcwd()), Errno::ENOENT);
    assert_eq!(errno(ctx.lookup(None, b"x", true, &root())), Errno::ENOENT);
}

#[test]
fn getcwd_outside_the_root_and_chroot_errors() {
    let mut ctx = setup();
    mkdir(&ctx, "/jail", 0o755);
    mkdir(&ctx, "/outside", 0o755);
    write_file(&ctx, "/file", b"");
    assert_eq!(errno(ctx.chroot(lookup(&ctx, "/file").unwrap(), &root())), Errno::ENOTDIR);
    ctx.chdir(lookup(&ctx, "/outside").unwrap(), &root()).unwrap();
    ctx.chroot(lookup(&ctx, "/jail").unwrap(), &root()).unwrap();
    assert_eq!(ctx.getcwd().unwrap(), b"(unreachable)/outside");
    assert!(ctx.cwd().is_same(&lookup(&ctx, ".").unwrap()));
    match ctx.lookup_or_missing(None, b"/new", true, &root()).unwrap() {
        crate::fs::walk::Walked::Missing { name, trailing_slash, .. } => assert_eq!((name, trailing_slash), (b"new".to_vec(), false)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn symlink_targets_of_path_max_are_refused() {
    let ctx = setup();
    let long = "x/".repeat(2048);
    assert_eq!(errno(ctx.symlink(long.as_bytes(), None, b"/l", &root())), Errno::ENAMETOOLONG);
}
