//! The PE/COFF view of the image (PE32+, EFI application), written into the
//! boot sector in front of the setup header, the way Linux's EFI stub does.

pub struct Layout {
    pub setup_area_size: usize,
    pub text_offset: usize,
    pub text_size: usize,
    pub entry_point: usize,
    pub reloc_offset: usize,
}

pub const PE_HEADER_OFFSET: usize = 0x40;
const MACHINE_X86_64: u16 = 0x8664;
const OPTIONAL_HEADER_SIZE: u16 = 240; // PE32+ with 16 data directories
const PE32_PLUS_MAGIC: u16 = 0x20b;
const SUBSYSTEM_EFI_APPLICATION: u16 = 10;
const FILE_EXECUTABLE_IMAGE: u16 = 0x0002;
const FILE_LINE_NUMS_STRIPPED: u16 = 0x0004;
const FILE_LARGE_ADDRESS_AWARE: u16 = 0x0020;
const FILE_DEBUG_STRIPPED: u16 = 0x0200;
const SCN_CNT_CODE: u32 = 0x0000_0020;
const SCN_CNT_INITIALIZED_DATA: u32 = 0x0000_0040;
const SCN_MEM_DISCARDABLE: u32 = 0x0200_0000;
const SCN_MEM_EXECUTE: u32 = 0x2000_0000;
const SCN_MEM_READ: u32 = 0x4000_0000;
const RELOC_BLOCK_SIZE: u32 = 12;

struct Writer<'a> {
    image: &'a mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn bytes(&mut self, bytes: &[u8]) {
        self.image[self.at..self.at + bytes.len()].copy_from_slice(bytes);
        self.at += bytes.len();
    }
    fn u16(&mut self, value: u16) {
        self.bytes(&value.to_le_bytes());
    }
    fn u32(&mut self, value: u32) {
        self.bytes(&value.to_le_bytes());
    }
    fn u64(&mut self, value: u64) {
        self.bytes(&value.to_le_bytes());
    }
    fn section(&mut self, name: &[u8; 8], offset: usize, size: usize, characteristics: u32) {
        self.bytes(name);
        self.u32(size as u32); // VirtualSize
        self.u32(offset as u32); // VirtualAddress (= file offset)
        self.u32(size as u32); // SizeOfRawData
        self.u32(offset as u32); // PointerToRawData
        self.u32(0); // PointerToRelocations
        self.u32(0); // PointerToLinenumbers
        self.u16(0);
        self.u16(0);
        self.u32(characteristics);
    }
}

pub fn write(image: &mut [u8], layout: &Layout) {
    let alignment = crate::layout::FILE_ALIGNMENT as u32;
    let image_size = (layout.reloc_offset + crate::layout::FILE_ALIGNMENT) as u32;
    image[0..2].copy_from_slice(b"MZ");
    image[0x3c..0x40].copy_from_slice(&(PE_HEADER_OFFSET as u32).to_le_bytes());

    // An empty base-relocation block: PageRVA 0, block size 12, one
    // IMAGE_REL_BASED_ABSOLUTE (padding) entry. Some loaders insist on a
    // .reloc section; there is nothing to relocate.
    let reloc = layout.reloc_offset;
    image[reloc..reloc + 4].copy_from_slice(&0u32.to_le_bytes());
    image[reloc + 4..reloc + 8].copy_from_slice(&RELOC_BLOCK_SIZE.to_le_bytes());

    let mut w = Writer { image, at: PE_HEADER_OFFSET };
    w.bytes(b"PE\0\0");
    // COFF file header
    w.u16(MACHINE_X86_64);
    w.u16(3); // sections: .setup .text .reloc
    w.u32(0); // TimeDateStamp: 0 keeps builds reproducible
    w.u32(0);
    w.u32(0);
    w.u16(OPTIONAL_HEADER_SIZE);
    w.u16(FILE_EXECUTABLE_IMAGE | FILE_LINE_NUMS_STRIPPED | FILE_LARGE_ADDRESS_AWARE | FILE_DEBUG_STRIPPED);
    // Optional header, PE32+
    let optional_start = w.at;
    w.u16(PE32_PLUS_MAGIC);
    w.bytes(&[0, 1]); // linker version
    w.u32(layout.text_size as u32); // SizeOfCode
    w.u32((layout.setup_area_size - 0x200 + crate::layout::FILE_ALIGNMENT) as u32); // SizeOfInitializedData
    w.u32(0); // SizeOfUninitializedData
    w.u32(layout.entry_point as u32); // AddressOfEntryPoint
    w.u32(layout.text_offset as u32); // BaseOfCode
    w.u64(0); // ImageBase: the stub is position independent
    w.u32(alignment); // SectionAlignment
    w.u32(alignment); // FileAlignment
    w.u16(0); // OS version
    w.u16(0);
    w.u16(0); // image version
    w.u16(0);
    w.u16(0); // subsystem version
    w.u16(0);
    w.u32(0); // Win32VersionValue
    w.u32(image_size); // SizeOfImage
    w.u32(0x200); // SizeOfHeaders
    w.u32(0); // CheckSum
    w.u16(SUBSYSTEM_EFI_APPLICATION);
    w.u16(0); // DllCharacteristics
    w.u64(0); // stack reserve/commit, heap reserve/commit: unused by UEFI
    w.u64(0);
    w.u64(0);
    w.u64(0);
    w.u32(0); // LoaderFlags
    w.u32(16); // NumberOfRvaAndSizes
    for index in 0..16 {
        if index == 5 {
            // Base relocation table
            w.u32(reloc as u32);
            w.u32(RELOC_BLOCK_SIZE);
        } else {
            w.u64(0);
        }
    }
    debug_assert_eq!(w.at - optional_start, OPTIONAL_HEADER_SIZE as usize);
    w.section(b".setup\0\0", 0x200, layout.setup_area_size - 0x200, SCN_CNT_INITIALIZED_DATA | SCN_MEM_READ);
    w.section(b".text\0\0\0", layout.text_offset, layout.text_size, SCN_CNT_CODE | SCN_MEM_EXECUTE | SCN_MEM_READ);
    w.section(
        b".reloc\0\0",
        layout.reloc_offset,
        crate::layout::FILE_ALIGNMENT,
        SCN_CNT_INITIALIZED_DATA | SCN_MEM_DISCARDABLE | SCN_MEM_READ,
    );
    assert!(w.at <= crate::setup_header::offset::SETUP_SECTS, "PE header runs into the setup header");
}
