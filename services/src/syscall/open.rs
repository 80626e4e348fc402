//! `open`, `openat`, `creat`, `close`.

use super::{ok, SyscallContext, SyscallResult};
use crate::fs::flags::{O_CLOEXEC, O_CREAT, O_TRUNC, O_WRONLY};
use crate::uaccess;

/// The flags `creat(path, mode)` opens with.
pub const CREAT_FLAGS: u32 = O_CREAT | O_WRONLY | O_TRUNC;

pub fn sys_openat(dirfd: i32, path: u64, flags: u32, mode: u32, ctx: &mut SyscallContext) -> SyscallResult {
    let path = uaccess::read_path(path)?;
    let at = ctx.at_path(dirfd)?;
    let fs = ctx.process.fs.read().clone();
    let mode = mode & 0o7777 & !ctx.umask();
    let file = fs.open(at.as_ref(), &path, flags, mode, &ctx.process.credentials())?;
    let fd = ctx.process.fds.lock().insert(file, flags & O_CLOEXEC != 0)?;
    ok(fd)
}

pub fn sys_close(fd: i32, ctx: &mut SyscallContext) -> SyscallResult {
    let file = ctx.process.fds.lock().close(fd)?;
    drop(file);
    ok(0)
}
