//! The memory-mapping vocabulary of the Linux ABI: `PROT_*` protections,
//! `MAP_*` / `MREMAP_*` flags with their x86-64 values, and the decoding
//! of the raw `mmap` flag word into a checked request, with the errno
//! Linux's `do_mmap` gives for a bad combination.

use super::error::{return_errno, Result};

pub const PROT_NONE: u32 = 0x0;
pub const PROT_READ: u32 = 0x1;
pub const PROT_WRITE: u32 = 0x2;
pub const PROT_EXEC: u32 = 0x4;
pub const PROT_SEM: u32 = 0x8;
pub const PROT_GROWSDOWN: u32 = 0x0100_0000;
pub const PROT_GROWSUP: u32 = 0x0200_0000;

pub const MAP_SHARED: u32 = 0x01;
pub const MAP_PRIVATE: u32 = 0x02;
pub const MAP_SHARED_VALIDATE: u32 = 0x03;
pub const MAP_TYPE: u32 = 0x0f;
pub const MAP_FIXED: u32 = 0x10;
pub const MAP_ANONYMOUS: u32 = 0x20;
pub const MAP_32BIT: u32 = 0x40;
pub const MAP_GROWSDOWN: u32 = 0x0100;
pub const MAP_DENYWRITE: u32 = 0x0800;
pub const MAP_EXECUTABLE: u32 = 0x1000;
pub const MAP_LOCKED: u32 = 0x2000;
pub const MAP_NORESERVE: u32 = 0x4000;
pub const MAP_POPULATE: u32 = 0x8000;
pub const MAP_NONBLOCK: u32 = 0x10000;
pub const MAP_STACK: u32 = 0x20000;
pub const MAP_HUGETLB: u32 = 0x40000;
pub const MAP_SYNC: u32 = 0x80000;
pub const MAP_FIXED_NOREPLACE: u32 = 0x100000;
pub const MAP_UNINITIALIZED: u32 = 0x4000000;

/// The flags `MAP_SHARED` keeps (others are silently dropped), and the
/// only ones `MAP_SHARED_VALIDATE` accepts besides `MAP_SYNC`
/// (`LEGACY_MAP_MASK` in include/linux/mman.h).
pub const LEGACY_MAP_MASK: u32 = MAP_SHARED
    | MAP_PRIVATE
    | MAP_FIXED
    | MAP_ANONYMOUS
    | MAP_DENYWRITE
    | MAP_EXECUTABLE
    | MAP_UNINITIALIZED
    | MAP_GROWSDOWN
    | MAP_LOCKED
    | MAP_NORESERVE
    | MAP_POPULATE
    | MAP_NONBLOCK
    | MAP_STACK
    | MAP_HUGETLB
    | MAP_32BIT
    | 0x3f << 26; // MAP_HUGE_MASK << MAP_HUGE_SHIFT

pub const MREMAP_MAYMOVE: u32 = 1;
pub const MREMAP_FIXED: u32 = 2;
pub const MREMAP_DONTUNMAP: u32 = 4;

/// Read/write/execute permission of a mapping.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Prot {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
}

impl Prot {
    pub const NONE: Prot = Prot { read: false, write: false, exec: false };
    pub const R: Prot = Prot { read: true, write: false, exec: false };
    pub const RW: Prot = Prot { read: true, write: true, exec: false };
    pub const RX: Prot = Prot { read: true, write: false, exec: true };
    pub const RWX: Prot = Prot { read: true, write: true, exec: true };

    /// From the `PROT_*` bits (other bits ignored, as `mmap` does).
    pub const fn from_bits(prot: u32) -> Prot {
        Prot {
            read: prot & PROT_READ != 0,
            write: prot & PROT_WRITE != 0,
            exec: prot & PROT_EXEC != 0,
        }
    }

    pub const fn bits(self) -> u32 {
        ((self.read as u32) * PROT_READ) | ((self.write as u32) * PROT_WRITE) | ((self.exec as u32) * PROT_EXEC)
    }

    /// Whether every permission of `self` is also in `max`.
    pub const fn within(self, max: Prot) -> bool {
        (!self.read || max.read) && (!self.write || max.write) && (!self.exec || max.exec)
    }
}

/// Whether `prot` is acceptable to `mprotect` (`arch_validate_prot` plus
/// the grows-down/up bits mprotect handles itself).
pub fn mprotect_prot_valid(prot: u32) -> bool {
    prot & !(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP) == 0
        && !(prot & PROT_GROWSDOWN != 0 && prot & PROT_GROWSUP != 0)
}

/// Private or shared, as decided by the `MAP_TYPE` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sharing {
    Private,
    Shared,
}

/// A decoded `mmap` request (the part that does not need the file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MmapRequest {
    pub prot: Prot,
    pub sharing: Sharing,
    pub anonymous: bool,
    /// MAP_FIXED or MAP_FIXED_NOREPLACE: the address is not a hint.
    pub fixed: bool,
    /// MAP_FIXED_NOREPLACE: fail with EEXIST instead of replacing.
    pub noreplace: bool,
    pub populate: bool,
    pub grows_down: bool,
    /// Bytes, already page aligned (never 0).
    pub len: u64,
    /// File offset in bytes (page aligned; 0 for anonymous mappings).
    pub offset: u64,
}

/// Decodes and checks `mmap(addr, len, prot, flags, fd, offset)`'s
/// numbers as x86-64 `sys_mmap` + `do_mmap` do before looking at the
/// file or the address space: EINVAL for an unaligned offset, a zero
/// length or an unknown mapping type (and unknown flags with
/// `MAP_SHARED_VALIDATE`), ENOMEM when the page-rounded length
/// overflows, EOVERFLOW when offset + length wraps.
pub fn decode_mmap(len: u64, prot: u32, flags: u32, offset: u64) -> Result<MmapRequest> {
    if offset & (super::vm_layout::PAGE_SIZE - 1) != 0 {
        return_errno!(EINVAL, "mmap offset not page aligned");
    }
    if len == 0 {
        return_errno!(EINVAL, "mmap length is zero");
    }
    let Some(len) = super::vm_layout::page_align_up(len) else {
        return_errno!(ENOMEM, "mmap length overflows when page aligned");
    };
    let anonymous = flags & MAP_ANONYMOUS != 0;
    let sharing = match flags & MAP_TYPE {
        MAP_PRIVATE => Sharing::Private,
        MAP_SHARED => Sharing::Shared,
        MAP_SHARED_VALIDATE => {
            if flags & !(LEGACY_MAP_MASK | MAP_SYNC | MAP_FIXED_NOREPLACE) != 0 {
                // Linux: -EOPNOTSUPP for files; reported as EINVAL here
                // since the flag is unknown either way.
                return_errno!(EINVAL, "unknown flag with MAP_SHARED_VALIDATE");
            }
            Sharing::Shared
        }
        _ => return_errno!(EINVAL, "mmap flags name no valid mapping type"),
    };
    let offset = if anonymous { 0 } else { offset };
    // A file mapping must end within the largest file size
    // (`file_mmap_ok`: MAX_LFS_FILESIZE = i64::MAX).
    if !anonymous && offset.checked_add(len).is_none_or(|end| end > i64::MAX as u64) {
        return_errno!(EOVERFLOW, "mmap offset + length past the largest file size");
    }
    let noreplace = flags & MAP_FIXED_NOREPLACE != 0;
    Ok(MmapRequest {
        prot: Prot::from_bits(prot),
        sharing,
        anonymous,
        fixed: flags & MAP_FIXED != 0 || noreplace,
        noreplace,
        populate: flags & MAP_POPULATE != 0,
        grows_down: flags & MAP_GROWSDOWN != 0,
        len,
        offset,
    })
}

#[cfg(test)]
mod tests {
    use super::super::error::Errno;
    use super::*;

    #[test]
    fn prot_bits_round_trip() {
        for bits in 0..8 {
            assert_eq!(Prot::from_bits(bits).bits(), bits);
        }
        assert_eq!(Prot::from_bits(PROT_READ | PROT_SEM), Prot::R);
        assert!(Prot::R.within(Prot::RW));
        assert!(!Prot::RW.within(Prot::RX));
    }

    #[test]
    fn mprotect_prot_validation() {
        assert!(mprotect_prot_valid(PROT_READ | PROT_WRITE));
        assert!(mprotect_prot_valid(PROT_READ | PROT_GROWSDOWN));
        assert!(!mprotect_prot_valid(0x10));
        assert!(!mprotect_prot_valid(PROT_GROWSDOWN | PROT_GROWSUP));
    }

    #[test]
    fn decode_anonymous_private() {
        let r = decode_mmap(1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, 0).unwrap();
        assert_eq!(r.len, 4096);
        assert_eq!(r.prot, Prot::RW);
        assert_eq!(r.sharing, Sharing::Private);
        assert!(r.anonymous && !r.fixed && !r.noreplace);
    }

    #[test]
    fn decode_fixed_noreplace_implies_fixed() {
        let r = decode_mmap(8192, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, 4096).unwrap();
        assert!(r.fixed && r.noreplace);
        assert_eq!(r.offset, 4096);
    }

    #[test]
    fn decode_errors() {
        let e = |len, flags, off| decode_mmap(len, PROT_READ, flags, off).unwrap_err().errno;
        assert_eq!(e(4096, MAP_PRIVATE, 1), Errno::EINVAL);
        assert_eq!(e(0, MAP_PRIVATE, 0), Errno::EINVAL);
        assert_eq!(e(4096, MAP_ANONYMOUS, 0), Errno::EINVAL);
        assert_eq!(e(4096, 0x0f, 0), Errno::EINVAL);
        assert_eq!(e(u64::MAX, MAP_PRIVATE, 0), Errno::ENOMEM);
        assert_eq!(e(4096, MAP_PRIVATE, !0xfff), Errno::EOVERFLOW);
        assert_eq!(e(4096, MAP_SHARED_VALIDATE | 0x200, 0), Errno::EINVAL);
        assert!(decode_mmap(4096, 0, MAP_SHARED_VALIDATE | MAP_SYNC, 0).is_ok());
        // Plain MAP_SHARED ignores unknown flags.
        assert!(decode_mmap(4096, 0, MAP_SHARED | 0x200, 0).is_ok());
    }
}
