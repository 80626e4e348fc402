//! Umbra's framework: the trusted computing base of the kernel.
//!
//! Owns: everything that touches hardware state (port I/O, and as it grows
//! page tables, descriptor tables, MSRs, MMIO, raw pointers) and exports
//! *safe* abstractions over it, so that `services` and `attestation` are
//! written in safe Rust only. Modelled on Asterinas' OSTD.
//!
//! Must never: hand a raw pointer or an unchecked address to the layers
//! above; know about files, processes or any other service concept.
//!
//! So far: the boot hand-off ([`boot_entry`]), the serial console and
//! logger ([`console`], [`logger`]), power-off with an exit status
//! ([`power`]), the panic handler and in-kernel tests ([`ktest`]), the CPU,
//! trap and time core ([`arch`]: descriptor tables, traps and exception
//! fixups, interrupts, x2APIC, TSC clock, timer, RTC), memory management
//! ([`mm`]: frames, the kernel heap, page tables, user address spaces),
//! tasks ([`task`]) and user mode ([`user`]: entering user code, syscalls,
//! user FPU state, safe user-memory copies).
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

extern crate self as framework;

extern crate alloc;
#[cfg(test)]
extern crate std;

#[cfg(target_os = "none")]
pub mod acpi_tables;
pub mod arch;
pub mod boot_entry;
pub mod console;
pub mod cpu_local;
pub mod klog;
pub mod ktest;
pub mod logger;
pub mod mm;
pub mod pci;
#[cfg(target_os = "none")]
mod panic;
pub mod power;
#[cfg(target_os = "none")]
pub mod smp;
pub mod sync;
#[cfg(target_os = "none")]
pub mod task;
pub mod user;
#[cfg(target_os = "none")]
pub mod virtio;

pub use boot::{BootInfo, Firmware, MemoryRegion, PhysRange, RegionKind};
pub use boot_entry::KernelContext;
pub use ktest_macros::ktest;

/// The framework's version, printed in the banner.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
