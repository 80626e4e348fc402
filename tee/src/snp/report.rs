//! The SNP attestation report (firmware ABI 56860, "ATTESTATION_REPORT",
//! 0x4A0 bytes): typed access to the fields Umbra uses. The bytes are
//! kept as the PSP signed them.
//!
//! Owns: the layout. Pure logic.

use super::abi::report::*;

/// A report as returned in MSG_REPORT_RSP.
#[derive(Clone, PartialEq, Eq)]
pub struct SnpReport(pub [u8; SIZE]);

impl core::fmt::Debug for SnpReport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SnpReport").field("version", &self.version()).field("vmpl", &self.vmpl()).finish_non_exhaustive()
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

impl SnpReport {
    pub fn as_bytes(&self) -> &[u8; SIZE] {
        &self.0
    }
    pub fn version(&self) -> u32 {
        u32_at(&self.0, VERSION)
    }
    pub fn vmpl(&self) -> u32 {
        u32_at(&self.0, VMPL)
    }
    pub fn signature_algo(&self) -> u32 {
        u32_at(&self.0, SIGNATURE_ALGO)
    }
    pub fn report_data(&self) -> &[u8] {
        &self.0[REPORT_DATA..REPORT_DATA + 64]
    }
    pub fn measurement(&self) -> &[u8] {
        &self.0[MEASUREMENT..MEASUREMENT + 48]
    }
    pub fn chip_id(&self) -> &[u8] {
        &self.0[CHIP_ID..CHIP_ID + 64]
    }
    /// The bytes the signature covers.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.0[..SIGNATURE]
    }
    /// The signature's r and s as big-endian 48-byte P-384 scalars (the
    /// report stores them little-endian in 72-byte fields).
    pub fn signature_p384(&self) -> ([u8; 48], [u8; 48]) {
        let mut r = [0u8; 48];
        let mut s = [0u8; 48];
        for i in 0..48 {
            r[47 - i] = self.0[SIGNATURE + i];
            s[47 - i] = self.0[SIGNATURE + SIGNATURE_COMPONENT + i];
        }
        (r, s)
    }
}
