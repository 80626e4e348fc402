//! `stat`, `lstat`, `fstat`, `newfstatat`, `statx`, `statfs`, `fstatfs`.

use super::{ok, SyscallContext, SyscallResult};
use crate::error::Result;
use crate::fs::attr::{stat_bytes, statfs_bytes, statx_bytes};
use crate::fs::flags::{AT_EMPTY_PATH, AT_NO_AUTOMOUNT, AT_STATX_SYNC_TYPE, AT_SYMLINK_NOFOLLOW};
use crate::fs::stat::check_statx_args;
use crate::fs::Path;
use crate::return_errno_with_message;
use crate::uaccess;

/// The location an `*at` stat-like call names: `AT_EMPTY_PATH` with an
/// empty path means `dirfd` itself (or the cwd for `AT_FDCWD`).
pub fn resolve_at(ctx: &SyscallContext, dirfd: i32, path: u64, flags: u32) -> Result<Path> {
    let name = uaccess::read_path(path)?;
    let at = ctx.at_path(dirfd)?;
    let fs = ctx.process.fs.read().clone();
    if name.is_empty() && flags & AT_EMPTY_PATH != 0 {
        return Ok(at.unwrap_or_else(|| fs.cwd().clone()));
    }
    fs.lookup(at.as_ref(), &name, flags & AT_SYMLINK_NOFOLLOW == 0, &ctx.process.credentials())
}

pub fn sys_newfstatat(dirfd: i32, path: u64, buf: u64, flags: u32, ctx: &mut SyscallContext) -> SyscallResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT) != 0 {
        return_errno_with_message!(EINVAL, "newfstatat: unknown flags");
    }
    let target = resolve_at(ctx, dirfd, path, flags)?;
    uaccess::write_bytes(buf, &stat_bytes(&target))?;
    ok(0)
}

pub fn sys_fstat(fd: i32, buf: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let file = ctx.file(fd)?;
    uaccess::write_bytes(buf, &stat_bytes(file.path()))?;
    ok(0)
}

pub fn sys_statx(dirfd: i32, path: u64, flags: u32, mask: u32, buf: u64, ctx: &mut SyscallContext) -> SyscallResult {
    check_statx_args(flags, mask)?;
    let known = AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE;
    if flags & !known != 0 {
        return_errno_with_message!(EINVAL, "statx: unknown flags");
    }
    let target = resolve_at(ctx, dirfd, path, flags)?;
    uaccess::write_bytes(buf, &statx_bytes(&target, mask))?;
    ok(0)
}

pub fn sys_statfs(path: u64, buf: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let target = resolve_at(ctx, crate::fs::flags::AT_FDCWD, path, 0)?;
    uaccess::write_bytes(buf, &statfs_bytes(&target))?;
    ok(0)
}

pub fn sys_fstatfs(fd: i32, buf: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let file = ctx.file(fd)?;
    uaccess::write_bytes(buf, &statfs_bytes(file.path()))?;
    ok(0)
}
