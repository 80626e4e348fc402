//! What the emulated TDX module measures and signs: MRTD over the loaded
//! kernel, RTMR extends, and the TDREPORT with its MAC (HMAC-SHA-256 under
//! a per-boot emulator key, so the emulator can tell a tampered report
//! from its own).
//!
//! Owns: the hashing and report assembly. Pure logic (the kernel image is
//! passed in). Must never: be mistaken for a real TDX module's report: the
//! TEE_TCB_INFO's MRSEAM is the hash of a fixed "emulator" label.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha384};

use crate::tdx::report::layout;

pub type Sha384Digest = [u8; 48];

/// The emulated TD's measurement registers and the MAC key.
#[derive(Clone)]
pub struct Measurements {
    pub mrtd: Sha384Digest,
    pub rtmr: [Sha384Digest; 4],
    pub key: [u8; 32],
}

/// Label hashed into MRSEAM: marks every emulated report.
pub const EMULATOR_LABEL: &[u8] = b"Umbra TDX module emulator -- test only, not a TDX module";

/// TD ATTRIBUTES the emulated TD reports (none: not a debug TD).
pub const ATTRIBUTES: u64 = 0;
/// XFAM the emulated TD reports (x87 | SSE).
pub const XFAM: u64 = 0x3;

pub fn sha384(parts: &[&[u8]]) -> Sha384Digest {
    let mut hasher = Sha384::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// RTMR extend: SHA-384(old || digest).
pub fn extend(old: &Sha384Digest, digest: &Sha384Digest) -> Sha384Digest {
    sha384(&[old, digest])
}

/// Derive a 32-byte key from whatever entropy the caller has.
pub fn derive_key(entropy: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"umbra tdx-emu report key");
    hasher.update(entropy);
    hasher.finalize().into()
}

fn mac(key: &[u8; 32], bytes: &[u8]) -> [u8; 32] {
    let mut hmac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    hmac.update(bytes);
    hmac.finalize().into_bytes().into()
}

/// Assemble a TDREPORT for `report_data`.
pub fn build_report(m: &Measurements, report_data: &[u8; 64]) -> [u8; 1024] {
    let mut r = [0u8; 1024];
    r[layout::REPORT_TYPE] = layout::TEE_TYPE_TDX; // subtype 0, version 0
    // TEE_TCB_INFO: VALID bitmap, TEE_TCB_SVN (0), MRSEAM @+24.
    let tcb = layout::TEE_TCB_INFO;
    r[tcb..tcb + 8].copy_from_slice(&0x3u64.to_le_bytes());
    r[tcb + 24..tcb + 72].copy_from_slice(&sha384(&[EMULATOR_LABEL]));
    // TDINFO.
    r[layout::ATTRIBUTES..layout::ATTRIBUTES + 8].copy_from_slice(&ATTRIBUTES.to_le_bytes());
    r[layout::XFAM..layout::XFAM + 8].copy_from_slice(&XFAM.to_le_bytes());
    r[layout::MRTD..layout::MRTD + 48].copy_from_slice(&m.mrtd);
    for (i, rtmr) in m.rtmr.iter().enumerate() {
        let at = layout::RTMR0 + i * 48;
        r[at..at + 48].copy_from_slice(rtmr);
    }
    seal(&m.key, &mut r, report_data);
    r
}

/// Fill REPORTMACSTRUCT: hashes of TEE_TCB_INFO and TDINFO, REPORTDATA,
/// MAC over everything before the MAC.
fn seal(key: &[u8; 32], r: &mut [u8; 1024], report_data: &[u8; 64]) {
    let tcb_hash = sha384(&[&r[layout::TEE_TCB_INFO..layout::TEE_TCB_INFO + layout::TEE_TCB_INFO_SIZE]]);
    let info_hash = sha384(&[&r[layout::TDINFO..layout::TDINFO + layout::TDINFO_SIZE]]);
    r[layout::TEE_TCB_INFO_HASH..layout::TEE_TCB_INFO_HASH + 48].copy_from_slice(&tcb_hash);
    r[layout::TEE_INFO_HASH..layout::TEE_INFO_HASH + 48].copy_from_slice(&info_hash);
    r[layout::REPORTDATA..layout::REPORTDATA + 64].copy_from_slice(report_data);
    let tag = mac(key, &r[..layout::MAC]);
    r[layout::MAC..layout::MAC + 32].copy_from_slice(&tag);
}

/// Why a report does not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportMismatch {
    TeeTcbInfoHash,
    TdInfoHash,
    Mac,
}

/// Check a report against `key` (the emulator's TDG.MR.VERIFYREPORT).
pub fn verify_report(key: &[u8; 32], r: &[u8; 1024]) -> Result<(), ReportMismatch> {
    let tcb_hash = sha384(&[&r[layout::TEE_TCB_INFO..layout::TEE_TCB_INFO + layout::TEE_TCB_INFO_SIZE]]);
    if r[layout::TEE_TCB_INFO_HASH..layout::TEE_TCB_INFO_HASH + 48] != tcb_hash {
        return Err(ReportMismatch::TeeTcbInfoHash);
    }
    let info_hash = sha384(&[&r[layout::TDINFO..layout::TDINFO + layout::TDINFO_SIZE]]);
    if r[layout::TEE_INFO_HASH..layout::TEE_INFO_HASH + 48] != info_hash {
        return Err(ReportMismatch::TdInfoHash);
    }
    let mut hmac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    hmac.update(&r[..layout::MAC]);
    hmac.verify_slice(&r[layout::MAC..layout::MAC + 32]).map_err(|_| ReportMismatch::Mac)
}
