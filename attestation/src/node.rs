//! Small pieces every pseudo-file here shares: inode numbers and the
//! metadata of a node that has no storage of its own.
//!
//! Owns: the inode-number counter. Must never: hand out a number twice.

use core::sync::atomic::{AtomicU64, Ordering};

use services::fs::clock::Timespec;
use services::fs::types::{DeviceId, InodeType, Metadata};

/// A fresh inode number (unique across the attestation filesystems).
pub fn next_ino() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0x4154_0000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Metadata of a root-owned pseudo node, timestamps `time`.
pub fn metadata(dev: DeviceId, ino: u64, kind: InodeType, perm: u32, size: u64, time: Timespec) -> Metadata {
    Metadata {
        dev,
        ino,
        kind,
        perm,
        nlink: if kind.is_dir() { 2 } else { 1 },
        uid: 0,
        gid: 0,
        rdev: DeviceId::NONE,
        size,
        blksize: 4096,
        blocks: 0,
        atime: time,
        mtime: time,
        ctime: time,
        btime: time,
    }
}

/// The timestamps of nodes that never change: when the first was asked
/// for (about boot).
pub fn time() -> Timespec {
    static TIME: spin::Once<Timespec> = spin::Once::new();
    *TIME.call_once(services::fs::now)
}
