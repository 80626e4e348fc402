//! Numbers shared by the boot code, the linker script and the image builder.

/// Where the payload runs (and where Linux x86-64 runs by default).
pub const KERNEL_PHYS: u64 = 0x100_0000;
/// Kernel virtual address = physical + this (the `-mcmodel=kernel` window).
pub const KERNEL_VMA_OFFSET: u64 = 0xffff_ffff_8000_0000;
/// Size of the setup area in the bzImage (boot sector + header + real-mode
/// code + zero page + real-mode stack); see `entry/setup16.s`.
pub const SETUP_AREA_SIZE: usize = 0x3000;
/// File offset where the real-mode setup code starts (end of the header).
pub const SETUP_CODE_OFFSET: usize = 0x26c;
/// End of the room for setup code: the zero page starts here.
pub const SETUP_CODE_LIMIT: usize = 0x1000;
/// Where legacy loaders put the protected-mode payload (hdr.code32_start).
pub const LEGACY_LOAD_ADDR: u32 = 0x10_0000;
/// Longest kernel command line we accept (hdr.cmdline_size).
pub const CMDLINE_MAX: usize = 4095;
