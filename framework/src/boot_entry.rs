//! From the boot layer to the kernel's main: bring up the console and
//! logger, report what the boot loader told us, call the kernel's main and
//! power off with its exit status.

use boot::{BootInfo, RegionKind};

/// What the kernel's main gets: the boot information and safe views of the
/// memory the loader left for it.
pub struct KernelContext {
    pub boot: &'static BootInfo,
    /// The initial ramdisk's bytes, if the loader passed one.
    pub initrd: Option<&'static [u8]>,
}

/// Define the kernel's main function: `fn(&KernelContext) -> u8` (the exit
/// status reported to the host when it returns).
#[macro_export]
macro_rules! kernel_main {
    ($main:path) => {
        #[no_mangle]
        fn __umbra_kernel_main(context: &$crate::KernelContext) -> u8 {
            $main(context)
        }
    };
}

#[cfg(target_os = "none")]
extern "Rust" {
    fn __umbra_kernel_main(context: &KernelContext) -> u8;
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
    // Descriptor tables, traps, interrupt controller, clocks, timer; then
    // interrupts on (the console is interrupt-safe; the monitor polls it).
    crate::arch::init_bsp(crate::arch::CpuOptions::from_cmdline(boot.cmdline()));
    crate::arch::irq::enable_local();
    for warning in boot.warnings() {
        log::warn!("boot: {}", warning);
    }
    report_memory(boot);
    let initrd = boot.initrd.and_then(|range| initrd_bytes(boot, range));
    log::debug!("framework entry at tsc {}", entry_tsc);

    let context = KernelContext { boot, initrd };
    // SAFETY: the kernel binary defines this symbol with `kernel_main!`,
    // which fixes its signature.
    let status = unsafe { __umbra_kernel_main(&context) };
    crate::power::exit(status)
}

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

/// The initrd as a byte slice, if it lies in RAM the memory map knows and
/// does not overlap the kernel.
#[cfg(target_os = "none")]
fn initrd_bytes(boot: &BootInfo, range: boot::PhysRange) -> Option<&'static [u8]> {
    let in_ram = boot.memory_map().iter().any(|r| {
        matches!(r.kind, RegionKind::Usable | RegionKind::Reclaimable)
            && r.range.start <= range.start
            && range.end <= r.range.end
    });
    let overlaps_kernel = range.start < boot.kernel.end && boot.kernel.start < range.end;
    if !in_ram || overlaps_kernel || range.end > IDENTITY_LIMIT {
        log::warn!("initrd at [{:#x}-{:#x}) is not in usable RAM: ignored", range.start, range.end);
        return None;
    }
    // SAFETY: the range is RAM per the memory map, below the identity-map
    // limit of the boot page tables (which stay live), not the kernel image,
    // and nothing writes it: the loader is gone and the frame allocator does
    // not exist yet (it will reserve this range).
    Some(unsafe { core::slice::from_raw_parts(range.start as usize as *const u8, range.len() as usize) })
}

/// The legacy boot page tables identity-map 4 GiB; EFI's map covers more,
/// but one limit keeps this simple until the framework has a direct map.
#[cfg(target_os = "none")]
const IDENTITY_LIMIT: u64 = 1 << 32;
