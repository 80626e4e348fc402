//! Entry points: the assembly ways in, and the hand-off to the framework.

use crate::info::{BootInfo, Firmware, PhysRange};
use crate::layout::{KERNEL_PHYS, KERNEL_VMA_OFFSET};

core::arch::global_asm!(include_str!("entry/setup16.s"), options(att_syntax));
core::arch::global_asm!(include_str!("entry/head.s"), options(att_syntax));

/// The boot information, written once on the boot CPU before hand-off.
static BOOT_INFO: spin::Once<BootInfo> = spin::Once::new();

extern "C" {
    static __kernel_end: u8;
}

extern "Rust" {
    /// The framework's entry (framework/src/boot_entry.rs).
    fn __umbra_framework_entry(info: &'static BootInfo) -> !;
}

/// The payload's physical extent when it runs at `phys_base`.
pub(crate) fn kernel_extent(phys_base: u64) -> PhysRange {
    let size = core::ptr::addr_of!(__kernel_end) as u64 - (KERNEL_VMA_OFFSET + KERNEL_PHYS);
    PhysRange { start: phys_base, end: phys_base + size }
}

/// Legacy boot protocol, from `head.s` in long mode on the boot stack.
#[no_mangle]
extern "C" fn umbra_boot_legacy_main(zero_page: u32) -> ! {
    let mut info = BootInfo::new(Firmware::Bios);
    info.kernel = kernel_extent(KERNEL_PHYS);
    // SAFETY: head.s passes the %esi of the 32-bit boot protocol; the low
    // 4 GiB are identity-mapped by early_pml4 and we are alone.
    unsafe { crate::linux_params::parse(u64::from(zero_page), &mut info) };
    hand_off(info)
}

/// Store the boot information and enter the framework. Never returns.
pub(crate) fn hand_off(info: BootInfo) -> ! {
    let info = BOOT_INFO.call_once(|| info);
    // SAFETY: the framework defines this symbol with this signature; it is
    // called once, on the boot stack, with interrupts off.
    unsafe { __umbra_framework_entry(info) }
}

/// The GDT used from hand-off until the framework loads its own: null,
/// 64-bit kernel code (0x08), kernel data (0x10).
static BOOT_GDT: [u64; 3] = [0, 0x00af_9a00_0000_ffff, 0x00cf_9200_0000_ffff];

/// Load [`BOOT_GDT`] and flat segments (after leaving UEFI, whose GDT lives
/// in memory we will reclaim).
pub(crate) fn load_boot_gdt() {
    #[repr(C, packed)]
    struct DescriptorTablePointer {
        limit: u16,
        base: u64,
    }
    let pointer = DescriptorTablePointer {
        limit: (core::mem::size_of_val(&BOOT_GDT) - 1) as u16,
        base: BOOT_GDT.as_ptr() as u64,
    };
    // SAFETY: `pointer` describes BOOT_GDT, a static (so it outlives the load) whose selector 0x08 is 64-bit code and
    // 0x10 flat data; the far return reloads CS with the equivalent code segment and continues at the next
    // instruction.
    unsafe {
        core::arch::asm!(
            "lgdt [{ptr}]",
            "push 0x08",
            "lea {tmp}, [rip + 2f]",
            "push {tmp}",
            "retfq",
            "2:",
            "mov {tmp:e}, 0x10",
            "mov ds, {tmp:e}",
            "mov es, {tmp:e}",
            "mov ss, {tmp:e}",
            "xor {tmp:e}, {tmp:e}",
            "mov fs, {tmp:e}",
            "mov gs, {tmp:e}",
            ptr = in(reg) core::ptr::addr_of!(pointer),
            tmp = out(reg) _,
        );
    }
}
