//! framework's DMA buffers on top of [`Platform`]: the one adapter from
//! the platform's conversions to framework's [`SharedMemory`], so every
//! platform (TDX, SEV-SNP, none) shares memory the same way.
//!
//! Owns: the adapter. Must never: report a conversion as done that the
//! platform refused.

use boot::PhysRange;
use framework::mm::dma::{ConversionFailed, SharedMemory};

use crate::platform::Platform;

/// The platform, as framework's sharing backend.
pub struct PlatformSharing(pub &'static dyn Platform);

impl SharedMemory for PlatformSharing {
    fn shared_pte_bits(&self) -> u64 {
        self.0.shared_pte_bits()
    }

    fn shared_address_bits(&self) -> u64 {
        self.0.shared_address_bits()
    }

    unsafe fn make_shared(&self, range: PhysRange) -> Result<(), ConversionFailed> {
        // SAFETY: forwarded: framework owns the range, nothing references it.
        unsafe { self.0.convert_to_shared(range) }.map_err(|error| {
            log::error!("tee: [{:#x}-{:#x}) to shared: {}", range.start, range.end, error);
            ConversionFailed
        })
    }

    unsafe fn make_private(&self, range: PhysRange) -> Result<(), ConversionFailed> {
        // SAFETY: forwarded: no shared mapping of the range is left.
        unsafe { self.0.convert_to_private(range) }.map_err(|error| {
            log::error!("tee: [{:#x}-{:#x}) back to private: {}", range.start, range.end, error);
            ConversionFailed
        })
    }
}
