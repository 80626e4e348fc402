//! `sched_yield`, `sched_getaffinity`, `getcpu`.

use super::{ok, SyscallResult};
use crate::return_errno_with_message;
use crate::uaccess;

pub fn sys_sched_yield() -> SyscallResult {
    framework::task::yield_now();
    ok(0)
}

/// Every online CPU is allowed; the mask is one `unsigned long`.
pub fn sys_sched_getaffinity(len: u64, mask: u64) -> SyscallResult {
    if len < 8 || !len.is_multiple_of(8) {
        return_errno_with_message!(EINVAL, "sched_getaffinity: mask too small");
    }
    let cpus = framework::cpu_local::online_count().clamp(1, 64);
    let bits: u64 = if cpus == 64 { u64::MAX } else { (1u64 << cpus) - 1 };
    uaccess::write_u64(mask, bits)?;
    ok(8)
}

pub fn sys_getcpu(cpu: u64, node: u64) -> SyscallResult {
    if cpu != 0 {
        uaccess::write_u32(cpu, 0)?;
    }
    if node != 0 {
        uaccess::write_u32(node, 0)?;
    }
    ok(0)
}
