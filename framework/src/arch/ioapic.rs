//! The I/O APIC: routes external (legacy and PCI INTx) interrupt lines to
//! local-APIC vectors. Found through the ACPI MADT; every line starts
//! masked, and drivers route the lines they own with [`route_isa_irq`] /
//! [`route_gsi`]. (Virtio devices use MSI-X instead; this serves the legacy
//! devices and INTx fallbacks.)
//!
//! The MADT is host data: the I/O APIC address must lie in the x86 MMIO
//! window below 4 GiB (0xfe00_0000..), and the GSI ranges are checked
//! against each I/O APIC's own entry count.

use alloc::vec::Vec;

use crate::acpi_tables::{InterruptOverride, IoApicInfo};
use crate::sync::SpinLock;

const IOREGSEL: usize = 0x00;
const IOWIN: usize = 0x10;
const REG_VERSION: u32 = 0x01;
const REG_REDIRECTION_BASE: u32 = 0x10;
const MASKED: u64 = 1 << 16;
const LEVEL_TRIGGERED: u64 = 1 << 15;
const ACTIVE_LOW: u64 = 1 << 13;
/// Where firmware puts I/O APICs on PCs (the MMIO window below 4 GiB).
const MMIO_WINDOW: core::ops::Range<u64> = 0xfe00_0000..0x1_0000_0000;

struct IoApic {
    info: IoApicInfo,
    /// Its register window, mapped for MMIO (shared, uncached).
    base: usize,
    /// Redirection entries (max redirection entry + 1).
    lines: u32,
}

impl IoApic {
    fn base(&self) -> usize {
        self.base
    }

    fn read(&self, register: u32) -> u32 {
        let base = self.base();
        // SAFETY: `base` maps this I/O APIC's register window (in the MMIO hole, checked; uncached, shared with
        // the host that emulates it); IOREGSEL/IOWIN accesses only program interrupt routing. Callers hold
        // IO_APICS' lock, so select+access is not interleaved.
        unsafe {
            core::ptr::write_volatile((base + IOREGSEL) as *mut u32, register);
            core::ptr::read_volatile((base + IOWIN) as *const u32)
        }
    }

    fn write(&self, register: u32, value: u32) {
        let base = self.base();
        // SAFETY: as in `read`.
        unsafe {
            core::ptr::write_volatile((base + IOREGSEL) as *mut u32, register);
            core::ptr::write_volatile((base + IOWIN) as *mut u32, value);
        }
    }

    fn set_entry(&self, line: u32, entry: u64) {
        let register = REG_REDIRECTION_BASE + 2 * line;
        // Mask first so the line never fires half-programmed.
        self.write(register, MASKED as u32);
        self.write(register + 1, (entry >> 32) as u32);
        self.write(register, entry as u32);
    }
}

struct Routing {
    apics: Vec<IoApic>,
    overrides: Vec<InterruptOverride>,
}

static IO_APICS: SpinLock<Routing> = SpinLock::new(Routing { apics: Vec::new(), overrides: Vec::new() });

/// Why a line could not be routed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoApicError {
    /// No I/O APIC serves this GSI.
    NoSuchGsi(u32),
    /// The destination APIC id does not fit the 8-bit physical destination.
    DestinationTooLarge(u32),
}

/// Find the I/O APICs in the MADT and mask every line.
pub fn init(rsdp: Option<u64>) {
    let mut infos = Vec::new();
    let mut overrides = Vec::new();
    crate::acpi_tables::io_apics(rsdp, &mut infos, &mut overrides);
    let mut routing = IO_APICS.lock();
    for info in infos {
        if !MMIO_WINDOW.contains(&u64::from(info.address)) {
            log::warn!("ioapic: id {} at {:#x} is outside the MMIO window: ignored", info.id, info.address);
            continue;
        }
        let base = match crate::mm::dma::map_mmio(u64::from(info.address), 0x20) {
            Ok(base) => base,
            Err(error) => {
                log::warn!("ioapic: id {} at {:#x}: cannot map its registers ({:?}): ignored", info.id, info.address, error);
                continue;
            }
        };
        let mut apic = IoApic { info, base, lines: 0 };
        let version = apic.read(REG_VERSION);
        apic.lines = ((version >> 16) & 0xff) + 1;
        for line in 0..apic.lines {
            apic.set_entry(line, MASKED);
        }
        log::info!("ioapic: id {} at {:#x}, GSIs {}..{}", info.id, info.address, info.gsi_base, info.gsi_base + apic.lines);
        routing.apics.push(apic);
    }
    routing.overrides = overrides;
}

/// Number of I/O APICs found.
pub fn count() -> usize {
    IO_APICS.lock().apics.len()
}

/// Route ISA IRQ `irq` (following the MADT's overrides for its GSI,
/// polarity and trigger mode; ISA default: edge, active high) to `vector`
/// on the CPU with `apic_id`.
pub fn route_isa_irq(irq: u8, vector: u8, apic_id: u32) -> Result<u32, IoApicError> {
    let (gsi, flags) = {
        let routing = IO_APICS.lock();
        routing
            .overrides
            .iter()
            .find(|o| o.isa_irq == irq)
            .map_or((u32::from(irq), 0), |o| (o.gsi, o.flags))
    };
    let active_low = flags & 0b11 == 0b11;
    let level = (flags >> 2) & 0b11 == 0b11;
    route_gsi(gsi, vector, apic_id, level, active_low)?;
    Ok(gsi)
}

/// Route GSI `gsi` to `vector` on `apic_id` and unmask it.
pub fn route_gsi(gsi: u32, vector: u8, apic_id: u32, level: bool, active_low: bool) -> Result<(), IoApicError> {
    let destination = u8::try_from(apic_id).map_err(|_| IoApicError::DestinationTooLarge(apic_id))?;
    let routing = IO_APICS.lock();
    let apic = routing
        .apics
        .iter()
        .find(|a| gsi >= a.info.gsi_base && gsi - a.info.gsi_base < a.lines)
        .ok_or(IoApicError::NoSuchGsi(gsi))?;
    let mut entry = u64::from(vector) | (u64::from(destination) << 56);
    if level {
        entry |= LEVEL_TRIGGERED;
    }
    if active_low {
        entry |= ACTIVE_LOW;
    }
    apic.set_entry(gsi - apic.info.gsi_base, entry);
    Ok(())
}

/// Mask GSI `gsi`.
pub fn mask_gsi(gsi: u32) -> Result<(), IoApicError> {
    let routing = IO_APICS.lock();
    let apic = routing
        .apics
        .iter()
        .find(|a| gsi >= a.info.gsi_base && gsi - a.info.gsi_base < a.lines)
        .ok_or(IoApicError::NoSuchGsi(gsi))?;
    apic.set_entry(gsi - apic.info.gsi_base, MASKED);
    Ok(())
}

mod tests {
    use core::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use crate::arch::port::Port;
    use crate::ktest;

    static PIT_INTERRUPTS: AtomicU64 = AtomicU64::new(0);

    fn on_pit(_frame: &crate::arch::trap::TrapFrame) {
        PIT_INTERRUPTS.fetch_add(1, Ordering::Relaxed);
    }

    /// The PIT's channel 0 (ISA IRQ 0, GSI 2 on QEMU through the MADT
    /// override) reaches a vector we choose once routed, and stops when
    /// masked.
    #[ktest]
    fn pit_interrupt_is_routed_through_the_io_apic() {
        if count() == 0 || !crate::arch::apic::is_enabled() {
            crate::println!("  skipped: no I/O APIC or no x2APIC");
            return;
        }
        // SAFETY: the PIT's command and channel-0 data ports only program
        // the timer chip (channel 0 is otherwise unused by the kernel).
        let (command, channel0) = unsafe { (Port::new(0x43), Port::new(0x40)) };
        let vector = crate::arch::irq::allocate(on_pit).expect("a free vector");
        PIT_INTERRUPTS.store(0, Ordering::SeqCst);
        let gsi = route_isa_irq(0, vector, crate::arch::apic::id()).expect("route IRQ 0");
        // Mode 2 (rate generator), divisor 1193: about 1 kHz.
        command.write_u8(0x34);
        channel0.write_u8((1193 & 0xff) as u8);
        channel0.write_u8((1193 >> 8) as u8);
        // At ~1 kHz, 20 interrupts take 20 ms; allow a loaded host 2 s.
        let deadline = crate::arch::tsc::monotonic_ns() + 2_000_000_000;
        while PIT_INTERRUPTS.load(Ordering::SeqCst) < 20 && crate::arch::tsc::monotonic_ns() < deadline {
            core::hint::spin_loop();
        }
        mask_gsi(gsi).expect("mask");
        let seen = PIT_INTERRUPTS.load(Ordering::SeqCst);
        crate::arch::tsc::spin_for_ns(20_000_000);
        let after_mask = PIT_INTERRUPTS.load(Ordering::SeqCst);
        // Stop channel 0: mode 0 with the longest count, never reloaded.
        command.write_u8(0x30);
        channel0.write_u8(0);
        channel0.write_u8(0);
        crate::arch::irq::unregister(vector);
        assert!(seen >= 20, "only {} PIT interrupts in 2 s through GSI {}", seen, gsi);
        // One may already be in flight when the mask lands.
        assert!(after_mask <= seen + 1, "interrupts went on after masking ({} -> {})", seen, after_mask);
    }

    #[ktest]
    fn unknown_gsi_and_wide_destination_are_refused() {
        assert_eq!(route_gsi(100_000, 0x40, 0, false, false), Err(IoApicError::NoSuchGsi(100_000)));
        assert_eq!(route_gsi(0, 0x40, 300, false, false), Err(IoApicError::DestinationTooLarge(300)));
    }
}
