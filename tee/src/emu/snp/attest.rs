//! What the emulated PSP measures and signs: the launch digest over the
//! kernel image, attestation reports (version 3, firmware ABI 56860)
//! signed with a TEST ECDSA P-384 key, and derived keys (MSG_KEY_REQ).
//!
//! The signing key is derived deterministically from [`TEST_VCEK_LABEL`],
//! so a host-side verifier can rebuild its public key and must refuse it
//! unless told to accept test roots. It is not an AMD key: a report it
//! signed proves nothing about any hardware.
//!
//! Owns: report assembly, signing, verification, key derivation. Pure
//! logic (the image is passed in).

use hmac::{Hmac, Mac};
use p384::ecdsa::signature::{Signer, Verifier};
use p384::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256, Sha384};

use crate::snp::abi::report::*;

/// Seed label of the test signing key ("VCEK" of the emulated chip).
pub const TEST_VCEK_LABEL: &[u8] = b"Umbra SNP emulator TEST VCEK -- not an AMD key, never trust what it signs";
/// Seed label of the emulated chip's id.
pub const TEST_CHIP_LABEL: &[u8] = b"Umbra SNP emulator test chip";
/// Seed label of the root of derived keys.
pub const TEST_ROOT_KEY_LABEL: &[u8] = b"Umbra SNP emulator test key-derivation root";

/// Guest policy the emulated guest launched with: bit 16 (reserved,
/// must be 1) and bit 17 (SMT allowed).
pub const GUEST_POLICY: u64 = 0x3_0000;
/// TCB version the emulated firmware reports (boot loader 3, TEE 0, SNP
/// 8, microcode 115: arbitrary, fixed).
pub const TCB_VERSION: u64 = 3 | (8 << 48) | (115 << 56);

pub type Sha384Digest = [u8; 48];

fn sha384(parts: &[&[u8]]) -> Sha384Digest {
    let mut hasher = Sha384::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The test signing key (deterministic).
pub fn test_signing_key() -> SigningKey {
    let mut counter = 0u32;
    loop {
        let seed = sha384(&[TEST_VCEK_LABEL, &counter.to_le_bytes()]);
        if let Ok(key) = SigningKey::from_slice(&seed) {
            return key;
        }
        counter += 1;
    }
}

/// The test key's public half, SEC1 uncompressed (0x04 || x || y).
pub fn test_verifying_key_sec1() -> [u8; 97] {
    let point = VerifyingKey::from(&test_signing_key()).to_encoded_point(false);
    let mut out = [0u8; 97];
    out.copy_from_slice(point.as_bytes());
    out
}

/// The chip id the emulator reports.
pub fn test_chip_id() -> [u8; 64] {
    let mut id = [0u8; 64];
    id[..48].copy_from_slice(&sha384(&[TEST_CHIP_LABEL]));
    id
}

/// SNP launch digest over `image` loaded at `gpa` (4 KiB pages of type
/// NORMAL, VMPL permissions 0): for each page, PAGE_INFO = digest so far
/// (48), SHA-384 of the page (48), length 0x70 (u16), page type 1, IMI 0,
/// VMPL3/2/1 permissions 0, reserved, GPA (u64); the new digest is
/// SHA-384(PAGE_INFO), as the firmware's SNP_LAUNCH_UPDATE chains it.
pub fn launch_digest(image: &[u8], gpa: u64) -> Sha384Digest {
    let mut digest = [0u8; 48];
    for (i, page) in image.chunks(4096).enumerate() {
        let mut padded = [0u8; 4096];
        padded[..page.len()].copy_from_slice(page);
        let mut info = [0u8; 0x70];
        info[..48].copy_from_slice(&digest);
        info[48..96].copy_from_slice(&sha384(&[&padded]));
        info[0x60..0x62].copy_from_slice(&0x70u16.to_le_bytes());
        info[0x62] = 1;
        info[0x68..0x70].copy_from_slice(&(gpa + i as u64 * 4096).to_le_bytes());
        digest = sha384(&[&info]);
    }
    digest
}

/// The fields of a report that are not the caller's.
pub struct ReportContext {
    pub measurement: Sha384Digest,
    pub report_id: [u8; 32],
    /// CPUID leaf 1 EAX of the chip (family/model/stepping).
    pub cpuid_fms: u32,
}

/// The x86 display family, model and stepping from CPUID leaf 1 EAX.
fn family_model_stepping(eax: u32) -> (u8, u8, u8) {
    let base_family = (eax >> 8) & 0xf;
    let family = if base_family == 0xf { base_family + ((eax >> 20) & 0xff) } else { base_family };
    let model = ((eax >> 4) & 0xf) | if base_family >= 0x6 { ((eax >> 16) & 0xf) << 4 } else { 0 };
    (family as u8, model as u8, (eax & 0xf) as u8)
}

/// Build and sign a report.
pub fn build_report(ctx: &ReportContext, key: &SigningKey, report_data: &[u8; 64], vmpl: u32) -> [u8; SIZE] {
    let mut r = [0u8; SIZE];
    r[VERSION..VERSION + 4].copy_from_slice(&VERSION_3.to_le_bytes());
    r[POLICY..POLICY + 8].copy_from_slice(&GUEST_POLICY.to_le_bytes());
    r[VMPL..VMPL + 4].copy_from_slice(&vmpl.to_le_bytes());
    r[SIGNATURE_ALGO..SIGNATURE_ALGO + 4].copy_from_slice(&SIG_ALGO_ECDSA_P384_SHA384.to_le_bytes());
    for at in [CURRENT_TCB, REPORTED_TCB, COMMITTED_TCB, LAUNCH_TCB] {
        r[at..at + 8].copy_from_slice(&TCB_VERSION.to_le_bytes());
    }
    // PLATFORM_INFO bit 0: SMT enabled. FLAGS 4:2 = 0: signed by a VCEK.
    r[PLATFORM_INFO] = 1;
    r[REPORT_DATA..REPORT_DATA + 64].copy_from_slice(report_data);
    r[MEASUREMENT..MEASUREMENT + 48].copy_from_slice(&ctx.measurement);
    r[REPORT_ID..REPORT_ID + 32].copy_from_slice(&ctx.report_id);
    // No migration agent: REPORT_ID_MA all ones.
    r[REPORT_ID_MA..REPORT_ID_MA + 32].fill(0xff);
    let (family, model, stepping) = family_model_stepping(ctx.cpuid_fms);
    (r[CPUID_FAM_ID], r[CPUID_MOD_ID], r[CPUID_STEP]) = (family, model, stepping);
    r[CHIP_ID..CHIP_ID + 64].copy_from_slice(&test_chip_id());
    sign(key, &mut r);
    r
}

/// Sign bytes 0..0x2A0 (SHA-384) into the signature field: r and s
/// little-endian, each in a 72-byte field.
pub fn sign(key: &SigningKey, r: &mut [u8; SIZE]) {
    let signature: Signature = key.sign(&r[..SIGNATURE]);
    let (sig_r, sig_s) = signature.split_bytes();
    r[SIGNATURE..SIGNATURE + 2 * SIGNATURE_COMPONENT].fill(0);
    for i in 0..48 {
        r[SIGNATURE + i] = sig_r[47 - i];
        r[SIGNATURE + SIGNATURE_COMPONENT + i] = sig_s[47 - i];
    }
}

/// Check a report's signature against the test key.
pub fn verify_report(report: &crate::snp::SnpReport) -> bool {
    let (r, s) = report.signature_p384();
    let Ok(signature) = Signature::from_scalars(r, s) else {
        return false;
    };
    VerifyingKey::from(&test_signing_key()).verify(report.signed_bytes(), &signature).is_ok()
}

/// A derived key (MSG_KEY_REQ): HMAC-SHA-256 under the test root over
/// the request and the guest fields it selects.
pub fn derive_key(request: &[u8; 32], measurement: &Sha384Digest) -> [u8; 32] {
    let root: [u8; 32] = {
        let mut h = Sha256::new();
        h.update(TEST_ROOT_KEY_LABEL);
        h.finalize().into()
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&root).expect("HMAC takes any key length");
    mac.update(request);
    let field_select = u64::from_le_bytes(request[8..16].try_into().unwrap_or([0; 8]));
    if field_select & (1 << 0) != 0 {
        mac.update(&GUEST_POLICY.to_le_bytes());
    }
    if field_select & (1 << 3) != 0 {
        mac.update(measurement);
    }
    if field_select & (1 << 5) != 0 {
        mac.update(&TCB_VERSION.to_le_bytes());
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snp::SnpReport;

    #[test]
    fn reports_verify_and_tampering_is_detected() {
        let ctx = ReportContext { measurement: [0x11; 48], report_id: [0x22; 32], cpuid_fms: 0x00a0_0f11 };
        let key = test_signing_key();
        let report = SnpReport(build_report(&ctx, &key, &[0x33; 64], 0));
        assert_eq!(report.version(), 3);
        assert_eq!(report.report_data(), &[0x33; 64][..]);
        assert_eq!(report.measurement(), &[0x11; 48][..]);
        // Family 0x19, model 0x01, stepping 1 (EPYC Milan's CPUID).
        assert_eq!(&report.0[CPUID_FAM_ID..CPUID_STEP + 1], &[0x19, 0x01, 0x01]);
        assert!(verify_report(&report));
        let mut tampered = report.clone();
        tampered.0[REPORT_DATA] ^= 1;
        assert!(!verify_report(&tampered));
        // The key is deterministic (a host verifier rebuilds it).
        assert_eq!(test_verifying_key_sec1(), test_verifying_key_sec1());
        assert_eq!(test_verifying_key_sec1()[0], 4);
    }

    #[test]
    fn the_test_vcek_certificate_certifies_the_signing_key() {
        // The certificate table tee/build.rs made from the verifier's
        // TEST chain: its VCEK (the first entry) holds our public key.
        let table: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/snp_test_cert_table.bin"));
        let entry = |i: usize, at: usize| u32::from_le_bytes(table[i * 24 + at..i * 24 + at + 4].try_into().unwrap()) as usize;
        let vcek = &table[entry(0, 16)..entry(0, 16) + entry(0, 20)];
        let key = test_verifying_key_sec1();
        assert!(vcek.windows(key.len()).any(|w| w == key), "the TEST VCEK certificate holds the emulator's signing key");
        assert!(table.len() > 3 * 4096 && table.len() <= 16 << 10, "4 pages: one per certificate");
    }

    #[test]
    fn launch_digest_chains_every_page() {
        let image = [0x90u8; 3 * 4096];
        let digest = launch_digest(&image, 0x100_0000);
        assert_ne!(digest, launch_digest(&image, 0x100_1000), "the GPA is measured");
        let mut changed = image;
        changed[2 * 4096 + 5] = 0;
        assert_ne!(digest, launch_digest(&changed, 0x100_0000), "every page is measured");
    }
}
