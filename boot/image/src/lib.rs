//! Builds Umbra's boot image: one file that is both
//!
//! - a Linux **bzImage** (boot protocol 2.15): setup sectors with the setup
//!   header and our real-mode entry, then the protected-mode payload, which
//!   legacy loaders (QEMU `-kernel` under SeaBIOS, GRUB) put at 1 MiB and
//!   enter at `code32_start`; and
//! - a **PE/COFF EFI application**: the boot sector begins with "MZ" and a PE
//!   header whose entry point is `efi_pe_entry` in the payload, so OVMF, TDVF
//!   and SNP OVMF (which LoadImage the kernel) start it as Linux's EFI stub.
//!
//! File layout (all offsets also PE RVAs: SectionAlignment = FileAlignment):
//! ```text
//! 0x0000  MZ header, PE header, section table        (this crate)
//! 0x01f1  setup header                               (this crate)
//! 0x026c  real-mode setup code  (.setup of the ELF)  (boot/src/entry/setup16.s)
//! 0x1000  zero page, 0x2000 real-mode stack          (zeros)
//! 0x3000  payload: the kernel's loadable bytes from KERNEL_PHYS
//! ...     .reloc: an empty base-relocation block (the stub is position independent)
//! ```

mod elf;
mod pe;
mod setup_header;

pub use elf::KernelElf;

/// Layout constants shared with the kernel (boot/src/layout.rs,
/// kernel/linker.ld). Pinned by tests there and here.
pub mod layout {
    pub const KERNEL_PHYS: u64 = 0x100_0000;
    pub const SETUP_AREA_SIZE: usize = 0x3000;
    pub const SETUP_CODE_OFFSET: usize = 0x26c;
    pub const SETUP_CODE_LIMIT: usize = 0x1000;
    pub const LEGACY_LOAD_ADDR: u32 = 0x10_0000;
    pub const CMDLINE_MAX: u32 = 4095;
    pub const FILE_ALIGNMENT: usize = 0x200;
}

/// Why an image could not be built.
#[derive(Debug)]
pub enum Error {
    Elf(String),
    Layout(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Error::Elf(why) => write!(f, "kernel ELF: {why}"),
            Error::Layout(why) => write!(f, "image layout: {why}"),
        }
    }
}

impl std::error::Error for Error {}

/// The pieces of the image, taken from the kernel ELF.
#[derive(Clone, Debug)]
pub struct ImageParts {
    /// Real-mode code placed at SETUP_CODE_OFFSET.
    pub setup_code: Vec<u8>,
    /// The payload's file bytes, starting at KERNEL_PHYS.
    pub payload: Vec<u8>,
    /// Payload size in memory, .bss included (hdr.init_size).
    pub payload_mem_size: u64,
    /// Offset of `efi_pe_entry` in the payload.
    pub efi_entry_offset: u64,
}

/// Build the bzImage from the kernel ELF's bytes.
pub fn build_bzimage(kernel_elf: &[u8]) -> Result<Vec<u8>, Error> {
    let parts = KernelElf::parse(kernel_elf)?.image_parts()?;
    assemble(&parts)
}

fn align_up(value: usize, align: usize) -> usize {
    value.div_ceil(align) * align
}

/// Lay out the image from its parts.
pub fn assemble(parts: &ImageParts) -> Result<Vec<u8>, Error> {
    use layout::*;
    if SETUP_CODE_OFFSET + parts.setup_code.len() > SETUP_CODE_LIMIT {
        return Err(Error::Layout(format!(
            "real-mode setup code is {} bytes, room for {}",
            parts.setup_code.len(),
            SETUP_CODE_LIMIT - SETUP_CODE_OFFSET
        )));
    }
    if parts.efi_entry_offset >= parts.payload.len() as u64 {
        return Err(Error::Layout("efi_pe_entry lies outside the payload".into()));
    }
    let payload_offset = SETUP_AREA_SIZE;
    let payload_file_size = align_up(parts.payload.len(), FILE_ALIGNMENT);
    let reloc_offset = payload_offset + payload_file_size;
    let total = reloc_offset + FILE_ALIGNMENT;
    if total > u32::MAX as usize {
        return Err(Error::Layout("image larger than 4 GiB".into()));
    }

    let mut image = vec![0u8; total];
    image[SETUP_CODE_OFFSET..SETUP_CODE_OFFSET + parts.setup_code.len()].copy_from_slice(&parts.setup_code);
    image[payload_offset..payload_offset + parts.payload.len()].copy_from_slice(&parts.payload);

    setup_header::write(
        &mut image,
        &setup_header::Fields {
            setup_area_size: SETUP_AREA_SIZE,
            protected_mode_size: total - SETUP_AREA_SIZE,
            init_size: parts.payload_mem_size,
        },
    );
    pe::write(
        &mut image,
        &pe::Layout {
            setup_area_size: SETUP_AREA_SIZE,
            text_offset: payload_offset,
            text_size: payload_file_size,
            entry_point: payload_offset + parts.efi_entry_offset as usize,
            reloc_offset,
        },
    );
    Ok(image)
}

#[cfg(test)]
mod tests;
