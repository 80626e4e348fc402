//! Writer for the cpio "newc" format (the Linux initramfs format).
//!
//! Each entry is a 110-byte ASCII header — magic `070701` then 13 fields of
//! 8 hex digits (ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
//! devminor, rdevmajor, rdevminor, namesize, check) — then the name with its
//! NUL (namesize counts the NUL), padded so header+name is a multiple of 4,
//! then the data padded to a multiple of 4. The archive ends with an entry
//! named `TRAILER!!!`.
//!
//! Names are written relative, without a leading `/` (`etc/umbra/argv`), as
//! Linux's gen_init_cpio does. The writer adds a directory entry for every
//! parent path before its first child, once. Owner is root, mtime 0 (the
//! archive is reproducible).

use std::collections::BTreeSet;
use std::io::{self, Write};

pub const MAGIC: &str = "070701";
pub const TRAILER: &str = "TRAILER!!!";
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFLNK: u32 = 0o120000;

pub struct CpioWriter<W: Write> {
    out: W,
    next_ino: u32,
    dirs: BTreeSet<String>,
    entries: usize,
}

impl<W: Write> CpioWriter<W> {
    pub fn new(out: W) -> Self {
        CpioWriter {
            out,
            next_ino: 1,
            dirs: BTreeSet::new(),
            entries: 0,
        }
    }

    /// Number of entries written so far (directories included).
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Adds a directory (and its parents). Adding it again is a no-op.
    pub fn add_dir(&mut self, path: &str, perm: u32) -> io::Result<()> {
        let name = rel(path)?;
        if name.is_empty() || self.dirs.contains(name) {
            return Ok(());
        }
        self.add_parents(name)?;
        self.dirs.insert(name.to_string());
        self.entry(name, S_IFDIR | (perm & 0o7777), 2, b"")
    }

    pub fn add_file(&mut self, path: &str, perm: u32, data: &[u8]) -> io::Result<()> {
        let name = non_root(path)?;
        self.add_parents(name)?;
        self.entry(name, S_IFREG | (perm & 0o7777), 1, data)
    }

    /// A symbolic link; the target is stored as the entry's data, unchanged.
    pub fn add_symlink(&mut self, path: &str, target: &str) -> io::Result<()> {
        let name = non_root(path)?;
        self.add_parents(name)?;
        self.entry(name, S_IFLNK | 0o777, 1, target.as_bytes())
    }

    /// Writes the trailer and returns the underlying writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.header(TRAILER, 0, 0, 1, 0)?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn add_parents(&mut self, name: &str) -> io::Result<()> {
        let mut end = 0;
        while let Some(pos) = name[end..].find('/') {
            let parent = &name[..end + pos];
            if !self.dirs.contains(parent) {
                self.dirs.insert(parent.to_string());
                self.entry(parent, S_IFDIR | 0o755, 2, b"")?;
            }
            end += pos + 1;
        }
        Ok(())
    }

    fn entry(&mut self, name: &str, mode: u32, nlink: u32, data: &[u8]) -> io::Result<()> {
        let size = u32::try_from(data.len()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{name}: file too large for cpio"),
            )
        })?;
        let ino = self.next_ino;
        self.next_ino += 1;
        self.header(name, ino, mode, nlink, size)?;
        self.out.write_all(data)?;
        self.out.write_all(&[0u8; 3][..pad4(data.len())])?;
        self.entries += 1;
        Ok(())
    }

    fn header(&mut self, name: &str, ino: u32, mode: u32, nlink: u32, size: u32) -> io::Result<()> {
        let namesize = name.len() + 1;
        let fields = [
            ino,
            mode,
            0,
            0,
            nlink,
            0,
            size,
            0,
            0,
            0,
            0,
            namesize as u32,
            0,
        ];
        let mut h = String::with_capacity(110);
        h.push_str(MAGIC);
        for f in fields {
            h.push_str(&format!("{f:08x}"));
        }
        debug_assert_eq!(h.len(), 110);
        self.out.write_all(h.as_bytes())?;
        self.out.write_all(name.as_bytes())?;
        self.out.write_all(&[0u8; 4][..1 + pad4(110 + namesize)])?;
        Ok(())
    }
}

/// Bytes needed to pad `len` up to a multiple of 4.
fn pad4(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// `/etc/x` -> `etc/x`; refuses empty components, `.` and `..`, and NULs.
fn rel(path: &str) -> io::Result<&str> {
    let name = path.trim_start_matches('/').trim_end_matches('/');
    let bad = name.contains('\0')
        || (!name.is_empty()
            && name
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == ".."));
    if bad {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("bad archive path '{path}'"),
        ));
    }
    Ok(name)
}

fn non_root(path: &str) -> io::Result<&str> {
    let name = rel(path)?;
    if name.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the archive root cannot be a file",
        ));
    }
    Ok(name)
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// One parsed entry: (name, mode, nlink, data).
    pub type Entry = (String, u32, u32, Vec<u8>);

    /// A strict reader used to check the writer (and by other tests).
    pub fn parse(mut buf: &[u8]) -> Vec<Entry> {
        let total = buf.len();
        let mut out = Vec::new();
        loop {
            let offset = total - buf.len();
            assert_eq!(offset % 4, 0, "entry not 4-aligned");
            assert_eq!(&buf[..6], MAGIC.as_bytes());
            let field = |i: usize| {
                let s = std::str::from_utf8(&buf[6 + 8 * i..14 + 8 * i]).unwrap();
                assert!(s.bytes().all(|b| b.is_ascii_hexdigit()), "field {s:?}");
                u32::from_str_radix(s, 16).unwrap()
            };
            let (mode, nlink, size, namesize) =
                (field(1), field(4), field(6) as usize, field(11) as usize);
            let name_end = 110 + namesize;
            assert_eq!(buf[name_end - 1], 0, "name not NUL-terminated");
            let name = String::from_utf8(buf[110..name_end - 1].to_vec()).unwrap();
            let data_start = name_end + pad4(name_end);
            assert!(buf[name_end..data_start].iter().all(|&b| b == 0));
            let data = buf[data_start..data_start + size].to_vec();
            let next = data_start + size + pad4(size);
            assert!(buf[data_start + size..next].iter().all(|&b| b == 0));
            buf = &buf[next..];
            if name == TRAILER {
                assert!(buf.is_empty(), "data after trailer");
                return out;
            }
            out.push((name, mode, nlink, data));
        }
    }

    #[test]
    fn empty_archive_is_just_trailer() {
        let bytes = CpioWriter::new(Vec::new()).finish().unwrap();
        let expected = format!(
            "070701{}{}{}0000000b00000000TRAILER!!!\0\0\0\0",
            "0".repeat(32),
            "00000001",
            "0".repeat(48)
        );
        assert_eq!(String::from_utf8(bytes.clone()).unwrap(), expected);
        assert_eq!(bytes.len() % 4, 0);
        assert!(parse(&bytes).is_empty());
    }

    #[test]
    fn header_layout_of_a_file() {
        let mut w = CpioWriter::new(Vec::new());
        w.add_file("/a", 0o644, b"hello").unwrap();
        let bytes = w.finish().unwrap();
        let h = std::str::from_utf8(&bytes[..110]).unwrap();
        assert_eq!(&h[..6], "070701");
        assert_eq!(&h[6..14], "00000001", "ino");
        assert_eq!(&h[14..22], "000081a4", "mode 0100644");
        assert_eq!(&h[54..62], "00000005", "filesize");
        assert_eq!(&h[94..102], "00000002", "namesize incl. NUL");
        // 110 + 2 = 112 is already aligned: data follows directly.
        assert_eq!(&bytes[110..112], b"a\0");
        assert_eq!(&bytes[112..117], b"hello");
        assert_eq!(&bytes[117..120], b"\0\0\0");
        assert_eq!(&bytes[120..126], b"070701");
    }

    #[test]
    fn parents_symlinks_modes() {
        let mut w = CpioWriter::new(Vec::new());
        w.add_file("/etc/umbra/argv", 0o644, b"exit\x000\x00")
            .unwrap();
        w.add_symlink("/bin/sh", "busybox").unwrap();
        w.add_file("/bin/busybox", 0o755, &[0x7f, b'E', b'L', b'F', 1, 2, 3])
            .unwrap();
        w.add_dir("/etc", 0o700).unwrap(); // already present: no second entry
        w.add_dir("/var/empty/", 0o711).unwrap();
        assert_eq!(w.entries(), 8);
        let e = parse(&w.finish().unwrap());
        let summary: Vec<(&str, u32, u32)> =
            e.iter().map(|(n, m, l, _)| (n.as_str(), *m, *l)).collect();
        assert_eq!(
            summary,
            vec![
                ("etc", 0o040755, 2),
                ("etc/umbra", 0o040755, 2),
                ("etc/umbra/argv", 0o100644, 1),
                ("bin", 0o040755, 2),
                ("bin/sh", 0o120777, 1),
                ("bin/busybox", 0o100755, 1),
                ("var", 0o040755, 2),
                ("var/empty", 0o040711, 2),
            ]
        );
        assert_eq!(e[2].3, b"exit\x000\x00");
        assert_eq!(e[4].3, b"busybox");
    }

    #[test]
    fn name_padding_for_every_length() {
        for len in 1..=9 {
            let name = "n".repeat(len);
            let data = vec![b'x'; len];
            let mut w = CpioWriter::new(Vec::new());
            w.add_file(&name, 0o600, &data).unwrap();
            let e = parse(&w.finish().unwrap());
            assert_eq!(e, vec![(name, 0o100600, 1, data)]);
        }
    }

    #[test]
    fn bad_paths_refused() {
        let mut w = CpioWriter::new(Vec::new());
        assert!(w.add_file("/", 0o644, b"").is_err());
        assert!(w.add_file("/a/../b", 0o644, b"").is_err());
        assert!(w.add_file("/a//b", 0o644, b"").is_err());
        assert!(w.add_file("/a\0b", 0o644, b"").is_err());
    }

    /// Cross-check with GNU cpio when it is installed (scripts/setup.sh installs it).
    #[test]
    fn gnu_cpio_extracts_it() {
        use std::os::unix::fs::PermissionsExt;
        let Ok(_) = std::process::Command::new("cpio").arg("--version").output() else {
            eprintln!("cpio not installed; skipping");
            return;
        };
        let dir = crate::tempdir::TempDir::new("cpio-test").unwrap();
        let mut w = CpioWriter::new(Vec::new());
        w.add_file("/etc/umbra/argv", 0o644, b"echo\0hi\0").unwrap();
        w.add_file("/bin/tool", 0o755, b"#!/bin/sh\n").unwrap();
        w.add_symlink("/bin/link", "tool").unwrap();
        let bytes = w.finish().unwrap();
        let mut child = std::process::Command::new("cpio")
            .args(["-i", "-d", "--quiet", "--no-absolute-filenames"])
            .current_dir(dir.path())
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&bytes).unwrap();
        assert!(child.wait().unwrap().success());
        let p = dir.path();
        assert_eq!(
            std::fs::read(p.join("etc/umbra/argv")).unwrap(),
            b"echo\0hi\0"
        );
        let mode = std::fs::metadata(p.join("bin/tool"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            std::fs::read_link(p.join("bin/link")).unwrap(),
            std::path::Path::new("tool")
        );
    }
}
