//! Value types shared by the whole VFS: inode kinds, device numbers,
//! metadata, attribute changes and the Linux limits and mode bits.
//!
//! Owns: the Linux numbers for `S_IF*`, `DT_*`, `NAME_MAX`, `PATH_MAX`,
//! `MAXSYMLINKS` and the `dev_t` encoding. No behaviour beyond conversions.

use super::clock::Timespec;

/// Longest path component (bytes, without NUL).
pub const NAME_MAX: usize = 255;
/// Longest path including its NUL: a path of 4096 or more bytes is
/// `ENAMETOOLONG`.
pub const PATH_MAX: usize = 4096;
/// Symlinks followed in one path walk before `ELOOP`.
pub const MAXSYMLINKS: u32 = 40;

pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;
pub const S_ISVTX: u32 = 0o1000;
pub const S_IXGRP: u32 = 0o0010;
/// Permission bits plus setuid/setgid/sticky.
pub const MODE_PERM_MASK: u32 = 0o7777;

/// What an inode is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InodeType {
    File,
    Dir,
    Symlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

impl InodeType {
    /// The `S_IFMT` bits.
    pub const fn mode_bits(self) -> u32 {
        match self {
            InodeType::File => S_IFREG,
            InodeType::Dir => S_IFDIR,
            InodeType::Symlink => S_IFLNK,
            InodeType::CharDevice => S_IFCHR,
            InodeType::BlockDevice => S_IFBLK,
            InodeType::Fifo => S_IFIFO,
            InodeType::Socket => S_IFSOCK,
        }
    }

    /// From the `S_IFMT` bits of a mode; `None` for an unknown type.
    pub const fn from_mode(mode: u32) -> Option<Self> {
        Some(match mode & S_IFMT {
            S_IFREG => InodeType::File,
            S_IFDIR => InodeType::Dir,
            S_IFLNK => InodeType::Symlink,
            S_IFCHR => InodeType::CharDevice,
            S_IFBLK => InodeType::BlockDevice,
            S_IFIFO => InodeType::Fifo,
            S_IFSOCK => InodeType::Socket,
            _ => return None,
        })
    }

    /// The `d_type` of a directory entry (`DT_*`).
    pub const fn dirent_type(self) -> u8 {
        match self {
            InodeType::Fifo => 1,
            InodeType::CharDevice => 2,
            InodeType::Dir => 4,
            InodeType::BlockDevice => 6,
            InodeType::File => 8,
            InodeType::Symlink => 10,
            InodeType::Socket => 12,
        }
    }

    pub const fn is_dir(self) -> bool {
        matches!(self, InodeType::Dir)
    }
}

/// A device number (`dev_t`) as major and minor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId {
    pub major: u32,
    pub minor: u32,
}

impl DeviceId {
    pub const NONE: DeviceId = DeviceId { major: 0, minor: 0 };

    pub const fn new(major: u32, minor: u32) -> Self {
        DeviceId { major, minor }
    }

    /// The 64-bit `dev_t` user space sees in `st_dev`/`st_rdev` (glibc's
    /// `makedev`; equals the kernel's `new_encode_dev` for majors < 4096
    /// and minors < 2^20).
    pub const fn encode(self) -> u64 {
        let (major, minor) = (self.major as u64, self.minor as u64);
        ((major & 0xffff_f000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0xff)
    }

    /// From the `dev` argument of `mknod` (the kernel's `new_decode_dev`
    /// of a 32-bit value; higher bits are ignored as the syscall takes an
    /// `unsigned int`).
    pub const fn decode(dev: u64) -> Self {
        let dev = dev as u32;
        DeviceId { major: (dev & 0xfff00) >> 8, minor: (dev & 0xff) | ((dev >> 12) & 0xfff00) }
    }
}

/// Everything `stat` reports about an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// The filesystem's device number (`st_dev`).
    pub dev: DeviceId,
    pub ino: u64,
    pub kind: InodeType,
    /// Permission bits plus setuid/setgid/sticky (`mode & 0o7777`).
    pub perm: u32,
    pub nlink: u64,
    pub uid: u32,
    pub gid: u32,
    /// For device nodes (`st_rdev`).
    pub rdev: DeviceId,
    pub size: u64,
    pub blksize: u32,
    /// 512-byte blocks allocated.
    pub blocks: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
    /// Creation time (`statx` `stx_btime`).
    pub btime: Timespec,
}

impl Metadata {
    /// `st_mode`: type bits plus permission bits.
    pub const fn mode(&self) -> u32 {
        self.kind.mode_bits() | (self.perm & MODE_PERM_MASK)
    }
}

/// A change of attributes (Linux `struct iattr`): every `Some` field is set.
/// The VFS has already checked permissions; the inode only applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetAttr {
    /// Permission bits (`& 0o7777`).
    pub perm: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub atime: Option<Timespec>,
    pub mtime: Option<Timespec>,
    pub ctime: Option<Timespec>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_numbers_encode_like_linux() {
        assert_eq!(DeviceId::new(1, 3).encode(), 0x103);
        assert_eq!(DeviceId::new(4, 64).encode(), 0x440);
        assert_eq!(DeviceId::new(0, 0x123).encode(), 0x100023);
        assert_eq!(DeviceId::decode(0x103), DeviceId::new(1, 3));
        assert_eq!(DeviceId::decode(0x100023), DeviceId::new(0, 0x123));
        for (major, minor) in [(5, 1), (259, 7), (0, 1 << 19), (4095, 255)] {
            let id = DeviceId::new(major, minor);
            assert_eq!(DeviceId::decode(id.encode()), id);
        }
    }

    #[test]
    fn mode_and_types() {
        for kind in [
            InodeType::File,
            InodeType::Dir,
            InodeType::Symlink,
            InodeType::CharDevice,
            InodeType::BlockDevice,
            InodeType::Fifo,
            InodeType::Socket,
        ] {
            assert_eq!(InodeType::from_mode(kind.mode_bits() | 0o644), Some(kind));
        }
        assert_eq!(InodeType::from_mode(0o644), None);
        assert_eq!(InodeType::Dir.dirent_type(), 4);
        assert_eq!(InodeType::File.dirent_type(), 8);
        assert_eq!(InodeType::Symlink.dirent_type(), 10);
    }
}
