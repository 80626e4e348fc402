//! `getdents64` records: `struct linux_dirent64` bytes exactly as Linux
//! lays them out.
//!
//! Owns: the record encoder ([`Dirent64Writer`], a [`DirentSink`]).
//! Layout: `d_ino` u64 @0, `d_off` i64 @8 (position of the next entry),
//! `d_reclen` u16 @16, `d_type` u8 @18, `d_name` @19 NUL-terminated, the
//! record padded with zeros to a multiple of 8 bytes.

use super::inode::DirentSink;
use super::types::InodeType;

const NAME_OFFSET: usize = 19;

/// Size of the record for a name of `name_len` bytes.
pub const fn dirent64_len(name_len: usize) -> usize {
    (NAME_OFFSET + name_len + 1 + 7) & !7
}

/// Writes records into a user buffer until it is full.
pub struct Dirent64Writer<'a> {
    buf: &'a mut [u8],
    written: usize,
    /// Position after the last record written.
    next_offset: Option<u64>,
}

impl<'a> Dirent64Writer<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Dirent64Writer { buf, written: 0, next_offset: None }
    }

    /// Bytes of records written.
    pub fn written(&self) -> usize {
        self.written
    }

    /// The directory position after the last record taken (`None`:
    /// nothing taken).
    pub fn next_offset(&self) -> Option<u64> {
        self.next_offset
    }
}

impl DirentSink for Dirent64Writer<'_> {
    fn push(&mut self, name: &[u8], ino: u64, kind: InodeType, next_offset: u64) -> bool {
        let len = dirent64_len(name.len());
        let Some(record) = self.buf.get_mut(self.written..self.written + len) else {
            return false;
        };
        record[0..8].copy_from_slice(&ino.to_ne_bytes());
        record[8..16].copy_from_slice(&(next_offset as i64).to_ne_bytes());
        record[16..18].copy_from_slice(&(len as u16).to_ne_bytes());
        record[18] = kind.dirent_type();
        record[NAME_OFFSET..NAME_OFFSET + name.len()].copy_from_slice(name);
        record[NAME_OFFSET + name.len()..].fill(0);
        self.written += len;
        self.next_offset = Some(next_offset);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_layout_is_linux_dirent64() {
        let mut buf = [0xaau8; 64];
        let mut writer = Dirent64Writer::new(&mut buf);
        assert!(writer.push(b"hello", 42, InodeType::File, 7));
        assert_eq!(writer.written(), 32); // 19 + 5 + 1 = 25 -> 32
        assert!(writer.push(b"sub", 9, InodeType::Dir, 8));
        assert_eq!(writer.written(), 56); // 19 + 3 + 1 = 23 -> 24
        assert!(!writer.push(b"x", 1, InodeType::File, 9), "8 bytes left: no room");
        assert_eq!(writer.next_offset(), Some(8));
        assert_eq!(u64::from_ne_bytes(buf[0..8].try_into().unwrap()), 42);
        assert_eq!(i64::from_ne_bytes(buf[8..16].try_into().unwrap()), 7);
        assert_eq!(u16::from_ne_bytes(buf[16..18].try_into().unwrap()), 32);
        assert_eq!(buf[18], 8); // DT_REG
        assert_eq!(&buf[19..25], b"hello\0");
        assert!(buf[25..32].iter().all(|&b| b == 0), "padding is zeroed");
        assert_eq!(buf[32 + 18], 4); // DT_DIR
        assert_eq!(&buf[32 + 19..32 + 23], b"sub\0");
        assert_eq!(buf[56], 0xaa, "nothing written past the records");
    }

    #[test]
    fn record_sizes() {
        assert_eq!(dirent64_len(1), 24);
        assert_eq!(dirent64_len(4), 24);
        assert_eq!(dirent64_len(5), 32);
        assert_eq!(dirent64_len(255), 280);
    }
}
