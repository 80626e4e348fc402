//! `uname`, `sethostname`: what the kernel says it is.

use alloc::vec::Vec;

use super::personality::{PER_LINUX32, PER_MASK};
use super::{ok, SyscallContext, SyscallResult};
use crate::return_errno_with_message;
use crate::sync::Mutex;
use crate::uaccess;

/// Each `struct utsname` field: 65 bytes, NUL padded.
const FIELD: usize = 65;
/// The kernel release user space sees (a Linux 6.12-compatible ABI).
pub const RELEASE: &str = crate::fs::procfs::OS_RELEASE;
const VERSION: &str = crate::fs::procfs::OS_VERSION;

static HOSTNAME: Mutex<Option<Vec<u8>>> = Mutex::new(None);

fn field(out: &mut [u8], index: usize, value: &[u8]) {
    let n = value.len().min(FIELD - 1);
    out[index * FIELD..index * FIELD + n].copy_from_slice(&value[..n]);
}

/// The host name (`/proc/sys/kernel/hostname`).
pub fn hostname() -> Vec<u8> {
    HOSTNAME.lock().clone().unwrap_or_else(|| b"umbra".to_vec())
}

pub fn utsname_bytes() -> [u8; FIELD * 6] {
    let mut out = [0u8; FIELD * 6];
    let hostname = hostname();
    field(&mut out, 0, b"Linux");
    field(&mut out, 1, &hostname);
    field(&mut out, 2, RELEASE.as_bytes());
    field(&mut out, 3, VERSION.as_bytes());
    field(&mut out, 4, b"x86_64");
    field(&mut out, 5, b"(none)");
    out
}

/// `uname`: under the `PER_LINUX32` personality (`linux32`, `setarch
/// i686`) the machine is `i686`, as Linux's `override_architecture` has it.
pub fn sys_uname(buf: u64, ctx: &SyscallContext) -> SyscallResult {
    let mut bytes = utsname_bytes();
    if ctx.process.personality() & PER_MASK == PER_LINUX32 {
        bytes[4 * FIELD..5 * FIELD].fill(0);
        field(&mut bytes, 4, b"i686");
    }
    uaccess::write_bytes(buf, &bytes)?;
    ok(0)
}

pub fn sys_sethostname(name: u64, len: u64, ctx: &super::SyscallContext) -> SyscallResult {
    if !ctx.process.credentials().is_root() {
        return_errno_with_message!(EPERM, "sethostname needs CAP_SYS_ADMIN");
    }
    if len > 64 {
        return_errno_with_message!(EINVAL, "host name longer than 64 bytes");
    }
    let mut bytes = alloc::vec![0u8; len as usize];
    uaccess::read_bytes(name, &mut bytes)?;
    *HOSTNAME.lock() = Some(bytes);
    ok(0)
}
