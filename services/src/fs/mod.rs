//! The virtual file system.
//!
//! Owns: everything between a path or a file descriptor and the bytes of a
//! file. Filesystems implement [`inode::Inode`] / [`inode::FileSystem`];
//! the VFS adds the dentry cache, mounts, path walking, permission checks
//! and Linux's argument rules on top, and hands the syscall layer open
//! files, fd tables and the exact byte layouts of `stat`, `statx`,
//! `statfs` and `linux_dirent64`.

pub mod attr;
pub mod clock;
pub mod context;
pub mod dentry;
pub mod devfs;
pub mod device;
pub mod dirent;
pub mod fd_table;
pub mod flags;
pub mod initramfs;
pub mod inode;
pub mod mount;
pub mod namespace;
pub mod open;
pub mod open_file;
pub mod path;
pub mod perm;
pub mod ramfs;
pub mod setup;
pub mod stat;
pub mod types;
pub mod walk;

pub use clock::{now, set_clock, Timespec};
pub use context::FsContext;
pub use device::{register_char_device, Device, PollEvents};
pub use fd_table::FdTable;
pub use inode::{FileSystem, Inode};
pub use mount::{Mount, MountFlags};
pub use open_file::OpenFile;
pub use path::Path;
pub use perm::Credentials;
#[cfg(test)]
mod tests;
