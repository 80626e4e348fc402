//! TLB maintenance after page-table changes.
//!
//! Owns: the one entry point, [`flush_range`], that every change to a live
//! address space goes through before freed frames or page-table pages can
//! be reused. Today there is one CPU and no PCIDs, so it flushes this CPU
//! when the space is the active one (entries of other spaces die when
//! their CR3 is loaded). With SMP, cross-CPU shootdown goes here: send an
//! IPI to every CPU that may have `root` loaded and wait for them.

use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::cpu_local::MAX_CPUS;

use super::paging_regs;
use super::PAGE_SIZE;

/// Above this many pages a full flush is cheaper than `invlpg` one by one.
const FULL_FLUSH_PAGES: usize = 32;

/// Make every CPU forget its translations of `range` in the address space
/// whose PML4 is at `root`. Returns after they have.
pub fn flush_range(root: u64, range: Range<usize>) {
    // Other CPUs that may have this space loaded flush everything.
    #[cfg(target_os = "none")]
    crate::smp::flush_cpus_with(root);
    if paging_regs::read_cr3() != root {
        return;
    }
    let pages = range.end.saturating_sub(range.start) / PAGE_SIZE;
    if pages > FULL_FLUSH_PAGES {
        flush_all_local();
    } else {
        for vaddr in range.step_by(PAGE_SIZE) {
            paging_regs::invlpg(vaddr);
        }
    }
}

/// The user root each CPU has loaded, or 0 when unknown (treated as "may
/// have any root"). Written *before* the CR3 write, so a shootdown that
/// reads another root here finds that CPU already past its last use of
/// the old one (it is inside `activate`, which touches no user memory).
static LOADED_ROOT: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// Record that this CPU is about to load `root`.
pub(crate) fn note_loading(root: u64) {
    LOADED_ROOT[crate::cpu_local::this_cpu().index].store(root, Ordering::SeqCst);
}

/// May CPU `cpu` hold translations of `root`?
pub fn may_have_loaded(cpu: usize, root: u64) -> bool {
    LOADED_ROOT.get(cpu).is_none_or(|loaded| {
        let loaded = loaded.load(Ordering::SeqCst);
        loaded == 0 || loaded == root
    })
}

/// Forget every non-global translation on this CPU.
pub fn flush_all_local() {
    let root = paging_regs::read_cr3();
    // SAFETY: reloading the active root changes no mapping.
    unsafe { paging_regs::write_cr3(root) };
}

/// Make every CPU forget its translations of the kernel-half `range`
/// (non-global entries: the shared-memory window). Returns after they
/// have.
pub fn flush_kernel_range(range: Range<usize>) {
    #[cfg(target_os = "none")]
    crate::smp::flush_all_cpus();
    for vaddr in range.step_by(PAGE_SIZE) {
        paging_regs::invlpg(vaddr);
    }
}
