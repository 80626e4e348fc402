//! How a process ended, and the `wait4` status word user space decodes
//! with `WIFEXITED`/`WEXITSTATUS`/`WIFSIGNALED`/`WTERMSIG`.

/// `wait4` options.
pub const WNOHANG: u32 = 1;
pub const WUNTRACED: u32 = 2;
pub const WCONTINUED: u32 = 8;
pub const WNOTHREAD: u32 = 0x2000_0000;
pub const WALL: u32 = 0x4000_0000;
pub const WCLONE: u32 = 0x8000_0000;

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

    /// The status a shell reports and the VM's exit status when PID 1
    /// ends: the code, or 128 + the signal number.
    pub fn shell_status(self) -> u8 {
        match self {
            ExitStatus::Exited(code) => code,
            ExitStatus::Signaled { signal, .. } => 128u32.saturating_add(signal).min(255) as u8,
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
    }
}
