//! `getcwd`, `chdir`, `fchdir`, `chroot`.

use super::{ok, SyscallContext, SyscallResult};
use crate::return_errno_with_message;
use crate::uaccess;

pub fn sys_getcwd(buf: u64, size: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let mut path = ctx.process.fs.read().getcwd()?;
    path.push(0);
    if path.len() as u64 > size {
        return_errno_with_message!(ERANGE, "getcwd buffer too small");
    }
    uaccess::write_bytes(buf, &path)?;
    ok(path.len())
}

pub fn sys_chdir(path: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let name = uaccess::read_path(path)?;
    let creds = ctx.process.credentials();
    let target = ctx.process.fs.read().lookup(None, &name, true, &creds)?;
    ctx.process.fs.write().chdir(target, &creds)?;
    ok(0)
}

pub fn sys_fchdir(fd: i32, ctx: &mut SyscallContext) -> SyscallResult {
    let target = ctx.file(fd)?.path().clone();
    ctx.process.fs.write().chdir(target, &ctx.process.credentials())?;
    ok(0)
}

pub fn sys_chroot(path: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let name = uaccess::read_path(path)?;
    let creds = ctx.process.credentials();
    let target = ctx.process.fs.read().lookup(None, &name, true, &creds)?;
    ctx.process.fs.write().chroot(target, &creds)?;
    ok(0)
}
