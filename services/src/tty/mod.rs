//! Terminals: the termios ABI ([`termios`]), the line discipline
//! ([`line_discipline`]) and the serial console driver that puts them on
//! the framework's console (`console`, kernel only).
//!
//! Owns: the character devices 5:0 `/dev/tty`, 5:1 `/dev/console` and
//! 4:64 `/dev/ttyS0`, all the one serial line for now.

pub mod line_discipline;
pub mod termios;
#[cfg(target_os = "none")]
pub mod console;
