//! In-kernel tests of user mode (`ktest user::`).
//!
//! Each test builds a small address space: the program's machine code
//! (assembled below into kernel rodata, copied into a frame) at [`CODE`],
//! a data page at [`DATA`] and a stack page below [`STACK_TOP`]; attaches
//! it to the running task (`Task::set_vm_space`) and runs the program with
//! [`execute`]. The programs talk to the test through registers at their
//! syscalls and through the data page.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::fpu::{self, XFEATURE_AVX};
use super::*;
use crate::ktest;
use crate::mm::{Frame, Perms, VmSpace, PAGE_SIZE};
use crate::task;

const CODE: u64 = 0x40_0000;
const DATA: u64 = 0x60_0000;
const STACK_TOP: u64 = 0x80_0000;

// The test programs. Position-independent (they run at CODE); absolute
// addresses refer to DATA. Each is delimited by `<name>` and `<name>_end`.
core::arch::global_asm!(
    ".pushsection .rodata.umbra_user_tests, \"a\"",
    // Syscall round trip: known registers in, stores results to DATA.
    "umbra_utest_syscall:",
    "mov rbx, 0xb0b0",
    "mov rdi, 0x11",
    "mov rsi, 0x22",
    "mov rdx, 0x33",
    "mov r10, 0x44",
    "mov r8, 0x55",
    "mov r9, 0x66",
    "mov r12, 0x1212",
    "mov rax, 0x1234",
    "syscall",
    "umbra_utest_syscall_ret1:",
    "mov qword ptr [0x600000], rax",
    "mov qword ptr [0x600008], rbx",
    "mov qword ptr [0x600010], rcx",
    "mov qword ptr [0x600018], rsp",
    "mov qword ptr [0x600020], r12",
    "mov qword ptr [0x600028], r11",
    "push rax",
    "pop rdx",
    "mov rax, 0x99",
    "syscall",
    "ud2",
    "umbra_utest_syscall_end:",
    // Load from / store to the address in rdi, then syscall.
    "umbra_utest_load:",
    "mov rax, qword ptr [rdi]",
    "syscall",
    "umbra_utest_load_end:",
    "umbra_utest_store:",
    "mov qword ptr [rdi], rsi",
    "syscall",
    "umbra_utest_store_end:",
    // Copy-on-write: read DATA, write rdi there, read back.
    "umbra_utest_cow:",
    "mov rax, qword ptr [0x600000]",
    "mov qword ptr [0x600000], rdi",
    "mov rbx, qword ptr [0x600000]",
    "syscall",
    "umbra_utest_cow_end:",
    // FPU state, AVX: load ymm0, xmm1, MXCSR, FCW once from DATA, then
    // forever: syscall 1 (the kernel switches tasks), store them, syscall 2.
    "umbra_utest_fpu_avx:",
    "vmovdqu ymm0, ymmword ptr [0x600000]",
    "movdqu xmm1, xmmword ptr [0x600020]",
    "ldmxcsr dword ptr [0x600040]",
    "fldcw word ptr [0x600044]",
    "2:",
    "mov eax, 1",
    "syscall",
    "vmovdqu ymmword ptr [0x600100], ymm0",
    "movdqu xmmword ptr [0x600120], xmm1",
    "stmxcsr dword ptr [0x600140]",
    "fnstcw word ptr [0x600144]",
    "mov eax, 2",
    "syscall",
    "jmp 2b",
    "umbra_utest_fpu_avx_end:",
    // The same without AVX (xmm0 instead of ymm0).
    "umbra_utest_fpu_sse:",
    "movdqu xmm0, xmmword ptr [0x600000]",
    "movdqu xmm1, xmmword ptr [0x600020]",
    "ldmxcsr dword ptr [0x600040]",
    "fldcw word ptr [0x600044]",
    "2:",
    "mov eax, 1",
    "syscall",
    "movdqu xmmword ptr [0x600100], xmm0",
    "movdqu xmmword ptr [0x600120], xmm1",
    "stmxcsr dword ptr [0x600140]",
    "fnstcw word ptr [0x600144]",
    "mov eax, 2",
    "syscall",
    "jmp 2b",
    "umbra_utest_fpu_sse_end:",
    // FS/GS bases: syscall with rax = fs:[0], rbx = gs:[8].
    "umbra_utest_segments:",
    "mov rax, qword ptr fs:[0]",
    "mov rbx, qword ptr gs:[8]",
    "syscall",
    "umbra_utest_segments_end:",
    // User code sets its own bases (needs CR4.FSGSBASE).
    "umbra_utest_wrbase:",
    "wrfsbase rdi",
    "wrgsbase rsi",
    "rdfsbase rax",
    "syscall",
    "umbra_utest_wrbase_end:",
    // Spin forever counting in rbx.
    "umbra_utest_spin:",
    "inc rbx",
    "jmp umbra_utest_spin",
    "umbra_utest_spin_end:",
    // Report RFLAGS.
    "umbra_utest_flags:",
    "pushfq",
    "pop rax",
    "syscall",
    "umbra_utest_flags_end:",
    ".popsection",
);

extern "C" {
    static umbra_utest_syscall: u8;
    static umbra_utest_syscall_ret1: u8;
    static umbra_utest_syscall_end: u8;
    static umbra_utest_load: u8;
    static umbra_utest_load_end: u8;
    static umbra_utest_store: u8;
    static umbra_utest_store_end: u8;
    static umbra_utest_cow: u8;
    static umbra_utest_cow_end: u8;
    static umbra_utest_fpu_avx: u8;
    static umbra_utest_fpu_avx_end: u8;
    static umbra_utest_fpu_sse: u8;
    static umbra_utest_fpu_sse_end: u8;
    static umbra_utest_segments: u8;
    static umbra_utest_segments_end: u8;
    static umbra_utest_wrbase: u8;
    static umbra_utest_wrbase_end: u8;
    static umbra_utest_spin: u8;
    static umbra_utest_spin_end: u8;
    static umbra_utest_flags: u8;
    static umbra_utest_flags_end: u8;
}

/// The machine code between two labels of the block above.
macro_rules! program {
    ($start:ident, $end:ident) => {{
        let start = core::ptr::addr_of!($start);
        let end = core::ptr::addr_of!($end);
        // SAFETY: both labels are in the same read-only rodata block,
        // `end` after `start`; the bytes between are assembled code that
        // nothing writes.
        unsafe { core::slice::from_raw_parts(start, end as usize - start as usize) }
    }};
}

/// A fresh address space with `code` at CODE (RX), a zeroed private data
/// page at DATA (RW) and a stack page below STACK_TOP (RW).
fn new_space(code: &[u8]) -> Arc<VmSpace> {
    assert!(code.len() <= PAGE_SIZE);
    let space = VmSpace::new().expect("memory for a VmSpace");
    let text = Frame::alloc().expect("a frame");
    text.write_bytes(0, code).expect("program fits a page");
    space.map(CODE as usize, text, Perms::RX).expect("map code");
    space.map(DATA as usize, Frame::alloc().expect("a frame"), Perms::RW).expect("map data");
    space.map((STACK_TOP - PAGE_SIZE as u64) as usize, Frame::alloc().expect("a frame"), Perms::RW).expect("map stack");
    Arc::new(space)
}

/// The running task uses `space` until this is dropped.
struct Attached;

fn attach(space: &Arc<VmSpace>) -> Attached {
    task::current().set_vm_space(Some(space.clone()));
    Attached
}

impl Drop for Attached {
    fn drop(&mut self) {
        task::current().set_vm_space(None);
    }
}

fn data(offset: u64) -> u64 {
    read_val::<u64>(DATA + offset).expect("data page readable")
}

fn expect_syscall(reason: ReturnReason) {
    assert_eq!(reason, ReturnReason::Syscall);
}

fn expect_exception(reason: ReturnReason) -> UserException {
    match reason {
        ReturnReason::Exception(exception) => exception,
        other => panic!("expected an exception, got {:?}", other),
    }
}

fn never() -> bool {
    false
}

#[ktest]
fn syscall_round_trip_with_sysret_and_iret() {
    let code = program!(umbra_utest_syscall, umbra_utest_syscall_end);
    let ret1 = CODE + (core::ptr::addr_of!(umbra_utest_syscall_ret1) as u64 - code.as_ptr() as u64);
    // Run 0 resumes with RCX/R11 as the CPU left them (SYSRETQ); run 1
    // changes R11, which only IRETQ can restore.
    for run in 0..2 {
        let space = new_space(code);
        let _attached = attach(&space);
        let mut ctx = UserContext::new(CODE, STACK_TOP);
        expect_syscall(execute(&mut ctx, never));
        assert_eq!(ctx.syscall_number(), 0x1234);
        assert_eq!(ctx.syscall_args(), [0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
        let regs = *ctx.regs();
        assert_eq!(regs.rip, ret1, "rip after the syscall instruction");
        assert_eq!(regs.rcx, regs.rip, "syscall leaves the return rip in rcx");
        assert_eq!(regs.r11, regs.rflags, "syscall leaves rflags in r11");
        assert_eq!((regs.rbx, regs.r12, regs.rsp), (0xb0b0, 0x1212, STACK_TOP));
        assert!(regs.rflags & rflags::IF != 0);
        ctx.set_syscall_return(0xfeed);
        let expected_r11 = if run == 0 {
            regs.rflags
        } else {
            ctx.regs_mut().r11 = 0x5a5a;
            ctx.regs_mut().rbx = 0xc0c0;
            0x5a5a
        };
        expect_syscall(execute(&mut ctx, never));
        assert_eq!(ctx.syscall_number(), 0x99);
        assert_eq!(ctx.regs().rdx, 0xfeed, "push/pop through the user stack");
        assert_eq!(data(0), 0xfeed, "the program saw the return value");
        assert_eq!(data(8), if run == 0 { 0xb0b0 } else { 0xc0c0 });
        assert_eq!(data(0x10), ret1);
        assert_eq!(data(0x18), STACK_TOP);
        assert_eq!(data(0x20), 0x1212);
        assert_eq!(data(0x28), expected_r11);
    }
}

#[ktest]
fn page_faults_come_back_with_address_and_error_code() {
    let load = program!(umbra_utest_load, umbra_utest_load_end);
    let store = program!(umbra_utest_store, umbra_utest_store_end);
    const USER: u64 = 1 << 2;
    let kernel_address = core::ptr::addr_of!(umbra_utest_load) as u64;
    let cases = [
        // (program, address, expected error code)
        (load, 0x1234_5008, USER),
        (store, 0x1234_5008, USER | UserException::PF_WRITE),
        (store, CODE, USER | UserException::PF_WRITE | UserException::PF_PRESENT),
        (load, kernel_address, USER | UserException::PF_PRESENT),
    ];
    for (program, address, error_code) in cases {
        let space = new_space(program);
        let _attached = attach(&space);
        let mut ctx = UserContext::new(CODE, STACK_TOP);
        ctx.regs_mut().rdi = address;
        let exception = expect_exception(execute(&mut ctx, never));
        assert_eq!(
            exception,
            UserException { vector: UserException::PAGE_FAULT, error_code, fault_address: Some(address) },
            "access to {:#x}",
            address
        );
        assert_eq!(ctx.regs().rip, CODE, "rip at the faulting instruction");
        // Mapped and allowed: the same program completes.
        ctx.regs_mut().rdi = DATA;
        expect_syscall(execute(&mut ctx, never));
    }
}

#[ktest]
fn invalid_and_privileged_instructions_are_exceptions() {
    // (machine code, vector, error code, rip offset after the exception)
    let cases: [(&[u8], u8, u64, u64); 5] = [
        (&[0x0f, 0x0b], UserException::INVALID_OPCODE, 0, 0), // ud2
        (&[0xcc], UserException::BREAKPOINT, 0, 1),           // int3 (a trap: rip after it)
        (&[0xf4], UserException::GENERAL_PROTECTION, 0, 0),   // hlt
        (&[0xcd, 0x80], UserException::GENERAL_PROTECTION, (0x80 << 3) | 2, 0), // int 0x80: DPL 0 gate
        (&[0x0f, 0x20, 0xc0], UserException::GENERAL_PROTECTION, 0, 0), // mov rax, cr0
    ];
    for (code, vector, error_code, rip_offset) in cases {
        let space = new_space(code);
        let _attached = attach(&space);
        let mut ctx = UserContext::new(CODE, STACK_TOP);
        let exception = expect_exception(execute(&mut ctx, never));
        assert_eq!(exception, UserException { vector, error_code, fault_address: None }, "code {:x?}", code);
        assert_eq!(ctx.regs().rip, CODE + rip_offset, "code {:x?}", code);
    }
}

#[ktest]
fn bad_rip_and_bases_are_refused_or_fault_in_user_mode() {
    let space = new_space(&[0x0f, 0x05]); // syscall
    let _attached = attach(&space);
    let gp = ReturnReason::Exception(UserException { vector: 13, error_code: 0, fault_address: None });
    let mut ctx = UserContext::new(0x8000_0000_0000_0000, STACK_TOP);
    assert_eq!(execute(&mut ctx, never), gp, "a non-canonical rip must not reach iretq");
    let mut ctx = UserContext::new(CODE, STACK_TOP);
    ctx.set_fs_base(0x0000_8000_0000_0000);
    assert_eq!(execute(&mut ctx, never), gp, "a non-canonical FS base must not be loaded");
    // A canonical kernel rip: user mode cannot fetch there.
    let kernel_rip = core::ptr::addr_of!(umbra_utest_load) as u64;
    let mut ctx = UserContext::new(kernel_rip, STACK_TOP);
    let exception = expect_exception(execute(&mut ctx, never));
    assert_eq!(exception.vector, UserException::PAGE_FAULT);
    assert_eq!(exception.fault_address, Some(kernel_rip));
    assert_eq!(exception.error_code, UserException::PF_INSTRUCTION | UserException::PF_PRESENT | (1 << 2));
}

#[ktest]
fn rflags_are_sanitized_on_entry() {
    let space = new_space(program!(umbra_utest_flags, umbra_utest_flags_end));
    let _attached = attach(&space);
    let mut ctx = UserContext::new(CODE, STACK_TOP);
    // IOPL 3, NT and IF clear: refused; CF and DF kept.
    ctx.regs_mut().rflags = rflags::IOPL | rflags::NT | rflags::CF | rflags::DF;
    expect_syscall(execute(&mut ctx, never));
    let seen = ctx.syscall_number();
    assert_eq!(seen & (rflags::IOPL | rflags::NT), 0, "rflags {:#x}", seen);
    assert_eq!(seen & (rflags::IF | rflags::CF | rflags::DF), rflags::IF | rflags::CF | rflags::DF, "rflags {:#x}", seen);
}

#[ktest]
fn copy_on_write_is_resolved_transparently() {
    let space = new_space(program!(umbra_utest_cow, umbra_utest_cow_end));
    {
        let _attached = attach(&space);
        write_val(DATA, &0xaaaa_u64).unwrap();
    }
    let child = Arc::new(space.fork_cow().expect("fork"));
    let faults_before = crate::arch::trap::trap_count(14);
    {
        let _attached = attach(&space);
        let mut ctx = UserContext::new(CODE, STACK_TOP);
        ctx.regs_mut().rdi = 0xbbbb;
        expect_syscall(execute(&mut ctx, never));
        assert_eq!((ctx.syscall_number(), ctx.regs().rbx), (0xaaaa, 0xbbbb));
        assert_eq!(data(0), 0xbbbb);
    }
    assert!(crate::arch::trap::trap_count(14) > faults_before, "the write did not fault (not copy-on-write?)");
    {
        let _attached = attach(&child);
        assert_eq!(data(0), 0xaaaa, "the child saw the parent's write");
        // The child writes too, through a kernel copy this time.
        write_val(DATA, &0xcccc_u64).expect("copy_to_user resolves copy-on-write");
        assert_eq!(data(0), 0xcccc);
    }
    let _attached = attach(&space);
    assert_eq!(data(0), 0xbbbb, "the parent saw the child's write");
}

#[ktest]
fn fpu_state_is_private_to_each_context() {
    let avx = fpu::enabled_features() & XFEATURE_AVX != 0;
    let code = if avx {
        program!(umbra_utest_fpu_avx, umbra_utest_fpu_avx_end)
    } else {
        program!(umbra_utest_fpu_sse, umbra_utest_fpu_sse_end)
    };
    const ROUNDS: usize = 20;
    let progress = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..3u64)
        .map(|id| {
            let progress = progress.clone();
            task::TaskOptions::new("test-user-fpu").pin(crate::cpu_local::this_cpu().index).spawn(move || {
                let space = new_space(code);
                let _attached = attach(&space);
                let pattern: Vec<u8> = (0..48u8).map(|i| i.wrapping_mul(7).wrapping_add(id as u8 * 64 + 1)).collect();
                copy_to_user(DATA, &pattern).unwrap();
                let mxcsr = fpu::MXCSR_INIT | ((id as u32 + 1) << 13); // rounding control
                let fcw = [0x037f_u16, 0x027f, 0x007f][id as usize]; // precision control
                write_val(DATA + 0x40, &mxcsr).unwrap();
                write_val(DATA + 0x44, &fcw).unwrap();
                let vector_len = if avx { 32 } else { 16 };
                let mut ctx = UserContext::new(CODE, STACK_TOP);
                for round in 0..ROUNDS {
                    expect_syscall(execute(&mut ctx, never));
                    assert_eq!(ctx.syscall_number(), 1);
                    // Let the other tasks run their user code in between.
                    for _ in 0..2 {
                        task::yield_now();
                    }
                    expect_syscall(execute(&mut ctx, never));
                    assert_eq!(ctx.syscall_number(), 2);
                    let mut seen = [0u8; 48];
                    copy_from_user(DATA + 0x100, &mut seen[..vector_len]).unwrap();
                    copy_from_user(DATA + 0x120, &mut seen[32..48]).unwrap();
                    assert_eq!(seen[..vector_len], pattern[..vector_len], "task {} round {}: vector register", id, round);
                    assert_eq!(seen[32..48], pattern[32..48], "task {} round {}: xmm1", id, round);
                    assert_eq!(read_val::<u32>(DATA + 0x140).unwrap(), mxcsr, "task {} round {}: MXCSR", id, round);
                    assert_eq!(read_val::<u16>(DATA + 0x144).unwrap(), fcw, "task {} round {}: FCW", id, round);
                    progress.fetch_add(1, Ordering::SeqCst);
                }
                // The saved image carries the state too (what fork clones).
                let image = ctx.fpu_state();
                assert_eq!(u32::from_le_bytes(image[24..28].try_into().unwrap()), mxcsr);
                assert_eq!(image[160..176], pattern[..16], "xmm0 in the saved image");
                let clone = ctx.clone();
                assert_eq!(clone.fpu_state(), ctx.fpu_state());
            })
        })
        .collect();
    for task in &tasks {
        task.join();
    }
    assert_eq!(progress.load(Ordering::SeqCst), 3 * ROUNDS);
}

#[ktest]
fn fs_and_gs_bases_reach_user_code_and_come_back() {
    let space = new_space(program!(umbra_utest_segments, umbra_utest_segments_end));
    let _attached = attach(&space);
    write_val(DATA + 0x100, &0x0f0f_f5f5_u64).unwrap();
    write_val(DATA + 0x208, &0x6767_9595_u64).unwrap();
    let mut ctx = UserContext::new(CODE, STACK_TOP);
    ctx.set_fs_base(DATA + 0x100);
    ctx.set_gs_base(DATA + 0x200);
    expect_syscall(execute(&mut ctx, never));
    assert_eq!((ctx.syscall_number(), ctx.regs().rbx), (0x0f0f_f5f5, 0x6767_9595));
    assert_eq!((ctx.fs_base(), ctx.gs_base()), (DATA + 0x100, DATA + 0x200));
    // The kernel's own GS (per-CPU data) survived the round trip.
    assert!(crate::cpu_local::this_cpu().index < crate::cpu_local::MAX_CPUS);
    assert_eq!(crate::cpu_local::this_cpu().user_entry.kernel_rsp.load(Ordering::Relaxed) % 16, 0);

    if !features().fsgsbase {
        crate::println!("  (no FSGSBASE: user-set bases not tested)");
        return;
    }
    let space = new_space(program!(umbra_utest_wrbase, umbra_utest_wrbase_end));
    let _attached = attach(&space);
    let mut ctx = UserContext::new(CODE, STACK_TOP);
    (ctx.regs_mut().rdi, ctx.regs_mut().rsi) = (0x1234_5000, 0x5678_9000);
    expect_syscall(execute(&mut ctx, never));
    assert_eq!(ctx.syscall_number(), 0x1234_5000);
    assert_eq!((ctx.fs_base(), ctx.gs_base()), (0x1234_5000, 0x5678_9000), "bases user code set were not saved");
}

#[ktest]
fn interrupts_in_user_mode_return_only_when_asked() {
    if !crate::arch::apic::is_enabled() {
        crate::println!("  skipped: no timer interrupts without x2APIC");
        return;
    }
    let space = new_space(program!(umbra_utest_spin, umbra_utest_spin_end));
    let _attached = attach(&space);
    let mut ctx = UserContext::new(CODE, STACK_TOP);
    let mut asked = 0;
    let reason = execute(&mut ctx, || {
        asked += 1;
        asked == 3
    });
    assert_eq!(reason, ReturnReason::Interrupted);
    assert_eq!(asked, 3, "the loop went on after should_return said no");
    let count = ctx.regs().rbx;
    assert!(count > 0, "user code never ran");
    assert!(ctx.regs().rip >= CODE && ctx.regs().rip < CODE + 8);

    // User code is preemptible: another task on this CPU gets to run
    // while this one spins in user mode, and only then do we return.
    let ran = Arc::new(AtomicBool::new(false));
    let flag = ran.clone();
    let other = task::TaskOptions::new("test-user-preempt")
        .pin(crate::cpu_local::this_cpu().index)
        .spawn(move || flag.store(true, Ordering::SeqCst));
    let deadline = crate::arch::tsc::monotonic_ns() + 5_000_000_000;
    let reason = execute(&mut ctx, || ran.load(Ordering::SeqCst) || crate::arch::tsc::monotonic_ns() > deadline);
    assert_eq!(reason, ReturnReason::Interrupted);
    assert!(ran.load(Ordering::SeqCst), "the other task never ran while user code spun");
    // The other task's wake-up can reach this CPU as an interrupt that is
    // taken before the first user instruction (seen under a loaded TCG
    // host with 2 CPUs): give user code one more slice before judging.
    if ctx.regs().rbx == count {
        let _ = execute(&mut ctx, || true);
    }
    assert!(ctx.regs().rbx > count, "user code did not continue where it stopped");
    other.join();
}

#[ktest]
fn user_copies_work_on_mapped_pages_and_fail_cleanly_elsewhere() {
    let space = new_space(&[0x0f, 0x0b]);
    let _attached = attach(&space);
    copy_to_user(DATA + 0x10, b"hello, user").unwrap();
    let mut back = [0u8; 11];
    copy_from_user(DATA + 0x10, &mut back).unwrap();
    assert_eq!(&back, b"hello, user");
    // Across the data page into the (unmapped) next page: fails.
    assert_eq!(copy_from_user(DATA + PAGE_SIZE as u64 - 4, &mut back), Err(Fault));
    assert_eq!(copy_to_user(DATA + PAGE_SIZE as u64 - 4, &back), Err(Fault));
    // Unmapped user address; read-only code page; kernel addresses.
    assert_eq!(copy_from_user(0x1000_0000, &mut back), Err(Fault));
    assert_eq!(copy_to_user(CODE, &back), Err(Fault));
    let kernel = core::ptr::addr_of!(umbra_utest_load) as u64;
    assert_eq!(copy_from_user(kernel, &mut back), Err(Fault));
    assert_eq!(copy_to_user(crate::mm::paddr_to_vaddr(0x10_0000) as u64, &back), Err(Fault));
    assert_eq!(copy_from_user(USER_SPACE_END - 4, &mut back), Err(Fault));
    assert_eq!(copy_from_user(u64::MAX - 2, &mut back), Err(Fault));
    // Typed values, unaligned.
    write_val(DATA + 0x21, &0x1122_3344_5566_7788_u64).unwrap();
    assert_eq!(read_val::<u64>(DATA + 0x21), Ok(0x1122_3344_5566_7788));
    assert_eq!(read_val::<[u16; 2]>(DATA + 0x21), Ok([0x7788, 0x5566]));
    assert_eq!(read_val::<u32>(0x1000_0000), Err(Fault));
    // clear_user.
    assert_eq!(read_val::<u64>(DATA + 0x20), Ok(0x2233_4455_6677_8800));
    clear_user(DATA + 0x20, 4).unwrap();
    assert_eq!(read_val::<u64>(DATA + 0x20), Ok(0x2233_4455_0000_0000));
    assert_eq!(clear_user(DATA + PAGE_SIZE as u64 - 1, 2), Err(Fault));
    // A kernel fault fixup, not a user exception: the task lives on.
    assert!(crate::arch::trap::fixup_count(14) > 0);
}

#[ktest]
fn read_cstring_stops_at_nul_and_refuses_long_strings() {
    let space = new_space(&[0x0f, 0x0b]);
    let _attached = attach(&space);
    copy_to_user(DATA, b"/bin/sh\0tail").unwrap();
    assert_eq!(read_cstring(DATA, 4096).as_deref(), Ok(&b"/bin/sh"[..]));
    assert_eq!(read_cstring(DATA, 8).as_deref(), Ok(&b"/bin/sh"[..]), "7 bytes + NUL fit in 8");
    assert_eq!(read_cstring(DATA, 7), Err(CStringError::TooLong));
    assert_eq!(read_cstring(DATA + 7, 1).as_deref(), Ok(&b""[..]));
    // A string that runs to the end of the page with no NUL: the next page
    // is unmapped.
    let end = DATA + PAGE_SIZE as u64;
    copy_to_user(end - 300, &[b'x'; 300]).unwrap();
    assert_eq!(read_cstring(end - 300, 4096), Err(CStringError::Fault));
    assert_eq!(read_cstring(end - 300, 300), Err(CStringError::TooLong), "never reads past max_len");
    assert_eq!(read_cstring(0x1000_0000, 16), Err(CStringError::Fault));
    assert_eq!(read_cstring(core::ptr::addr_of!(umbra_utest_load) as u64, 16), Err(CStringError::Fault));
    // Longer than one internal chunk, NUL on the next chunk.
    copy_to_user(DATA + 0x200, &[b'y'; 600]).unwrap();
    copy_to_user(DATA + 0x200 + 600, &[0]).unwrap();
    assert_eq!(read_cstring(DATA + 0x200, 4096).map(|s| s.len()), Ok(600));
}

#[ktest]
fn smap_stops_plain_kernel_access_to_user_pages() {
    if !features().smap {
        crate::println!("  skipped: the CPU has no SMAP");
        return;
    }
    let space = new_space(&[0x0f, 0x0b]);
    let _attached = attach(&space);
    write_val(DATA, &0x5a5a_u64).unwrap();
    assert_eq!(read_val::<u64>(DATA), Ok(0x5a5a));
    assert_eq!(
        crate::arch::extable::probe_read_u64(DATA),
        Err(Fault),
        "a kernel read of a user page outside the copy routines must fault"
    );
    // A plain write to a writable user page: the memory manager must not
    // be asked (it would find the page writable and retry forever).
    let failed: u64;
    // SAFETY: one 8-byte store to a user page this test owns; with SMAP it
    // faults and continues at label 3 through the exception table.
    unsafe {
        core::arch::asm!(
            "xor {failed:e}, {failed:e}",
            "2: mov qword ptr [{addr}], {value}",
            "jmp 4f",
            "3: mov {failed:e}, 1",
            "4:",
            crate::ex_table_entry!("2b", "3b"),
            addr = in(reg) DATA,
            value = in(reg) 0x7777_u64,
            failed = out(reg) failed,
            options(nostack),
        );
    }
    assert_eq!(failed, 1, "a kernel write to a user page outside the copy routines must fault");
    assert_eq!(read_val::<u64>(DATA), Ok(0x5a5a));
}

#[ktest]
fn fpu_state_images_are_checked() {
    let mut ctx = UserContext::new(CODE, STACK_TOP);
    let mut image = ctx.fpu_state().to_vec();
    assert_eq!(image.len(), fpu::config().area_size);
    assert_eq!(u32::from_le_bytes(image[24..28].try_into().unwrap()), fpu::MXCSR_INIT);
    image[24..28].copy_from_slice(&0xffff_0000_u32.to_le_bytes());
    assert_eq!(ctx.set_fpu_state(&image), Err(InvalidFpuState::ReservedMxcsrBits));
    image[24..28].copy_from_slice(&fpu::MXCSR_INIT.to_le_bytes());
    if fpu::config().xsave {
        image[512] = 0xff; // XSTATE_BV with components not enabled
        assert_eq!(ctx.set_fpu_state(&image), Err(InvalidFpuState::BadHeader));
        image[512] = 0;
    }
    assert_eq!(ctx.set_fpu_state(&image[..100]), Err(InvalidFpuState::BadLength));
    assert_eq!(ctx.set_fpu_state(&image), Ok(()));
    assert_eq!(ctx.set_fpu_state(&image[..512]), Ok(()), "a legacy FXSAVE image is accepted");
    assert_eq!(fpu::restore_faults(), 0);
}
