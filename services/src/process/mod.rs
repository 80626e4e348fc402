//! Processes as Linux user space sees them at exec time: ELF loading,
//! `#!` scripts, the initial stack, and the bookkeeping of a process's
//! address space (VMAs, brk, mmap placement, /proc/<pid>/maps).
//!
//! All of it is pure logic over numbers and byte slices: the exec/mm glue
//! binds the results to the framework's `VmSpace` and user-copy API.

pub mod brk;
pub mod elf;
pub mod error;
pub mod exec_args;
pub mod exec_layout;
pub mod maps;
pub mod mman;
pub mod rlimit;
pub mod shebang;
pub mod signal;
pub mod stack;
pub mod vma;
pub mod vm_layout;
pub mod wait_status;
