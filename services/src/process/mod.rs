//! Processes as Linux user space sees them at exec time: ELF loading,
//! `#!` scripts, the initial stack, and the bookkeeping of a process's
//! address space (VMAs, brk, mmap placement, /proc/<pid>/maps).
//!
//! The pure logic over numbers and byte slices (ELF plans, stack images,
//! VMAs, brk, signals' bookkeeping, limits, wait statuses) builds and is
//! tested on the host. The glue that binds it to the framework (`VmSpace`,
//! tasks, user mode) exists only in the kernel: [`mm`] (address spaces and
//! demand paging), [`process`] (processes, threads, the process table),
//! [`exec`] (loading programs) and [`task`] (the user-task loop, exit,
//! and the first process).

pub mod brk;
pub mod elf;
pub mod error;
pub mod exec_args;
pub mod exec_layout;
pub mod itimer;
pub mod maps;
pub mod mman;
pub mod rlimit;
pub mod shebang;
pub mod signal;
pub mod signal_restart;
pub mod stack;
pub mod vma;
pub mod vm_layout;
pub mod wait_status;

#[cfg(target_os = "none")]
pub mod exec;
#[cfg(target_os = "none")]
pub mod mm;
#[cfg(target_os = "none")]
#[allow(clippy::module_inception)]
pub mod process;
#[cfg(target_os = "none")]
pub mod procfs_source;
#[cfg(target_os = "none")]
pub mod real_timer;
#[cfg(target_os = "none")]
pub mod signal_delivery;
#[cfg(target_os = "none")]
pub mod task;

#[cfg(target_os = "none")]
pub use process::{current_process, current_thread, find_process, Pid, Process, Thread};
#[cfg(target_os = "none")]
pub use task::spawn_init;
