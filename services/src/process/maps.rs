//! `/proc/<pid>/maps` lines, formatted exactly as Linux's
//! `show_map_vma` (fs/proc/task_mmu.c):
//!
//! ```text
//! %08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu <pad to column 73>name
//! ```
//!
//! Anonymous areas without a name end in the space after the inode, as
//! in Linux. Names: the file path for file mappings (a newline in it
//! printed as `\012`), the special name (`[vdso]`, `[vvar]`), `[heap]`
//! for an anonymous area overlapping the brk range, `[stack]` for the
//! one holding the initial stack pointer.

use alloc::vec::Vec;
use core::fmt::Write;

use super::mman::Sharing;
use super::vma::{Backing, Vma, VmaSet};

/// The mm fields the names depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapsContext {
    pub start_brk: u64,
    pub brk: u64,
    /// `mm->start_stack`: the initial stack pointer.
    pub start_stack: u64,
}

/// Column where the name starts is 73: the prefix is padded to 72
/// (`25 + sizeof(void *) * 6 - 1`) and a space follows.
const PAD_TO: usize = 25 + 8 * 6 - 1;

/// Adapts a byte vector to `fmt::Write` (all text written is ASCII).
struct Out<'a>(&'a mut Vec<u8>);

impl Write for Out<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Appends the maps line of `vma` to `out`.
pub fn format_vma(vma: &Vma, ctx: &MapsContext, out: &mut Vec<u8>) {
    let line_start = out.len();
    let (pgoff, major, minor, ino) = match &vma.backing {
        Backing::File(f) => (vma.offset, f.dev_major, f.dev_minor, f.ino),
        _ => (0, 0, 0, 0),
    };
    let flag = |on: bool, c: char| if on { c } else { '-' };
    // Writing to a Vec cannot fail.
    let _ = write!(
        Out(out),
        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
        vma.start,
        vma.end,
        flag(vma.prot.read, 'r'),
        flag(vma.prot.write, 'w'),
        flag(vma.prot.exec, 'x'),
        if vma.sharing == Sharing::Shared { 's' } else { 'p' },
        pgoff,
        major,
        minor,
        ino
    );
    let name: Option<&[u8]> = match &vma.backing {
        Backing::File(f) => Some(&f.path),
        Backing::Special(n) => Some(n.as_bytes()),
        Backing::Anonymous => {
            if vma.start < ctx.brk && vma.end > ctx.start_brk {
                Some(b"[heap]")
            } else if vma.start <= ctx.start_stack && vma.end >= ctx.start_stack {
                Some(b"[stack]")
            } else {
                None
            }
        }
    };
    if let Some(name) = name {
        let used = out.len() - line_start;
        out.resize(out.len() + PAD_TO.saturating_sub(used), b' ');
        out.push(b' ');
        for &b in name {
            if b == b'\n' {
                out.extend_from_slice(b"\\012");
            } else {
                out.push(b);
            }
        }
    }
    out.push(b'\n');
}

/// The whole file: one line per VMA in address order.
pub fn format_maps(vmas: &VmaSet, ctx: &MapsContext) -> Vec<u8> {
    let mut out = Vec::new();
    for v in vmas.iter() {
        format_vma(v, ctx, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::mman::Prot;
    use super::super::vma::FileRef;
    use super::*;
    use alloc::sync::Arc;

    fn line(v: &Vma, ctx: &MapsContext) -> alloc::string::String {
        let mut out = Vec::new();
        format_vma(v, ctx, &mut out);
        alloc::string::String::from_utf8(out).unwrap()
    }

    const CTX: MapsContext =
        MapsContext { start_brk: 0x5555_5556_0000, brk: 0x5555_5558_1000, start_stack: 0x7fff_ffff_e8c0 };

    fn cat() -> FileRef {
        FileRef { id: 1, dev_major: 0xfe, dev_minor: 0, ino: 247030, path: Arc::from(&b"/usr/bin/cat"[..]) }
    }

    // Expected lines copied from Linux 6.18 (`setarch -R cat /proc/self/maps`).
    #[test]
    fn file_line_matches_linux() {
        let v = Vma {
            backing: Backing::File(cat()),
            offset: 0x2000,
            ..Vma::anonymous(0x5555_5555_6000, 0x5555_5555_b000, Prot::RX)
        };
        assert_eq!(
            line(&v, &CTX),
            "555555556000-55555555b000 r-xp 00002000 fe:00 247030                     /usr/bin/cat\n"
        );
    }

    #[test]
    fn heap_stack_special_and_plain_anon_match_linux() {
        let heap = Vma::anonymous(0x5555_5556_0000, 0x5555_5558_1000, Prot::RW);
        assert_eq!(
            line(&heap, &CTX),
            "555555560000-555555581000 rw-p 00000000 00:00 0                          [heap]\n"
        );
        let stack = Vma { grows_down: true, ..Vma::anonymous(0x7fff_fffd_e000, 0x7fff_ffff_f000, Prot::RW) };
        assert_eq!(
            line(&stack, &CTX),
            "7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0                          [stack]\n"
        );
        let vdso = Vma { backing: Backing::Special("[vdso]"), ..Vma::anonymous(0x7fff_f7fc_8000, 0x7fff_f7fc_a000, Prot::RX) };
        assert_eq!(
            line(&vdso, &CTX),
            "7ffff7fc8000-7ffff7fca000 r-xp 00000000 00:00 0                          [vdso]\n"
        );
        let anon = Vma::anonymous(0x7fff_f7d5_0000, 0x7fff_f7d7_2000, Prot::RW);
        assert_eq!(line(&anon, &CTX), "7ffff7d50000-7ffff7d72000 rw-p 00000000 00:00 0 \n");
        let vsyscall = Vma {
            backing: Backing::Special("[vsyscall]"),
            ..Vma::anonymous(0xffff_ffff_ff60_0000, 0xffff_ffff_ff60_1000, Prot { read: false, write: false, exec: true })
        };
        assert_eq!(
            line(&vsyscall, &CTX),
            "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n"
        );
    }

    #[test]
    fn short_addresses_and_shared() {
        let v = Vma {
            sharing: Sharing::Shared,
            backing: Backing::File(FileRef { id: 2, dev_major: 0, dev_minor: 0x1a, ino: 7, path: Arc::from(&b"/a\nb"[..]) }),
            offset: 0x1234_5000,
            ..Vma::anonymous(0x40_0000, 0x40_1000, Prot::R)
        };
        let l = line(&v, &CTX);
        assert!(l.starts_with("00400000-00401000 r--s 12345000 00:1a 7 "), "{l}");
        assert!(l.ends_with(" /a\\012b\n"));
        assert_eq!(l.find('/'), Some(73));
    }

    #[test]
    fn heap_rule_is_strict_and_whole_file_in_order() {
        // Empty heap (brk == start_brk): no [heap].
        let ctx = MapsContext { start_brk: 0x60_0000, brk: 0x60_0000, start_stack: 0 };
        let v = Vma::anonymous(0x60_0000, 0x60_1000, Prot::RW);
        assert!(!line(&v, &ctx).contains("[heap]"));
        let mut s = VmaSet::new(0x7fff_f7ff_f000);
        s.map_fixed(Vma::anonymous(0x70_0000, 0x70_1000, Prot::R), false).unwrap();
        s.map_fixed(v, false).unwrap();
        let text = format_maps(&s, &ctx);
        let text = core::str::from_utf8(&text).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.starts_with("00600000-00601000"));
    }
}
