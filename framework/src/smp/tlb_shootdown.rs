//! Cross-CPU TLB shootdown.
//!
//! Each CPU has a request counter (bumped by initiators) and a done counter
//! (raised to the request it has served). An initiator bumps every other
//! online CPU's request, sends the shootdown IPI and waits until each done
//! counter reaches its request. Nobody waits with a lock: a CPU that spins
//! (here, or in `SpinLock::lock`) serves its own pending request through
//! [`poll_pending`], so two CPUs waiting for each other with interrupts off
//! still make progress.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::cpu_local::{self, MAX_CPUS};

/// IPI vector of TLB shootdown requests.
pub const SHOOTDOWN_VECTOR: u8 = 0xf1;

static REQUESTED: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static DONE: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

pub(super) fn init() {
    if let Err(error) = crate::arch::irq::register(SHOOTDOWN_VECTOR, on_shootdown_ipi) {
        log::warn!("smp: no TLB shootdown vector: {:?}", error);
    }
}

/// The vector used for shootdown IPIs.
pub fn shootdown_vector() -> u8 {
    SHOOTDOWN_VECTOR
}

fn on_shootdown_ipi(_frame: &crate::arch::trap::TrapFrame) {
    poll_pending();
}

/// Serve this CPU's pending shootdown request, if any. Cheap when none.
pub fn poll_pending() {
    let me = cpu_local::this_cpu().index;
    let requested = REQUESTED[me].load(Ordering::Acquire);
    if DONE[me].load(Ordering::Acquire) < requested {
        crate::mm::tlb::flush_all_local();
        DONE[me].fetch_max(requested, Ordering::AcqRel);
    }
}

/// Make every other online CPU that may have `root` loaded flush its
/// (non-global) TLB, and wait.
pub fn flush_cpus_with(root: u64) {
    flush_cpus_where(|cpu| crate::mm::tlb::may_have_loaded(cpu, root));
}

/// Make every other online CPU flush its (non-global) TLB, and wait: for
/// kernel mappings outside the never-changing ones (the shared-memory
/// window), which every address space sees.
pub fn flush_all_cpus() {
    flush_cpus_where(|_| true);
}

fn flush_cpus_where(wanted: impl Fn(usize) -> bool) {
    if super::cpu_count() <= 1 {
        return;
    }
    let me = cpu_local::this_cpu().index;
    let mut targets = [0u64; MAX_CPUS];
    for (cpu, target) in targets.iter_mut().enumerate().take(super::cpu_count()) {
        if cpu == me || !wanted(cpu) || !cpu_local::cpu(cpu).is_some_and(|c| c.online.load(Ordering::Acquire)) {
            continue;
        }
        *target = REQUESTED[cpu].fetch_add(1, Ordering::AcqRel) + 1;
        let apic_id = cpu_local::cpu(cpu).map_or(0, |c| c.apic_id.load(Ordering::Relaxed) as u32);
        crate::arch::apic::send_ipi(apic_id, SHOOTDOWN_VECTOR);
    }
    for (cpu, &target) in targets.iter().enumerate() {
        while target != 0 && DONE[cpu].load(Ordering::Acquire) < target {
            poll_pending();
            core::hint::spin_loop();
        }
    }
}
