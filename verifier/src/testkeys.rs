//! The project's deterministic TEST keys and certificate chains, shared
//! by the emulators and this verifier. Never trusted without
//! `--allow-test-roots`.
//!
//! # The scheme
//! It is the one the emulators already use (tee-tdx: `tee/build.rs`;
//! tee-snp: `tee/src/emu/snp/attest.rs`), so their quotes and reports
//! verify here byte for byte:
//!
//! - a key with label `L` is the secret scalar `H(L || counter)`, read
//!   big-endian, `counter` a u32 little-endian from 0 up to the first
//!   value giving a scalar in [1, n-1] (0 for every label below; a test
//!   pins that); H = SHA-256 for P-256 keys, SHA-384 for P-384 keys;
//! - signatures are deterministic ECDSA (RFC 6979), so every certificate,
//!   quote and report built from the same inputs is byte-identical.
//!
//! | constant | curve | label | use |
//! |---|---|---|---|
//! | [`TDX_ROOT`] | P-256 | `Umbra TEST-ONLY TDX root CA key (not Intel)` | self-signed test SGX root |
//! | [`TDX_PCK_CA`] | P-256 | `Umbra TEST-ONLY TDX platform CA key (not Intel)` | intermediate |
//! | [`TDX_PCK`] | P-256 | `Umbra TEST-ONLY TDX PCK key (not Intel)` | PCK leaf, signs the QE report |
//! | [`TDX_ATTESTATION_KEY`] | P-256 | `Umbra TEST-ONLY TDX attestation key (not Intel)` | signs quotes |
//! | [`SNP_ARK`] | P-384 | `Umbra SNP emulator TEST ARK -- not an AMD key` | self-signed test ARK |
//! | [`SNP_ASK`] | P-384 | `Umbra SNP emulator TEST ASK -- not an AMD key` | ASK, signed by the ARK |
//! | [`SNP_VCEK`] | P-384 | `Umbra SNP emulator TEST VCEK -- not an AMD key, never trust what it signs` | VCEK, signs reports |
//!
//! Certificates: X.509 v3, serials 1/2/3 from root to leaf, valid
//! 2025-01-01T00:00:00Z (UTCTime) to 2055-01-01T00:00:00Z
//! (GeneralizedTime), ECDSA with SHA-256 (TDX) or SHA-384 (SNP), the
//! subjects below; built with x509-cert's builder (its Root / SubCA with
//! path length 0 / Leaf profiles). Committed as PEM under
//! `verifier/test-roots/` (a test checks they equal what this module builds).

use std::str::FromStr;
use std::time::Duration;

use der::asn1::{GeneralizedTime, UtcTime};
use der::EncodePem;
use sha2::{Digest, Sha256, Sha384};
use spki::EncodePublicKey;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

pub const TDX_ROOT: &str = "Umbra TEST-ONLY TDX root CA key (not Intel)";
pub const TDX_PCK_CA: &str = "Umbra TEST-ONLY TDX platform CA key (not Intel)";
pub const TDX_PCK: &str = "Umbra TEST-ONLY TDX PCK key (not Intel)";
pub const TDX_ATTESTATION_KEY: &str = "Umbra TEST-ONLY TDX attestation key (not Intel)";
pub const SNP_ARK: &str = "Umbra SNP emulator TEST ARK -- not an AMD key";
pub const SNP_ASK: &str = "Umbra SNP emulator TEST ASK -- not an AMD key";
pub const SNP_VCEK: &str = "Umbra SNP emulator TEST VCEK -- not an AMD key, never trust what it signs";

pub const TDX_ROOT_SUBJECT: &str = "CN=Umbra TEST-ONLY SGX Root CA (not Intel),O=Umbra test keys,C=XX";
pub const TDX_PCK_CA_SUBJECT: &str = "CN=Umbra TEST-ONLY SGX PCK Platform CA (not Intel),O=Umbra test keys,C=XX";
pub const TDX_PCK_SUBJECT: &str = "CN=Umbra TEST-ONLY SGX PCK Certificate (not Intel),O=Umbra test keys,C=XX";
pub const SNP_ARK_SUBJECT: &str = "CN=ARK-Umbra-TEST-ONLY (not AMD),O=Umbra test keys,C=XX";
pub const SNP_ASK_SUBJECT: &str = "CN=SEV-Umbra-TEST-ONLY (not AMD),O=Umbra test keys,C=XX";
pub const SNP_VCEK_SUBJECT: &str = "CN=SEV-VCEK-Umbra-TEST-ONLY (not AMD),O=Umbra test keys,C=XX";

/// 2025-01-01T00:00:00Z and 2055-01-01T00:00:00Z.
pub const NOT_BEFORE: u64 = 1_735_689_600;
pub const NOT_AFTER: u64 = 2_682_374_400;

/// The scalar bytes for `label`: the first counter whose hash `accept`s.
fn scalar<const N: usize>(label: &str, hash: impl Fn(&[u8]) -> [u8; N], accept: impl Fn(&[u8; N]) -> bool) -> ([u8; N], u32) {
    for counter in 0u32..=1024 {
        let mut input = Vec::new();
        input.extend_from_slice(label.as_bytes());
        input.extend_from_slice(&counter.to_le_bytes());
        let s = hash(&input);
        if accept(&s) {
            return (s, counter);
        }
    }
    unreachable!("1025 hashes all outside the scalar field")
}

/// The P-256 test key `name` and the counter that made it.
pub fn p256_key_with_counter(name: &str) -> (p256::ecdsa::SigningKey, u32) {
    let (bytes, counter) =
        scalar(name, |i| Sha256::digest(i).into(), |s| p256::ecdsa::SigningKey::from_bytes(&(*s).into()).is_ok());
    (p256::ecdsa::SigningKey::from_bytes(&bytes.into()).expect("accepted above"), counter)
}

/// The P-384 test key `name` and the counter that made it.
pub fn p384_key_with_counter(name: &str) -> (p384::ecdsa::SigningKey, u32) {
    let (bytes, counter) =
        scalar(name, |i| Sha384::digest(i).into(), |s| p384::ecdsa::SigningKey::from_bytes(&(*s).into()).is_ok());
    (p384::ecdsa::SigningKey::from_bytes(&bytes.into()).expect("accepted above"), counter)
}

pub fn p256_key(name: &str) -> p256::ecdsa::SigningKey {
    p256_key_with_counter(name).0
}

pub fn p384_key(name: &str) -> p384::ecdsa::SigningKey {
    p384_key_with_counter(name).0
}

fn validity() -> Validity {
    let not_before = UtcTime::from_unix_duration(Duration::from_secs(NOT_BEFORE)).expect("before 2050");
    let not_after = GeneralizedTime::from_unix_duration(Duration::from_secs(NOT_AFTER)).expect("a time");
    Validity { not_before: Time::UtcTime(not_before), not_after: Time::GeneralTime(not_after) }
}

fn name(text: &str) -> Name {
    Name::from_str(text).expect("fixed test names parse")
}

fn spki_of(key: &impl EncodePublicKey) -> SubjectPublicKeyInfoOwned {
    let der = key.to_public_key_der().expect("EC keys encode");
    SubjectPublicKeyInfoOwned::try_from(der.as_bytes()).expect("just encoded")
}

fn pem(cert: &x509_cert::Certificate) -> String {
    cert.to_pem(der::pem::LineEnding::LF).expect("certificates encode")
}

/// The test PCK chain as PEM: leaf, platform CA, root (the order a quote's
/// certification data type 5 carries).
pub fn tdx_pck_chain_pem() -> String {
    let root_key = p256_key(TDX_ROOT);
    let ca_key = p256_key(TDX_PCK_CA);
    let pck_key = p256_key(TDX_PCK);
    type Sig = p256::ecdsa::DerSignature;
    let root = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(1u8),
        validity(),
        name(TDX_ROOT_SUBJECT),
        spki_of(root_key.verifying_key()),
        &root_key,
    )
    .and_then(|b| b.build::<Sig>())
    .expect("test root builds");
    let ca = CertificateBuilder::new(
        Profile::SubCA { issuer: name(TDX_ROOT_SUBJECT), path_len_constraint: Some(0) },
        SerialNumber::from(2u8),
        validity(),
        name(TDX_PCK_CA_SUBJECT),
        spki_of(ca_key.verifying_key()),
        &root_key,
    )
    .and_then(|b| b.build::<Sig>())
    .expect("test CA builds");
    let pck = CertificateBuilder::new(
        Profile::Leaf { issuer: name(TDX_PCK_CA_SUBJECT), enable_key_agreement: false, enable_key_encipherment: false },
        SerialNumber::from(3u8),
        validity(),
        name(TDX_PCK_SUBJECT),
        spki_of(pck_key.verifying_key()),
        &ca_key,
    )
    .and_then(|b| b.build::<Sig>())
    .expect("test PCK builds");
    [pem(&pck), pem(&ca), pem(&root)].concat()
}

/// The test SNP chain as PEM: VCEK, ASK, ARK.
pub fn snp_chain_pem() -> String {
    let ark_key = p384_key(SNP_ARK);
    let ask_key = p384_key(SNP_ASK);
    let vcek_key = p384_key(SNP_VCEK);
    type Sig = p384::ecdsa::DerSignature;
    let ark = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(1u8),
        validity(),
        name(SNP_ARK_SUBJECT),
        spki_of(ark_key.verifying_key()),
        &ark_key,
    )
    .and_then(|b| b.build::<Sig>())
    .expect("test ARK builds");
    let ask = CertificateBuilder::new(
        Profile::SubCA { issuer: name(SNP_ARK_SUBJECT), path_len_constraint: Some(0) },
        SerialNumber::from(2u8),
        validity(),
        name(SNP_ASK_SUBJECT),
        spki_of(ask_key.verifying_key()),
        &ark_key,
    )
    .and_then(|b| b.build::<Sig>())
    .expect("test ASK builds");
    let vcek = CertificateBuilder::new(
        Profile::Leaf { issuer: name(SNP_ASK_SUBJECT), enable_key_agreement: false, enable_key_encipherment: false },
        SerialNumber::from(3u8),
        validity(),
        name(SNP_VCEK_SUBJECT),
        spki_of(vcek_key.verifying_key()),
        &ask_key,
    )
    .and_then(|b| b.build::<Sig>())
    .expect("test VCEK builds");
    [pem(&vcek), pem(&ask), pem(&ark)].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_takes_counter_zero() {
        for n in [TDX_ROOT, TDX_PCK_CA, TDX_PCK, TDX_ATTESTATION_KEY] {
            assert_eq!(p256_key_with_counter(n).1, 0, "{n}");
        }
        for n in [SNP_ARK, SNP_ASK, SNP_VCEK] {
            assert_eq!(p384_key_with_counter(n).1, 0, "{n}");
        }
    }

    #[test]
    fn keys_are_the_label_hashes() {
        let k = p256_key(TDX_ATTESTATION_KEY);
        let expected: [u8; 32] = Sha256::digest(b"Umbra TEST-ONLY TDX attestation key (not Intel)\0\0\0\0").into();
        assert_eq!(k.to_bytes().as_slice(), &expected);
        let k = p384_key(SNP_VCEK);
        let expected: [u8; 48] =
            Sha384::digest(b"Umbra SNP emulator TEST VCEK -- not an AMD key, never trust what it signs\0\0\0\0").into();
        assert_eq!(k.to_bytes().as_slice(), &expected);
    }

    #[test]
    fn chains_are_deterministic() {
        assert_eq!(tdx_pck_chain_pem(), tdx_pck_chain_pem());
        assert_eq!(snp_chain_pem(), snp_chain_pem());
    }

    #[test]
    fn committed_pem_files_match_the_scheme() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/test-roots");
        let tdx = std::fs::read_to_string(format!("{dir}/tdx-pck-chain.pem")).expect("test-roots/tdx-pck-chain.pem");
        assert_eq!(tdx, tdx_pck_chain_pem(), "regenerate with `umbra-verify test-roots --out verifier/test-roots`");
        let snp = std::fs::read_to_string(format!("{dir}/snp-vcek-ask-ark.pem")).expect("test-roots/snp-vcek-ask-ark.pem");
        assert_eq!(snp, snp_chain_pem(), "regenerate with `umbra-verify test-roots --out verifier/test-roots`");
    }
}
