//! Reads of physical memory through the boot-time identity map.

/// Highest physical address the legacy path's identity map covers (4 GiB);
/// the EFI path runs on UEFI's identity map, which covers all of RAM.
pub const LEGACY_IDENTITY_LIMIT: u64 = 1 << 32;

/// Copy `dst.len()` bytes from physical address `src`.
///
/// # Safety
/// `[src, src + dst.len())` must be identity-mapped, readable memory that no
/// one writes concurrently (true during boot: one CPU, interrupts off or
/// firmware-owned).
pub unsafe fn copy_from_phys(src: u64, dst: &mut [u8]) {
    // SAFETY: the caller guarantees the source range is mapped and readable;
    // `dst` is a distinct Rust buffer, so the ranges do not overlap.
    unsafe { core::ptr::copy_nonoverlapping(src as usize as *const u8, dst.as_mut_ptr(), dst.len()) }
}

/// Read one byte of physical memory.
///
/// # Safety
/// As for [`copy_from_phys`].
pub unsafe fn read_phys_u8(addr: u64) -> u8 {
    // SAFETY: forwarded to the caller's guarantee.
    unsafe { core::ptr::read_volatile(addr as usize as *const u8) }
}
