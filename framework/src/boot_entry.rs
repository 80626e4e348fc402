//! From the boot layer to the kernel's main: bring up the console and
//! logger, report what the boot loader told us, call the kernel's main and
//! power off with its exit status.

use boot::BootInfo;
#[cfg(target_os = "none")]
use boot::RegionKind;

/// What the kernel's main gets: the boot information and safe views of the
/// memory the loader left for it.
pub struct KernelContext {
    pub boot: &'static BootInfo,
    /// The initial ramdisk's bytes, if the loader passed one.
    pub initrd: Option<&'static [u8]>,
}

/// Define the kernel's main function: `fn(&KernelContext) -> u8` (the exit
/// status reported to the host when it returns), and optionally the
/// platform setup (`platform = path`, a [`PlatformSetup`]).
#[macro_export]
macro_rules! kernel_main {
    ($main:path) => {
        $crate::kernel_main!($main, platform = $crate::boot_entry::no_platform_setup);
    };
    ($main:path, platform = $setup:path) => {
        #[no_mangle]
        fn __umbra_kernel_main(context: &$crate::KernelContext) -> u8 {
            $main(context)
        }
        #[no_mangle]
        fn __umbra_platform_setup(boot: &'static $crate::BootInfo) -> &'static $crate::BootInfo {
            let setup: $crate::boot_entry::PlatformSetup = $setup;
            setup(boot)
        }
    };
}

/// The confidential-platform layer's boot hook (tee's `init`): runs on the
/// boot CPU once traps work and before any device, CPUID-dependent clock,
/// MSR or memory setup, so it can install its exception and port-I/O hooks
/// first. It may return an amended copy of the boot information (the TEE
/// emulator plays firmware and reports memory as unaccepted); everything
/// after it uses what it returns. It must not allocate (no heap yet).
pub type PlatformSetup = fn(&'static BootInfo) -> &'static BootInfo;

/// The platform setup of a kernel without a platform layer.
pub fn no_platform_setup(boot: &'static BootInfo) -> &'static BootInfo {
    boot
}

#[cfg(target_os = "none")]
extern "Rust" {
    fn __umbra_kernel_main(context: &KernelContext) -> u8;
    fn __umbra_platform_setup(boot: &'static BootInfo) -> &'static BootInfo;
}

/// Entered from `boot` on the boot CPU, interrupts off, on the boot stack.
#[cfg(target_os = "none")]
#[no_mangle]
fn __umbra_framework_entry(boot: &'static BootInfo) -> ! {
    let entry_tsc = crate::arch::rdtsc();
    crate::console::init();
    crate::logger::init(crate::logger::level_from_cmdline(boot.cmdline()));
    crate::println!(
        "Umbra {} -- a Rust framekernel for confidential VMs ({} boot)",
        crate::VERSION,
        match boot.firmware {
            boot::Firmware::Bios => "BIOS/Linux boot protocol",
            boot::Firmware::Uefi => "UEFI",
        }
    );
    crate::println!("cmdline: {}", boot.cmdline());
    // Descriptor tables and traps; the platform layer's hooks; then the
    // interrupt controller, clocks, timer; then interrupts on (the console
    // is interrupt-safe; the monitor polls it).
    crate::arch::init_traps_bsp();
    // SAFETY: the kernel binary defines this symbol with `kernel_main!`,
    // which fixes its signature.
    let boot = unsafe { __umbra_platform_setup(boot) };
    crate::arch::init_devices_bsp(crate::arch::CpuOptions::from_cmdline(boot.cmdline()));
    crate::arch::irq::enable_local();
    for warning in boot.warnings() {
        log::warn!("boot: {}", warning);
    }
    report_memory(boot);
    // Own page tables, frame allocator and heap; the identity map is gone
    // after this. Reclaiming firmware memory must wait for the trap code's
    // own GDT/IDT once there is one (UEFI's IDT lives in that memory).
    crate::mm::init(boot);
    crate::arch::trap::set_page_fault_hook(page_fault_to_mm);
    // Our GDT/IDT are loaded (init_bsp), so firmware memory can go.
    crate::mm::reclaim_boot_memory();
    let initrd = boot.initrd.and_then(|range| initrd_bytes(boot, range));
    // From here the boot path is the task "main" on CPU 0.
    crate::task::init_this_cpu(0, "main");
    crate::arch::ioapic::init(boot.rsdp);
    crate::smp::start_aps(boot, max_cpus(boot.cmdline()));
    log::debug!("framework entry at tsc {}", entry_tsc);

    let context = KernelContext { boot, initrd };
    // SAFETY: the kernel binary defines this symbol with `kernel_main!`,
    // which fixes its signature.
    let status = unsafe { __umbra_kernel_main(&context) };
    crate::power::exit(status)
}

#[cfg(target_os = "none")]
fn report_memory(boot: &BootInfo) {
    for region in boot.memory_map() {
        log::debug!(
            "memory: [{:#014x}-{:#014x}) {:?}",
            region.range.start,
            region.range.end,
            region.kind
        );
    }
    let mib = |kind| boot.total(kind) >> 20;
    crate::println!(
        "memory: {} MiB usable, {} MiB reclaimable, {} MiB unaccepted, {} regions; kernel [{:#x}-{:#x})",
        mib(RegionKind::Usable),
        mib(RegionKind::Reclaimable),
        mib(RegionKind::Unaccepted),
        boot.memory_map().len(),
        boot.kernel.start,
        boot.kernel.end,
    );
}

/// The initrd as a byte slice (through the direct map), if it lies in RAM
/// the memory map knows and does not overlap the kernel.
#[cfg(target_os = "none")]
fn initrd_bytes(boot: &BootInfo, range: boot::PhysRange) -> Option<&'static [u8]> {
    let in_ram = boot.memory_map().iter().any(|r| {
        matches!(r.kind, RegionKind::Usable | RegionKind::Reclaimable)
            && r.range.start <= range.start
            && range.end <= r.range.end
    });
    let overlaps_kernel = range.start < boot.kernel.end && boot.kernel.start < range.end;
    if !in_ram || overlaps_kernel || !crate::mm::is_direct_mapped(range) {
        log::warn!("initrd at [{:#x}-{:#x}) is not in usable RAM: ignored", range.start, range.end);
        return None;
    }
    // SAFETY: the range is RAM per the memory map, inside the direct map, not the kernel image, and never written:
    // the frame allocator keeps the initrd out of the memory it hands out (mm::boot_memory), and the loader is gone.
    Some(unsafe { core::slice::from_raw_parts(crate::mm::paddr_to_vaddr(range.start) as *const u8, range.len() as usize) })
}

/// The trap layer's #PF hook: let mm resolve copy-on-write faults in the
/// active address space; anything else goes back to the trap layer (fixup
/// table, then a report and panic for kernel faults).
#[cfg(target_os = "none")]
fn page_fault_to_mm(info: &crate::arch::trap::PageFaultInfo) -> bool {
    let mm_info = crate::mm::PageFaultInfo {
        address: info.address as usize,
        error_code: info.error.0,
        from_user: info.from_user,
    };
    match crate::mm::handle_page_fault(&mm_info) {
        Ok(()) => true,
        Err(error) => {
            log::debug!("page fault at {:#x} (rip {:#x}) not resolved: {}", info.address, info.rip, error);
            false
        }
    }
}

/// `maxcpus=N` on the command line (Linux's name), default all.
#[cfg(target_os = "none")]
fn max_cpus(cmdline: &str) -> usize {
    cmdline
        .split_ascii_whitespace()
        .find_map(|word| word.strip_prefix("maxcpus=")?.parse::<usize>().ok())
        .map_or(crate::cpu_local::MAX_CPUS, |n| n.max(1))
}
