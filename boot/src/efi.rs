//! The EFI stub: runs as a UEFI application (OVMF, TDVF, SNP OVMF), collects
//! the command line, initrd, ACPI RSDP and memory map through boot services,
//! leaves boot services and hands off like the legacy path.
//!
//! The firmware is trusted here only as far as the memory map and the tables
//! it points to go: sizes it returns are bounded before use.

use core::ffi::c_void;
use core::ptr;

use uefi_raw::protocol::device_path::DevicePathProtocol;
use uefi_raw::protocol::loaded_image::LoadedImageProtocol;
use uefi_raw::protocol::media::LoadFile2Protocol;
use uefi_raw::table::boot::{AllocateType, BootServices, MemoryDescriptor, MemoryType};
use uefi_raw::table::configuration::ConfigurationTable;
use uefi_raw::table::system::SystemTable;
use uefi_raw::{guid, Boolean, Guid, Handle, Status};

use crate::info::{BootInfo, Firmware, RegionKind};

/// LINUX_EFI_INITRD_MEDIA_GUID: the vendor media device path under which
/// OVMF (QemuKernelLoaderFsDxe) and other loaders publish the initrd through
/// EFI_LOAD_FILE2_PROTOCOL, as Linux's EFI stub expects.
const LINUX_EFI_INITRD_MEDIA_GUID: Guid = guid!("5568e427-68fc-4f3d-ac74-ca555231cc68");
const ACPI_20_TABLE_GUID: Guid = guid!("8868e871-e4f1-11d3-bc22-0080c73c8881");
const ACPI_10_TABLE_GUID: Guid = guid!("eb9d2d30-2d88-11d3-9a16-0090273fc14d");

/// Room for the final memory map (plenty: descriptors are ~48 bytes).
const MEMORY_MAP_BYTES: usize = 64 * 1024;

#[repr(C, align(8))]
struct MemoryMapBuffer([u8; MEMORY_MAP_BYTES]);
static mut MEMORY_MAP: MemoryMapBuffer = MemoryMapBuffer([0; MEMORY_MAP_BYTES]);

/// The initrd vendor media device path followed by the end node.
#[repr(C, packed)]
struct InitrdDevicePath {
    vendor_type: u8,
    vendor_subtype: u8,
    vendor_length: [u8; 2],
    vendor_guid: Guid,
    end_type: u8,
    end_subtype: u8,
    end_length: [u8; 2],
}

static INITRD_DEVICE_PATH: InitrdDevicePath = InitrdDevicePath {
    vendor_type: 4,    // MEDIA_DEVICE_PATH
    vendor_subtype: 3, // MEDIA_VENDOR_DP
    vendor_length: [20, 0],
    vendor_guid: LINUX_EFI_INITRD_MEDIA_GUID,
    end_type: 0x7f,
    end_subtype: 0xff,
    end_length: [4, 0],
};

/// From `head.s`, with the payload at `phys_base`, on the boot stack with early_pml4 (UEFI's lower half +
/// our kernel mapping) loaded. Returns only on failure, with the EFI status
/// the firmware gets back from StartImage.
#[no_mangle]
extern "C" fn umbra_boot_efi_main(image: Handle, system_table: *const SystemTable, phys_base: u64) -> Status {
    // SAFETY: UEFI passed us a valid system table and boot services are
    // still running; we are the only code running (single CPU, TPL app).
    let st = unsafe { &*system_table };
    // SAFETY: boot_services is valid until ExitBootServices.
    let bs = unsafe { &*st.boot_services };

    let mut info = BootInfo::new(Firmware::Uefi);
    info.kernel = crate::entry::kernel_extent(phys_base);
    // SAFETY: `image` is our image handle and boot services are live.
    unsafe { read_load_options(bs, image, &mut info) };
    // SAFETY: the configuration table pointer/count come from the system table.
    info.rsdp = unsafe { find_rsdp(st) };
    // SAFETY: boot services are live.
    match unsafe { load_initrd(bs) } {
        Ok(range) => info.initrd = range,
        Err(_) => info.warn("EFI: the initrd could not be loaded through LoadFile2"),
    }

    // SAFETY: boot services are live; MEMORY_MAP is only touched here.
    let (map_len, desc_size) = match unsafe { exit_boot_services(bs, image) } {
        Ok(sizes) => sizes,
        Err(status) => return status,
    };
    // From here on: no firmware calls, interrupts off.
    // SAFETY: clearing IF is always allowed in ring 0.
    unsafe { core::arch::asm!("cli") };
    crate::entry::load_boot_gdt();

    // SAFETY: boot services are gone, nothing else writes MEMORY_MAP.
    let map: &[u8] = unsafe { &(&(*ptr::addr_of!(MEMORY_MAP)).0)[..map_len] };
    add_memory_map(map, desc_size, &mut info);
    crate::entry::hand_off(info)
}

/// The command line: LoadedImage.LoadOptions, UCS-2.
///
/// # Safety
/// Boot services live, `image` is our image handle.
unsafe fn read_load_options(bs: &BootServices, image: Handle, info: &mut BootInfo) {
    let mut loaded: *mut c_void = ptr::null_mut();
    // SAFETY: valid arguments for HandleProtocol; `loaded` is an out pointer.
    let status = unsafe { (bs.handle_protocol)(image, &LoadedImageProtocol::GUID, &mut loaded) };
    if status != Status::SUCCESS || loaded.is_null() {
        info.warn("EFI: no LoadedImage protocol, no command line");
        return;
    }
    // SAFETY: the firmware returned a LoadedImage protocol instance.
    let loaded = unsafe { &*(loaded as *const LoadedImageProtocol) };
    let units = (loaded.load_options_size as usize / 2).min(crate::layout::CMDLINE_MAX);
    if loaded.load_options.is_null() || units == 0 {
        return;
    }
    let options = loaded.load_options as *const u16;
    // SAFETY: LoadOptions holds load_options_size bytes; we read at most
    // that many UCS-2 units (bounded above).
    info.set_cmdline((0..units).map(|i| unsafe { options.add(i).read_unaligned() }).map(|unit| {
        if unit < 0x80 {
            unit as u8
        } else {
            b'?'
        }
    }));
}

/// The ACPI RSDP from the EFI configuration table.
///
/// # Safety
/// `st` is the live system table.
unsafe fn find_rsdp(st: &SystemTable) -> Option<u64> {
    if st.configuration_table.is_null() {
        return None;
    }
    // SAFETY: the firmware's table has number_of_configuration_table_entries entries.
    let tables: &[ConfigurationTable] = unsafe {
        core::slice::from_raw_parts(st.configuration_table, st.number_of_configuration_table_entries)
    };
    let find = |wanted: &Guid| tables.iter().find(|t| t.vendor_guid == *wanted).map(|t| t.vendor_table as u64);
    find(&ACPI_20_TABLE_GUID).or_else(|| find(&ACPI_10_TABLE_GUID))
}

/// Load the initrd the Linux way: LoadFile2 on LINUX_EFI_INITRD_MEDIA_GUID.
/// `Ok(None)` when the loader offers none.
///
/// # Safety
/// Boot services live.
unsafe fn load_initrd(bs: &BootServices) -> Result<Option<crate::PhysRange>, Status> {
    let mut path = ptr::addr_of!(INITRD_DEVICE_PATH) as *const DevicePathProtocol;
    let mut handle: Handle = ptr::null_mut();
    // SAFETY: `path` points at a well-formed device path ending in an end node.
    let status = unsafe { (bs.locate_device_path)(&LoadFile2Protocol::GUID, &mut path, &mut handle) };
    if status != Status::SUCCESS {
        return Ok(None);
    }
    // Only an exact match counts: LocateDevicePath leaves `path` at the
    // unmatched rest, which must be the end node. LoadFile2 is then given
    // that rest (the loader's LoadFile2 rejects anything else).
    // SAFETY: `path` points into INITRD_DEVICE_PATH, at a node header.
    if unsafe { (*path).major_type.0 } != 0x7f {
        return Ok(None);
    }
    let mut proto: *mut c_void = ptr::null_mut();
    // SAFETY: `handle` came from LocateDevicePath.
    let status = unsafe { (bs.handle_protocol)(handle, &LoadFile2Protocol::GUID, &mut proto) };
    if status != Status::SUCCESS || proto.is_null() {
        return Err(status);
    }
    let load_file2 = proto as *mut LoadFile2Protocol;
    let device_path = path;
    let mut size = 0usize;
    // SAFETY: size query: a null buffer with size 0 asks for the size.
    let status = unsafe {
        ((*load_file2).load_file)(load_file2, device_path, Boolean::FALSE, &mut size, ptr::null_mut())
    };
    if status != Status::BUFFER_TOO_SMALL || size == 0 {
        return if size == 0 { Ok(None) } else { Err(status) };
    }
    let pages = size.div_ceil(4096);
    // Below 4 GiB, where the kernel's early identity map reaches.
    let mut addr: u64 = 0xffff_ffff;
    // SAFETY: plain page allocation; `addr` is an in/out pointer.
    let status = unsafe { (bs.allocate_pages)(AllocateType::MAX_ADDRESS, MemoryType::LOADER_DATA, pages, &mut addr) };
    if status != Status::SUCCESS {
        return Err(status);
    }
    let mut loaded_size = size;
    // SAFETY: `addr` has `pages` pages of our own, at least `size` bytes.
    let status = unsafe {
        ((*load_file2).load_file)(load_file2, device_path, Boolean::FALSE, &mut loaded_size, addr as *mut c_void)
    };
    if status != Status::SUCCESS || loaded_size > size {
        return Err(status);
    }
    Ok(crate::PhysRange::from_start_len(addr, loaded_size as u64))
}

/// Get the final memory map and leave boot services. Returns the map's
/// length in bytes and the descriptor size.
///
/// # Safety
/// Boot services live; MEMORY_MAP unused elsewhere.
unsafe fn exit_boot_services(bs: &BootServices, image: Handle) -> Result<(usize, usize), Status> {
    // ExitBootServices fails when the map changed since GetMemoryMap; the
    // spec allows to retry with a fresh map.
    for _ in 0..4 {
        let mut size = MEMORY_MAP_BYTES;
        let mut key = 0usize;
        let mut desc_size = 0usize;
        let mut desc_version = 0u32;
        // SAFETY: MEMORY_MAP is ours and MEMORY_MAP_BYTES long.
        let status = unsafe {
            (bs.get_memory_map)(
                &mut size,
                ptr::addr_of_mut!(MEMORY_MAP) as *mut MemoryDescriptor,
                &mut key,
                &mut desc_size,
                &mut desc_version,
            )
        };
        if status != Status::SUCCESS {
            return Err(status);
        }
        if desc_size < core::mem::size_of::<MemoryDescriptor>() || size > MEMORY_MAP_BYTES {
            return Err(Status::UNSUPPORTED);
        }
        // SAFETY: `key` is the current map key.
        let status = unsafe { (bs.exit_boot_services)(image, key) };
        if status == Status::SUCCESS {
            return Ok((size, desc_size));
        }
    }
    Err(Status::ABORTED)
}

fn efi_kind(ty: MemoryType) -> RegionKind {
    match ty {
        MemoryType::CONVENTIONAL => RegionKind::Usable,
        MemoryType::BOOT_SERVICES_CODE
        | MemoryType::BOOT_SERVICES_DATA
        | MemoryType::LOADER_CODE
        | MemoryType::LOADER_DATA => RegionKind::Reclaimable,
        MemoryType::UNACCEPTED => RegionKind::Unaccepted,
        MemoryType::ACPI_RECLAIM => RegionKind::AcpiReclaimable,
        MemoryType::ACPI_NON_VOLATILE => RegionKind::AcpiNvs,
        MemoryType::PERSISTENT_MEMORY => RegionKind::Persistent,
        MemoryType::UNUSABLE => RegionKind::Unusable,
        _ => RegionKind::Reserved,
    }
}

fn add_memory_map(map: &[u8], desc_size: usize, info: &mut BootInfo) {
    for chunk in map.chunks_exact(desc_size) {
        let word = |at: usize| u64::from_le_bytes(chunk[at..at + 8].try_into().unwrap_or([0; 8]));
        let ty = u32::from_le_bytes(chunk[0..4].try_into().unwrap_or([0; 4]));
        let start = word(8);
        let pages = word(24);
        let Some(len) = pages.checked_mul(4096) else {
            info.warn("EFI memory map entry with a page count overflowing: dropped");
            continue;
        };
        info.add_region(start, len, efi_kind(MemoryType(ty)));
    }
}

