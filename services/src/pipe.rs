//! Pipes: a bounded byte queue between a read end and a write end, with
//! Linux's semantics — reads block until data or until every writer is
//! gone (then 0), writes block for room and fail with `EPIPE` once every
//! reader is gone (the syscall layer adds SIGPIPE), writes up to
//! `PIPE_BUF` bytes are atomic, `O_NONBLOCK` gives `EAGAIN`.
//!
//! Owns: the pipe buffer and its two ends, which are [`Device`]s on
//! anonymous FIFO inodes of an internal pipefs (so `fstat` shows a FIFO
//! and the open-file layer needs nothing special).

use alloc::collections::VecDeque;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use framework::sync::WaitQueue;

use crate::error::Result;
use crate::fs::device::{Device, PollEvents};
use crate::fs::flags::{O_RDONLY, O_WRONLY};
use crate::fs::inode::NewInode;
use crate::fs::mount::Mount;
use crate::fs::ramfs::RamFs;
use crate::fs::types::{DeviceId, InodeType};
use crate::fs::{Credentials, MountFlags, OpenFile, Path};
use crate::return_errno_with_message;
use crate::sync::Mutex;

/// Bytes a pipe holds (Linux's default: 16 pages).
pub const PIPE_CAPACITY: usize = 65536;
/// Writes of at most this many bytes are never interleaved.
pub const PIPE_BUF: usize = 4096;
const PIPEFS_MAGIC: u64 = 0x5049_5045;

struct PipeState {
    buffer: VecDeque<u8>,
    readers: usize,
    writers: usize,
}

struct Pipe {
    state: Mutex<PipeState>,
    /// Readers wait here for data or the last writer leaving.
    readable: Arc<WaitQueue>,
    /// Writers wait here for room or the last reader leaving.
    writable: Arc<WaitQueue>,
}

pub struct PipeReader(Arc<Pipe>);
pub struct PipeWriter(Arc<Pipe>);

impl Device for PipeReader {
    fn read(&self, _offset: u64, buf: &mut [u8], nonblocking: bool) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let pipe = &self.0;
        let result = wait(&pipe.readable, || {
            let mut state = pipe.state.lock();
            if !state.buffer.is_empty() {
                let n = buf.len().min(state.buffer.len());
                for (slot, byte) in buf.iter_mut().zip(state.buffer.drain(..n)) {
                    *slot = byte;
                }
                return Some(Ok(n));
            }
            if state.writers == 0 {
                return Some(Ok(0));
            }
            if nonblocking {
                return Some(Err(crate::errno!(EAGAIN, "pipe empty")));
            }
            None
        });
        pipe.writable.wake_all();
        result
    }

    fn write(&self, _offset: u64, _buf: &[u8], _nonblocking: bool) -> Result<usize> {
        return_errno_with_message!(EBADF, "write to the read end of a pipe")
    }

    fn poll(&self, interest: PollEvents) -> PollEvents {
        let state = self.0.state.lock();
        let mut ready = PollEvents::EMPTY;
        if !state.buffer.is_empty() {
            ready = ready.union(PollEvents::IN).union(PollEvents::RDNORM);
        }
        if state.writers == 0 {
            ready = ready.union(PollEvents::HUP);
        }
        ready.intersection(interest.union(PollEvents::HUP).union(PollEvents::ERR))
    }

    fn is_seekable(&self) -> bool {
        false
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        self.0.state.lock().readers -= 1;
        self.0.writable.wake_all();
    }
}

impl Device for PipeWriter {
    fn read(&self, _offset: u64, _buf: &mut [u8], _nonblocking: bool) -> Result<usize> {
        return_errno_with_message!(EBADF, "read from the write end of a pipe")
    }

    fn write(&self, _offset: u64, buf: &[u8], nonblocking: bool) -> Result<usize> {
        let pipe = &self.0;
        let mut written = 0;
        while written < buf.len() {
            let step = wait(&pipe.writable, || {
                let mut state = pipe.state.lock();
                if state.readers == 0 {
                    return Some(Err(crate::errno!(EPIPE, "no reader on the pipe")));
                }
                let room = PIPE_CAPACITY - state.buffer.len();
                let rest = buf.len() - written;
                // Small writes go in whole or wait; big ones in pieces.
                let fits = if rest <= PIPE_BUF { room >= rest } else { room > 0 };
                if fits {
                    let n = rest.min(room);
                    // The buffer lives on the kernel heap: growing it must
                    // not eat the memory kept back for the kernel (Linux's
                    // pipe_write says ENOMEM when it gets no page).
                    let grow = (state.buffer.len() + n).saturating_sub(state.buffer.capacity());
                    if grow > 0 && (!framework::mm::user_data_may_grow(grow as u64) || state.buffer.try_reserve(n).is_err()) {
                        return Some(Err(crate::errno!(ENOMEM, "no memory for pipe data")));
                    }
                    state.buffer.extend(&buf[written..written + n]);
                    return Some(Ok(n));
                }
                if nonblocking {
                    return Some(Err(crate::errno!(EAGAIN, "pipe full")));
                }
                None
            });
            match step {
                Ok(n) => {
                    written += n;
                    pipe.readable.wake_all();
                }
                Err(error) if written == 0 => return Err(error),
                Err(_) => break,
            }
        }
        Ok(written)
    }

    fn poll(&self, interest: PollEvents) -> PollEvents {
        let state = self.0.state.lock();
        let mut ready = PollEvents::EMPTY;
        if state.buffer.len() + PIPE_BUF <= PIPE_CAPACITY {
            ready = ready.union(PollEvents::OUT).union(PollEvents::WRNORM);
        }
        if state.readers == 0 {
            ready = ready.union(PollEvents::ERR);
        }
        ready.intersection(interest.union(PollEvents::HUP).union(PollEvents::ERR))
    }

    fn is_seekable(&self) -> bool {
        false
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.0.state.lock().writers -= 1;
        self.0.readable.wake_all();
    }
}

/// A wait that a signal interrupts (`ERESTART`, see
/// `Thread::wait_interruptible`) when a user thread waits.
fn wait<R>(queue: &Arc<WaitQueue>, condition: impl FnMut() -> Option<Result<R>>) -> Result<R> {
    match crate::process::current_thread() {
        Some(thread) => thread.wait_interruptible(queue, condition),
        None => crate::sync::wait_until(queue, condition),
    }
}

static PIPEFS: spin::Once<Arc<Mount>> = spin::Once::new();
static NEXT_PIPE: AtomicU64 = AtomicU64::new(1);

/// A new pipe: (read end, write end), with `extra_flags` (`O_NONBLOCK`)
/// on both open files.
pub fn new_pipe(extra_flags: u32, creds: &Credentials) -> Result<(Arc<OpenFile>, Arc<OpenFile>)> {
    let mount = PIPEFS.call_once(|| Mount::new_root(RamFs::build("pipefs", PIPEFS_MAGIC, None, 0o700), MountFlags::empty()));
    let name = alloc::format!("pipe:[{}]", NEXT_PIPE.fetch_add(1, Ordering::Relaxed));
    let root = mount.root_dentry().clone();
    let init = NewInode { perm: 0o600, uid: creds.uid, gid: creds.gid, rdev: DeviceId::NONE };
    let dentry = root.create_child(name.as_bytes(), InodeType::Fifo, init)?;
    // Anonymous: the name goes, the inode lives as long as the ends.
    root.unlink_child(name.as_bytes())?;
    let path = Path::new(mount.clone(), dentry);
    let pipe = Arc::new(Pipe {
        state: Mutex::new(PipeState { buffer: VecDeque::new(), readers: 1, writers: 1 }),
        readable: Arc::new(WaitQueue::new()),
        writable: Arc::new(WaitQueue::new()),
    });
    let reader = OpenFile::new(path.clone(), O_RDONLY | extra_flags, Some(Arc::new(PipeReader(pipe.clone()))));
    let writer = OpenFile::new(path, O_WRONLY | extra_flags, Some(Arc::new(PipeWriter(pipe))));
    Ok((reader, writer))
}
