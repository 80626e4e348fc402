//! `exit`, `exit_group` (one thread per process: the same thing).

use super::{SyscallContext, SyscallResult, SyscallReturn};
use crate::process::wait_status::ExitStatus;

pub fn sys_exit_group(code: u64, ctx: &mut SyscallContext) -> SyscallResult {
    ctx.process.begin_exit(ExitStatus::exited(code));
    Ok(SyscallReturn::NoReturn)
}
