//! `#!` interpreter scripts, as Linux's fs/binfmt_script.c handles them,
//! and the exec loop's nesting limit (fs/exec.c `exec_binprm`).
//!
//! Only the first `BINPRM_BUF_SIZE` (256) bytes of the file are looked
//! at. The line names an interpreter and at most one argument: everything
//! after the interpreter's name, trimmed of spaces and tabs at both ends,
//! is passed as a single argument. The new argv is
//! `[interpreter, arg?, script path, original argv[1..]]`; `AT_EXECFN`
//! stays the script's path. An interpreter path that may have been cut
//! off at 256 bytes is refused (ENOEXEC), as is a line with no name.

use alloc::vec::Vec;

use super::error::{return_errno, Result};
use super::exec_args::ExecArgs;

/// How many bytes of the file exec reads to decide its format.
pub const BINPRM_BUF_SIZE: usize = 256;

/// `exec_binprm` runs the format handlers at depths 0..=5 and fails with
/// ELOOP beyond: five nested scripts can end in a binary, six cannot.
pub const MAX_EXEC_DEPTH: usize = 5;

/// What a file's first bytes say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryFormat {
    Elf,
    Script,
    Unknown,
}

/// Classifies a file by its first bytes (ELF magic or `#!`).
pub fn classify(head: &[u8]) -> BinaryFormat {
    if super::elf::has_elf_magic(head) {
        BinaryFormat::Elf
    } else if head.starts_with(b"#!") {
        BinaryFormat::Script
    } else {
        BinaryFormat::Unknown
    }
}

/// Fails with ELOOP when the exec loop, about to run the handlers at
/// `depth` (0 for the file exec was called on), has nested too deep.
pub fn check_depth(depth: usize) -> Result<()> {
    if depth > MAX_EXEC_DEPTH {
        return_errno!(ELOOP, "too many levels of #! interpreters");
    }
    Ok(())
}

/// A parsed `#!` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shebang {
    pub interpreter: Vec<u8>,
    pub arg: Option<Vec<u8>>,
}

fn spacetab(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

/// First index in `first..=last` that is not a space or tab.
fn next_non_spacetab(buf: &[u8], first: usize, last: usize) -> Option<usize> {
    (first..=last).find(|&i| !spacetab(buf[i]))
}

/// First index in `first..=last` that is a space, tab or NUL.
fn next_terminator(buf: &[u8], first: usize, last: usize) -> Option<usize> {
    (first..=last).find(|&i| spacetab(buf[i]) || buf[i] == 0)
}

fn cstr_at(buf: &[u8], at: usize) -> Vec<u8> {
    let rest = &buf[at..];
    let n = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
    rest[..n].to_vec()
}

/// Parses the `#!` line from the file's first bytes (`head`, any length;
/// only 256 are used, and a shorter file reads as NUL-padded, as Linux's
/// `bprm->buf`). ENOEXEC when it is not a script or names no complete
/// interpreter.
pub fn parse_shebang(head: &[u8]) -> Result<Shebang> {
    let mut buf = [0u8; BINPRM_BUF_SIZE];
    let n = head.len().min(BINPRM_BUF_SIZE);
    buf[..n].copy_from_slice(&head[..n]);
    if buf[0] != b'#' || buf[1] != b'!' {
        return_errno!(ENOEXEC, "not a #! script");
    }
    let buf_end = BINPRM_BUF_SIZE - 1;
    // strnchr: the first '\n' before any NUL.
    let newline = buf.iter().take_while(|&&b| b != 0).position(|&b| b == b'\n');
    let mut i_end = match newline {
        Some(i) => i,
        None => {
            let Some(start) = next_non_spacetab(&buf, 2, buf_end) else {
                return_errno!(ENOEXEC, "#! line is all blanks");
            };
            // Without a later blank or NUL the path may be truncated.
            if next_terminator(&buf, start, buf_end).is_none() {
                return_errno!(ENOEXEC, "#! interpreter path does not fit in 256 bytes");
            }
            buf_end
        }
    };
    // Trim trailing blanks (buf[1] is '!', so this stops by index 2).
    while spacetab(buf[i_end - 1]) {
        i_end -= 1;
    }
    let i_name = match next_non_spacetab(&buf, 2, i_end) {
        Some(i) if i != i_end => i,
        _ => return_errno!(ENOEXEC, "#! line names no interpreter"),
    };
    let i_sep = next_terminator(&buf, i_name, i_end);
    let i_arg = match i_sep {
        Some(sep) if buf[sep] != 0 => next_non_spacetab(&buf, sep, i_end),
        _ => None,
    };
    buf[i_end] = 0;
    if let (Some(sep), Some(_)) = (i_sep, i_arg) {
        buf[sep] = 0;
    }
    Ok(Shebang {
        interpreter: cstr_at(&buf, i_name),
        arg: i_arg.map(|a| cstr_at(&buf, a)),
    })
}

/// Rewrites argv for running `script_path` (the name the script was
/// reached by: exec's file name at depth 0, else the previous
/// interpreter's name) through `sb`, as `load_script` does: drop argv[0],
/// then push the script path, the optional argument and the interpreter
/// in front. E2BIG if the strings no longer fit. The caller next opens
/// `sb.interpreter` (its failure, e.g. ENOENT, is exec's result) and
/// goes one level deeper.
pub fn apply_shebang(args: &mut ExecArgs, script_path: &[u8], sb: &Shebang) -> Result<()> {
    args.remove_arg_zero();
    args.push_front_arg(script_path)?;
    if let Some(arg) = &sb.arg {
        args.push_front_arg(arg)?;
    }
    args.push_front_arg(&sb.interpreter)
}

#[cfg(test)]
mod tests {
    use super::super::error::Errno;
    use super::*;
    use alloc::vec;

    fn sb(head: &[u8]) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
        parse_shebang(head).map(|s| (s.interpreter, s.arg))
    }

    fn ok(i: &str, a: Option<&str>) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
        Ok((i.as_bytes().to_vec(), a.map(|a| a.as_bytes().to_vec())))
    }

    #[test]
    fn simple_lines() {
        assert_eq!(sb(b"#!/bin/sh\necho"), ok("/bin/sh", None));
        assert_eq!(sb(b"#! /bin/sh\n"), ok("/bin/sh", None));
        assert_eq!(sb(b"#!/bin/sh \n"), ok("/bin/sh", None));
        assert_eq!(sb(b"#!\t/bin/sh\t-e\t\n"), ok("/bin/sh", Some("-e")));
        assert_eq!(sb(b"#!/bin/sh -e  \n"), ok("/bin/sh", Some("-e")));
    }

    #[test]
    fn the_rest_of_the_line_is_one_argument() {
        assert_eq!(sb(b"#!/usr/bin/env python3 -u -x\n"), ok("/usr/bin/env", Some("python3 -u -x")));
        assert_eq!(sb(b"#!/tmp/stk/dump  -x  y \n"), ok("/tmp/stk/dump", Some("-x  y")));
    }

    #[test]
    fn no_newline_short_file() {
        // The file ends: NUL padding terminates the path.
        assert_eq!(sb(b"#!/bin/sh"), ok("/bin/sh", None));
        assert_eq!(sb(b"#!/bin/sh -x"), ok("/bin/sh", Some("-x")));
    }

    #[test]
    fn nul_before_newline_acts_as_end() {
        assert_eq!(sb(b"#!/bin/sh -e\0junk\n"), ok("/bin/sh", Some("-e")));
        assert_eq!(sb(b"#!/bin/sh\0 x\n"), ok("/bin/sh", None));
    }

    #[test]
    fn long_lines() {
        // Path fills the buffer without a terminator: may be truncated.
        let mut h = b"#!/".to_vec();
        h.extend(vec![b'a'; 300]);
        assert_eq!(sb(&h).unwrap_err().errno, Errno::ENOEXEC);
        // Path complete, argument cut at 255 bytes: accepted, arg truncated.
        let mut h = b"#!/bin/sh ".to_vec();
        h.extend(vec![b'b'; 300]);
        let (i, a) = sb(&h).unwrap();
        assert_eq!(i, b"/bin/sh");
        assert_eq!(a.unwrap().len(), 255 - 10); // buf[255] becomes the NUL
        // A newline beyond 256 bytes is not seen.
        let mut h = b"#!/bin/sh ".to_vec();
        h.extend(vec![b'c'; 250]);
        h.extend(b"\n");
        assert_eq!(sb(&h).unwrap().1.unwrap().len(), 245);
    }

    #[test]
    fn missing_interpreter_is_enoexec() {
        for h in [&b"#!\n"[..], b"#! \n", b"#!\t \t\n"] {
            assert_eq!(sb(h).unwrap_err().errno, Errno::ENOEXEC, "{h:?}");
        }
        // Without a newline, the NUL padding is a (empty) name: Linux goes
        // on to open "" and fails with ENOENT there.
        for h in [&b"#!"[..], b"#!   ", b"#!\0/bin/sh\n"] {
            assert_eq!(sb(h), ok("", None), "{h:?}");
        }
        let mut blanks = b"#!".to_vec();
        blanks.extend(vec![b' '; 300]);
        assert_eq!(sb(&blanks).unwrap_err().errno, Errno::ENOEXEC);
        assert_eq!(sb(b"\x7fELF").unwrap_err().errno, Errno::ENOEXEC);
        assert_eq!(sb(b"#").unwrap_err().errno, Errno::ENOEXEC);
        assert_eq!(sb(b"").unwrap_err().errno, Errno::ENOEXEC);
    }

    #[test]
    fn classify_formats() {
        assert_eq!(classify(b"\x7fELF\x02"), BinaryFormat::Elf);
        assert_eq!(classify(b"#!/bin/sh"), BinaryFormat::Script);
        assert_eq!(classify(b"#"), BinaryFormat::Unknown);
        assert_eq!(classify(b"MZ"), BinaryFormat::Unknown);
    }

    #[test]
    fn depth_limit() {
        for d in 0..=5 {
            assert!(check_depth(d).is_ok());
        }
        assert_eq!(check_depth(6).unwrap_err().errno, Errno::ELOOP);
    }

    #[test]
    fn argv_rewrite() {
        let mut a = ExecArgs::new(b"./script.sh", 2, 0, 8 << 20).unwrap();
        a.push_arg(b"script").unwrap();
        a.push_arg(b"foo").unwrap();
        let s = parse_shebang(b"#!/bin/sh -e\n").unwrap();
        apply_shebang(&mut a, b"./script.sh", &s).unwrap();
        assert_eq!(a.argv().collect::<Vec<_>>(), vec![&b"/bin/sh"[..], b"-e", b"./script.sh", b"foo"]);
        assert_eq!(a.filename(), b"./script.sh");
        // Nested: the next level's script path is this interpreter's name.
        let s2 = parse_shebang(b"#!/bin/busybox\n").unwrap();
        apply_shebang(&mut a, &s.interpreter, &s2).unwrap();
        assert_eq!(
            a.argv().collect::<Vec<_>>(),
            vec![&b"/bin/busybox"[..], b"/bin/sh", b"-e", b"./script.sh", b"foo"]
        );
    }

    #[test]
    fn argv_rewrite_respects_budget() {
        let mut a = ExecArgs::new(b"/s", 1, 0, 0).unwrap();
        let big = vec![b'a'; 100_000];
        a.push_arg(&big).unwrap();
        let s = Shebang { interpreter: b"/bin/sh".to_vec(), arg: None };
        // Budget 128 KiB: replacing argv[0] (100 KB) by "/s" and "/bin/sh" fits ...
        apply_shebang(&mut a, b"/s", &s).unwrap();
        // ... but a 100 KB interpreter argument on top of a 100 KB argv does not.
        a.push_arg(&big).unwrap();
        let s = Shebang { interpreter: b"/bin/sh".to_vec(), arg: Some(big.clone()) };
        assert_eq!(apply_shebang(&mut a, b"/s", &s).unwrap_err().errno, Errno::E2BIG);
    }
}
