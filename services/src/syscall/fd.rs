//! `dup`, `dup2`, `dup3`, `fcntl`, `ioctl`.

use super::{ok, SyscallContext, SyscallResult};
use crate::fs::flags::{O_NONBLOCK, F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD, F_SETFL};
use crate::fs::types::InodeType;
use crate::uaccess;

const F_GETLK: u32 = 5;
const F_SETLK: u32 = 6;
const F_SETLKW: u32 = 7;
const F_SETOWN: u32 = 8;
const F_GETOWN: u32 = 9;
const F_SETPIPE_SZ: u32 = 1031;
const F_GETPIPE_SZ: u32 = 1032;
const F_UNLCK: u16 = 2;

const FIONCLEX: u32 = 0x5450;
const FIOCLEX: u32 = 0x5451;
const FIONBIO: u32 = 0x5421;
const FIONREAD: u32 = 0x541b;

pub fn sys_dup(fd: i32, ctx: &mut SyscallContext) -> SyscallResult {
    ok(ctx.process.fds.lock().dup(fd)?)
}

pub fn sys_dup2(old: i32, new: i32, ctx: &mut SyscallContext) -> SyscallResult {
    let (fd, replaced) = ctx.process.fds.lock().dup2(old, new)?;
    drop(replaced);
    ok(fd)
}

pub fn sys_dup3(old: i32, new: i32, flags: u32, ctx: &mut SyscallContext) -> SyscallResult {
    let (fd, replaced) = ctx.process.fds.lock().dup3(old, new, flags)?;
    drop(replaced);
    ok(fd)
}

pub fn sys_fcntl(fd: i32, cmd: u32, arg: u64, ctx: &mut SyscallContext) -> SyscallResult {
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC | F_GETFD | F_SETFD | F_GETFL | F_SETFL => {
            ok(ctx.process.fds.lock().fcntl(fd, cmd, arg)?)
        }
        F_GETLK => {
            // No locks are ever held: report the range unlocked.
            ctx.file(fd)?;
            uaccess::write_bytes(arg, &F_UNLCK.to_le_bytes())?;
            ok(0)
        }
        // Advisory record locks always succeed (one user, no conflicts
        // across processes are tracked yet).
        F_SETLK | F_SETLKW | F_SETOWN => {
            ctx.file(fd)?;
            ok(0)
        }
        F_GETOWN => {
            ctx.file(fd)?;
            ok(0)
        }
        F_SETPIPE_SZ | F_GETPIPE_SZ => {
            ctx.file(fd)?;
            ok(crate::pipe::PIPE_CAPACITY)
        }
        _ => {
            ctx.file(fd)?;
            Err(crate::errno!(EINVAL, "unsupported fcntl command"))
        }
    }
}

/// `fsync`, `fdatasync`: in-memory files have nothing to write back;
/// files without an fsync operation on Linux (pipes, devices, sockets)
/// give `EINVAL`.
pub fn sys_fsync(fd: i32, ctx: &mut SyscallContext) -> SyscallResult {
    let file = ctx.file(fd)?;
    if file.is_path_only() {
        return Err(crate::errno!(EBADF, "fsync of an O_PATH file"));
    }
    match file.path().kind() {
        InodeType::File | InodeType::Dir => ok(0),
        InodeType::BlockDevice | InodeType::CharDevice if file.device().is_some() => {
            if let Some(device) = file.device() {
                device.fsync()?;
            }
            ok(0)
        }
        _ => Err(crate::errno!(EINVAL, "fsync of a file that cannot be synced")),
    }
}

pub fn sys_ioctl(fd: i32, cmd: u32, arg: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let file = ctx.file(fd)?;
    match cmd {
        FIOCLEX | FIONCLEX => {
            ctx.process.fds.lock().set_close_on_exec(fd, cmd == FIOCLEX)?;
            ok(0)
        }
        FIONBIO => {
            let on = uaccess::read_u32(arg)? != 0;
            let flags = file.flags();
            file.set_flags(if on { flags | O_NONBLOCK } else { flags & !O_NONBLOCK })?;
            ok(0)
        }
        // Regular files: the bytes from the position to the end
        // (do_vfs_ioctl); other files ask their driver.
        FIONREAD if file.path().kind() == InodeType::File => {
            let left = file.metadata().size.saturating_sub(file.position());
            uaccess::write_i32(arg, left.min(i32::MAX as u64) as i32)?;
            ok(0)
        }
        _ => ok(file.ioctl(cmd, arg)?),
    }
}
