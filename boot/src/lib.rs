//! Umbra's boot layer: how the kernel is entered and what it is told.
//!
//! Owns: the Linux boot protocol entry points (16-bit setup, 32-bit
//! `startup_32`), the EFI stub (`efi_pe_entry` and [`efi`]), the early page
//! tables, and turning what the loader hands over (`struct boot_params` or the
//! EFI memory map, command line, initrd, RSDP) into one [`BootInfo`].
//!
//! Must never: trust the loader's numbers (every length, count and address
//! from boot_params or the firmware is bounded before use, and what had to be
//! dropped is recorded in [`BootInfo::warnings`]); keep running on firmware
//! state after hand-off (interrupts are off, our GDT is loaded).
//!
//! The image format itself (setup header, PE/COFF header) is written on the
//! host by the `umbra-image` crate; the offsets both sides rely on are in
//! [`layout`].
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod info;
pub mod layout;

#[cfg(target_os = "none")]
mod efi;
#[cfg(target_os = "none")]
mod entry;
#[cfg(target_os = "none")]
mod linux_params;
#[cfg(target_os = "none")]
mod phys;

pub use info::{BootInfo, Firmware, MemoryRegion, PhysRange, RegionKind};
