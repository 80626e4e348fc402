//! `getrandom(2)`, as Linux's drivers/char/random.c answers it.
//!
//! - Unknown flag bits, or `GRND_RANDOM | GRND_INSECURE` together: EINVAL.
//! - The generator is seeded before the first user program runs, so no
//!   call blocks and `GRND_NONBLOCK` never sees EAGAIN in practice (it
//!   would before seeding, as on Linux); `GRND_RANDOM` reads the same
//!   generator (Linux >= 5.6 has no separate blocking pool).
//! - `len` is capped at `MAX_RW_COUNT`; a range that is not user memory is
//!   EFAULT before anything is copied (also for `len == 0`, as
//!   `access_ok`).
//! - A copy that faults part-way returns the bytes copied up to the fault;
//!   EFAULT only when nothing was copied. A pending signal ends a long
//!   request at a page boundary with what was copied.

use super::{ok, SyscallContext, SyscallResult};
use crate::process::vm_layout::{PAGE_SIZE, TASK_SIZE};
use crate::return_errno_with_message;
use crate::uaccess;

pub const GRND_NONBLOCK: u32 = 0x1;
pub const GRND_RANDOM: u32 = 0x2;
pub const GRND_INSECURE: u32 = 0x4;
/// Linux's `MAX_RW_COUNT` (`INT_MAX & PAGE_MASK`).
const MAX_RW_COUNT: u64 = 0x7fff_f000;
/// Bytes generated per copy (a multiple of Linux's 64-byte blocks that
/// divides a page, so signal checks fall on page boundaries).
const CHUNK: usize = 256;

/// EINVAL unless `flags` is a combination Linux accepts.
pub fn check_flags(flags: u32) -> bool {
    flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) == 0
        && flags & (GRND_RANDOM | GRND_INSECURE) != (GRND_RANDOM | GRND_INSECURE)
}

pub fn sys_getrandom(buf: u64, len: u64, flags: u32, ctx: &mut SyscallContext) -> SyscallResult {
    if !check_flags(flags) {
        return_errno_with_message!(EINVAL, "getrandom: unknown or contradictory flags");
    }
    if !crate::random::is_seeded() && flags & GRND_INSECURE == 0 && flags & GRND_NONBLOCK != 0 {
        return_errno_with_message!(EAGAIN, "getrandom: generator not seeded yet");
    }
    let len = len.min(MAX_RW_COUNT);
    if buf.checked_add(len).is_none_or(|end| end > TASK_SIZE) {
        return_errno_with_message!(EFAULT, "getrandom: buffer is not user memory");
    }
    let mut chunk = [0u8; CHUNK];
    let mut done = 0u64;
    while done < len {
        let n = ((len - done) as usize).min(CHUNK);
        crate::random::try_fill(&mut chunk[..n])?;
        if uaccess::write_bytes(buf + done, &chunk[..n]).is_err() {
            // Copy what fits before the fault, byte-exact like Linux.
            done += chunk[..n]
                .iter()
                .enumerate()
                .take_while(|&(i, byte)| uaccess::write_bytes(buf + done + i as u64, core::slice::from_ref(byte)).is_ok())
                .count() as u64;
            break;
        }
        done += n as u64;
        if done.is_multiple_of(PAGE_SIZE) && done < len && ctx.thread.has_pending_work() {
            break;
        }
    }
    chunk.fill(0);
    if done == 0 && len > 0 {
        return_errno_with_message!(EFAULT, "getrandom: buffer not writable");
    }
    ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_as_linux() {
        for good in [0, GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE, GRND_NONBLOCK | GRND_RANDOM, GRND_NONBLOCK | GRND_INSECURE] {
            assert!(check_flags(good), "{good:#x}");
        }
        for bad in [GRND_RANDOM | GRND_INSECURE, 0x8, 0x10, u32::MAX, 0x8000_0000] {
            assert!(!check_flags(bad), "{bad:#x}");
        }
    }
}
