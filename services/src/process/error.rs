//! The error type of the process layer (exec, ELF loading, address-space
//! bookkeeping): a Linux errno plus a static reason, so every failure
//! explains itself in logs (Asterinas' `return_errno_with_message!` style).
//!
//! `Errno` lists only the values this layer returns, with their Linux
//! x86-64 numbers; the crate-wide errno type maps from `Errno::code()`.

use core::fmt;

/// The Linux errno values the process layer can return (asm-generic numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Errno {
    EPERM = 1,
    ENOENT = 2,
    EIO = 5,
    E2BIG = 7,
    ENOEXEC = 8,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    EEXIST = 17,
    EINVAL = 22,
    ENAMETOOLONG = 36,
    ELOOP = 40,
    EOVERFLOW = 75,
}

impl Errno {
    /// The positive Linux errno number (a syscall returns its negation).
    pub const fn code(self) -> i32 {
        self as i32
    }

    pub const fn name(self) -> &'static str {
        match self {
            Errno::EPERM => "EPERM",
            Errno::ENOENT => "ENOENT",
            Errno::EIO => "EIO",
            Errno::E2BIG => "E2BIG",
            Errno::ENOEXEC => "ENOEXEC",
            Errno::ENOMEM => "ENOMEM",
            Errno::EACCES => "EACCES",
            Errno::EFAULT => "EFAULT",
            Errno::EEXIST => "EEXIST",
            Errno::EINVAL => "EINVAL",
            Errno::ENAMETOOLONG => "ENAMETOOLONG",
            Errno::ELOOP => "ELOOP",
            Errno::EOVERFLOW => "EOVERFLOW",
        }
    }
}

/// A failed process-layer operation: what user space sees (`errno`) and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    pub errno: Errno,
    pub reason: &'static str,
}

impl Error {
    pub const fn new(errno: Errno, reason: &'static str) -> Self {
        Error { errno, reason }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}", self.errno.name(), self.reason)
    }
}

pub type Result<T> = core::result::Result<T, Error>;

/// `Err(Error)` with an errno and a reason: `return_errno!(EINVAL, "why")`.
macro_rules! return_errno {
    ($errno:ident, $reason:expr) => {
        return Err($crate::process::error::Error::new(
            $crate::process::error::Errno::$errno,
            $reason,
        ))
    };
}
pub(crate) use return_errno;

/// The crate-wide error for a process-layer one (same errno, same reason).
impl From<Error> for crate::error::Error {
    fn from(e: Error) -> Self {
        use crate::error::Errno as E;
        let errno = match e.errno {
            Errno::EPERM => E::EPERM,
            Errno::ENOENT => E::ENOENT,
            Errno::EIO => E::EIO,
            Errno::E2BIG => E::E2BIG,
            Errno::ENOEXEC => E::ENOEXEC,
            Errno::ENOMEM => E::ENOMEM,
            Errno::EACCES => E::EACCES,
            Errno::EFAULT => E::EFAULT,
            Errno::EEXIST => E::EEXIST,
            Errno::EINVAL => E::EINVAL,
            Errno::ENAMETOOLONG => E::ENAMETOOLONG,
            Errno::ELOOP => E::ELOOP,
            Errno::EOVERFLOW => E::EOVERFLOW,
        };
        crate::error::Error::with_message(errno, e.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn codes_are_linux_numbers() {
        assert_eq!(Errno::E2BIG.code(), 7);
        assert_eq!(Errno::ENOEXEC.code(), 8);
        assert_eq!(Errno::ENOMEM.code(), 12);
        assert_eq!(Errno::EEXIST.code(), 17);
        assert_eq!(Errno::EINVAL.code(), 22);
        assert_eq!(Errno::ELOOP.code(), 40);
        assert_eq!(Errno::EOVERFLOW.code(), 75);
    }

    #[test]
    fn display_names_errno_and_reason() {
        let e = Error::new(Errno::ENOEXEC, "bad ELF magic");
        assert_eq!(format!("{e}"), "ENOEXEC: bad ELF magic");
    }

    fn fails() -> Result<()> {
        return_errno!(EINVAL, "because");
    }

    #[test]
    fn macro_builds_error() {
        assert_eq!(fails(), Err(Error::new(Errno::EINVAL, "because")));
    }
}
