//! The Linux x86 boot protocol's setup header (Documentation/arch/x86/boot.rst,
//! protocol 2.15), in the first two sectors of the image.

use crate::layout::{CMDLINE_MAX, KERNEL_PHYS, LEGACY_LOAD_ADDR, SETUP_CODE_OFFSET};

pub mod offset {
    pub const SETUP_SECTS: usize = 0x1f1;
    pub const SYSSIZE: usize = 0x1f4;
    pub const VID_MODE: usize = 0x1fa;
    pub const BOOT_FLAG: usize = 0x1fe;
    pub const JUMP: usize = 0x200;
    pub const HEADER: usize = 0x202;
    pub const VERSION: usize = 0x206;
    pub const LOADFLAGS: usize = 0x211;
    pub const CODE32_START: usize = 0x214;
    pub const INITRD_ADDR_MAX: usize = 0x22c;
    pub const KERNEL_ALIGNMENT: usize = 0x230;
    pub const RELOCATABLE_KERNEL: usize = 0x234;
    pub const XLOADFLAGS: usize = 0x236;
    pub const CMDLINE_SIZE: usize = 0x238;
    pub const PREF_ADDRESS: usize = 0x258;
    pub const INIT_SIZE: usize = 0x260;
}

pub const BOOT_PROTOCOL_VERSION: u16 = 0x020f;
pub const LOADED_HIGH: u8 = 0x01;

pub struct Fields {
    pub setup_area_size: usize,
    /// Bytes after the setup area (what loaders copy to code32_start).
    pub protected_mode_size: usize,
    /// Memory the payload needs from KERNEL_PHYS, .bss included.
    pub init_size: u64,
}

fn put_u16(image: &mut [u8], at: usize, value: u16) {
    image[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

fn put_u32(image: &mut [u8], at: usize, value: u32) {
    image[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

pub fn write(image: &mut [u8], fields: &Fields) {
    use offset::*;
    image[SETUP_SECTS] = (fields.setup_area_size / 512 - 1) as u8;
    put_u32(image, SYSSIZE, fields.protected_mode_size.div_ceil(16) as u32);
    put_u16(image, VID_MODE, 0xffff); // "normal"
    put_u16(image, BOOT_FLAG, 0xaa55);
    // Short jump from 0x200 over the header to the setup code at 0x26c.
    image[JUMP] = 0xeb;
    image[JUMP + 1] = (SETUP_CODE_OFFSET - (JUMP + 2)) as u8;
    image[HEADER..HEADER + 4].copy_from_slice(b"HdrS");
    put_u16(image, VERSION, BOOT_PROTOCOL_VERSION);
    image[LOADFLAGS] = LOADED_HIGH;
    put_u32(image, CODE32_START, LEGACY_LOAD_ADDR);
    put_u32(image, INITRD_ADDR_MAX, 0x7fff_ffff);
    put_u32(image, KERNEL_ALIGNMENT, 0x20_0000);
    image[RELOCATABLE_KERNEL] = 0; // the kernel moves itself to pref_address
    put_u16(image, XLOADFLAGS, 0);
    put_u32(image, CMDLINE_SIZE, CMDLINE_MAX);
    image[PREF_ADDRESS..PREF_ADDRESS + 8].copy_from_slice(&KERNEL_PHYS.to_le_bytes());
    // init_size counts from the load address; we need room up to the end
    // of the payload at KERNEL_PHYS when loaded at 1 MiB and moved up.
    let init_size = (KERNEL_PHYS - u64::from(LEGACY_LOAD_ADDR)) + fields.init_size;
    put_u32(image, INIT_SIZE, u32::try_from(init_size).unwrap_or(u32::MAX));
}
