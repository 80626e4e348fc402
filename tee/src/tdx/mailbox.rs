//! AP wake-up through the ACPI multiprocessor wake-up mailbox (ACPI 6.4,
//! MADT entry type 0x10): a TD's APs cannot take INIT/SIPI; the firmware
//! (TDVF) parks them in a loop watching a 4 KiB mailbox. The kernel writes
//! the target's APIC id and the 64-bit entry, then the command "wake up";
//! the AP acknowledges by clearing the command and jumps to the entry in
//! long mode. framework's AP bring-up does the rest.
//!
//! Mailbox layout: command u16 @0 (0 = no-op, 1 = wake up), reserved u16
//! @2, APIC id u32 @4, wake-up vector u64 @8; the OS may use bytes 16..2048,
//! the firmware owns 2048..4096.
//!
//! Owns: the OS side of the protocol. Must never: reuse the mailbox before
//! the previous command was acknowledged, or wait for an AP forever.

use core::sync::atomic::{fence, AtomicU64, Ordering};

pub const COMMAND: u64 = 0;
pub const APIC_ID: u64 = 4;
pub const WAKEUP_VECTOR: u64 = 8;
pub const COMMAND_NOOP: u16 = 0;
pub const COMMAND_WAKEUP: u16 = 1;
/// MADT entry type of the multiprocessor wake-up structure.
pub const MADT_TYPE_MP_WAKEUP: u8 = 0x10;

static RSDP: AtomicU64 = AtomicU64::new(0);
static MAILBOX: AtomicU64 = AtomicU64::new(0);
/// APs woken through the mailbox since boot.
pub static WOKEN: AtomicU64 = AtomicU64::new(0);

/// Route framework's AP wake-up through the mailbox (TDX; the MADT is
/// found through `rsdp` when the first AP is woken).
pub fn install(rsdp: Option<u64>) {
    RSDP.store(rsdp.unwrap_or(0), Ordering::Relaxed);
    framework::smp::set_ap_wakeup(wakeup);
}

/// The mailbox's physical address: from the MADT, or (emulated TD) from
/// the emulator playing firmware.
fn mailbox() -> Option<u64> {
    let cached = MAILBOX.load(Ordering::Acquire);
    if cached != 0 {
        return Some(cached);
    }
    let rsdp = Some(RSDP.load(Ordering::Relaxed)).filter(|&r| r != 0);
    let found = framework::acpi_tables::mp_wakeup_mailbox(rsdp);
    #[cfg(feature = "emulation")]
    let found = found.or_else(|| crate::emu::active().then(crate::emu::mailbox::firmware_mailbox).flatten());
    let address = found?;
    // From the firmware's tables: checked before use all the same.
    if !address.is_multiple_of(4096) || !framework::mm::is_direct_mapped(boot::PhysRange { start: address, end: address + 4096 }) {
        log::error!("tdx: wake-up mailbox at {:#x} is not a page in the direct map: APs stay off", address);
        return None;
    }
    MAILBOX.store(address, Ordering::Release);
    Some(address)
}

fn field(mailbox: u64, offset: u64) -> usize {
    framework::mm::paddr_to_vaddr(mailbox + offset)
}

/// framework's [`ApWakeup`](framework::smp::ApWakeup) on TDX.
fn wakeup(apic_id: u32, start_paddr: u64) -> bool {
    let Some(mailbox) = mailbox() else {
        log::warn!("tdx: no multiprocessor wake-up mailbox (MADT type 0x10): APs stay off");
        return false;
    };
    let command = field(mailbox, COMMAND) as *mut u16;
    // The mailbox is a direct-mapped page the firmware gave the OS for this
    // protocol (checked in `mailbox`); the OS half is ours, the firmware's
    // SAFETY: AP only reads it and clears `command`; aligned fields, volatile
    // because the AP changes them behind the compiler.
    unsafe {
        if command.read_volatile() != COMMAND_NOOP {
            log::warn!("tdx: wake-up mailbox busy: CPU with APIC id {} stays off", apic_id);
            return false;
        }
        (field(mailbox, APIC_ID) as *mut u32).write_volatile(apic_id);
        (field(mailbox, WAKEUP_VECTOR) as *mut u64).write_volatile(start_paddr + framework::smp::start64_offset());
        fence(Ordering::SeqCst);
        command.write_volatile(COMMAND_WAKEUP);
    }
    let deadline = framework::arch::tsc::monotonic_ns() + 1_000_000_000;
    while framework::arch::tsc::monotonic_ns() < deadline {
        // SAFETY: as above.
        if unsafe { command.read_volatile() } == COMMAND_NOOP {
            WOKEN.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        core::hint::spin_loop();
    }
    log::warn!("tdx: CPU with APIC id {} did not acknowledge the wake-up mailbox", apic_id);
    false
}
