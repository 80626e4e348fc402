//! `execve` bound to the VFS and the page tables: find the program,
//! follow `#!` lines, lay out the ELF image with [`build_exec_layout`],
//! and build the new address space: segments and the initial stack are
//! mapped at once, everything else (bss, heap, the rest of the stack,
//! mmap areas) is demand-paged by [`Mm`].
//!
//! Owns: producing a [`LoadedProgram`]; committing it to a process (close
//! on exec, signal reset, the new `Mm`) is [`commit`]'s job, after which
//! exec can no longer fail.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use framework::mm::alloc_frame;
use framework::user::UserContext;

use super::elf::ElfImage;
use super::exec_args::ExecArgs;
use super::exec_layout::build_exec_layout;
use super::mm::{inode_key, perms_for, Mm, MmState};
use super::mman::Sharing;
use super::process::Process;
use super::rlimit::{RLIMIT_STACK, RLIM_INFINITY};
use super::shebang::{apply_shebang, check_depth, classify, parse_shebang, BinaryFormat, BINPRM_BUF_SIZE};
use super::stack::{AuxvParams, MINSIGSTKSZ};
use super::vm_layout::{page_align_down, PAGE_SIZE};
use super::vma::FileRef;
use crate::error::Result;
use crate::fs::attr::check_exec;
use crate::fs::Path;
use crate::{errno, return_errno_with_message};

/// Largest program file exec reads into memory.
const MAX_PROGRAM_SIZE: u64 = 1 << 30;

/// A program ready to run in a fresh address space.
pub struct LoadedProgram {
    pub mm: Arc<Mm>,
    pub entry: u64,
    pub sp: u64,
    /// The file name as given to exec (for `comm`).
    pub filename: Vec<u8>,
    /// argv and envp strings, NUL-terminated (`/proc/<pid>/cmdline`).
    pub cmdline: Vec<u8>,
    pub environ: Vec<u8>,
    /// The absolute path of the ELF file that was loaded.
    pub exe: Vec<u8>,
}

fn read_file(path: &Path, offset: u64, buf: &mut [u8]) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match path.inode().read_at(offset + got as u64, &mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// Load the program at `filename` for `process` with `args` (built with
/// the process's `RLIMIT_STACK`; its file name is `filename`).
pub fn load(process: &Process, filename: &[u8], mut args: ExecArgs) -> Result<LoadedProgram> {
    let creds = process.credentials();
    let fs = process.fs.read().clone();
    let rlim_stack = process.rlimits.lock().soft(RLIMIT_STACK);
    let mut name: Vec<u8> = filename.to_vec();
    let mut depth = 0;
    let (path, bytes) = loop {
        check_depth(depth)?;
        let path = fs.lookup(None, &name, true, &creds)?;
        check_exec(&path, &creds)?;
        let mut head = [0u8; BINPRM_BUF_SIZE];
        let got = read_file(&path, 0, &mut head)?;
        match classify(&head[..got]) {
            BinaryFormat::Script => {
                let shebang = parse_shebang(&head[..got])?;
                apply_shebang(&mut args, &name, &shebang)?;
                name = shebang.interpreter;
                depth += 1;
            }
            BinaryFormat::Elf => {
                let size = path.inode().metadata().size;
                if size > MAX_PROGRAM_SIZE {
                    return_errno_with_message!(ENOMEM, "program file too large to load");
                }
                let mut bytes = vec![0u8; size as usize];
                let got = read_file(&path, 0, &mut bytes)?;
                bytes.truncate(got);
                break (path, bytes);
            }
            BinaryFormat::Unknown => return_errno_with_message!(ENOEXEC, "not an ELF file or #! script"),
        }
    };

    let image = ElfImage::parse(&bytes)?;
    let meta = path.inode().metadata();
    let exe = fs.display_path(&path);
    let file = FileRef {
        id: inode_key(path.inode()),
        dev_major: meta.dev.major,
        dev_minor: meta.dev.minor,
        ino: meta.ino,
        path: Arc::from(exe.as_slice()),
    };
    let ids = *process.ids.lock();
    let hwcap = framework::arch::cpuid::leaf(1, 0).map_or(0, |leaf| u64::from(leaf.edx));
    let aux = AuxvParams {
        phdr: 0,
        phnum: 0,
        entry: 0,
        base: 0,
        flags: 0,
        uid: ids.uid,
        euid: ids.euid,
        gid: ids.gid,
        egid: ids.egid,
        secure: false,
        hwcap,
        hwcap2: 0,
        minsigstksz: MINSIGSTKSZ,
        sysinfo_ehdr: None,
        execfd: None,
        rseq: None,
    };
    let mut random = [0u8; 16];
    crate::random::try_fill(&mut random)?;
    let layout = build_exec_layout(&image, &file, &args, &aux, &random, rlim_stack)?;

    let mut files = BTreeMap::new();
    files.insert(file.id, path.inode().clone());
    let state = MmState {
        vmas: layout.vmas.clone(),
        brk: layout.brk,
        maps: layout.maps,
        data_size: layout.plan.end_data.saturating_sub(layout.plan.start_data),
        files,
        stack_limit: if rlim_stack == RLIM_INFINITY { u64::MAX } else { rlim_stack },
    };
    let mm = Mm::new(state)?;

    // The file part of each segment, copied now.
    for segment in &layout.plan.segments {
        let Some(perms) = perms_for(segment.prot, Sharing::Private) else { continue };
        let mut page = segment.start;
        while page < segment.file_end {
            let frame = alloc_frame().map_err(|_| errno!(ENOMEM, "out of memory loading a program"))?;
            let in_segment = page - segment.start;
            if in_segment < segment.copy_len {
                let len = (segment.copy_len - in_segment).min(PAGE_SIZE) as usize;
                let from = (segment.file_offset + in_segment) as usize;
                let data = bytes.get(from..from + len).ok_or(errno!(ENOEXEC, "segment outside the file"))?;
                frame.write_bytes(0, data).map_err(|_| errno!(EIO, "frame write"))?;
            }
            mm.map_page(page, frame, perms)?;
            page += PAGE_SIZE;
        }
    }

    // The initial stack image at [sp, stack_top).
    let stack = &layout.stack;
    let stack_vma = layout.vmas.find(stack.sp).ok_or(errno!(EFAULT, "no stack VMA"))?;
    let stack_perms = perms_for(stack_vma.prot, Sharing::Private).ok_or(errno!(EFAULT, "stack not accessible"))?;
    let mut page = page_align_down(stack.sp);
    while page < stack.stack_top {
        let frame = alloc_frame().map_err(|_| errno!(ENOMEM, "out of memory for the stack"))?;
        let lo = page.max(stack.sp);
        let hi = (page + PAGE_SIZE).min(stack.stack_top);
        let data = &stack.bytes[(lo - stack.sp) as usize..(hi - stack.sp) as usize];
        frame.write_bytes((lo - page) as usize, data).map_err(|_| errno!(EIO, "frame write"))?;
        mm.map_page(page, frame, stack_perms)?;
        page += PAGE_SIZE;
    }

    let joined = |strings: &mut dyn Iterator<Item = &[u8]>| {
        let mut out = Vec::new();
        for s in strings {
            out.extend_from_slice(s);
            out.push(0);
        }
        out
    };
    let cmdline = joined(&mut args.argv());
    let environ = joined(&mut args.envp());
    Ok(LoadedProgram { mm, entry: layout.plan.entry, sp: stack.sp, filename: filename.to_vec(), exe, cmdline, environ })
}

/// Make `program` the process's image: from here exec cannot fail. Closes
/// close-on-exec fds, resets handled signals, sets `comm`, and returns the
/// registers the thread starts with.
pub fn commit(process: &Process, program: LoadedProgram) -> UserContext {
    let old = process.set_mm(Some(program.mm));
    drop(old);
    let closed = process.fds.lock().close_on_exec_all();
    drop(closed);
    process.sigactions.lock().reset_for_exec();
    process.set_comm_from_path(&program.filename);
    process.set_exe(program.exe);
    process.set_cmdline(program.cmdline, program.environ);
    // x86-64's set_personality_64bit: a 64-bit exec drops READ_IMPLIES_EXEC.
    process.set_personality(process.personality() & !crate::syscall::personality::READ_IMPLIES_EXEC);
    if let Some(done) = process.vfork_done.lock().take() {
        done.complete();
    }
    UserContext::new(program.entry, program.sp)
}
