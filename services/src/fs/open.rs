//! `open`/`openat`: from flags and a path to an [`OpenFile`].
//!
//! Owns: Linux's open rules — `O_CREAT` (creating at the target of a
//! dangling symlink too), `O_EXCL` (`EEXIST`, final symlink not
//! followed), `O_NOFOLLOW` (`ELOOP`), `O_DIRECTORY` (`ENOTDIR`),
//! `O_CREAT|O_DIRECTORY` (`EINVAL`), `O_TRUNC`, `O_PATH`, `EISDIR` for
//! writing or creating a directory, permission checks (none on a file
//! this open created), `EROFS`, and binding device nodes to their driver
//! (`ENXIO` without one) and FIFOs to their pipe ([`crate::pipe`]).
//! `O_TMPFILE` is not supported (`EOPNOTSUPP`).

use alloc::sync::Arc;

use super::context::FsContext;
use super::flags::*;
use super::namespace::{check_writable_mount, may_create, new_inode};
use super::open_file::OpenFile;
use super::path::Path;
use super::perm::{check_access, Access, Credentials};
use super::types::{DeviceId, InodeType};
use super::walk::{LastKind, Walked};
use crate::error::{Errno, Result};
use crate::return_errno_with_message;

impl FsContext {
    /// `openat(dirfd, path, flags, mode)`: `at` is the dirfd's path
    /// (`None` for `AT_FDCWD`), `mode` already umasked. The caller puts
    /// the file in its fd table with close-on-exec = `flags & O_CLOEXEC`.
    pub fn open(&self, at: Option<&Path>, path: &[u8], flags: u32, mode: u32, creds: &Credentials) -> Result<Arc<OpenFile>> {
        if flags & O_TMPFILE_BIT != 0 {
            return_errno_with_message!(EOPNOTSUPP, "O_TMPFILE is not supported");
        }
        let path_only = flags & O_PATH != 0;
        let create = !path_only && flags & O_CREAT != 0;
        let exclusive = create && flags & O_EXCL != 0;
        if create && flags & O_DIRECTORY != 0 {
            return_errno_with_message!(EINVAL, "O_CREAT with O_DIRECTORY");
        }
        let follow = flags & O_NOFOLLOW == 0 && !exclusive;
        let mut walker = self.walker(creds);
        let (dir, last) = walker.walk_parent(self.start(at), path)?;
        if create {
            if let LastKind::Normal(_) = last.kind {
                if last.trailing_slash {
                    return_errno_with_message!(EISDIR, "O_CREAT with a trailing slash");
                }
            }
        }
        let walked = walker.walk_last(dir, last, follow)?;
        let (target, created) = match walked {
            Walked::Found(target) => {
                if exclusive {
                    return_errno_with_message!(EEXIST, "O_CREAT|O_EXCL on an existing name");
                }
                (target, false)
            }
            Walked::Missing { parent, name, trailing_slash } => {
                if !create {
                    return_errno_with_message!(ENOENT, "no such file or directory");
                }
                if trailing_slash {
                    return_errno_with_message!(EISDIR, "O_CREAT through a symlink with a trailing slash");
                }
                check_writable_mount(&parent)?;
                may_create(&parent, creds)?;
                let init = new_inode(&parent, creds, InodeType::File, mode & 0o7777, DeviceId::NONE);
                match parent.dentry().create_child(&name, InodeType::File, init) {
                    Ok(dentry) => (parent.child(dentry), true),
                    // Another open created it since the walk: open that
                    // one, as Linux does without O_EXCL.
                    Err(error) if error.errno() == Errno::EEXIST && !exclusive => {
                        (parent.child(parent.dentry().lookup_child(&name)?), false)
                    }
                    Err(error) => return Err(error),
                }
            }
        };
        open_path(target, flags, created, creds)
    }
}

/// Open an already resolved location (the second half of `open`; also
/// for reopening, e.g. `/proc/self/fd/N` later).
pub fn open_path(target: Path, flags: u32, created: bool, creds: &Credentials) -> Result<Arc<OpenFile>> {
    let kind = target.kind();
    let path_only = flags & O_PATH != 0;
    if kind == InodeType::Symlink && !path_only {
        return_errno_with_message!(ELOOP, "O_NOFOLLOW on a symlink");
    }
    if flags & O_DIRECTORY != 0 && kind != InodeType::Dir {
        return_errno_with_message!(ENOTDIR, "O_DIRECTORY on a non-directory");
    }
    if path_only {
        return Ok(OpenFile::new(target, flags, None));
    }
    if flags & O_CREAT != 0 && kind == InodeType::Dir {
        return_errno_with_message!(EISDIR, "O_CREAT on a directory");
    }
    let mut access = match flags & O_ACCMODE {
        O_RDONLY => Access::READ,
        O_WRONLY => Access::WRITE,
        _ => Access::READ.union(Access::WRITE),
    };
    if flags & O_TRUNC != 0 {
        access = access.union(Access::WRITE);
    }
    let writes = access.contains(Access::WRITE);
    if kind == InodeType::Dir && writes {
        return_errno_with_message!(EISDIR, "directory opened for writing");
    }
    if !created {
        check_access(&target.inode().metadata(), creds, access)?;
    }
    if writes && matches!(kind, InodeType::File | InodeType::Dir) {
        check_writable_mount(&target)?;
    }
    let device = match kind {
        InodeType::CharDevice => {
            let Some(device) = target.inode().device() else {
                return_errno_with_message!(ENXIO, "no driver for this character device");
            };
            device.open(flags)?;
            Some(device)
        }
        InodeType::BlockDevice => {
            let Some(device) = target.inode().device() else {
                return_errno_with_message!(ENXIO, "no driver for this block device");
            };
            device.open(flags)?;
            Some(device)
        }
        #[cfg(target_os = "none")]
        InodeType::Fifo => Some(crate::pipe::open_fifo(&target, flags)?),
        // Pipes need the kernel's scheduler: not in host unit tests.
        #[cfg(not(target_os = "none"))]
        InodeType::Fifo => return_errno_with_message!(ENXIO, "FIFOs need the kernel's pipes"),
        InodeType::Socket => return_errno_with_message!(ENXIO, "open of a socket"),
        InodeType::File => target.inode().open_file(flags)?,
        _ => None,
    };
    if flags & O_TRUNC != 0 && kind == InodeType::File && !created {
        target.inode().resize(0)?;
    }
    Ok(OpenFile::new(target, flags, device))
}
