//! AMD SEV-SNP attestation report (SEV-SNP firmware ABI spec 56860,
//! "ATTESTATION_REPORT structure"; Linux's and go-sev-guest's offsets).
//!
//! 0x4A0 bytes, little-endian; versions 2 and 3 (3 adds the CPUID family,
//! model and stepping at 0x188) and later (5 adds mitigation vectors) share
//! these offsets. Signed over 0x000..0x2A0 with ECDSA P-384 / SHA-384 by
//! the VCEK (or VLEK); the signature's r and s are 72-byte little-endian
//! fields at 0x2A0 and 0x2E8 (the top 24 bytes of each zero), the rest of
//! the 512-byte signature area is reserved (zero).

use crate::bytes::{ParseError, Reader};

pub const REPORT_SIZE: usize = 0x4A0;
pub const SIGNED_END: usize = 0x2A0;
pub const SIGNATURE_ALGO_ECDSA_P384_SHA384: u32 = 1;
/// Guest policy bit 19: debugging allowed (the host can read guest memory).
pub const POLICY_DEBUG: u64 = 1 << 19;
/// Flags bit 1: MASK_CHIP_ID (chip_id is zero).
pub const FLAGS_MASK_CHIP_ID: u32 = 1 << 1;
/// Flags bits 4:2: which key signed (0 VCEK, 1 VLEK, 7 none).
pub const fn signing_key(flags: u32) -> u32 {
    (flags >> 2) & 7
}
pub const SIGNING_KEY_VCEK: u32 = 0;
pub const SIGNING_KEY_VLEK: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnpReport {
    pub version: u32,
    pub guest_svn: u32,
    pub policy: u64,
    pub family_id: [u8; 16],
    pub image_id: [u8; 16],
    pub vmpl: u32,
    pub signature_algo: u32,
    pub current_tcb: u64,
    pub platform_info: u64,
    pub flags: u32,
    pub report_data: [u8; 64],
    pub measurement: [u8; 48],
    pub host_data: [u8; 32],
    pub id_key_digest: [u8; 48],
    pub author_key_digest: [u8; 48],
    pub report_id: [u8; 32],
    pub report_id_ma: [u8; 32],
    pub reported_tcb: u64,
    /// CPUID family / model / stepping (version 3 and later; zero before).
    pub cpuid_fms: [u8; 3],
    pub chip_id: [u8; 64],
    pub committed_tcb: u64,
    pub current_version: [u8; 4],
    pub committed_version: [u8; 4],
    pub launch_tcb: u64,
    /// Signature r and s, big-endian 48 bytes each (converted from the
    /// report's little-endian 72-byte fields).
    pub signature_r: [u8; 48],
    pub signature_s: [u8; 48],
}

/// A 72-byte little-endian signature component as 48 big-endian bytes;
/// the 24 high bytes must be zero.
fn component(r: &mut Reader, field: &'static str) -> Result<[u8; 48], ParseError> {
    let le: [u8; 72] = r.array(field)?;
    if le[48..].iter().any(|&b| b != 0) {
        return Err(ParseError::new(field, "high bytes of a P-384 signature component are not zero"));
    }
    let mut be = [0u8; 48];
    for (i, b) in le[..48].iter().enumerate() {
        be[47 - i] = *b;
    }
    Ok(be)
}

pub fn parse(raw: &[u8]) -> Result<SnpReport, ParseError> {
    if raw.len() != REPORT_SIZE {
        return Err(ParseError::new("report", format!("{} bytes, an SNP report has {REPORT_SIZE}", raw.len())));
    }
    let mut r = Reader::new(raw);
    let version = r.u32("version")?;
    if version < 2 {
        return Err(ParseError::new("version", format!("{version} (versions 2 and later are supported)")));
    }
    let guest_svn = r.u32("guest_svn")?;
    let policy = r.u64("policy")?;
    let family_id = r.array("family_id")?;
    let image_id = r.array("image_id")?;
    let vmpl = r.u32("vmpl")?;
    let signature_algo = r.u32("signature_algo")?;
    let current_tcb = r.u64("current_tcb")?;
    let platform_info = r.u64("platform_info")?;
    let flags = r.u32("flags")?;
    r.take(4, "reserved0")?;
    let report_data = r.array("report_data")?;
    let measurement = r.array("measurement")?;
    let host_data = r.array("host_data")?;
    let id_key_digest = r.array("id_key_digest")?;
    let author_key_digest = r.array("author_key_digest")?;
    let report_id = r.array("report_id")?;
    let report_id_ma = r.array("report_id_ma")?;
    let reported_tcb = r.u64("reported_tcb")?;
    let fms: [u8; 3] = r.array("cpuid_fms")?;
    let cpuid_fms = if version >= 3 { fms } else { [0; 3] };
    r.take(0x1A0 - 0x18B, "reserved1")?;
    let chip_id = r.array("chip_id")?;
    let committed_tcb = r.u64("committed_tcb")?;
    let current_version = r.array("current_version")?;
    let committed_version = r.array("committed_version")?;
    let launch_tcb = r.u64("launch_tcb")?;
    r.take(SIGNED_END - 0x1F8, "reserved2")?;
    debug_assert_eq!(r.position(), SIGNED_END);
    let signature_r = component(&mut r, "signature.r")?;
    let signature_s = component(&mut r, "signature.s")?;
    let reserved = r.take(REPORT_SIZE - SIGNED_END - 144, "signature.reserved")?;
    if reserved.iter().any(|&b| b != 0) {
        return Err(ParseError::new("signature.reserved", "reserved bytes of the signature area are not zero"));
    }
    Ok(SnpReport {
        version,
        guest_svn,
        policy,
        family_id,
        image_id,
        vmpl,
        signature_algo,
        current_tcb,
        platform_info,
        flags,
        report_data,
        measurement,
        host_data,
        id_key_digest,
        author_key_digest,
        report_id,
        report_id_ma,
        reported_tcb,
        cpuid_fms,
        chip_id,
        committed_tcb,
        current_version,
        committed_version,
        launch_tcb,
        signature_r,
        signature_s,
    })
}

/// Offsets pinned by the spec (and by tests).
pub mod offsets {
    pub const POLICY: usize = 0x08;
    pub const VMPL: usize = 0x30;
    pub const SIGNATURE_ALGO: usize = 0x34;
    pub const FLAGS: usize = 0x48;
    pub const REPORT_DATA: usize = 0x50;
    pub const MEASUREMENT: usize = 0x90;
    pub const HOST_DATA: usize = 0xC0;
    pub const REPORTED_TCB: usize = 0x180;
    pub const CHIP_ID: usize = 0x1A0;
    pub const SIGNATURE_R: usize = 0x2A0;
    pub const SIGNATURE_S: usize = 0x2E8;
}
