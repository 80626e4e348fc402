//! Evidence built with the test keys (testkeys.rs), byte for byte what
//! the emulators produce (tee-tdx: `tee/src/emu/quote_service.rs` with
//! `tee/build.rs`; tee-snp: `tee/src/emu/snp/attest.rs`), and what the
//! tests feed the verifier.
//!
//! TDX quote v4:
//! - header: version 4, key type 2, TEE type 0x81, reserved 0, Intel's QE
//!   vendor id, user data "umbra-tdx-emu-qe" and 4 zero bytes;
//! - body: the TD's TDREPORT fields;
//! - signature: the attestation key over header || body (ECDSA P-256,
//!   SHA-256, RFC 6979), r || s; attestation key x || y;
//! - certification data type 6: the QE report (384 bytes, zero except
//!   MRENCLAVE = SHA-256("Umbra TEST-ONLY quoting enclave (not Intel's QE)"),
//!   MRSIGNER = SHA-256("Umbra TEST-ONLY QE signer"), REPORTDATA[0..32] =
//!   SHA-256(attestation key || QE auth data)) signed by the PCK key, QE
//!   auth data "Umbra TEST-ONLY quoting enclave auth data", then type 5
//!   with `verifier/test-roots/tdx-pck-chain.pem`.
//!
//! SNP report: version 3, signature algorithm 1, the given fields, signed
//! by the test VCEK over bytes 0..0x2A0 (ECDSA P-384, SHA-384, RFC 6979),
//! r and s little-endian in 72-byte fields. Certificates:
//! `verifier/test-roots/snp-vcek-ask-ark.pem`, or as a GHCB certificate
//! table (VCEK, ASK, ARK; DER).

use p256::ecdsa::signature::Signer;
use sha2::{Digest, Sha256};

use crate::snp::certs as snp_certs;
use crate::snp::report::{offsets, REPORT_SIZE, SIGNED_END};
use crate::tdx::quote::{self, TdQuoteBody};
use crate::testkeys;

/// QE auth data the test QE reports.
pub const QE_AUTH_DATA: &[u8] = b"Umbra TEST-ONLY quoting enclave auth data";
/// Intel's QE vendor id (what Intel's QE writes in the quote header).
pub const INTEL_QE_VENDOR_ID: [u8; 16] = [0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07];

/// The test QE report (SGX report body) binding `att_pub`.
pub fn qe_report(att_pub: &[u8]) -> [u8; quote::QE_REPORT_SIZE] {
    let mut r = [0u8; quote::QE_REPORT_SIZE];
    r[64..96].copy_from_slice(&Sha256::digest(b"Umbra TEST-ONLY quoting enclave (not Intel's QE)"));
    r[128..160].copy_from_slice(&Sha256::digest(b"Umbra TEST-ONLY QE signer"));
    let binding: [u8; 32] = Sha256::new().chain_update(att_pub).chain_update(QE_AUTH_DATA).finalize().into();
    r[quote::QE_REPORT_DATA_OFFSET..quote::QE_REPORT_DATA_OFFSET + 32].copy_from_slice(&binding);
    r
}

pub fn td_body_bytes(b: &TdQuoteBody) -> Vec<u8> {
    let mut out = Vec::with_capacity(quote::BODY_SIZE);
    out.extend_from_slice(&b.tee_tcb_svn);
    out.extend_from_slice(&b.mr_seam);
    out.extend_from_slice(&b.mr_signer_seam);
    out.extend_from_slice(&b.seam_attributes.to_le_bytes());
    out.extend_from_slice(&b.td_attributes.to_le_bytes());
    out.extend_from_slice(&b.xfam.to_le_bytes());
    out.extend_from_slice(&b.mr_td);
    out.extend_from_slice(&b.mr_config_id);
    out.extend_from_slice(&b.mr_owner);
    out.extend_from_slice(&b.mr_owner_config);
    for r in &b.rtmr {
        out.extend_from_slice(r);
    }
    out.extend_from_slice(&b.report_data);
    out
}

/// A TD quote body with the given measurements, everything else zero but
/// XFAM (x87 | SSE, as tdx-emu reports).
pub fn td_body(mr_td: [u8; 48], rtmr: [[u8; 48]; 4], report_data: [u8; 64]) -> TdQuoteBody {
    TdQuoteBody {
        tee_tcb_svn: [0; 16],
        mr_seam: [0; 48],
        mr_signer_seam: [0; 48],
        seam_attributes: 0,
        td_attributes: 0,
        xfam: 0x3,
        mr_td,
        mr_config_id: [0; 48],
        mr_owner: [0; 48],
        mr_owner_config: [0; 48],
        rtmr,
        report_data,
    }
}

/// A test quote v4 for `body`.
pub fn tdx_quote(body: &TdQuoteBody) -> Vec<u8> {
    let att_key = testkeys::p256_key(testkeys::TDX_ATTESTATION_KEY);
    let pck_key = testkeys::p256_key(testkeys::TDX_PCK);
    let mut signed = Vec::with_capacity(quote::SIGNED_END);
    signed.extend_from_slice(&quote::QUOTE_VERSION.to_le_bytes());
    signed.extend_from_slice(&quote::ATT_KEY_TYPE_ECDSA_P256.to_le_bytes());
    signed.extend_from_slice(&quote::TEE_TYPE_TDX.to_le_bytes());
    signed.extend_from_slice(&[0u8; 4]);
    signed.extend_from_slice(&INTEL_QE_VENDOR_ID);
    let mut user_data = [0u8; 20];
    user_data[..16].copy_from_slice(b"umbra-tdx-emu-qe");
    signed.extend_from_slice(&user_data);
    signed.extend_from_slice(&td_body_bytes(body));
    let sig: p256::ecdsa::Signature = att_key.sign(&signed);
    let point = att_key.verifying_key().to_encoded_point(false);
    let att_pub = &point.as_bytes()[1..];

    let auth = QE_AUTH_DATA;
    let qe_report = qe_report(att_pub);
    let qe_sig: p256::ecdsa::Signature = pck_key.sign(&qe_report);
    let chain = testkeys::tdx_pck_chain_pem();

    let mut cert = Vec::new();
    cert.extend_from_slice(&qe_report);
    cert.extend_from_slice(&qe_sig.to_bytes());
    cert.extend_from_slice(&(auth.len() as u16).to_le_bytes());
    cert.extend_from_slice(auth);
    cert.extend_from_slice(&quote::CERT_TYPE_PCK_CHAIN.to_le_bytes());
    cert.extend_from_slice(&(chain.len() as u32).to_le_bytes());
    cert.extend_from_slice(chain.as_bytes());

    let mut sig_data = Vec::new();
    sig_data.extend_from_slice(&sig.to_bytes());
    sig_data.extend_from_slice(att_pub);
    sig_data.extend_from_slice(&quote::CERT_TYPE_QE_REPORT.to_le_bytes());
    sig_data.extend_from_slice(&(cert.len() as u32).to_le_bytes());
    sig_data.extend_from_slice(&cert);

    let mut out = signed;
    out.extend_from_slice(&(sig_data.len() as u32).to_le_bytes());
    out.extend_from_slice(&sig_data);
    out
}

/// SNP report fields the tests vary.
#[derive(Clone, Debug)]
pub struct SnpFields {
    pub policy: u64,
    pub report_data: [u8; 64],
    pub measurement: [u8; 48],
    pub host_data: [u8; 32],
    pub chip_id: [u8; 64],
    pub reported_tcb: u64,
}

impl Default for SnpFields {
    fn default() -> Self {
        // Policy: SMT allowed (bit 16), reserved bit 17 set as required.
        Self { policy: 0x3_0000, report_data: [0; 64], measurement: [0; 48], host_data: [0; 32], chip_id: [0; 64], reported_tcb: 0 }
    }
}

/// Sign an SNP report in place (bytes 0..0x2A0 by `snp vcek`).
pub fn snp_sign(report: &mut [u8; REPORT_SIZE]) {
    let vcek = testkeys::p384_key(testkeys::SNP_VCEK);
    let sig: p384::ecdsa::Signature = vcek.sign(&report[..SIGNED_END]);
    let bytes = sig.to_bytes();
    report[SIGNED_END..].fill(0);
    for i in 0..48 {
        report[offsets::SIGNATURE_R + i] = bytes[47 - i];
        report[offsets::SIGNATURE_S + i] = bytes[95 - i];
    }
}

/// A signed test SNP report (version 3).
pub fn snp_report(f: &SnpFields) -> [u8; REPORT_SIZE] {
    let mut r = [0u8; REPORT_SIZE];
    r[0..4].copy_from_slice(&3u32.to_le_bytes());
    r[offsets::POLICY..offsets::POLICY + 8].copy_from_slice(&f.policy.to_le_bytes());
    r[offsets::SIGNATURE_ALGO..offsets::SIGNATURE_ALGO + 4].copy_from_slice(&1u32.to_le_bytes());
    r[offsets::REPORT_DATA..offsets::REPORT_DATA + 64].copy_from_slice(&f.report_data);
    r[offsets::MEASUREMENT..offsets::MEASUREMENT + 48].copy_from_slice(&f.measurement);
    r[offsets::HOST_DATA..offsets::HOST_DATA + 32].copy_from_slice(&f.host_data);
    r[offsets::CHIP_ID..offsets::CHIP_ID + 64].copy_from_slice(&f.chip_id);
    r[offsets::REPORTED_TCB..offsets::REPORTED_TCB + 8].copy_from_slice(&f.reported_tcb.to_le_bytes());
    snp_sign(&mut r);
    r
}

/// The test chain as a GHCB certificate table (VCEK, ASK, ARK; DER).
pub fn snp_cert_table() -> Vec<u8> {
    let certs = crate::x509::certs_from_pem(testkeys::snp_chain_pem().as_bytes()).expect("test chain parses");
    snp_certs::build_table(&[
        (snp_certs::GUID_VCEK, &certs[0].der),
        (snp_certs::GUID_ASK, &certs[1].der),
        (snp_certs::GUID_ARK, &certs[2].der),
    ])
}

/// AMD's VCEK extensions, for building VCEKs that name a chip and a TCB.
mod vcek_ext {
    use der::asn1::{ObjectIdentifier, OctetString};
    use x509_cert::ext::{AsExtension, Extension};
    use x509_cert::name::Name;

    macro_rules! spl {
        ($name:ident, $oid:expr) => {
            #[derive(Clone, Copy)]
            pub struct $name(pub u8);
            impl der::oid::AssociatedOid for $name {
                const OID: ObjectIdentifier = ObjectIdentifier::new_unwrap($oid);
            }
            impl der::Encode for $name {
                fn encoded_len(&self) -> der::Result<der::Length> {
                    self.0.encoded_len()
                }
                fn encode(&self, w: &mut impl der::Writer) -> der::Result<()> {
                    self.0.encode(w)
                }
            }
            impl AsExtension for $name {
                fn critical(&self, _: &Name, _: &[Extension]) -> bool {
                    false
                }
            }
        };
    }
    spl!(BlSpl, "1.3.6.1.4.1.3704.1.3.1");
    spl!(TeeSpl, "1.3.6.1.4.1.3704.1.3.2");
    spl!(SnpSpl, "1.3.6.1.4.1.3704.1.3.3");
    spl!(UcodeSpl, "1.3.6.1.4.1.3704.1.3.8");

    pub struct HwId(pub OctetString);
    impl der::oid::AssociatedOid for HwId {
        const OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.3704.1.4");
    }
    impl der::Encode for HwId {
        fn encoded_len(&self) -> der::Result<der::Length> {
            self.0.encoded_len()
        }
        fn encode(&self, w: &mut impl der::Writer) -> der::Result<()> {
            self.0.encode(w)
        }
    }
    impl AsExtension for HwId {
        fn critical(&self, _: &Name, _: &[Extension]) -> bool {
            false
        }
    }
}

/// A test VCEK (key `snp vcek`, signed by `snp ask`) that, like AMD's,
/// names a chip (hwID) and a TCB (SPL extensions, Milan/Genoa layout).
/// Not part of the committed chain: tests use it for the chip/TCB checks.
pub fn snp_vcek_for(chip_id: &[u8; 64], reported_tcb: u64) -> crate::x509::Cert {
    use std::str::FromStr;
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};
    let ask_key = testkeys::p384_key(testkeys::SNP_ASK);
    let vcek_key = testkeys::p384_key(testkeys::SNP_VCEK);
    let tcb = reported_tcb.to_le_bytes();
    let spki = {
        use spki::EncodePublicKey;
        let der = vcek_key.verifying_key().to_public_key_der().expect("encodes");
        x509_cert::spki::SubjectPublicKeyInfoOwned::try_from(der.as_bytes()).expect("parses")
    };
    let issuer = x509_cert::name::Name::from_str(testkeys::SNP_ASK_SUBJECT).expect("name");
    let subject = x509_cert::name::Name::from_str(testkeys::SNP_VCEK_SUBJECT).expect("name");
    let validity = crate::x509::certs_from_pem(testkeys::snp_chain_pem().as_bytes()).expect("chain")[0]
        .parsed
        .tbs_certificate
        .validity;
    let mut b = CertificateBuilder::new(
        Profile::Leaf { issuer, enable_key_agreement: false, enable_key_encipherment: false },
        x509_cert::serial_number::SerialNumber::from(4u32),
        validity,
        subject,
        spki,
        &ask_key,
    )
    .expect("builder");
    b.add_extension(&vcek_ext::BlSpl(tcb[0])).expect("ext");
    b.add_extension(&vcek_ext::TeeSpl(tcb[1])).expect("ext");
    b.add_extension(&vcek_ext::SnpSpl(tcb[6])).expect("ext");
    b.add_extension(&vcek_ext::UcodeSpl(tcb[7])).expect("ext");
    b.add_extension(&vcek_ext::HwId(der::asn1::OctetString::new(chip_id.to_vec()).expect("64 bytes"))).expect("ext");
    let cert = b.build::<p384::ecdsa::DerSignature>().expect("VCEK builds");
    crate::x509::Cert::from_der(&der::Encode::to_der(&cert).expect("encodes")).expect("parses")
}
