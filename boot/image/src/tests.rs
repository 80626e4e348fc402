use crate::setup_header::offset;
use crate::*;

fn parts() -> ImageParts {
    let mut payload = vec![0x90u8; 5000];
    payload[0] = 0xfc;
    ImageParts { setup_code: vec![0xfa, 0xfc], payload, payload_mem_size: 0x10_0000, efi_entry_offset: 0x40 }
}

fn u16_at(image: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(image[at..at + 2].try_into().unwrap())
}
fn u32_at(image: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(image[at..at + 4].try_into().unwrap())
}

#[test]
fn setup_header_matches_the_boot_protocol() {
    let image = assemble(&parts()).unwrap();
    assert_eq!(image[offset::SETUP_SECTS], 23, "0x3000 bytes of setup = boot sector + 23 sectors");
    assert_eq!(&image[0x202..0x206], b"HdrS");
    assert_eq!(u16_at(&image, 0x206), 0x020f);
    assert_eq!(u16_at(&image, 0x1fe), 0xaa55);
    assert_eq!(&image[0x200..0x202], &[0xeb, 0x6a], "jump from 0x202 to 0x26c");
    assert_eq!(image[0x211] & 1, 1, "LOADED_HIGH");
    assert_eq!(u32_at(&image, 0x214), 0x10_0000, "code32_start");
    assert_eq!(u32_at(&image, 0x238), 4095, "cmdline_size");
    assert_eq!(u32_at(&image, 0x258), 0x100_0000, "pref_address = 16 MiB");
    assert_eq!(u32_at(&image, 0x260), 0xf0_0000 + 0x10_0000, "init_size covers the move to 16 MiB");
    let protected = image.len() - 0x3000;
    assert_eq!(u32_at(&image, 0x1f4) as usize, protected.div_ceil(16), "syssize");
    assert_eq!(&image[0x26c..0x26e], &[0xfa, 0xfc], "setup code at 0x26c");
    assert_eq!(image[0x3000], 0xfc, "payload right after the setup area");
}

#[test]
fn pe_header_is_an_efi_application() {
    let image = assemble(&parts()).unwrap();
    assert_eq!(&image[0..2], b"MZ");
    let pe = u32_at(&image, 0x3c) as usize;
    assert_eq!(&image[pe..pe + 4], b"PE\0\0");
    assert_eq!(u16_at(&image, pe + 4), 0x8664);
    assert_eq!(u16_at(&image, pe + 6), 3, "sections");
    let optional = pe + 24;
    assert_eq!(u16_at(&image, optional), 0x20b, "PE32+");
    assert_eq!(u32_at(&image, optional + 16), 0x3000 + 0x40, "entry = efi_pe_entry");
    assert_eq!(u32_at(&image, optional + 32), 0x200, "SectionAlignment");
    assert_eq!(u32_at(&image, optional + 36), 0x200, "FileAlignment");
    assert_eq!(u32_at(&image, optional + 56) as usize, image.len(), "SizeOfImage");
    assert_eq!(u16_at(&image, optional + 68), 10, "EFI application");
    let sections = optional + 240;
    assert_eq!(&image[sections + 40..sections + 45], b".text");
    assert_eq!(u32_at(&image, sections + 40 + 12), 0x3000, ".text RVA");
    assert!(sections + 3 * 40 <= 0x1f1, "section table ends before the setup header");
    let reloc_rva = u32_at(&image, optional + 112 + 5 * 8) as usize;
    assert_eq!(u32_at(&image, reloc_rva + 4), 12, "one empty relocation block");
    assert_eq!(image.len() % 0x200, 0);
}

#[test]
fn oversized_setup_code_is_refused() {
    let mut parts = parts();
    parts.setup_code = vec![0; 0x1000];
    assert!(matches!(assemble(&parts), Err(Error::Layout(_))));
}

#[test]
fn entry_outside_payload_is_refused() {
    let mut parts = parts();
    parts.efi_entry_offset = 1 << 20;
    assert!(matches!(assemble(&parts), Err(Error::Layout(_))));
}

#[test]
fn garbage_is_not_an_elf() {
    assert!(matches!(build_bzimage(b"not an elf"), Err(Error::Elf(_))));
}
