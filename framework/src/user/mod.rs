//! User mode: running user code and getting control back, and safe access
//! to user memory.
//!
//! Owns: SYSCALL/SYSRET and the way from every user-mode trap back into
//! Rust ([`entry`]), user register state ([`UserContext`]), the user
//! x87/SSE/AVX state ([`fpu`]), the user FS/GS bases, the CPU features that
//! guard the user/kernel boundary (SMEP, SMAP, FSGSBASE), and copies
//! between kernel and user memory that fail with [`Fault`] instead of
//! faulting the kernel ([`copy_from_user`] and friends).
//!
//! Must never: know what a process, a signal or a system call *means*.
//! [`execute`] reports that user code made a syscall or took an exception;
//! services decide what to do.
//!
//! A task runs user code by calling [`execute`] in a loop with its
//! [`UserContext`], in the address space it activated (tasks that run user
//! code attach their `VmSpace` with [`crate::task::Task::set_vm_space`], so
//! the scheduler switches CR3 with them):
//!
//! ```ignore
//! loop {
//!     match user::execute(&mut ctx, || has_pending_signal()) {
//!         ReturnReason::Syscall => { let r = dispatch(ctx.syscall_number(), ctx.syscall_args()); ctx.set_syscall_return(r) }
//!         ReturnReason::Exception(e) => deliver_signal(e),
//!         ReturnReason::Interrupted => handle_signals(),
//!     }
//! }
//! ```
//!
//! Every CPU that runs user code calls [`init_this_cpu`] once (done by
//! `task::init_this_cpu`).

mod context;
mod copy;
// Built on the host too: trap_entry.s jumps to its `umbra_user_exit`.
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
mod entry;
pub mod fpu;
#[cfg(target_os = "none")]
mod tests;

use core::sync::atomic::AtomicBool;

pub use context::{
    rflags, sanitize_rflags, GeneralRegs, InvalidFpuState, ReturnReason, UserContext, UserException, INITIAL_RFLAGS,
};
pub use copy::{
    clear_user, copy_from_user, copy_to_user, read_cstring, read_val, write_val, CStringError, Fault, Pod,
};

/// End of user space (exclusive), as `mm::USER_SPACE_END`: every user
/// address is below it.
pub const USER_SPACE_END: u64 = 0x0000_7fff_ffff_f000;
#[cfg(target_os = "none")]
const _: () = assert!(USER_SPACE_END == crate::mm::USER_SPACE_END as u64);

/// Set when the CPU has `stac`/`clac` (SMAP): the trap entry and the user
/// copies execute them only then. Read by assembly (a byte).
pub(crate) static SMAP_INSTRUCTIONS: AtomicBool = AtomicBool::new(false);
/// Set once CR4.SMAP is on (the #PF path then treats a kernel access to a
/// user page with RFLAGS.AC clear as a bug, not a fault to resolve).
pub(crate) static SMAP_ENABLED: AtomicBool = AtomicBool::new(false);

/// Is `address` canonical (bits 63..47 all equal)?
pub const fn is_canonical(address: u64) -> bool {
    ((address as i64) << 16 >> 16) as u64 == address
}

/// What the calling CPU enabled for user mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserModeFeatures {
    /// CR4.FSGSBASE: user code may use rd/wrfsbase and rd/wrgsbase, and the
    /// kernel uses them to switch the FS base.
    pub fsgsbase: bool,
    /// CR4.SMEP: the kernel cannot execute user pages.
    pub smep: bool,
    /// CR4.SMAP: the kernel cannot touch user pages outside the copies.
    pub smap: bool,
}

#[cfg(target_os = "none")]
pub use hw::{execute, features, init_this_cpu};

#[cfg(target_os = "none")]
mod hw {
    use core::arch::asm;
    use core::sync::atomic::{AtomicU8, Ordering};

    use super::entry::{self, SYSCALL_VECTOR};
    use super::{is_canonical, sanitize_rflags, ReturnReason, UserContext, UserException, UserModeFeatures};
    use crate::arch::msr;
    use crate::arch::trap::{self, TrapFrame, GENERAL_PROTECTION, PAGE_FAULT};

    const CR4_FSGSBASE: u64 = 1 << 16;
    const CR4_SMEP: u64 = 1 << 20;
    const CR4_SMAP: u64 = 1 << 21;

    /// Bits of [`UserModeFeatures`] as enabled by the boot CPU (1 fsgsbase,
    /// 2 smep, 4 smap), 0x80 once set.
    static FEATURES: AtomicU8 = AtomicU8::new(0);

    /// Prepare the calling CPU for user mode: FPU (x87/SSE/AVX, XSAVE),
    /// SYSCALL/SYSRET, FSGSBASE, SMEP and SMAP where CPUID offers them.
    /// Needs this CPU's GDT/TSS loaded and its per-CPU block set up.
    pub fn init_this_cpu() {
        super::fpu::init_this_cpu();
        entry::init_this_cpu();
        let leaf7 = crate::arch::cpuid::leaf(7, 0).unwrap_or_default();
        let wanted = UserModeFeatures {
            fsgsbase: leaf7.ebx & (1 << 0) != 0,
            smep: leaf7.ebx & (1 << 7) != 0,
            smap: leaf7.ebx & (1 << 20) != 0,
        };
        if wanted.smap {
            super::SMAP_INSTRUCTIONS.store(true, Ordering::SeqCst);
        }
        let mut cr4 = crate::arch::registers::cr4();
        for (on, bit) in [(wanted.fsgsbase, CR4_FSGSBASE), (wanted.smep, CR4_SMEP), (wanted.smap, CR4_SMAP)] {
            if on {
                cr4 |= bit;
            }
        }
        // SAFETY: FSGSBASE only makes four instructions legal; SMEP and SMAP only forbid the kernel to execute user
        // pages and to touch them outside stac/clac: the kernel does neither (user memory is reached only through
        // `copy`, which brackets its accesses with stac/clac, and the trap entry clears AC).
        unsafe { asm!("mov cr4, {}", in(reg) cr4, options(nostack, preserves_flags)) };
        if wanted.smap {
            super::SMAP_ENABLED.store(true, Ordering::SeqCst);
        }
        let bits = 0x80 | u8::from(wanted.fsgsbase) | (u8::from(wanted.smep) << 1) | (u8::from(wanted.smap) << 2);
        if FEATURES.swap(bits, Ordering::SeqCst) == 0 {
            let fpu = super::fpu::config();
            log::info!(
                "user: SYSCALL/SYSRET; FPU {} ({} bytes, xcr0 {:#x}{}); FSGSBASE {}, SMEP {}, SMAP {}",
                if fpu.xsave { "XSAVE" } else { "FXSAVE" },
                fpu.area_size,
                fpu.features,
                if fpu.xsaveopt { ", XSAVEOPT" } else { "" },
                on_off(wanted.fsgsbase),
                on_off(wanted.smep),
                on_off(wanted.smap),
            );
        }
    }

    fn on_off(on: bool) -> &'static str {
        if on {
            "on"
        } else {
            "off"
        }
    }

    /// What [`init_this_cpu`] enabled (all off before it ran).
    pub fn features() -> UserModeFeatures {
        let bits = FEATURES.load(Ordering::Relaxed);
        UserModeFeatures { fsgsbase: bits & 1 != 0, smep: bits & 2 != 0, smap: bits & 4 != 0 }
    }

    /// Run user code with `ctx` in the currently active address space
    /// until it makes a syscall, takes an exception nothing in the kernel
    /// resolves, or is interrupted when `should_return()` (asked after each
    /// interrupt that arrived in user mode, with interrupts on) says so.
    ///
    /// Faults the memory manager resolves (copy-on-write) and interrupts
    /// are handled inside: the interrupt's handler runs, then the
    /// preemption point (user code is always preemptible), then user code
    /// resumes. On return `ctx` holds the state user code stopped in
    /// (after a syscall: RIP after the instruction, RCX/R11 as the CPU
    /// leaves them) and interrupts are as they were on entry.
    ///
    /// A context with a non-canonical RIP, FS base or GS base is not run:
    /// the result is a #GP exception, as Linux delivers SIGSEGV.
    pub fn execute(ctx: &mut UserContext, mut should_return: impl FnMut() -> bool) -> ReturnReason {
        debug_assert_eq!(
            crate::cpu_local::this_cpu().preempt_count.load(Ordering::Relaxed),
            0,
            "user::execute with preemption disabled (a spin lock held?)"
        );
        let fsgsbase = features().fsgsbase;
        loop {
            ctx.regs.rflags = sanitize_rflags(ctx.regs.rflags);
            if !is_canonical(ctx.regs.rip) || !is_canonical(ctx.fs_base) || !is_canonical(ctx.gs_base) {
                return ReturnReason::Exception(UserException {
                    vector: GENERAL_PROTECTION,
                    error_code: 0,
                    fault_address: None,
                });
            }
            let irq = crate::arch::irq::disable_local();
            // Interrupts stay off until user mode: the CPU, its per-CPU
            // state and the registers loaded below stay ours.
            let cpu = crate::cpu_local::this_cpu().index;
            ctx.fpu.load(cpu);
            load_bases(ctx.fs_base, ctx.gs_base, fsgsbase);
            let mut frame = frame_from(ctx);
            let use_sysret = entry::can_sysret(&frame);
            // SAFETY: interrupts are off; this CPU ran init_this_cpu (it runs tasks); RIP is canonical and RFLAGS
            // sanitized (checked above); can_sysret decided the way back; FS/GS bases and the FPU state were just
            // loaded.
            unsafe { entry::run_user(&mut frame, use_sysret) };
            // Back in the kernel, interrupts still off: save what user code
            // left in the CPU before anything else can run here.
            let cr2 = if frame.vector == u64::from(PAGE_FAULT) { crate::arch::registers::cr2() } else { 0 };
            (ctx.fs_base, ctx.gs_base) = save_bases(fsgsbase);
            ctx.fpu.save(cpu);
            regs_from(ctx, &frame);
            match frame.vector {
                SYSCALL_VECTOR => {
                    drop(irq);
                    return ReturnReason::Syscall;
                }
                vector if vector < 32 => {
                    if trap::handle_user_exception(&mut frame, cr2) {
                        regs_from(ctx, &frame);
                        drop(irq);
                        continue;
                    }
                    drop(irq);
                    return ReturnReason::Exception(UserException {
                        vector: vector as u8,
                        error_code: frame.error_code,
                        fault_address: (vector == u64::from(PAGE_FAULT)).then_some(cr2),
                    });
                }
                _ => {
                    trap::handle_user_interrupt(&frame);
                    crate::task::preempt_point();
                    drop(irq);
                    if should_return() {
                        return ReturnReason::Interrupted;
                    }
                }
            }
        }
    }

    fn frame_from(ctx: &UserContext) -> TrapFrame {
        let r = &ctx.regs;
        TrapFrame {
            rax: r.rax,
            rbx: r.rbx,
            rcx: r.rcx,
            rdx: r.rdx,
            rsi: r.rsi,
            rdi: r.rdi,
            rbp: r.rbp,
            r8: r.r8,
            r9: r.r9,
            r10: r.r10,
            r11: r.r11,
            r12: r.r12,
            r13: r.r13,
            r14: r.r14,
            r15: r.r15,
            vector: 0,
            error_code: 0,
            rip: r.rip,
            cs: u64::from(crate::arch::gdt::USER_CS),
            rflags: r.rflags,
            rsp: r.rsp,
            ss: u64::from(crate::arch::gdt::USER_SS),
        }
    }

    fn regs_from(ctx: &mut UserContext, f: &TrapFrame) {
        let r = &mut ctx.regs;
        (r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp) = (f.rax, f.rbx, f.rcx, f.rdx, f.rsi, f.rdi, f.rbp);
        (r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15) = (f.r8, f.r9, f.r10, f.r11, f.r12, f.r13, f.r14, f.r15);
        (r.rip, r.rsp, r.rflags) = (f.rip, f.rsp, f.rflags);
    }

    /// Load the user's FS base and put the user's GS base where `swapgs`
    /// fetches it (IA32_KERNEL_GS_BASE). Interrupts off; canonical values.
    fn load_bases(fs_base: u64, gs_base: u64, fsgsbase: bool) {
        // SAFETY: the kernel uses neither FS nor the inactive GS base, so
        // changing them affects user code only; the values are canonical
        // (checked by `execute`), so neither wrfsbase nor wrmsr faults.
        unsafe {
            if fsgsbase {
                asm!("wrfsbase {}", in(reg) fs_base, options(nostack, preserves_flags));
            } else {
                msr::write(msr::IA32_FS_BASE, fs_base);
            }
            msr::write(msr::IA32_KERNEL_GS_BASE, gs_base);
        }
    }

    /// The user's FS and GS bases after a trap (user code may have changed
    /// them with wrfsbase/wrgsbase or a segment load).
    fn save_bases(fsgsbase: bool) -> (u64, u64) {
        // SAFETY: reading the bases has no side effects.
        unsafe {
            let fs_base = if fsgsbase {
                let value: u64;
                asm!("rdfsbase {}", out(reg) value, options(nomem, nostack, preserves_flags));
                value
            } else {
                msr::read(msr::IA32_FS_BASE)
            };
            (fs_base, msr::read(msr::IA32_KERNEL_GS_BASE))
        }
    }
}
