//! `poll`, `ppoll`, `select`, `pselect6`: readiness of open files, waited
//! for by polling every few milliseconds (drivers have no wake-up hooks
//! for poll yet).
//!
//! Owns Linux's argument rules of the four calls (fs/select.c): `select`
//! fails with `EINVAL` for `nfds < 0` or a timeout that does not
//! normalise, `EBADF` when a set names a closed fd, `EFAULT` for an
//! unreadable set; `nfds` beyond the fd table is clamped. `select`,
//! `pselect6` and `ppoll` write the time left back into a non-zero
//! timeout (errors writing it are ignored, as Linux does). `ppoll` and
//! `pselect6` put their signal mask in force while they wait; it stays
//! until a handler ran when a signal interrupted the wait (so the
//! handler runs under it), else it is restored at once.

use alloc::vec;
use alloc::vec::Vec;
use core::time::Duration;

use framework::arch::tsc;

use super::time::read_timespec;
use super::{ok, SyscallContext, SyscallResult};
use crate::error::{Errno, Result};
use crate::fs::PollEvents;
use crate::process::signal::{SigSet, SIGSET_SIZE};
use crate::return_errno_with_message;
use crate::uaccess;

const POLL_INTERVAL: Duration = Duration::from_millis(5);
const NSEC_PER_SEC: u64 = 1_000_000_000;
const USEC_PER_SEC: i64 = 1_000_000;

/// One fd to watch: what is asked, what was found.
struct Watch {
    fd: i32,
    events: PollEvents,
    revents: PollEvents,
}

/// Poll `watches` until one is ready, `deadline` (monotonic ns; `None`:
/// never) passes, or a signal is pending (`EINTR`). Returns how many are
/// ready. Closed fds report `NVAL`.
fn wait_ready(watches: &mut [Watch], deadline: Option<u64>, ctx: &SyscallContext) -> Result<usize> {
    loop {
        let mut ready = 0usize;
        for watch in watches.iter_mut() {
            watch.revents = if watch.fd < 0 {
                PollEvents::EMPTY
            } else {
                match ctx.file(watch.fd) {
                    Ok(file) => file.poll(watch.events),
                    Err(_) => PollEvents::NVAL,
                }
            };
            if !watch.revents.is_empty() {
                ready += 1;
            }
        }
        let expired = deadline.is_some_and(|d| tsc::monotonic_ns() >= d);
        if ready > 0 || expired {
            return Ok(ready);
        }
        if ctx.thread.has_pending_work() {
            // EINTR after a handler; restarted after a stop (Linux).
            return_errno_with_message!(ERESTARTNOHAND, "wait interrupted by a signal");
        }
        crate::sync::sleep(POLL_INTERVAL);
    }
}

/// The absolute deadline of a relative timeout in ns.
fn deadline_after(timeout_ns: u64) -> u64 {
    tsc::monotonic_ns().saturating_add(timeout_ns)
}

/// Time left until `deadline` (0 once passed).
fn remaining(deadline: u64) -> u64 {
    deadline.saturating_sub(tsc::monotonic_ns())
}

// ---- signal masks of ppoll / pselect6 ----

/// Put `mask` (a user `sigset_t`, `size` bytes) in force for the wait;
/// the old mask goes to `saved_mask` (Linux's `set_user_sigmask`).
fn set_user_sigmask(mask: u64, size: u64, ctx: &SyscallContext) -> Result<()> {
    if mask == 0 {
        return Ok(());
    }
    if size != SIGSET_SIZE {
        return_errno_with_message!(EINVAL, "sigsetsize is not 8");
    }
    let new = SigSet(uaccess::read_u64(mask)? & !SigSet::UNBLOCKABLE.0);
    let mut state = ctx.thread.state.lock();
    if state.saved_mask.is_none() {
        state.saved_mask = Some(state.sigmask);
    }
    state.sigmask = new;
    Ok(())
}

/// After the wait: unless a signal interrupted it (its handler then runs
/// under the wait's mask and the frame restores the old one), the old
/// mask comes back now.
fn restore_sigmask(result: &Result<usize>, mask_was_set: bool, ctx: &SyscallContext) {
    let interrupted = matches!(result, Err(e) if matches!(e.errno(), Errno::EINTR | Errno::ERESTARTNOHAND));
    if mask_was_set && !interrupted {
        let mut state = ctx.thread.state.lock();
        if let Some(saved) = state.saved_mask.take() {
            state.sigmask = saved;
        }
    }
}

// ---- poll / ppoll ----

fn do_poll(fds_ptr: u64, nfds: u64, deadline: Option<u64>, ctx: &SyscallContext) -> Result<usize> {
    if nfds > u64::from(ctx.process.fds.lock().limit()) {
        return_errno_with_message!(EINVAL, "poll: more fds than RLIMIT_NOFILE");
    }
    let mut raw = vec![0u8; nfds as usize * 8];
    uaccess::read_bytes(fds_ptr, &mut raw)?;
    let mut watches: Vec<Watch> = raw
        .chunks_exact(8)
        .map(|entry| Watch {
            fd: i32::from_le_bytes([entry[0], entry[1], entry[2], entry[3]]),
            events: PollEvents::from_bits_truncate(u16::from_le_bytes([entry[4], entry[5]])),
            revents: PollEvents::EMPTY,
        })
        .collect();
    let ready = wait_ready(&mut watches, deadline, ctx)?;
    for (entry, watch) in raw.chunks_exact_mut(8).zip(&watches) {
        entry[6..8].copy_from_slice(&watch.revents.bits().to_le_bytes());
    }
    uaccess::write_bytes(fds_ptr, &raw)?;
    Ok(ready)
}

pub fn sys_poll(fds: u64, nfds: u64, timeout_ms: i32, ctx: &mut SyscallContext) -> SyscallResult {
    let deadline = (timeout_ms >= 0).then(|| deadline_after(timeout_ms as u64 * 1_000_000));
    ok(do_poll(fds, nfds, deadline, ctx)?)
}

pub fn sys_ppoll(fds: u64, nfds: u64, timeout: u64, sigmask: u64, sigsetsize: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let timeout_ns = if timeout != 0 { Some(read_timespec(timeout)?) } else { None };
    let deadline = timeout_ns.map(deadline_after);
    set_user_sigmask(sigmask, sigsetsize, ctx)?;
    let result = do_poll(fds, nfds, deadline, ctx);
    restore_sigmask(&result, sigmask != 0, ctx);
    write_back_timespec(timeout, timeout_ns, deadline);
    ok(result?)
}

/// Linux's `poll_select_finish` for a timespec: the time left, unless the
/// timeout was zero; a fault writing it is ignored.
fn write_back_timespec(addr: u64, timeout_ns: Option<u64>, deadline: Option<u64>) {
    let (Some(timeout_ns), Some(deadline)) = (timeout_ns, deadline) else { return };
    if timeout_ns == 0 {
        return;
    }
    let left = remaining(deadline);
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&(left / NSEC_PER_SEC).to_le_bytes());
    raw[8..].copy_from_slice(&(left % NSEC_PER_SEC).to_le_bytes());
    let _ = uaccess::write_bytes(addr, &raw);
}

// ---- select / pselect6 ----

/// Linux's POLLIN_SET, POLLOUT_SET, POLLEX_SET.
const IN_SET: PollEvents =
    PollEvents::IN.union(PollEvents::RDNORM).union(PollEvents::HUP).union(PollEvents::ERR);
const OUT_SET: PollEvents = PollEvents::OUT.union(PollEvents::WRNORM).union(PollEvents::ERR);
const EX_SET: PollEvents = PollEvents::PRI;

/// The three user `fd_set`s of a select, read as bit vectors of `nfds`
/// bits (whole longs, as Linux copies them); a null set is empty and is
/// not written back.
struct FdSets {
    addrs: [u64; 3],
    bits: [Vec<u8>; 3],
}

impl FdSets {
    fn read(nfds: usize, addrs: [u64; 3]) -> Result<FdSets> {
        let bytes = nfds.div_ceil(64) * 8;
        let mut bits = [vec![0u8; bytes], vec![0u8; bytes], vec![0u8; bytes]];
        for (set, &addr) in bits.iter_mut().zip(&addrs) {
            if addr != 0 {
                uaccess::read_bytes(addr, set)?;
            }
        }
        Ok(FdSets { addrs, bits })
    }

    fn get(&self, set: usize, fd: usize) -> bool {
        self.bits[set][fd / 8] & (1 << (fd % 8)) != 0
    }

    fn put(&mut self, set: usize, fd: usize, on: bool) {
        let mask = 1u8 << (fd % 8);
        if on {
            self.bits[set][fd / 8] |= mask;
        } else {
            self.bits[set][fd / 8] &= !mask;
        }
    }

    fn write_back(&self) -> Result<()> {
        for (set, &addr) in self.bits.iter().zip(&self.addrs) {
            if addr != 0 {
                uaccess::write_bytes(addr, set)?;
            }
        }
        Ok(())
    }
}

/// Linux's `core_sys_select`.
fn core_select(nfds: i32, addrs: [u64; 3], deadline: Option<u64>, ctx: &SyscallContext) -> Result<usize> {
    if nfds < 0 {
        return_errno_with_message!(EINVAL, "select: negative nfds");
    }
    let nfds = (nfds as u32).min(ctx.process.fds.lock().limit()) as usize;
    let mut sets = FdSets::read(nfds, addrs)?;
    let mut watches = Vec::new();
    for fd in 0..nfds {
        let wanted = [0, 1, 2].map(|set| sets.get(set, fd));
        if wanted.iter().any(|&w| w) {
            if ctx.file(fd as i32).is_err() {
                return_errno_with_message!(EBADF, "select: a set names a closed fd");
            }
            let mut events = EX_SET;
            if wanted[0] {
                events = events.union(IN_SET);
            }
            if wanted[1] {
                events = events.union(OUT_SET);
            }
            watches.push(Watch { fd: fd as i32, events, revents: PollEvents::EMPTY });
        }
    }
    wait_ready(&mut watches, deadline, ctx)?;
    let mut ready = 0;
    for watch in &watches {
        let fd = watch.fd as usize;
        for (set, class) in [IN_SET, OUT_SET, EX_SET].into_iter().enumerate() {
            let hit = sets.get(set, fd) && !watch.revents.intersection(class).is_empty();
            sets.put(set, fd, hit);
            ready += usize::from(hit);
        }
    }
    sets.write_back()?;
    Ok(ready)
}

pub fn sys_select(nfds: i32, inp: u64, outp: u64, exp: u64, tvp: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let mut timeout_ns = None;
    if tvp != 0 {
        let raw: [u8; 16] = uaccess::read_array(tvp)?;
        let sec = i64::from_le_bytes(raw[..8].try_into().unwrap_or([0; 8]));
        let usec = i64::from_le_bytes(raw[8..].try_into().unwrap_or([0; 8]));
        // As kern_select: whole seconds in tv_usec are carried over, and
        // then the timespec must be valid.
        let sec = sec.checked_add(usec / USEC_PER_SEC).unwrap_or(-1);
        let nsec = (usec % USEC_PER_SEC) * 1000;
        if sec < 0 || nsec < 0 {
            return_errno_with_message!(EINVAL, "select: invalid timeout");
        }
        timeout_ns = Some((sec as u64).saturating_mul(NSEC_PER_SEC).saturating_add(nsec as u64));
    }
    let deadline = timeout_ns.map(deadline_after);
    let result = core_select(nfds, [inp, outp, exp], deadline, ctx);
    if let (Some(timeout_ns), Some(deadline)) = (timeout_ns, deadline) {
        if timeout_ns != 0 {
            let left = remaining(deadline);
            let mut raw = [0u8; 16];
            raw[..8].copy_from_slice(&(left / NSEC_PER_SEC).to_le_bytes());
            raw[8..].copy_from_slice(&((left % NSEC_PER_SEC) / 1000).to_le_bytes());
            let _ = uaccess::write_bytes(tvp, &raw);
        }
    }
    ok(result?)
}

/// `pselect6(nfds, in, out, ex, timespec, {sigset*, size}*)`.
pub fn sys_pselect6(nfds: i32, inp: u64, outp: u64, exp: u64, tsp: u64, sig: u64, ctx: &mut SyscallContext) -> SyscallResult {
    let (mask, mask_size) = if sig != 0 {
        let raw: [u8; 16] = uaccess::read_array(sig)?;
        (
            u64::from_le_bytes(raw[..8].try_into().unwrap_or([0; 8])),
            u64::from_le_bytes(raw[8..].try_into().unwrap_or([0; 8])),
        )
    } else {
        (0, 0)
    };
    let timeout_ns = if tsp != 0 { Some(read_timespec(tsp)?) } else { None };
    let deadline = timeout_ns.map(deadline_after);
    set_user_sigmask(mask, mask_size, ctx)?;
    let result = core_select(nfds, [inp, outp, exp], deadline, ctx);
    restore_sigmask(&result, mask != 0, ctx);
    write_back_timespec(tsp, timeout_ns, deadline);
    ok(result?)
}
