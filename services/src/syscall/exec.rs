//! `execve`, `execveat`: replace the program of the calling process.

use alloc::vec::Vec;

use super::{SyscallContext, SyscallResult, SyscallReturn};
use crate::error::{Errno, Error};
use crate::fs::flags::AT_FDCWD;
use crate::process::exec;
use crate::process::exec_args::{ExecArgs, MAX_ARG_STRLEN};
use crate::process::rlimit::RLIMIT_STACK;
use crate::return_errno_with_message;
use crate::uaccess;

/// Most argv + envp pointers worth reading: beyond this the pointers
/// alone exceed the largest string budget (6 MiB / 8 bytes).
const MAX_POINTERS: usize = (6 << 20) / 8;

fn read_strings(pointers: &[u64], mut push: impl FnMut(&[u8]) -> crate::error::Result<()>) -> crate::error::Result<()> {
    for &pointer in pointers {
        let string = uaccess::read_cstring_or(
            pointer,
            MAX_ARG_STRLEN,
            Error::with_message(Errno::E2BIG, "argument longer than MAX_ARG_STRLEN"),
        )?;
        push(&string)?;
    }
    Ok(())
}

pub fn sys_execve(path: u64, argv: u64, envp: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let filename = uaccess::read_path(path)?;
    let argv: Vec<u64> = uaccess::read_pointer_array(argv, MAX_POINTERS)?;
    let envp: Vec<u64> = uaccess::read_pointer_array(envp, MAX_POINTERS)?;
    let rlim_stack = ctx.process.rlimits.lock().soft(RLIMIT_STACK);
    let mut args = ExecArgs::new(&filename, argv.len(), envp.len(), rlim_stack)?;
    read_strings(&argv, |s| args.push_arg(s).map_err(Into::into))?;
    read_strings(&envp, |s| args.push_env(s).map_err(Into::into))?;
    args.finish()?;
    let program = exec::load(ctx.process, &filename, args)?;
    *ctx.user = exec::commit(ctx.process, program);
    Ok(SyscallReturn::NoReturn)
}

pub fn sys_execveat(dirfd: i32, path: u64, argv: u64, envp: u64, flags: u32, ctx: &mut SyscallContext) -> SyscallResult {
    if dirfd != AT_FDCWD || flags != 0 {
        return_errno_with_message!(ENOSYS, "execveat relative to a dirfd or with flags is not supported yet");
    }
    sys_execve(path, argv, envp, ctx)
}
