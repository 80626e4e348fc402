//! Reader for the initramfs the boot loader passes: a cpio archive in the
//! "newc" format (magic `070701`, or `070702` with checksums), as Linux's
//! init/initramfs.c accepts. Archives may be concatenated and padded with
//! NULs between them, as Linux allows.
//!
//! The bytes come from the host: every header field is parsed strictly and
//! every length checked against the buffer; a malformed archive yields an
//! error, never a panic or an out-of-bounds read.

use core::fmt;

/// File type bits of `mode` (Linux's S_IFMT values).
pub const S_IFMT: u32 = 0o170000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_IFSOCK: u32 = 0o140000;

const HEADER_LEN: usize = 110;
const TRAILER: &[u8] = b"TRAILER!!!";

/// One archive member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// Path without leading "/" or "./" (as stored, minus the NUL).
    pub name: &'a [u8],
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: u32,
    /// File contents, or the target of a symlink.
    pub data: &'a [u8],
    /// Inode number and link count in the archive: members with
    /// `nlink > 1` and the same (`dev`, `ino`) are hard links of one file.
    pub ino: u32,
    pub nlink: u32,
    /// Device the file was archived from (part of the hard-link key).
    pub dev_major: u32,
    pub dev_minor: u32,
    /// Device number of a character or block device node.
    pub rdev_major: u32,
    pub rdev_minor: u32,
}

impl Entry<'_> {
    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }
    pub fn is_file(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & S_IFMT == S_IFLNK
    }
}

/// Why an archive was rejected, with the byte offset of the bad header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    BadMagic { offset: usize },
    BadHexField { offset: usize },
    Truncated { offset: usize },
    BadName { offset: usize },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Error::BadMagic { offset } => write!(f, "no cpio newc magic at offset {offset}"),
            Error::BadHexField { offset } => write!(f, "malformed header field at offset {offset}"),
            Error::Truncated { offset } => write!(f, "member at offset {offset} runs past the end"),
            Error::BadName { offset } => write!(f, "member name at offset {offset} is not NUL-terminated"),
        }
    }
}

/// Iterates over the members of one or more concatenated archives.
pub struct Reader<'a> {
    bytes: &'a [u8],
    offset: usize,
    failed: bool,
}

/// Read `bytes` as a cpio newc archive.
pub fn read(bytes: &[u8]) -> Reader<'_> {
    Reader { bytes, offset: 0, failed: false }
}

fn align4(value: usize) -> Option<usize> {
    value.checked_add(3).map(|v| v & !3)
}

fn hex_field(header: &[u8], index: usize, offset: usize) -> Result<u32, Error> {
    let start = 6 + index * 8;
    let field = header.get(start..start + 8).ok_or(Error::Truncated { offset })?;
    let mut value = 0u32;
    for &digit in field {
        let nibble = match digit {
            b'0'..=b'9' => digit - b'0',
            b'a'..=b'f' => digit - b'a' + 10,
            b'A'..=b'F' => digit - b'A' + 10,
            _ => return Err(Error::BadHexField { offset: offset + start }),
        };
        value = (value << 4) | u32::from(nibble);
    }
    Ok(value)
}

impl<'a> Reader<'a> {
    fn next_entry(&mut self) -> Result<Option<Entry<'a>>, Error> {
        loop {
            // Padding between concatenated archives (Linux skips NULs in
            // 4-byte steps).
            while self.bytes.get(self.offset..self.offset + 4) == Some(&[0, 0, 0, 0]) {
                self.offset += 4;
            }
            if self.offset >= self.bytes.len() {
                return Ok(None);
            }
            let offset = self.offset;
            let header = self.bytes.get(offset..offset + HEADER_LEN).ok_or(Error::Truncated { offset })?;
            if &header[..6] != b"070701" && &header[..6] != b"070702" {
                return Err(Error::BadMagic { offset });
            }
            // All 13 fields must be hex, even those we do not use.
            let mut fields = [0u32; 13];
            for (index, field) in fields.iter_mut().enumerate() {
                *field = hex_field(header, index, offset)?;
            }
            let [ino, mode, uid, gid, nlink, mtime, file_size, dev_major, dev_minor, rdev_major, rdev_minor, name_size, _check] =
                fields;
            let (file_size, name_size) = (file_size as usize, name_size as usize);

            let name_start = offset + HEADER_LEN;
            let name_end = name_start.checked_add(name_size).ok_or(Error::Truncated { offset })?;
            let name_with_nul = self.bytes.get(name_start..name_end).ok_or(Error::Truncated { offset })?;
            let Some((&0, name)) = name_with_nul.split_last() else {
                return Err(Error::BadName { offset });
            };
            let data_start = align4(name_end).ok_or(Error::Truncated { offset })?;
            let data_end = data_start.checked_add(file_size).ok_or(Error::Truncated { offset })?;
            let data = self.bytes.get(data_start..data_end).ok_or(Error::Truncated { offset })?;
            self.offset = align4(data_end).ok_or(Error::Truncated { offset })?;

            if name == TRAILER {
                continue; // another archive may follow
            }
            let name = strip_root(name);
            if name.is_empty() {
                continue; // "." or "/": the root itself
            }
            return Ok(Some(Entry {
                name,
                mode,
                uid,
                gid,
                mtime,
                data,
                ino,
                nlink,
                dev_major,
                dev_minor,
                rdev_major,
                rdev_minor,
            }));
        }
    }
}

/// "./a/b" and "/a/b" both mean "a/b".
fn strip_root(mut name: &[u8]) -> &[u8] {
    loop {
        if let Some(rest) = name.strip_prefix(b"./") {
            name = rest;
        } else if let Some(rest) = name.strip_prefix(b"/") {
            name = rest;
        } else if name == b"." {
            return b"";
        } else {
            return name;
        }
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Entry<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_entry() {
            Ok(entry) => entry.map(Ok),
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    fn member(out: &mut Vec<u8>, name: &str, mode: u32, data: &[u8]) {
        let header = std::format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            1, mode, 0, 0, 1, 0, data.len(), 0, 0, 0, 0, name.len() + 1, 0
        );
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    }

    fn archive(members: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, mode, data) in members {
            member(&mut out, name, *mode, data);
        }
        member(&mut out, "TRAILER!!!", 0, b"");
        out
    }

    #[test]
    fn reads_files_dirs_and_symlinks() {
        let bytes = archive(&[
            (".", S_IFDIR | 0o755, b""),
            ("etc", S_IFDIR | 0o755, b""),
            ("./etc/umbra/argv", S_IFREG | 0o644, b"exit\x003\x00"),
            ("bin/sh", S_IFLNK | 0o777, b"busybox"),
        ]);
        let entries: Vec<_> = read(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].name, b"etc");
        assert!(entries[0].is_dir());
        assert_eq!(entries[1].name, b"etc/umbra/argv");
        assert_eq!(entries[1].data, b"exit\x003\x00");
        assert!(entries[1].is_file());
        assert!(entries[2].is_symlink());
        assert_eq!(entries[2].data, b"busybox");
        assert_eq!((entries[2].ino, entries[2].nlink), (1, 1));
    }

    #[test]
    fn concatenated_archives_with_padding() {
        let mut bytes = archive(&[("a", S_IFREG, b"1")]);
        bytes.extend_from_slice(&[0; 512]);
        bytes.extend_from_slice(&archive(&[("b", S_IFREG, b"22")]));
        let names: Vec<_> = read(&bytes).map(|e| e.unwrap().name.to_vec()).collect();
        assert_eq!(names, [b"a".to_vec(), b"b".to_vec()]);
    }

    #[test]
    fn rejects_bad_magic_and_truncation_without_panicking() {
        assert_eq!(read(b"070707xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx").next(), Some(Err(Error::BadMagic { offset: 0 })));
        let bytes = archive(&[("file", S_IFREG, b"contents")]);
        for cut in 1..bytes.len() - 1 {
            // Every prefix either parses what is complete or reports an error.
            for item in read(&bytes[..cut]) {
                let _ = item;
            }
        }
        let mut huge = archive(&[("f", S_IFREG, b"x")]);
        huge[6 + 6 * 8..6 + 7 * 8].copy_from_slice(b"ffffffff"); // file size 4 GiB
        assert!(matches!(read(&huge).next(), Some(Err(Error::Truncated { offset: 0 }))));
        let mut bad_hex = archive(&[("f", S_IFREG, b"x")]);
        bad_hex[10] = b'z';
        assert!(matches!(read(&bad_hex).next(), Some(Err(Error::BadHexField { .. }))));
    }

    #[test]
    fn name_without_nul_is_rejected() {
        let mut bytes = archive(&[("abc", S_IFREG, b"")]);
        bytes[HEADER_LEN + 3] = b'x';
        assert!(matches!(read(&bytes).next(), Some(Err(Error::BadName { offset: 0 }))));
    }
}
