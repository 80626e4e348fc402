//! The virtual file system.
//!
//! Owns: everything between a path or a file descriptor and the bytes of a
//! file. Filesystems implement [`inode::Inode`] / [`inode::FileSystem`];
//! the VFS adds the dentry cache, mounts, path walking, permission checks
//! and Linux's argument rules on top, and hands the syscall layer open
//! files, fd tables and the exact byte layouts of `stat`, `statx`,
//! `statfs` and `linux_dirent64`.

pub mod clock;
pub mod device;
pub mod inode;
pub mod perm;
pub mod ramfs;
pub mod types;

pub use clock::{now, set_clock, Timespec};
