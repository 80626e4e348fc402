//! `struct termios` and `struct winsize` as the x86-64 kernel ABI lays
//! them out (`TCGETS`/`TCSETS*`, `TIOCGWINSZ`), the flag bits the line
//! discipline honours, and the defaults of a fresh Linux tty
//! (`tty_std_termios`).

/// `ioctl` request numbers for terminals.
pub const TCGETS: u32 = 0x5401;
pub const TCSETS: u32 = 0x5402;
pub const TCSETSW: u32 = 0x5403;
pub const TCSETSF: u32 = 0x5404;
pub const TIOCSCTTY: u32 = 0x540E;
pub const TIOCGPGRP: u32 = 0x540F;
pub const TIOCSPGRP: u32 = 0x5410;
pub const TIOCOUTQ: u32 = 0x5411;
pub const TIOCGWINSZ: u32 = 0x5413;
pub const TIOCSWINSZ: u32 = 0x5414;
pub const FIONREAD: u32 = 0x541B;
pub const TIOCNOTTY: u32 = 0x5422;
pub const TIOCGSID: u32 = 0x5429;

// c_iflag
pub const ICRNL: u32 = 0o000400;
pub const IXON: u32 = 0o002000;
// c_oflag
pub const OPOST: u32 = 0o000001;
pub const ONLCR: u32 = 0o000004;
// c_cflag
pub const B38400: u32 = 0o000017;
pub const CS8: u32 = 0o000060;
pub const CREAD: u32 = 0o000200;
pub const HUPCL: u32 = 0o002000;
// c_lflag
pub const ISIG: u32 = 0o000001;
pub const ICANON: u32 = 0o000002;
pub const ECHO: u32 = 0o000010;
pub const ECHOE: u32 = 0o000020;
pub const ECHOK: u32 = 0o000040;
pub const ECHOCTL: u32 = 0o001000;
pub const ECHOKE: u32 = 0o004000;
pub const IEXTEN: u32 = 0o100000;

// c_cc indexes
pub const VINTR: usize = 0;
pub const VQUIT: usize = 1;
pub const VERASE: usize = 2;
pub const VKILL: usize = 3;
pub const VEOF: usize = 4;
pub const VTIME: usize = 5;
pub const VMIN: usize = 6;
pub const VSUSP: usize = 10;
pub const VWERASE: usize = 14;
pub const NCCS: usize = 19;

/// Bytes of the kernel `struct termios`.
pub const TERMIOS_SIZE: usize = 36;
/// Bytes of `struct winsize`.
pub const WINSIZE_SIZE: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Termios {
    pub iflag: u32,
    pub oflag: u32,
    pub cflag: u32,
    pub lflag: u32,
    pub line: u8,
    pub cc: [u8; NCCS],
}

impl Default for Termios {
    fn default() -> Self {
        Termios {
            iflag: ICRNL | IXON,
            oflag: OPOST | ONLCR,
            cflag: B38400 | CS8 | CREAD | HUPCL,
            lflag: ISIG | ICANON | ECHO | ECHOE | ECHOK | ECHOCTL | ECHOKE | IEXTEN,
            line: 0,
            // ^C ^\ DEL ^U ^D, VTIME 0, VMIN 1, 0, ^Q ^S ^Z, 0, ^R ^O ^W ^V, 0
            cc: [3, 0x1c, 0x7f, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1a, 0, 0x12, 0x0f, 0x17, 0x16, 0, 0, 0],
        }
    }
}

impl Termios {
    pub fn to_bytes(&self) -> [u8; TERMIOS_SIZE] {
        let mut b = [0u8; TERMIOS_SIZE];
        for (i, v) in [self.iflag, self.oflag, self.cflag, self.lflag].into_iter().enumerate() {
            b[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        b[16] = self.line;
        b[17..].copy_from_slice(&self.cc);
        b
    }

    pub fn from_bytes(b: &[u8; TERMIOS_SIZE]) -> Self {
        let word = |i: usize| u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
        let mut cc = [0u8; NCCS];
        cc.copy_from_slice(&b[17..]);
        Termios { iflag: word(0), oflag: word(1), cflag: word(2), lflag: word(3), line: b[16], cc }
    }

    pub fn is_canonical(&self) -> bool {
        self.lflag & ICANON != 0
    }
}

/// `struct winsize`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WinSize {
    pub rows: u16,
    pub cols: u16,
    pub xpixel: u16,
    pub ypixel: u16,
}

impl Default for WinSize {
    /// A serial console has no size of its own: the classic 24x80.
    fn default() -> Self {
        WinSize { rows: 24, cols: 80, xpixel: 0, ypixel: 0 }
    }
}

impl WinSize {
    pub fn to_bytes(&self) -> [u8; WINSIZE_SIZE] {
        let mut b = [0u8; WINSIZE_SIZE];
        for (i, v) in [self.rows, self.cols, self.xpixel, self.ypixel].into_iter().enumerate() {
            b[i * 2..i * 2 + 2].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    pub fn from_bytes(b: &[u8; WINSIZE_SIZE]) -> Self {
        let half = |i: usize| u16::from_le_bytes([b[i * 2], b[i * 2 + 1]]);
        WinSize { rows: half(0), cols: half(1), xpixel: half(2), ypixel: half(3) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_termios_matches_linux() {
        let t = Termios::default();
        // `stty -g` style numbers of a fresh Linux tty.
        assert_eq!(t.iflag, 0x500);
        assert_eq!(t.oflag, 0x5);
        assert_eq!(t.cflag, 0x4bf);
        assert_eq!(t.lflag, 0x8a3b);
        let b = t.to_bytes();
        assert_eq!(b.len(), 36);
        assert_eq!(b[17 + VINTR], 3);
        assert_eq!(b[17 + VMIN], 1);
        assert_eq!(Termios::from_bytes(&b), t);
    }

    #[test]
    fn winsize_layout() {
        let w = WinSize::default();
        assert_eq!(w.to_bytes(), [24, 0, 80, 0, 0, 0, 0, 0]);
        assert_eq!(WinSize::from_bytes(&w.to_bytes()), w);
    }
}
