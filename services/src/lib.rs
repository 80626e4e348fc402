//! Umbra's services: the Linux personality, in safe Rust only.
//!
//! Owns: everything Linux user space sees (processes, files, devices,
//! syscalls), built on the framework's safe API.
//! Must never: use `unsafe` (forbidden below), or trust a user-space or
//! host-supplied number as an index, length or address without a check.
//!
//! So far: the initramfs (cpio newc) reader, the crate-wide error type, and
//! the virtual file system ([`fs`]: VFS core, ramfs/tmpfs, devfs, open
//! files, fd tables, initramfs unpacking).
//!
//! Feature `alloc`: the modules that need a heap (`fs`). Linking `alloc`
//! makes the final binary require a `#[global_allocator]`, so the kernel
//! turns the feature on together with its heap. Host unit tests always
//! build them.
#![no_std]
#![forbid(unsafe_code)]

#[cfg(any(test, feature = "alloc"))]
extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod error;
#[cfg(any(test, feature = "alloc"))]
pub mod fs;
pub mod initramfs;
pub mod sync;
