//! How a process ended or changed state, and the words `wait4`/`waitid`
//! report: the `wait4` status (`WIFEXITED`, `WIFSIGNALED`, `WIFSTOPPED`,
//! `WIFCONTINUED`) and the `waitid` `si_code`/`si_status` pair.
//!
//! Owns: [`ExitStatus`], the job-control state of a process
//! ([`JobControl`]: stopped or not, and the stop/continue event its
//! parent's wait has yet to hear about) and the wait option bits.

/// `wait4` options.
pub const WNOHANG: u32 = 1;
pub const WUNTRACED: u32 = 2;
pub const WCONTINUED: u32 = 8;
pub const WNOTHREAD: u32 = 0x2000_0000;
pub const WALL: u32 = 0x4000_0000;
pub const WCLONE: u32 = 0x8000_0000;
/// `waitid` options (`WSTOPPED` is `WUNTRACED`).
pub const WSTOPPED: u32 = 2;
pub const WEXITED: u32 = 4;
pub const WNOWAIT: u32 = 0x0100_0000;
/// `waitid` id types.
pub const P_ALL: u32 = 0;
pub const P_PID: u32 = 1;
pub const P_PGID: u32 = 2;

/// `si_code` values of SIGCHLD and `waitid`.
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

const SIGCONT: u32 = 18;

/// The end of a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// `exit(code)`: only the low 8 bits survive.
    Exited(u8),
    /// Killed by a signal (`core`: a core dump was written; never here).
    Signaled { signal: u32, core: bool },
}

impl ExitStatus {
    /// From the `exit`/`exit_group` argument.
    pub fn exited(code: u64) -> Self {
        ExitStatus::Exited(code as u8)
    }

    /// The status word `wait4` stores.
    pub fn wait_status(self) -> u32 {
        match self {
            ExitStatus::Exited(code) => u32::from(code) << 8,
            ExitStatus::Signaled { signal, core } => (signal & 0x7f) | if core { 0x80 } else { 0 },
        }
    }

    /// `si_code` and `si_status` for SIGCHLD and `waitid`.
    pub fn child_code(self) -> (i32, i32) {
        match self {
            ExitStatus::Exited(code) => (CLD_EXITED, i32::from(code)),
            ExitStatus::Signaled { signal, core: false } => (CLD_KILLED, signal as i32),
            ExitStatus::Signaled { signal, core: true } => (CLD_DUMPED, signal as i32),
        }
    }

    /// The status a shell reports and the VM's exit status when PID 1
    /// ends: the code, or 128 + the signal number.
    pub fn shell_status(self) -> u8 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled { signal, .. } => 128u32.saturating_add(signal).min(255) as u8,
        }
    }
}

/// A job-control change of a live child that `wait4(WUNTRACED /
/// WCONTINUED)` and `waitid(WSTOPPED / WCONTINUED)` report once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobEvent {
    /// Stopped by this signal.
    Stopped(u32),
    /// Continued by SIGCONT.
    Continued,
}

impl JobEvent {
    /// The `wait4` status: `0x7f | sig << 8` (WIFSTOPPED), `0xffff`
    /// (WIFCONTINUED).
    pub fn wait_status(self) -> u32 {
        match self {
            JobEvent::Stopped(sig) => 0x7f | (sig & 0xff) << 8,
            JobEvent::Continued => 0xffff,
        }
    }

    /// `si_code` and `si_status` for SIGCHLD and `waitid`.
    pub fn child_code(self) -> (i32, i32) {
        match self {
            JobEvent::Stopped(sig) => (CLD_STOPPED, sig as i32),
            JobEvent::Continued => (CLD_CONTINUED, SIGCONT as i32),
        }
    }
}

/// Job-control state of a process (Linux's `SIGNAL_STOP_*` flags and
/// `group_exit_code`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobControl {
    /// The signal the process is stopped by, while stopped.
    stopped_by: Option<u32>,
    /// A stop signal was taken off the pending set and the stop has not
    /// happened yet; a SIGCONT in between cancels it (Linux's
    /// `SIGNAL_STOP_DEQUEUED`).
    stop_dequeued: bool,
    /// The last change the parent's wait has not reported yet (a new
    /// change replaces it, as Linux's flags do).
    unreported: Option<JobEvent>,
}

impl JobControl {
    pub fn is_stopped(&self) -> bool {
        self.stopped_by.is_some()
    }

    /// A stop signal was dequeued: the stop is armed.
    pub fn stop_dequeued(&mut self) {
        self.stop_dequeued = true;
    }

    /// Stop by `sig`, unless a SIGCONT came after the signal was dequeued.
    /// Returns whether the process is now stopped.
    pub fn stop(&mut self, sig: u32) -> bool {
        if !core::mem::take(&mut self.stop_dequeued) {
            return false;
        }
        self.stopped_by = Some(sig);
        self.unreported = Some(JobEvent::Stopped(sig));
        true
    }

    /// SIGCONT: cancel an armed stop; continue if stopped (returns true
    /// then: the parent is told).
    pub fn cont(&mut self) -> bool {
        self.stop_dequeued = false;
        if self.stopped_by.take().is_some() {
            self.unreported = Some(JobEvent::Continued);
            return true;
        }
        false
    }

    /// The unreported change a wait with these options would report
    /// (a stop is reported only while still stopped).
    pub fn report(&self, stopped: bool, continued: bool) -> Option<JobEvent> {
        match self.unreported? {
            JobEvent::Stopped(sig) if stopped && self.stopped_by == Some(sig) => Some(JobEvent::Stopped(sig)),
            JobEvent::Continued if continued => Some(JobEvent::Continued),
            _ => None,
        }
    }

    /// The parent's wait consumed `event`.
    pub fn consume(&mut self, event: JobEvent) {
        if self.unreported == Some(event) {
            self.unreported = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_linux() {
        assert_eq!(ExitStatus::exited(3).wait_status(), 0x300);
        assert_eq!(ExitStatus::exited(256 + 7).wait_status(), 0x700);
        assert_eq!(ExitStatus::Signaled { signal: 11, core: false }.wait_status(), 11);
        assert_eq!(ExitStatus::Signaled { signal: 6, core: true }.wait_status(), 0x86);
        assert_eq!(ExitStatus::Signaled { signal: 9, core: false }.shell_status(), 137);
        assert_eq!(ExitStatus::exited(42).shell_status(), 42);
        assert_eq!(ExitStatus::exited(42).child_code(), (CLD_EXITED, 42));
        assert_eq!(ExitStatus::Signaled { signal: 15, core: false }.child_code(), (CLD_KILLED, 15));
        // WIFSTOPPED/WSTOPSIG and WIFCONTINUED of glibc/musl.
        assert_eq!(JobEvent::Stopped(19).wait_status(), 0x137f);
        assert_eq!(JobEvent::Stopped(20).wait_status(), 0x147f);
        assert_eq!(JobEvent::Continued.wait_status(), 0xffff);
        assert_eq!(JobEvent::Stopped(21).child_code(), (CLD_STOPPED, 21));
        assert_eq!(JobEvent::Continued.child_code(), (CLD_CONTINUED, 18));
    }

    #[test]
    fn stop_continue_and_reports() {
        let mut job = JobControl::default();
        assert!(!job.stop(19), "no stop without a dequeued stop signal");
        job.stop_dequeued();
        assert!(job.stop(19) && job.is_stopped());
        assert_eq!(job.report(false, true), None);
        assert_eq!(job.report(true, false), Some(JobEvent::Stopped(19)));
        job.consume(JobEvent::Stopped(19));
        assert_eq!(job.report(true, true), None, "reported once");
        assert!(job.cont() && !job.is_stopped());
        assert_eq!(job.report(true, false), None);
        assert_eq!(job.report(false, true), Some(JobEvent::Continued));
        assert!(!job.cont(), "not stopped: nothing to continue");
        // SIGCONT between dequeue and stop cancels the stop.
        job.stop_dequeued();
        job.cont();
        assert!(!job.stop(20) && !job.is_stopped());
        // A stop not waited for, then continued: only the continue is left.
        job.stop_dequeued();
        job.stop(20);
        job.cont();
        assert_eq!(job.report(true, false), None);
        assert_eq!(job.report(true, true), Some(JobEvent::Continued));
    }
}
