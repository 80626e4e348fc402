//! The fd table: allocation, dup family, fcntl, limits, close-on-exec.

use alloc::sync::Arc;

use super::*;
use crate::fs::fd_table::FdTable;

fn file(ctx: &FsContext) -> Arc<OpenFile> {
    open(ctx, "/f", O_RDWR | O_CREAT).unwrap()
}

#[test]
fn lowest_free_fd_and_reuse() {
    let ctx = setup();
    let mut table = FdTable::new();
    assert_eq!(table.insert(file(&ctx), false).unwrap(), 0);
    assert_eq!(table.insert(file(&ctx), false).unwrap(), 1);
    assert_eq!(table.insert(file(&ctx), false).unwrap(), 2);
    table.close(1).unwrap();
    assert_eq!(table.insert(file(&ctx), false).unwrap(), 1);
    table.close(0).unwrap();
    table.close(2).unwrap();
    assert_eq!(table.fds().collect::<alloc::vec::Vec<_>>(), [1]);
    assert_eq!(table.insert(file(&ctx), false).unwrap(), 0);
}

#[test]
fn ebadf_for_bad_fds() {
    let mut table = FdTable::new();
    assert_eq!(errno(table.get(0)), Errno::EBADF);
    assert_eq!(errno(table.get(-1)), Errno::EBADF);
    assert_eq!(errno(table.close(5)), Errno::EBADF);
    assert_eq!(errno(table.close(-3)), Errno::EBADF);
    assert_eq!(errno(table.dup(7)), Errno::EBADF);
    assert_eq!(errno(table.fcntl(3, F_GETFD, 0)), Errno::EBADF);
    assert_eq!(errno(table.set_close_on_exec(3, true)), Errno::EBADF);
}

#[test]
fn dup_shares_the_open_file() {
    let ctx = setup();
    let mut table = FdTable::new();
    let fd = table.insert(file(&ctx), true).unwrap();
    let copy = table.dup(fd).unwrap();
    assert_eq!(copy, 1);
    assert!(!table.close_on_exec(copy).unwrap(), "dup clears close-on-exec");
    table.get(fd).unwrap().write(b"abc").unwrap();
    assert_eq!(table.get(copy).unwrap().position(), 3, "one position for both");
}

#[test]
fn dup2_and_dup3() {
    let ctx = setup();
    let mut table = FdTable::new();
    let a = table.insert(file(&ctx), false).unwrap();
    let b = table.insert(open(&ctx, "/g", O_RDWR | O_CREAT).unwrap(), true).unwrap();
    assert_eq!(table.dup2(a, a).unwrap().0, a, "dup2 onto itself returns it");
    assert_eq!(errno(table.dup2(9, 9)), Errno::EBADF);
    let (fd, replaced) = table.dup2(a, b).unwrap();
    assert_eq!(fd, b);
    assert!(replaced.is_some(), "the old file is handed back to be dropped");
    assert!(!table.close_on_exec(b).unwrap());
    assert_eq!(table.dup2(a, 100).unwrap().0, 100);
    assert_eq!(errno(table.dup2(a, -1)), Errno::EBADF);
    assert_eq!(errno(table.dup2(a, 1024)), Errno::EBADF, "at the limit");
    assert_eq!(errno(table.dup3(a, a, 0)), Errno::EINVAL);
    assert_eq!(errno(table.dup3(a, 5, O_NONBLOCK)), Errno::EINVAL);
    assert_eq!(table.dup3(a, 5, O_CLOEXEC).unwrap().0, 5);
    assert!(table.close_on_exec(5).unwrap());
    assert_eq!(errno(table.dup3(42, 6, 0)), Errno::EBADF);
}

#[test]
fn emfile_at_the_limit() {
    let ctx = setup();
    let mut table = FdTable::new();
    table.set_limit(3).unwrap();
    for expected in 0..3 {
        assert_eq!(table.insert(file(&ctx), false).unwrap(), expected);
    }
    assert_eq!(errno(table.insert(file(&ctx), false)), Errno::EMFILE);
    assert_eq!(errno(table.dup(0)), Errno::EMFILE);
    assert_eq!(errno(table.fcntl(0, F_DUPFD, 0)), Errno::EMFILE);
    assert_eq!(errno(table.set_limit(u32::MAX)), Errno::EPERM);
    table.set_limit(4).unwrap();
    assert_eq!(table.dup(0).unwrap(), 3);
}

#[test]
fn fcntl_commands() {
    let ctx = setup();
    let mut table = FdTable::new();
    let fd = table.insert(file(&ctx), false).unwrap();
    assert_eq!(table.fcntl(fd, F_DUPFD, 10).unwrap(), 10);
    assert_eq!(table.fcntl(fd, F_DUPFD, 10).unwrap(), 11);
    assert_eq!(table.fcntl(10, F_GETFD, 0).unwrap(), 0);
    assert_eq!(table.fcntl(fd, F_DUPFD_CLOEXEC, 0).unwrap(), 1);
    assert_eq!(table.fcntl(1, F_GETFD, 0).unwrap(), FD_CLOEXEC as i64);
    table.fcntl(1, F_SETFD, 0).unwrap();
    assert_eq!(table.fcntl(1, F_GETFD, 0).unwrap(), 0);
    table.fcntl(1, F_SETFD, FD_CLOEXEC as u64).unwrap();
    assert!(table.close_on_exec(1).unwrap());
    assert_eq!(errno(table.fcntl(fd, F_DUPFD, 1024)), Errno::EINVAL);
    assert_eq!(errno(table.fcntl(fd, F_DUPFD, u64::MAX)), Errno::EINVAL);
    assert_eq!(table.fcntl(fd, F_GETFL, 0).unwrap(), (O_RDWR | O_LARGEFILE) as i64);
    table.fcntl(fd, F_SETFL, (O_APPEND | O_NONBLOCK | O_WRONLY | O_TRUNC) as u64).unwrap();
    assert_eq!(
        table.fcntl(fd, F_GETFL, 0).unwrap(),
        (O_RDWR | O_LARGEFILE | O_APPEND | O_NONBLOCK) as i64,
        "only SETFL_MASK bits change"
    );
    assert_eq!(table.fcntl(10, F_GETFL, 0).unwrap() & O_APPEND as i64, O_APPEND as i64, "shared by dups");
    assert_eq!(errno(table.fcntl(fd, 9999, 0)), Errno::EINVAL);
    let path_fd = table.insert(open(&ctx, "/f", O_PATH).unwrap(), false).unwrap();
    assert_eq!(errno(table.fcntl(path_fd, F_SETFL, 0)), Errno::EBADF);
}

#[test]
fn close_on_exec_and_fork() {
    let ctx = setup();
    let mut table = FdTable::new();
    table.insert(file(&ctx), false).unwrap();
    table.insert(file(&ctx), true).unwrap();
    table.insert(file(&ctx), false).unwrap();
    table.insert(file(&ctx), true).unwrap();
    let child = table.clone();
    let closed = table.close_on_exec_all();
    assert_eq!(closed.len(), 2);
    assert_eq!(table.fds().collect::<alloc::vec::Vec<_>>(), [0, 2]);
    assert_eq!(child.fds().count(), 4, "the fork's copy is independent");
    let mut child = child;
    assert_eq!(child.clear().len(), 4);
    assert_eq!(child.fds().count(), 0);
}
