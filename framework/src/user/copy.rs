//! Copies between kernel memory and the user memory of the active address
//! space that fail with [`Fault`] (EFAULT) instead of faulting the kernel.
//!
//! Each copy first checks that the whole user range lies below
//! [`USER_SPACE_END`] (so no user-supplied address can reach kernel memory,
//! and none is non-canonical), then runs one `rep movsb`/`rep stosb` whose
//! faults the exception table turns into an early exit. Page faults go to
//! the memory manager first, so copy-on-write pages are resolved and the
//! copy continues. With SMAP on, the copy opens user access (`stac`) only
//! around that one instruction.
//!
//! Callers must not hold a lock the page-fault path takes (the `VmSpace`'s)
//! across a copy. On the host (unit tests of services) there is no user
//! memory: every copy fails with `Fault`, zero-length ones succeed.

use alloc::vec::Vec;

use super::USER_SPACE_END;

/// A user address was bad: outside user space, unmapped, or not
/// accessible that way. Means EFAULT.
pub use crate::arch::extable::Fault;

/// Why [`read_cstring`] failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CStringError {
    /// The string ran into a bad address (EFAULT).
    Fault,
    /// No NUL within `max_len` bytes (ENAMETOOLONG / E2BIG, as fits).
    TooLong,
}

impl From<Fault> for CStringError {
    fn from(_: Fault) -> Self {
        CStringError::Fault
    }
}

/// Plain data that may be copied to and from user memory as raw bytes.
///
/// # Safety
/// Every bit pattern of `size_of::<Self>()` bytes is a valid `Self`, and
/// `Self` has no padding (all its bytes are initialised), no references
/// and no pointers whose validity matters.
pub unsafe trait Pod: Copy + 'static {}

macro_rules! pod {
    ($($ty:ty),*) => {$(
        // SAFETY: a primitive integer: any bits are valid, no padding.
        unsafe impl Pod for $ty {}
    )*};
}
pod!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);
// SAFETY: an array of Pod elements has no padding between them and every
// bit pattern of each element is valid.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}

/// Check that `[addr, addr + len)` is user space.
fn check_range(addr: u64, len: usize) -> Result<(), Fault> {
    let end = addr.checked_add(len as u64).ok_or(Fault)?;
    if end > USER_SPACE_END {
        return Err(Fault);
    }
    Ok(())
}

/// Copy `dst.len()` bytes from user address `src` into `dst`. On a fault
/// `dst` may be partly written.
pub fn copy_from_user(src: u64, dst: &mut [u8]) -> Result<(), Fault> {
    check_range(src, dst.len())?;
    if dst.is_empty() {
        return Ok(());
    }
    // SAFETY: `dst` is a live, exclusive kernel buffer of `dst.len()`
    // bytes; `src` is a user range (checked above), which the copy reads
    // only under the fault fixup.
    let left = unsafe { raw::copy(dst.as_mut_ptr(), src as *const u8, dst.len()) };
    if left == 0 {
        Ok(())
    } else {
        Err(Fault)
    }
}

/// Copy `src` to user address `dst`.
pub fn copy_to_user(dst: u64, src: &[u8]) -> Result<(), Fault> {
    check_range(dst, src.len())?;
    if src.is_empty() {
        return Ok(());
    }
    // SAFETY: `src` is a live kernel buffer of `src.len()` bytes; `dst` is
    // a user range (checked above), which the copy writes only under the
    // fault fixup.
    let left = unsafe { raw::copy(dst as *mut u8, src.as_ptr(), src.len()) };
    if left == 0 {
        Ok(())
    } else {
        Err(Fault)
    }
}

/// Zero `len` bytes at user address `dst`.
pub fn clear_user(dst: u64, len: usize) -> Result<(), Fault> {
    check_range(dst, len)?;
    if len == 0 {
        return Ok(());
    }
    // SAFETY: `dst` is a user range (checked above), written only under
    // the fault fixup.
    let left = unsafe { raw::zero(dst as *mut u8, len) };
    if left == 0 {
        Ok(())
    } else {
        Err(Fault)
    }
}

/// Read a `T` from user address `addr` (any alignment).
pub fn read_val<T: Pod>(addr: u64) -> Result<T, Fault> {
    let mut value = core::mem::MaybeUninit::<T>::zeroed();
    // SAFETY: the zeroed MaybeUninit is `size_of::<T>()` initialised bytes
    // that we own exclusively.
    let bytes = unsafe { core::slice::from_raw_parts_mut(value.as_mut_ptr().cast::<u8>(), core::mem::size_of::<T>()) };
    copy_from_user(addr, bytes)?;
    // SAFETY: every byte is initialised (zeroed, then copied) and `T: Pod`
    // makes any bit pattern a valid T.
    Ok(unsafe { value.assume_init() })
}

/// Write `value` to user address `addr` (any alignment).
pub fn write_val<T: Pod>(addr: u64, value: &T) -> Result<(), Fault> {
    // SAFETY: `T: Pod` has no padding, so all `size_of::<T>()` bytes of
    // `*value` are initialised; the slice lives as long as the borrow.
    let bytes = unsafe { core::slice::from_raw_parts((value as *const T).cast::<u8>(), core::mem::size_of::<T>()) };
    copy_to_user(addr, bytes)
}

/// Read a NUL-terminated string at user address `addr`, reading at most
/// `max_len` bytes *including* the NUL (Linux's PATH_MAX/MAX_ARG_STRLEN
/// convention): a string of `max_len - 1` bytes fits, a longer one is
/// [`CStringError::TooLong`]. Returns the bytes without the NUL. Never
/// reads past the NUL or past `max_len` bytes (except within the page
/// they are on).
pub fn read_cstring(addr: u64, max_len: usize) -> Result<Vec<u8>, CStringError> {
    const CHUNK: usize = 256;
    const PAGE: u64 = 4096;
    let mut out = Vec::new();
    let mut cursor = addr;
    let mut chunk = [0u8; CHUNK];
    while out.len() < max_len {
        // Never cross a page boundary in one read: the string may end just
        // before an unmapped page.
        let to_page_end = (PAGE - cursor % PAGE) as usize;
        let take = CHUNK.min(to_page_end).min(max_len - out.len());
        copy_from_user(cursor, &mut chunk[..take])?;
        if let Some(nul) = chunk[..take].iter().position(|&b| b == 0) {
            out.extend_from_slice(&chunk[..nul]);
            return Ok(out);
        }
        out.extend_from_slice(&chunk[..take]);
        cursor += take as u64;
    }
    Err(CStringError::TooLong)
}

#[cfg(target_os = "none")]
mod raw {
    use core::arch::asm;

    /// Copy `len` bytes from `src` to `dst` with `rep movsb` under the
    /// exception table; returns the number of bytes *not* copied (0 on
    /// success).
    ///
    /// # Safety
    /// The kernel side of the copy is valid for `len` bytes (readable
    /// source or exclusively writable destination); the user side lies
    /// below `USER_SPACE_END`.
    pub(super) unsafe fn copy(dst: *mut u8, src: *const u8, len: usize) -> usize {
        let left: usize;
        // SAFETY: per the contract; a fault on the user side (unmapped, protection, SMAP off by mistake) continues at
        // label 3 with RCX = bytes left, through the exception table; stac/clac only exist when SMAP_INSTRUCTIONS
        // says so.
        unsafe {
            asm!(
                "cmp byte ptr [rip + {smap}], 0",
                "je 2f",
                "stac",
                "2:",
                "4: rep movsb",
                "3:",
                "cmp byte ptr [rip + {smap}], 0",
                "je 5f",
                "clac",
                "5:",
                crate::ex_table_entry!("4b", "3b"),
                smap = sym super::super::SMAP_INSTRUCTIONS,
                inout("rcx") len => left,
                inout("rsi") src => _,
                inout("rdi") dst => _,
                options(nostack),
            );
        }
        left
    }

    /// Zero `len` bytes at `dst` with `rep stosb` under the exception
    /// table; returns the number of bytes not written.
    ///
    /// # Safety
    /// `dst` lies below `USER_SPACE_END`.
    pub(super) unsafe fn zero(dst: *mut u8, len: usize) -> usize {
        let left: usize;
        // SAFETY: as in `copy`.
        unsafe {
            asm!(
                "cmp byte ptr [rip + {smap}], 0",
                "je 2f",
                "stac",
                "2:",
                "4: rep stosb",
                "3:",
                "cmp byte ptr [rip + {smap}], 0",
                "je 5f",
                "clac",
                "5:",
                crate::ex_table_entry!("4b", "3b"),
                smap = sym super::super::SMAP_INSTRUCTIONS,
                inout("rcx") len => left,
                inout("rdi") dst => _,
                in("al") 0u8,
                options(nostack),
            );
        }
        left
    }
}

#[cfg(not(target_os = "none"))]
mod raw {
    /// No user memory on the host: nothing is copied.
    pub(super) unsafe fn copy(_dst: *mut u8, _src: *const u8, len: usize) -> usize {
        len
    }
    pub(super) unsafe fn zero(_dst: *mut u8, len: usize) -> usize {
        len
    }
}

#[cfg(test)]
mod host_tests {
    use super::*;

    #[test]
    fn ranges_outside_user_space_fail_before_any_access() {
        let mut buf = [0u8; 8];
        assert_eq!(copy_from_user(USER_SPACE_END - 4, &mut buf), Err(Fault));
        assert_eq!(copy_from_user(u64::MAX - 3, &mut buf), Err(Fault));
        assert_eq!(copy_to_user(0xffff_8000_0000_0000, &buf), Err(Fault));
        assert_eq!(clear_user(USER_SPACE_END, 1), Err(Fault));
        // Zero-length: fine at the very end, not beyond.
        assert_eq!(copy_from_user(USER_SPACE_END, &mut []), Ok(()));
        assert_eq!(copy_to_user(USER_SPACE_END + 1, &[]), Err(Fault));
        assert_eq!(read_val::<u64>(USER_SPACE_END - 7), Err(Fault));
        assert_eq!(read_cstring(0x1000, 0), Err(CStringError::TooLong));
    }
}
