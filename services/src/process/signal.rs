//! Signals as far as this stage needs them: numbers and names, default
//! actions, the per-process action table `rt_sigaction` records, signal
//! masks, and what a fatal signal does to the exit status.
//!
//! Owns: the bookkeeping only; running handlers (signal frames,
//! `rt_sigreturn`) is `signal_delivery`'s job, in the kernel.

use crate::error::Result;
use crate::return_errno_with_message;

pub const SIGHUP: u32 = 1;
pub const SIGINT: u32 = 2;
pub const SIGQUIT: u32 = 3;
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGABRT: u32 = 6;
pub const SIGBUS: u32 = 7;
pub const SIGFPE: u32 = 8;
pub const SIGKILL: u32 = 9;
pub const SIGUSR1: u32 = 10;
pub const SIGSEGV: u32 = 11;
pub const SIGUSR2: u32 = 12;
pub const SIGPIPE: u32 = 13;
pub const SIGALRM: u32 = 14;
pub const SIGTERM: u32 = 15;
pub const SIGSTKFLT: u32 = 16;
pub const SIGCHLD: u32 = 17;
pub const SIGCONT: u32 = 18;
pub const SIGSTOP: u32 = 19;
pub const SIGTSTP: u32 = 20;
pub const SIGTTIN: u32 = 21;
pub const SIGTTOU: u32 = 22;
pub const SIGURG: u32 = 23;
pub const SIGXCPU: u32 = 24;
pub const SIGXFSZ: u32 = 25;
pub const SIGVTALRM: u32 = 26;
pub const SIGPROF: u32 = 27;
pub const SIGWINCH: u32 = 28;
pub const SIGIO: u32 = 29;
pub const SIGPWR: u32 = 30;
pub const SIGSYS: u32 = 31;
/// Highest signal number (real-time signals are 32..=64).
pub const NSIG: u32 = 64;

/// `SIG_DFL` and `SIG_IGN` handler values.
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

/// `rt_sigprocmask` `how` values.
pub const SIG_BLOCK: u32 = 0;
pub const SIG_UNBLOCK: u32 = 1;
pub const SIG_SETMASK: u32 = 2;

/// The size of `sigset_t` the kernel ABI takes (`rt_sig*` `sigsetsize`).
pub const SIGSET_SIZE: u64 = 8;

const NAMES: [&str; 32] = [
    "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1",
    "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP",
    "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR",
    "SIGSYS",
];

/// `SIGSEGV`, or `SIGRT` for real-time signals.
pub fn name(sig: u32) -> &'static str {
    NAMES.get(sig as usize).copied().unwrap_or("SIGRT")
}

/// A valid signal number (1..=64)?
pub fn check_signal(sig: u32) -> Result<()> {
    if sig == 0 || sig > NSIG {
        return_errno_with_message!(EINVAL, "signal number out of range");
    }
    Ok(())
}

/// What a signal does when its action is `SIG_DFL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    /// Terminate and dump core (no core files here: same as Terminate).
    CoreDump,
    Ignore,
    Stop,
    Continue,
}

pub fn default_action(sig: u32) -> DefaultAction {
    match sig {
        SIGCHLD | SIGURG | SIGWINCH => DefaultAction::Ignore,
        SIGCONT => DefaultAction::Continue,
        SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU => DefaultAction::Stop,
        SIGQUIT | SIGILL | SIGTRAP | SIGABRT | SIGBUS | SIGFPE | SIGSEGV | SIGXCPU | SIGXFSZ | SIGSYS => {
            DefaultAction::CoreDump
        }
        _ => DefaultAction::Terminate,
    }
}

/// SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU: sending one cancels a pending
/// SIGCONT and the other way round (Linux's `sig_kernel_stop`).
pub fn is_stop_signal(sig: u32) -> bool {
    matches!(sig, SIGSTOP | SIGTSTP | SIGTTIN | SIGTTOU)
}

/// The stop signals as a set.
pub const STOP_SIGNALS: SigSet =
    SigSet((1 << (SIGSTOP - 1)) | (1 << (SIGTSTP - 1)) | (1 << (SIGTTIN - 1)) | (1 << (SIGTTOU - 1)));

/// A set of signals: bit `sig - 1` (the kernel `sigset_t` layout).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigSet(pub u64);

impl SigSet {
    pub const EMPTY: SigSet = SigSet(0);
    /// SIGKILL and SIGSTOP can never be blocked.
    pub const UNBLOCKABLE: SigSet = SigSet((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1)));

    pub const fn bit(sig: u32) -> u64 {
        1u64 << (sig - 1)
    }

    pub fn contains(self, sig: u32) -> bool {
        (1..=NSIG).contains(&sig) && self.0 & Self::bit(sig) != 0
    }

    pub fn add(&mut self, sig: u32) {
        if (1..=NSIG).contains(&sig) {
            self.0 |= Self::bit(sig);
        }
    }

    pub fn remove(&mut self, sig: u32) {
        if (1..=NSIG).contains(&sig) {
            self.0 &= !Self::bit(sig);
        }
    }

    /// The lowest signal in the set.
    pub fn first(self) -> Option<u32> {
        (self.0 != 0).then(|| self.0.trailing_zeros() + 1)
    }

    /// `rt_sigprocmask`: the new mask from `how` and `set` (SIGKILL and
    /// SIGSTOP silently stay unblocked).
    pub fn apply(self, how: u32, set: SigSet) -> Result<SigSet> {
        let mask = match how {
            SIG_BLOCK => self.0 | set.0,
            SIG_UNBLOCK => self.0 & !set.0,
            SIG_SETMASK => set.0,
            _ => return_errno_with_message!(EINVAL, "rt_sigprocmask: bad how"),
        };
        Ok(SigSet(mask & !Self::UNBLOCKABLE.0))
    }
}

/// `struct sigaction` of the x86-64 kernel ABI (`rt_sigaction`): handler,
/// flags, restorer, mask: 32 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: SigSet,
}

pub const SIGACTION_SIZE: usize = 32;

impl SigAction {
    pub fn from_bytes(b: &[u8; SIGACTION_SIZE]) -> SigAction {
        let word = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        SigAction { handler: word(0), flags: word(1), restorer: word(2), mask: SigSet(word(3)) }
    }

    pub fn to_bytes(self) -> [u8; SIGACTION_SIZE] {
        let mut b = [0u8; SIGACTION_SIZE];
        for (i, w) in [self.handler, self.flags, self.restorer, self.mask.0].into_iter().enumerate() {
            b[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    pub fn is_default(&self) -> bool {
        self.handler == SIG_DFL
    }

    pub fn is_ignored(&self) -> bool {
        self.handler == SIG_IGN
    }
}

/// The actions of all 64 signals of a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigActions([SigAction; NSIG as usize]);

impl Default for SigActions {
    fn default() -> Self {
        SigActions([SigAction::default(); NSIG as usize])
    }
}

impl SigActions {
    pub fn get(&self, sig: u32) -> SigAction {
        self.0[(sig.clamp(1, NSIG) - 1) as usize]
    }

    /// `rt_sigaction`: EINVAL for a bad number or for changing SIGKILL or
    /// SIGSTOP. Returns the old action.
    pub fn set(&mut self, sig: u32, action: SigAction) -> Result<SigAction> {
        check_signal(sig)?;
        if sig == SIGKILL || sig == SIGSTOP {
            return_errno_with_message!(EINVAL, "the action of SIGKILL and SIGSTOP cannot change");
        }
        let slot = &mut self.0[(sig - 1) as usize];
        let old = *slot;
        *slot = SigAction { mask: SigSet(action.mask.0 & !SigSet::UNBLOCKABLE.0), ..action };
        Ok(old)
    }

    /// At `execve`: handled signals go back to their default action;
    /// ignored ones stay ignored (POSIX).
    pub fn reset_for_exec(&mut self) {
        for action in self.0.iter_mut() {
            if !action.is_ignored() {
                *action = SigAction::default();
            }
        }
    }

    /// Is `sig` discarded on arrival: `SIG_IGN`, or `SIG_DFL` with an
    /// ignoring default (SIGCHLD, SIGURG, SIGWINCH, and SIGCONT, whose
    /// continuing happens when it is sent: Linux's `sig_kernel_ignore`)?
    pub fn is_ignored(&self, sig: u32) -> bool {
        let action = self.get(sig);
        action.is_ignored()
            || (action.is_default() && matches!(default_action(sig), DefaultAction::Ignore | DefaultAction::Continue))
    }

    /// Does `sig` stop the process when delivered (a stop signal with
    /// its default action)?
    pub fn is_stop(&self, sig: u32) -> bool {
        is_stop_signal(sig) && self.get(sig).is_default()
    }

    /// Would `sig` end the process now? (Default action terminate/core,
    /// or a handler, which cannot run yet.)
    pub fn is_fatal(&self, sig: u32) -> bool {
        if sig == SIGKILL {
            return true;
        }
        let action = self.get(sig);
        if action.is_ignored() {
            return false;
        }
        matches!(default_action(sig), DefaultAction::Terminate | DefaultAction::CoreDump)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_defaults() {
        assert_eq!(name(SIGSEGV), "SIGSEGV");
        assert_eq!(name(40), "SIGRT");
        assert_eq!(default_action(SIGCHLD), DefaultAction::Ignore);
        assert_eq!(default_action(SIGSEGV), DefaultAction::CoreDump);
        assert_eq!(default_action(SIGTERM), DefaultAction::Terminate);
        assert_eq!(default_action(34), DefaultAction::Terminate);
        assert!(check_signal(0).is_err() && check_signal(65).is_err() && check_signal(64).is_ok());
    }

    #[test]
    fn masks() {
        let mut set = SigSet::EMPTY;
        set.add(SIGINT);
        set.add(SIGKILL);
        assert!(set.contains(SIGINT));
        let m = SigSet::EMPTY.apply(SIG_BLOCK, set).unwrap();
        assert!(m.contains(SIGINT) && !m.contains(SIGKILL));
        assert_eq!(m.apply(SIG_UNBLOCK, set).unwrap(), SigSet::EMPTY);
        assert!(m.apply(7, set).is_err());
        assert_eq!(set.first(), Some(SIGINT));
    }

    #[test]
    fn actions_round_trip_and_exec_reset() {
        let act = SigAction { handler: 0x401000, flags: 0x0400_0000, restorer: 0x402000, mask: SigSet(0b110) };
        assert_eq!(SigAction::from_bytes(&act.to_bytes()), act);
        let mut table = SigActions::default();
        assert!(table.set(SIGKILL, act).is_err());
        table.set(SIGINT, act).unwrap();
        table.set(SIGPIPE, SigAction { handler: SIG_IGN, ..Default::default() }).unwrap();
        assert!(!table.is_fatal(SIGPIPE));
        assert!(table.is_fatal(SIGINT));
        assert!(!table.is_fatal(SIGCHLD));
        assert!(table.is_ignored(SIGCONT) && table.is_ignored(SIGCHLD) && !table.is_ignored(SIGTSTP));
        assert!(table.is_stop(SIGTSTP) && table.is_stop(SIGSTOP) && !table.is_stop(SIGCONT));
        table.set(SIGTSTP, act).unwrap();
        assert!(!table.is_stop(SIGTSTP));
        assert!(STOP_SIGNALS.contains(SIGTTOU) && !STOP_SIGNALS.contains(SIGCONT));
        table.reset_for_exec();
        assert!(table.get(SIGINT).is_default());
        assert!(table.get(SIGPIPE).is_ignored());
    }
}
