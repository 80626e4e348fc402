//! `read`, `write`, `readv`, `writev`, `pread64`, `pwrite64`, `lseek`,
//! `sendfile`, `getdents64`: data between open files and user buffers.
//!
//! Transfers go through a kernel bounce buffer in chunks of [`CHUNK`]
//! bytes. Regular files loop over chunks; streams (ttys, pipes) do one
//! read so that a read returns what is there instead of waiting for more.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use super::{ok, SyscallContext, SyscallResult};
use crate::error::{Errno, Error, Result};
use crate::fs::types::InodeType;
use crate::fs::OpenFile;
use crate::process::signal::SIGPIPE;
use crate::return_errno_with_message;
use crate::uaccess;

/// Bounce-buffer size.
const CHUNK: usize = 64 * 1024;
/// Linux's `MAX_RW_COUNT`: one call moves at most this much.
const MAX_RW_COUNT: u64 = 0x7fff_f000;
/// `UIO_MAXIOV`.
const IOV_MAX: u64 = 1024;

fn is_regular(file: &OpenFile) -> bool {
    file.path().kind() == InodeType::File
}

/// A partial transfer is a success; an error only when nothing moved.
fn finish(done: u64, error: Option<Error>) -> SyscallResult {
    match error {
        Some(error) if done == 0 => Err(error),
        _ => ok(done),
    }
}

/// An error from a write: EPIPE also sends SIGPIPE to the writer.
fn write_error(ctx: &SyscallContext, error: Error) -> Error {
    if error.errno() == Errno::EPIPE {
        ctx.process.send_signal(SIGPIPE);
    }
    error
}

/// Read up to `count` bytes into user memory at `buf` with `read_at`
/// (which reads into a kernel slice at a byte offset into the transfer).
fn read_into_user(file: &OpenFile, buf: u64, count: u64, mut read_at: impl FnMut(&mut [u8], u64) -> Result<usize>) -> SyscallResult {
    let count = count.min(MAX_RW_COUNT);
    let mut bounce = vec![0u8; (count as usize).min(CHUNK)];
    let mut done = 0u64;
    while done < count {
        let want = ((count - done) as usize).min(CHUNK);
        let got = match read_at(&mut bounce[..want], done) {
            Ok(got) => got,
            Err(error) => return finish(done, Some(error)),
        };
        if let Err(error) = uaccess::write_bytes(buf + done, &bounce[..got]) {
            return finish(done, Some(error));
        }
        done += got as u64;
        if got < want || !is_regular(file) {
            break;
        }
    }
    ok(done)
}

fn write_from_user(
    ctx: &SyscallContext,
    buf: u64,
    count: u64,
    mut write_at: impl FnMut(&[u8], u64) -> Result<usize>,
) -> SyscallResult {
    let count = count.min(MAX_RW_COUNT);
    let mut bounce = vec![0u8; (count as usize).min(CHUNK)];
    let mut done = 0u64;
    while done < count {
        let want = ((count - done) as usize).min(CHUNK);
        if let Err(error) = uaccess::read_bytes(buf + done, &mut bounce[..want]) {
            return finish(done, Some(error));
        }
        let put = match write_at(&bounce[..want], done) {
            Ok(put) => put,
            Err(error) => return finish(done, Some(write_error(ctx, error))),
        };
        done += put as u64;
        if put < want {
            break;
        }
    }
    ok(done)
}

pub fn sys_read(fd: i32, buf: u64, count: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let file = ctx.file(fd)?;
    read_into_user(&file, buf, count, |chunk, _| file.read(chunk))
}

pub fn sys_write(fd: i32, buf: u64, count: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let file = ctx.file(fd)?;
    write_from_user(ctx, buf, count, |chunk, _| file.write(chunk))
}

fn check_offset(offset: i64) -> Result<()> {
    if offset < 0 {
        return_errno_with_message!(EINVAL, "negative offset");
    }
    Ok(())
}

pub fn sys_pread64(fd: i32, buf: u64, count: u64, offset: i64, ctx: &mut SyscallContext) -> SyscallResult {
    let file = ctx.file(fd)?;
    check_offset(offset)?;
    read_into_user(&file, buf, count, |chunk, done| file.pread(chunk, offset.saturating_add(done as i64)))
}

pub fn sys_pwrite64(fd: i32, buf: u64, count: u64, offset: i64, ctx: &mut SyscallContext) -> SyscallResult {
    let file = ctx.file(fd)?;
    check_offset(offset)?;
    write_from_user(ctx, buf, count, |chunk, done| file.pwrite(chunk, offset.saturating_add(done as i64)))
}

pub fn sys_lseek(fd: i32, offset: i64, whence: u32, ctx: &mut SyscallContext) -> SyscallResult {
    let position = ctx.file(fd)?.seek(offset, whence)?;
    ok(position)
}

/// The `(base, len)` pairs of a user iovec array.
fn read_iovecs(iov: u64, count: u64) -> Result<Vec<(u64, u64)>> {
    if count > IOV_MAX {
        return_errno_with_message!(EINVAL, "more than IOV_MAX iovecs");
    }
    let mut raw = vec![0u8; count as usize * 16];
    uaccess::read_bytes(iov, &mut raw)?;
    let mut total = 0u64;
    let mut out = Vec::with_capacity(count as usize);
    for pair in raw.chunks_exact(16) {
        let base = u64::from_le_bytes(pair[..8].try_into().unwrap_or([0; 8]));
        let len = u64::from_le_bytes(pair[8..].try_into().unwrap_or([0; 8]));
        if len > isize::MAX as u64 {
            return_errno_with_message!(EINVAL, "iovec length negative");
        }
        total = total.saturating_add(len);
        if total > isize::MAX as u64 {
            return_errno_with_message!(EINVAL, "iovec lengths overflow ssize_t");
        }
        out.push((base, len));
    }
    Ok(out)
}

pub fn sys_readv(fd: i32, iov: u64, count: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let file = ctx.file(fd)?;
    let iovecs = read_iovecs(iov, count)?;
    if !is_regular(&file) {
        // One read for a stream, scattered over the vectors.
        let total: u64 = iovecs.iter().map(|v| v.1).sum::<u64>().min(CHUNK as u64);
        let mut bounce = vec![0u8; total as usize];
        let got = file.read(&mut bounce)?;
        let mut at = 0usize;
        for (base, len) in iovecs {
            if at >= got {
                break;
            }
            let n = (len as usize).min(got - at);
            if let Err(error) = uaccess::write_bytes(base, &bounce[at..at + n]) {
                return finish(at as u64, Some(error));
            }
            at += n;
        }
        return ok(got);
    }
    let mut done = 0u64;
    for (base, len) in iovecs {
        let result = read_into_user(&file, base, len, |chunk, _| file.read(chunk));
        match result {
            Ok(super::SyscallReturn::Return(n)) => {
                done += n as u64;
                if (n as u64) < len {
                    break;
                }
            }
            Ok(super::SyscallReturn::NoReturn) => break,
            Err(error) => return finish(done, Some(error)),
        }
    }
    ok(done)
}

pub fn sys_writev(fd: i32, iov: u64, count: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let file = ctx.file(fd)?;
    let iovecs = read_iovecs(iov, count)?;
    // Gather first: one write keeps a line from writev(stdout) together.
    let total: u64 = iovecs.iter().map(|v| v.1).sum();
    if total <= CHUNK as u64 {
        let mut gathered = Vec::with_capacity(total as usize);
        for (base, len) in iovecs {
            let start = gathered.len();
            gathered.resize(start + len as usize, 0);
            uaccess::read_bytes(base, &mut gathered[start..])?;
        }
        if gathered.is_empty() {
            return ok(0);
        }
        return match file.write(&gathered) {
            Ok(n) => ok(n),
            Err(error) => Err(write_error(ctx, error)),
        };
    }
    let mut done = 0u64;
    for (base, len) in iovecs {
        match write_from_user(ctx, base, len, |chunk, _| file.write(chunk)) {
            Ok(super::SyscallReturn::Return(n)) => {
                done += n as u64;
                if (n as u64) < len {
                    break;
                }
            }
            Ok(super::SyscallReturn::NoReturn) => break,
            Err(error) => return finish(done, Some(error)),
        }
    }
    ok(done)
}

/// `sendfile(out, in, offset*, count)`: through a kernel buffer.
pub fn sys_sendfile(out_fd: i32, in_fd: i32, offset_ptr: u64, count: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let (input, output): (Arc<OpenFile>, Arc<OpenFile>) = (ctx.file(in_fd)?, ctx.file(out_fd)?);
    if !input.is_readable() || !output.is_writable() {
        return_errno_with_message!(EBADF, "sendfile: input not readable or output not writable");
    }
    let mut offset = if offset_ptr != 0 {
        let value = uaccess::read_u64(offset_ptr)? as i64;
        check_offset(value)?;
        Some(value)
    } else {
        None
    };
    let count = count.min(MAX_RW_COUNT);
    let mut bounce = vec![0u8; (count as usize).min(CHUNK)];
    let mut done = 0u64;
    let mut failure = None;
    while done < count {
        let want = ((count - done) as usize).min(CHUNK);
        let got = match offset {
            Some(at) => input.pread(&mut bounce[..want], at),
            None => input.read(&mut bounce[..want]),
        };
        let got = match got {
            Ok(0) => break,
            Ok(got) => got,
            Err(error) => {
                failure = Some(error);
                break;
            }
        };
        let mut put = 0;
        while put < got {
            match output.write(&bounce[put..got]) {
                Ok(n) => put += n,
                Err(error) => {
                    failure = Some(write_error(ctx, error));
                    break;
                }
            }
        }
        done += put as u64;
        if let Some(at) = offset.as_mut() {
            *at += put as i64;
        }
        if failure.is_some() || got < want || !is_regular(&input) {
            break;
        }
    }
    if let (Some(at), true) = (offset, offset_ptr != 0) {
        uaccess::write_u64(offset_ptr, at as u64)?;
    }
    finish(done, failure)
}

pub fn sys_getdents64(fd: i32, buf: u64, count: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let file = ctx.file(fd)?;
    let mut bounce = vec![0u8; (count as usize).min(CHUNK)];
    let n = file.getdents64(&mut bounce)?;
    uaccess::write_bytes(buf, &bounce[..n])?;
    ok(n)
}
