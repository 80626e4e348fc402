//! `fallocate(fd, mode, offset, len)` on ramfs/tmpfs files: memory is
//! given out on write, so allocating is only a size change. Mode 0 grows
//! the file to `offset + len`; `FALLOC_FL_KEEP_SIZE` alone changes
//! nothing; hole punching, zeroing, collapsing and inserting ranges are
//! not offered yet (`EOPNOTSUPP`, as a file system without them answers).
//! The checks and their order are Linux's `vfs_fallocate`.

use super::{ok, SyscallContext, SyscallResult};
use crate::fs::ramfs::data::MAX_FILE_SIZE;
use crate::fs::types::InodeType;
use crate::return_errno_with_message;

// include/uapi/linux/falloc.h
const FALLOC_FL_KEEP_SIZE: u32 = 0x01;
const FALLOC_FL_PUNCH_HOLE: u32 = 0x02;
const FALLOC_FL_COLLAPSE_RANGE: u32 = 0x08;
const FALLOC_FL_ZERO_RANGE: u32 = 0x10;
const FALLOC_FL_INSERT_RANGE: u32 = 0x20;
const FALLOC_FL_UNSHARE_RANGE: u32 = 0x40;
const FALLOC_FL_SUPPORTED: u32 = FALLOC_FL_KEEP_SIZE
    | FALLOC_FL_PUNCH_HOLE
    | FALLOC_FL_COLLAPSE_RANGE
    | FALLOC_FL_ZERO_RANGE
    | FALLOC_FL_INSERT_RANGE
    | FALLOC_FL_UNSHARE_RANGE;

pub fn sys_fallocate(fd: i32, mode: u32, offset: i64, len: i64, ctx: &mut SyscallContext) -> SyscallResult {
    let file = ctx.file(fd)?;
    if offset < 0 || len <= 0 {
        return_errno_with_message!(EINVAL, "fallocate: negative offset or length not positive");
    }
    // NO_HIDE_STALE is a reserved code point, outside the supported mask.
    if mode & !FALLOC_FL_SUPPORTED != 0 {
        return_errno_with_message!(EOPNOTSUPP, "fallocate: unknown mode bits");
    }
    let hole_and_zero = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;
    if mode & hole_and_zero == hole_and_zero {
        return_errno_with_message!(EOPNOTSUPP, "fallocate: PUNCH_HOLE and ZERO_RANGE together");
    }
    if mode & FALLOC_FL_PUNCH_HOLE != 0 && mode & FALLOC_FL_KEEP_SIZE == 0 {
        return_errno_with_message!(EOPNOTSUPP, "fallocate: PUNCH_HOLE without KEEP_SIZE");
    }
    for alone in [FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_INSERT_RANGE] {
        if mode & alone != 0 && mode & !alone != 0 {
            return_errno_with_message!(EINVAL, "fallocate: COLLAPSE_RANGE and INSERT_RANGE stand alone");
        }
    }
    if mode & FALLOC_FL_UNSHARE_RANGE != 0 && mode & !(FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE) != 0 {
        return_errno_with_message!(EINVAL, "fallocate: UNSHARE_RANGE only with KEEP_SIZE");
    }
    if file.is_path_only() || !file.is_writable() {
        return_errno_with_message!(EBADF, "fallocate: file not open for writing");
    }
    let metadata = file.metadata();
    match metadata.kind {
        InodeType::Fifo => return_errno_with_message!(ESPIPE, "fallocate on a FIFO"),
        InodeType::Dir => return_errno_with_message!(EISDIR, "fallocate on a directory"),
        InodeType::File => {}
        _ => return_errno_with_message!(ENODEV, "fallocate: not a regular file"),
    }
    let end = match offset.checked_add(len) {
        Some(end) if end as u64 <= MAX_FILE_SIZE => end as u64,
        _ => return_errno_with_message!(EFBIG, "fallocate: past the maximum file size"),
    };
    match mode {
        0 => {
            if end > metadata.size {
                file.truncate(end as i64)?;
            }
            ok(0)
        }
        FALLOC_FL_KEEP_SIZE => ok(0),
        _ => return_errno_with_message!(EOPNOTSUPP, "fallocate: only plain allocation is supported"),
    }
}
