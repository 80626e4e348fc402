//! The kernel log buffer: every `log` record, kept in a fixed ring as
//! Linux's syslog(2) hands its records out: `<level>[seconds.micros] text\n`
//! (level 3 error, 4 warning, 6 info, 7 debug), oldest dropped first. The
//! services layer reads it for syslog(2) (busybox `dmesg`).
//!
//! Writers never wait: a record that finds the ring busy (a fault or
//! interrupt logging on a CPU that holds it) is left out of the ring; the
//! console still shows it.

use alloc::vec::Vec;
use core::fmt::{self, Write};

use crate::sync::SpinLock;

/// Bytes kept (Linux's default `CONFIG_LOG_BUF_SHIFT` of 17).
pub const CAPACITY: usize = 1 << 17;

struct Ring {
    bytes: [u8; CAPACITY],
    /// Bytes ever written; the next goes to `written % CAPACITY`.
    written: u64,
    /// Position (in `written` terms) up to which a syslog READ consumed.
    read: u64,
}

static RING: SpinLock<Ring> = SpinLock::new(Ring { bytes: [0; CAPACITY], written: 0, read: 0 });

impl Ring {
    fn oldest(&self) -> u64 {
        self.written.saturating_sub(CAPACITY as u64)
    }

    fn push(&mut self, data: &[u8]) {
        for &byte in data {
            let at = (self.written % CAPACITY as u64) as usize;
            if let Some(slot) = self.bytes.get_mut(at) {
                *slot = byte;
            }
            self.written += 1;
        }
    }

    /// Bytes `from..self.written`, oldest first, starting at a record
    /// boundary (a record the ring overwrote in part is left out).
    fn copy_from(&self, from: u64, out: &mut Vec<u8>) {
        let from = from.max(self.oldest());
        let wrapped_into_record = from > 0 && from == self.oldest();
        let start = out.len();
        for position in from..self.written {
            if let Some(&byte) = self.bytes.get((position % CAPACITY as u64) as usize) {
                out.push(byte);
            }
        }
        if wrapped_into_record {
            match out[start..].iter().position(|&b| b == b'\n') {
                Some(newline) => drop(out.drain(start..start + newline + 1)),
                None => out.truncate(start),
            }
        }
    }
}

/// `fmt::Write` into the ring for one record.
struct RecordWriter<'a>(&'a mut Ring);

impl Write for RecordWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.push(s.as_bytes());
        Ok(())
    }
}

/// Linux's console level of a `log` level.
fn syslog_level(level: log::Level) -> u8 {
    match level {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    }
}

/// Append one record (called by the logger).
pub fn record(level: log::Level, args: fmt::Arguments) {
    let ns = crate::arch::tsc::monotonic_ns();
    let Some(mut ring) = RING.try_lock() else {
        return;
    };
    let mut writer = RecordWriter(&mut ring);
    let _ = writeln!(writer, "<{}>[{:5}.{:06}] {}", syslog_level(level), ns / 1_000_000_000, ns / 1_000 % 1_000_000, args);
}

/// Whole records, oldest first, at most `max` bytes (the newest ones when
/// they do not all fit); syslog's READ_ALL.
pub fn read_all(max: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(CAPACITY);
    let ring = RING.lock();
    ring.copy_from(0, &mut out);
    drop(ring);
    keep_newest(out, max)
}

/// Unread records (consumed), at most `max` bytes of whole records;
/// syslog's READ. Empty when nothing new was logged.
pub fn read_unread(max: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(CAPACITY);
    let mut ring = RING.lock();
    let from = ring.read;
    ring.copy_from(from, &mut out);
    // Hand out whole records from the oldest; what does not fit stays.
    let mut taken = 0;
    for (i, &byte) in out.iter().enumerate() {
        if i >= max {
            break;
        }
        if byte == b'\n' {
            taken = i + 1;
        }
    }
    let skipped = (ring.written - from.max(ring.oldest())) - out.len() as u64;
    ring.read = from.max(ring.oldest()) + skipped + taken as u64;
    drop(ring);
    out.truncate(taken);
    out
}

/// Bytes a READ would return now (syslog's SIZE_UNREAD).
pub fn unread() -> usize {
    let ring = RING.lock();
    (ring.written - ring.read.max(ring.oldest())) as usize
}

/// Forget everything (syslog's CLEAR).
pub fn clear() {
    let mut ring = RING.lock();
    ring.written = 0;
    ring.read = 0;
}

/// Drop whole records from the front until at most `max` bytes remain.
fn keep_newest(mut bytes: Vec<u8>, max: usize) -> Vec<u8> {
    let mut start = 0;
    while bytes.len() - start > max {
        match bytes[start..].iter().position(|&b| b == b'\n') {
            Some(newline) => start += newline + 1,
            None => start = bytes.len(),
        }
    }
    bytes.drain(..start);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_whole_records_fit() {
        let log = b"<6>[ a\n<6>[ bb\n<4>[ c\n".to_vec();
        assert_eq!(keep_newest(log.clone(), 100), log);
        assert_eq!(keep_newest(log.clone(), 15), b"<6>[ bb\n<4>[ c\n".to_vec());
        assert_eq!(keep_newest(log.clone(), 14), b"<4>[ c\n".to_vec());
        assert_eq!(keep_newest(log.clone(), 7), b"<4>[ c\n".to_vec());
        assert_eq!(keep_newest(log, 3), b"".to_vec());
    }
}
