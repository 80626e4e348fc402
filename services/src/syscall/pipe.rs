//! `pipe`, `pipe2`.

use super::{ok, SyscallContext, SyscallResult};
use crate::fs::flags::{O_CLOEXEC, O_DIRECT, O_NONBLOCK};
use crate::return_errno_with_message;
use crate::uaccess;

pub fn sys_pipe2(fds_ptr: u64, flags: u32, ctx: &mut SyscallContext) -> SyscallResult {
    if flags & !(O_CLOEXEC | O_NONBLOCK | O_DIRECT) != 0 {
        return_errno_with_message!(EINVAL, "pipe2: unknown flags");
    }
    let (reader, writer) = crate::pipe::new_pipe(flags & O_NONBLOCK, &ctx.process.credentials())?;
    let cloexec = flags & O_CLOEXEC != 0;
    let (read_fd, write_fd) = {
        let mut fds = ctx.process.fds.lock();
        let read_fd = fds.insert(reader, cloexec)?;
        match fds.insert(writer, cloexec) {
            Ok(write_fd) => (read_fd, write_fd),
            Err(error) => {
                let _ = fds.close(read_fd);
                return Err(error);
            }
        }
    };
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&read_fd.to_le_bytes());
    bytes[4..].copy_from_slice(&write_fd.to_le_bytes());
    if let Err(error) = uaccess::write_bytes(fds_ptr, &bytes) {
        let mut fds = ctx.process.fds.lock();
        let _ = fds.close(read_fd);
        let _ = fds.close(write_fd);
        return Err(error);
    }
    ok(0)
}
