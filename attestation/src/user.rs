//! User memory as the ioctl handlers see it: copies that fail with
//! `EFAULT` instead of faulting.
//!
//! Owns: the [`UserMemory`] trait (host tests pass a fake) and its kernel
//! implementation over `services::uaccess` (the current process).

use services::error::Result;

/// Copies to and from the calling process's memory.
pub trait UserMemory: Send + Sync {
    /// Copy `buf.len()` bytes from user address `addr` (`EFAULT`).
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<()>;
    /// Copy `data` to user address `addr` (`EFAULT`).
    fn write(&self, addr: u64, data: &[u8]) -> Result<()>;
}

/// The current process's memory.
#[cfg(target_os = "none")]
pub struct CurrentProcess;

#[cfg(target_os = "none")]
impl UserMemory for CurrentProcess {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        services::uaccess::read_bytes(addr, buf)
    }
    fn write(&self, addr: u64, data: &[u8]) -> Result<()> {
        services::uaccess::write_bytes(addr, data)
    }
}
