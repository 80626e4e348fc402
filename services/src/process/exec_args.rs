//! The argument and environment strings of one `execve`, collected under
//! Linux's limits (the string part of `struct linux_binprm`).
//!
//! Limits, as fs/exec.c: each string at most `MAX_ARG_STRLEN` (128 KiB,
//! NUL included); at most `MAX_ARG_STRINGS` pointers per vector; and all
//! strings (the exec'd file name for `AT_EXECFN` included) plus one
//! pointer per argv/envp entry within `bprm_stack_limits`' budget:
//! `max(min(rlimit(STACK) / 4, 6 MiB), 128 KiB)`, i.e. 2 MiB under the
//! default 8 MiB stack limit. Exceeding any of them is E2BIG, checked as
//! each string is added so that a hostile caller cannot make the kernel
//! copy more than the budget.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::error::{return_errno, Result};

/// Longest single argument or environment string, NUL included.
pub const MAX_ARG_STRLEN: usize = 32 * 4096;
/// Most pointers `execve` accepts in argv or envp (`MAX_ARG_STRINGS`).
pub const MAX_ARG_STRINGS: usize = 0x7FFF_FFFF;
/// Minimum string budget regardless of the stack rlimit (`ARG_MAX`).
pub const ARG_MAX: u64 = 32 * 4096;
/// `_STK_LIM`, whose 3/4 caps the budget.
const STK_LIM: u64 = 8 << 20;

/// argv, envp and the file name of an exec, with the remaining budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecArgs {
    filename: Vec<u8>,
    argv: VecDeque<Vec<u8>>,
    envp: Vec<Vec<u8>>,
    /// Bytes of strings still allowed.
    room: u64,
}

impl ExecArgs {
    /// Starts an exec of `filename` that will carry `argc` arguments and
    /// `envc` environment strings (the counts of the user's pointer
    /// arrays), under stack soft limit `rlim_stack`. Reserves the pointer
    /// space and copies the file name (`bprm_stack_limits` then
    /// `copy_string_kernel(bprm->filename)`).
    pub fn new(filename: &[u8], argc: usize, envc: usize, rlim_stack: u64) -> Result<ExecArgs> {
        if argc > MAX_ARG_STRINGS || envc > MAX_ARG_STRINGS {
            return_errno!(E2BIG, "more than MAX_ARG_STRINGS arguments or environment strings");
        }
        let limit = (STK_LIM / 4 * 3).min(rlim_stack / 4).max(ARG_MAX);
        // argc 0 still gets an "" argv[0], so reserve at least one pointer.
        let ptr_size = (argc.max(1) as u64 + envc as u64) * 8;
        if limit <= ptr_size {
            return_errno!(E2BIG, "argv and envp pointers exceed the stack budget");
        }
        let mut args = ExecArgs {
            filename: Vec::new(),
            argv: VecDeque::new(),
            envp: Vec::new(),
            room: limit - ptr_size,
        };
        args.filename = args.take(filename)?;
        Ok(args)
    }

    /// Accounts for one string (`copy_strings`' checks) and copies it.
    /// A string stops at its first NUL, as a C string does.
    fn take(&mut self, s: &[u8]) -> Result<Vec<u8>> {
        let s = match s.iter().position(|&b| b == 0) {
            Some(n) => &s[..n],
            None => s,
        };
        let len = s.len() + 1;
        if len > MAX_ARG_STRLEN {
            return_errno!(E2BIG, "argument or environment string longer than MAX_ARG_STRLEN");
        }
        if len as u64 > self.room {
            return_errno!(E2BIG, "argument and environment strings exceed the stack budget");
        }
        self.room -= len as u64;
        Ok(s.to_vec())
    }

    /// Appends the next argument (user order: argv[0] first).
    pub fn push_arg(&mut self, s: &[u8]) -> Result<()> {
        let s = self.take(s)?;
        self.argv.push_back(s);
        Ok(())
    }

    /// Appends the next environment string.
    pub fn push_env(&mut self, s: &[u8]) -> Result<()> {
        let s = self.take(s)?;
        self.envp.push(s);
        Ok(())
    }

    /// Ends collection: an empty argv gets "" as argv[0], as Linux 5.18+
    /// does so that programs reading argv[1] do not walk into envp.
    pub fn finish(&mut self) -> Result<()> {
        if self.argv.is_empty() {
            self.push_arg(b"")?;
        }
        Ok(())
    }

    /// Drops argv[0] (`remove_arg_zero`, for `#!` scripts); its bytes
    /// become budget again.
    pub fn remove_arg_zero(&mut self) {
        if let Some(s) = self.argv.pop_front() {
            self.room += s.len() as u64 + 1;
        }
    }

    /// Inserts a new argv[0] (`copy_string_kernel` + `argc++` in
    /// binfmt_script).
    pub fn push_front_arg(&mut self, s: &[u8]) -> Result<()> {
        let s = self.take(s)?;
        self.argv.push_front(s);
        Ok(())
    }

    /// The file name as passed to exec (`AT_EXECFN`).
    pub fn filename(&self) -> &[u8] {
        &self.filename
    }

    pub fn argc(&self) -> usize {
        self.argv.len()
    }

    pub fn envc(&self) -> usize {
        self.envp.len()
    }

    pub fn argv(&self) -> impl ExactSizeIterator<Item = &[u8]> + DoubleEndedIterator {
        self.argv.iter().map(|s| s.as_slice())
    }

    pub fn envp(&self) -> impl ExactSizeIterator<Item = &[u8]> + DoubleEndedIterator {
        self.envp.iter().map(|s| s.as_slice())
    }

    /// Bytes of strings still allowed.
    pub fn room(&self) -> u64 {
        self.room
    }
}

#[cfg(test)]
mod tests {
    use super::super::error::Errno;
    use super::*;
    use alloc::vec;

    const RLIM: u64 = 8 << 20;

    #[test]
    fn collects_in_order() {
        let mut a = ExecArgs::new(b"/bin/echo", 2, 1, RLIM).unwrap();
        a.push_arg(b"echo").unwrap();
        a.push_arg(b"hi").unwrap();
        a.push_env(b"A=1").unwrap();
        a.finish().unwrap();
        assert_eq!(a.filename(), b"/bin/echo");
        assert_eq!(a.argv().collect::<Vec<_>>(), vec![&b"echo"[..], b"hi"]);
        assert_eq!(a.envp().collect::<Vec<_>>(), vec![&b"A=1"[..]]);
        // 2 MiB - 3 pointers - "/bin/echo\0echo\0hi\0A=1\0"
        assert_eq!(a.room(), (2 << 20) - 24 - 10 - 5 - 3 - 4);
    }

    #[test]
    fn empty_argv_gets_empty_argv0() {
        let mut a = ExecArgs::new(b"/x", 0, 0, RLIM).unwrap();
        a.finish().unwrap();
        assert_eq!(a.argc(), 1);
        assert_eq!(a.argv().next(), Some(&b""[..]));
    }

    #[test]
    fn strings_stop_at_nul() {
        let mut a = ExecArgs::new(b"/x\0junk", 1, 0, RLIM).unwrap();
        a.push_arg(b"ab\0cd").unwrap();
        assert_eq!(a.filename(), b"/x");
        assert_eq!(a.argv().next(), Some(&b"ab"[..]));
    }

    #[test]
    fn max_arg_strlen_is_inclusive_of_nul() {
        let mut a = ExecArgs::new(b"/x", 2, 0, RLIM).unwrap();
        assert!(a.push_arg(&vec![b'a'; MAX_ARG_STRLEN - 1]).is_ok());
        assert_eq!(a.push_arg(&vec![b'a'; MAX_ARG_STRLEN]).unwrap_err().errno, Errno::E2BIG);
    }

    #[test]
    fn total_budget_is_a_quarter_of_the_stack_rlimit() {
        let mut a = ExecArgs::new(b"/x", 100, 0, RLIM).unwrap();
        let s = vec![b'a'; MAX_ARG_STRLEN - 1];
        // 2 MiB / 128 KiB = 16 strings, minus the file name and pointers.
        for _ in 0..15 {
            a.push_arg(&s).unwrap();
        }
        assert_eq!(a.push_arg(&s).unwrap_err().errno, Errno::E2BIG);
    }

    #[test]
    fn budget_bounds() {
        // Tiny rlimit: still ARG_MAX (128 KiB).
        let a = ExecArgs::new(b"", 1, 0, 4096).unwrap();
        assert_eq!(a.room(), ARG_MAX - 8 - 1);
        // Huge rlimit: capped at 6 MiB.
        let a = ExecArgs::new(b"", 1, 0, u64::MAX).unwrap();
        assert_eq!(a.room(), (6 << 20) - 8 - 1);
    }

    #[test]
    fn pointer_count_limits() {
        // 2 MiB / 8 = 262144 pointers fill the whole budget.
        assert_eq!(ExecArgs::new(b"/x", 262_144, 0, RLIM).unwrap_err().errno, Errno::E2BIG);
        assert_eq!(ExecArgs::new(b"/x", 131_072, 131_072, RLIM).unwrap_err().errno, Errno::E2BIG);
        assert!(ExecArgs::new(b"/x", 1000, 1000, RLIM).is_ok());
        assert_eq!(ExecArgs::new(b"/x", MAX_ARG_STRINGS + 1, 0, u64::MAX).unwrap_err().errno, Errno::E2BIG);
        // argc 0 still reserves one pointer.
        let a = ExecArgs::new(b"", 0, 0, RLIM).unwrap();
        assert_eq!(a.room(), (2 << 20) - 8 - 1);
    }

    #[test]
    fn remove_and_push_front_keep_accounting() {
        let mut a = ExecArgs::new(b"/s", 2, 0, RLIM).unwrap();
        a.push_arg(b"script").unwrap();
        a.push_arg(b"x").unwrap();
        let room = a.room();
        a.remove_arg_zero();
        assert_eq!(a.room(), room + 7);
        a.push_front_arg(b"/s").unwrap();
        a.push_front_arg(b"/bin/sh").unwrap();
        assert_eq!(a.argv().collect::<Vec<_>>(), vec![&b"/bin/sh"[..], b"/s", b"x"]);
        assert_eq!(a.room(), room + 7 - 3 - 8);
    }
}
