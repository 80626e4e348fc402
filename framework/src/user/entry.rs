//! The way into user mode and back: `umbra_run_user` (enter with SYSRETQ
//! or IRETQ), `umbra_syscall_entry` (LSTAR) and `umbra_user_exit` (where
//! the trap entry sends every trap from user mode), and the per-CPU
//! set-up of SYSCALL (EFER.SCE, STAR, LSTAR, FMASK).
//!
//! Model: rCore's trapframe / Asterinas' `UserMode`: entering user mode is
//! a *call* that returns when user mode is left. `umbra_run_user(frame,
//! use_sysret)` saves the callee-saved registers on the kernel stack and
//! records the resulting stack pointer (16-byte aligned) per CPU, both as
//! the SYSCALL stack (`PerCpu::user_entry.kernel_rsp`) and as TSS.RSP0.
//! A `syscall` switches to it and pushes a [`TrapFrame`] image by hand
//! (vector [`SYSCALL_VECTOR`]); an interrupt or exception from user mode
//! lands there through the CPU (RSP0) and `trap_entry.s` completes the same
//! [`TrapFrame`]. Either way `umbra_user_exit` finds the frame directly
//! below the recorded stack pointer, copies it to the caller's buffer and
//! returns from `umbra_run_user`. All further handling happens in Rust, on
//! the task's ordinary kernel stack, in [`super::execute`]'s loop.
//!
//! Because RSP0 and the SYSCALL stack are written on every entry to user
//! mode, with interrupts off, on the CPU that is about to run user code,
//! they are always right for the task in user mode; the scheduler does not
//! have to maintain them.
//!
//! Exit to user mode: SYSRETQ only when it restores exactly the frame:
//! RCX = RIP and R11 = RFLAGS (true after a syscall, unless the kernel
//! changed RIP or the flags), RIP below `USER_SPACE_END` (so never a
//! non-canonical RIP: the Intel SYSRET erratum would raise #GP in ring 0
//! with the user's RSP), and neither TF nor RF set. Everything else
//! (returns after interrupts and exceptions, signal delivery, new threads)
//! takes IRETQ with the full frame. The caller refuses non-canonical RIPs
//! before either (IRETQ would fault in ring 0 too).
//!
//! Known window (as in Linux): between the final `swapgs` and SYSRETQ /
//! IRETQ the kernel runs with the user's GS base; an NMI or #MC there sees
//! kernel CS and the user's GS. The NMI handler does not use per-CPU data.

use core::mem::offset_of;

use crate::arch::gdt::{KERNEL_SS, USER_CS, USER_SS};
use crate::arch::trap::TrapFrame;
use crate::cpu_local::{PerCpu, UserEntryScratch};

/// The `vector` of a frame that a `syscall` made (not an IDT vector).
pub const SYSCALL_VECTOR: u64 = 0x100;

const FRAME_SIZE: usize = core::mem::size_of::<TrapFrame>();
const KERNEL_RSP: usize = offset_of!(PerCpu, user_entry) + offset_of!(UserEntryScratch, kernel_rsp);
const USER_RSP: usize = offset_of!(PerCpu, user_entry) + offset_of!(UserEntryScratch, user_rsp);
const TSS_RSP0: usize = offset_of!(PerCpu, user_entry) + offset_of!(UserEntryScratch, tss_rsp0);

core::arch::global_asm!(
    ".section .text.umbra_user, \"ax\"",
    // fn umbra_run_user(frame: *mut TrapFrame, use_sysret: u64)
    // Interrupts off. Returns when user mode is left, with the trap frame
    // (or syscall image) copied to *frame.
    ".global umbra_run_user",
    ".type umbra_run_user, @function",
    "umbra_run_user:",
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "push rdi",
    // rsp is 16-aligned here (8 for the return address + 7 pushes).
    "mov gs:[{kernel_rsp}], rsp",
    "mov rax, gs:[{tss_rsp0}]",
    "mov [rax], rsp",
    "test rsi, rsi",
    "jnz 5f",
    // IRETQ: the CPU frame, then every register from *frame.
    "push {user_ss}",
    "push qword ptr [rdi + {f_rsp}]",
    "push qword ptr [rdi + {f_rflags}]",
    "push {user_cs}",
    "push qword ptr [rdi + {f_rip}]",
    "mov rax, [rdi + {f_rax}]",
    "mov rbx, [rdi + {f_rbx}]",
    "mov rcx, [rdi + {f_rcx}]",
    "mov rdx, [rdi + {f_rdx}]",
    "mov rsi, [rdi + {f_rsi}]",
    "mov rbp, [rdi + {f_rbp}]",
    "mov r8, [rdi + {f_r8}]",
    "mov r9, [rdi + {f_r9}]",
    "mov r10, [rdi + {f_r10}]",
    "mov r11, [rdi + {f_r11}]",
    "mov r12, [rdi + {f_r12}]",
    "mov r13, [rdi + {f_r13}]",
    "mov r14, [rdi + {f_r14}]",
    "mov r15, [rdi + {f_r15}]",
    "mov rdi, [rdi + {f_rdi}]",
    "swapgs",
    "iretq",
    // SYSRETQ: RIP from RCX, RFLAGS from R11 (the caller checked that
    // these equal the frame's RCX and R11), RSP loaded by hand.
    "5:",
    "mov rax, [rdi + {f_rax}]",
    "mov rbx, [rdi + {f_rbx}]",
    "mov rdx, [rdi + {f_rdx}]",
    "mov rsi, [rdi + {f_rsi}]",
    "mov rbp, [rdi + {f_rbp}]",
    "mov r8, [rdi + {f_r8}]",
    "mov r9, [rdi + {f_r9}]",
    "mov r10, [rdi + {f_r10}]",
    "mov r12, [rdi + {f_r12}]",
    "mov r13, [rdi + {f_r13}]",
    "mov r14, [rdi + {f_r14}]",
    "mov r15, [rdi + {f_r15}]",
    "mov rcx, [rdi + {f_rip}]",
    "mov r11, [rdi + {f_rflags}]",
    "mov rsp, [rdi + {f_rsp}]",
    "mov rdi, [rdi + {f_rdi}]",
    "swapgs",
    "sysretq",
    ".size umbra_run_user, . - umbra_run_user",
    //
    // LSTAR: `syscall` from user mode. RCX = user RIP, R11 = user RFLAGS;
    // FMASK cleared IF, TF, DF, AC, NT, IOPL; still on the user stack.
    ".global umbra_syscall_entry",
    ".type umbra_syscall_entry, @function",
    "umbra_syscall_entry:",
    "swapgs",
    "mov gs:[{user_rsp}], rsp",
    "mov rsp, gs:[{kernel_rsp}]",
    "push {user_ss}",
    "push qword ptr gs:[{user_rsp}]",
    "push r11",
    "push {user_cs}",
    "push rcx",
    "push 0",
    "push {syscall_vector}",
    "push r15",
    "push r14",
    "push r13",
    "push r12",
    "push r11",
    "push r10",
    "push r9",
    "push r8",
    "push rbp",
    "push rdi",
    "push rsi",
    "push rdx",
    "push rcx",
    "push rbx",
    "push rax",
    "jmp umbra_user_exit",
    ".size umbra_syscall_entry, . - umbra_syscall_entry",
    //
    // Every trap from user mode ends here: rsp = &TrapFrame, which ends at
    // the stack pointer umbra_run_user recorded; kernel GS; interrupts off.
    ".global umbra_user_exit",
    ".type umbra_user_exit, @function",
    "umbra_user_exit:",
    "cld",
    // An interrupt from ring 3 loads a null SS: put the kernel's back (the
    // kernel's code expects it, and AMD's SYSRET keeps a null SS's
    // attributes; Linux fixes the same up on context switch).
    "mov eax, {kernel_ss}",
    "mov ss, eax",
    "lea rax, [rsp + {frame_size}]",
    "cmp rax, gs:[{kernel_rsp}]",
    "jne 9f",
    "mov rsi, rsp",
    "mov rdi, [rax]",
    "mov ecx, {frame_words}",
    "rep movsq",
    "lea rsp, [rax + 8]",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    // The frame is not where umbra_run_user left the stack: a bug.
    "9: ud2",
    ".size umbra_user_exit, . - umbra_user_exit",
    kernel_rsp = const KERNEL_RSP,
    user_rsp = const USER_RSP,
    tss_rsp0 = const TSS_RSP0,
    user_ss = const USER_SS,
    kernel_ss = const KERNEL_SS,
    user_cs = const USER_CS,
    syscall_vector = const SYSCALL_VECTOR,
    frame_size = const FRAME_SIZE,
    frame_words = const FRAME_SIZE / 8,
    f_rax = const offset_of!(TrapFrame, rax),
    f_rbx = const offset_of!(TrapFrame, rbx),
    f_rcx = const offset_of!(TrapFrame, rcx),
    f_rdx = const offset_of!(TrapFrame, rdx),
    f_rsi = const offset_of!(TrapFrame, rsi),
    f_rdi = const offset_of!(TrapFrame, rdi),
    f_rbp = const offset_of!(TrapFrame, rbp),
    f_r8 = const offset_of!(TrapFrame, r8),
    f_r9 = const offset_of!(TrapFrame, r9),
    f_r10 = const offset_of!(TrapFrame, r10),
    f_r11 = const offset_of!(TrapFrame, r11),
    f_r12 = const offset_of!(TrapFrame, r12),
    f_r13 = const offset_of!(TrapFrame, r13),
    f_r14 = const offset_of!(TrapFrame, r14),
    f_r15 = const offset_of!(TrapFrame, r15),
    f_rip = const offset_of!(TrapFrame, rip),
    f_rflags = const offset_of!(TrapFrame, rflags),
    f_rsp = const offset_of!(TrapFrame, rsp),
);

extern "C" {
    fn umbra_run_user(frame: *mut TrapFrame, use_sysret: u64);
    fn umbra_syscall_entry();
}

// The syscall image and the CPU's frame must line up with TrapFrame.
const _: () = assert!(FRAME_SIZE == 22 * 8 && FRAME_SIZE.is_multiple_of(16));
const _: () = assert!(offset_of!(TrapFrame, ss) == FRAME_SIZE - 8 && offset_of!(TrapFrame, vector) == 15 * 8);

/// RFLAGS bits SYSCALL clears: IF, TF, DF, AC, NT, IOPL (as Linux).
const SYSCALL_FMASK: u64 = super::rflags::IF
    | super::rflags::TF
    | super::rflags::DF
    | super::rflags::AC
    | super::rflags::NT
    | super::rflags::IOPL;
const EFER_SCE: u64 = 1 << 0;

/// Enable SYSCALL/SYSRET on the calling CPU and point the entry code at
/// this CPU's TSS.RSP0.
pub(super) fn init_this_cpu() {
    use crate::arch::msr;
    let slot = crate::arch::gdt::kernel_stack_slot().expect("user::init_this_cpu before the CPU loaded its GDT/TSS");
    crate::cpu_local::this_cpu().user_entry.tss_rsp0.store(slot, core::sync::atomic::Ordering::Relaxed);
    // SAFETY: the MSRs exist on every x86-64 CPU. STAR holds the selectors of our GDT layout (gdt::STAR), LSTAR the entry code above,
    // which switches to the per-CPU kernel stack before it touches memory; FMASK makes it start with interrupts off; SCE only allows the
    // `syscall` instruction, which user code can only use to reach that entry.
    unsafe {
        msr::write(msr::IA32_STAR, crate::arch::gdt::STAR);
        msr::write(msr::IA32_LSTAR, umbra_syscall_entry as unsafe extern "C" fn() as usize as u64);
        msr::write(msr::IA32_FMASK, SYSCALL_FMASK);
        msr::write(msr::IA32_EFER, msr::read(msr::IA32_EFER) | EFER_SCE);
    }
}

/// Can SYSRETQ restore `frame` exactly (see the module documentation)?
pub(super) fn can_sysret(frame: &TrapFrame) -> bool {
    frame.rcx == frame.rip
        && frame.r11 == frame.rflags
        && frame.rip < super::USER_SPACE_END
        && frame.rflags & (super::rflags::TF | super::rflags::RF) == 0
}

/// Run user code with the registers in `frame` until it traps; `frame`
/// then holds the trap frame (vector [`SYSCALL_VECTOR`] for a syscall).
///
/// # Safety
/// Interrupts are off; this CPU ran [`init_this_cpu`]; `frame.rip` is
/// canonical; `frame.rflags` is sanitized (IF set, IOPL 0, no NT/VM);
/// `use_sysret` only if [`can_sysret`]; the user FS/GS bases and FPU state
/// are loaded.
pub(super) unsafe fn run_user(frame: &mut TrapFrame, use_sysret: bool) {
    // SAFETY: forwarded from the caller. The asm returns like an
    // extern "C" function (callee-saved registers restored, DF clear).
    unsafe { umbra_run_user(frame, u64::from(use_sysret)) }
}
