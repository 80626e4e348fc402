//! Reading the pieces of the boot image out of the linked kernel ELF.

use object::elf::PT_LOAD;
use object::read::elf::{ElfFile64, ProgramHeader};
use object::{Endianness, Object, ObjectSection, ObjectSymbol};

use crate::layout::KERNEL_PHYS;
use crate::{Error, ImageParts};

/// Largest payload we accept (the early page tables map 1 GiB of kernel).
const PAYLOAD_MAX: u64 = 512 << 20;

pub struct KernelElf<'a> {
    file: ElfFile64<'a, Endianness>,
    bytes: &'a [u8],
}

impl<'a> KernelElf<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let file = ElfFile64::parse(bytes).map_err(|e| Error::Elf(e.to_string()))?;
        Ok(Self { file, bytes })
    }

    fn symbol_address(&self, name: &str) -> Result<u64, Error> {
        self.file
            .symbols()
            .find(|s| s.name() == Ok(name))
            .map(|s| s.address())
            .ok_or_else(|| Error::Elf(format!("no symbol {name}")))
    }

    pub fn image_parts(&self) -> Result<ImageParts, Error> {
        let setup = self
            .file
            .section_by_name(".setup")
            .ok_or_else(|| Error::Elf("no .setup section (real-mode code)".into()))?;
        if setup.address() != crate::layout::SETUP_CODE_OFFSET as u64 {
            return Err(Error::Elf(format!(".setup is at {:#x}, expected 0x26c", setup.address())));
        }
        let setup_code = setup.data().map_err(|e| Error::Elf(e.to_string()))?.to_vec();

        // The payload: every PT_LOAD at or above KERNEL_PHYS, by physical
        // (load) address.
        let endian = self.file.endian();
        let mut file_end = KERNEL_PHYS;
        let mut mem_end = KERNEL_PHYS;
        let mut segments = Vec::new();
        for header in self.file.elf_program_headers() {
            if header.p_type(endian) != PT_LOAD {
                continue;
            }
            let paddr = header.p_paddr(endian);
            if paddr < KERNEL_PHYS {
                continue; // .setup
            }
            let filesz = header.p_filesz(endian);
            let memsz = header.p_memsz(endian);
            let data = header.data(endian, self.bytes).map_err(|_| Error::Elf("segment data out of file".into()))?;
            file_end = file_end.max(paddr + filesz);
            mem_end = mem_end.max(paddr + memsz);
            segments.push((paddr, data));
        }
        if mem_end - KERNEL_PHYS > PAYLOAD_MAX {
            return Err(Error::Layout(format!("payload of {} MiB is too large", (mem_end - KERNEL_PHYS) >> 20)));
        }
        let mut payload = vec![0u8; (file_end - KERNEL_PHYS) as usize];
        for (paddr, data) in segments {
            let at = (paddr - KERNEL_PHYS) as usize;
            payload[at..at + data.len()].copy_from_slice(data);
        }

        let entry = self.symbol_address("efi_pe_entry")?;
        let startup_32 = self.symbol_address("startup_32")?;
        if startup_32 != KERNEL_PHYS {
            return Err(Error::Elf(format!("startup_32 at {startup_32:#x}, must be the payload's first byte")));
        }
        Ok(ImageParts {
            setup_code,
            payload,
            payload_mem_size: mem_end - KERNEL_PHYS,
            efi_entry_offset: entry
                .checked_sub(KERNEL_PHYS)
                .ok_or_else(|| Error::Elf("efi_pe_entry below the payload".into()))?,
        })
    }
}
