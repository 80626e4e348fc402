//! What becomes of a system call a signal interrupted: Linux's
//! `ERESTARTSYS` / `ERESTARTNOINTR` / `ERESTARTNOHAND` /
//! `ERESTART_RESTARTBLOCK` rules (arch/x86/kernel/signal.c:
//! `handle_signal` when a handler runs, `arch_do_signal_or_restart`
//! when none does, e.g. after a stop and SIGCONT).
//!
//! Which syscall returns which code (as Linux): pipe and tty reads,
//! `wait4`/`waitid` and `futex` waits without a timeout `ERESTARTSYS`;
//! `pause`, `rt_sigsuspend`, `poll`, `select` and absolute
//! `clock_nanosleep` `ERESTARTNOHAND`; `nanosleep`, relative
//! `clock_nanosleep` and timed `futex` waits `ERESTART_RESTARTBLOCK`.

use crate::error::Errno;

/// `SA_RESTART` of `sa_flags`.
const SA_RESTART: u64 = 0x1000_0000;

/// The restart code a syscall ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartKind {
    Sys,
    NoIntr,
    NoHand,
    RestartBlock,
}

/// What the interrupted syscall turns into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartAction {
    /// Return `-EINTR`.
    Eintr,
    /// Execute the same syscall again, same arguments.
    Again,
    /// Execute `restart_syscall` (219), which continues from the state the
    /// syscall saved (the rest of a sleep).
    RestartSyscall,
}

impl RestartKind {
    /// The kind for an errno, if it is a restart code. (`ERESTART`, 85,
    /// is what older code here returns for `ERESTARTSYS`.)
    pub fn from_errno(errno: Errno) -> Option<RestartKind> {
        Some(match errno {
            Errno::ERESTARTSYS | Errno::ERESTART => RestartKind::Sys,
            Errno::ERESTARTNOINTR => RestartKind::NoIntr,
            Errno::ERESTARTNOHAND => RestartKind::NoHand,
            Errno::ERESTART_RESTARTBLOCK => RestartKind::RestartBlock,
            _ => return None,
        })
    }

    /// A handler with `sa_flags` is about to run.
    pub fn with_handler(self, sa_flags: u64) -> RestartAction {
        match self {
            RestartKind::RestartBlock | RestartKind::NoHand => RestartAction::Eintr,
            RestartKind::Sys if sa_flags & SA_RESTART == 0 => RestartAction::Eintr,
            RestartKind::Sys | RestartKind::NoIntr => RestartAction::Again,
        }
    }

    /// No handler runs (the signal stopped and continued the process, or
    /// was ignored by the time it was dequeued).
    pub fn without_handler(self) -> RestartAction {
        match self {
            RestartKind::RestartBlock => RestartAction::RestartSyscall,
            _ => RestartAction::Again,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linux_restart_rules() {
        use RestartAction::*;
        let k = |e| RestartKind::from_errno(e).unwrap();
        assert_eq!(RestartKind::from_errno(Errno::EINTR), None);
        assert_eq!(k(Errno::ERESTARTSYS).with_handler(0), Eintr);
        assert_eq!(k(Errno::ERESTARTSYS).with_handler(SA_RESTART), Again);
        assert_eq!(k(Errno::ERESTART).with_handler(SA_RESTART), Again);
        assert_eq!(k(Errno::ERESTARTNOHAND).with_handler(SA_RESTART), Eintr);
        assert_eq!(k(Errno::ERESTART_RESTARTBLOCK).with_handler(SA_RESTART), Eintr);
        assert_eq!(k(Errno::ERESTARTNOINTR).with_handler(0), Again);
        assert_eq!(k(Errno::ERESTARTSYS).without_handler(), Again);
        assert_eq!(k(Errno::ERESTARTNOHAND).without_handler(), Again);
        assert_eq!(k(Errno::ERESTART_RESTARTBLOCK).without_handler(), RestartSyscall);
        assert_eq!(Errno::ERESTARTSYS as i32, 512);
        assert_eq!(Errno::ERESTARTNOHAND as i32, 514);
        assert_eq!(Errno::ERESTART_RESTARTBLOCK as i32, 516);
    }
}

/// What `restart_syscall` continues (Linux's `restart_block`), saved by a
/// syscall that ended with `ERESTART_RESTARTBLOCK`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartBlock {
    /// A relative sleep: until this monotonic time; the time left goes to
    /// `rem` (if non-zero) when interrupted again.
    Sleep { deadline_ns: u64, rem: u64 },
    /// A timed futex wait: on `uaddr` while it holds `val`, until this
    /// monotonic time.
    FutexWait { uaddr: u64, val: u32, deadline_ns: u64 },
}
