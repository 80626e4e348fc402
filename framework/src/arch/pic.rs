//! The legacy 8259 PIC pair: remapped away from the exception vectors and
//! fully masked. Interrupts come through the local APIC (and later the I/O
//! APIC / MSI); the PIC stays only because it exists on PC-compatible
//! machines and would otherwise deliver IRQ 0-15 on vectors 8-15 (on top
//! of #DF..#PF) if anything unmasked it. LINT0 (where the PIC's output
//! arrives) is masked in the local APIC too.

use super::port::Port;

/// Vectors of PIC IRQ 0-7 and 8-15 after the remap. Nothing is registered
/// there while the PIC is masked; a spurious IRQ 7/15 would show up as an
/// unexpected interrupt on vector 0x27/0x2f.
pub const MASTER_VECTOR_BASE: u8 = 0x20;
pub const SLAVE_VECTOR_BASE: u8 = 0x28;

const ICW1_INIT_ICW4: u8 = 0x11;
const ICW4_8086: u8 = 0x01;

/// Remap both PICs and mask every IRQ line.
pub fn remap_and_mask() {
    // SAFETY: the PIC registers only route legacy interrupts; they cannot
    // reach memory.
    let (master_command, master_data, slave_command, slave_data, delay) =
        unsafe { (Port::new(0x20), Port::new(0x21), Port::new(0xa0), Port::new(0xa1), Port::new(0x80)) };
    let wait = || delay.write_u8(0); // port 0x80: POST code, a short I/O delay
    master_data.write_u8(0xff);
    slave_data.write_u8(0xff);
    for (command, data, base, cascade) in
        [(master_command, master_data, MASTER_VECTOR_BASE, 1 << 2), (slave_command, slave_data, SLAVE_VECTOR_BASE, 2)]
    {
        command.write_u8(ICW1_INIT_ICW4);
        wait();
        data.write_u8(base); // ICW2: vector base
        wait();
        data.write_u8(cascade); // ICW3: slave on IRQ 2 / cascade identity 2
        wait();
        data.write_u8(ICW4_8086);
        wait();
    }
    master_data.write_u8(0xff);
    slave_data.write_u8(0xff);
}

/// The interrupt masks (master, slave) as the PICs report them.
pub fn masks() -> (u8, u8) {
    // SAFETY: reading the mask registers has no effect.
    let (master_data, slave_data) = unsafe { (Port::new(0x21), Port::new(0xa1)) };
    (master_data.read_u8(), slave_data.read_u8())
}

mod tests {
    use crate::ktest;

    #[ktest]
    fn pic_is_masked() {
        // 0xff also when no PIC answers (a TDX guest has none): fine.
        assert_eq!(super::masks(), (0xff, 0xff));
    }
}
