//! TDREPORT_STRUCT (1024 bytes from TDG.MR.REPORT): its layout and typed
//! read-only access. Offsets from the TDX module ABI spec (see
//! shared/reference/tdx.md), pinned by tests.
//!
//! Owns: the byte layout. Must never: be trusted as authentic by itself
//! (only the module's MAC, checked by TDG.MR.VERIFYREPORT or a quote,
//! makes it so).

use alloc::boxed::Box;

/// Field offsets and sizes.
pub mod layout {
    pub const REPORT_TYPE: usize = 0;
    pub const CPUSVN: usize = 16;
    pub const TEE_TCB_INFO_HASH: usize = 32;
    pub const TEE_INFO_HASH: usize = 80;
    pub const REPORTDATA: usize = 128;
    pub const MAC: usize = 224;
    pub const REPORTMACSTRUCT_SIZE: usize = 256;
    pub const TEE_TCB_INFO: usize = 256;
    pub const TEE_TCB_INFO_SIZE: usize = 239;
    pub const TDINFO: usize = 512;
    pub const TDINFO_SIZE: usize = 512;
    pub const ATTRIBUTES: usize = 512;
    pub const XFAM: usize = 520;
    pub const MRTD: usize = 528;
    pub const MRCONFIGID: usize = 576;
    pub const MROWNER: usize = 624;
    pub const MROWNERCONFIG: usize = 672;
    pub const RTMR0: usize = 720;
    pub const SERVTD_HASH: usize = 912;
    pub const SHA384_SIZE: usize = 48;
    pub const MAC_SIZE: usize = 32;
    /// REPORTTYPE.TYPE of a TDX report.
    pub const TEE_TYPE_TDX: u8 = 0x81;
}

/// A copy of one TDREPORT.
#[derive(Clone, PartialEq, Eq)]
pub struct TdReport(Box<[u8; 1024]>);

impl core::fmt::Debug for TdReport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "TdReport {{ type {:#x}, mrtd {:02x?}.. }}", self.tee_type(), &self.mrtd()[..8])
    }
}

impl TdReport {
    pub fn from_bytes(bytes: &[u8; 1024]) -> Self {
        Self(Box::new(*bytes))
    }
    pub fn as_bytes(&self) -> &[u8; 1024] {
        &self.0
    }
    fn field<const N: usize>(&self, offset: usize) -> &[u8; N] {
        self.0[offset..offset + N].try_into().expect("field inside the report")
    }
    pub fn tee_type(&self) -> u8 {
        self.0[layout::REPORT_TYPE]
    }
    pub fn report_data(&self) -> &[u8; 64] {
        self.field(layout::REPORTDATA)
    }
    pub fn mac(&self) -> &[u8; layout::MAC_SIZE] {
        self.field(layout::MAC)
    }
    pub fn attributes(&self) -> u64 {
        u64::from_le_bytes(*self.field(layout::ATTRIBUTES))
    }
    pub fn mrtd(&self) -> &[u8; 48] {
        self.field(layout::MRTD)
    }
    /// RTMR `index` (0..=3).
    pub fn rtmr(&self, index: usize) -> Option<&[u8; 48]> {
        (index < 4).then(|| self.field(layout::RTMR0 + index * layout::SHA384_SIZE))
    }
}

#[cfg(test)]
mod tests {
    use super::layout::*;

    #[test]
    fn layout_is_contiguous_and_sized() {
        assert_eq!(REPORTDATA + 64 + 32, MAC);
        assert_eq!(MAC + MAC_SIZE, REPORTMACSTRUCT_SIZE);
        assert_eq!(TEE_TCB_INFO + TEE_TCB_INFO_SIZE + 17, TDINFO);
        assert_eq!((MRTD, MRCONFIGID, MROWNER, MROWNERCONFIG), (528, 576, 624, 672));
        assert_eq!(RTMR0 + 4 * SHA384_SIZE, SERVTD_HASH);
        assert_eq!(SERVTD_HASH + 48 + 64, TDINFO + TDINFO_SIZE);
    }
}
