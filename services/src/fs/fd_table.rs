//! A process's file-descriptor table.
//!
//! Owns: fd numbers -> open files with the per-fd close-on-exec flag;
//! Linux's allocation rule (lowest free number), the `RLIMIT_NOFILE`
//! limit (`EMFILE`), `dup`/`dup2`/`dup3`, `close`, `fcntl`'s fd commands
//! and close-on-exec at `execve`. The table is a plain value: the process
//! wraps it in a lock and clones it for `fork`.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::flags::*;
use super::open_file::OpenFile;
use crate::error::Result;
use crate::{errno, return_errno_with_message};

/// Linux's default soft `RLIMIT_NOFILE`.
pub const DEFAULT_NOFILE_LIMIT: u32 = 1024;
/// Linux's `sysctl_nr_open` default: the most a limit may be raised to.
pub const NR_OPEN: u32 = 1 << 20;

#[derive(Clone, Debug)]
struct FdEntry {
    file: Arc<OpenFile>,
    close_on_exec: bool,
}

#[derive(Clone, Debug)]
pub struct FdTable {
    entries: Vec<Option<FdEntry>>,
    /// `RLIMIT_NOFILE` (soft): fds must be below it.
    limit: u32,
}

impl Default for FdTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FdTable {
    pub fn new() -> Self {
        FdTable { entries: Vec::new(), limit: DEFAULT_NOFILE_LIMIT }
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Set the `RLIMIT_NOFILE` soft limit (`setrlimit`/`prlimit`); open
    /// fds above it stay open, as on Linux. `EPERM` past `NR_OPEN`.
    pub fn set_limit(&mut self, limit: u32) -> Result<()> {
        if limit > NR_OPEN {
            return_errno_with_message!(EPERM, "RLIMIT_NOFILE above nr_open");
        }
        self.limit = limit;
        Ok(())
    }

    fn index(fd: i32) -> Result<usize> {
        usize::try_from(fd).map_err(|_| errno!(EBADF, "negative fd"))
    }

    fn entry(&self, fd: i32) -> Result<&FdEntry> {
        let index = Self::index(fd)?;
        self.entries.get(index).and_then(Option::as_ref).ok_or(errno!(EBADF, "fd not open"))
    }

    /// The open file behind `fd` (`EBADF`).
    pub fn get(&self, fd: i32) -> Result<Arc<OpenFile>> {
        Ok(self.entry(fd)?.file.clone())
    }

    /// Lowest free fd >= `min` below the limit.
    fn lowest_free(&self, min: usize) -> Result<usize> {
        let limit = self.limit as usize;
        let found = (min..self.entries.len()).find(|&fd| self.entries[fd].is_none()).unwrap_or(self.entries.len().max(min));
        if found >= limit {
            return_errno_with_message!(EMFILE, "no fd below RLIMIT_NOFILE");
        }
        Ok(found)
    }

    fn put(&mut self, fd: usize, entry: FdEntry) -> Option<Arc<OpenFile>> {
        if fd >= self.entries.len() {
            self.entries.resize(fd + 1, None);
        }
        self.entries[fd].replace(entry).map(|old| old.file)
    }

    /// Install `file` at the lowest free fd (`open`, `pipe`, `socket`...).
    pub fn insert(&mut self, file: Arc<OpenFile>, close_on_exec: bool) -> Result<i32> {
        let fd = self.lowest_free(0)?;
        self.put(fd, FdEntry { file, close_on_exec });
        Ok(fd as i32)
    }

    /// `close`: the file is returned so the caller drops it outside any lock.
    pub fn close(&mut self, fd: i32) -> Result<Arc<OpenFile>> {
        let index = Self::index(fd)?;
        let entry = self.entries.get_mut(index).and_then(Option::take).ok_or(errno!(EBADF, "fd not open"))?;
        while matches!(self.entries.last(), Some(None)) {
            self.entries.pop();
        }
        Ok(entry.file)
    }

    /// `dup`: lowest free fd, close-on-exec clear.
    pub fn dup(&mut self, old: i32) -> Result<i32> {
        let file = self.get(old)?;
        self.insert(file, false)
    }

    /// `dup2`: `new` replaces whatever it was (returned to be dropped);
    /// `dup2(fd, fd)` returns fd if it is open. `EBADF` for `new` outside
    /// `0..limit`.
    pub fn dup2(&mut self, old: i32, new: i32) -> Result<(i32, Option<Arc<OpenFile>>)> {
        let file = self.get(old)?;
        if old == new {
            return Ok((new, None));
        }
        self.dup_to(file, new, false)
    }

    /// `dup3`: like `dup2` but `EINVAL` when `old == new` or `flags` has
    /// anything but `O_CLOEXEC`.
    pub fn dup3(&mut self, old: i32, new: i32, flags: u32) -> Result<(i32, Option<Arc<OpenFile>>)> {
        if flags & !O_CLOEXEC != 0 {
            return_errno_with_message!(EINVAL, "dup3 flags other than O_CLOEXEC");
        }
        if old == new {
            return_errno_with_message!(EINVAL, "dup3 with equal fds");
        }
        let file = self.get(old)?;
        self.dup_to(file, new, flags & O_CLOEXEC != 0)
    }

    fn dup_to(&mut self, file: Arc<OpenFile>, new: i32, close_on_exec: bool) -> Result<(i32, Option<Arc<OpenFile>>)> {
        let index = Self::index(new)?;
        if index >= self.limit as usize {
            return_errno_with_message!(EBADF, "target fd not below RLIMIT_NOFILE");
        }
        let replaced = self.put(index, FdEntry { file, close_on_exec });
        Ok((new, replaced))
    }

    /// Per-fd close-on-exec flag.
    pub fn close_on_exec(&self, fd: i32) -> Result<bool> {
        Ok(self.entry(fd)?.close_on_exec)
    }

    pub fn set_close_on_exec(&mut self, fd: i32, close_on_exec: bool) -> Result<()> {
        let index = Self::index(fd)?;
        match self.entries.get_mut(index).and_then(Option::as_mut) {
            Some(entry) => {
                entry.close_on_exec = close_on_exec;
                Ok(())
            }
            None => return_errno_with_message!(EBADF, "fd not open"),
        }
    }

    /// `fcntl` commands on fds and file flags: `F_DUPFD`,
    /// `F_DUPFD_CLOEXEC`, `F_GETFD`, `F_SETFD`, `F_GETFL`, `F_SETFL`.
    /// Others give `EINVAL` (the syscall layer handles locks, owners...).
    pub fn fcntl(&mut self, fd: i32, cmd: u32, arg: u64) -> Result<i64> {
        let file = self.get(fd)?;
        match cmd {
            F_DUPFD | F_DUPFD_CLOEXEC => {
                // The argument is an int; Linux rejects values >= the limit.
                let min = arg as u32 as i32;
                if min < 0 || min as u32 >= self.limit {
                    return_errno_with_message!(EINVAL, "F_DUPFD minimum out of range");
                }
                let new = self.lowest_free(min as usize)?;
                self.put(new, FdEntry { file, close_on_exec: cmd == F_DUPFD_CLOEXEC });
                Ok(new as i64)
            }
            F_GETFD => Ok(if self.close_on_exec(fd)? { FD_CLOEXEC as i64 } else { 0 }),
            F_SETFD => {
                self.set_close_on_exec(fd, arg as u32 & FD_CLOEXEC != 0)?;
                Ok(0)
            }
            F_GETFL => Ok(i64::from(file.flags())),
            F_SETFL => {
                file.set_flags(arg as u32)?;
                Ok(0)
            }
            _ => return_errno_with_message!(EINVAL, "unsupported fcntl command"),
        }
    }

    /// At `execve`: close every close-on-exec fd; the files are returned
    /// to be dropped outside the lock.
    pub fn close_on_exec_all(&mut self) -> Vec<Arc<OpenFile>> {
        let mut closed = Vec::new();
        for slot in self.entries.iter_mut() {
            if slot.as_ref().is_some_and(|entry| entry.close_on_exec) {
                if let Some(entry) = slot.take() {
                    closed.push(entry.file);
                }
            }
        }
        while matches!(self.entries.last(), Some(None)) {
            self.entries.pop();
        }
        closed
    }

    /// Open fds in increasing order (for `/proc/self/fd`).
    pub fn fds(&self) -> impl Iterator<Item = i32> + '_ {
        self.entries.iter().enumerate().filter(|(_, entry)| entry.is_some()).map(|(fd, _)| fd as i32)
    }

    /// Close everything (process exit).
    pub fn clear(&mut self) -> Vec<Arc<OpenFile>> {
        core::mem::take(&mut self.entries).into_iter().flatten().map(|entry| entry.file).collect()
    }
}
