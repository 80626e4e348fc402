//! Per-CPU state: one [`PerCpu`] per processor, found through the GS base.
//!
//! Each CPU's kernel GS base (IA32_GS_BASE while in the kernel; trap entry
//! swaps it with the user's on transitions from ring 3) points at its
//! `PerCpu`, whose first field points at itself, so `gs:[0]` yields the
//! current CPU's block in one instruction and cannot be confused by a task
//! migrating between reading the CPU id and using it (callers that need a
//! stable CPU disable preemption first).

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Most CPUs supported.
pub const MAX_CPUS: usize = 64;

/// State owned by one CPU.
#[repr(C)]
pub struct PerCpu {
    /// Points at this struct (read through `gs:[0]`).
    self_ptr: AtomicUsize,
    /// Dense CPU index, 0 = the boot CPU.
    pub index: usize,
    /// The APIC id of this CPU.
    pub apic_id: AtomicUsize,
    /// Set by the timer tick (or a wake-up) when the running task should
    /// yield at the next preemption point.
    pub need_resched: AtomicBool,
    /// Nesting of `disable_preempt` on this CPU; preemption happens only at 0.
    pub preempt_count: AtomicUsize,
    /// Has this CPU finished its bring-up?
    pub online: AtomicBool,
    /// User-mode entry scratch (framework::user's assembly reads and
    /// writes these through `gs:`, at offsets fixed by `offset_of!`).
    pub(crate) user_entry: UserEntryScratch,
}

/// What the user-mode entry code keeps per CPU (see `framework::user`).
#[repr(C)]
pub(crate) struct UserEntryScratch {
    /// The kernel stack pointer of the task now running user code: where
    /// `syscall` switches to, and (copied to TSS.RSP0) where interrupts and
    /// exceptions from user mode land. Set on every entry to user mode.
    pub kernel_rsp: AtomicU64,
    /// The user stack pointer, saved by the `syscall` entry.
    pub user_rsp: AtomicU64,
    /// Address of this CPU's TSS.RSP0 field (set by `user::init_this_cpu`).
    pub tss_rsp0: AtomicU64,
}

impl PerCpu {
    const fn new(index: usize) -> Self {
        Self {
            self_ptr: AtomicUsize::new(0),
            index,
            apic_id: AtomicUsize::new(0),
            need_resched: AtomicBool::new(false),
            preempt_count: AtomicUsize::new(0),
            online: AtomicBool::new(false),
            user_entry: UserEntryScratch {
                kernel_rsp: AtomicU64::new(0),
                user_rsp: AtomicU64::new(0),
                tss_rsp0: AtomicU64::new(0),
            },
        }
    }
}

static PER_CPU: [PerCpu; MAX_CPUS] = {
    let mut cpus = [const { PerCpu::new(0) }; MAX_CPUS];
    let mut i = 0;
    while i < MAX_CPUS {
        cpus[i] = PerCpu::new(i);
        i += 1;
    }
    cpus
};

const IA32_GS_BASE: u32 = 0xc000_0101;
const IA32_KERNEL_GS_BASE: u32 = 0xc000_0102;

/// Point this CPU's GS base at `PER_CPU[index]`. Called once per CPU during
/// its bring-up, before anything uses [`this_cpu`].
pub fn init_this_cpu(index: usize, apic_id: u32) {
    let cpu = &PER_CPU[index];
    let address = cpu as *const PerCpu as usize;
    cpu.self_ptr.store(address, Ordering::SeqCst);
    cpu.apic_id.store(apic_id as usize, Ordering::SeqCst);
    // SAFETY: writing GS base only changes what `gs:` addressing refers to; the kernel uses gs: solely through
    // `this_cpu`, and the value is the address of a static PerCpu. KERNEL_GS_BASE (the user's GS while in the kernel)
    // starts at 0.
    unsafe {
        crate::arch::msr::write(IA32_GS_BASE, address as u64);
        crate::arch::msr::write(IA32_KERNEL_GS_BASE, 0);
    }
}

/// Announce that CPU `index` schedules tasks now.
pub fn set_online(index: usize) {
    PER_CPU[index].online.store(true, Ordering::SeqCst);
}

/// The running CPU's state. Before [`init_this_cpu`] ran on the boot CPU,
/// this is CPU 0's block.
pub fn this_cpu() -> &'static PerCpu {
    if !GS_READY.load(Ordering::Relaxed) {
        return &PER_CPU[0];
    }
    let address: usize;
    // SAFETY: GS_READY is set only after init_this_cpu pointed GS at a PerCpu whose first field holds its own
    // address, and every CPU does that before it enables interrupts or runs tasks; reading gs:[0] has no side
    // effects.
    unsafe { core::arch::asm!("mov {}, gs:[0]", out(reg) address, options(nostack, readonly, preserves_flags)) };
    // SAFETY: `address` is the self pointer of one of the static PER_CPU
    // entries, which live forever.
    unsafe { &*(address as *const PerCpu) }
}

/// Set once the boot CPU's GS base is valid.
static GS_READY: AtomicBool = AtomicBool::new(false);

/// Mark GS-based lookup usable (after the boot CPU's `init_this_cpu`).
pub fn mark_gs_ready() {
    GS_READY.store(true, Ordering::SeqCst);
}

/// The CPU block with this index.
pub fn cpu(index: usize) -> Option<&'static PerCpu> {
    PER_CPU.get(index)
}

/// Number of CPUs brought online.
pub fn online_count() -> usize {
    PER_CPU.iter().filter(|c| c.online.load(Ordering::Relaxed)).count()
}
