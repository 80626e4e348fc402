//! Copies between the kernel and the *current* process's user memory.
//!
//! Owns: the services-side wrapper around framework's fallible user
//! copies: a copy that faults is retried once after the pages of the range
//! that the process's VMAs allow are brought in (demand paging, as Linux's
//! fault handler does for kernel accesses to user memory); a range that is
//! still bad is `EFAULT`. Also NUL-terminated strings and pointer arrays.
//!
//! Must never: touch user memory other than through `framework::user`.

use alloc::vec::Vec;

use framework::user;

use crate::error::{Errno, Error, Result};
use crate::process::vm_layout::{PAGE_SIZE, TASK_SIZE};

fn efault() -> Error {
    Error::with_message(Errno::EFAULT, "bad user address")
}

fn check_range(addr: u64, len: usize) -> Result<()> {
    match addr.checked_add(len as u64) {
        Some(end) if end <= TASK_SIZE => Ok(()),
        _ => Err(efault()),
    }
}

/// Bring in the pages of `[addr, addr + len)` that the current process
/// may access; false if some page cannot be.
fn populate(addr: u64, len: usize, write: bool) -> bool {
    match crate::process::current_process().and_then(|p| p.mm()) {
        Some(mm) => mm.populate(addr, len as u64, write),
        None => false,
    }
}

/// Copy `buf.len()` bytes from user address `addr`.
pub fn read_bytes(addr: u64, buf: &mut [u8]) -> Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    check_range(addr, buf.len())?;
    if user::copy_from_user(addr, buf).is_ok() {
        return Ok(());
    }
    if populate(addr, buf.len(), false) && user::copy_from_user(addr, buf).is_ok() {
        return Ok(());
    }
    Err(efault())
}

/// Copy `buf` to user address `addr`.
pub fn write_bytes(addr: u64, buf: &[u8]) -> Result<()> {
    if buf.is_empty() {
        return Ok(());
    }
    check_range(addr, buf.len())?;
    if user::copy_to_user(addr, buf).is_ok() {
        return Ok(());
    }
    if populate(addr, buf.len(), true) && user::copy_to_user(addr, buf).is_ok() {
        return Ok(());
    }
    Err(efault())
}

/// Zero `len` bytes at user address `addr`.
pub fn clear(addr: u64, len: usize) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    check_range(addr, len)?;
    if user::clear_user(addr, len).is_ok() {
        return Ok(());
    }
    if populate(addr, len, true) && user::clear_user(addr, len).is_ok() {
        return Ok(());
    }
    Err(efault())
}

pub fn read_array<const N: usize>(addr: u64) -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    read_bytes(addr, &mut bytes)?;
    Ok(bytes)
}

pub fn read_u64(addr: u64) -> Result<u64> {
    Ok(u64::from_le_bytes(read_array(addr)?))
}

pub fn read_u32(addr: u64) -> Result<u32> {
    Ok(u32::from_le_bytes(read_array(addr)?))
}

pub fn write_u64(addr: u64, value: u64) -> Result<()> {
    write_bytes(addr, &value.to_le_bytes())
}

pub fn write_u32(addr: u64, value: u32) -> Result<()> {
    write_bytes(addr, &value.to_le_bytes())
}

pub fn write_i32(addr: u64, value: i32) -> Result<()> {
    write_bytes(addr, &value.to_le_bytes())
}

/// A NUL-terminated string of at most `max_len` bytes *including* the
/// NUL; `too_long` is the error when there is no NUL within that.
pub fn read_cstring_or(addr: u64, max_len: usize, too_long: Error) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = addr;
    loop {
        // Never cross a page in one copy: the next page may be unmapped
        // even though the string ends before it.
        let to_page_end = (PAGE_SIZE - at % PAGE_SIZE) as usize;
        let room = max_len - out.len();
        let chunk_len = to_page_end.min(room).min(256);
        let mut chunk = [0u8; 256];
        read_bytes(at, &mut chunk[..chunk_len])?;
        if let Some(nul) = chunk[..chunk_len].iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..nul]);
            return Ok(out);
        }
        out.extend_from_slice(&chunk[..chunk_len]);
        if out.len() >= max_len {
            return Err(too_long);
        }
        at += chunk_len as u64;
    }
}

/// A path argument: `ENAMETOOLONG` past `PATH_MAX`, `EFAULT` for a bad
/// pointer (the VFS itself rejects the empty path with `ENOENT`).
pub fn read_path(addr: u64) -> Result<Vec<u8>> {
    read_cstring_or(
        addr,
        crate::fs::types::PATH_MAX,
        Error::with_message(Errno::ENAMETOOLONG, "path longer than PATH_MAX"),
    )
}

/// The entries of a NULL-terminated pointer array (argv, envp), at most
/// `max` of them (`E2BIG` beyond). A NULL array is empty.
pub fn read_pointer_array(addr: u64, max: usize) -> Result<Vec<u64>> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    loop {
        let at = addr.checked_add(out.len() as u64 * 8).ok_or_else(efault)?;
        let pointer = read_u64(at)?;
        if pointer == 0 {
            return Ok(out);
        }
        if out.len() >= max {
            return Err(Error::with_message(Errno::E2BIG, "too many argv/envp entries"));
        }
        out.push(pointer);
    }
}
