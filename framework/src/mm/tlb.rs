//! TLB maintenance after page-table changes.
//!
//! Owns: the one entry point, [`flush_range`], that every change to a live
//! address space goes through before freed frames or page-table pages can
//! be reused. Today there is one CPU and no PCIDs, so it flushes this CPU
//! when the space is the active one (entries of other spaces die when
//! their CR3 is loaded). With SMP, cross-CPU shootdown goes here: send an
//! IPI to every CPU that may have `root` loaded and wait for them.

use core::ops::Range;

use super::paging_regs;
use super::PAGE_SIZE;

/// Above this many pages a full flush is cheaper than `invlpg` one by one.
const FULL_FLUSH_PAGES: usize = 32;

/// Make every CPU forget its translations of `range` in the address space
/// whose PML4 is at `root`. Returns after they have.
pub fn flush_range(root: u64, range: Range<usize>) {
    // Other CPUs may run threads of this space: they flush everything
    // (cheaper than tracking which CPU loaded which root, at our sizes).
    crate::smp::flush_all_cpus();
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

/// Forget every non-global translation on this CPU.
pub fn flush_all_local() {
    let root = paging_regs::read_cr3();
    // SAFETY: reloading the active root changes no mapping.
    unsafe { paging_regs::write_cr3(root) };
}
