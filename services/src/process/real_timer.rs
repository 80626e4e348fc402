//! The real-timer service: one kernel task that sends SIGALRM when a
//! process's `ITIMER_REAL` (`alarm`, `setitimer`) expires, wherever the
//! process is (running, or blocked in a syscall: the signal wakes it).
//!
//! Owns: the table of armed real timers (pid -> monotonic deadline), a
//! copy of each process's own [`IntervalTimer`](super::itimer) that the
//! process keeps authoritative: every change is made with the process's
//! `itimers` lock held, then this table's (that order, always).
//!
//! The service sleeps until the earliest deadline but never more than
//! [`MAX_NAP`] at a time while timers are armed (a timer armed meanwhile
//! may expire earlier: the framework has no wake-able timed sleep), and
//! sleeps on a wait queue when none is.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use framework::arch::tsc;
use framework::sync::WaitQueue;

use super::process::{find_process, Pid, Process};
use super::signal::SIGALRM;
use crate::sync::Mutex;

const MAX_NAP_NS: u64 = 10_000_000;
/// The longest the service sleeps while timers are armed.
pub const MAX_NAP: core::time::Duration = core::time::Duration::from_nanos(MAX_NAP_NS);

static ARMED: Mutex<BTreeMap<Pid, u64>> = Mutex::new(BTreeMap::new());
static KICK: WaitQueue = WaitQueue::new();
static SERVICE: spin::Once<()> = spin::Once::new();

/// Record `process`'s real-timer deadline (None: disarmed). Call with the
/// process's `itimers` lock held, right after changing its timer.
pub fn update(process: &Process, deadline: Option<u64>) {
    {
        let mut armed = ARMED.lock();
        match deadline {
            Some(at) => {
                armed.insert(process.pid(), at);
            }
            None => {
                armed.remove(&process.pid());
            }
        }
    }
    if deadline.is_some() {
        SERVICE.call_once(|| {
            framework::task::spawn("itimer-real", service_main);
        });
        KICK.wake_all();
    }
}

/// Forget the timer of a process that exits.
pub fn disarm(process: &Process) {
    let mut timers = process.itimers.lock();
    timers.real = Default::default();
    update(process, None);
}

fn service_main() {
    loop {
        let now = tsc::monotonic_ns();
        let due: Vec<Pid> = ARMED.lock().iter().filter(|(_, &at)| at <= now).map(|(&pid, _)| pid).collect();
        for pid in due {
            match find_process(pid) {
                Some(process) => fire(&process, now),
                None => {
                    ARMED.lock().remove(&pid);
                }
            }
        }
        let next = ARMED.lock().values().copied().min();
        match next {
            Some(at) => framework::task::sleep_until_ns(at.min(tsc::monotonic_ns().saturating_add(MAX_NAP_NS))),
            None => KICK.wait_until(|| (!ARMED.lock().is_empty()).then_some(())),
        }
    }
}

fn fire(process: &Process, now: u64) {
    let fired = {
        let mut timers = process.itimers.lock();
        let fired = timers.real.fire(now);
        update(process, timers.real.expires());
        fired
    };
    if fired {
        process.send_signal(SIGALRM);
    }
}
