//! The crate-wide error type: a Linux errno plus a static reason.
//!
//! Owns: [`Errno`] (every Linux x86-64 errno number, with its real value),
//! [`Error`], [`Result`], and the `return_errno!` /
//! `return_errno_with_message!` macros (Asterinas style). The syscall layer
//! turns an `Error` into `-errno`; the reason only goes to the log.

use core::fmt;

/// Linux errno values (x86-64, `include/uapi/asm-generic/errno{,-base}.h`).
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::upper_case_acronyms, non_camel_case_types)]
pub enum Errno {
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    E2BIG = 7,
    ENOEXEC = 8,
    EBADF = 9,
    ECHILD = 10,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    ENOTBLK = 15,
    EBUSY = 16,
    EEXIST = 17,
    EXDEV = 18,
    ENODEV = 19,
    ENOTDIR = 20,
    EISDIR = 21,
    EINVAL = 22,
    ENFILE = 23,
    EMFILE = 24,
    ENOTTY = 25,
    ETXTBSY = 26,
    EFBIG = 27,
    ENOSPC = 28,
    ESPIPE = 29,
    EROFS = 30,
    EMLINK = 31,
    EPIPE = 32,
    EDOM = 33,
    ERANGE = 34,
    EDEADLK = 35,
    ENAMETOOLONG = 36,
    ENOLCK = 37,
    ENOSYS = 38,
    ENOTEMPTY = 39,
    ELOOP = 40,
    ENOMSG = 42,
    EIDRM = 43,
    ECHRNG = 44,
    EL2NSYNC = 45,
    EL3HLT = 46,
    EL3RST = 47,
    ELNRNG = 48,
    EUNATCH = 49,
    ENOCSI = 50,
    EL2HLT = 51,
    EBADE = 52,
    EBADR = 53,
    EXFULL = 54,
    ENOANO = 55,
    EBADRQC = 56,
    EBADSLT = 57,
    EBFONT = 59,
    ENOSTR = 60,
    ENODATA = 61,
    ETIME = 62,
    ENOSR = 63,
    ENONET = 64,
    ENOPKG = 65,
    EREMOTE = 66,
    ENOLINK = 67,
    EADV = 68,
    ESRMNT = 69,
    ECOMM = 70,
    EPROTO = 71,
    EMULTIHOP = 72,
    EDOTDOT = 73,
    EBADMSG = 74,
    EOVERFLOW = 75,
    ENOTUNIQ = 76,
    EBADFD = 77,
    EREMCHG = 78,
    ELIBACC = 79,
    ELIBBAD = 80,
    ELIBSCN = 81,
    ELIBMAX = 82,
    ELIBEXEC = 83,
    EILSEQ = 84,
    ERESTART = 85,
    ESTRPIPE = 86,
    EUSERS = 87,
    ENOTSOCK = 88,
    EDESTADDRREQ = 89,
    EMSGSIZE = 90,
    EPROTOTYPE = 91,
    ENOPROTOOPT = 92,
    EPROTONOSUPPORT = 93,
    ESOCKTNOSUPPORT = 94,
    EOPNOTSUPP = 95,
    EPFNOSUPPORT = 96,
    EAFNOSUPPORT = 97,
    EADDRINUSE = 98,
    EADDRNOTAVAIL = 99,
    ENETDOWN = 100,
    ENETUNREACH = 101,
    ENETRESET = 102,
    ECONNABORTED = 103,
    ECONNRESET = 104,
    ENOBUFS = 105,
    EISCONN = 106,
    ENOTCONN = 107,
    ESHUTDOWN = 108,
    ETOOMANYREFS = 109,
    ETIMEDOUT = 110,
    ECONNREFUSED = 111,
    EHOSTDOWN = 112,
    EHOSTUNREACH = 113,
    EALREADY = 114,
    EINPROGRESS = 115,
    ESTALE = 116,
    EUCLEAN = 117,
    ENOTNAM = 118,
    ENAVAIL = 119,
    EISNAM = 120,
    EREMOTEIO = 121,
    EDQUOT = 122,
    ENOMEDIUM = 123,
    EMEDIUMTYPE = 124,
    ECANCELED = 125,
    ENOKEY = 126,
    EKEYEXPIRED = 127,
    EKEYREVOKED = 128,
    EKEYREJECTED = 129,
    EOWNERDEAD = 130,
    ENOTRECOVERABLE = 131,
    ERFKILL = 132,
    EHWPOISON = 133,
    // Kernel-internal codes (`include/linux/errno.h`), never seen by user
    // space: the syscall layer turns them into EINTR or a restart.
    /// Restart if no handler runs or the handler has `SA_RESTART`.
    ERESTARTSYS = 512,
    /// Always restart (after a handler, too).
    ERESTARTNOINTR = 513,
    /// Restart only if no handler runs (pause, sigsuspend, poll, select).
    ERESTARTNOHAND = 514,
    /// Restart through `restart_syscall` (nanosleep: the rest of the
    /// sleep) if no handler runs; a handler means EINTR.
    ERESTART_RESTARTBLOCK = 516,
}

impl Errno {
    /// Linux aliases (same numbers).
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    pub const EDEADLOCK: Errno = Errno::EDEADLK;
    pub const ENOTSUP: Errno = Errno::EOPNOTSUPP;

    /// The positive errno number.
    pub const fn as_i32(self) -> i32 {
        self as i32
    }
}

/// An errno with a reason for the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    errno: Errno,
    reason: &'static str,
}

impl Error {
    pub const fn new(errno: Errno) -> Self {
        Error { errno, reason: "" }
    }

    pub const fn with_message(errno: Errno, reason: &'static str) -> Self {
        Error { errno, reason }
    }

    pub const fn errno(&self) -> Errno {
        self.errno
    }

    pub const fn reason(&self) -> &'static str {
        self.reason
    }

    /// What a syscall returns for this error: `-errno`.
    pub const fn to_syscall_return(&self) -> isize {
        -(self.errno as i32 as isize)
    }
}

impl From<Errno> for Error {
    fn from(errno: Errno) -> Self {
        Error::new(errno)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.reason.is_empty() {
            write!(f, "{:?}", self.errno)
        } else {
            write!(f, "{:?}: {}", self.errno, self.reason)
        }
    }
}

pub type Result<T> = core::result::Result<T, Error>;

/// `return_errno!(EINVAL)` or `return_errno!(Errno::EINVAL)`: return
/// `Err(Error::new(..))` from the enclosing function.
#[macro_export]
macro_rules! return_errno {
    ($errno:expr) => {{
        #[allow(unused_imports)]
        use $crate::error::Errno::*;
        return ::core::result::Result::Err($crate::error::Error::new($errno).into());
    }};
}

/// `return_errno_with_message!(EINVAL, "why")`: like `return_errno!` with a
/// reason that the log shows.
#[macro_export]
macro_rules! return_errno_with_message {
    ($errno:expr, $reason:expr) => {{
        #[allow(unused_imports)]
        use $crate::error::Errno::*;
        return ::core::result::Result::Err($crate::error::Error::with_message($errno, $reason).into());
    }};
}

/// `errno!(EINVAL, "why")` / `errno!(EINVAL)`: build an `Error` value
/// (for `ok_or`, `map_err`).
#[macro_export]
macro_rules! errno {
    ($errno:expr) => {{
        #[allow(unused_imports)]
        use $crate::error::Errno::*;
        $crate::error::Error::new($errno)
    }};
    ($errno:expr, $reason:expr) => {{
        #[allow(unused_imports)]
        use $crate::error::Errno::*;
        $crate::error::Error::with_message($errno, $reason)
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fails(which: u32) -> Result<u32> {
        match which {
            0 => return_errno!(EINVAL),
            1 => return_errno!(Errno::ENOENT),
            2 => return_errno_with_message!(EACCES, "no search permission"),
            _ => Ok(which),
        }
    }

    #[test]
    fn macros_and_values() {
        assert_eq!(fails(0).unwrap_err().errno(), Errno::EINVAL);
        assert_eq!(fails(1).unwrap_err().errno(), Errno::ENOENT);
        let error = fails(2).unwrap_err();
        assert_eq!(error.errno(), Errno::EACCES);
        assert_eq!(error.reason(), "no search permission");
        assert_eq!(fails(7), Ok(7));
        assert_eq!(Errno::EPERM as i32, 1);
        assert_eq!(Errno::ENOTEMPTY as i32, 39);
        assert_eq!(Errno::ELOOP as i32, 40);
        assert_eq!(Errno::ENOMSG as i32, 42);
        assert_eq!(Errno::EOVERFLOW as i32, 75);
        assert_eq!(Errno::EOPNOTSUPP as i32, 95);
        assert_eq!(Errno::EHWPOISON as i32, 133);
        assert_eq!(Error::new(Errno::EBADF).to_syscall_return(), -9);
        assert_eq!(errno!(EXDEV, "x").errno(), Errno::EXDEV);
    }

    #[test]
    fn local_variable_named_like_nothing_special_still_works() {
        let errno = Errno::ESPIPE;
        let result: Result<()> = (|| return_errno!(errno))();
        assert_eq!(result.unwrap_err().errno(), Errno::ESPIPE);
    }
}
