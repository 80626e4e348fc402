//! Pipes: a bounded byte queue between a read end and a write end, with
//! Linux's semantics — reads block until data or until every writer is
//! gone (then 0), writes block for room and fail with `EPIPE` once every
//! reader is gone (the syscall layer adds SIGPIPE), writes up to
//! `PIPE_BUF` bytes are atomic, `O_NONBLOCK` gives `EAGAIN`.
//!
//! Owns: the pipe buffer and its ends, which are [`Device`]s on FIFO
//! inodes (so `fstat` shows a FIFO and the open-file layer needs nothing
//! special): anonymous ones of an internal pipefs for `pipe`, and named
//! FIFOs (`mknod S_IFIFO`) of any filesystem, whose opens wait for the
//! other side as Linux's `fifo_open` does.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::{Arc, Weak};
use core::sync::atomic::{AtomicU64, Ordering};

use framework::sync::WaitQueue;

use crate::error::Result;
use crate::fs::device::{Device, PollEvents};
use crate::fs::flags::{O_ACCMODE, O_NONBLOCK, O_RDONLY, O_WRONLY};
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
const FIONREAD: u32 = 0x541b;

struct PipeState {
    buffer: VecDeque<u8>,
    readers: usize,
    writers: usize,
    /// Opens for reading / writing so far (Linux's `r_counter`,
    /// `w_counter`): a FIFO open waits for the other side's to change.
    read_opens: u64,
    write_opens: u64,
}

struct Pipe {
    state: Mutex<PipeState>,
    /// Readers wait here for data or the last writer leaving.
    readable: Arc<WaitQueue>,
    /// Writers wait here for room or the last reader leaving.
    writable: Arc<WaitQueue>,
    /// FIFO opens wait here for the other side to open.
    opened: Arc<WaitQueue>,
}

impl Pipe {
    fn new() -> Arc<Pipe> {
        Arc::new(Pipe {
            state: Mutex::new(PipeState { buffer: VecDeque::new(), readers: 0, writers: 0, read_opens: 0, write_opens: 0 }),
            readable: Arc::new(WaitQueue::new()),
            writable: Arc::new(WaitQueue::new()),
            opened: Arc::new(WaitQueue::new()),
        })
    }
}

/// One open of a pipe or FIFO: a read end, a write end, or both (a FIFO
/// opened `O_RDWR`). Counts itself in the pipe's readers/writers while it
/// lives.
pub struct PipeEnd {
    pipe: Arc<Pipe>,
    reads: bool,
    writes: bool,
    /// `write_opens` when this end was opened (Linux's `f_version` trick):
    /// a reader reports `POLLHUP` for "no writers" only once a writer has
    /// come since, so a FIFO reader opened `O_NONBLOCK` before any writer
    /// does not see a hang-up.
    write_opens_at_open: u64,
}

impl PipeEnd {
    fn new(pipe: Arc<Pipe>, reads: bool, writes: bool) -> PipeEnd {
        let write_opens_at_open = {
            let mut state = pipe.state.lock();
            if reads {
                state.readers += 1;
                state.read_opens += 1;
            }
            if writes {
                state.writers += 1;
                state.write_opens += 1;
            }
            state.write_opens
        };
        pipe.opened.wake_all();
        PipeEnd { pipe, reads, writes, write_opens_at_open }
    }
}

impl Device for PipeEnd {
    fn read(&self, _offset: u64, buf: &mut [u8], nonblocking: bool) -> Result<usize> {
        if !self.reads {
            return_errno_with_message!(EBADF, "read from the write end of a pipe");
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let pipe = &self.pipe;
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

    fn write(&self, _offset: u64, buf: &[u8], nonblocking: bool) -> Result<usize> {
        if !self.writes {
            return_errno_with_message!(EBADF, "write to the read end of a pipe");
        }
        let pipe = &self.pipe;
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

    /// `FIONREAD`: the bytes waiting in the pipe (Linux's `pipe_ioctl`).
    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64> {
        if cmd != FIONREAD {
            return_errno_with_message!(ENOTTY, "pipes have only FIONREAD");
        }
        let waiting = self.pipe.state.lock().buffer.len();
        crate::uaccess::write_i32(arg, waiting as i32)?;
        Ok(0)
    }

    /// Linux's `pipe_poll`.
    fn poll(&self, interest: PollEvents) -> PollEvents {
        let state = self.pipe.state.lock();
        let mut ready = PollEvents::EMPTY;
        if self.reads {
            if !state.buffer.is_empty() {
                ready = ready.union(PollEvents::IN).union(PollEvents::RDNORM);
            }
            if state.writers == 0 && state.write_opens != self.write_opens_at_open {
                ready = ready.union(PollEvents::HUP);
            }
        }
        if self.writes {
            if state.buffer.len() + PIPE_BUF <= PIPE_CAPACITY {
                ready = ready.union(PollEvents::OUT).union(PollEvents::WRNORM);
            }
            if state.readers == 0 {
                ready = ready.union(PollEvents::ERR);
            }
        }
        ready.intersection(interest.union(PollEvents::HUP).union(PollEvents::ERR))
    }

    fn is_seekable(&self) -> bool {
        false
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        let mut state = self.pipe.state.lock();
        if self.reads {
            state.readers -= 1;
        }
        if self.writes {
            state.writers -= 1;
        }
        drop(state);
        self.pipe.readable.wake_all();
        self.pipe.writable.wake_all();
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

/// The pipe of each FIFO inode that is open somewhere, by (st_dev, ino):
/// inode numbers are never reused within a filesystem instance, and the
/// entry dies with the last open end (the data goes with it, as on Linux).
static FIFOS: Mutex<BTreeMap<(DeviceId, u64), Weak<Pipe>>> = Mutex::new(BTreeMap::new());

/// The pipe behind FIFO inode `key`, made on first open.
fn fifo_pipe(key: (DeviceId, u64)) -> Arc<Pipe> {
    let mut fifos = FIFOS.lock();
    if let Some(pipe) = fifos.get(&key).and_then(Weak::upgrade) {
        return pipe;
    }
    fifos.retain(|_, pipe| pipe.strong_count() > 0);
    let pipe = Pipe::new();
    fifos.insert(key, Arc::downgrade(&pipe));
    pipe
}

/// Open the FIFO at `path` with `flags`, as Linux's `fifo_open`: a reader
/// waits for a writer (unless `O_NONBLOCK`), a writer for a reader
/// (`ENXIO` at once under `O_NONBLOCK`), `O_RDWR` never waits. A signal
/// ends the wait (`ERESTART`).
pub fn open_fifo(path: &Path, flags: u32) -> Result<Arc<dyn Device>> {
    let metadata = path.inode().metadata();
    let pipe = fifo_pipe((metadata.dev, metadata.ino));
    let nonblocking = flags & O_NONBLOCK != 0;
    let end = match flags & O_ACCMODE {
        O_RDONLY => {
            let end = PipeEnd::new(pipe.clone(), true, false);
            if !nonblocking {
                let opens = end.write_opens_at_open;
                wait_for_partner(&pipe, |state| state.writers > 0 || state.write_opens != opens)?;
            }
            end
        }
        O_WRONLY => {
            if nonblocking && pipe.state.lock().readers == 0 {
                return_errno_with_message!(ENXIO, "FIFO opened O_WRONLY|O_NONBLOCK without a reader");
            }
            let opens = pipe.state.lock().read_opens;
            let end = PipeEnd::new(pipe.clone(), false, true);
            wait_for_partner(&pipe, |state| state.readers > 0 || state.read_opens != opens)?;
            end
        }
        _ => PipeEnd::new(pipe, true, true),
    };
    Ok(Arc::new(end))
}

/// Sleep until `partner_came` holds (the caller's end, dropped on error,
/// keeps its count meanwhile so the other side's open can see it).
fn wait_for_partner(pipe: &Arc<Pipe>, partner_came: impl Fn(&PipeState) -> bool) -> Result<()> {
    wait(&pipe.opened, || partner_came(&pipe.state.lock()).then_some(Ok(())))
}

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
    // Registered like a FIFO, so reopening it (/proc/<pid>/fd/N) finds it.
    let metadata = path.inode().metadata();
    let pipe = fifo_pipe((metadata.dev, metadata.ino));
    let reader = OpenFile::new_pseudo(path.clone(), O_RDONLY | extra_flags, Some(Arc::new(PipeEnd::new(pipe.clone(), true, false))));
    let writer = OpenFile::new_pseudo(path, O_WRONLY | extra_flags, Some(Arc::new(PipeEnd::new(pipe, false, true))));
    Ok((reader, writer))
}
