//! read/write/pread/pwrite/lseek/getdents64/ftruncate on open files.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::fs::device::{register_char_device, Device};
use crate::fs::types::{DeviceId, S_IFCHR};

#[test]
fn read_write_and_the_file_position() {
    let ctx = setup();
    let file = open(&ctx, "/f", O_RDWR | O_CREAT).unwrap();
    assert_eq!(file.write(b"hello ").unwrap(), 6);
    assert_eq!(file.write(b"world").unwrap(), 5);
    assert_eq!(file.position(), 11);
    let mut buf = [0u8; 4];
    assert_eq!(file.read(&mut buf).unwrap(), 0, "at EOF");
    assert_eq!(file.seek(0, SEEK_SET).unwrap(), 0);
    assert_eq!(file.read(&mut buf).unwrap(), 4);
    assert_eq!(&buf, b"hell");
    let mut rest = [0u8; 100];
    assert_eq!(file.read(&mut rest).unwrap(), 7);
    assert_eq!(&rest[..7], b"o world");
    assert_eq!(file.write(b"").unwrap(), 0);
}

#[test]
fn ebadf_for_the_wrong_access_mode() {
    let ctx = setup();
    write_file(&ctx, "/f", b"data");
    let reader = open(&ctx, "/f", O_RDONLY).unwrap();
    let writer = open(&ctx, "/f", O_WRONLY).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(errno(reader.write(b"x")), Errno::EBADF);
    assert_eq!(errno(reader.pwrite(b"x", 0)), Errno::EBADF);
    assert_eq!(errno(writer.read(&mut buf)), Errno::EBADF);
    assert_eq!(errno(writer.pread(&mut buf, 0)), Errno::EBADF);
}

#[test]
fn eisdir_for_reading_a_directory() {
    let ctx = setup();
    mkdir(&ctx, "/d", 0o755);
    let dir = open(&ctx, "/d", O_RDONLY).unwrap();
    let mut buf = [0u8; 4];
    assert_eq!(errno(dir.read(&mut buf)), Errno::EISDIR);
    assert_eq!(errno(dir.pread(&mut buf, 0)), Errno::EISDIR);
}

#[test]
fn o_append_writes_at_the_end_even_with_pwrite() {
    let ctx = setup();
    write_file(&ctx, "/log", b"one\n");
    let file = open(&ctx, "/log", O_WRONLY | O_APPEND).unwrap();
    file.seek(0, SEEK_SET).unwrap();
    file.write(b"two\n").unwrap();
    assert_eq!(file.position(), 8);
    file.pwrite(b"three\n", 0).unwrap();
    assert_eq!(read_file(&ctx, "/log"), b"one\ntwo\nthree\n");
    // Two appenders do not overwrite each other.
    let other = open(&ctx, "/log", O_WRONLY | O_APPEND).unwrap();
    other.write(b"4\n").unwrap();
    file.write(b"5\n").unwrap();
    assert_eq!(read_file(&ctx, "/log"), b"one\ntwo\nthree\n4\n5\n");
}

#[test]
fn pread_pwrite_leave_the_position_alone() {
    let ctx = setup();
    let file = open(&ctx, "/f", O_RDWR | O_CREAT).unwrap();
    file.write(b"0123456789").unwrap();
    file.seek(2, SEEK_SET).unwrap();
    assert_eq!(file.pwrite(b"AB", 5).unwrap(), 2);
    let mut buf = [0u8; 3];
    assert_eq!(file.pread(&mut buf, 4).unwrap(), 3);
    assert_eq!(&buf, b"4AB");
    assert_eq!(file.position(), 2);
    assert_eq!(errno(file.pread(&mut buf, -1)), Errno::EINVAL);
    assert_eq!(errno(file.pwrite(b"x", -5)), Errno::EINVAL);
    assert_eq!(file.pread(&mut buf, 100).unwrap(), 0);
}

#[test]
fn lseek_whences_and_einval() {
    let ctx = setup();
    write_file(&ctx, "/f", b"0123456789");
    let file = open(&ctx, "/f", O_RDWR).unwrap();
    assert_eq!(file.seek(3, SEEK_SET).unwrap(), 3);
    assert_eq!(file.seek(4, SEEK_CUR).unwrap(), 7);
    assert_eq!(file.seek(-2, SEEK_CUR).unwrap(), 5);
    assert_eq!(file.seek(-1, SEEK_END).unwrap(), 9);
    assert_eq!(file.seek(10, SEEK_END).unwrap(), 20, "past the end is fine");
    assert_eq!(errno(file.seek(-1, SEEK_SET)), Errno::EINVAL);
    assert_eq!(errno(file.seek(-21, SEEK_END)), Errno::EINVAL);
    assert_eq!(errno(file.seek(i64::MAX, SEEK_CUR)), Errno::EINVAL);
    assert_eq!(errno(file.seek(0, 7)), Errno::EINVAL);
    assert_eq!(file.position(), 20, "failed seeks do not move");
    // Writing past the end leaves a hole of zeros.
    file.write(b"!").unwrap();
    let data = read_file(&ctx, "/f");
    assert_eq!(data.len(), 21);
    assert_eq!(&data[10..20], &[0u8; 10]);
    assert_eq!(data[20], b'!');
}

#[test]
fn seek_data_and_hole() {
    let ctx = setup();
    let file = open(&ctx, "/sparse", O_RDWR | O_CREAT).unwrap();
    file.pwrite(b"x", 3 * 4096).unwrap();
    assert_eq!(file.seek(0, SEEK_DATA).unwrap(), 3 * 4096);
    assert_eq!(file.seek(0, SEEK_HOLE).unwrap(), 0);
    assert_eq!(file.seek(3 * 4096, SEEK_HOLE).unwrap(), 3 * 4096 + 1);
    assert_eq!(errno(file.seek(3 * 4096 + 1, SEEK_DATA)), Errno::ENXIO);
    assert_eq!(errno(file.seek(-1, SEEK_HOLE)), Errno::ENXIO);
    mkdir(&ctx, "/d", 0o755);
    let dir = open(&ctx, "/d", O_RDONLY).unwrap();
    assert_eq!(errno(dir.seek(0, SEEK_DATA)), Errno::EINVAL);
    assert_eq!(errno(dir.seek(0, SEEK_END)), Errno::EINVAL);
}

/// A stream device: not seekable.
struct Stream;

impl Device for Stream {
    fn read(&self, _: u64, buf: &mut [u8], nonblocking: bool) -> crate::error::Result<usize> {
        if nonblocking {
            crate::return_errno!(EAGAIN);
        }
        buf.fill(b's');
        Ok(buf.len())
    }
    fn write(&self, _: u64, buf: &[u8], _: bool) -> crate::error::Result<usize> {
        Ok(buf.len())
    }
    fn is_seekable(&self) -> bool {
        false
    }
}

#[test]
fn espipe_on_streams() {
    let ctx = setup();
    let id = DeviceId::new(242, 1);
    register_char_device(id, alloc::sync::Arc::new(Stream));
    ctx.mknod(None, b"/stream", S_IFCHR | 0o666, id.encode(), &root()).unwrap();
    let file = open(&ctx, "/stream", O_RDWR).unwrap();
    let mut buf = [0u8; 2];
    assert_eq!(file.read(&mut buf).unwrap(), 2);
    assert_eq!(&buf, b"ss");
    assert_eq!(file.position(), 0, "streams have no position");
    assert_eq!(errno(file.seek(0, SEEK_SET)), Errno::ESPIPE);
    assert_eq!(errno(file.pread(&mut buf, 0)), Errno::ESPIPE);
    assert_eq!(errno(file.pwrite(b"x", 0)), Errno::ESPIPE);
    assert!(!lookup(&ctx, "/stream").unwrap().inode().is_seekable());
    let nonblocking = open(&ctx, "/stream", O_RDONLY | O_NONBLOCK).unwrap();
    assert_eq!(errno(nonblocking.read(&mut buf)), Errno::EAGAIN, "O_NONBLOCK reaches the driver");
    assert_eq!(errno(file.ioctl(0x5401, 0)), Errno::ENOTTY);
}

/// Parse `linux_dirent64` records: name -> (ino, d_off, d_type).
fn parse(buf: &[u8]) -> Vec<(Vec<u8>, u64, i64, u8)> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < buf.len() {
        let ino = u64::from_ne_bytes(buf[at..at + 8].try_into().unwrap());
        let off = i64::from_ne_bytes(buf[at + 8..at + 16].try_into().unwrap());
        let reclen = u16::from_ne_bytes(buf[at + 16..at + 18].try_into().unwrap()) as usize;
        let kind = buf[at + 18];
        assert_eq!(reclen % 8, 0);
        let name_end = buf[at + 19..at + reclen].iter().position(|&b| b == 0).unwrap();
        out.push((buf[at + 19..at + 19 + name_end].to_vec(), ino, off, kind));
        at += reclen;
    }
    out
}

fn list(file: &OpenFile) -> Vec<Vec<u8>> {
    let mut names = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let count = file.getdents64(&mut buf).unwrap();
        if count == 0 {
            return names;
        }
        names.extend(parse(&buf[..count]).into_iter().map(|entry| entry.0));
    }
}

#[test]
fn getdents64_lists_entries_with_types_and_inodes() {
    let ctx = setup();
    mkdir(&ctx, "/d", 0o755);
    mkdir(&ctx, "/d/sub", 0o755);
    write_file(&ctx, "/d/file", b"");
    symlink(&ctx, "file", "/d/link");
    let dir = open(&ctx, "/d", O_RDONLY | O_DIRECTORY).unwrap();
    let mut buf = vec![0u8; 4096];
    let count = dir.getdents64(&mut buf).unwrap();
    let entries: BTreeMap<Vec<u8>, (u64, i64, u8)> =
        parse(&buf[..count]).into_iter().map(|(name, ino, off, kind)| (name, (ino, off, kind))).collect();
    assert_eq!(entries.len(), 5);
    assert_eq!(entries[&b"."[..]].0, meta(&ctx, "/d").ino);
    assert_eq!(entries[&b".."[..]].0, meta(&ctx, "/").ino);
    assert_eq!(entries[&b"sub"[..]], (meta(&ctx, "/d/sub").ino, entries[&b"sub"[..]].1, 4));
    assert_eq!(entries[&b"file"[..]].2, 8);
    assert_eq!(entries[&b"link"[..]].2, 10);
    assert_eq!(dir.getdents64(&mut buf).unwrap(), 0, "then the end");
    // Rewind and list again.
    dir.seek(0, SEEK_SET).unwrap();
    assert_eq!(list(&dir).len(), 5);
}

#[test]
fn getdents64_small_buffers_and_einval() {
    let ctx = setup();
    mkdir(&ctx, "/d", 0o755);
    for i in 0..10 {
        write_file(&ctx, &alloc::format!("/d/entry{i}"), b"");
    }
    let dir = open(&ctx, "/d", O_RDONLY).unwrap();
    let mut tiny = [0u8; 23];
    assert_eq!(errno(dir.getdents64(&mut tiny)), Errno::EINVAL, "not even '.' fits in 23 bytes");
    let mut one = [0u8; 24];
    assert_eq!(dir.getdents64(&mut one).unwrap(), 24);
    assert_eq!(parse(&one)[0].0, b".");
    let mut small = [0u8; 70];
    let mut names = vec![b".".to_vec()];
    loop {
        match dir.getdents64(&mut small) {
            Ok(0) => break,
            Ok(count) => names.extend(parse(&small[..count]).into_iter().map(|entry| entry.0)),
            Err(error) => panic!("{error}"),
        }
    }
    assert_eq!(names.len(), 12);
    let file = open(&ctx, "/d/entry0", O_RDONLY).unwrap();
    assert_eq!(errno(file.getdents64(&mut small)), Errno::ENOTDIR);
}

#[test]
fn getdents64_offsets_stay_valid_across_removals() {
    let ctx = setup();
    mkdir(&ctx, "/d", 0o777);
    for name in ["a", "b", "c", "d"] {
        write_file(&ctx, &alloc::format!("/d/{name}"), b"");
    }
    let dir = open(&ctx, "/d", O_RDONLY).unwrap();
    let mut buf = vec![0u8; 4096];
    let count = dir.getdents64(&mut buf).unwrap();
    let entries = parse(&buf[..count]);
    let (_, _, after_b, _) = entries.iter().find(|entry| entry.0 == b"b").unwrap().clone();
    // Remove entries before and at the cookie; seek back to it.
    ctx.unlink(None, b"/d/a", &root()).unwrap();
    ctx.unlink(None, b"/d/b", &root()).unwrap();
    assert_eq!(dir.seek(after_b, SEEK_SET).unwrap(), after_b as u64);
    let rest = list(&dir);
    assert_eq!(rest, vec![b"c".to_vec(), b"d".to_vec()]);
    dir.seek(0, SEEK_SET).unwrap();
    assert_eq!(list(&dir), vec![b".".to_vec(), b"..".to_vec(), b"c".to_vec(), b"d".to_vec()]);
}

#[test]
fn ftruncate_rules() {
    let ctx = setup();
    write_file(&ctx, "/f", b"0123456789");
    let reader = open(&ctx, "/f", O_RDONLY).unwrap();
    assert_eq!(errno(reader.truncate(0)), Errno::EINVAL);
    let writer = open(&ctx, "/f", O_WRONLY).unwrap();
    assert_eq!(errno(writer.truncate(-1)), Errno::EINVAL);
    writer.truncate(4).unwrap();
    assert_eq!(read_file(&ctx, "/f"), b"0123");
    writer.truncate(6).unwrap();
    assert_eq!(read_file(&ctx, "/f"), b"0123\0\0");
    mkdir(&ctx, "/d", 0o755);
    let dir = open(&ctx, "/d", O_RDONLY).unwrap();
    assert_eq!(errno(dir.truncate(0)), Errno::EINVAL);
    let path_only = open(&ctx, "/f", O_PATH).unwrap();
    assert_eq!(errno(path_only.truncate(0)), Errno::EBADF);
}

#[test]
fn unlinked_file_lives_while_open() {
    let ctx = setup();
    write_file(&ctx, "/f", b"still here");
    let file = open(&ctx, "/f", O_RDWR).unwrap();
    ctx.unlink(None, b"/f", &root()).unwrap();
    assert_eq!(errno(lookup(&ctx, "/f")), Errno::ENOENT);
    let mut buf = [0u8; 10];
    assert_eq!(file.read(&mut buf).unwrap(), 10);
    assert_eq!(&buf, b"still here");
    assert_eq!(file.metadata().nlink, 0);
    file.write(b"!").unwrap();
    assert_eq!(file.metadata().size, 11);
    assert_eq!(ctx.display_path(file.path()), b"/f (deleted)");
    // A new file of the same name is another inode.
    write_file(&ctx, "/f", b"new");
    assert_ne!(meta(&ctx, "/f").ino, file.metadata().ino);
    assert_eq!(read_file(&ctx, "/f"), b"new");
}

#[test]
fn timestamps_follow_linux() {
    let ctx = setup();
    mkdir(&ctx, "/d", 0o755);
    let dir_before = meta(&ctx, "/d");
    write_file(&ctx, "/d/f", b"x");
    let dir_after = meta(&ctx, "/d");
    assert!(dir_after.mtime > dir_before.mtime && dir_after.ctime > dir_before.ctime, "create touches the dir");
    let created = meta(&ctx, "/d/f");
    let file = open(&ctx, "/d/f", O_RDWR).unwrap();
    file.write(b"more").unwrap();
    let written = meta(&ctx, "/d/f");
    assert!(written.mtime > created.mtime && written.ctime > created.ctime);
    assert_eq!(written.btime, created.btime);
    // relatime: a read after a write updates atime, a second read does not.
    let mut buf = [0u8; 1];
    file.pread(&mut buf, 0).unwrap();
    let read_once = meta(&ctx, "/d/f");
    assert!(read_once.atime > written.mtime);
    file.pread(&mut buf, 0).unwrap();
    assert_eq!(meta(&ctx, "/d/f").atime, read_once.atime);
    assert_eq!(meta(&ctx, "/d/f").mtime, written.mtime, "reads leave mtime");
    // Unlink: the dir's mtime and the inode's ctime.
    let before_unlink = meta(&ctx, "/d");
    let kept = lookup(&ctx, "/d/f").unwrap();
    ctx.unlink(None, b"/d/f", &root()).unwrap();
    assert!(meta(&ctx, "/d").mtime > before_unlink.mtime);
    assert!(kept.inode().metadata().ctime > read_once.ctime);
}

/// A stream whose read waits until a write has happened (a tty with a
/// reader thread and a writer thread on one open file).
struct Rendezvous(core::sync::atomic::AtomicBool);

impl Device for Rendezvous {
    fn read(&self, _: u64, buf: &mut [u8], _: bool) -> crate::error::Result<usize> {
        while !self.0.load(core::sync::atomic::Ordering::Acquire) {
            std::thread::yield_now();
        }
        buf[0] = b'r';
        Ok(1)
    }
    fn write(&self, _: u64, buf: &[u8], _: bool) -> crate::error::Result<usize> {
        self.0.store(true, core::sync::atomic::Ordering::Release);
        Ok(buf.len())
    }
    fn is_seekable(&self) -> bool {
        false
    }
}

#[test]
fn a_blocked_stream_read_does_not_block_writers_of_the_same_file() {
    let ctx = setup();
    let id = DeviceId::new(242, 2);
    register_char_device(id, alloc::sync::Arc::new(Rendezvous(core::sync::atomic::AtomicBool::new(false))));
    ctx.mknod(None, b"/tty", S_IFCHR | 0o666, id.encode(), &root()).unwrap();
    let file = open(&ctx, "/tty", O_RDWR).unwrap();
    let reader_file = file.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 1];
        reader_file.read(&mut buf).map(|count| (count, buf[0]))
    });
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(file.write(b"w").unwrap(), 1);
    assert_eq!(reader.join().unwrap().unwrap(), (1, b'r'));
}

#[test]
fn o_path_files_refuse_io_and_regular_files_have_no_ioctls() {
    let ctx = setup();
    mkdir(&ctx, "/d", 0o755);
    let dir = open(&ctx, "/d", O_PATH).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(errno(dir.getdents64(&mut buf)), Errno::EBADF);
    assert_eq!(errno(dir.ioctl(0x5401, 0)), Errno::EBADF);
    assert_eq!(dir.poll(crate::fs::PollEvents::IN), crate::fs::PollEvents::NVAL);
    let file = open(&ctx, "/f", O_RDWR | O_CREAT).unwrap();
    assert_eq!(errno(file.ioctl(0x5401, 0)), Errno::ENOTTY);
    let both = crate::fs::PollEvents::IN.union(crate::fs::PollEvents::OUT);
    assert_eq!(file.poll(both), both);
    assert!(ctx.lookup(Some(dir.path()), b".", true, &root()).is_ok(), "an O_PATH dir works as a dirfd");
}
