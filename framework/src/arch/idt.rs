//! The interrupt descriptor table: one table shared by all CPUs, built
//! once, pointing every vector at its stub in `trap_entry.s`.
//!
//! All gates are interrupt gates (IF cleared on entry) with the kernel code
//! selector. #DF, NMI and #MC switch to their IST stacks (so a kernel stack
//! overflow or an NMI in the entry path still gets a good stack); #BP and
//! #OF have DPL 3 so that `int3`/`into` from user mode trap instead of
//! raising #GP. Everything else has DPL 0: `int N` from user mode is a #GP.

use super::gdt::{IST_DOUBLE_FAULT, IST_MACHINE_CHECK, IST_NMI, KERNEL_CS};
use super::trap::{stub_address, BREAKPOINT, DOUBLE_FAULT, MACHINE_CHECK, NMI};

const OVERFLOW: u8 = 4;
const GATE_INTERRUPT: u8 = 0xe;
const GATE_PRESENT: u8 = 0x80;

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct Gate {
    offset_low: u16,
    selector: u16,
    /// Bits 2:0: IST slot (0 = no stack switch unless from user mode).
    ist: u8,
    /// P, DPL, type.
    attributes: u8,
    offset_middle: u16,
    offset_high: u32,
    reserved: u32,
}
const _: () = assert!(core::mem::size_of::<Gate>() == 16);

impl Gate {
    fn interrupt(handler: u64, ist: u8, dpl: u8) -> Self {
        Self {
            offset_low: handler as u16,
            selector: KERNEL_CS,
            ist,
            attributes: GATE_PRESENT | (dpl << 5) | GATE_INTERRUPT,
            offset_middle: (handler >> 16) as u16,
            offset_high: (handler >> 32) as u32,
            reserved: 0,
        }
    }

    fn handler(&self) -> u64 {
        u64::from(self.offset_low) | (u64::from(self.offset_middle) << 16) | (u64::from(self.offset_high) << 32)
    }
}

type Table = [Gate; 256];

static IDT: spin::Once<Table> = spin::Once::new();

fn build() -> Table {
    let mut table = [Gate::default(); 256];
    for (vector, gate) in (0..=255u8).zip(table.iter_mut()) {
        let ist = match vector {
            DOUBLE_FAULT => IST_DOUBLE_FAULT,
            NMI => IST_NMI,
            MACHINE_CHECK => IST_MACHINE_CHECK,
            _ => 0,
        };
        let dpl = if vector == BREAKPOINT || vector == OVERFLOW { 3 } else { 0 };
        *gate = Gate::interrupt(stub_address(vector), ist, dpl);
    }
    table
}

#[repr(C, packed)]
struct DescriptorTablePointer {
    limit: u16,
    base: u64,
}

/// Build the IDT (first call only) and load it on the calling CPU. Every
/// CPU calls this after loading its GDT/TSS (IST slots refer to its TSS).
pub fn load() {
    let table = IDT.call_once(build);
    let pointer =
        DescriptorTablePointer { limit: (core::mem::size_of::<Table>() - 1) as u16, base: table.as_ptr() as u64 };
    // SAFETY: the table is 'static and never changes once built; every gate
    // points at a stub in trap_entry.s with the kernel code selector, and
    // the IST slots it names are set in every CPU's TSS by gdt.
    unsafe { core::arch::asm!("lidt [{}]", in(reg) &pointer, options(readonly, nostack, preserves_flags)) };
}

/// Is our IDT loaded on the calling CPU?
pub fn is_loaded() -> bool {
    let Some(table) = IDT.get() else {
        return false;
    };
    let mut pointer = DescriptorTablePointer { limit: 0, base: 0 };
    // SAFETY: `sidt` stores 10 bytes into `pointer` and changes nothing else.
    unsafe { core::arch::asm!("sidt [{}]", in(reg) &mut pointer, options(nostack, preserves_flags)) };
    let (base, limit) = (pointer.base, pointer.limit);
    base == table.as_ptr() as u64 && usize::from(limit) == core::mem::size_of::<Table>() - 1
}

mod tests {
    use super::*;
    use crate::ktest;

    #[ktest]
    fn idt_is_loaded_and_gates_point_at_stubs() {
        assert!(is_loaded());
        let table = IDT.get().expect("built");
        for (vector, gate) in (0..=255u8).zip(table.iter()) {
            assert_eq!(gate.handler(), stub_address(vector), "vector {}", vector);
            assert_eq!(gate.selector, KERNEL_CS);
            assert_eq!(gate.attributes & 0x8f, 0x8e, "vector {}: present interrupt gate", vector);
        }
        assert_eq!(table[usize::from(DOUBLE_FAULT)].ist, IST_DOUBLE_FAULT);
        assert_eq!(table[usize::from(NMI)].ist, IST_NMI);
        assert_eq!(table[usize::from(MACHINE_CHECK)].ist, IST_MACHINE_CHECK);
        assert_eq!(table[14].ist, 0);
        assert_eq!(table[usize::from(BREAKPOINT)].attributes >> 5 & 3, 3);
        assert_eq!(table[13].attributes >> 5 & 3, 0);
    }
}
