//! A process's view of the file system (Linux `struct fs_struct`): its
//! root and current directory, and path lookups relative to them.
//!
//! Owns: [`FsContext`] — `chdir`/`fchdir`/`chroot`/`getcwd` and the
//! entry point every path-taking syscall uses to turn `(dirfd, path)`
//! into a [`Path`]. The namespace operations (`open`, `mkdir`, `rename`,
//! ...) are further `impl FsContext` blocks in [`super::open`] and
//! [`super::namespace`]. The umask is the caller's: modes arrive masked.

use alloc::vec::Vec;

use super::path::Path;
use super::perm::{check_access, Access, Credentials};
use super::types::InodeType;
use super::walk::{Walked, Walker};
use crate::error::Result;
use crate::return_errno_with_message;

/// Root and working directory of a process. `Clone` for `fork`.
#[derive(Clone, Debug)]
pub struct FsContext {
    root: Path,
    cwd: Path,
}

impl FsContext {
    /// Root and cwd both at `root`.
    pub fn new(root: Path) -> Self {
        FsContext { cwd: root.clone(), root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn cwd(&self) -> &Path {
        &self.cwd
    }

    /// The directory relative paths start from: `at` (a dirfd's path) or
    /// the cwd (`AT_FDCWD`).
    pub fn start<'a>(&'a self, at: Option<&'a Path>) -> &'a Path {
        at.unwrap_or(&self.cwd)
    }

    /// A walker rooted at this context's root.
    pub fn walker<'a>(&'a self, creds: &'a Credentials) -> Walker<'a> {
        Walker::new(&self.root, creds)
    }

    /// Resolve `path` (relative to `at` or the cwd) to an existing
    /// location, following a final symlink if `follow`.
    pub fn lookup(&self, at: Option<&Path>, path: &[u8], follow: bool, creds: &Credentials) -> Result<Path> {
        self.walker(creds).resolve(self.start(at), path, follow)
    }

    /// Resolve `path`, allowing its final name to be missing.
    pub fn lookup_or_missing(&self, at: Option<&Path>, path: &[u8], follow: bool, creds: &Credentials) -> Result<Walked> {
        self.walker(creds).resolve_or_missing(self.start(at), path, follow)
    }

    /// `chdir`/`fchdir` to an already resolved location: `ENOTDIR`, or
    /// `EACCES` without search permission.
    pub fn chdir(&mut self, target: Path, creds: &Credentials) -> Result<()> {
        if target.kind() != InodeType::Dir {
            return_errno_with_message!(ENOTDIR, "chdir to a non-directory");
        }
        check_access(&target.inode().metadata(), creds, Access::EXEC)?;
        self.cwd = target;
        Ok(())
    }

    /// `chroot`: root only (`EPERM`), to a searchable directory. The cwd
    /// stays where it is, as on Linux.
    pub fn chroot(&mut self, target: Path, creds: &Credentials) -> Result<()> {
        if target.kind() != InodeType::Dir {
            return_errno_with_message!(ENOTDIR, "chroot to a non-directory");
        }
        check_access(&target.inode().metadata(), creds, Access::EXEC)?;
        if !creds.is_root() {
            return_errno_with_message!(EPERM, "chroot needs CAP_SYS_CHROOT");
        }
        self.root = target;
        Ok(())
    }

    /// `getcwd` bytes (without NUL): `ENOENT` if the cwd was removed; a
    /// cwd outside the root gets Linux's "(unreachable)" prefix.
    pub fn getcwd(&self) -> Result<Vec<u8>> {
        if self.cwd.dentry().is_deleted() {
            return_errno_with_message!(ENOENT, "current directory was removed");
        }
        let (bytes, reachable) = self.cwd.to_bytes(&self.root);
        if reachable {
            return Ok(bytes);
        }
        let mut prefixed = Vec::from(&b"(unreachable)"[..]);
        prefixed.extend_from_slice(&bytes);
        Ok(prefixed)
    }

    /// The name `/proc/<pid>/fd/N` shows for an open file at `path`:
    /// absolute from this root, " (deleted)" appended when unlinked.
    pub fn display_path(&self, path: &Path) -> Vec<u8> {
        let (mut bytes, _) = path.to_bytes(&self.root);
        if path.dentry().is_deleted() {
            bytes.extend_from_slice(b" (deleted)");
        }
        bytes
    }
}
