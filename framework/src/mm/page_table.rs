//! Live page tables, reached through the direct map: one table page is 512
//! atomic entries (the CPU sets accessed/dirty bits concurrently, so every
//! access is atomic).
//!
//! Owns: the walk from a root to the entry that maps an address. Who may
//! change which tables is the business of the owners ([`kernel_space`]
//! builds the kernel's once; [`VmSpace`](super::VmSpace) owns user ones).
//!
//! [`kernel_space`]: super::kernel_space

use core::sync::atomic::{AtomicU64, Ordering};

use super::kernel_space::{index, paddr_to_vaddr};
use super::pte::Pte;

/// One page-table page.
pub(crate) type Table = [AtomicU64; 512];

/// The table page at `paddr`.
///
/// # Safety
/// `paddr` is a page-table page that stays allocated as long as the
/// returned reference is used.
pub(crate) unsafe fn table<'a>(paddr: u64) -> &'a Table {
    // SAFETY: the caller guarantees a live, page-aligned table page; it is
    // direct-mapped; 512 AtomicU64 are valid for any bits and the page is
    // only ever accessed atomically (by us and by the CPU's walker).
    unsafe { &*(paddr_to_vaddr(paddr) as *const Table) }
}

/// The entry mapping `vaddr` under `root` and its level (1 = 4 KiB page,
/// 2 = 2 MiB, 3 = 1 GiB), if `vaddr` is mapped.
///
/// # Safety
/// `root` and the tables below it stay allocated during the call (true for
/// the kernel's tables; for a user space, hold its lock).
pub(crate) unsafe fn leaf(root: u64, vaddr: usize) -> Option<(Pte, u32)> {
    if root == 0 {
        return None;
    }
    let mut table_paddr = root;
    for level in (1..=4).rev() {
        // SAFETY: `root` is live (caller); lower tables are reached through
        // present non-leaf entries of live tables, so they are live too.
        let entry = Pte(unsafe { table(table_paddr) }[index(vaddr, level)].load(Ordering::Acquire));
        if !entry.is_present() {
            return None;
        }
        if level == 1 || (entry.is_huge() && level <= 3) {
            return Some((entry, level));
        }
        table_paddr = entry.paddr();
    }
    None
}
