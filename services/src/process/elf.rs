//! ELF64 x86-64 executable parsing and load planning, as Linux's
//! `load_elf_binary` (fs/binfmt_elf.c, 6.x) does it.
//!
//! The file is hostile: [`ElfImage::parse`] checks the header and every
//! program header against the file's length with overflow-checked
//! arithmetic and copies out what it keeps; [`LoadPlan::new`] turns the
//! `PT_LOAD` segments into page-aligned mappings for a chosen load bias,
//! with the exact Linux results for the entry point, `AT_PHDR`, the brk
//! start and the code/data bounds. Nothing here touches memory: the exec
//! glue maps the plan through the framework's `VmSpace`.
//!
//! Errors carry Linux's errno: ENOEXEC for a file that is not a loadable
//! x86-64 ELF, EINVAL for segments Linux refuses to map, EIO for a
//! `PT_INTERP` outside the file, ENOMEM when a relocated segment does not
//! fit below `TASK_SIZE`.

use alloc::vec::Vec;

use object::elf::{
    FileHeader64, ProgramHeader64, ELFCLASS64, ELFDATA2LSB, ELFMAG, EM_X86_64, ET_DYN, ET_EXEC,
    PF_R, PF_W, PF_X, PT_GNU_STACK, PT_INTERP, PT_LOAD, PT_TLS,
};
use object::endian::LittleEndian as LE;

use super::error::{return_errno, Result};
use super::mman::Prot;
use super::vm_layout::{page_align_down, page_align_up, PAGE_SIZE, TASK_SIZE};

/// Size of an ELF64 program header (`AT_PHENT`).
pub const PHDR_SIZE: usize = 56;
/// Size of the ELF64 file header.
pub const EHDR_SIZE: usize = 64;
/// Largest program-header table Linux reads (`load_elf_phdrs`): 64 KiB,
/// i.e. at most 1170 entries.
pub const MAX_PHDR_TABLE: usize = 65536;
pub const MAX_PHNUM: usize = MAX_PHDR_TABLE / PHDR_SIZE;
/// Longest `PT_INTERP` accepted, NUL included (`PATH_MAX`).
pub const PATH_MAX: usize = 4096;

/// `e_type` of a loadable file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfKind {
    /// ET_EXEC: linked at fixed addresses.
    Executable,
    /// ET_DYN: position independent (PIE program, static PIE or ld.so).
    SharedObject,
}

/// What `PT_GNU_STACK` asks of the stack (`EXSTACK_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecStack {
    /// No PT_GNU_STACK: the architecture default, non-executable on x86-64.
    Default,
    Enabled,
    Disabled,
}

impl ExecStack {
    /// Whether the stack VMA gets PROT_EXEC (x86-64: only when asked for).
    pub fn is_executable(self) -> bool {
        self == ExecStack::Enabled
    }
}

/// One program header, copied out of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProgramHeader {
    pub p_type: u32,
    pub p_flags: u32,
    pub p_offset: u64,
    pub p_vaddr: u64,
    pub p_filesz: u64,
    pub p_memsz: u64,
    pub p_align: u64,
}

impl ProgramHeader {
    fn prot(&self) -> Prot {
        Prot {
            read: self.p_flags & PF_R != 0,
            write: self.p_flags & PF_W != 0,
            exec: self.p_flags & PF_X != 0,
        }
    }
}

/// The `PT_TLS` template, unrelocated (the C library sets up TLS itself;
/// kept for a later `arch_prctl`/clone-time check and for diagnostics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlsTemplate {
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
}

/// A validated ELF executable: header facts and program headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElfImage {
    pub kind: ElfKind,
    /// Unrelocated entry point.
    pub entry: u64,
    pub phoff: u64,
    pub phnum: u16,
    pub phdrs: Vec<ProgramHeader>,
    /// Path named by the first `PT_INTERP`, without its NUL.
    pub interpreter: Option<Vec<u8>>,
    pub exec_stack: ExecStack,
    pub tls: Option<TlsTemplate>,
    /// Length of the file the image was parsed from.
    pub file_len: u64,
}

/// Whether `bytes` start with the ELF magic (cheap binfmt probe).
pub fn has_elf_magic(bytes: &[u8]) -> bool {
    bytes.len() >= 4 && bytes[..4] == ELFMAG
}

impl ElfImage {
    /// Parses and validates the header and program headers of `file`.
    pub fn parse(file: &[u8]) -> Result<ElfImage> {
        let Ok((hdr, _)) = object::pod::from_bytes::<FileHeader64<LE>>(file) else {
            return_errno!(ENOEXEC, "file shorter than an ELF header");
        };
        if hdr.e_ident.magic != ELFMAG {
            return_errno!(ENOEXEC, "no ELF magic");
        }
        if hdr.e_ident.class != ELFCLASS64 {
            return_errno!(ENOEXEC, "not a 64-bit ELF");
        }
        if hdr.e_ident.data != ELFDATA2LSB {
            return_errno!(ENOEXEC, "not a little-endian ELF");
        }
        let kind = match hdr.e_type.get(LE) {
            ET_EXEC => ElfKind::Executable,
            ET_DYN => ElfKind::SharedObject,
            _ => return_errno!(ENOEXEC, "ELF type is neither ET_EXEC nor ET_DYN"),
        };
        if hdr.e_machine.get(LE) != EM_X86_64 {
            return_errno!(ENOEXEC, "ELF machine is not x86-64");
        }
        if usize::from(hdr.e_phentsize.get(LE)) != PHDR_SIZE {
            return_errno!(ENOEXEC, "unexpected program header size");
        }
        let phnum = hdr.e_phnum.get(LE);
        if phnum == 0 || usize::from(phnum) > MAX_PHNUM {
            return_errno!(ENOEXEC, "program header count is 0 or above 64 KiB of headers");
        }
        let phoff = hdr.e_phoff.get(LE);
        let file_len = file.len() as u64;
        let table_len = u64::from(phnum) * PHDR_SIZE as u64;
        let Some(table) = file_range(file, phoff, table_len) else {
            return_errno!(ENOEXEC, "program headers lie outside the file");
        };
        let Ok((raw, _)) = object::pod::slice_from_bytes::<ProgramHeader64<LE>>(table, phnum.into())
        else {
            return_errno!(ENOEXEC, "program headers lie outside the file");
        };
        let phdrs: Vec<ProgramHeader> = raw
            .iter()
            .map(|p| ProgramHeader {
                p_type: p.p_type.get(LE),
                p_flags: p.p_flags.get(LE),
                p_offset: p.p_offset.get(LE),
                p_vaddr: p.p_vaddr.get(LE),
                p_filesz: p.p_filesz.get(LE),
                p_memsz: p.p_memsz.get(LE),
                p_align: p.p_align.get(LE),
            })
            .collect();

        // Only the first PT_INTERP counts, as in Linux.
        let interpreter = match phdrs.iter().find(|p| p.p_type == PT_INTERP) {
            Some(p) => Some(read_interp(file, p)?),
            None => None,
        };

        // The last PT_GNU_STACK wins; TLS: the first.
        let mut exec_stack = ExecStack::Default;
        let mut tls = None;
        for p in &phdrs {
            match p.p_type {
                PT_GNU_STACK => {
                    exec_stack = if p.p_flags & PF_X != 0 {
                        ExecStack::Enabled
                    } else {
                        ExecStack::Disabled
                    }
                }
                PT_TLS if tls.is_none() => {
                    tls = Some(TlsTemplate {
                        vaddr: p.p_vaddr,
                        filesz: p.p_filesz,
                        memsz: p.p_memsz,
                        align: p.p_align,
                    })
                }
                _ => {}
            }
        }

        Ok(ElfImage {
            kind,
            entry: hdr.e_entry.get(LE),
            phoff,
            phnum,
            phdrs,
            interpreter,
            exec_stack,
            tls,
            file_len,
        })
    }

    /// The `PT_LOAD` headers, in file order.
    pub fn loads(&self) -> impl Iterator<Item = &ProgramHeader> {
        self.phdrs.iter().filter(|p| p.p_type == PT_LOAD)
    }

    /// How Linux chooses the load bias for this image (randomisation off).
    pub fn placement(&self) -> Result<Placement> {
        if self.kind == ElfKind::Executable {
            return Ok(Placement::Fixed);
        }
        let Some(first) = self.loads().min_by_key(|p| p.p_vaddr) else {
            return_errno!(EINVAL, "ET_DYN image has no PT_LOAD segment");
        };
        let first_vaddr = first.p_vaddr;
        let Some(span) = self.total_mapping_size() else {
            return_errno!(EINVAL, "PT_LOAD segments span no or an overflowing range");
        };
        let alignment = self.maximum_alignment();
        if self.interpreter.is_some() {
            // A PIE program goes at ELF_ET_DYN_BASE, aligned as requested.
            let mut base = super::vm_layout::ELF_ET_DYN_BASE;
            if alignment != 0 {
                base &= !(alignment - 1);
            }
            Ok(Placement::Bias(page_align_down(base.wrapping_sub(first_vaddr))))
        } else {
            Ok(Placement::Anywhere { span, alignment, first_vaddr })
        }
    }

    /// Resolves [`ElfImage::placement`] to a bias. `find_area(hint, len)`
    /// must return the address a non-fixed `mmap(hint, len)` would give
    /// (the top-down search of the mmap area); it is called only for a
    /// static PIE, whose image Linux puts where such an `mmap` lands.
    pub fn load_bias(&self, find_area: impl FnOnce(u64, u64) -> Result<u64>) -> Result<u64> {
        match self.placement()? {
            Placement::Fixed => Ok(0),
            Placement::Bias(bias) => Ok(bias),
            Placement::Anywhere { span, alignment, first_vaddr } => {
                let Some(span) = page_align_up(span) else {
                    return_errno!(ENOMEM, "image too large");
                };
                if alignment > PAGE_SIZE {
                    // Map anywhere, then align the result down.
                    let addr = find_area(0, span)? & !(alignment - 1);
                    Ok(page_align_down(addr.wrapping_sub(first_vaddr)))
                } else {
                    let hint = page_align_down(first_vaddr);
                    let addr = find_area(hint, span)?;
                    Ok(addr.wrapping_sub(hint))
                }
            }
        }
    }

    /// `total_mapping_size`: from the page of the lowest PT_LOAD to the
    /// end of the highest one. `None` without PT_LOAD or on overflow.
    fn total_mapping_size(&self) -> Option<u64> {
        let lo = self.loads().map(|p| p.p_vaddr).min()?;
        let mut hi = 0u64;
        for p in self.loads() {
            hi = hi.max(p.p_vaddr.checked_add(p.p_memsz)?);
        }
        hi.checked_sub(page_align_down(lo)).filter(|&s| s != 0)
    }

    /// `maximum_alignment`: the largest power-of-two `p_align` of the
    /// PT_LOADs, rounded up to a page (0 when there is none).
    fn maximum_alignment(&self) -> u64 {
        let max = self
            .loads()
            .map(|p| p.p_align)
            .filter(|a| a.is_power_of_two())
            .max()
            .unwrap_or(0);
        page_align_up(max).unwrap_or(0)
    }
}

/// How the load bias is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// ET_EXEC: bias 0.
    Fixed,
    /// ET_DYN with an interpreter (a PIE program): this bias, derived from
    /// `ELF_ET_DYN_BASE` (0x555555554000 for a PIE linked at 0).
    Bias(u64),
    /// ET_DYN without an interpreter (static PIE, or ld.so run directly):
    /// wherever a top-down mmap of `span` bytes lands.
    Anywhere { span: u64, alignment: u64, first_vaddr: u64 },
}

fn file_range(file: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    file.get(start..end)
}

fn read_interp(file: &[u8], p: &ProgramHeader) -> Result<Vec<u8>> {
    if p.p_filesz < 2 || p.p_filesz > PATH_MAX as u64 {
        return_errno!(ENOEXEC, "PT_INTERP size out of range");
    }
    let Some(bytes) = file_range(file, p.p_offset, p.p_filesz) else {
        return_errno!(EIO, "PT_INTERP lies outside the file");
    };
    if bytes.last() != Some(&0) {
        return_errno!(ENOEXEC, "PT_INTERP is not NUL terminated");
    }
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    Ok(bytes[..len].to_vec())
}

/// One `PT_LOAD` segment turned into mappings, bias applied.
///
/// Memory `[start, end)` is page aligned. `[start, file_end)` is a private
/// mapping of the file from `file_offset` with `prot`; its first
/// `copy_len` bytes are file content and the rest of it is zero (the bss
/// start `bss_start` zeroed up to the page end, or bytes past the end of
/// the file). `[file_end, end)` is anonymous zero memory with
/// `anon_prot` (Linux maps these bss pages read-write, plus exec when the
/// segment is executable). Later segments replace earlier ones where
/// their pages overlap (Linux maps them with MAP_FIXED).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadSegment {
    pub start: u64,
    pub file_end: u64,
    pub end: u64,
    /// Page-aligned file offset mapped at `start`.
    pub file_offset: u64,
    pub copy_len: u64,
    /// First byte of the zero-filled bss (vaddr + filesz), or `file_end`
    /// when `p_memsz == p_filesz`.
    pub bss_start: u64,
    pub prot: Prot,
    pub anon_prot: Prot,
}

/// Everything exec needs to map an image and build its auxv.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadPlan {
    pub bias: u64,
    pub segments: Vec<LoadSegment>,
    /// Relocated entry point (`AT_ENTRY`).
    pub entry: u64,
    /// Where the program headers are in memory (`AT_PHDR`).
    pub phdr_addr: u64,
    pub phnum: u16,
    /// Initial program break (`mm->start_brk`), page aligned.
    pub brk: u64,
    pub start_code: u64,
    pub end_code: u64,
    pub start_data: u64,
    pub end_data: u64,
    pub exec_stack: ExecStack,
}

impl LoadPlan {
    /// Lays out `image` at `bias` (0 for ET_EXEC; see
    /// [`ElfImage::load_bias`]). The checks and results follow
    /// `load_elf_binary`/`elf_load` segment by segment.
    pub fn new(image: &ElfImage, bias: u64) -> Result<LoadPlan> {
        let mut segments = Vec::new();
        let mut phdr_addr = 0u64;
        let (mut start_code, mut end_code) = (u64::MAX, 0u64);
        let (mut start_data, mut end_data) = (0u64, 0u64);
        let mut elf_brk = 0u64;

        for p in image.loads() {
            // Linux's bound check, on the unrelocated address.
            if p.p_vaddr >= TASK_SIZE
                || p.p_filesz > p.p_memsz
                || p.p_memsz > TASK_SIZE
                || TASK_SIZE - p.p_memsz < p.p_vaddr
            {
                return_errno!(EINVAL, "PT_LOAD outside user space or filesz > memsz");
            }
            segments.push(plan_segment(image, p, bias)?);

            if p.p_offset <= image.phoff && image.phoff - p.p_offset < p.p_filesz {
                phdr_addr = image.phoff - p.p_offset + p.p_vaddr;
            }
            let k = p.p_vaddr;
            let x = p.p_flags & PF_X != 0;
            if x && k < start_code {
                start_code = k;
            }
            start_data = start_data.max(k);
            let k = p.p_vaddr + p.p_filesz; // bounded by the check above
            if x {
                end_code = end_code.max(k);
            }
            end_data = end_data.max(k);
            elf_brk = elf_brk.max(p.p_vaddr + p.p_memsz);
        }
        if segments.is_empty() {
            return_errno!(ENOEXEC, "no PT_LOAD segment");
        }

        let entry = image.entry.wrapping_add(bias);
        if entry >= TASK_SIZE {
            return_errno!(EINVAL, "entry point outside user space");
        }
        // A static PIE's brk moves to ELF_ET_DYN_BASE (CONFIG_COMPAT_BRK off).
        let brk = if image.kind == ElfKind::SharedObject && image.interpreter.is_none() {
            super::vm_layout::ELF_ET_DYN_BASE
        } else {
            elf_brk.wrapping_add(bias)
        };
        let Some(brk) = page_align_up(brk).filter(|&b| b <= TASK_SIZE) else {
            return_errno!(ENOMEM, "brk start outside user space");
        };
        Ok(LoadPlan {
            bias,
            segments,
            entry,
            phdr_addr: phdr_addr.wrapping_add(bias),
            phnum: image.phnum,
            brk,
            start_code: start_code.wrapping_add(bias),
            end_code: end_code.wrapping_add(bias),
            start_data: start_data.wrapping_add(bias),
            end_data: end_data.wrapping_add(bias),
            exec_stack: image.exec_stack,
        })
    }

    /// Lowest mapped address and one past the highest.
    pub fn span(&self) -> (u64, u64) {
        let lo = self.segments.iter().map(|s| s.start).min().unwrap_or(0);
        let hi = self.segments.iter().map(|s| s.end).max().unwrap_or(0);
        (lo, hi)
    }
}

/// `elf_map` + `elf_load` for one segment.
fn plan_segment(image: &ElfImage, p: &ProgramHeader, bias: u64) -> Result<LoadSegment> {
    let prot = p.prot();
    let anon_prot = Prot { read: true, write: true, exec: prot.exec };
    let Some(addr) = p.p_vaddr.checked_add(bias).filter(|&a| a < TASK_SIZE) else {
        return_errno!(ENOMEM, "relocated PT_LOAD outside user space");
    };
    let page_off = addr & (PAGE_SIZE - 1);
    let start = addr - page_off;
    let Some(mem_end) = addr.checked_add(p.p_memsz).filter(|&e| e <= TASK_SIZE) else {
        return_errno!(ENOMEM, "relocated PT_LOAD outside user space");
    };
    let end = page_align_up(mem_end).unwrap_or(u64::MAX); // <= TASK_SIZE: no overflow

    if p.p_filesz == 0 {
        // No file part: the whole segment is anonymous.
        return Ok(LoadSegment {
            start,
            file_end: start,
            end,
            file_offset: 0,
            copy_len: 0,
            bss_start: start,
            prot,
            anon_prot,
        });
    }

    if (p.p_offset & (PAGE_SIZE - 1)) != (p.p_vaddr & (PAGE_SIZE - 1)) {
        return_errno!(EINVAL, "PT_LOAD offset and address disagree modulo the page size");
    }
    let Some(file_data_end) = p.p_offset.checked_add(p.p_filesz) else {
        return_errno!(ENOEXEC, "PT_LOAD file range overflows");
    };
    if file_data_end > image.file_len {
        return_errno!(ENOEXEC, "PT_LOAD file range runs past the end of the file");
    }
    let file_offset = p.p_offset - (p.p_vaddr & (PAGE_SIZE - 1));
    let bss_start = addr + p.p_filesz; // < mem_end <= TASK_SIZE
    let file_end = page_align_up(bss_start).unwrap_or(u64::MAX);
    let copy_len = if p.p_memsz > p.p_filesz {
        // padzero(): the tail of the last file page is cleared.
        page_off + p.p_filesz
    } else {
        // The whole last page shows file content, up to the end of the file.
        (file_end - start).min(image.file_len - file_offset)
    };
    Ok(LoadSegment {
        start,
        file_end,
        end: end.max(file_end),
        file_offset,
        copy_len,
        bss_start: if p.p_memsz > p.p_filesz { bss_start } else { file_end },
        prot,
        anon_prot,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::error::Errno;
    use super::super::vm_layout::ELF_ET_DYN_BASE;
    use super::*;
    use alloc::vec;

    /// A program header for [`build_elf`].
    #[derive(Clone, Copy)]
    pub(crate) struct Ph {
        pub p_type: u32,
        pub flags: u32,
        pub offset: u64,
        pub vaddr: u64,
        pub filesz: u64,
        pub memsz: u64,
        pub align: u64,
    }

    pub(crate) fn load(flags: u32, offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> Ph {
        Ph { p_type: PT_LOAD, flags, offset, vaddr, filesz, memsz, align: 0x1000 }
    }

    /// Builds an ELF64 x86-64 file: header, program headers at offset 64,
    /// padded with 0xAA bytes to `file_len`, then `extra` patches applied.
    pub(crate) fn build_elf(e_type: u16, entry: u64, phdrs: &[Ph], file_len: usize) -> Vec<u8> {
        let mut f = vec![0xAAu8; file_len.max(64 + 56 * phdrs.len())];
        f[..64].fill(0);
        f[0..4].copy_from_slice(&ELFMAG);
        f[4] = ELFCLASS64;
        f[5] = ELFDATA2LSB;
        f[6] = 1;
        f[16..18].copy_from_slice(&e_type.to_le_bytes());
        f[18..20].copy_from_slice(&EM_X86_64.to_le_bytes());
        f[20..24].copy_from_slice(&1u32.to_le_bytes());
        f[24..32].copy_from_slice(&entry.to_le_bytes());
        f[32..40].copy_from_slice(&64u64.to_le_bytes());
        f[52..54].copy_from_slice(&64u16.to_le_bytes());
        f[54..56].copy_from_slice(&56u16.to_le_bytes());
        f[56..58].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
        for (i, p) in phdrs.iter().enumerate() {
            let o = 64 + 56 * i;
            f[o..o + 4].copy_from_slice(&p.p_type.to_le_bytes());
            f[o + 4..o + 8].copy_from_slice(&p.flags.to_le_bytes());
            f[o + 8..o + 16].copy_from_slice(&p.offset.to_le_bytes());
            f[o + 16..o + 24].copy_from_slice(&p.vaddr.to_le_bytes());
            f[o + 24..o + 32].copy_from_slice(&p.vaddr.to_le_bytes());
            f[o + 32..o + 40].copy_from_slice(&p.filesz.to_le_bytes());
            f[o + 40..o + 48].copy_from_slice(&p.memsz.to_le_bytes());
            f[o + 48..o + 56].copy_from_slice(&p.align.to_le_bytes());
        }
        f
    }

    /// A typical static non-PIE layout: text at 0x400000 (covering the
    /// headers), data+bss at 0x4c67b0.
    fn static_exec() -> Vec<u8> {
        build_elf(
            ET_EXEC,
            0x401bc0,
            &[
                load(PF_R | PF_X, 0, 0x400000, 0x3000, 0x3000),
                load(PF_R | PF_W, 0x37b0, 0x4047b0, 0x100, 0x2000),
                Ph { p_type: PT_GNU_STACK, flags: PF_R | PF_W, offset: 0, vaddr: 0, filesz: 0, memsz: 0, align: 16 },
                Ph { p_type: PT_TLS, flags: PF_R, offset: 0x37b0, vaddr: 0x4047b0, filesz: 0x10, memsz: 0x40, align: 8 },
            ],
            0x4000,
        )
    }

    fn errno(r: Result<impl core::fmt::Debug>) -> Errno {
        r.unwrap_err().errno
    }

    #[test]
    fn parses_static_executable() {
        let img = ElfImage::parse(&static_exec()).unwrap();
        assert_eq!(img.kind, ElfKind::Executable);
        assert_eq!(img.entry, 0x401bc0);
        assert_eq!(img.phnum, 4);
        assert_eq!(img.interpreter, None);
        assert_eq!(img.exec_stack, ExecStack::Disabled);
        assert!(!img.exec_stack.is_executable());
        assert_eq!(img.tls, Some(TlsTemplate { vaddr: 0x4047b0, filesz: 0x10, memsz: 0x40, align: 8 }));
        assert_eq!(img.placement().unwrap(), Placement::Fixed);
    }

    #[test]
    fn plans_static_executable_like_linux() {
        let img = ElfImage::parse(&static_exec()).unwrap();
        let bias = img.load_bias(|_, _| panic!("not asked for ET_EXEC")).unwrap();
        let plan = LoadPlan::new(&img, bias).unwrap();
        assert_eq!(plan.entry, 0x401bc0);
        assert_eq!(plan.phdr_addr, 0x400040);
        assert_eq!(plan.phnum, 4);
        let text = plan.segments[0];
        assert_eq!((text.start, text.file_end, text.end), (0x400000, 0x403000, 0x403000));
        assert_eq!((text.file_offset, text.copy_len), (0, 0x3000));
        assert_eq!(text.prot, Prot::RX);
        let data = plan.segments[1];
        assert_eq!(data.start, 0x404000);
        assert_eq!(data.file_offset, 0x3000);
        // page offset 0x7b0 + filesz 0x100: the rest of the page is bss.
        assert_eq!(data.copy_len, 0x8b0);
        assert_eq!(data.bss_start, 0x4048b0);
        assert_eq!(data.file_end, 0x405000);
        assert_eq!(data.end, 0x407000); // 0x4047b0 + 0x2000 rounded up
        assert_eq!(data.prot, Prot::RW);
        assert_eq!(data.anon_prot, Prot::RW);
        assert_eq!(plan.brk, 0x407000);
        assert_eq!((plan.start_code, plan.end_code), (0x400000, 0x403000));
        assert_eq!((plan.start_data, plan.end_data), (0x4047b0, 0x4048b0));
        assert_eq!(plan.span(), (0x400000, 0x407000));
    }

    #[test]
    fn last_page_without_bss_shows_following_file_bytes() {
        // filesz ends mid-page and memsz == filesz: the page keeps file
        // content up to the end of the page (or of the file).
        let f = build_elf(ET_EXEC, 0x400100, &[load(PF_R | PF_X, 0, 0x400000, 0x1234, 0x1234)], 0x1800);
        let plan = LoadPlan::new(&ElfImage::parse(&f).unwrap(), 0).unwrap();
        let s = plan.segments[0];
        assert_eq!((s.start, s.file_end, s.end), (0x400000, 0x402000, 0x402000));
        assert_eq!(s.copy_len, 0x1800); // clipped at the end of the file
        assert_eq!(s.bss_start, 0x402000);
    }

    #[test]
    fn zero_filesz_segment_is_all_anonymous() {
        let f = build_elf(
            ET_EXEC,
            0x400000,
            &[load(PF_R | PF_X, 0, 0x400000, 0x100, 0x100), load(PF_R | PF_W, 0, 0x600010, 0, 0x3000)],
            0x1000,
        );
        let plan = LoadPlan::new(&ElfImage::parse(&f).unwrap(), 0).unwrap();
        let s = plan.segments[1];
        assert_eq!((s.start, s.file_end, s.end, s.copy_len), (0x600000, 0x600000, 0x604000, 0));
        assert_eq!(plan.brk, 0x604000);
    }

    #[test]
    fn pie_with_interpreter_goes_to_elf_et_dyn_base() {
        let mut f = build_elf(
            ET_DYN,
            0x1040,
            &[
                Ph { p_type: PT_INTERP, flags: PF_R, offset: 0x200, vaddr: 0x200, filesz: 28, memsz: 28, align: 1 },
                load(PF_R, 0, 0, 0x800, 0x800),
                load(PF_R | PF_X, 0x1000, 0x1000, 0x200, 0x200),
                load(PF_R | PF_W, 0x1200, 0x2200, 0x20, 0x100),
            ],
            0x1400,
        );
        f[0x200..0x200 + 28].copy_from_slice(b"/lib64/ld-linux-x86-64.so.2\0");
        let img = ElfImage::parse(&f).unwrap();
        assert_eq!(img.interpreter.as_deref(), Some(&b"/lib64/ld-linux-x86-64.so.2"[..]));
        assert_eq!(img.placement().unwrap(), Placement::Bias(0x5555_5555_4000));
        let bias = img.load_bias(|_, _| panic!("PIE does not search")).unwrap();
        let plan = LoadPlan::new(&img, bias).unwrap();
        assert_eq!(plan.entry, 0x5555_5555_5040);
        assert_eq!(plan.phdr_addr, 0x5555_5555_4040);
        assert_eq!(plan.segments[0].start, 0x5555_5555_4000);
        assert_eq!(plan.segments[2].start, 0x5555_5555_6000);
        assert_eq!(plan.brk, 0x5555_5555_7000);
    }

    #[test]
    fn pie_alignment_masks_the_base() {
        let mut phdrs = [load(PF_R | PF_X, 0, 0, 0x800, 0x800)];
        phdrs[0].align = 0x200000;
        let mut f = build_elf(
            ET_DYN,
            0x100,
            &[
                Ph { p_type: PT_INTERP, flags: PF_R, offset: 0x100, vaddr: 0x100, filesz: 3, memsz: 3, align: 1 },
                phdrs[0],
            ],
            0x800,
        );
        f[0x100..0x103].copy_from_slice(b"/x\0");
        let img = ElfImage::parse(&f).unwrap();
        assert_eq!(img.placement().unwrap(), Placement::Bias(0x5555_5540_0000));
    }

    #[test]
    fn static_pie_is_placed_by_mmap_and_brk_moves() {
        let f = build_elf(
            ET_DYN,
            0x1000,
            &[load(PF_R | PF_X, 0, 0, 0x1800, 0x1800), load(PF_R | PF_W, 0x1800, 0x2800, 0x100, 0x1000)],
            0x2000,
        );
        let img = ElfImage::parse(&f).unwrap();
        assert_eq!(img.placement().unwrap(), Placement::Anywhere { span: 0x3800, alignment: 0x1000, first_vaddr: 0 });
        let bias = img
            .load_bias(|hint, len| {
                assert_eq!((hint, len), (0, 0x4000));
                Ok(0x7fff_f7ff_b000)
            })
            .unwrap();
        assert_eq!(bias, 0x7fff_f7ff_b000);
        let plan = LoadPlan::new(&img, bias).unwrap();
        assert_eq!(plan.entry, 0x7fff_f7ff_c000);
        assert_eq!(plan.brk, 0x5555_5555_5000); // PAGE_ALIGN(ELF_ET_DYN_BASE)
        assert_eq!(plan.span(), (0x7fff_f7ff_b000, 0x7fff_f7ff_f000));
    }

    #[test]
    fn static_pie_large_alignment_aligns_mmap_result() {
        let mut p = load(PF_R | PF_X, 0, 0, 0x1000, 0x1000);
        p.align = 0x200000;
        let img = ElfImage::parse(&build_elf(ET_DYN, 0, &[p], 0x1000)).unwrap();
        let bias = img
            .load_bias(|hint, _| {
                assert_eq!(hint, 0);
                Ok(0x7fff_f7ff_e000)
            })
            .unwrap();
        assert_eq!(bias, 0x7fff_f7e0_0000);
    }

    #[test]
    fn search_failure_propagates() {
        let img = ElfImage::parse(&build_elf(ET_DYN, 0, &[load(PF_R, 0, 0, 0x10, 0x10)], 0x1000)).unwrap();
        let r = img.load_bias(|_, _| Err(super::super::error::Error::new(Errno::ENOMEM, "full")));
        assert_eq!(errno(r), Errno::ENOMEM);
    }

    #[test]
    fn rejects_bad_headers() {
        let good = static_exec();
        let patch = |off: usize, bytes: &[u8]| {
            let mut f = good.clone();
            f[off..off + bytes.len()].copy_from_slice(bytes);
            errno(ElfImage::parse(&f))
        };
        assert_eq!(errno(ElfImage::parse(&good[..63])), Errno::ENOEXEC);
        assert_eq!(errno(ElfImage::parse(b"")), Errno::ENOEXEC);
        assert_eq!(patch(0, b"\x7fELG"), Errno::ENOEXEC);
        assert_eq!(patch(4, &[1]), Errno::ENOEXEC); // ELFCLASS32
        assert_eq!(patch(5, &[2]), Errno::ENOEXEC); // big endian
        assert_eq!(patch(16, &1u16.to_le_bytes()), Errno::ENOEXEC); // ET_REL
        assert_eq!(patch(16, &4u16.to_le_bytes()), Errno::ENOEXEC); // ET_CORE
        assert_eq!(patch(18, &3u16.to_le_bytes()), Errno::ENOEXEC); // EM_386
        assert_eq!(patch(54, &32u16.to_le_bytes()), Errno::ENOEXEC); // phentsize
        assert_eq!(patch(56, &0u16.to_le_bytes()), Errno::ENOEXEC); // phnum 0
        assert_eq!(patch(56, &1171u16.to_le_bytes()), Errno::ENOEXEC); // > 64 KiB
        assert_eq!(patch(56, &0xffffu16.to_le_bytes()), Errno::ENOEXEC); // PN_XNUM
        assert_eq!(patch(32, &0x3fe0u64.to_le_bytes()), Errno::ENOEXEC); // table past EOF
        assert_eq!(patch(32, &u64::MAX.to_le_bytes()), Errno::ENOEXEC); // offset overflow
        assert!(has_elf_magic(&good) && !has_elf_magic(b"#!/bin/sh"));
    }

    #[test]
    fn max_phnum_is_accepted() {
        let phdrs = vec![load(PF_R, 0, 0x400000, 0x100, 0x100); MAX_PHNUM];
        let img = ElfImage::parse(&build_elf(ET_EXEC, 0x400000, &phdrs, 0)).unwrap();
        assert_eq!(usize::from(img.phnum), 1170);
    }

    #[test]
    fn rejects_bad_interp() {
        let mk = |filesz: u64, offset: u64, content: &[u8]| {
            let mut f = build_elf(
                ET_EXEC,
                0x400000,
                &[
                    Ph { p_type: PT_INTERP, flags: PF_R, offset, vaddr: 0, filesz, memsz: filesz, align: 1 },
                    load(PF_R, 0, 0x400000, 0x100, 0x100),
                ],
                0x1000,
            );
            if (offset as usize) < f.len() {
                f[offset as usize..offset as usize + content.len()].copy_from_slice(content);
            }
            ElfImage::parse(&f)
        };
        assert_eq!(errno(mk(1, 0x200, b"\0")), Errno::ENOEXEC);
        assert_eq!(errno(mk(4097, 0x200, b"/a\0")), Errno::ENOEXEC);
        assert_eq!(errno(mk(3, 0x200, b"/ab")), Errno::ENOEXEC);
        assert_eq!(errno(mk(3, 0x2000, b"")), Errno::EIO);
        assert_eq!(errno(mk(3, u64::MAX - 1, b"")), Errno::EIO);
        // Stops at the first NUL.
        assert_eq!(mk(5, 0x200, b"/a\0b\0").unwrap().interpreter.as_deref(), Some(&b"/a"[..]));
    }

    #[test]
    fn rejects_hostile_segments() {
        let plan = |p: Ph| LoadPlan::new(&ElfImage::parse(&build_elf(ET_EXEC, 0x400000, &[p], 0x2000))?, 0);
        // filesz > memsz
        assert_eq!(errno(plan(load(PF_R, 0, 0x400000, 0x200, 0x100))), Errno::EINVAL);
        // vaddr in the kernel half / at TASK_SIZE
        assert_eq!(errno(plan(load(PF_R, 0, 0xffff_8000_0000_0000, 0x100, 0x100))), Errno::EINVAL);
        assert_eq!(errno(plan(load(PF_R, 0, TASK_SIZE, 0x100, 0x100))), Errno::EINVAL);
        // vaddr + memsz crosses TASK_SIZE / overflows
        assert_eq!(errno(plan(load(PF_R, 0, TASK_SIZE - 0x1000, 0, 0x2000))), Errno::EINVAL);
        assert_eq!(errno(plan(load(PF_R, 0, 0x1000, 0, u64::MAX))), Errno::EINVAL);
        // offset and vaddr disagree modulo the page size
        assert_eq!(errno(plan(load(PF_R, 0x10, 0x400000, 0x100, 0x100))), Errno::EINVAL);
        // file range past EOF, or overflowing
        assert_eq!(errno(plan(load(PF_R, 0x1000, 0x401000, 0x1001, 0x2000))), Errno::ENOEXEC);
        assert_eq!(errno(plan(load(PF_R, 0xffff_ffff_ffff_f000, 0x400000, 0x2000, 0x2000))), Errno::ENOEXEC);
        // misaligned offset is fine when nothing comes from the file
        assert!(plan(load(PF_R, 0x10, 0x400000, 0, 0x100)).is_ok());
    }

    #[test]
    fn rejects_bad_entry_and_missing_loads() {
        let f = build_elf(ET_EXEC, TASK_SIZE, &[load(PF_R, 0, 0x400000, 0x100, 0x100)], 0x1000);
        assert_eq!(errno(LoadPlan::new(&ElfImage::parse(&f).unwrap(), 0)), Errno::EINVAL);
        let stack = Ph { p_type: PT_GNU_STACK, flags: PF_R | PF_W | PF_X, offset: 0, vaddr: 0, filesz: 0, memsz: 0, align: 0 };
        let img = ElfImage::parse(&build_elf(ET_EXEC, 0x400000, &[stack], 0x1000)).unwrap();
        assert_eq!(img.exec_stack, ExecStack::Enabled);
        assert_eq!(errno(LoadPlan::new(&img, 0)), Errno::ENOEXEC);
        let img = ElfImage::parse(&build_elf(ET_DYN, 0, &[stack], 0x1000)).unwrap();
        assert_eq!(errno(img.placement()), Errno::EINVAL);
    }

    #[test]
    fn relocation_past_task_size_is_enomem() {
        let img = ElfImage::parse(&build_elf(ET_DYN, 0, &[load(PF_R, 0, 0, 0x100, 0x3000)], 0x1000)).unwrap();
        assert_eq!(errno(LoadPlan::new(&img, TASK_SIZE - 0x1000)), Errno::ENOMEM);
        assert_eq!(errno(LoadPlan::new(&img, u64::MAX - 0xfff)), Errno::ENOMEM);
    }

    #[test]
    fn phdr_addr_zero_when_not_loaded() {
        // PT_LOAD does not cover e_phoff (64): AT_PHDR is 0 + bias, as Linux.
        let f = build_elf(ET_EXEC, 0x401000, &[load(PF_R | PF_X, 0x1000, 0x401000, 0x100, 0x100)], 0x2000);
        let plan = LoadPlan::new(&ElfImage::parse(&f).unwrap(), 0).unwrap();
        assert_eq!(plan.phdr_addr, 0);
        assert_eq!(ELF_ET_DYN_BASE & 0xfff, 0xaaa);
    }

    /// Debian's static busybox (`readelf -lW /bin/busybox`); Linux 6.18
    /// under `setarch -R` maps it as checked below (`/proc/self/maps`).
    #[test]
    fn busybox_layout_matches_linux_capture() {
        let f = build_elf(
            ET_EXEC,
            0x40ebf0,
            &[
                load(PF_R, 0, 0x400000, 0x6e0, 0x6e0),
                load(PF_R | PF_X, 0x1000, 0x401000, 0x183989, 0x183989),
                load(PF_R, 0x185000, 0x585000, 0x55017, 0x55017),
                load(PF_R | PF_W, 0x1da708, 0x5db708, 0x9008, 0x10450),
                Ph { p_type: PT_TLS, flags: PF_R, offset: 0x1da708, vaddr: 0x5db708, filesz: 0x28, memsz: 0x8a, align: 8 },
                Ph { p_type: PT_GNU_STACK, flags: PF_R | PF_W, offset: 0, vaddr: 0, filesz: 0, memsz: 0, align: 16 },
            ],
            0x1e4000,
        );
        let plan = LoadPlan::new(&ElfImage::parse(&f).unwrap(), 0).unwrap();
        let files: Vec<_> = plan.segments.iter().map(|s| (s.start, s.file_end, s.file_offset, s.prot)).collect();
        assert_eq!(
            files,
            [
                (0x400000, 0x401000, 0, Prot::R),
                (0x401000, 0x585000, 0x1000, Prot::RX),
                (0x585000, 0x5db000, 0x185000, Prot::R),
                (0x5db000, 0x5e5000, 0x1da000, Prot::RW), // split r--/rw- later by RELRO
            ]
        );
        // "005e5000-005ec000 rw-p 00000000 00:00 0" then [heap] from 0x5ec000.
        assert_eq!((plan.segments[3].file_end, plan.segments[3].end), (0x5e5000, 0x5ec000));
        assert_eq!(plan.brk, 0x5ec000);
        assert_eq!(plan.entry, 0x40ebf0);
        assert_eq!(plan.phdr_addr, 0x400040);
    }

    /// `gcc -static-pie` (glibc): Linux 6.18 under `setarch -R` puts the
    /// image at the top of the mmap area and the brk at ELF_ET_DYN_BASE.
    #[test]
    fn static_pie_layout_matches_linux_capture() {
        use super::super::vm_layout::{mmap_base, DEFAULT_STACK_RLIMIT};
        use super::super::vma::{Placement as VmPlacement, Vma, VmaSet};
        let f = build_elf(
            ET_DYN,
            0x95f0,
            &[
                load(PF_R, 0, 0, 0x8020, 0x8020),
                load(PF_R | PF_X, 0x9000, 0x9000, 0x78d01, 0x78d01),
                load(PF_R, 0x82000, 0x82000, 0x29282, 0x29282),
                load(PF_R | PF_W, 0xab518, 0xac518, 0x5d58, 0xb528),
            ],
            0xb2270,
        );
        let img = ElfImage::parse(&f).unwrap();
        let vmas = VmaSet::new(mmap_base(DEFAULT_STACK_RLIMIT));
        let bias = img.load_bias(|hint, len| vmas.get_unmapped_area(hint, len, false)).unwrap();
        assert_eq!(bias, 0x7fff_f7f4_7000);
        let plan = LoadPlan::new(&img, bias).unwrap();
        let got: Vec<_> = plan.segments.iter().map(|s| (s.start, s.file_end, s.end, s.file_offset)).collect();
        assert_eq!(
            got,
            [
                (0x7fff_f7f4_7000, 0x7fff_f7f5_0000, 0x7fff_f7f5_0000, 0),
                (0x7fff_f7f5_0000, 0x7fff_f7fc_9000, 0x7fff_f7fc_9000, 0x9000),
                (0x7fff_f7fc_9000, 0x7fff_f7ff_3000, 0x7fff_f7ff_3000, 0x82000),
                (0x7fff_f7ff_3000, 0x7fff_f7ff_a000, 0x7fff_f7ff_f000, 0xab000),
            ]
        );
        assert_eq!(plan.brk, 0x5555_5555_5000);
        assert_eq!(plan.entry, 0x7fff_f7f5_05f0);
        // The vDSO pages then go right below the image, as in the capture.
        let mut vmas = vmas;
        for s in &plan.segments {
            vmas.map_fixed(Vma::anonymous(s.start, s.end, s.prot), false).unwrap();
        }
        let (vdso, _) = vmas.mmap(VmPlacement::Hint(0), 0x8000, Vma::anonymous(0, 0, Prot::R)).unwrap();
        assert_eq!(vdso, 0x7fff_f7f3_f000);
    }

    #[test]
    fn host_busybox_if_present() {
        extern crate std;
        let Ok(bytes) = std::fs::read("/bin/busybox") else { return };
        let img = ElfImage::parse(&bytes).unwrap();
        let bias = img.load_bias(|hint, _| Ok(hint.max(0x7fff_f000_0000))).unwrap();
        let plan = LoadPlan::new(&img, bias).unwrap();
        assert!(plan.entry >= plan.span().0 && plan.entry < plan.span().1);
        assert!(plan.brk >= plan.span().1 || img.kind == ElfKind::SharedObject);
        for s in &plan.segments {
            assert!(s.start % 4096 == 0 && s.end % 4096 == 0 && s.start <= s.file_end && s.file_end <= s.end);
            assert!(s.copy_len <= s.file_end - s.start);
        }
    }
}
