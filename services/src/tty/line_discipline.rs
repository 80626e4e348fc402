//! The terminal line discipline (N_TTY), reduced to what a serial console
//! needs now: canonical mode with echo, erase (DEL/^H), kill (^U), word
//! erase (^W), end of file (^D) and CR-to-NL on input; non-canonical mode
//! hands bytes through (VMIN 1, VTIME ignored). ^C, ^\ and ^Z become
//! SIGINT, SIGQUIT and SIGTSTP for the caller to deliver when `ISIG` is
//! set.
//!
//! Input arrives with [`LineDiscipline::push_input`] and is edited lazily,
//! when a reader asks for it, under the termios in force *then*: typed-
//! ahead lines meant for a program that reads in canonical mode are not
//! swallowed as raw bytes by a shell that had the line in raw mode when
//! they arrived. Signal characters act at once.
//!
//! Pure logic: bytes in, echo bytes and readable input out.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::termios::*;
use crate::process::signal::{SIGINT, SIGQUIT, SIGTSTP};

/// Longest canonical line (`N_TTY_BUF_SIZE`); further bytes are dropped.
pub const MAX_LINE: usize = 4095;

#[derive(Debug, Default)]
pub struct LineDiscipline {
    pub termios: Termios,
    /// The line being edited (canonical mode).
    editing: Vec<u8>,
    /// Finished lines, each readable by one `read`; an empty line is an
    /// end-of-file mark (^D at the start of a line).
    lines: VecDeque<Vec<u8>>,
    /// Bytes ready in non-canonical mode.
    raw: VecDeque<u8>,
    /// Input not looked at yet.
    unprocessed: VecDeque<u8>,
}

impl LineDiscipline {
    pub fn new() -> Self {
        Self::default()
    }

    fn echo_on(&self) -> bool {
        self.termios.lflag & ECHO != 0
    }

    /// Take one input byte; echo output goes to `echo`. Returns a signal
    /// to send to the foreground process group, if the byte is one.
    pub fn receive(&mut self, mut byte: u8, echo: &mut Vec<u8>) -> Option<u32> {
        let t = self.termios;
        if byte == b'\r' && t.iflag & ICRNL != 0 {
            byte = b'\n';
        }
        if t.lflag & ISIG != 0 {
            let signal = if byte == t.cc[VINTR] && byte != 0 {
                Some(SIGINT)
            } else if byte == t.cc[VQUIT] && byte != 0 {
                Some(SIGQUIT)
            } else if byte == t.cc[VSUSP] && byte != 0 {
                Some(SIGTSTP)
            } else {
                None
            };
            if let Some(signal) = signal {
                if self.echo_on() {
                    echo.extend_from_slice(&[b'^', byte ^ 0x40, b'\n']);
                }
                self.editing.clear();
                return Some(signal);
            }
        }
        if !t.is_canonical() {
            if self.echo_on() {
                echo.push(byte);
            }
            self.raw.push_back(byte);
            return None;
        }
        if byte == t.cc[VERASE] || byte == 0x08 {
            if self.editing.pop().is_some() && self.echo_on() && t.lflag & ECHOE != 0 {
                echo.extend_from_slice(b"\x08 \x08");
            }
        } else if byte == t.cc[VKILL] {
            if self.echo_on() {
                for _ in 0..self.editing.len() {
                    echo.extend_from_slice(b"\x08 \x08");
                }
            }
            self.editing.clear();
        } else if byte == t.cc[VWERASE] && t.lflag & IEXTEN != 0 {
            while self.editing.last() == Some(&b' ') {
                self.editing.pop();
                echo.extend_from_slice(b"\x08 \x08");
            }
            while self.editing.last().is_some_and(|&c| c != b' ') {
                self.editing.pop();
                echo.extend_from_slice(b"\x08 \x08");
            }
        } else if byte == t.cc[VEOF] {
            // The line so far becomes readable without a newline; at the
            // start of a line that is an empty read: end of file.
            self.lines.push_back(core::mem::take(&mut self.editing));
        } else if byte == b'\n' {
            self.editing.push(b'\n');
            if self.echo_on() {
                echo.push(b'\n');
            }
            self.lines.push_back(core::mem::take(&mut self.editing));
        } else if self.editing.len() < MAX_LINE {
            self.editing.push(byte);
            if self.echo_on() {
                if byte < 0x20 && t.lflag & ECHOCTL != 0 && byte != b'\t' {
                    echo.extend_from_slice(&[b'^', byte ^ 0x40]);
                } else {
                    echo.push(byte);
                }
            }
        }
        None
    }

    /// A byte from the line. Signal characters take effect now (their
    /// signal is returned, pending input is dropped, as Linux flushes on
    /// ^C); everything else waits for a reader.
    pub fn push_input(&mut self, byte: u8, echo: &mut Vec<u8>) -> Option<u32> {
        let t = self.termios;
        if t.lflag & ISIG != 0 && byte != 0 && (byte == t.cc[VINTR] || byte == t.cc[VQUIT] || byte == t.cc[VSUSP]) {
            self.unprocessed.clear();
            return self.receive(byte, echo);
        }
        self.unprocessed.push_back(byte);
        None
    }

    /// Would a read of `want` bytes be satisfied now?
    fn satisfied(&self, want: usize) -> bool {
        if self.termios.is_canonical() {
            !self.lines.is_empty() || (!self.raw.is_empty() && self.unprocessed.is_empty())
        } else {
            !self.lines.is_empty() || self.raw.len() >= want.max(1) || (!self.raw.is_empty() && self.unprocessed.is_empty())
        }
    }

    /// Edit pending input until a read of `want` bytes is satisfied.
    fn process(&mut self, want: usize, echo: &mut Vec<u8>) -> Vec<u32> {
        let mut signals = Vec::new();
        while !self.satisfied(want) {
            let Some(byte) = self.unprocessed.pop_front() else { break };
            if let Some(sig) = self.receive(byte, echo) {
                signals.push(sig);
            }
        }
        signals
    }

    /// Is a `read` satisfied now (for `poll`)? Pending input counts when
    /// it would complete a read under the current mode.
    pub fn has_input(&self) -> bool {
        if !self.lines.is_empty() || !self.raw.is_empty() {
            return true;
        }
        if !self.termios.is_canonical() {
            return !self.unprocessed.is_empty();
        }
        let eof = self.termios.cc[VEOF];
        self.unprocessed.iter().any(|&b| b == b'\n' || b == b'\r' || b == eof)
    }

    /// Bytes a read would get without blocking (`FIONREAD`), counting
    /// input not edited yet.
    pub fn available(&self) -> usize {
        self.lines.iter().map(Vec::len).sum::<usize>() + self.raw.len() + self.unprocessed.len()
    }

    /// Read with editing: pending input is processed (echo into `echo`,
    /// signals from editing returned through `signals`) until the read is
    /// satisfied. `None` when nothing is ready (the caller blocks).
    pub fn read_input(&mut self, buf: &mut [u8], echo: &mut Vec<u8>, signals: &mut Vec<u32>) -> Option<usize> {
        signals.extend(self.process(buf.len(), echo));
        self.read(buf)
    }

    /// Read what is already edited: `None` when nothing is ready. In
    /// canonical mode at most one line; `Some(0)` is end of file.
    pub fn read(&mut self, buf: &mut [u8]) -> Option<usize> {
        if !self.termios.is_canonical() || self.lines.is_empty() {
            // Switching modes keeps what was typed: finished lines first.
            if let Some(n) = self.read_lines(buf) {
                return Some(n);
            }
            if self.raw.is_empty() {
                return None;
            }
            let n = buf.len().min(self.raw.len());
            for (slot, byte) in buf.iter_mut().zip(self.raw.drain(..n)) {
                *slot = byte;
            }
            return Some(n);
        }
        self.read_lines(buf)
    }

    fn read_lines(&mut self, buf: &mut [u8]) -> Option<usize> {
        let line = self.lines.front_mut()?;
        let n = buf.len().min(line.len());
        buf[..n].copy_from_slice(&line[..n]);
        if n == line.len() {
            self.lines.pop_front();
        } else {
            line.drain(..n);
        }
        Some(n)
    }

    /// `TCSETSF`: drop pending input.
    pub fn flush_input(&mut self) {
        self.unprocessed.clear();
        self.editing.clear();
        self.lines.clear();
        self.raw.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(ld: &mut LineDiscipline, bytes: &[u8]) -> Vec<u8> {
        let mut echo = Vec::new();
        for &b in bytes {
            ld.receive(b, &mut echo);
        }
        echo
    }

    #[test]
    fn canonical_line_with_erase_and_cr() {
        let mut ld = LineDiscipline::new();
        let echo = feed(&mut ld, b"lx\x7fs\r");
        assert_eq!(echo, b"lx\x08 \x08s\n");
        let mut buf = [0u8; 16];
        assert_eq!(ld.read(&mut buf), Some(3));
        assert_eq!(&buf[..3], b"ls\n");
        assert_eq!(ld.read(&mut buf), None);
    }

    #[test]
    fn partial_reads_and_eof() {
        let mut ld = LineDiscipline::new();
        feed(&mut ld, b"hello\n\x04");
        let mut buf = [0u8; 2];
        assert_eq!(ld.read(&mut buf), Some(2));
        assert_eq!(&buf, b"he");
        let mut rest = [0u8; 16];
        assert_eq!(ld.read(&mut rest), Some(4));
        assert_eq!(&rest[..4], b"llo\n");
        assert_eq!(ld.read(&mut rest), Some(0), "^D at line start reads as EOF");
        assert!(!ld.has_input());
    }

    #[test]
    fn kill_word_erase_and_signals() {
        let mut ld = LineDiscipline::new();
        feed(&mut ld, b"abc\x15xy zz\x17\n");
        let mut buf = [0u8; 16];
        assert_eq!(ld.read(&mut buf), Some(4));
        assert_eq!(&buf[..4], b"xy \n");
        let mut echo = Vec::new();
        assert_eq!(ld.receive(3, &mut echo), Some(SIGINT));
        assert_eq!(echo, b"^C\n");
        assert_eq!(ld.receive(0x1c, &mut echo), Some(SIGQUIT));
    }

    #[test]
    fn typed_ahead_input_follows_the_mode_at_read_time() {
        let mut ld = LineDiscipline::new();
        let mut echo = Vec::new();
        ld.termios.lflag &= !(ICANON | ECHO);
        for &b in b"x\nline\n\x04" {
            assert_eq!(ld.push_input(b, &mut echo), None);
        }
        let (mut buf, mut signals) = ([0u8; 1], Vec::new());
        assert_eq!(ld.read_input(&mut buf, &mut echo, &mut signals), Some(1));
        assert_eq!(&buf, b"x");
        assert_eq!(ld.read_input(&mut buf, &mut echo, &mut signals), Some(1));
        assert!(echo.is_empty(), "no echo in raw mode without ECHO");
        // Back to canonical mode, as a shell does before running a command.
        ld.termios = Termios::default();
        assert!(ld.has_input());
        let mut line = [0u8; 16];
        assert_eq!(ld.read_input(&mut line, &mut echo, &mut signals), Some(5));
        assert_eq!(&line[..5], b"line\n");
        assert_eq!(echo, b"line\n");
        assert_eq!(ld.read_input(&mut line, &mut echo, &mut signals), Some(0), "^D: end of file");
        assert_eq!(ld.read_input(&mut line, &mut echo, &mut signals), None);
        assert!(signals.is_empty());
    }

    #[test]
    fn interrupt_acts_at_once_and_flushes() {
        let mut ld = LineDiscipline::new();
        let mut echo = Vec::new();
        ld.push_input(b'a', &mut echo);
        assert_eq!(ld.push_input(3, &mut echo), Some(SIGINT));
        assert_eq!(ld.push_input(0x1a, &mut echo), Some(SIGTSTP));
        assert_eq!(ld.available(), 0);
    }

    #[test]
    fn raw_mode_passes_bytes() {
        let mut ld = LineDiscipline::new();
        ld.termios.lflag &= !(ICANON | ECHO);
        let echo = feed(&mut ld, b"a\x7f");
        assert!(echo.is_empty());
        assert_eq!(ld.available(), 2);
        let mut buf = [0u8; 1];
        assert_eq!(ld.read(&mut buf), Some(1));
        assert_eq!(buf[0], b'a');
    }
}
