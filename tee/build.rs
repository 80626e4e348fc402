//! Host tool run by the build: generates the TEST attestation material the
//! TDX emulator's quote service uses (feature `emulation` only). Nothing
//! here is Intel's, and every name says so:
//!
//! - a test root CA, a test intermediate ("platform") CA and a test PCK
//!   certificate (X.509, ECDSA P-256), as the PEM chain that goes into a
//!   quote's certification data (type 5);
//! - a test attestation key (AK) whose private half the emulated quoting
//!   enclave uses to sign quotes;
//! - the QE report (SGX report body) binding the AK, and its signature by
//!   the test PCK key, which never change and so are made here once.
//!
//! Keys are derived deterministically from fixed labels (SHA-256), so the
//! output is reproducible and a verifier can pin the test root. They are
//! public by construction: test only.
//!
//! Output: `$OUT_DIR/tdx_test_attestation.rs` (constants the emulator
//! `include!`s) and `$OUT_DIR/tdx_test_root_ca.pem`.

use std::fmt::Write as _;
use std::str::FromStr;
use std::time::Duration;

use p256::ecdsa::{signature::Signer, DerSignature, Signature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use sha2::{Digest, Sha256};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::asn1::{GeneralizedTime, UtcTime};
use x509_cert::der::EncodePem;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

fn key(label: &str) -> SigningKey {
    let mut counter = 0u32;
    loop {
        let digest = Sha256::new().chain_update(label.as_bytes()).chain_update(counter.to_le_bytes()).finalize();
        if let Ok(key) = SigningKey::from_slice(&digest) {
            return key;
        }
        counter += 1;
    }
}

fn spki(key: &SigningKey) -> SubjectPublicKeyInfoOwned {
    let der = key.verifying_key().to_public_key_der().expect("SPKI");
    SubjectPublicKeyInfoOwned::try_from(der.as_bytes()).expect("SPKI parse")
}

fn validity() -> Validity {
    // 2025-01-01 .. 2055-01-01: fixed, so the output is reproducible.
    let not_before = UtcTime::from_unix_duration(Duration::from_secs(1_735_689_600)).expect("time");
    let not_after = GeneralizedTime::from_unix_duration(Duration::from_secs(2_682_374_400)).expect("time");
    Validity { not_before: Time::UtcTime(not_before), not_after: Time::GeneralTime(not_after) }
}

fn certificate(profile: Profile, serial: u8, subject: &str, subject_key: &SigningKey, issuer_key: &SigningKey) -> String {
    let subject = Name::from_str(subject).expect("subject name");
    let builder = CertificateBuilder::new(
        profile,
        SerialNumber::from(serial),
        validity(),
        subject,
        spki(subject_key),
        issuer_key,
    )
    .expect("certificate builder");
    let cert = builder.build::<DerSignature>().expect("certificate");
    cert.to_pem(x509_cert::der::pem::LineEnding::LF).expect("PEM")
}

fn bytes_const(out: &mut String, name: &str, bytes: &[u8]) {
    write!(out, "pub const {}: [u8; {}] = [", name, bytes.len()).unwrap();
    for byte in bytes {
        write!(out, "{},", byte).unwrap();
    }
    out.push_str("];\n");
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out_dir = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));

    let root = key("Umbra TEST-ONLY TDX root CA key (not Intel)");
    let platform = key("Umbra TEST-ONLY TDX platform CA key (not Intel)");
    let pck = key("Umbra TEST-ONLY TDX PCK key (not Intel)");
    let attestation = key("Umbra TEST-ONLY TDX attestation key (not Intel)");

    let root_name = "CN=Umbra TEST-ONLY SGX Root CA (not Intel),O=Umbra test keys,C=XX";
    let platform_name = "CN=Umbra TEST-ONLY SGX PCK Platform CA (not Intel),O=Umbra test keys,C=XX";
    let root_pem = certificate(Profile::Root, 1, root_name, &root, &root);
    let platform_pem = certificate(
        Profile::SubCA { issuer: Name::from_str(root_name).unwrap(), path_len_constraint: Some(0) },
        2,
        platform_name,
        &platform,
        &root,
    );
    let pck_pem = certificate(
        Profile::Leaf {
            issuer: Name::from_str(platform_name).unwrap(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        3,
        "CN=Umbra TEST-ONLY SGX PCK Certificate (not Intel),O=Umbra test keys,C=XX",
        &pck,
        &platform,
    );
    // Leaf first, then the issuers (the order DCAP uses).
    let chain = format!("{}{}{}", pck_pem, platform_pem, root_pem);

    // The AK as DCAP puts it in a quote: x || y, 64 bytes.
    let ak_point = attestation.verifying_key().to_encoded_point(false);
    let ak_public: Vec<u8> = ak_point.as_bytes()[1..].to_vec();
    let qe_auth_data: &[u8] = b"Umbra TEST-ONLY quoting enclave auth data";
    // QE report body (SGX REPORTBODY, 384 bytes): report_data[0..32] =
    // SHA-256(AK || QE auth data), the rest of report_data zero.
    let mut qe_report = [0u8; 384];
    let label = Sha256::digest(b"Umbra TEST-ONLY quoting enclave (not Intel's QE)");
    qe_report[64..96].copy_from_slice(&label); // MRENCLAVE
    qe_report[128..160].copy_from_slice(&Sha256::digest(b"Umbra TEST-ONLY QE signer")); // MRSIGNER
    let binding = Sha256::new().chain_update(&ak_public).chain_update(qe_auth_data).finalize();
    qe_report[320..352].copy_from_slice(&binding);
    let qe_signature: Signature = pck.sign(&qe_report);

    let mut out = String::new();
    out.push_str("// Generated by tee/build.rs: TEST-ONLY attestation material, not Intel's.\n");
    bytes_const(&mut out, "ATTESTATION_KEY_SECRET", &attestation.to_bytes());
    bytes_const(&mut out, "ATTESTATION_KEY_PUBLIC", &ak_public);
    bytes_const(&mut out, "QE_REPORT", &qe_report);
    bytes_const(&mut out, "QE_REPORT_SIGNATURE", &qe_signature.to_bytes());
    bytes_const(&mut out, "QE_AUTH_DATA", qe_auth_data);
    writeln!(out, "pub const PCK_CHAIN_PEM: &str = {:?};", chain).unwrap();
    writeln!(out, "pub const ROOT_CA_PEM: &str = {:?};", root_pem).unwrap();
    std::fs::write(out_dir.join("tdx_test_attestation.rs"), out).expect("write generated constants");
    std::fs::write(out_dir.join("tdx_test_root_ca.pem"), root_pem).expect("write the test root");

    snp_test_cert_table(&out_dir);
}

/// The SNP emulator's certificate table (what its hypervisor returns for
/// an extended guest request): the verifier's TEST chain
/// (`verifier/test-roots/snp-vcek-ask-ark.pem`: VCEK, ASK, ARK, none of
/// them AMD's) as DER under the GHCB GUIDs, in the GHCB spec's layout:
/// entries { GUID, offset u32, length u32 }, an all-zero entry, the data.
/// Each certificate starts on its own page (offsets are the host's
/// choice), so the table needs 4 pages as a real one (RSA-4096 ARK and
/// ASK) needs more than one: a smaller buffer gets INVALID_LEN.
fn snp_test_cert_table(out_dir: &std::path::Path) {
    use x509_cert::der::Encode;
    const PEM: &str = "../verifier/test-roots/snp-vcek-ask-ark.pem";
    println!("cargo:rerun-if-changed={}", PEM);
    // GUIDs in the byte order their text reads (as go-sev-guest and the
    // sev crate lay them out): VCEK, ASK, ARK.
    const GUIDS: [&str; 3] =
        ["63da758d-e664-4564-adc5-f4b93be8accd", "4ab7b379-bbac-4fe4-a02f-05aef327c782", "c0b406a4-a803-4952-9743-3fb6014cd0ae"];
    let pem = std::fs::read(PEM).expect("the verifier's TEST SNP chain");
    let certs = x509_cert::Certificate::load_pem_chain(&pem).expect("the TEST SNP chain parses");
    assert_eq!(certs.len(), 3, "VCEK, ASK, ARK");
    let mut table = vec![0u8; (GUIDS.len() + 1) * 24];
    for (i, (cert, guid)) in certs.iter().zip(GUIDS).enumerate() {
        let der = cert.to_der().expect("DER");
        let hex: String = guid.chars().filter(|c| *c != '-').collect();
        for (j, byte) in table[i * 24..i * 24 + 16].iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * j..2 * j + 2], 16).expect("hex");
        }
        table.resize(table.len().div_ceil(4096) * 4096, 0);
        let offset = table.len() as u32;
        table[i * 24 + 16..i * 24 + 20].copy_from_slice(&offset.to_le_bytes());
        table[i * 24 + 20..i * 24 + 24].copy_from_slice(&(der.len() as u32).to_le_bytes());
        table.extend_from_slice(&der);
    }
    std::fs::write(out_dir.join("snp_test_cert_table.bin"), table).expect("write the SNP test certificate table");
}
