//! Umbra's services: the Linux personality, in safe Rust only.
//!
//! Owns: everything Linux user space sees (processes, files, devices,
//! syscalls), built on the framework's safe API.
//! Must never: use `unsafe` (forbidden below), or trust a user-space or
//! host-supplied number as an index, length or address without a check.
//!
//! So far: the initramfs (cpio newc) reader, the crate-wide error type, the
//! virtual file system ([`fs`]: VFS core, ramfs/tmpfs, devfs, open files, fd
//! tables, initramfs unpacking), exec-time process logic ([`process`]: ELF
//! load plans, `#!` scripts, the initial stack, VMA/brk bookkeeping,
//! /proc/<pid>/maps), and the x86-64 syscall numbers.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod error;
pub mod fs;
pub mod initramfs;
pub mod process;
pub mod random;
pub mod sync;
pub mod syscall_numbers;
#[cfg(target_os = "none")]
pub mod syscall;
pub mod tty;
#[cfg(target_os = "none")]
pub mod uaccess;
#[cfg(target_os = "none")]
pub mod pipe;
