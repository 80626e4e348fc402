//! Running user signal handlers: the x86-64 Linux `rt_sigframe` pushed on
//! the user stack (return address = `sa_restorer`, `ucontext` with the
//! interrupted registers, mask and FPU state pointer, `siginfo`, the FPU
//! image), and `rt_sigreturn` restoring from it.
//!
//! Owns: the frame layout and the mask rules (`sa_mask`, `SA_NODEFER`,
//! `SA_RESETHAND`, `SA_ONSTACK`, the mask `rt_sigsuspend` swapped in).
//! Interrupted system calls follow Linux's restart rules
//! (`signal_restart`, applied in `process::task`).

use alloc::vec;

use framework::user::{rflags, UserContext};

use super::process::Thread;
use super::signal::{SigAction, SigSet};
use crate::error::Result;
use crate::{errno, uaccess};

pub const SA_NOCLDSTOP: u64 = 0x1;
pub const SA_NOCLDWAIT: u64 = 0x2;
pub const SA_SIGINFO: u64 = 0x4;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

const SS_ONSTACK: u64 = 1;
const SS_DISABLE: u64 = 2;
/// `uc_flags`: UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS, as 64-bit Linux.
const UC_FLAGS: u64 = 0x6;
const USER_CS: u64 = 0x33;
const USER_SS: u64 = 0x2b;

/// Offsets in the frame (`struct rt_sigframe`).
const UC: u64 = 8;
const MCONTEXT: u64 = UC + 40;
const SIGMASK: u64 = MCONTEXT + 256;
const INFO: u64 = SIGMASK + 8;
pub const SIGINFO_SIZE: usize = 128;
const FRAME_SIZE: u64 = INFO + SIGINFO_SIZE as u64;
/// The x86-64 red zone below the stack pointer that a frame must skip.
const RED_ZONE: u64 = 128;

pub type SigInfo = [u8; SIGINFO_SIZE];

pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SEGV_MAPERR: i32 = 1;
pub use super::wait_status::{CLD_EXITED, CLD_KILLED};

fn info_header(sig: u32, code: i32) -> SigInfo {
    let mut info = [0u8; SIGINFO_SIZE];
    info[0..4].copy_from_slice(&(sig as i32).to_le_bytes());
    info[8..12].copy_from_slice(&code.to_le_bytes());
    info
}

/// A signal sent by `kill` from `pid` running as `uid`.
pub fn info_kill(sig: u32, pid: u32, uid: u32) -> SigInfo {
    let mut info = info_header(sig, SI_USER);
    info[16..20].copy_from_slice(&pid.to_le_bytes());
    info[20..24].copy_from_slice(&uid.to_le_bytes());
    info
}

/// A fault at `addr`.
pub fn info_fault(sig: u32, code: i32, addr: u64) -> SigInfo {
    let mut info = info_header(sig, code);
    info[16..24].copy_from_slice(&addr.to_le_bytes());
    info
}

/// SIGCHLD for a child that ended.
pub fn info_child(sig: u32, code: i32, pid: u32, uid: u32, status: i32) -> SigInfo {
    let mut info = info_header(sig, code);
    info[16..20].copy_from_slice(&pid.to_le_bytes());
    info[20..24].copy_from_slice(&uid.to_le_bytes());
    info[24..28].copy_from_slice(&status.to_le_bytes());
    info
}

fn put(frame: &mut [u8], at: u64, value: u64) {
    frame[at as usize..at as usize + 8].copy_from_slice(&value.to_le_bytes());
}

fn get(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or([0; 8]))
}

/// Push a frame for `sig` handled by `action` and point the registers at
/// the handler. On error (a bad stack) the caller kills with SIGSEGV.
pub fn setup_frame(thread: &Thread, ctx: &mut UserContext, sig: u32, action: SigAction, info: &SigInfo) -> Result<()> {
    if action.flags & SA_RESTORER == 0 {
        return Err(errno!(EFAULT, "handler without SA_RESTORER"));
    }
    let regs = *ctx.regs();
    let (altstack, old_mask) = {
        let mut state = thread.state.lock();
        let old = state.saved_mask.take().unwrap_or(state.sigmask);
        (state.altstack, old)
    };
    let [alt_sp, _, alt_size] = altstack;
    let on_altstack = alt_size != 0 && regs.rsp > alt_sp && regs.rsp <= alt_sp + alt_size;
    let mut sp = if action.flags & SA_ONSTACK != 0 && alt_size != 0 && !on_altstack {
        alt_sp + alt_size
    } else {
        regs.rsp.wrapping_sub(RED_ZONE)
    };
    let fpu = ctx.fpu_state().to_vec();
    sp = sp.wrapping_sub(fpu.len() as u64) & !63;
    let fpstate = sp;
    sp = (sp.wrapping_sub(FRAME_SIZE) & !15).wrapping_sub(8);

    let mut frame = vec![0u8; FRAME_SIZE as usize];
    put(&mut frame, 0, action.restorer);
    put(&mut frame, UC, UC_FLAGS);
    put(&mut frame, UC + 16, alt_sp);
    put(&mut frame, UC + 24, if alt_size == 0 { SS_DISABLE } else if on_altstack { SS_ONSTACK } else { 0 });
    put(&mut frame, UC + 32, alt_size);
    let gprs = [
        regs.r8, regs.r9, regs.r10, regs.r11, regs.r12, regs.r13, regs.r14, regs.r15, regs.rdi, regs.rsi, regs.rbp,
        regs.rbx, regs.rdx, regs.rax, regs.rcx, regs.rsp, regs.rip, regs.rflags,
    ];
    for (i, value) in gprs.into_iter().enumerate() {
        put(&mut frame, MCONTEXT + 8 * i as u64, value);
    }
    put(&mut frame, MCONTEXT + 144, USER_CS | (USER_SS << 48));
    // err and trapno stay 0; cr2 is the fault address of SIGSEGV/SIGBUS.
    let cr2 = if matches!(sig, 7 | 11) { get(info, 16) } else { 0 };
    put(&mut frame, MCONTEXT + 168, old_mask.0);
    put(&mut frame, MCONTEXT + 176, cr2);
    put(&mut frame, MCONTEXT + 184, fpstate);
    put(&mut frame, SIGMASK, old_mask.0);
    frame[INFO as usize..].copy_from_slice(info);

    uaccess::write_bytes(fpstate, &fpu)?;
    uaccess::write_bytes(sp, &frame)?;

    let r = ctx.regs_mut();
    r.rdi = u64::from(sig);
    r.rsi = sp + INFO;
    r.rdx = sp + UC;
    r.rax = 0;
    r.rsp = sp;
    r.rip = action.handler;
    r.rflags &= !(rflags::TF | rflags::DF);
    ctx.reset_fpu_state();

    let mut mask = SigSet(old_mask.0 | action.mask.0);
    if action.flags & SA_NODEFER == 0 {
        mask.add(sig);
    }
    thread.state.lock().sigmask = SigSet(mask.0 & !SigSet::UNBLOCKABLE.0);
    if action.flags & SA_RESETHAND != 0 {
        let _ = thread.process().sigactions.lock().set(sig, SigAction::default());
    }
    Ok(())
}

/// `rt_sigreturn`: the registers, mask and FPU state of the frame whose
/// `ucontext` the stack pointer now points at (the restorer's `ret` popped
/// the return address).
pub fn restore_frame(thread: &Thread, ctx: &mut UserContext) -> Result<()> {
    let uc = ctx.regs().rsp;
    let mut raw = vec![0u8; (SIGMASK + 8 - UC) as usize];
    uaccess::read_bytes(uc, &mut raw)?;
    let m = (MCONTEXT - UC) as usize;
    let word = |i: usize| get(&raw, m + 8 * i);
    let fpstate = get(&raw, m + 184);
    if fpstate != 0 {
        let mut image = vec![0u8; ctx.fpu_state_len()];
        uaccess::read_bytes(fpstate, &mut image)?;
        ctx.set_fpu_state(&image).map_err(|_| errno!(EFAULT, "bad FPU state in the signal frame"))?;
    } else {
        ctx.reset_fpu_state();
    }
    let r = ctx.regs_mut();
    [r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15] =
        [word(0), word(1), word(2), word(3), word(4), word(5), word(6), word(7)];
    [r.rdi, r.rsi, r.rbp, r.rbx, r.rdx, r.rax, r.rcx, r.rsp, r.rip] =
        [word(8), word(9), word(10), word(11), word(12), word(13), word(14), word(15), word(16)];
    // Only the flags user code may change come back (execute sanitizes).
    r.rflags = (r.rflags & !rflags::USER_CHANGEABLE) | (word(17) & rflags::USER_CHANGEABLE);
    let mask = get(&raw, (SIGMASK - UC) as usize);
    thread.state.lock().sigmask = SigSet(mask & !SigSet::UNBLOCKABLE.0);
    Ok(())
}
