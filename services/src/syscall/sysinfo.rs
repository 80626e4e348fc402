//! System information and accounting: `sysinfo`, `getrusage`, `times`.

use super::{ok, SyscallContext, SyscallResult};
use crate::return_errno_with_message;
use crate::uaccess;

pub fn sys_sysinfo(info: u64) -> SyscallResult {
    let stats = framework::mm::stats();
    let page = framework::mm::PAGE_SIZE as u64;
    let mut b = [0u8; 112];
    let uptime = framework::arch::tsc::monotonic_ns() / 1_000_000_000;
    let procs = crate::process::process::all_processes().len() as u16;
    b[0..8].copy_from_slice(&uptime.to_le_bytes());
    // loads[3] stay 0.
    b[32..40].copy_from_slice(&(stats.managed_frames * page).to_le_bytes());
    b[40..48].copy_from_slice(&(stats.free_frames * page).to_le_bytes());
    b[80..82].copy_from_slice(&procs.to_le_bytes());
    b[104..108].copy_from_slice(&1u32.to_le_bytes());
    uaccess::write_bytes(info, &b)?;
    ok(0)
}

const RUSAGE_SELF: i32 = 0;
const RUSAGE_CHILDREN: i32 = -1;
const RUSAGE_THREAD: i32 = 1;

pub fn sys_getrusage(who: i32, usage: u64, _ctx: &mut SyscallContext) -> SyscallResult {
    let ns = match who {
        RUSAGE_SELF | RUSAGE_THREAD => framework::task::current().cpu_time_ns(),
        RUSAGE_CHILDREN => 0,
        _ => return_errno_with_message!(EINVAL, "getrusage: bad who"),
    };
    let mut b = [0u8; 144];
    b[0..8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
    b[8..16].copy_from_slice(&(ns % 1_000_000_000 / 1000).to_le_bytes());
    uaccess::write_bytes(usage, &b)?;
    ok(0)
}

/// Clock ticks per second as `times` counts them (`USER_HZ`).
const USER_HZ: u64 = 100;

pub fn sys_times(buf: u64, _ctx: &mut SyscallContext) -> SyscallResult {
    if buf != 0 {
        let user = framework::task::current().cpu_time_ns() / (1_000_000_000 / USER_HZ);
        let mut b = [0u8; 32];
        b[0..8].copy_from_slice(&user.to_le_bytes());
        uaccess::write_bytes(buf, &b)?;
    }
    ok(framework::arch::tsc::monotonic_ns() / (1_000_000_000 / USER_HZ))
}
