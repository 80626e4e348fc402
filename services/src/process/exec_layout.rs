//! The whole new address space of an `execve` of a static ELF program,
//! as data: the load plan, the VMAs in the order and shape Linux creates
//! them (file segments, bss, stack), the initial stack image, the break
//! and the names /proc/<pid>/maps needs. The exec glue then creates one
//! user mapping per VMA in `vmas`, copies each segment's file bytes and
//! the stack image, and starts the thread at `plan.entry` with `stack.sp`.
//!
//! A program with `PT_INTERP` is refused here (ENOEXEC, as for a missing
//! binary format) until the dynamic loader issue lands; the image's
//! `interpreter` field names what it needs.

use super::brk::ProgramBreak;
use super::elf::{ElfImage, LoadPlan};
use super::error::{return_errno, Result};
use super::exec_args::ExecArgs;
use super::maps::MapsContext;
use super::mman::{Prot, Sharing};
use super::stack::{build_initial_stack, AuxvParams, StackImage};
use super::vm_layout::{initial_stack_vma, mmap_base, STACK_TOP};
use super::vma::{Backing, FileRef, Vma, VmaSet};

/// The result of laying out an exec.
#[derive(Clone, Debug)]
pub struct ExecLayout {
    pub plan: LoadPlan,
    pub stack: StackImage,
    pub vmas: VmaSet,
    pub brk: ProgramBreak,
    pub maps: MapsContext,
}

/// Lays out the exec of `image` (read from the file `file`) with `args`,
/// under stack soft limit `rlim_stack`. `aux` supplies the process
/// values of the auxv (ids, hwcap, vDSO address ...); its `phdr`,
/// `phnum` and `entry` are replaced by the plan's.
pub fn build_exec_layout(
    image: &ElfImage,
    file: &FileRef,
    args: &ExecArgs,
    aux: &AuxvParams,
    random: &[u8; 16],
    rlim_stack: u64,
) -> Result<ExecLayout> {
    if image.interpreter.is_some() {
        return_errno!(ENOEXEC, "dynamically linked programs are not supported yet");
    }
    let mut vmas = VmaSet::new(mmap_base(rlim_stack));
    let bias = image.load_bias(|hint, len| vmas.get_unmapped_area(hint, len, false))?;
    let plan = LoadPlan::new(image, bias)?;

    // setup_arg_pages happens before the segments are mapped, but the
    // stack's final range depends only on the strings: build it first.
    let aux = AuxvParams { phdr: plan.phdr_addr, phnum: plan.phnum.into(), entry: plan.entry, ..*aux };
    let stack = build_initial_stack(args, &aux, random, STACK_TOP)?;
    let (stack_start, stack_end) = initial_stack_vma(STACK_TOP, stack.arg_start, stack.sp, rlim_stack);
    let stack_prot = Prot { exec: plan.exec_stack.is_executable(), ..Prot::RW };
    vmas.map_fixed(
        Vma { grows_down: true, ..Vma::anonymous(stack_start, stack_end, stack_prot) },
        false,
    )?;

    for s in &plan.segments {
        if s.file_end > s.start {
            // elf_map: a private file mapping (merges like any mmap).
            vmas.map_fixed(
                Vma {
                    start: s.start,
                    end: s.file_end,
                    prot: s.prot,
                    max_prot: Prot::RWX,
                    sharing: Sharing::Private,
                    grows_down: false,
                    backing: Backing::File(file.clone()),
                    offset: s.file_offset,
                },
                true,
            )?;
        }
        if s.end > s.file_end {
            // vm_brk_flags: a separate anonymous area for the bss pages.
            vmas.map_fixed(Vma::anonymous(s.file_end, s.end, s.anon_prot), false)?;
        }
    }

    let brk = ProgramBreak::new(plan.brk);
    let maps = MapsContext { start_brk: brk.start, brk: brk.current, start_stack: stack.sp };
    Ok(ExecLayout { plan, stack, vmas, brk, maps })
}

#[cfg(test)]
mod tests {
    use super::super::elf::tests::{build_elf, load};
    use super::super::error::Errno;
    use super::super::maps::format_maps;
    use super::super::vm_layout::DEFAULT_STACK_RLIMIT;
    use super::*;
    use alloc::sync::Arc;
    use alloc::vec::Vec;
    use object::elf::{ET_DYN, ET_EXEC, PF_R, PF_W, PF_X, PT_INTERP};

    fn busybox_file() -> FileRef {
        FileRef { id: 7, dev_major: 0, dev_minor: 1, ino: 12, path: Arc::from(&b"/bin/busybox"[..]) }
    }

    fn args() -> ExecArgs {
        let mut a = ExecArgs::new(b"/bin/busybox", 2, 1, DEFAULT_STACK_RLIMIT).unwrap();
        a.push_arg(b"busybox").unwrap();
        a.push_arg(b"true").unwrap();
        a.push_env(b"PATH=/bin").unwrap();
        a.finish().unwrap();
        a
    }

    fn aux() -> AuxvParams {
        AuxvParams::for_plan(&LoadPlan {
            bias: 0,
            segments: Vec::new(),
            entry: 0,
            phdr_addr: 0,
            phnum: 0,
            brk: 0,
            start_code: 0,
            end_code: 0,
            start_data: 0,
            end_data: 0,
            exec_stack: super::super::elf::ExecStack::Default,
        })
    }

    #[test]
    fn static_program_maps_like_linux() {
        let f = build_elf(
            ET_EXEC,
            0x401000,
            &[
                load(PF_R, 0, 0x400000, 0x6e0, 0x6e0),
                load(PF_R | PF_X, 0x1000, 0x401000, 0x2000, 0x2000),
                load(PF_R | PF_W, 0x3708, 0x404708, 0x100, 0x3000),
            ],
            0x4000,
        );
        let img = ElfImage::parse(&f).unwrap();
        let l = build_exec_layout(&img, &busybox_file(), &args(), &aux(), &[0; 16], DEFAULT_STACK_RLIMIT).unwrap();
        let text = alloc::string::String::from_utf8(format_maps(&l.vmas, &l.maps)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[0].starts_with("00400000-00401000 r--p 00000000 00:01 12 "));
        assert!(lines[1].starts_with("00401000-00403000 r-xp 00001000 00:01 12 "));
        assert!(lines[2].starts_with("00404000-00405000 rw-p 00003000 00:01 12 "));
        assert_eq!(lines[3], "00405000-00408000 rw-p 00000000 00:00 0 ");
        assert!(lines[4].starts_with("7ffffffde000-7ffffffff000 rw-p 00000000 00:00 0 "));
        assert!(lines[4].ends_with("[stack]"));
        assert_eq!(l.brk.start, 0x408000);
        assert_eq!(l.stack.auxv.iter().find(|e| e.0 == super::super::stack::at::AT_ENTRY).unwrap().1, 0x401000);
        assert_eq!(l.stack.sp % 16, 0);
    }

    #[test]
    fn executable_stack_and_interpreter() {
        let stack = super::super::elf::tests::Ph {
            p_type: object::elf::PT_GNU_STACK,
            flags: PF_R | PF_W | PF_X,
            offset: 0,
            vaddr: 0,
            filesz: 0,
            memsz: 0,
            align: 16,
        };
        let f = build_elf(ET_EXEC, 0x400000, &[load(PF_R | PF_X, 0, 0x400000, 0x100, 0x100), stack], 0x1000);
        let img = ElfImage::parse(&f).unwrap();
        let l = build_exec_layout(&img, &busybox_file(), &args(), &aux(), &[0; 16], DEFAULT_STACK_RLIMIT).unwrap();
        assert_eq!(l.vmas.find(STACK_TOP - 1).unwrap().prot, Prot::RWX);

        let mut f = build_elf(
            ET_DYN,
            0x1000,
            &[
                super::super::elf::tests::Ph { p_type: PT_INTERP, flags: PF_R, offset: 0x200, vaddr: 0x200, filesz: 3, memsz: 3, align: 1 },
                load(PF_R | PF_X, 0, 0, 0x300, 0x300),
            ],
            0x1000,
        );
        f[0x200..0x203].copy_from_slice(b"/x\0");
        let img = ElfImage::parse(&f).unwrap();
        let e = build_exec_layout(&img, &busybox_file(), &args(), &aux(), &[0; 16], DEFAULT_STACK_RLIMIT).unwrap_err();
        assert_eq!(e.errno, Errno::ENOEXEC);
    }
}
