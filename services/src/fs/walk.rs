//! Path walking (Linux `namei`): from a starting directory and a byte
//! path to a [`Path`], or to a parent directory plus final name for the
//! calls that create or remove names.
//!
//! Owns: Linux's walking rules — absolute paths start at the process root,
//! `.`/`..` (never above the root, across mount points both ways),
//! search (`x`) permission on every directory walked, `ENOTDIR` for a
//! non-directory in the middle, `ENAMETOOLONG` for paths of `PATH_MAX`
//! bytes or more and components over `NAME_MAX`, symlinks followed in the
//! middle always and at the end on request or after a trailing slash,
//! with `ELOOP` after `MAXSYMLINKS` links in one walk. Symlinks are
//! expanded on an explicit stack, never by recursion.

use alloc::vec::Vec;

use super::dentry::Dentry;
use super::path::Path;
use super::perm::{check_access, Access, Credentials};
use super::types::{InodeType, MAXSYMLINKS, PATH_MAX};
use crate::error::{Errno, Result};
use crate::{errno, return_errno_with_message};

/// The final component of a walked path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LastKind {
    Normal(Vec<u8>),
    Dot,
    DotDot,
    /// The path was only slashes: the root itself.
    Root,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Last {
    pub kind: LastKind,
    /// The path ended in '/' (after this component): it must be a
    /// directory, and a symlink there is followed.
    pub trailing_slash: bool,
}

/// Result of a walk that may end at a missing name (for `O_CREAT`, mkdir...).
#[derive(Clone, Debug)]
pub enum Walked {
    Found(Path),
    Missing { parent: Path, name: Vec<u8>, trailing_slash: bool },
}

/// Checks a user path before walking: `ENOENT` when empty,
/// `ENAMETOOLONG` when `PATH_MAX` bytes or longer.
pub fn check_path(path: &[u8]) -> Result<()> {
    if path.is_empty() {
        return_errno_with_message!(ENOENT, "empty path");
    }
    if path.len() >= PATH_MAX {
        return_errno_with_message!(ENAMETOOLONG, "path of PATH_MAX bytes or more");
    }
    Ok(())
}

/// Components of `path` (empty ones dropped) and whether it ends in '/'.
fn split(path: &[u8]) -> (Vec<&[u8]>, bool) {
    let components: Vec<&[u8]> = path.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
    let trailing = path.last() == Some(&b'/') && !components.is_empty();
    (components, trailing)
}

fn last_kind(name: &[u8]) -> LastKind {
    match name {
        b"." => LastKind::Dot,
        b".." => LastKind::DotDot,
        _ => LastKind::Normal(name.to_vec()),
    }
}

/// One path walk: the process root, the caller's credentials, and the
/// count of symlinks followed so far.
pub struct Walker<'a> {
    root: &'a Path,
    creds: &'a Credentials,
    links: u32,
}

impl<'a> Walker<'a> {
    pub fn new(root: &'a Path, creds: &'a Credentials) -> Self {
        Walker { root, creds, links: 0 }
    }

    fn may_search(&self, dir: &Path) -> Result<()> {
        if dir.kind() != InodeType::Dir {
            return_errno_with_message!(ENOTDIR, "path component is not a directory");
        }
        check_access(&dir.inode().metadata(), self.creds, Access::EXEC)
    }

    /// Count one symlink and read its target.
    fn follow(&mut self, link: &Dentry) -> Result<Vec<u8>> {
        self.links += 1;
        if self.links > MAXSYMLINKS {
            return_errno_with_message!(ELOOP, "too many levels of symbolic links");
        }
        let target = link.inode().read_link()?;
        if target.is_empty() {
            return_errno_with_message!(ENOENT, "empty symlink");
        }
        if target.len() >= PATH_MAX {
            return_errno_with_message!(ENAMETOOLONG, "symlink target too long");
        }
        Ok(target)
    }

    /// Walk every component of `path` but the last, from `start` (or the
    /// root for an absolute path). The returned directory has been checked
    /// to be a searchable directory.
    pub fn walk_parent(&mut self, start: &Path, path: &[u8]) -> Result<(Path, Last)> {
        check_path(path)?;
        let mut current = if path[0] == b'/' { self.root.clone() } else { start.clone() };
        let (components, trailing_slash) = split(path);
        // Components still to walk, next on top; the bottom one is the
        // last component of `path`.
        let mut pending: Vec<Vec<u8>> = components.iter().rev().map(|c| c.to_vec()).collect();
        while pending.len() > 1 {
            let Some(name) = pending.pop() else { break };
            self.may_search(&current)?;
            current = match name.as_slice() {
                b"." => current,
                b".." => current.parent_within(self.root),
                _ => {
                    let child = current.child(current.dentry().lookup_child(&name)?);
                    if child.kind() == InodeType::Symlink {
                        let target = self.follow(child.dentry())?;
                        pending.extend(split(&target).0.iter().rev().map(|c| c.to_vec()));
                        if target[0] == b'/' {
                            self.root.clone()
                        } else {
                            current
                        }
                    } else {
                        child
                    }
                }
            };
        }
        self.may_search(&current)?;
        let kind = match pending.pop() {
            Some(name) => last_kind(&name),
            None => LastKind::Root,
        };
        Ok((current, Last { kind, trailing_slash }))
    }

    /// Resolve the last component in `dir`, following a final symlink if
    /// `follow` (or the path had a trailing slash). A missing final name
    /// is `Walked::Missing`; a missing directory on the way is `ENOENT`.
    pub fn walk_last(&mut self, dir: Path, last: Last, follow: bool) -> Result<Walked> {
        let (mut dir, mut last) = (dir, last);
        loop {
            let name = match &last.kind {
                LastKind::Root | LastKind::Dot => return Ok(Walked::Found(dir)),
                LastKind::DotDot => return Ok(Walked::Found(dir.parent_within(self.root))),
                LastKind::Normal(name) => name,
            };
            let child = match dir.dentry().lookup_child(name) {
                Ok(child) => dir.child(child),
                Err(error) if error.errno() == Errno::ENOENT => {
                    return Ok(Walked::Missing { name: name.clone(), parent: dir, trailing_slash: last.trailing_slash });
                }
                Err(error) => return Err(error),
            };
            if child.kind() == InodeType::Symlink && (follow || last.trailing_slash) {
                let target = self.follow(child.dentry())?;
                let trailing = last.trailing_slash;
                let (next_dir, mut next_last) = self.walk_parent(&dir, &target)?;
                next_last.trailing_slash |= trailing;
                (dir, last) = (next_dir, next_last);
                continue;
            }
            if last.trailing_slash && child.kind() != InodeType::Dir {
                return_errno_with_message!(ENOTDIR, "trailing slash on a non-directory");
            }
            return Ok(Walked::Found(child));
        }
    }

    /// Resolve `path` to an existing [`Path`] (`ENOENT` if missing).
    pub fn resolve(&mut self, start: &Path, path: &[u8], follow: bool) -> Result<Path> {
        let (dir, last) = self.walk_parent(start, path)?;
        match self.walk_last(dir, last, follow)? {
            Walked::Found(path) => Ok(path),
            Walked::Missing { .. } => Err(errno!(ENOENT, "no such file or directory")),
        }
    }

    /// Resolve `path`, allowing the final name to be missing.
    pub fn resolve_or_missing(&mut self, start: &Path, path: &[u8], follow: bool) -> Result<Walked> {
        let (dir, last) = self.walk_parent(start, path)?;
        self.walk_last(dir, last, follow)
    }
}
