//! `personality(persona)`: the execution domain and its flags. Umbra runs
//! every program the same way; the value is kept (fork copies it, a
//! 64-bit exec clears `READ_IMPLIES_EXEC`, as on x86-64 Linux) and
//! `uname` reports `i686` under `PER_LINUX32`. The other flags
//! (`ADDR_NO_RANDOMIZE`, `UNAME26`, ...) are kept but change nothing yet.

use super::{ok, SyscallContext, SyscallResult};

// include/uapi/linux/personality.h
pub const PER_MASK: u32 = 0x00ff;
pub const PER_LINUX32: u32 = 0x0008;
pub const READ_IMPLIES_EXEC: u32 = 0x0400000;
/// The argument that only asks.
const QUERY: u32 = 0xffff_ffff;

/// Linux: returns the old value; any other value than the query is stored.
pub fn sys_personality(persona: u32, ctx: &mut SyscallContext) -> SyscallResult {
    let old = if persona == QUERY { ctx.process.personality() } else { ctx.process.set_personality(persona) };
    ok(old)
}
