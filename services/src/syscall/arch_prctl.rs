//! `arch_prctl` (the FS/GS bases TLS lives in) and `prctl`.

use super::{ok, SyscallContext, SyscallResult};
use crate::process::vm_layout::TASK_SIZE;
use crate::return_errno_with_message;
use crate::uaccess;

const ARCH_SET_GS: u32 = 0x1001;
const ARCH_SET_FS: u32 = 0x1002;
const ARCH_GET_FS: u32 = 0x1003;
const ARCH_GET_GS: u32 = 0x1004;

pub fn sys_arch_prctl(code: u32, addr: u64, ctx: &mut SyscallContext) -> SyscallResult {
    match code {
        ARCH_SET_FS | ARCH_SET_GS => {
            if addr >= TASK_SIZE {
                return_errno_with_message!(EPERM, "segment base outside user space");
            }
            if code == ARCH_SET_FS {
                ctx.user.set_fs_base(addr);
            } else {
                ctx.user.set_gs_base(addr);
            }
            ok(0)
        }
        ARCH_GET_FS => {
            uaccess::write_u64(addr, ctx.user.fs_base())?;
            ok(0)
        }
        ARCH_GET_GS => {
            uaccess::write_u64(addr, ctx.user.gs_base())?;
            ok(0)
        }
        _ => return_errno_with_message!(EINVAL, "unsupported arch_prctl code"),
    }
}

const PR_SET_PDEATHSIG: u32 = 1;
const PR_GET_DUMPABLE: u32 = 3;
const PR_SET_DUMPABLE: u32 = 4;
const PR_SET_NAME: u32 = 15;
const PR_GET_NAME: u32 = 16;

pub fn sys_prctl(option: u32, arg2: u64, ctx: &mut SyscallContext) -> SyscallResult {
    match option {
        PR_SET_NAME => {
            let raw: [u8; 16] = {
                let mut raw = [0u8; 16];
                // The name may be shorter than 16 bytes at the end of a page.
                let name = uaccess::read_cstring_or(arg2, 16, crate::errno!(EINVAL)).or_else(|_| {
                    uaccess::read_bytes(arg2, &mut raw).map(|_| raw.to_vec())
                })?;
                let n = name.len().min(15);
                raw[..n].copy_from_slice(&name[..n]);
                raw[n..].fill(0);
                raw
            };
            let len = raw.iter().position(|&b| b == 0).unwrap_or(15);
            ctx.process.set_comm_from_path(&raw[..len]);
            ok(0)
        }
        PR_GET_NAME => {
            let mut raw = [0u8; 16];
            let comm = ctx.process.comm();
            raw[..comm.len().min(15)].copy_from_slice(&comm[..comm.len().min(15)]);
            uaccess::write_bytes(arg2, &raw)?;
            ok(0)
        }
        PR_SET_PDEATHSIG | PR_SET_DUMPABLE => ok(0),
        PR_GET_DUMPABLE => ok(1),
        _ => return_errno_with_message!(EINVAL, "unsupported prctl option"),
    }
}
