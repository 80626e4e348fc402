//! The exit-status protocol between the kernel and the front-end.
//!
//! # Protocol (pinned; the kernel implements the other side)
//!
//! QEMU is started with two extra devices:
//! - a status channel: `isa-debugcon` at I/O port **0xE9** whose output goes
//!   to the file `ctl` in the front-end's working directory;
//! - an exit device: `isa-debug-exit` at I/O port **0xF4** (4 bytes wide).
//!
//! When the guest command has finished (or the kernel gives up) the kernel
//! writes to port 0xE9 exactly one line, either
//! - `UMBRA-EXIT <n>\n` — `n` in decimal, `0..=255`, the guest command's
//!   exit status; then it writes **0** to port 0xF4 (QEMU exits with 1), or
//! - `UMBRA-PANIC\n` — the kernel panicked (the panic message went to the
//!   console, COM1); then it writes **1** to port 0xF4 (QEMU exits with 3).
//!
//! The front-end reads the ctl file after QEMU has ended and
//! - on `UMBRA-EXIT n` exits with `n`;
//! - on `UMBRA-PANIC` prints `umbra: kernel panic (see console output
//!   above)` to stderr and exits with **125**;
//! - if there is no status line (guest reset under `-no-reboot`, QEMU error,
//!   QEMU killed) prints what QEMU did and exits with **124**;
//! - if `--timeout` expired, kills QEMU, prints `umbra: timed out after N s`
//!   and exits with **124**.
//!
//! Parsing is lenient about noise: only newline-terminated lines count, a
//! status may be preceded by other bytes on its line, anything else is
//! ignored, and the last status line wins.

use std::time::Duration;

/// Exit status for a kernel panic.
pub const EXIT_PANIC: i32 = 125;
/// Exit status for a timeout or a VM that ended without a status.
pub const EXIT_NO_STATUS: i32 = 124;
/// Exit status when the front-end could not build or start the VM.
pub const EXIT_SETUP: i32 = 126;
/// Exit status for usage errors.
pub const EXIT_USAGE: i32 = 2;

/// Port of the status channel (isa-debugcon).
pub const STATUS_PORT: u16 = 0xe9;
/// Port of the exit device (isa-debug-exit).
pub const EXIT_PORT: u16 = 0xf4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestStatus {
    Exit(u8),
    Panic,
}

/// Finds the last status line in the ctl file's contents.
pub fn parse_ctl(bytes: &[u8]) -> Option<GuestStatus> {
    let mut last = None;
    let mut lines = bytes.split(|&b| b == b'\n');
    // The piece after the last '\n' is not a complete line: drop it.
    let complete = bytes.iter().filter(|&&b| b == b'\n').count();
    for line in lines.by_ref().take(complete) {
        if let Some(s) = parse_line(line) {
            last = Some(s);
        }
    }
    last
}

fn parse_line(line: &[u8]) -> Option<GuestStatus> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = String::from_utf8_lossy(line);
    let at = text.rfind("UMBRA-")?;
    match &text[at..] {
        "UMBRA-PANIC" => Some(GuestStatus::Panic),
        rest => {
            let n = rest.strip_prefix("UMBRA-EXIT ")?;
            if n.is_empty() || n.len() > 3 || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            n.parse::<u8>().ok().map(GuestStatus::Exit)
        }
    }
}

/// How a VM session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The kernel reported a status.
    Guest(GuestStatus),
    /// `--timeout` expired and QEMU was killed.
    TimedOut(Duration),
    /// QEMU ended without a status line; the text says how QEMU ended.
    NoStatus(String),
    /// The front-end got this signal and stopped QEMU.
    Interrupted(i32),
}

impl Outcome {
    /// Combines QEMU's end with the ctl file. A status line is trusted
    /// whatever QEMU's own exit code was (the kernel spoke), except after a
    /// timeout or an interruption, which always win.
    pub fn from_parts(ctl: Option<GuestStatus>, qemu_end: QemuEnd) -> Outcome {
        match qemu_end {
            QemuEnd::TimedOut(d) => Outcome::TimedOut(d),
            QemuEnd::Interrupted(sig) => Outcome::Interrupted(sig),
            QemuEnd::Exited(code) => match ctl {
                Some(s) => Outcome::Guest(s),
                None => Outcome::NoStatus(format!("QEMU exited with status {code}")),
            },
            QemuEnd::Signalled(sig) => match ctl {
                Some(s) => Outcome::Guest(s),
                None => Outcome::NoStatus(format!("QEMU was killed by signal {sig}")),
            },
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Guest(GuestStatus::Exit(n)) => i32::from(*n),
            Outcome::Guest(GuestStatus::Panic) => EXIT_PANIC,
            Outcome::TimedOut(_) | Outcome::NoStatus(_) => EXIT_NO_STATUS,
            Outcome::Interrupted(sig) => 128 + sig,
        }
    }

    /// The line to print on stderr, if any.
    pub fn message(&self) -> Option<String> {
        match self {
            Outcome::Guest(GuestStatus::Exit(_)) => None,
            Outcome::Guest(GuestStatus::Panic) => Some("umbra: kernel panic (see console output above)".into()),
            Outcome::TimedOut(d) => Some(format!("umbra: timed out after {} s", d.as_secs())),
            Outcome::NoStatus(how) => Some(format!(
                "umbra: {how} without a guest exit status (QEMU error, guest reset or early crash; see output above)"
            )),
            Outcome::Interrupted(sig) => Some(format!("umbra: interrupted by signal {sig}, VM stopped")),
        }
    }
}

/// How the QEMU process ended, as seen by the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QemuEnd {
    Exited(i32),
    Signalled(i32),
    TimedOut(Duration),
    Interrupted(i32),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_lines() {
        assert_eq!(parse_ctl(b"UMBRA-EXIT 0\n"), Some(GuestStatus::Exit(0)));
        assert_eq!(parse_ctl(b"UMBRA-EXIT 3\n"), Some(GuestStatus::Exit(3)));
        assert_eq!(parse_ctl(b"UMBRA-EXIT 255\n"), Some(GuestStatus::Exit(255)));
        assert_eq!(parse_ctl(b"UMBRA-EXIT 7\r\n"), Some(GuestStatus::Exit(7)));
        assert_eq!(parse_ctl(b"UMBRA-PANIC\n"), Some(GuestStatus::Panic));
    }

    #[test]
    fn noise_and_last_wins() {
        assert_eq!(
            parse_ctl(b"hello\nUMBRA-EXIT 1\nnoise\nUMBRA-EXIT 42\ntrailing"),
            Some(GuestStatus::Exit(42))
        );
        assert_eq!(
            parse_ctl(b"UMBRA-EXIT 9\nUMBRA-PANIC\n"),
            Some(GuestStatus::Panic)
        );
        assert_eq!(
            parse_ctl(b"junk without newline UMBRA-EXIT 5\n"),
            Some(GuestStatus::Exit(5))
        );
        assert_eq!(
            parse_ctl(b"\xff\xfeUMBRA-EXIT 6\n"),
            Some(GuestStatus::Exit(6))
        );
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(parse_ctl(b""), None);
        assert_eq!(parse_ctl(b"UMBRA-EXIT 0"), None, "unterminated line");
        assert_eq!(parse_ctl(b"UMBRA-EXIT 256\n"), None);
        assert_eq!(parse_ctl(b"UMBRA-EXIT -1\n"), None);
        assert_eq!(parse_ctl(b"UMBRA-EXIT\n"), None);
        assert_eq!(parse_ctl(b"UMBRA-EXIT 1 2\n"), None);
        assert_eq!(parse_ctl(b"UMBRA-EXIT 0001\n"), None);
        assert_eq!(parse_ctl(b"UMBRA-PANIC now\n"), None);
        assert_eq!(parse_ctl(b"umbra-exit 0\n"), None);
        // A malformed later line does not erase an earlier valid one.
        assert_eq!(
            parse_ctl(b"UMBRA-EXIT 4\nUMBRA-EXIT x\n"),
            Some(GuestStatus::Exit(4))
        );
    }

    #[test]
    fn exit_codes_and_messages() {
        let o = Outcome::from_parts(Some(GuestStatus::Exit(3)), QemuEnd::Exited(1));
        assert_eq!((o.exit_code(), o.message()), (3, None));
        let o = Outcome::from_parts(Some(GuestStatus::Panic), QemuEnd::Exited(3));
        assert_eq!(o.exit_code(), 125);
        assert_eq!(
            o.message().unwrap(),
            "umbra: kernel panic (see console output above)"
        );
        let o = Outcome::from_parts(
            Some(GuestStatus::Exit(0)),
            QemuEnd::TimedOut(Duration::from_secs(120)),
        );
        assert_eq!(o.exit_code(), 124);
        assert_eq!(o.message().unwrap(), "umbra: timed out after 120 s");
        let o = Outcome::from_parts(None, QemuEnd::Exited(0));
        assert_eq!(o.exit_code(), 124);
        assert!(o.message().unwrap().contains("QEMU exited with status 0"));
        let o = Outcome::from_parts(None, QemuEnd::Signalled(9));
        assert_eq!(o.exit_code(), 124);
        assert!(o.message().unwrap().contains("signal 9"));
        assert_eq!(
            Outcome::from_parts(None, QemuEnd::Interrupted(15)).exit_code(),
            143
        );
    }
}
