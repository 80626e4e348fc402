//! `brk`, `mmap`, `munmap`, `mprotect`, `mremap`, `madvise`.

use alloc::sync::Arc;

use super::{ok, SyscallContext, SyscallResult};
use crate::error::Result;
use crate::fs::types::InodeType;
use crate::process::mm::{inode_key, Mm};
use crate::process::mman::{decode_mmap, Prot, Sharing};
use crate::process::rlimit::RLIMIT_DATA;
use crate::process::vma::{Backing, FileRef, Placement, Vma};
use crate::return_errno_with_message;

const MADV_DONTNEED: u32 = 4;

/// Linux's `madvise_behavior_valid`: MADV_NORMAL..MADV_FREE (0-4, 8),
/// MADV_REMOVE..MADV_COLLAPSE (9-25), MADV_HWPOISON, MADV_SOFT_OFFLINE.
/// Only DONTNEED changes anything here; the rest are hints.
fn is_known_advice(advice: u32) -> bool {
    matches!(advice, 0..=4 | 8..=25 | 100 | 101)
}

fn mm(ctx: &SyscallContext) -> Result<Arc<Mm>> {
    ctx.process.mm().ok_or(crate::errno!(EFAULT, "process has no address space"))
}

pub fn sys_brk(addr: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let limit = ctx.process.rlimits.lock().soft(RLIMIT_DATA);
    ok(mm(ctx)?.brk(addr, limit))
}

#[allow(clippy::too_many_arguments)]
pub fn sys_mmap(addr: u64, len: u64, prot: u32, flags: u32, fd: i32, offset: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let request = decode_mmap(len, prot, flags, offset)?;
    let place = match (request.fixed, request.noreplace) {
        (true, true) => Placement::FixedNoReplace(addr),
        (true, false) => Placement::Fixed(addr),
        _ => Placement::Hint(addr),
    };
    let mut template = Vma::anonymous(0, 0, request.prot);
    template.sharing = request.sharing;
    template.grows_down = request.grows_down;
    let mut inode = None;
    if !request.anonymous {
        let file = ctx.file(fd)?;
        let kind = file.path().kind();
        if kind == InodeType::CharDevice {
            // /dev/zero and friends: anonymous memory.
            let memory = mm(ctx)?.mmap(place, request.len, template, None, request.populate)?;
            return ok(memory);
        }
        if kind != InodeType::File {
            return_errno_with_message!(ENODEV, "mmap of something that is not a regular file");
        }
        if !file.is_readable() {
            return_errno_with_message!(EACCES, "mmap of a file not open for reading");
        }
        let writable = file.is_writable();
        if request.sharing == Sharing::Shared && request.prot.write && !writable {
            return_errno_with_message!(EACCES, "shared writable mmap of a file not open for writing");
        }
        if request.sharing == Sharing::Shared && request.prot.write {
            log::warn!("mmap: MAP_SHARED writes do not reach the file yet");
        }
        let meta = file.metadata();
        let display = ctx.process.fs.read().display_path(file.path());
        template.backing = Backing::File(FileRef {
            id: inode_key(file.inode()),
            dev_major: meta.dev.major,
            dev_minor: meta.dev.minor,
            ino: meta.ino,
            path: Arc::from(display.as_slice()),
        });
        template.offset = request.offset;
        if request.sharing == Sharing::Shared && !writable {
            template.max_prot = Prot { write: false, ..Prot::RWX };
        }
        inode = Some(file.inode().clone());
    }
    ok(mm(ctx)?.mmap(place, request.len, template, inode, request.populate)?)
}

pub fn sys_munmap(addr: u64, len: u64, ctx: &mut SyscallContext) -> SyscallResult {
    mm(ctx)?.munmap(addr, len)?;
    ok(0)
}

pub fn sys_mprotect(addr: u64, len: u64, prot: u32, ctx: &mut SyscallContext) -> SyscallResult {
    mm(ctx)?.mprotect(addr, len, prot)?;
    ok(0)
}

pub fn sys_mremap(addr: u64, old_len: u64, new_len: u64, flags: u32, new_addr: u64, ctx: &mut SyscallContext) -> SyscallResult {
    ok(mm(ctx)?.mremap(addr, old_len, new_len, flags, new_addr)?)
}

pub fn sys_madvise(addr: u64, len: u64, advice: u32, ctx: &mut SyscallContext) -> SyscallResult {
    if !addr.is_multiple_of(crate::process::vm_layout::PAGE_SIZE) {
        return_errno_with_message!(EINVAL, "madvise address not page aligned");
    }
    if !is_known_advice(advice) {
        return_errno_with_message!(EINVAL, "madvise: unknown advice");
    }
    if advice == MADV_DONTNEED {
        mm(ctx)?.discard(addr, len);
    }
    ok(0)
}
