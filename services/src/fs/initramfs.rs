//! Unpacking the initramfs (cpio newc, read by [`crate::initramfs`]) into
//! a directory, as Linux's init/initramfs.c does.
//!
//! Owns: turning archive members into files, directories (missing
//! parents created `0755`), symlinks, hard links (members with
//! `nlink > 1` and the same dev/ino become links of one inode; data may
//! come with any of them, as GNU cpio puts it on the last), and device,
//! FIFO and socket nodes, each with the member's mode, owner and mtime
//! (directory mtimes are set last, since filling a directory changes it).
//! A member that cannot be created is logged and skipped; a malformed
//! archive stops the unpacking there, keeping what was unpacked.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::attr::{set_times, TimeChange};
use super::clock::Timespec;
use super::context::FsContext;
use super::flags::{O_CREAT, O_TRUNC, O_WRONLY};
use super::path::Path;
use super::perm::Credentials;
use super::types::{InodeType, SetAttr, PATH_MAX, S_IFMT};
use crate::error::{Errno, Result};
use crate::initramfs::{self as cpio, Entry};
use crate::return_errno_with_message;

/// What [`unpack`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UnpackReport {
    /// Members created (or updated).
    pub unpacked: usize,
    /// Members skipped because they could not be created.
    pub skipped: usize,
    /// Set when the archive was malformed and unpacking stopped early.
    pub error: Option<cpio::Error>,
}

/// Hard-link groups: (dev major, dev minor, ino) -> first member's path.
type LinkGroups = BTreeMap<(u32, u32, u32), Vec<u8>>;

/// Unpack `bytes` under `root` (as root; the archive's ownership and
/// modes are applied as recorded).
pub fn unpack(root: &Path, bytes: &[u8]) -> UnpackReport {
    let context = FsContext::new(root.clone());
    let creds = Credentials::root();
    let mut report = UnpackReport::default();
    let mut links = LinkGroups::new();
    let mut dir_times: Vec<(Vec<u8>, u32)> = Vec::new();
    for member in cpio::read(bytes) {
        let entry = match member {
            Ok(entry) => entry,
            Err(error) => {
                log::warn!("initramfs: {}; unpacking stopped there", error);
                report.error = Some(error);
                break;
            }
        };
        match unpack_entry(&context, &creds, &entry, &mut links) {
            Ok(()) => {
                report.unpacked += 1;
                if entry.is_dir() {
                    dir_times.push((entry.name.to_vec(), entry.mtime));
                }
            }
            Err(error) => {
                report.skipped += 1;
                log::warn!("initramfs: skipped {:?}: {}", core::str::from_utf8(entry.name).unwrap_or("<non-UTF-8 name>"), error);
            }
        }
    }
    for (name, mtime) in dir_times {
        if let Ok(path) = context.lookup(None, &name, false, &creds) {
            let _ = set_mtime(&path, mtime);
        }
    }
    report
}

fn set_mtime(path: &Path, mtime: u32) -> Result<()> {
    let time = TimeChange::Set(Timespec::new(i64::from(mtime), 0));
    set_times(path, time, time, &Credentials::root())
}

/// Apply the member's owner and mode bits (all at once, so nothing is
/// cleared by a chown) and its mtime.
fn apply_attributes(path: &Path, entry: &Entry) -> Result<()> {
    path.inode().set_attr(&SetAttr {
        perm: (path.kind() != InodeType::Symlink).then_some(entry.mode & 0o7777),
        uid: Some(entry.uid),
        gid: Some(entry.gid),
        ..SetAttr::default()
    })?;
    set_mtime(path, entry.mtime)
}

/// `mkdir -p` of the member's parent directories.
fn make_parents(context: &FsContext, creds: &Credentials, name: &[u8]) -> Result<()> {
    let Some(slash) = name.iter().rposition(|&b| b == b'/') else {
        return Ok(());
    };
    let mut end = 0;
    while end < slash {
        end = name[end + 1..slash].iter().position(|&b| b == b'/').map_or(slash, |p| end + 1 + p);
        let prefix = &name[..end];
        if prefix.is_empty() {
            continue;
        }
        match context.mkdir(None, prefix, 0o755, creds) {
            Ok(()) => {}
            Err(error) if error.errno() == Errno::EEXIST => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Remove an existing entry of another type (Linux `clean_path`).
fn clear_other_type(context: &FsContext, creds: &Credentials, name: &[u8], mode: u32) -> Result<()> {
    let Ok(existing) = context.lookup(None, name, false, creds) else {
        return Ok(());
    };
    if existing.inode().metadata().mode() & S_IFMT == mode & S_IFMT {
        return Ok(());
    }
    if existing.kind() == InodeType::Dir {
        context.rmdir(None, name, creds)
    } else {
        context.unlink(None, name, creds)
    }
}

fn unpack_entry(context: &FsContext, creds: &Credentials, entry: &Entry, links: &mut LinkGroups) -> Result<()> {
    let name = entry.name;
    make_parents(context, creds, name)?;
    let Some(kind) = InodeType::from_mode(entry.mode) else {
        return_errno_with_message!(EINVAL, "unknown file type");
    };
    if kind != InodeType::Dir {
        clear_other_type(context, creds, name, entry.mode)?;
    }
    match kind {
        InodeType::Dir => {
            match context.mkdir(None, name, entry.mode & 0o7777, creds) {
                Ok(()) => {}
                Err(error) if error.errno() == Errno::EEXIST => {}
                Err(error) => return Err(error),
            }
            let path = context.lookup(None, name, false, creds)?;
            if path.kind() != InodeType::Dir {
                return_errno_with_message!(EEXIST, "a non-directory has this name");
            }
            apply_attributes(&path, entry)
        }
        InodeType::File => unpack_file(context, creds, entry, links),
        InodeType::Symlink => {
            if entry.data.len() >= PATH_MAX {
                return_errno_with_message!(ENAMETOOLONG, "symlink target too long");
            }
            if context.lookup(None, name, false, creds).is_ok() {
                context.unlink(None, name, creds)?;
            }
            context.symlink(entry.data, None, name, creds)?;
            let path = context.lookup(None, name, false, creds)?;
            apply_attributes(&path, entry)
        }
        _ => {
            if context.lookup(None, name, false, creds).is_ok() {
                context.unlink(None, name, creds)?;
            }
            let rdev = super::types::DeviceId::new(entry.rdev_major, entry.rdev_minor).encode();
            context.mknod(None, name, entry.mode, rdev, creds)?;
            let path = context.lookup(None, name, false, creds)?;
            apply_attributes(&path, entry)
        }
    }
}

fn unpack_file(context: &FsContext, creds: &Credentials, entry: &Entry, links: &mut LinkGroups) -> Result<()> {
    let name = entry.name;
    let mut linked = false;
    if entry.nlink > 1 {
        let key = (entry.dev_major, entry.dev_minor, entry.ino);
        match links.get(&key) {
            Some(first) if first.as_slice() != name => {
                if context.lookup(None, name, false, creds).is_ok() {
                    context.unlink(None, name, creds)?;
                }
                context.link(None, first, None, name, false, creds)?;
                linked = true;
            }
            Some(_) => {}
            None => {
                links.insert(key, name.to_vec());
            }
        }
    }
    // A linked member shares the inode: write its data (if any) without
    // truncating what an earlier link brought.
    let flags = if linked { O_WRONLY } else { O_WRONLY | O_CREAT | O_TRUNC };
    let file = context.open(None, name, flags, entry.mode & 0o7777, creds)?;
    let mut written = 0;
    while written < entry.data.len() {
        let count = file.write(&entry.data[written..])?;
        if count == 0 {
            return_errno_with_message!(EIO, "short write while unpacking");
        }
        written += count;
    }
    apply_attributes(file.path(), entry)
}
