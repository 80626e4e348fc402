//! The emulator playing TDVF's part in AP wake-up: it owns a
//! multiprocessor wake-up mailbox and parks every AP in the firmware loop
//! that watches it (started from reset with INIT-SIPI-SIPI, which only
//! the emulated firmware may use). A parked AP that sees "wake up" with
//! its APIC id acknowledges (clears the command) and jumps to the wake-up
//! vector in long mode on an identity map of low memory, as the ACPI
//! spec describes. The guest side (`tdx::mailbox`) is the real TDX code.
//!
//! QEMU's MADT has no type 0x10 entry, so the guest asks the emulator for
//! the mailbox where a TD would read the MADT (the only difference).
//!
//! Owns: the mailbox page and the park loop. Must never: run the park
//! loop anywhere but on a freshly reset AP (no IDT: nothing in it may
//! fault).

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crate::tdx::mailbox::{APIC_ID, COMMAND, COMMAND_NOOP, COMMAND_WAKEUP, WAKEUP_VECTOR};

/// Atomics: interior mutability puts the page in writable .bss (both
/// sides write it).
#[repr(C, align(4096))]
struct MailboxPage([AtomicU64; 512]);

/// The mailbox (in the emulator's memory: what TDVF reserves).
static MAILBOX_PAGE: MailboxPage = MailboxPage([const { AtomicU64::new(0) }; 512]);
static PARKED: AtomicUsize = AtomicUsize::new(0);

/// The mailbox's physical address, parking every AP on first use.
pub fn firmware_mailbox() -> Option<u64> {
    static MAILBOX: spin::Once<Option<u64>> = spin::Once::new();
    *MAILBOX.call_once(|| {
        let paddr = framework::mm::kernel_vaddr_to_paddr(MAILBOX_PAGE.0.as_ptr() as usize)?;
        let boot = super::boot_info()?;
        let mut processors = alloc::vec::Vec::new();
        framework::acpi_tables::processors(boot.rsdp, framework::cpu_local::MAX_CPUS, &mut processors);
        let me = framework::arch::apic::id();
        let mut expected = 0;
        for apic_id in processors.iter().map(|p| p.apic_id).filter(|&id| id != me) {
            if framework::smp::start_from_reset(boot, apic_id, park, u64::from(apic_id)) {
                expected += 1;
                let deadline = framework::arch::tsc::monotonic_ns() + 1_000_000_000;
                while PARKED.load(Ordering::Acquire) < expected && framework::arch::tsc::monotonic_ns() < deadline {
                    core::hint::spin_loop();
                }
            }
        }
        log::info!("tdx-emu: firmware parked {} of {} APs at the wake-up mailbox {:#x}", PARKED.load(Ordering::Acquire), expected, paddr);
        Some(paddr)
    })
}

/// How many APs the emulated firmware parked.
pub fn parked() -> usize {
    PARKED.load(Ordering::Acquire)
}

fn word<T>(offset: u64) -> *mut T {
    (MAILBOX_PAGE.0.as_ptr() as usize + offset as usize) as *mut T
}

/// The firmware's AP loop (runs on a reset AP: no IDT, interrupts off).
extern "C" fn park(apic_id: u64) -> ! {
    PARKED.fetch_add(1, Ordering::AcqRel);
    loop {
        // SAFETY: the mailbox is a static page; the OS writes its half and
        // the command, this loop reads them and clears the command;
        // volatile, because the other CPU changes them.
        unsafe {
            if word::<u16>(COMMAND).read_volatile() == COMMAND_WAKEUP && u64::from(word::<u32>(APIC_ID).read_volatile()) == apic_id {
                let vector = word::<u64>(WAKEUP_VECTOR).read_volatile();
                word::<u16>(COMMAND).write_volatile(COMMAND_NOOP);
                // The trampoline's tables map the first 2 MiB 1:1: the
                // vector (the kernel's trampoline, below 1 MiB) is reachable.
                core::arch::asm!("jmp {}", in(reg) vector, options(noreturn));
            }
        }
        core::hint::spin_loop();
    }
}
