//! Memory management: physical frames, the kernel heap, page tables.
//!
//! Owns all of physical memory and every page table. What it exports is
//! safe to use from the layers above:
//! - [`Frame`] / [`Segment`]: owning handles to physical pages, freed on
//!   drop, accessed only by copying bytes ([`frame`]);
//! - the `#[global_allocator]`, so `alloc` works everywhere ([`heap`]);
//! - [`VmSpace`]: user address spaces with checked map/unmap/protect and
//!   copy-on-write fork ([`vm_space`]);
//! - [`handle_page_fault`] for the trap code ([`fault`]);
//! - [`MemoryAcceptor`]: the hook the tee layer implements to accept
//!   memory on TDX/SNP ([`unaccepted`]);
//! - [`DmaBuffer`]: memory shared with the host and its devices, through
//!   the tee layer's [`dma::SharedMemory`] ([`dma`]).
//!
//! Boot order ([`init`], then [`reclaim_boot_memory`]):
//! 1. plan usable memory from the boot memory map ([`boot_memory`]);
//! 2. build the kernel page tables (direct map at [`PHYS_OFFSET`], kernel
//!    image with per-section rights, no identity map) from frames carved
//!    below 4 GiB, and switch to them ([`kernel_space`]);
//! 3. carve and zero the frame metadata ([`meta`]);
//! 4. give usable memory to the buddy allocator ([`frame_allocator`]) and
//!    the unaccepted ranges to its lazy-accept pool;
//! 5. later, once nothing uses firmware memory any more (UEFI's page
//!    tables, IDT): add the reclaimable memory.
//!
//! The pure bookkeeping ([`buddy`], [`range_set`], [`boot_memory`],
//! [`pte`], the unaccepted pool) builds and is unit-tested on the host; the
//! rest only exists in the kernel.

pub mod boot_memory;
pub mod buddy;
pub mod pte;
pub mod range_set;
pub mod unaccepted;

#[cfg(target_os = "none")]
pub mod dma;
#[cfg(target_os = "none")]
pub mod fault;
#[cfg(target_os = "none")]
pub mod frame;
#[cfg(target_os = "none")]
pub mod frame_allocator;
#[cfg(target_os = "none")]
pub mod heap;
#[cfg(target_os = "none")]
pub mod kernel_space;
#[cfg(target_os = "none")]
mod lock;
#[cfg(target_os = "none")]
mod meta;
#[cfg(target_os = "none")]
mod page_table;
#[cfg(target_os = "none")]
mod paging_regs;
#[cfg(target_os = "none")]
mod tests;
#[cfg(target_os = "none")]
pub mod tlb;
#[cfg(target_os = "none")]
pub mod vm_space;

#[cfg(target_os = "none")]
pub use fault::{handle_page_fault, PageFaultError, PageFaultInfo};
#[cfg(target_os = "none")]
pub use frame::{alloc_frame, alloc_segment, Frame, OutOfBounds, Segment};
#[cfg(target_os = "none")]
pub use frame_allocator::{set_memory_acceptor, stats, user_data_may_grow, FrameStats};
#[cfg(target_os = "none")]
pub use dma::{DmaBuffer, DmaError};
#[cfg(target_os = "none")]
pub use kernel_space::{is_direct_mapped, kernel_pte, kernel_vaddr_to_paddr, paddr_to_vaddr, PHYS_OFFSET};
pub use pte::Perms;
pub use unaccepted::{AcceptError, MemoryAcceptor};
#[cfg(target_os = "none")]
pub use vm_space::{activate_kernel_space, active_vm_space, Mapping, VmError, VmSpace, USER_SPACE_END};

/// Size of a page and of a frame.
pub const PAGE_SIZE: usize = 4096;

/// No physical memory left for the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutOfMemory;

impl core::fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("out of physical memory")
    }
}

#[cfg(target_os = "none")]
pub use boot_init::{init, reclaim_boot_memory};

#[cfg(target_os = "none")]
mod boot_init {
    use core::sync::atomic::{AtomicBool, Ordering};

    use boot::{BootInfo, PhysRange};

    use super::boot_memory::{BootMemoryPlan, MAX_PHYS_ADDR};
    use super::lock::IrqSafeMutex;
    use super::meta::{self, SECTION_COUNT, SECTION_METADATA_BYTES, SECTION_SHIFT};
    use super::{frame_allocator, kernel_space, PAGE_SIZE};

    /// The plan, kept for [`reclaim_boot_memory`] (too big for the stack).
    static PLAN: IrqSafeMutex<BootMemoryPlan> = IrqSafeMutex::new(BootMemoryPlan::new());
    static INITIALIZED: AtomicBool = AtomicBool::new(false);

    /// Bring up memory management: kernel page tables, frame allocator,
    /// heap. Call once, on the boot CPU, with interrupts off, right after
    /// the console and logger and before anything allocates. Afterwards the
    /// boot identity map is gone: physical memory is reached through the
    /// direct map ([`paddr_to_vaddr`](super::paddr_to_vaddr)).
    pub fn init(boot: &BootInfo) {
        if INITIALIZED.swap(true, Ordering::SeqCst) {
            log::warn!("mm: init called twice; ignored");
            return;
        }
        let start_tsc = crate::arch::rdtsc();
        let mut plan = PLAN.lock();
        plan.build(boot);
        let usable_before = plan.usable.total();
        let direct_map = plan.direct_map;
        // SAFETY: once, on the boot CPU with interrupts off (the lock), on
        // the boot page tables; `plan.usable` is free RAM (the plan keeps
        // out the kernel, initrd, low memory and firmware regions).
        let summary = unsafe { kernel_space::init(boot, &mut plan.usable, &direct_map) };
        let metadata_sections = install_metadata(&mut plan);
        for &range in plan.usable.as_slice() {
            frame_allocator::add_free_range(range);
        }
        plan.usable.clear();
        frame_allocator::set_unaccepted(&plan.unaccepted);
        let stats = frame_allocator::stats();
        crate::println!(
            "mm: {} MiB free, {} MiB reclaimable later, {} MiB unaccepted; direct map {} GiB below {} GiB ({} pages), NX {}; {} page-table pages, {} KiB metadata",
            (stats.free_frames * PAGE_SIZE as u64) >> 20,
            plan.reclaimable.total() >> 20,
            stats.unaccepted_bytes >> 20,
            summary.direct_map_gibs,
            direct_map.end() >> 30,
            if summary.gib_pages { "1 GiB" } else { "2 MiB" },
            if summary.nx { "on" } else { "unavailable" },
            summary.table_pages,
            (metadata_sections as u64 * SECTION_METADATA_BYTES) >> 10,
        );
        log::debug!(
            "mm: {} KiB of usable memory went to page tables and metadata; init took {} TSC cycles",
            (usable_before - stats.free_frames * PAGE_SIZE as u64) >> 10,
            crate::arch::rdtsc() - start_tsc
        );
    }

    /// Add the memory the firmware and loader used (EFI boot services and
    /// loader data: UEFI's page tables, stacks, the loaded image) to the
    /// frame allocator. Call after [`init`] once nothing refers to it any
    /// more: the trap code must have loaded its own GDT and IDT (UEFI's
    /// IDT lives there). The initrd and the kernel are never reclaimed.
    pub fn reclaim_boot_memory() {
        if !INITIALIZED.load(Ordering::SeqCst) {
            log::warn!("mm: reclaim_boot_memory before init; ignored");
            return;
        }
        let mut plan = PLAN.lock();
        let total = plan.reclaimable.total();
        for &range in plan.reclaimable.as_slice() {
            frame_allocator::add_free_range(range);
        }
        plan.reclaimable.clear();
        if total > 0 {
            log::info!("mm: reclaimed {} KiB of boot-time firmware memory", total >> 10);
        }
    }

    /// Carve and zero a metadata array for every section holding managed
    /// memory; drop the memory of sections that cannot get one. Returns the
    /// number of sections installed.
    fn install_metadata(plan: &mut BootMemoryPlan) -> usize {
        let mut needed = [0u64; SECTION_COUNT / 64];
        for set in [&plan.usable, &plan.reclaimable, &plan.unaccepted] {
            for range in set.as_slice() {
                for section in meta::section_of(range.start)..=meta::section_of(range.end - 1) {
                    needed[section / 64] |= 1 << (section % 64);
                }
            }
        }
        let mut installed = 0;
        for section in (0..SECTION_COUNT).filter(|s| needed[s / 64] & (1 << (s % 64)) != 0) {
            match plan.usable.carve(SECTION_METADATA_BYTES, PAGE_SIZE as u64, MAX_PHYS_ADDR) {
                Some(paddr) => {
                    let vaddr = kernel_space::paddr_to_vaddr(paddr);
                    // SAFETY: `paddr` is free RAM just carved out of the
                    // usable set, direct-mapped, owned by the metadata from
                    // now on; zeroed before it is installed.
                    unsafe {
                        core::ptr::write_bytes(vaddr as *mut u8, 0, SECTION_METADATA_BYTES as usize);
                        meta::install_section(section, vaddr);
                    }
                    installed += 1;
                }
                None => {
                    let start = (section as u64) << SECTION_SHIFT;
                    let lost = PhysRange { start, end: start + (1 << SECTION_SHIFT) };
                    log::warn!("mm: no memory for the metadata of [{:#x}-{:#x}): not used", lost.start, lost.end);
                    for set in [&mut plan.usable, &mut plan.reclaimable, &mut plan.unaccepted] {
                        while set.remove(lost).is_err() {
                            // Cannot split (full): drop a whole touching range.
                            if let Some(&hit) = set.as_slice().iter().find(|r| r.start < lost.end && lost.start < r.end) {
                                let _ = set.remove(hit);
                            }
                        }
                    }
                }
            }
        }
        installed
    }
}

/// Physical address of the kernel's own PML4 (for AP start-up).
#[cfg(target_os = "none")]
pub(crate) fn kernel_root_paddr() -> u64 {
    kernel_space::kernel_root()
}

/// Load the kernel's own tables on an AP that comes up on the trampoline's.
///
/// # Safety
/// `root` is [`kernel_root_paddr`] and the caller runs in the kernel's upper
/// half (mapped identically in both tables).
#[cfg(target_os = "none")]
pub(crate) unsafe fn load_kernel_root(root: u64) {
    // SAFETY: forwarded to the caller.
    unsafe { paging_regs::write_cr3(root) }
}
