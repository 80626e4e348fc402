//! The terminal line discipline (N_TTY), reduced to what a serial console
//! needs now: canonical mode with echo, erase (DEL/^H), kill (^U), word
//! erase (^W), end of file (^D) and CR-to-NL on input; non-canonical mode
//! hands bytes through (VMIN 1, VTIME ignored). ^C and ^\ become SIGINT
//! and SIGQUIT for the caller to deliver when `ISIG` is set.
//!
//! Pure logic: bytes in, echo bytes and readable input out.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::termios::*;
use crate::process::signal::{SIGINT, SIGQUIT};

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

    /// Is a `read` satisfied now?
    pub fn has_input(&self) -> bool {
        !self.lines.is_empty() || !self.raw.is_empty()
    }

    /// Bytes a read would get without blocking (`FIONREAD`).
    pub fn available(&self) -> usize {
        self.lines.iter().map(Vec::len).sum::<usize>() + self.raw.len()
    }

    /// Read: `None` when nothing is ready (the caller blocks). In
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
