//! The initial user stack of an x86-64 process, byte for byte as Linux
//! builds it (fs/exec.c copy_strings + fs/binfmt_elf.c create_elf_tables).
//!
//! From the top (`stack_top`) down:
//!
//! ```text
//!   8 zero bytes                      (bprm->p starts at top - sizeof(void *))
//!   AT_EXECFN string                  (the file name passed to exec)
//!   envp strings, argv strings        (argv[0] lowest; arg_start .. env_end)
//!   -- aligned down to 16 --
//!   "x86_64\0"                        (AT_PLATFORM)
//!   16 random bytes                   (AT_RANDOM)
//!   padding (zero)
//!   auxv pairs ending with AT_NULL
//!   envp pointers, NULL
//!   argv pointers, NULL
//!   argc                              <- rsp, 16-byte aligned
//! ```
//!
//! The result is the image of `[sp, stack_top)` plus the addresses the mm
//! keeps (`arg_start`, `env_end`, the saved auxv for /proc/self/auxv).

use alloc::vec;
use alloc::vec::Vec;

use super::elf::{LoadPlan, PHDR_SIZE};
use super::error::{return_errno, Result};
use super::exec_args::ExecArgs;

/// Auxiliary-vector keys (include/uapi/linux/auxvec.h, asm/auxvec.h).
pub mod at {
    pub const AT_NULL: u64 = 0;
    pub const AT_IGNORE: u64 = 1;
    pub const AT_EXECFD: u64 = 2;
    pub const AT_PHDR: u64 = 3;
    pub const AT_PHENT: u64 = 4;
    pub const AT_PHNUM: u64 = 5;
    pub const AT_PAGESZ: u64 = 6;
    pub const AT_BASE: u64 = 7;
    pub const AT_FLAGS: u64 = 8;
    pub const AT_ENTRY: u64 = 9;
    pub const AT_NOTELF: u64 = 10;
    pub const AT_UID: u64 = 11;
    pub const AT_EUID: u64 = 12;
    pub const AT_GID: u64 = 13;
    pub const AT_EGID: u64 = 14;
    pub const AT_PLATFORM: u64 = 15;
    pub const AT_HWCAP: u64 = 16;
    pub const AT_CLKTCK: u64 = 17;
    pub const AT_SECURE: u64 = 23;
    pub const AT_BASE_PLATFORM: u64 = 24;
    pub const AT_RANDOM: u64 = 25;
    pub const AT_HWCAP2: u64 = 26;
    pub const AT_RSEQ_FEATURE_SIZE: u64 = 27;
    pub const AT_RSEQ_ALIGN: u64 = 28;
    pub const AT_EXECFN: u64 = 31;
    pub const AT_SYSINFO_EHDR: u64 = 33;
    pub const AT_MINSIGSTKSZ: u64 = 51;
}
use at::*;

/// `ELF_PLATFORM` on x86-64 (`utsname()->machine`).
pub const PLATFORM: &[u8] = b"x86_64\0";
/// `CLOCKS_PER_SEC` as user space sees it (`USER_HZ`).
pub const CLOCK_TICKS: u64 = 100;
/// `MINSIGSTKSZ` of the x86 uapi, a floor for `AT_MINSIGSTKSZ`.
pub const MINSIGSTKSZ: u64 = 2048;

/// The values that go into the auxiliary vector besides the addresses of
/// strings placed on the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuxvParams {
    pub phdr: u64,
    pub phnum: u64,
    pub entry: u64,
    /// Load address of the ELF interpreter (0 for a static program).
    pub base: u64,
    pub flags: u64,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
    pub secure: bool,
    /// CPUID.1:EDX (`ELF_HWCAP` on x86).
    pub hwcap: u64,
    /// `ELF_HWCAP2` (bit 1: FSGSBASE usable).
    pub hwcap2: u64,
    /// Size of the signal frame the kernel pushes (`get_sigframe_size()`).
    pub minsigstksz: u64,
    /// Address of the vDSO image, if one is mapped (`AT_SYSINFO_EHDR`).
    pub sysinfo_ehdr: Option<u64>,
    /// `AT_EXECFD` for binfmt_misc-style open-binary handoff.
    pub execfd: Option<u64>,
    /// (`AT_RSEQ_FEATURE_SIZE`, `AT_RSEQ_ALIGN`) when rseq is supported.
    pub rseq: Option<(u64, u64)>,
}

impl AuxvParams {
    /// Defaults for a static program loaded by `plan`, run as root, with
    /// no vDSO and no rseq.
    pub fn for_plan(plan: &LoadPlan) -> AuxvParams {
        AuxvParams {
            phdr: plan.phdr_addr,
            phnum: plan.phnum.into(),
            entry: plan.entry,
            base: 0,
            flags: 0,
            uid: 0,
            euid: 0,
            gid: 0,
            egid: 0,
            secure: false,
            hwcap: 0,
            hwcap2: 0,
            minsigstksz: MINSIGSTKSZ,
            sysinfo_ehdr: None,
            execfd: None,
            rseq: None,
        }
    }

    /// The auxv in Linux's order, AT_NULL last, given where the random
    /// bytes, the file name and the platform string were put.
    fn entries(&self, random: u64, execfn: u64, platform: u64) -> Vec<(u64, u64)> {
        let mut v = Vec::with_capacity(24);
        // ARCH_DLINFO comes first on x86-64.
        if let Some(vdso) = self.sysinfo_ehdr {
            v.push((AT_SYSINFO_EHDR, vdso));
        }
        v.push((AT_MINSIGSTKSZ, self.minsigstksz));
        v.push((AT_HWCAP, self.hwcap));
        v.push((AT_PAGESZ, 4096));
        v.push((AT_CLKTCK, CLOCK_TICKS));
        v.push((AT_PHDR, self.phdr));
        v.push((AT_PHENT, PHDR_SIZE as u64));
        v.push((AT_PHNUM, self.phnum));
        v.push((AT_BASE, self.base));
        v.push((AT_FLAGS, self.flags));
        v.push((AT_ENTRY, self.entry));
        v.push((AT_UID, self.uid.into()));
        v.push((AT_EUID, self.euid.into()));
        v.push((AT_GID, self.gid.into()));
        v.push((AT_EGID, self.egid.into()));
        v.push((AT_SECURE, self.secure.into()));
        v.push((AT_RANDOM, random));
        v.push((AT_HWCAP2, self.hwcap2));
        v.push((AT_EXECFN, execfn));
        v.push((AT_PLATFORM, platform));
        if let Some(fd) = self.execfd {
            v.push((AT_EXECFD, fd));
        }
        if let Some((size, align)) = self.rseq {
            v.push((AT_RSEQ_FEATURE_SIZE, size));
            v.push((AT_RSEQ_ALIGN, align));
        }
        v.push((AT_NULL, 0));
        v
    }
}

/// The initial stack: `bytes` go at `[sp, stack_top)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackImage {
    pub bytes: Vec<u8>,
    /// Initial `rsp`: points at argc, 16-byte aligned.
    pub sp: u64,
    pub stack_top: u64,
    /// argv strings live in `[arg_start, arg_end)`, envp strings in
    /// `[env_start, env_end)` (/proc/<pid>/cmdline and environ).
    pub arg_start: u64,
    pub arg_end: u64,
    pub env_start: u64,
    pub env_end: u64,
    pub execfn: u64,
    pub random: u64,
    pub platform: u64,
    /// The auxv as placed, AT_NULL included (/proc/<pid>/auxv).
    pub auxv: Vec<(u64, u64)>,
}

/// Builds the initial stack for `args` below `stack_top` (page aligned,
/// normally `STACK_TOP`). `random` becomes the AT_RANDOM bytes.
pub fn build_initial_stack(
    args: &ExecArgs,
    aux: &AuxvParams,
    random: &[u8; 16],
    stack_top: u64,
) -> Result<StackImage> {
    let strings_len: u64 = args.argv().chain(args.envp()).map(|s| s.len() as u64 + 1).sum::<u64>()
        + args.filename().len() as u64
        + 1;
    let argc = args.argc() as u64;
    let envc = args.envc() as u64;
    // Everything below the top: 8 + strings + 15 (align) + platform +
    // random + auxv + pointers + argc + 15 (align). Bounded by ExecArgs'
    // budget, so it fits easily; still checked.
    let worst = 8 + strings_len + 15 + 7 + 16 + 2 * 8 * 25 + 8 * (argc + envc + 3) + 15;
    if stack_top < worst || stack_top & 0xfff != 0 {
        return_errno!(EFAULT, "stack top too low or unaligned for the argument area");
    }

    let mut p = stack_top - 8;
    p -= args.filename().len() as u64 + 1;
    let execfn = p;
    p -= strings_len - (args.filename().len() as u64 + 1);
    let arg_start = p;

    p &= !15; // arch_align_stack without randomisation
    p -= PLATFORM.len() as u64;
    let platform = p;
    p -= 16;
    let random_addr = p;

    let auxv = aux.entries(random_addr, execfn, platform);
    let ei_words = 2 * auxv.len() as u64;
    let items = (argc + 1) + (envc + 1) + 1;
    let sp = (p - 8 * ei_words - 8 * items) & !15;

    let mut img = Image { base: sp, bytes: vec![0u8; (stack_top - sp) as usize] };
    // Strings: argv then envp, in order, from arg_start up.
    let mut cursor = arg_start;
    let mut argv_ptrs = Vec::with_capacity(args.argc());
    for s in args.argv() {
        argv_ptrs.push(cursor);
        cursor = img.put_cstr(cursor, s);
    }
    let arg_end = cursor;
    let mut envp_ptrs = Vec::with_capacity(args.envc());
    for s in args.envp() {
        envp_ptrs.push(cursor);
        cursor = img.put_cstr(cursor, s);
    }
    let env_end = cursor;
    debug_assert_eq!(env_end, execfn);
    img.put_cstr(execfn, args.filename());
    img.put(platform, PLATFORM);
    img.put(random_addr, random);

    let mut w = sp;
    w = img.put_u64(w, argc);
    for a in argv_ptrs {
        w = img.put_u64(w, a);
    }
    w = img.put_u64(w, 0);
    for e in envp_ptrs {
        w = img.put_u64(w, e);
    }
    w = img.put_u64(w, 0);
    for &(k, v) in &auxv {
        w = img.put_u64(w, k);
        w = img.put_u64(w, v);
    }
    debug_assert!(w <= random_addr);

    Ok(StackImage {
        bytes: img.bytes,
        sp,
        stack_top,
        arg_start,
        arg_end,
        env_start: arg_end,
        env_end,
        execfn,
        random: random_addr,
        platform,
        auxv,
    })
}

/// The stack bytes being built, addressed by user virtual address.
struct Image {
    base: u64,
    bytes: Vec<u8>,
}

impl Image {
    fn put(&mut self, addr: u64, data: &[u8]) -> u64 {
        let off = (addr - self.base) as usize;
        self.bytes[off..off + data.len()].copy_from_slice(data);
        addr + data.len() as u64
    }

    fn put_cstr(&mut self, addr: u64, s: &[u8]) -> u64 {
        let end = self.put(addr, s);
        self.put(end, &[0])
    }

    fn put_u64(&mut self, addr: u64, v: u64) -> u64 {
        self.put(addr, &v.to_le_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::super::error::Errno;
    use super::super::vm_layout::{DEFAULT_STACK_RLIMIT, STACK_TOP};
    use super::*;
    use alloc::vec::Vec;

    /// Reads user memory out of an image, for the parse-back checks.
    struct Reader<'a>(&'a StackImage);

    impl Reader<'_> {
        fn u64(&self, addr: u64) -> u64 {
            let o = (addr - self.0.sp) as usize;
            u64::from_le_bytes(self.0.bytes[o..o + 8].try_into().unwrap())
        }
        fn cstr(&self, addr: u64) -> &[u8] {
            let o = (addr - self.0.sp) as usize;
            let n = self.0.bytes[o..].iter().position(|&b| b == 0).unwrap();
            &self.0.bytes[o..o + n]
        }
        fn bytes(&self, addr: u64, n: usize) -> &[u8] {
            let o = (addr - self.0.sp) as usize;
            &self.0.bytes[o..o + n]
        }
    }

    fn args(filename: &[u8], argv: &[&[u8]], envp: &[&[u8]]) -> ExecArgs {
        let mut a = ExecArgs::new(filename, argv.len(), envp.len(), DEFAULT_STACK_RLIMIT).unwrap();
        for s in argv {
            a.push_arg(s).unwrap();
        }
        for s in envp {
            a.push_env(s).unwrap();
        }
        a.finish().unwrap();
        a
    }

    fn aux() -> AuxvParams {
        AuxvParams {
            phdr: 0x400040,
            phnum: 10,
            entry: 0x401bc0,
            base: 0,
            flags: 0,
            uid: 1,
            euid: 2,
            gid: 3,
            egid: 4,
            secure: false,
            hwcap: 0x178bfbff,
            hwcap2: 2,
            minsigstksz: 3376,
            sysinfo_ehdr: None,
            execfd: None,
            rseq: None,
        }
    }

    #[test]
    fn parses_back() {
        let a = args(b"/bin/busybox", &[b"sh", b"-c", b"echo hi"], &[b"PATH=/bin", b"HOME=/"]);
        let st = build_initial_stack(&a, &aux(), &[7u8; 16], STACK_TOP).unwrap();
        let r = Reader(&st);
        assert_eq!(st.sp % 16, 0);
        assert_eq!(st.sp + st.bytes.len() as u64, STACK_TOP);
        assert_eq!(r.u64(st.sp), 3);
        let argv: Vec<_> = (0..3).map(|i| r.cstr(r.u64(st.sp + 8 + 8 * i))).collect();
        assert_eq!(argv, [&b"sh"[..], b"-c", b"echo hi"]);
        assert_eq!(r.u64(st.sp + 32), 0);
        let envp: Vec<_> = (0..2).map(|i| r.cstr(r.u64(st.sp + 40 + 8 * i))).collect();
        assert_eq!(envp, [&b"PATH=/bin"[..], b"HOME=/"]);
        assert_eq!(r.u64(st.sp + 56), 0);
        // auxv
        let mut a = st.sp + 64;
        let mut got = Vec::new();
        loop {
            let (k, v) = (r.u64(a), r.u64(a + 8));
            got.push((k, v));
            a += 16;
            if k == AT_NULL {
                break;
            }
        }
        assert_eq!(got, st.auxv);
        let keys: Vec<u64> = got.iter().map(|e| e.0).collect();
        assert_eq!(
            keys,
            [
                AT_MINSIGSTKSZ, AT_HWCAP, AT_PAGESZ, AT_CLKTCK, AT_PHDR, AT_PHENT, AT_PHNUM, AT_BASE,
                AT_FLAGS, AT_ENTRY, AT_UID, AT_EUID, AT_GID, AT_EGID, AT_SECURE, AT_RANDOM, AT_HWCAP2,
                AT_EXECFN, AT_PLATFORM, AT_NULL
            ]
        );
        let get = |k| got.iter().find(|e| e.0 == k).unwrap().1;
        assert_eq!(get(AT_PAGESZ), 4096);
        assert_eq!(get(AT_CLKTCK), 100);
        assert_eq!(get(AT_PHENT), 56);
        assert_eq!(get(AT_PHDR), 0x400040);
        assert_eq!(get(AT_ENTRY), 0x401bc0);
        assert_eq!((get(AT_UID), get(AT_EUID), get(AT_GID), get(AT_EGID)), (1, 2, 3, 4));
        assert_eq!(r.cstr(get(AT_EXECFN)), b"/bin/busybox");
        assert_eq!(r.cstr(get(AT_PLATFORM)), b"x86_64");
        assert_eq!(r.bytes(get(AT_RANDOM), 16), &[7u8; 16]);
        // Strings: argv[0] at arg_start, execfn right below the top 8 bytes.
        assert_eq!(r.u64(st.sp + 8), st.arg_start);
        assert_eq!(st.execfn, STACK_TOP - 8 - 13);
        assert_eq!(r.bytes(STACK_TOP - 8, 8), &[0u8; 8]);
        assert_eq!(st.arg_end, st.arg_start + 3 + 3 + 8);
        assert_eq!(st.env_start, st.arg_end);
        assert_eq!(st.env_end, st.execfn);
        assert_eq!(st.platform + 7, st.arg_start & !15);
    }

    #[test]
    fn exact_addresses_for_a_small_exec() {
        // By hand: top-8 = ..eff8; "/a\0" -> ..eff5; "a\0" -> ..eff3 (arg_start);
        // &~15 -> ..eff0; platform ..efe9; random ..efd9; 20 auxv pairs
        // (320 bytes) -> ..ee99; 4 words (argc, argv[0], NULL, NULL) ->
        // ..ee79, &~15 -> ..ee70.
        let st = build_initial_stack(&args(b"/a", &[b"a"], &[]), &aux(), &[0; 16], STACK_TOP).unwrap();
        assert_eq!(st.execfn, 0x7fff_ffff_eff5);
        assert_eq!(st.arg_start, 0x7fff_ffff_eff3);
        assert_eq!(st.platform + 7, 0x7fff_ffff_eff0);
        assert_eq!(st.random, 0x7fff_ffff_efd9);
        assert_eq!(st.sp, 0x7fff_ffff_ee70);
    }

    #[test]
    fn optional_entries_in_linux_order() {
        let mut p = aux();
        p.sysinfo_ehdr = Some(0x7fff_f7fc_8000);
        p.execfd = Some(3);
        p.rseq = Some((28, 32));
        let st = build_initial_stack(&args(b"/a", &[b"a"], &[]), &p, &[0; 16], STACK_TOP).unwrap();
        let keys: Vec<u64> = st.auxv.iter().map(|e| e.0).collect();
        assert_eq!(keys[0], AT_SYSINFO_EHDR);
        assert_eq!(keys[1], AT_MINSIGSTKSZ);
        assert_eq!(&keys[keys.len() - 5..], &[AT_PLATFORM, AT_EXECFD, AT_RSEQ_FEATURE_SIZE, AT_RSEQ_ALIGN, AT_NULL]);
    }

    #[test]
    fn alignment_holds_for_many_shapes() {
        for n in 0..40usize {
            let arg: Vec<u8> = core::iter::repeat_n(b'x', n).collect();
            let argv: Vec<&[u8]> = (0..(n % 5)).map(|_| &arg[..]).collect();
            let envp: Vec<&[u8]> = (0..(n % 3)).map(|_| &arg[..]).collect();
            let st = build_initial_stack(&args(&arg, &argv, &envp), &aux(), &[1; 16], STACK_TOP).unwrap();
            assert_eq!(st.sp % 16, 0, "n={n}");
            let r = Reader(&st);
            assert_eq!(r.u64(st.sp), argv.len().max(1) as u64);
            assert!(st.sp + 8 * (st.auxv.len() as u64 * 2) < st.random);
        }
    }

    #[test]
    fn rejects_impossible_stack_top() {
        let a = args(b"/a", &[b"a"], &[]);
        assert_eq!(build_initial_stack(&a, &aux(), &[0; 16], 0x100).unwrap_err().errno, Errno::EFAULT);
        assert_eq!(build_initial_stack(&a, &aux(), &[0; 16], STACK_TOP - 8).unwrap_err().errno, Errno::EFAULT);
    }

    /// Rebuilds a stack captured on Linux (see testdata/README.md) from
    /// the same inputs and compares every byte.
    fn check_golden(golden: &[u8], a: &ExecArgs) {
        let sp = STACK_TOP - golden.len() as u64;
        let word = |addr: u64| {
            let o = (addr - sp) as usize;
            u64::from_le_bytes(golden[o..o + 8].try_into().unwrap())
        };
        let argc = word(sp);
        let mut at = sp + 8 * (argc + 2);
        while word(at) != 0 {
            at += 8;
        }
        at += 8;
        let mut auxv = Vec::new();
        loop {
            let (k, v) = (word(at), word(at + 8));
            auxv.push((k, v));
            at += 16;
            if k == AT_NULL {
                break;
            }
        }
        let get = |k| auxv.iter().find(|e| e.0 == k).map(|e| e.1);
        let p = AuxvParams {
            phdr: get(AT_PHDR).unwrap(),
            phnum: get(AT_PHNUM).unwrap(),
            entry: get(AT_ENTRY).unwrap(),
            base: get(AT_BASE).unwrap(),
            flags: get(AT_FLAGS).unwrap(),
            uid: get(AT_UID).unwrap() as u32,
            euid: get(AT_EUID).unwrap() as u32,
            gid: get(AT_GID).unwrap() as u32,
            egid: get(AT_EGID).unwrap() as u32,
            secure: get(AT_SECURE).unwrap() != 0,
            hwcap: get(AT_HWCAP).unwrap(),
            hwcap2: get(AT_HWCAP2).unwrap(),
            minsigstksz: get(AT_MINSIGSTKSZ).unwrap(),
            sysinfo_ehdr: get(AT_SYSINFO_EHDR),
            execfd: get(AT_EXECFD),
            rseq: get(AT_RSEQ_FEATURE_SIZE).zip(get(AT_RSEQ_ALIGN)),
        };
        let r = get(AT_RANDOM).unwrap();
        let o = (r - sp) as usize;
        let random: [u8; 16] = golden[o..o + 16].try_into().unwrap();
        let st = build_initial_stack(a, &p, &random, STACK_TOP).unwrap();
        assert_eq!(st.auxv, auxv);
        assert_eq!(st.sp, sp);
        assert_eq!(st.bytes, golden);
    }

    #[test]
    fn matches_linux_byte_for_byte() {
        let a = args(b"./dump", &[b"./dump", b"one", b"two words", b""], &[b"A=1", b"LONGER_VARIABLE=hello"]);
        check_golden(include_bytes!("testdata/linux_stack_args.bin"), &a);
    }

    #[test]
    fn matches_linux_with_empty_argv() {
        check_golden(include_bytes!("testdata/linux_stack_noargs.bin"), &args(b"./dump", &[], &[]));
    }

    #[test]
    fn matches_linux_for_a_script() {
        use super::super::shebang::{apply_shebang, parse_shebang};
        let mut a = args(b"./script.sh", &[b"./script.sh", b"foo"], &[b"K=V"]);
        let sb = parse_shebang(b"#!/tmp/stk/dump  -x  y \necho not reached\n").unwrap();
        apply_shebang(&mut a, b"./script.sh", &sb).unwrap();
        check_golden(include_bytes!("testdata/linux_stack_script.bin"), &a);
    }

    #[test]
    fn for_plan_takes_plan_values() {
        let plan = LoadPlan {
            bias: 0,
            segments: Vec::new(),
            entry: 0x401000,
            phdr_addr: 0x400040,
            phnum: 7,
            brk: 0x500000,
            start_code: 0,
            end_code: 0,
            start_data: 0,
            end_data: 0,
            exec_stack: super::super::elf::ExecStack::Default,
        };
        let p = AuxvParams::for_plan(&plan);
        assert_eq!((p.entry, p.phdr, p.phnum, p.base), (0x401000, 0x400040, 7, 0));
        assert_eq!(p.minsigstksz, MINSIGSTKSZ);
    }
}
