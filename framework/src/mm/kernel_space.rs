//! The kernel's half of every address space, built once at boot:
//!
//! ```text
//! 0xffff_8000_0000_0000  direct map of physical memory (PML4 256..): the
//!                        low 4 GiB and every GiB the memory map touches,
//!                        1 GiB pages where the CPU has them, else 2 MiB;
//!                        RW, NX, global
//! 0xffff_c000_0000_0000  the shared-memory window (PML4 384..392): shared
//!                        aliases of DMA buffers and device registers,
//!                        4 KiB pages, RW, NX, not global, filled at run
//!                        time ([`super::dma`])
//! 0xffff_ffff_8100_0000  the kernel image at its link address (PML4 511),
//!                        4 KiB pages: text RX, rodata R+NX, data/bss RW+NX
//! ```
//!
//! and nothing in the lower half: the boot identity map is gone after
//! [`init`]. Every user address space ([`VmSpace`](super::VmSpace)) shares
//! these upper-half PML4 entries; they are all created here and never
//! change, so sharing them by copy is sound.
//!
//! Owns: building the tables, the switch to them (NX, CR0.WP, global pages,
//! CR3), and the address conversions [`paddr_to_vaddr`] and
//! [`kernel_vaddr_to_paddr`].

use core::sync::atomic::{AtomicU64, Ordering};

use boot::layout::{KERNEL_PHYS, KERNEL_VMA_OFFSET};
use boot::BootInfo;

use boot::PhysRange;

use super::boot_memory::{DirectMapGibs, DIRECT_MAP_GIBS, PLAN_CAPACITY};
use super::paging_regs;
use super::pte::Pte;
use super::range_set::RangeSet;
use super::PAGE_SIZE;

/// First address of the kernel half.
pub const HIGHER_HALF: usize = 0xffff_8000_0000_0000;
/// Virtual address of physical address 0 in the direct map.
pub const PHYS_OFFSET: usize = 0xffff_8000_0000_0000;
/// Where the kernel image (its physical start, `BootInfo::kernel.start`)
/// is mapped.
pub const KERNEL_BASE_VADDR: usize = (KERNEL_VMA_OFFSET + KERNEL_PHYS) as usize;
/// Page-table pages are built through the boot identity map, which covers
/// at least this much on every boot path.
const BOOT_IDENTITY_LIMIT: u64 = 1 << 32;
const GIB: u64 = 1 << 30;
const MIB2: u64 = 2 << 20;

/// Physical address of the kernel's PML4 (0 before [`init`]).
static KERNEL_ROOT: AtomicU64 = AtomicU64::new(0);
/// The GiBs the direct map covers (all clear before [`init`]).
static DIRECT_MAP: [AtomicU64; DIRECT_MAP_GIBS / 64] = [const { AtomicU64::new(0) }; DIRECT_MAP_GIBS / 64];
static KERNEL_PHYS_BASE: AtomicU64 = AtomicU64::new(0);
static KERNEL_IMAGE_SIZE: AtomicU64 = AtomicU64::new(0);
/// The no-execute bit to put in entries: bit 63, or 0 without NX.
static NX_BIT: AtomicU64 = AtomicU64::new(0);

extern "C" {
    static __text_start: u8;
    static __rodata_start: u8;
    static __data_start: u8;
    static __kernel_end: u8;
}

/// The direct-map address of physical address `paddr` (which
/// [`is_direct_mapped`]). Dereferencing it is still up to whoever owns the
/// memory.
pub fn paddr_to_vaddr(paddr: u64) -> usize {
    debug_assert!(gib_mapped(paddr / GIB), "{paddr:#x} outside the direct map");
    PHYS_OFFSET + paddr as usize
}

fn gib_mapped(gib: u64) -> bool {
    let gib = gib as usize;
    DIRECT_MAP.get(gib / 64).is_some_and(|word| word.load(Ordering::Relaxed) & (1 << (gib % 64)) != 0)
}

/// Does the direct map cover every byte of `range`? (All RAM in the memory
/// map and everything below 4 GiB is; nothing is before the kernel's page
/// tables are in place.)
pub fn is_direct_mapped(range: PhysRange) -> bool {
    range.is_empty() || (range.start / GIB..=(range.end - 1) / GIB).all(gib_mapped)
}

/// The physical address behind a kernel virtual address: the kernel image
/// or the direct map. `None` for anything else.
pub fn kernel_vaddr_to_paddr(vaddr: usize) -> Option<u64> {
    let image_size = KERNEL_IMAGE_SIZE.load(Ordering::Relaxed) as usize;
    if (KERNEL_BASE_VADDR..KERNEL_BASE_VADDR + image_size).contains(&vaddr) {
        return Some((vaddr - KERNEL_BASE_VADDR) as u64 + KERNEL_PHYS_BASE.load(Ordering::Relaxed));
    }
    let offset = vaddr.checked_sub(PHYS_OFFSET)? as u64;
    gib_mapped(offset / GIB).then_some(offset)
}

/// Physical address of the kernel's PML4.
pub(crate) fn kernel_root() -> u64 {
    KERNEL_ROOT.load(Ordering::Relaxed)
}

/// Bit 63 if the CPU has NX (and it is on), else 0.
pub(crate) fn nx_bit() -> u64 {
    NX_BIT.load(Ordering::Relaxed)
}

/// What [`init`] built, for the boot log.
pub(crate) struct KernelSpaceSummary {
    pub table_pages: usize,
    pub direct_map_gibs: usize,
    pub gib_pages: bool,
    pub nx: bool,
}

/// Build the kernel's page tables from frames carved out of `free` (below
/// 4 GiB, reached through the boot identity map) and switch to them.
///
/// # Safety
/// Called once, on the boot CPU, with interrupts off, while the boot page
/// tables (identity map of at least the low 4 GiB plus the kernel image)
/// are active; `free` holds only RAM nobody uses; `boot.kernel` is where
/// the running image is.
pub(crate) unsafe fn init(boot: &BootInfo, free: &mut RangeSet<PLAN_CAPACITY>, direct_map: &DirectMapGibs) -> KernelSpaceSummary {
    let features = paging_regs::features();
    let nx = if features.nx {
        paging_regs::enable_nx();
        Pte::NO_EXECUTE
    } else {
        log::warn!("mm: this CPU has no NX: data is executable");
        0
    };
    let global = if features.global { Pte::GLOBAL } else { 0 };
    let mut builder = BootTableBuilder { free, pages: 0 };
    let root = builder.new_table();

    // The direct map.
    let kernel_table = Pte::PRESENT | Pte::WRITABLE;
    let direct = Pte::PRESENT | Pte::WRITABLE | Pte::HUGE | global | nx;
    for gib in direct_map.iter().map(|gib| gib as u64) {
        let vaddr = PHYS_OFFSET + (gib * GIB) as usize;
        let pdpt = builder.child(root, index(vaddr, 4), kernel_table);
        if features.gib_pages {
            builder.write(pdpt, index(vaddr, 3), (gib * GIB) | direct);
        } else {
            let pd = builder.child(pdpt, index(vaddr, 3), kernel_table);
            for i in 0..512 {
                builder.write(pd, i, (gib * GIB + i as u64 * MIB2) | direct);
            }
        }
    }

    // The shared-memory window's PML4 entry (empty below: filled as DMA
    // buffers come and go, seen by every address space through this one
    // entry).
    for entry in 0..super::dma::WINDOW_PML4_ENTRIES {
        builder.child(root, index(super::dma::SHARED_WINDOW, 4) + entry, kernel_table);
    }

    // The kernel image, section by section.
    let text = core::ptr::addr_of!(__text_start) as usize;
    let rodata = core::ptr::addr_of!(__rodata_start) as usize;
    let data = core::ptr::addr_of!(__data_start) as usize;
    let end = core::ptr::addr_of!(__kernel_end) as usize;
    let image_size = (end - KERNEL_BASE_VADDR) as u64;
    let phys_base = boot.kernel.start;
    for vaddr in (text..end).step_by(PAGE_SIZE) {
        let rights = if vaddr < rodata {
            0
        } else if vaddr < data {
            nx
        } else {
            Pte::WRITABLE | nx
        };
        let paddr = (vaddr - KERNEL_BASE_VADDR) as u64 + phys_base;
        let pdpt = builder.child(root, index(vaddr, 4), kernel_table);
        let pd = builder.child(pdpt, index(vaddr, 3), kernel_table);
        let pt = builder.child(pd, index(vaddr, 2), kernel_table);
        builder.write(pt, index(vaddr, 1), paddr | Pte::PRESENT | global | rights);
    }
    let table_pages = builder.pages;

    // SAFETY: we run on the boot CPU before the switch, the boot GDT is
    // readable through the identity map.
    unsafe { paging_regs::keep_gdt_mapped() };
    if paging_regs::idt_base() < HIGHER_HALF as u64 {
        log::debug!("mm: the loaded IDT is in the lower half: an exception before the trap code loads its IDT will triple-fault");
    }
    paging_regs::enable_write_protect();
    // SAFETY: `root` maps the whole kernel image (code, data, the boot stack in .bss) at the addresses it runs at,
    // with rights that allow what the kernel does there (text executable, data writable), and the GDT is now in the
    // image too.
    unsafe { paging_regs::write_cr3(root) };
    // The boot tables mapped the image with global pages: flush them.
    paging_regs::flush_global_tlb(features.global);

    KERNEL_PHYS_BASE.store(phys_base, Ordering::Relaxed);
    KERNEL_IMAGE_SIZE.store(image_size, Ordering::Relaxed);
    NX_BIT.store(nx, Ordering::Relaxed);
    for (word, &bits) in DIRECT_MAP.iter().zip(direct_map.0.iter()) {
        word.store(bits, Ordering::Relaxed);
    }
    KERNEL_ROOT.store(root, Ordering::Release);
    KernelSpaceSummary { table_pages, direct_map_gibs: direct_map.iter().count(), gib_pages: features.gib_pages, nx: nx != 0 }
}

/// Index into the level-`level` table (4 = PML4 ... 1 = PT) for `vaddr`.
pub(crate) const fn index(vaddr: usize, level: u32) -> usize {
    (vaddr >> (12 + 9 * (level - 1))) & 511
}

/// Builds tables before the switch, through the boot identity map.
struct BootTableBuilder<'a> {
    free: &'a mut RangeSet<PLAN_CAPACITY>,
    pages: usize,
}

impl BootTableBuilder<'_> {
    /// A zeroed table page.
    fn new_table(&mut self) -> u64 {
        let Some(paddr) = self.free.carve(PAGE_SIZE as u64, PAGE_SIZE as u64, BOOT_IDENTITY_LIMIT) else {
            panic!("mm: no free memory below 4 GiB for the kernel page tables");
        };
        // SAFETY: `paddr` is a free page below 4 GiB, identity-mapped by the
        // boot tables, just taken out of the free set: nobody else uses it.
        unsafe { core::ptr::write_bytes(paddr as usize as *mut u8, 0, PAGE_SIZE) };
        self.pages += 1;
        paddr
    }

    fn read(&self, table: u64, index: usize) -> u64 {
        debug_assert!(index < 512);
        // SAFETY: `table` is a table page from `new_table` (identity-mapped,
        // owned by the builder) and `index` is below 512.
        unsafe { (table as usize as *const u64).add(index).read() }
    }

    fn write(&mut self, table: u64, index: usize, entry: u64) {
        debug_assert!(index < 512);
        // SAFETY: as in `read`; the tables are not active yet.
        unsafe { (table as usize as *mut u64).add(index).write(entry) }
    }

    /// The table entry `index` of `table` points to, created if absent.
    fn child(&mut self, table: u64, index: usize, flags: u64) -> u64 {
        let entry = Pte(self.read(table, index));
        if entry.is_present() {
            return entry.paddr();
        }
        let child = self.new_table();
        self.write(table, index, child | flags);
        child
    }
}

/// The raw entry that maps kernel address `vaddr` and its level, if any
/// (tests check the flags of shared mappings).
pub fn kernel_pte(vaddr: usize) -> Option<(u64, u32)> {
    kernel_mapping(vaddr).map(|(pte, level)| (pte.0, level))
}

/// The entry that maps `vaddr` in the kernel's tables, with its level (1 =
/// 4 KiB page, 2 = 2 MiB, 3 = 1 GiB), if any.
pub(crate) fn kernel_mapping(vaddr: usize) -> Option<(Pte, u32)> {
    // SAFETY: the kernel's tables are never freed.
    unsafe { super::page_table::leaf(kernel_root(), vaddr) }
}
