//! Names and attributes: `mkdir`, `mknod`, `unlink`, `rmdir`, `rename`,
//! `link`, `symlink`, `readlink`, `chmod`, `chown`, `truncate`,
//! `utimensat`, `access`, `umask` and their `*at`/`f*` variants.

use core::sync::atomic::Ordering;

use super::stat::resolve_at;
use super::{ok, SyscallContext, SyscallResult};
use crate::fs::attr::{self, TimeChange};
use crate::fs::flags::{AT_EACCESS, AT_EMPTY_PATH, AT_REMOVEDIR, AT_SYMLINK_FOLLOW, AT_SYMLINK_NOFOLLOW};
use crate::fs::inode::RenameFlags;
use crate::fs::types::S_IFMT;
use crate::fs::Credentials;
use crate::return_errno_with_message;
use crate::uaccess;

pub fn sys_mkdirat(dirfd: i32, path: u64, mode: u32, ctx: &mut SyscallContext) -> SyscallResult {
    let name = uaccess::read_path(path)?;
    let at = ctx.at_path(dirfd)?;
    let mode = mode & 0o7777 & !ctx.umask();
    ctx.process.fs.read().clone().mkdir(at.as_ref(), &name, mode, &ctx.process.credentials())?;
    ok(0)
}

pub fn sys_mknodat(dirfd: i32, path: u64, mode: u32, dev: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let name = uaccess::read_path(path)?;
    let at = ctx.at_path(dirfd)?;
    let mode = (mode & S_IFMT) | (mode & 0o7777 & !ctx.umask());
    ctx.process.fs.read().clone().mknod(at.as_ref(), &name, mode, dev, &ctx.process.credentials())?;
    ok(0)
}

pub fn sys_unlinkat(dirfd: i32, path: u64, flags: u32, ctx: &mut SyscallContext) -> SyscallResult {
    if flags & !AT_REMOVEDIR != 0 {
        return_errno_with_message!(EINVAL, "unlinkat: unknown flags");
    }
    let name = uaccess::read_path(path)?;
    let at = ctx.at_path(dirfd)?;
    let fs = ctx.process.fs.read().clone();
    let creds = ctx.process.credentials();
    if flags & AT_REMOVEDIR != 0 {
        fs.rmdir(at.as_ref(), &name, &creds)?;
    } else {
        fs.unlink(at.as_ref(), &name, &creds)?;
    }
    ok(0)
}

pub fn sys_renameat2(old_dirfd: i32, old: u64, new_dirfd: i32, new: u64, flags: u32, ctx: &mut SyscallContext) -> SyscallResult {
    let old_name = uaccess::read_path(old)?;
    let new_name = uaccess::read_path(new)?;
    let old_at = ctx.at_path(old_dirfd)?;
    let new_at = ctx.at_path(new_dirfd)?;
    let fs = ctx.process.fs.read().clone();
    fs.rename(
        old_at.as_ref(),
        &old_name,
        new_at.as_ref(),
        &new_name,
        RenameFlags::from_bits(flags),
        &ctx.process.credentials(),
    )?;
    ok(0)
}

pub fn sys_linkat(old_dirfd: i32, old: u64, new_dirfd: i32, new: u64, flags: u32, ctx: &mut SyscallContext) -> SyscallResult {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return_errno_with_message!(EINVAL, "linkat: unknown flags");
    }
    let old_name = uaccess::read_path(old)?;
    let new_name = uaccess::read_path(new)?;
    let old_at = ctx.at_path(old_dirfd)?;
    let new_at = ctx.at_path(new_dirfd)?;
    let fs = ctx.process.fs.read().clone();
    fs.link(
        old_at.as_ref(),
        &old_name,
        new_at.as_ref(),
        &new_name,
        flags & AT_SYMLINK_FOLLOW != 0,
        &ctx.process.credentials(),
    )?;
    ok(0)
}

pub fn sys_symlinkat(target: u64, new_dirfd: i32, path: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let target = uaccess::read_path(target)?;
    let name = uaccess::read_path(path)?;
    let at = ctx.at_path(new_dirfd)?;
    ctx.process.fs.read().clone().symlink(&target, at.as_ref(), &name, &ctx.process.credentials())?;
    ok(0)
}

pub fn sys_readlinkat(dirfd: i32, path: u64, buf: u64, size: u64, ctx: &mut SyscallContext) -> SyscallResult {
    if size as i64 <= 0 {
        return_errno_with_message!(EINVAL, "readlink buffer size not positive");
    }
    let target = resolve_at(ctx, dirfd, path, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)?;
    let link = attr::readlink(&target)?;
    let n = link.len().min(size as usize);
    uaccess::write_bytes(buf, &link[..n])?;
    ok(n)
}

pub fn sys_fchmodat(dirfd: i32, path: u64, mode: u32, ctx: &mut SyscallContext) -> SyscallResult {
    let target = resolve_at(ctx, dirfd, path, 0)?;
    attr::chmod(&target, mode, &ctx.process.credentials())?;
    ok(0)
}

pub fn sys_fchmod(fd: i32, mode: u32, ctx: &mut SyscallContext) -> SyscallResult {
    let file = ctx.file(fd)?;
    attr::chmod(file.path(), mode, &ctx.process.credentials())?;
    ok(0)
}

fn id_arg(id: u32) -> Option<u32> {
    (id != u32::MAX).then_some(id)
}

pub fn sys_fchownat(dirfd: i32, path: u64, uid: u32, gid: u32, flags: u32, ctx: &mut SyscallContext) -> SyscallResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return_errno_with_message!(EINVAL, "fchownat: unknown flags");
    }
    let target = resolve_at(ctx, dirfd, path, flags)?;
    attr::chown(&target, id_arg(uid), id_arg(gid), &ctx.process.credentials())?;
    ok(0)
}

pub fn sys_fchown(fd: i32, uid: u32, gid: u32, ctx: &mut SyscallContext) -> SyscallResult {
    let file = ctx.file(fd)?;
    attr::chown(file.path(), id_arg(uid), id_arg(gid), &ctx.process.credentials())?;
    ok(0)
}

pub fn sys_umask(mask: u32, ctx: &mut SyscallContext) -> SyscallResult {
    ok(ctx.process.umask.swap(mask & 0o777, Ordering::AcqRel))
}

pub fn sys_truncate(path: u64, length: i64, ctx: &mut SyscallContext) -> SyscallResult {
    let target = resolve_at(ctx, crate::fs::flags::AT_FDCWD, path, 0)?;
    attr::truncate(&target, length, &ctx.process.credentials())?;
    ok(0)
}

pub fn sys_ftruncate(fd: i32, length: i64, ctx: &mut SyscallContext) -> SyscallResult {
    ctx.file(fd)?.truncate(length)?;
    ok(0)
}

pub fn sys_utimensat(dirfd: i32, path: u64, times: u64, flags: u32, ctx: &mut SyscallContext) -> SyscallResult {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return_errno_with_message!(EINVAL, "utimensat: unknown flags");
    }
    let target = if path == 0 {
        // futimens: the file of dirfd itself.
        ctx.file(dirfd)?.path().clone()
    } else {
        resolve_at(ctx, dirfd, path, flags)?
    };
    let (atime, mtime) = if times == 0 {
        (TimeChange::Now, TimeChange::Now)
    } else {
        let raw: [u8; 32] = uaccess::read_array(times)?;
        let word = |i: usize| i64::from_le_bytes(raw[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        (TimeChange::from_timespec(word(0), word(1))?, TimeChange::from_timespec(word(2), word(3))?)
    };
    attr::set_times(&target, atime, mtime, &ctx.process.credentials())?;
    ok(0)
}

/// `access`/`faccessat`/`faccessat2`: checked with the real ids unless
/// `AT_EACCESS`.
pub fn sys_faccessat2(dirfd: i32, path: u64, mode: u32, flags: u32, ctx: &mut SyscallContext) -> SyscallResult {
    if flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return_errno_with_message!(EINVAL, "faccessat2: unknown flags");
    }
    attr::check_access_mode(mode)?;
    let target = resolve_at(ctx, dirfd, path, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))?;
    let ids = *ctx.process.ids.lock();
    let creds = if flags & AT_EACCESS != 0 { ids.fs_credentials() } else { Credentials::new(ids.uid, ids.gid) };
    attr::access(&target, mode, &creds)?;
    ok(0)
}
