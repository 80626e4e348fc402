//! Bringing up the other processors (APs) and running code on all CPUs.
//!
//! On plain VMs the boot CPU wakes each AP listed in the ACPI MADT with
//! INIT-SIPI-SIPI into a real-mode trampoline copied below 1 MiB
//! (`trampoline.s`). TDX guests cannot take INIT/SIPI: their APs are woken
//! through the ACPI multiprocessor wakeup mailbox instead; that path plugs
//! in through [`set_ap_wakeup`] (the tee layer installs it), and the rest of
//! the bring-up (the AP's Rust entry) is the same.
//!
//! Each AP gets its own GDT/TSS/IST stacks, loads the IDT, enables its
//! x2APIC and timer, copies the boot CPU's control registers and syscall
//! MSRs, joins the scheduler with its own run queue and idles.

mod tlb_shootdown;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::arch::{apic, msr};
use crate::cpu_local::{self, MAX_CPUS};

pub use tlb_shootdown::{flush_all_cpus, flush_cpus_with, poll_pending, shootdown_vector};

core::arch::global_asm!(include_str!("trampoline.s"), options(att_syntax));

extern "C" {
    static umbra_ap_trampoline_start: u8;
    static umbra_ap_trampoline_end: u8;
    static umbra_ap_tr_gdt_ptr: u8;
    static umbra_ap_tr_gdt_ptr64: u8;
    static umbra_ap_tr_params: u8;
    static umbra_ap_tr_start64: u8;
}

/// The trampoline's parameter block (layout of `tr_far32`.. in trampoline.s).
#[repr(C)]
#[derive(Clone, Copy)]
struct TrampolineParams {
    far32_offset: u32,
    far32_selector: u32,
    far64_offset: u32,
    far64_selector: u32,
    cr3: u32,
    efer_low: u32,
    stack_top: u64,
    argument: u64,
    entry: u64,
}

/// What an AP needs from the boot CPU, handed over by pointer.
struct ApStart {
    index: usize,
    apic_id: u32,
    kernel_cr3: u64,
    cr4: u64,
    xcr0: Option<u64>,
    /// MSRs copied from the boot CPU (syscall entry, PAT, EFER).
    msrs: Vec<(u32, u64)>,
}

/// How to wake one AP at a physical start address (INIT-SIPI-SIPI by
/// default; the TDX mailbox under TDX).
pub type ApWakeup = fn(apic_id: u32, start_paddr: u64) -> bool;

static AP_WAKEUP: crate::arch::hook::FnSlot<ApWakeup> = crate::arch::hook::FnSlot::empty();

/// Replace the AP wake-up method (the tee layer's TDX mailbox).
pub fn set_ap_wakeup(wakeup: ApWakeup) {
    AP_WAKEUP.replace(Some(wakeup));
}

static ONLINE_GATE: AtomicBool = AtomicBool::new(false);
static STARTED: AtomicUsize = AtomicUsize::new(1);

const MSR_EFER: u32 = 0xc000_0080;
const MSR_STAR: u32 = 0xc000_0081;
const MSR_LSTAR: u32 = 0xc000_0082;
const MSR_SFMASK: u32 = 0xc000_0084;
const MSR_PAT: u32 = 0x277;
/// Physical area (below 1 MiB) the trampoline and its page tables use.
const TRAMPOLINE_PAGES: u64 = 4;

/// Number of CPUs running (1 before `start_aps`).
pub fn cpu_count() -> usize {
    STARTED.load(Ordering::Acquire)
}

/// Wake every AP the firmware lists (at most `max_cpus` CPUs in all).
/// Returns the number of CPUs online afterwards.
pub fn start_aps(boot: &boot::BootInfo, max_cpus: usize) -> usize {
    tlb_shootdown::init();
    if !apic::is_enabled() {
        log::warn!("smp: no x2APIC, running on the boot CPU only");
        return 1;
    }
    let mut processors = Vec::new();
    crate::acpi_tables::processors(boot.rsdp, max_cpus.min(MAX_CPUS), &mut processors);
    let my_apic = apic::id();
    let others: Vec<u32> = processors.iter().map(|p| p.apic_id).filter(|&id| id != my_apic).collect();
    if others.is_empty() {
        return 1;
    }
    let Some(page) = trampoline_area(boot) else {
        log::warn!("smp: no free page below 1 MiB for the AP trampoline; APs stay off");
        return 1;
    };
    install_trampoline(page);
    for apic_id in others {
        let index = STARTED.load(Ordering::Acquire);
        if index >= max_cpus.min(MAX_CPUS) {
            break;
        }
        if start_one(page, index, apic_id) {
            STARTED.fetch_add(1, Ordering::AcqRel);
        } else {
            log::warn!("smp: CPU with APIC id {} did not come up", apic_id);
        }
    }
    ONLINE_GATE.store(true, Ordering::Release);
    let count = cpu_count();
    log::info!("smp: {} CPUs online", count);
    count
}

/// A page-aligned area of TRAMPOLINE_PAGES pages in RAM below 1 MiB (the
/// frame allocator never hands out that memory, so it is free for us).
fn trampoline_area(boot: &boot::BootInfo) -> Option<u64> {
    let size = TRAMPOLINE_PAGES * 4096;
    boot.memory_map()
        .iter()
        .filter(|r| matches!(r.kind, boot::RegionKind::Usable | boot::RegionKind::Reclaimable))
        .find_map(|r| {
            let start = r.range.start.max(0x1000).next_multiple_of(4096);
            (start + size <= r.range.end.min(0x9f000)).then_some(start)
        })
}

fn trampoline_bytes() -> &'static [u8] {
    let start = core::ptr::addr_of!(umbra_ap_trampoline_start);
    let end = core::ptr::addr_of!(umbra_ap_trampoline_end) as usize;
    // SAFETY: both symbols delimit the trampoline bytes in .rodata.
    unsafe { core::slice::from_raw_parts(start, end - start as usize) }
}

fn offset_of_symbol(symbol: *const u8) -> usize {
    symbol as usize - core::ptr::addr_of!(umbra_ap_trampoline_start) as usize
}

/// Write to low physical memory through the direct map.
fn write_phys(paddr: u64, bytes: &[u8]) {
    let vaddr = crate::mm::paddr_to_vaddr(paddr) as *mut u8;
    // SAFETY: `paddr` lies in the trampoline area: RAM below 1 MiB that the
    // frame allocator never hands out (mm keeps the first MiB), mapped
    // writable in the direct map; only the BSP writes it, before waking APs.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), vaddr, bytes.len()) };
}

fn read_phys_u64(paddr: u64) -> u64 {
    let vaddr = crate::mm::paddr_to_vaddr(paddr) as *const u64;
    // SAFETY: `paddr` is 8-aligned RAM in the direct map (a page-table entry).
    unsafe { vaddr.read_volatile() }
}

/// Copy the code and build the AP's temporary page tables: identity map of
/// the first 2 MiB (where the trampoline runs) + the kernel's upper half.
fn install_trampoline(page: u64) {
    let mut code = trampoline_bytes().to_vec();
    let gdt_ptr = offset_of_symbol(core::ptr::addr_of!(umbra_ap_tr_gdt_ptr));
    let base = u32::from_le_bytes(code[gdt_ptr + 2..gdt_ptr + 6].try_into().unwrap_or_default());
    code[gdt_ptr + 2..gdt_ptr + 6].copy_from_slice(&(base + page as u32).to_le_bytes());
    let gdt_ptr64 = offset_of_symbol(core::ptr::addr_of!(umbra_ap_tr_gdt_ptr64));
    let base = u64::from_le_bytes(code[gdt_ptr64 + 2..gdt_ptr64 + 10].try_into().unwrap_or_default());
    code[gdt_ptr64 + 2..gdt_ptr64 + 10].copy_from_slice(&(base + page).to_le_bytes());
    write_phys(page, &code);

    let (pml4, pdpt, pd) = (page + 0x1000, page + 0x2000, page + 0x3000);
    let kernel_root = crate::mm::kernel_root_paddr();
    let mut table = [0u8; 4096];
    for index in 256..512 {
        let entry = read_phys_u64(kernel_root + index as u64 * 8);
        table[index * 8..index * 8 + 8].copy_from_slice(&entry.to_le_bytes());
    }
    table[0..8].copy_from_slice(&(pdpt | 0x3).to_le_bytes());
    write_phys(pml4, &table);
    let mut table = [0u8; 4096];
    table[0..8].copy_from_slice(&(pd | 0x3).to_le_bytes());
    write_phys(pdpt, &table);
    let mut table = [0u8; 4096];
    table[0..8].copy_from_slice(&0x83u64.to_le_bytes()); // 2 MiB at 0, RW, present
    write_phys(pd, &table);
}

fn start_one(page: u64, index: usize, apic_id: u32) -> bool {
    // The AP's boot stack (it becomes its idle task's stack) and start data.
    let stack: &'static mut [u64] = Box::leak(alloc::vec![0u64; 8192].into_boxed_slice());
    let stack_top = stack.as_ptr() as u64 + (stack.len() * 8) as u64;
    let start = Box::leak(Box::new(ApStart {
        index,
        apic_id,
        kernel_cr3: crate::mm::kernel_root_paddr(),
        cr4: crate::arch::registers::cr4(),
        xcr0: xcr0(),
        msrs: [MSR_STAR, MSR_LSTAR, MSR_SFMASK, MSR_PAT]
            .into_iter()
            // SAFETY: these MSRs exist on every x86-64 CPU; reading them
            // has no side effect.
            .map(|m| (m, unsafe { msr::read(m) }))
            .chain(core::iter::once((MSR_EFER, {
                // SAFETY: as above.
                unsafe { msr::read(MSR_EFER) }
            })))
            .collect(),
    }));
    write_params(page, stack_top, start as *const ApStart as u64, ap_entry as *const () as u64);

    let woke = match AP_WAKEUP.get() {
        Some(wakeup) => wakeup(apic_id, page),
        None => init_sipi_sipi(apic_id, page),
    };
    if !woke {
        return false;
    }
    let deadline = crate::arch::tsc::monotonic_ns() + 1_000_000_000;
    while crate::arch::tsc::monotonic_ns() < deadline {
        if cpu_local::cpu(index).is_some_and(|c| c.online.load(Ordering::Acquire)) {
            return true;
        }
        core::hint::spin_loop();
    }
    false
}

/// Where the trampoline at `page` continues: stack, argument (in RDI) and
/// the 64-bit entry point.
fn write_params(page: u64, stack_top: u64, argument: u64, entry: u64) {
    let template = trampoline_bytes();
    let params_at = offset_of_symbol(core::ptr::addr_of!(umbra_ap_tr_params));
    let far32 = u32::from_le_bytes(template[params_at..params_at + 4].try_into().unwrap_or_default());
    let far64 = u32::from_le_bytes(template[params_at + 8..params_at + 12].try_into().unwrap_or_default());
    // SAFETY: only the low 32 bits of EFER matter here (LME, NXE, SCE).
    let efer = unsafe { msr::read(MSR_EFER) } as u32;
    let params = TrampolineParams {
        far32_offset: far32 + page as u32,
        far32_selector: 0x18,
        far64_offset: far64 + page as u32,
        far64_selector: 0x08,
        cr3: (page + 0x1000) as u32,
        efer_low: efer & ((1 << 0) | (1 << 8) | (1 << 11)),
        stack_top,
        argument,
        entry,
    };
    // SAFETY: TrampolineParams is repr(C) plain data without padding.
    let bytes = unsafe {
        core::slice::from_raw_parts(
            (&params as *const TrampolineParams).cast::<u8>(),
            core::mem::size_of::<TrampolineParams>(),
        )
    };
    write_phys(page + params_at as u64, bytes);
}

/// Offset of the trampoline's 64-bit entry (for the ACPI multiprocessor
/// wake-up mailbox, whose firmware enters in long mode) from the start
/// address an [`ApWakeup`] is given.
pub fn start64_offset() -> u64 {
    offset_of_symbol(core::ptr::addr_of!(umbra_ap_tr_start64)) as u64
}

/// Start the AP `apic_id` from reset (INIT-SIPI-SIPI) at `entry(arg)`: long
/// mode on the trampoline's tables (identity map of the first 2 MiB and the
/// kernel's upper half), on a fresh 16 KiB stack, interrupts off, no IDT
/// (it must not fault). For a TEE emulator playing firmware that parks APs
/// in the ACPI wake-up mailbox loop before the kernel wakes them. Uses the
/// second trampoline area below 1 MiB, so it never disturbs the kernel's.
pub fn start_from_reset(boot: &boot::BootInfo, apic_id: u32, entry: extern "C" fn(u64) -> !, arg: u64) -> bool {
    let Some(first) = trampoline_area(boot) else { return false };
    let size = TRAMPOLINE_PAGES * 4096;
    let second = boot
        .memory_map()
        .iter()
        .filter(|r| matches!(r.kind, boot::RegionKind::Usable | boot::RegionKind::Reclaimable))
        .find_map(|r| {
            let start = r.range.start.max(first + size).max(0x1000).next_multiple_of(4096);
            (start + size <= r.range.end.min(0x9f000)).then_some(start)
        });
    let Some(page) = second else { return false };
    install_trampoline(page);
    let stack: &'static mut [u64] = Box::leak(alloc::vec![0u64; 2048].into_boxed_slice());
    let stack_top = stack.as_ptr() as u64 + (stack.len() * 8) as u64;
    write_params(page, stack_top, arg, entry as *const () as u64);
    init_sipi_sipi(apic_id, page)
}

/// The classic start-up sequence (Intel SDM 8.4.4.1 / MP spec B.4).
fn init_sipi_sipi(apic_id: u32, page: u64) -> bool {
    let vector = (page >> 12) as u8;
    // SAFETY: INIT and SIPI only reset/start the target AP, which runs the
    // trampoline we just installed at `page`.
    unsafe {
        apic::send_init(apic_id);
        crate::arch::tsc::spin_for_ns(10_000_000);
        apic::send_startup(apic_id, vector);
        crate::arch::tsc::spin_for_ns(200_000);
        apic::send_startup(apic_id, vector);
    }
    true
}

fn xcr0() -> Option<u64> {
    if crate::arch::registers::cr4() & (1 << 18) == 0 {
        return None;
    }
    let (low, high): (u32, u32);
    // SAFETY: CR4.OSXSAVE is set, so xgetbv is available; reading XCR0 has
    // no side effects.
    unsafe { core::arch::asm!("xgetbv", in("ecx") 0, out("eax") low, out("edx") high, options(nomem, nostack)) };
    Some((u64::from(high) << 32) | u64::from(low))
}

/// First Rust code on an AP: long mode on the trampoline's tables and the
/// AP's own stack.
extern "C" fn ap_entry(start: &'static ApStart) -> ! {
    // SAFETY: the kernel root maps everything the kernel uses (identical
    // upper half to the trampoline's tables; we run in the upper half), and
    // the BSP's CR4/XCR0/MSR values are valid on this identical CPU model.
    unsafe {
        crate::mm::load_kernel_root(start.kernel_cr3);
        core::arch::asm!("mov cr4, {}", in(reg) start.cr4, options(nostack));
        if let Some(xcr0) = start.xcr0 {
            core::arch::asm!("xsetbv", in("ecx") 0, in("eax") xcr0 as u32, in("edx") (xcr0 >> 32) as u32, options(nomem, nostack));
        }
        for &(register, value) in &start.msrs {
            msr::write(register, value);
        }
    }
    // Per-CPU data first (logging and locks use it), and again after the
    // segment reloads of the GDT load, which may clear the GS base.
    cpu_local::init_this_cpu(start.index, start.apic_id);
    let tables: &'static crate::arch::gdt::CpuTables = Box::leak(Box::new(crate::arch::gdt::CpuTables::new()));
    // SAFETY: IstStacks is plain zeroed memory plus atomics, for which all
    // zero bytes is the valid initial state (as `IstStacks::new`).
    let stacks: &'static crate::arch::gdt::IstStacks = unsafe { Box::leak(Box::new_zeroed().assume_init()) };
    tables.load(stacks);
    cpu_local::init_this_cpu(start.index, start.apic_id);
    crate::arch::idt::load();
    if let Err(error) = apic::init_this_cpu() {
        log::warn!("smp: CPU {}: {:?}", start.index, error);
    }
    crate::arch::timer::init_this_cpu();
    crate::task::init_ap(start.index, start.apic_id)
}

#[cfg(target_os = "none")]
mod tests;
