//! `mount`, `umount2` (new tmpfs/ramfs/devtmpfs mounts; no bind mounts,
//! remounts or moves yet), and `reboot` (the VM powers off).

use super::{ok, SyscallContext, SyscallResult};
use crate::fs::fstype::new_filesystem;
use crate::fs::mount::{mount_from, umount, MNT_DETACH};
use crate::fs::MountFlags;
use crate::return_errno_with_message;
use crate::uaccess;

const MS_RDONLY: u64 = 1;
const MS_NOSUID: u64 = 2;
const MS_NODEV: u64 = 4;
const MS_NOEXEC: u64 = 8;
const MS_SILENT: u64 = 1 << 15;
const MS_RELATIME: u64 = 1 << 21;
const MS_NOATIME: u64 = 1 << 10;
const MS_NODIRATIME: u64 = 1 << 11;
const MS_STRICTATIME: u64 = 1 << 24;
/// `MS_MGC_VAL`: old callers put this magic in the high half.
const MS_MGC_MASK: u64 = 0xffff_0000;
const MS_MGC_VAL: u64 = 0xc0ed_0000;
const MNT_FORCE: u32 = 1;
const UMOUNT_NOFOLLOW: u32 = 8;

fn require_root(ctx: &SyscallContext) -> crate::error::Result<()> {
    if ctx.process.ids.lock().euid != 0 {
        return_errno_with_message!(EPERM, "needs CAP_SYS_ADMIN");
    }
    Ok(())
}

pub fn sys_mount(source: u64, target: u64, fstype: u64, flags: u64, data: u64, ctx: &mut SyscallContext) -> SyscallResult {
    require_root(ctx)?;
    let mut flags = flags;
    if flags & MS_MGC_MASK == MS_MGC_VAL {
        flags &= !MS_MGC_MASK;
    }
    let known = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_SILENT | MS_RELATIME | MS_NOATIME | MS_NODIRATIME | MS_STRICTATIME;
    if flags & !known != 0 {
        return_errno_with_message!(EINVAL, "bind, move, remount and propagation mounts are not supported yet");
    }
    let target = uaccess::read_path(target)?;
    let fstype = uaccess::read_path(fstype)?;
    // Linux copies it with strndup_user(PATH_MAX): EINVAL when longer;
    // /proc/mounts shows "none" for a NULL source.
    let source = if source == 0 {
        b"none".to_vec()
    } else {
        uaccess::read_cstring_or(source, crate::fs::types::PATH_MAX, crate::errno!(EINVAL, "mount source longer than PATH_MAX"))?
    };
    let options = if data != 0 {
        uaccess::read_cstring_or(data, 4096, crate::errno!(EINVAL, "mount data longer than a page"))?
    } else {
        alloc::vec::Vec::new()
    };
    let creds = ctx.process.credentials();
    let at = ctx.process.fs.read().lookup(None, &target, true, &creds)?;
    let filesystem = new_filesystem(&fstype, &options)?;
    let flags = MountFlags::from_bits_truncate(flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC));
    mount_from(&at, filesystem, flags, Some(source))?;
    ok(0)
}

pub fn sys_umount2(target: u64, flags: u32, ctx: &mut SyscallContext) -> SyscallResult {
    require_root(ctx)?;
    if flags & !(MNT_FORCE | MNT_DETACH | UMOUNT_NOFOLLOW) != 0 {
        return_errno_with_message!(EINVAL, "unsupported umount2 flags");
    }
    let name = uaccess::read_path(target)?;
    let creds = ctx.process.credentials();
    let path = ctx.process.fs.read().lookup(None, &name, flags & UMOUNT_NOFOLLOW == 0, &creds)?;
    umount(path, flags & MNT_DETACH)?;
    ok(0)
}

// include/uapi/linux/reboot.h
const REBOOT_MAGIC1: u32 = 0xfee1_dead;
/// `LINUX_REBOOT_MAGIC2`, `2A`, `2B`, `2C` (birthdays, as in Linux).
const REBOOT_MAGIC2: [u32; 4] = [672_274_793, 85_072_278, 369_367_448, 537_993_216];
const CMD_RESTART: u32 = 0x0123_4567;
const CMD_HALT: u32 = 0xcdef_0123;
const CMD_POWER_OFF: u32 = 0x4321_fedc;
const CMD_RESTART2: u32 = 0xa1b2_c3d4;
const CMD_CAD_ON: u32 = 0x89ab_cdef;
const CMD_CAD_OFF: u32 = 0;
/// `RESTART2`'s command string: Linux copies at most 255 bytes.
const RESTART2_ARG_MAX: usize = 256;

/// `reboot(magic1, magic2, cmd, arg)`: halt, power off and restart (with
/// or without a command string) all end the VM with status 0; the order
/// of checks is Linux's: `EPERM` without privilege, then `EINVAL` for bad
/// magic or an unknown command (kexec and suspend are not offered).
pub fn sys_reboot(magic1: u32, magic2: u32, cmd: u32, arg: u64, ctx: &mut SyscallContext) -> SyscallResult {
    require_root(ctx)?;
    if magic1 != REBOOT_MAGIC1 || !REBOOT_MAGIC2.contains(&magic2) {
        return_errno_with_message!(EINVAL, "bad reboot magic");
    }
    match cmd {
        CMD_RESTART | CMD_HALT | CMD_POWER_OFF => power_off(cmd, b"", ctx),
        CMD_RESTART2 => {
            // Linux copies at most 255 bytes (a fault is EFAULT) and cuts
            // a longer string there; ENAMETOOLONG only marks that case.
            let too_long = crate::errno!(ENAMETOOLONG, "reboot string cut");
            let text = match uaccess::read_cstring_or(arg, RESTART2_ARG_MAX - 1, too_long) {
                Err(error) if error.errno() == crate::error::Errno::ENAMETOOLONG => {
                    let mut buf = [0u8; RESTART2_ARG_MAX - 1];
                    uaccess::read_bytes(arg, &mut buf)?;
                    buf.to_vec()
                }
                other => other?,
            };
            power_off(cmd, &text, ctx)
        }
        CMD_CAD_ON | CMD_CAD_OFF => ok(0),
        _ => return_errno_with_message!(EINVAL, "unsupported reboot command"),
    }
}

fn power_off(cmd: u32, text: &[u8], ctx: &SyscallContext) -> SyscallResult {
    log::info!(
        "reboot({:#x}{}{}) by pid {}: powering off",
        cmd,
        if text.is_empty() { "" } else { ", " },
        alloc::string::String::from_utf8_lossy(text),
        ctx.process.pid()
    );
    framework::power::exit(0)
}
