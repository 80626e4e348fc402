//! The processor state paging depends on: CR0.WP, CR3, CR4.PGE, EFER.NXE,
//! the CPUID bits for NX and 1 GiB pages, and `invlpg`.
//!
//! Owns: nothing but these accessors; private to `mm` (the CPU/trap code
//! owns the rest of the control registers).

use core::arch::asm;
use core::arch::x86_64::__cpuid;

const CR0_WP: u64 = 1 << 16;
const CR4_PGE: u64 = 1 << 7;
const MSR_EFER: u32 = 0xc000_0080;
const EFER_NXE: u64 = 1 << 11;

/// Paging features of this CPU.
#[derive(Clone, Copy, Debug)]
pub struct PagingFeatures {
    /// Execute-disable (CPUID 0x8000_0001 EDX bit 20).
    pub nx: bool,
    /// 1 GiB pages (CPUID 0x8000_0001 EDX bit 26).
    pub gib_pages: bool,
    /// Global pages (CPUID 1 EDX bit 13).
    pub global: bool,
}

pub fn features() -> PagingFeatures {
    // CPUID is side-effect free in ring 0 (under TDX the module or the
    // #VE handler answers; leaves 1 and 0x8000_0001 are not trapped).
    let max_extended = __cpuid(0x8000_0000).eax;
    let extended_edx = if max_extended >= 0x8000_0001 { __cpuid(0x8000_0001).edx } else { 0 };
    let basic_edx = __cpuid(1).edx;
    PagingFeatures {
        nx: extended_edx & (1 << 20) != 0,
        gib_pages: extended_edx & (1 << 26) != 0,
        global: basic_edx & (1 << 13) != 0,
    }
}

/// The physical address of the active top-level table.
pub fn read_cr3() -> u64 {
    let value: u64;
    // SAFETY: reading CR3 has no side effects.
    unsafe { asm!("mov {}, cr3", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value & 0x000f_ffff_ffff_f000
}

/// Load a new top-level table (flushes non-global TLB entries).
///
/// # Safety
/// `root` is a valid PML4 that maps the running code, stack and every
/// kernel object in use, as the current one does.
pub unsafe fn write_cr3(root: u64) {
    // SAFETY: the caller guarantees the new tables keep the kernel mapped.
    unsafe { asm!("mov cr3, {}", in(reg) root, options(nostack, preserves_flags)) };
}

fn read_cr0() -> u64 {
    let value: u64;
    // SAFETY: reading CR0 has no side effects.
    unsafe { asm!("mov {}, cr0", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}

fn read_cr4() -> u64 {
    let value: u64;
    // SAFETY: reading CR4 has no side effects.
    unsafe { asm!("mov {}, cr4", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}

/// Is CR0.WP set (ring 0 honours read-only pages)?
pub fn write_protect_enabled() -> bool {
    read_cr0() & CR0_WP != 0
}

/// Set CR0.WP: ring 0 can no longer write read-only pages.
pub fn enable_write_protect() {
    let cr0 = read_cr0() | CR0_WP;
    // SAFETY: WP only makes the kernel's own writes to read-only pages
    // fault; the kernel's tables map everything it writes writable.
    unsafe { asm!("mov cr0, {}", in(reg) cr0, options(nostack, preserves_flags)) };
}

/// Flush every TLB entry, global ones included, and leave CR4.PGE set
/// (global pages on) when `global` is true.
pub fn flush_global_tlb(global: bool) {
    let cr4 = read_cr4();
    let off = cr4 & !CR4_PGE;
    let on = if global { cr4 | CR4_PGE } else { off };
    // SAFETY: toggling PGE only flushes the TLB and enables global pages;
    // the active tables map the kernel either way.
    unsafe {
        asm!("mov cr4, {}", in(reg) off, options(nostack, preserves_flags));
        asm!("mov cr4, {}", in(reg) on, options(nostack, preserves_flags));
    }
}

fn read_efer() -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: EFER exists on every x86-64 CPU; reading it has no effects.
    unsafe { asm!("rdmsr", in("ecx") MSR_EFER, out("eax") low, out("edx") high, options(nomem, nostack, preserves_flags)) };
    u64::from(high) << 32 | u64::from(low)
}

/// Is EFER.NXE set (bit 63 of entries means no-execute)?
pub fn nx_enabled() -> bool {
    read_efer() & EFER_NXE != 0
}

/// Set EFER.NXE. Only call when [`PagingFeatures::nx`] is true (else the
/// write faults).
pub fn enable_nx() {
    let efer = read_efer() | EFER_NXE;
    // SAFETY: the caller checked CPUID for NX; NXE only gives bit 63 of
    // entries a meaning, and no live entry sets it before this.
    unsafe {
        asm!("wrmsr", in("ecx") MSR_EFER, in("eax") efer as u32, in("edx") (efer >> 32) as u32, options(nostack, preserves_flags))
    };
}

/// Drop the TLB entry for the page holding `vaddr` on this CPU.
pub fn invlpg(vaddr: usize) {
    // SAFETY: invlpg only drops a cached translation.
    unsafe { asm!("invlpg [{}]", in(reg) vaddr, options(nostack, preserves_flags)) };
}

/// GDTR contents.
#[repr(C, packed)]
struct DescriptorTablePointer {
    limit: u16,
    base: u64,
}

/// The IDT's base address (as loaded in IDTR).
pub fn idt_base() -> u64 {
    let mut idtr = DescriptorTablePointer { limit: 0, base: 0 };
    // SAFETY: sidt stores 10 bytes into `idtr`.
    unsafe { asm!("sidt [{}]", in(reg) core::ptr::addr_of_mut!(idtr), options(nostack, preserves_flags)) };
    idtr.base
}

/// Most GDT entries [`keep_gdt_mapped`] copies.
const GDT_COPY_ENTRIES: usize = 16;

/// Where the GDT lives if the one we booted with was only identity-mapped.
static mut GDT_COPY: [u64; GDT_COPY_ENTRIES] = [0; GDT_COPY_ENTRIES];

/// Before the identity map goes away: if the loaded GDT is only reachable
/// through it (the legacy boot path's `boot_gdt` at its physical address),
/// load a copy in the kernel's data instead, with the same selectors. The
/// CPU/trap code replaces it with the real GDT later.
///
/// # Safety
/// Called once on the boot CPU, before the switch away from the boot page
/// tables, with interrupts off; the loaded GDT is readable at its base.
pub unsafe fn keep_gdt_mapped() {
    let mut gdtr = DescriptorTablePointer { limit: 0, base: 0 };
    // SAFETY: sgdt stores 10 bytes into `gdtr`.
    unsafe { asm!("sgdt [{}]", in(reg) core::ptr::addr_of_mut!(gdtr), options(nostack, preserves_flags)) };
    let base = gdtr.base;
    let bytes = usize::from(gdtr.limit) + 1;
    if base >= super::kernel_space::HIGHER_HALF as u64 {
        return;
    }
    let entries = bytes.div_ceil(8).min(GDT_COPY_ENTRIES);
    if bytes > GDT_COPY_ENTRIES * 8 {
        log::warn!("mm: boot GDT has {} bytes; only the first {} entries are kept", bytes, GDT_COPY_ENTRIES);
    }
    let copy = core::ptr::addr_of_mut!(GDT_COPY).cast::<u64>();
    // SAFETY: the caller guarantees the current GDT is readable at `base`
    // (identity-mapped); GDT_COPY is only written here, once, before any
    // other CPU runs, and is big enough for `entries`.
    unsafe { core::ptr::copy_nonoverlapping(base as usize as *const u64, copy, entries) };
    log::debug!("mm: GDT at {:#x} is only identity-mapped: {} entries copied into the kernel image", base, entries);
    let pointer = DescriptorTablePointer { limit: (entries * 8 - 1) as u16, base: copy as u64 };
    // SAFETY: the copy has the same descriptors at the same selectors, so
    // the loaded segment registers stay valid; it is a static, so it
    // outlives its use.
    unsafe { asm!("lgdt [{}]", in(reg) core::ptr::addr_of!(pointer), options(nostack, preserves_flags)) };
}
