//! `/dev`: the memory character devices (null, zero, full, random,
//! urandom) and a devtmpfs-like ramfs holding their nodes plus the
//! console/tty nodes whose driver arrives later.
//!
//! Owns: the drivers of 1:3 null, 1:5 zero, 1:7 full, 1:8 random and
//! 1:9 urandom, the entropy source they read ([`set_entropy_source`], set
//! by the kernel; tests inject one), and the node list with Linux's
//! numbers and modes, plus the nodes drivers register ([`register_node`]). `/dev/tty` (5:0), `/dev/console` (5:1) and
//! `/dev/ttyS0` (4:64) are nodes only: opening them gives `ENXIO` until
//! the tty driver calls [`super::device::register_char_device`] for their
//! numbers.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::device::{register_char_device, Device};
use super::inode::{Inode, NewInode};
use super::ramfs::{RamFs, TMPFS_MAGIC};
use super::types::{DeviceId, InodeType};
use crate::error::Result;
use crate::return_errno_with_message;
use crate::sync::RwLock;

pub const NULL: DeviceId = DeviceId::new(1, 3);
pub const ZERO: DeviceId = DeviceId::new(1, 5);
pub const FULL: DeviceId = DeviceId::new(1, 7);
pub const RANDOM: DeviceId = DeviceId::new(1, 8);
pub const URANDOM: DeviceId = DeviceId::new(1, 9);
pub const TTY: DeviceId = DeviceId::new(5, 0);
pub const CONSOLE: DeviceId = DeviceId::new(5, 1);
pub const TTY_S0: DeviceId = DeviceId::new(4, 64);

/// Group ids of Debian's `tty` and `dialout` groups (device node owners).
const GID_TTY: u32 = 5;
const GID_DIALOUT: u32 = 20;

/// Fills a buffer with random bytes.
pub type EntropySource = fn(&mut [u8]);

static ENTROPY: RwLock<Option<EntropySource>> = RwLock::new(None);

/// Set the source `/dev/random` and `/dev/urandom` read (it must fill the
/// whole buffer with cryptographically strong bytes).
pub fn set_entropy_source(source: EntropySource) {
    *ENTROPY.write() = Some(source);
}

/// Fill `buf` from the entropy source (`EIO` when none is set: never
/// silently zeros).
pub fn fill_random(buf: &mut [u8]) -> Result<()> {
    match *ENTROPY.read() {
        Some(source) => {
            source(buf);
            Ok(())
        }
        None => return_errno_with_message!(EIO, "no entropy source set"),
    }
}

/// `/dev/null`: reads end at once, writes vanish.
pub struct Null;

impl Device for Null {
    fn read(&self, _: u64, _: &mut [u8], _: bool) -> Result<usize> {
        Ok(0)
    }
    fn write(&self, _: u64, buf: &[u8], _: bool) -> Result<usize> {
        Ok(buf.len())
    }
}

/// `/dev/zero`: reads give zeros, writes vanish.
pub struct Zero;

impl Device for Zero {
    fn read(&self, _: u64, buf: &mut [u8], _: bool) -> Result<usize> {
        buf.fill(0);
        Ok(buf.len())
    }
    fn write(&self, _: u64, buf: &[u8], _: bool) -> Result<usize> {
        Ok(buf.len())
    }
}

/// `/dev/full`: reads give zeros, writes fail with `ENOSPC`.
pub struct Full;

impl Device for Full {
    fn read(&self, _: u64, buf: &mut [u8], _: bool) -> Result<usize> {
        buf.fill(0);
        Ok(buf.len())
    }
    fn write(&self, _: u64, buf: &[u8], _: bool) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        return_errno_with_message!(ENOSPC, "/dev/full")
    }
}

/// `/dev/random` and `/dev/urandom` (the same since Linux 5.6): reads from
/// the entropy source; writes are accepted (and, having no pool to mix
/// into, ignored).
pub struct Random;

impl Device for Random {
    fn read(&self, _: u64, buf: &mut [u8], _: bool) -> Result<usize> {
        fill_random(buf)?;
        Ok(buf.len())
    }
    fn write(&self, _: u64, buf: &[u8], _: bool) -> Result<usize> {
        Ok(buf.len())
    }
}

/// Register the memory devices' drivers (idempotent).
pub fn register_memory_devices() {
    register_char_device(NULL, Arc::new(Null));
    register_char_device(ZERO, Arc::new(Zero));
    register_char_device(FULL, Arc::new(Full));
    register_char_device(RANDOM, Arc::new(Random));
    register_char_device(URANDOM, Arc::new(Random));
}

/// Nodes of a fresh `/dev`: name, number, permission bits, group.
pub const NODES: [(&str, DeviceId, u32, u32); 8] = [
    ("null", NULL, 0o666, 0),
    ("zero", ZERO, 0o666, 0),
    ("full", FULL, 0o666, 0),
    ("random", RANDOM, 0o666, 0),
    ("urandom", URANDOM, 0o666, 0),
    ("tty", TTY, 0o666, GID_TTY),
    ("console", CONSOLE, 0o600, 0),
    ("ttyS0", TTY_S0, 0o660, GID_DIALOUT),
];

/// Nodes drivers add at boot (misc devices such as `/dev/tdx_guest`):
/// name, number, permission bits, group; see [`register_node`].
static DRIVER_NODES: RwLock<Vec<(&'static str, DeviceId, u32, u32)>> = RwLock::new(Vec::new());

/// Give every devfs created from now on a node `name` for `id` (what
/// devtmpfs does when a driver registers a device). Drivers call it at
/// boot, before the boot tree mounts `/dev`.
pub fn register_node(name: &'static str, id: DeviceId, perm: u32, gid: u32) {
    let mut nodes = DRIVER_NODES.write();
    nodes.retain(|(existing, ..)| *existing != name);
    nodes.push((name, id, perm, gid));
}

/// Block device nodes drivers add at boot (`/dev/vda`): name, number,
/// permission bits, group; see [`register_block_node`].
static BLOCK_NODES: RwLock<Vec<(alloc::string::String, DeviceId, u32, u32)>> = RwLock::new(Vec::new());

/// Give every devfs created from now on a block device node `name`.
pub fn register_block_node(name: &str, id: DeviceId, perm: u32, gid: u32) {
    let mut nodes = BLOCK_NODES.write();
    nodes.retain(|(existing, ..)| existing != name);
    nodes.push((name.into(), id, perm, gid));
}

/// Symlinks of a fresh `/dev` (they resolve once procfs exists).
pub const LINKS: [(&str, &str); 4] =
    [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")];

/// A devtmpfs-like filesystem with the nodes, links, and empty `pts`
/// and `shm` (1777) directories. Registers the memory devices. Mount it
/// at `/dev`.
pub fn new_devfs() -> Result<Arc<RamFs>> {
    register_memory_devices();
    let fs = RamFs::build("devtmpfs", TMPFS_MAGIC, None, 0o755);
    let root = fs.root_inode();
    let driver_nodes = DRIVER_NODES.read().clone();
    for (name, rdev, perm, gid) in NODES.into_iter().chain(driver_nodes) {
        root.create(name.as_bytes(), InodeType::CharDevice, NewInode { perm, uid: 0, gid, rdev })?;
    }
    for (name, rdev, perm, gid) in BLOCK_NODES.read().iter() {
        root.create(name.as_bytes(), InodeType::BlockDevice, NewInode { perm: *perm, uid: 0, gid: *gid, rdev: *rdev })?;
    }
    for (name, target) in LINKS {
        root.symlink(name.as_bytes(), target.as_bytes(), NewInode { perm: 0o777, uid: 0, gid: 0, rdev: DeviceId::NONE })?;
    }
    root.mkdir(b"pts", NewInode { perm: 0o755, uid: 0, gid: 0, rdev: DeviceId::NONE })?;
    root.mkdir(b"shm", NewInode { perm: 0o1777, uid: 0, gid: 0, rdev: DeviceId::NONE })?;
    Ok(fs)
}
