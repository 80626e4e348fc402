//! Filesystem types by name, for `mount(2)`: "tmpfs" (options `size=`
//! with a k/m/g suffix, `mode=` in octal, `nr_inodes=` accepted and
//! ignored), "ramfs" (`mode=`; other options ignored, as Linux's ramfs
//! does), "devtmpfs", "proc" and "sysfs" (options ignored). Unknown types give `ENODEV`; unknown or bad
//! tmpfs options `EINVAL` (percentages of RAM are not supported yet).
//!
//! Types other crates register ([`register_filesystem_type`], e.g.
//! "configfs") are looked up after the built-in ones.
//!
//! Owns: the name -> constructor table and option parsing.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::devfs::new_devfs;
use super::inode::FileSystem;
use super::procfs::ProcFs;
use super::ramfs::data::PAGE_SIZE;
use super::ramfs::{RamFs, RAMFS_MAGIC, TMPFS_MAGIC};
use crate::error::Result;
use crate::return_errno_with_message;
use crate::sync::RwLock;

fn parse_size(value: &[u8]) -> Option<u64> {
    let (digits, multiplier) = match value.last()? {
        b'k' | b'K' => (&value[..value.len() - 1], 1u64 << 10),
        b'm' | b'M' => (&value[..value.len() - 1], 1 << 20),
        b'g' | b'G' => (&value[..value.len() - 1], 1 << 30),
        _ => (value, 1),
    };
    parse_number(digits, 10)?.checked_mul(multiplier)
}

fn parse_number(digits: &[u8], radix: u32) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |value, &digit| {
        let digit = char::from(digit).to_digit(radix)?;
        value.checked_mul(u64::from(radix))?.checked_add(u64::from(digit))
    })
}

/// Builds a filesystem of a type a driver registered, from the mount
/// options.
pub type FsConstructor = fn(options: &[u8]) -> Result<Arc<dyn FileSystem>>;

/// Filesystem types registered by other crates (configfs from the
/// attestation layer), by name.
static DRIVER_TYPES: RwLock<Vec<(&'static str, FsConstructor)>> = RwLock::new(Vec::new());

/// Make `mount -t name` build filesystems with `constructor` (replaces an
/// earlier registration of the name; the built-in names cannot be taken).
pub fn register_filesystem_type(name: &'static str, constructor: FsConstructor) {
    let mut types = DRIVER_TYPES.write();
    types.retain(|(existing, _)| *existing != name);
    types.push((name, constructor));
}

/// The names of the registered (non built-in) types, in registration order.
pub fn registered_type_names() -> Vec<&'static str> {
    DRIVER_TYPES.read().iter().map(|(name, _)| *name).collect()
}

/// A new filesystem instance of type `fstype` with mount `options` (the
/// `data` string of `mount(2)`, comma-separated).
pub fn new_filesystem(fstype: &[u8], options: &[u8]) -> Result<Arc<dyn FileSystem>> {
    let strict = match fstype {
        b"tmpfs" => true,
        b"ramfs" => false,
        b"devtmpfs" => return Ok(new_devfs()?),
        b"proc" => return Ok(ProcFs::new_proc()),
        b"sysfs" => return Ok(ProcFs::new_sysfs()),
        _ => {
            let constructor = DRIVER_TYPES.read().iter().find(|(name, _)| name.as_bytes() == fstype).map(|(_, c)| *c);
            match constructor {
                Some(constructor) => return constructor(options),
                None => return_errno_with_message!(ENODEV, "unknown filesystem type"),
            }
        }
    };
    let mut size: Option<u64> = None;
    let mut mode = if strict { 0o1777 } else { 0o755 };
    for option in options.split(|&b| b == b',').filter(|option| !option.is_empty()) {
        let (key, value) = match option.iter().position(|&b| b == b'=') {
            Some(at) => (&option[..at], Some(&option[at + 1..])),
            None => (option, None),
        };
        match (key, value) {
            (b"mode", Some(value)) => match parse_number(value, 8) {
                Some(bits) if bits <= 0o7777 => mode = bits as u32,
                _ => return_errno_with_message!(EINVAL, "bad mode= option"),
            },
            (b"size", Some(value)) if strict => match parse_size(value) {
                Some(bytes) => size = Some(bytes),
                None => return_errno_with_message!(EINVAL, "bad size= option"),
            },
            (b"nr_inodes", Some(_)) if strict => {}
            _ if strict => return_errno_with_message!(EINVAL, "unknown tmpfs option"),
            _ => {}
        }
    }
    let fs = if strict {
        RamFs::build("tmpfs", TMPFS_MAGIC, size.map(|bytes| bytes.div_ceil(PAGE_SIZE as u64)), mode)
    } else {
        RamFs::build("ramfs", RAMFS_MAGIC, None, mode)
    };
    Ok(fs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Errno;

    #[test]
    fn types_and_options() {
        let tmp = new_filesystem(b"tmpfs", b"size=1m,mode=755,nr_inodes=100").unwrap();
        assert_eq!(tmp.name(), "tmpfs");
        assert_eq!(tmp.statfs().blocks, 256);
        assert_eq!(tmp.root().metadata().perm, 0o755);
        assert_eq!(new_filesystem(b"tmpfs", b"").unwrap().root().metadata().perm, 0o1777);
        assert_eq!(new_filesystem(b"tmpfs", b"size=10").unwrap().statfs().blocks, 1);
        let ram = new_filesystem(b"ramfs", b"mode=700,whatever").unwrap();
        assert_eq!((ram.name(), ram.root().metadata().perm), ("ramfs", 0o700));
        assert_eq!(new_filesystem(b"devtmpfs", b"").unwrap().name(), "devtmpfs");
        assert_eq!(new_filesystem(b"proc", b"").unwrap().name(), "proc");
        assert_eq!(new_filesystem(b"sysfs", b"").unwrap().name(), "sysfs");
        let errno = |result: Result<Arc<dyn FileSystem>>| result.err().map(|e| e.errno());
        assert_eq!(errno(new_filesystem(b"ext4", b"")), Some(Errno::ENODEV));
        assert_eq!(errno(new_filesystem(b"tmpfs", b"size=50%")), Some(Errno::EINVAL));
        assert_eq!(errno(new_filesystem(b"tmpfs", b"size=")), Some(Errno::EINVAL));
        assert_eq!(errno(new_filesystem(b"tmpfs", b"mode=999")), Some(Errno::EINVAL));
        assert_eq!(errno(new_filesystem(b"tmpfs", b"bogus")), Some(Errno::EINVAL));
        assert_eq!(errno(new_filesystem(b"tmpfs", b"size=99999999999999999999g")), Some(Errno::EINVAL));
    }
}
