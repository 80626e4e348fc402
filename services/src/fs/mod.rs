//! The virtual file system.
//!
//! Owns: everything between a path or a file descriptor and the bytes of a
//! file. Filesystems implement [`inode::Inode`] / [`inode::FileSystem`];
//! the VFS adds the dentry cache, mounts, path walking, permission checks
//! and Linux's argument rules on top, and hands the syscall layer open
//! files, fd tables and the exact byte layouts of `stat`, `statx`,
//! `statfs` and `linux_dirent64`.
//!
//! How the syscall layer uses it (per process: an [`FsContext`] for root
//! and cwd, an [`FdTable`], [`Credentials`], a umask it applies itself):
//! - `*at` calls turn `dirfd` into `at: Option<&Path>` (`None` for
//!   `AT_FDCWD`, else `fd_table.get(dirfd)?.path()`), then call
//!   [`FsContext::open`], `mkdir`, `mknod`, `symlink`, `link`, `unlink`,
//!   `rmdir`, `rename`, or [`FsContext::lookup`] followed by an
//!   [`attr`] function (`stat_bytes`, `statx_bytes`, `statfs_bytes`,
//!   `access`, `readlink`, `chmod`, `chown`, `truncate`, `set_times`);
//!   `AT_EMPTY_PATH` and the `f*` variants use the open file's path.
//! - fd calls go through [`FdTable`] (`insert`, `get`, `close`, `dup*`,
//!   `fcntl`) to an [`OpenFile`] (`read`, `write`, `pread`, `pwrite`,
//!   `seek`, `getdents64`, `truncate`, `ioctl`, `poll`).
//! - errors are [`crate::error::Error`]s: return `-errno`.
//!
//! Boot: [`setup::boot_tree`] builds `/` from the initramfs with devfs on
//! `/dev`; [`set_clock`] and [`devfs::set_entropy_source`] are set once;
//! drivers register with [`register_char_device`] (the tty driver: 5:0,
//! 5:1, 4:64).

pub mod attr;
#[cfg(target_os = "none")]
pub mod block;
pub mod clock;
pub mod context;
pub mod dentry;
pub mod devfs;
pub mod device;
pub mod dirent;
pub mod fd_table;
pub mod flags;
pub mod fstype;
pub mod initramfs;
pub mod inode;
pub mod mount;
pub mod namespace;
pub mod open;
pub mod open_file;
pub mod path;
pub mod perm;
pub mod procfs;
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
