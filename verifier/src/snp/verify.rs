//! Verifying an SNP attestation report: VCEK/VLEK -> ASK -> ARK chain,
//! the chip the VCEK names, the report signature, policy, nonce and
//! measurement.
//!
//! Not done (documented in README): CRLs, fetching the VCEK from AMD's KDS.

use ring::signature::{UnparsedPublicKey, ECDSA_P384_SHA384_FIXED};

use super::certs::{self, CertKind};
use super::report::{self, SnpReport};
use crate::bytes::hex;
use crate::policy::Policy;
use crate::roots::{self, RootKind};
use crate::verdict::{Check, Failure, Verdict, Verified};
use crate::x509::{self, Cert, KeyKind};

/// VCEK extension holding the chip id (AMD "VCEK certificate and KDS
/// interface specification" 57230: 1.3.6.1.4.1.3704.1.4, hwID).
const OID_HWID: &str = "1.3.6.1.4.1.3704.1.4";

/// VCEK TCB extensions (57230): INTEGERs, one per security patch level.
const OID_BL_SPL: &str = "1.3.6.1.4.1.3704.1.3.1";
const OID_TEE_SPL: &str = "1.3.6.1.4.1.3704.1.3.2";
const OID_SNP_SPL: &str = "1.3.6.1.4.1.3704.1.3.3";
const OID_UCODE_SPL: &str = "1.3.6.1.4.1.3704.1.3.8";
const OID_FMC_SPL: &str = "1.3.6.1.4.1.3704.1.3.9";

/// Byte of each SPL in TCB_VERSION: (oid, Milan/Genoa byte, Turin byte).
const TCB_LAYOUT: [(&str, Option<usize>, usize); 5] = [
    (OID_BL_SPL, Some(0), 1),
    (OID_TEE_SPL, Some(1), 2),
    (OID_SNP_SPL, Some(6), 3),
    (OID_UCODE_SPL, Some(7), 7),
    (OID_FMC_SPL, None, 0),
];

/// The VCEK must name this chip (hwID: 64 bytes, or 8 on Turin, unless
/// the report masks CHIP_ID) and this TCB (each SPL extension present
/// equals its byte of REPORTED_TCB). Test VCEKs carry neither.
fn check_chip_and_tcb(r: &SnpReport, leaf: &Cert, turin: bool) -> Result<(), Failure> {
    if let Some(hwid) = leaf.extension(OID_HWID) {
        // Raw bytes, or an OCTET STRING holding them.
        let id = match hwid {
            [0x04, len, rest @ ..] if rest.len() == *len as usize => rest,
            other => other,
        };
        let matches = match id.len() {
            64 => id == r.chip_id,
            8 => id == &r.chip_id[..8],
            n => return Err(Failure::new(Check::CertChain, format!("VCEK hwID of {n} bytes"))),
        };
        if r.flags & report::FLAGS_MASK_CHIP_ID == 0 && !matches {
            return Err(Failure::new(Check::CertChain, "the VCEK belongs to another chip (hwID is not CHIP_ID)"));
        }
    }
    let tcb = r.reported_tcb.to_le_bytes();
    for (oid, classic, turin_byte) in TCB_LAYOUT {
        let Some(value) = leaf.extension(oid) else { continue };
        let spl = <u8 as der::Decode>::from_der(value)
            .map_err(|_| Failure::new(Check::CertChain, format!("VCEK extension {oid} is not a small INTEGER")))?;
        let byte = if turin { Some(turin_byte) } else { classic };
        if let Some(at) = byte {
            if tcb[at] != spl {
                return Err(Failure::new(
                    Check::CertChain,
                    format!("the VCEK is for another TCB: {oid} is {spl}, REPORTED_TCB has {} (byte {at})", tcb[at]),
                ));
            }
        }
    }
    Ok(())
}

/// The certificates that came with the report, leaf first:
/// VCEK or VLEK, then the ASK, then (optionally) the ARK.
#[derive(Clone, Debug, Default)]
pub struct SnpChain {
    pub certs: Vec<Cert>,
}

impl SnpChain {
    /// From an SNP_GET_EXT_REPORT certificate table (configfs `auxblob`).
    pub fn from_cert_table(table: &[u8]) -> Result<Self, String> {
        let entries = certs::parse_table(table).map_err(|e| e.to_string())?;
        if !entries.iter().any(|e| matches!(e.kind, CertKind::Vcek | CertKind::Vlek)) {
            return Err("the certificate table has no VCEK or VLEK".into());
        }
        let mut ordered = Vec::new();
        for wanted in [[CertKind::Vcek, CertKind::Vlek], [CertKind::Ask, CertKind::Ask], [CertKind::Ark, CertKind::Ark]] {
            if let Some(e) = entries.iter().find(|e| wanted.contains(&e.kind)) {
                let mut certs = x509::certs_from_der_or_pem(e.data)?;
                ordered.append(&mut certs);
            }
        }
        Ok(Self { certs: ordered })
    }

    /// From PEM (or one DER) certificates, leaf first.
    pub fn from_pem(bytes: &[u8]) -> Result<Self, String> {
        Ok(Self { certs: x509::certs_from_der_or_pem(bytes)? })
    }

    /// From a certificate table or PEM, whichever `bytes` is.
    pub fn from_any(bytes: &[u8]) -> Result<Self, String> {
        if bytes.starts_with(b"-----") || bytes.first() == Some(&0x30) {
            Self::from_pem(bytes)
        } else {
            Self::from_cert_table(bytes)
        }
    }
}

pub fn verify(raw: &[u8], chain: &SnpChain, policy: &Policy) -> Verdict {
    let mut v = Verified { platform: "sev-snp", ..Default::default() };
    match run(raw, chain, policy, &mut v) {
        Ok(()) => Ok(v),
        Err(f) => Err(Box::new((f, v))),
    }
}

fn run(raw: &[u8], chain: &SnpChain, policy: &Policy, v: &mut Verified) -> Result<(), Failure> {
    let r = report::parse(raw).map_err(|e| Failure::new(Check::Format, e.to_string()))?;
    v.passed.push(Check::Format.name());
    v.fields.push(("version", r.version.to_string()));
    v.fields.push(("measurement", hex(&r.measurement)));
    v.fields.push(("report_data", hex(&r.report_data)));
    v.fields.push(("host_data", hex(&r.host_data)));
    v.fields.push(("policy", format!("{:016x}", r.policy)));
    v.fields.push(("vmpl", r.vmpl.to_string()));
    v.fields.push(("reported_tcb", format!("{:016x}", r.reported_tcb)));
    v.fields.push(("chip_id", hex(&r.chip_id)));
    if r.signature_algo != report::SIGNATURE_ALGO_ECDSA_P384_SHA384 {
        return Err(Failure::new(Check::Header, format!("signature algorithm {} (only 1, ECDSA P-384 with SHA-384)", r.signature_algo)));
    }
    let signer = report::signing_key(r.flags);
    if signer != report::SIGNING_KEY_VCEK && signer != report::SIGNING_KEY_VLEK {
        return Err(Failure::new(Check::Header, format!("SIGNING_KEY {signer}: the report is not signed by a VCEK or VLEK")));
    }
    v.passed.push(Check::Header.name());

    let leaf = check_chain(&r, chain, policy, v)?;
    let mut sig = [0u8; 96];
    sig[..48].copy_from_slice(&r.signature_r);
    sig[48..].copy_from_slice(&r.signature_s);
    UnparsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, leaf.public_key_bits())
        .verify(&raw[..report::SIGNED_END], &sig)
        .map_err(|_| Failure::new(Check::ReportSignature, "the report is not signed by the VCEK/VLEK"))?;
    v.passed.push(Check::ReportSignature.name());

    if r.policy & report::POLICY_DEBUG != 0 && !policy.allow_debug {
        return Err(Failure::new(Check::Debug, "the guest policy allows debugging (POLICY.DEBUG set)"));
    }
    v.passed.push(Check::Debug.name());

    if let Some(expected) = policy.expected_report_data() {
        let expected = expected.map_err(|e| Failure::new(Check::Nonce, e))?;
        if expected != r.report_data {
            return Err(Failure::new(Check::Nonce, format!("REPORT_DATA is {}, expected {}", hex(&r.report_data), hex(&expected))));
        }
        v.passed.push(Check::Nonce.name());
    }
    if let Some(reference) = &policy.reference {
        if let Some(m) = reference.snp_measurement {
            if m != r.measurement {
                return Err(Failure::new(Check::Measurement, format!("MEASUREMENT is {}, expected {}", hex(&r.measurement), hex(&m))));
            }
        }
        if !reference.events.is_empty() {
            return Err(Failure::new(Check::Measurement, "SNP has no RTMRs: expected events cannot be checked"));
        }
        v.passed.push(Check::Measurement.name());
    }
    Ok(())
}

/// The test VCEK and ASK (testkeys.rs): what snp-emu's reports are
/// signed under when no certificates came with them.
fn test_chain() -> &'static [Cert] {
    static CHAIN: std::sync::OnceLock<Vec<Cert>> = std::sync::OnceLock::new();
    CHAIN.get_or_init(|| {
        let mut certs = x509::certs_from_pem(crate::testkeys::snp_chain_pem().as_bytes()).expect("test chain parses");
        certs.truncate(2);
        certs
    })
}

fn check_chain(r: &SnpReport, chain: &SnpChain, policy: &Policy, v: &mut Verified) -> Result<Cert, Failure> {
    // No certificates at all: with test roots allowed, the emulator's
    // reports are checked against the test VCEK (its key is fixed).
    let certs = if chain.certs.is_empty() && policy.allow_test_roots {
        v.fields.push(("certificates", "none came with the report: using the TEST VCEK chain".into()));
        test_chain()
    } else {
        &chain.certs
    };
    if certs.len() < 2 {
        return Err(Failure::new(Check::CertChain, "need the VCEK (or VLEK) and the ASK"));
    }
    let known = roots::snp_roots();
    // The ARK: the one that came along must be a known root; else the
    // known root that signed the ASK.
    let root = match certs.get(2) {
        Some(ark) => roots::find_exact(known, ark)
            .ok_or_else(|| Failure::new(Check::UnknownRoot, format!("the chain ends at \"{}\", not a known ARK", ark.subject())))?,
        None => roots::find_issuer(known, &certs[1])
            .ok_or_else(|| Failure::new(Check::UnknownRoot, format!("no known ARK signed \"{}\"", certs[1].subject())))?,
    };
    v.root = root.name.to_string();
    v.test_root = root.kind == RootKind::Test;
    if v.test_root && !policy.allow_test_roots {
        return Err(Failure::new(Check::TestRoot, format!("the chain ends at the test root \"{}\" (emulated TEE); pass --allow-test-roots to accept it", root.name)));
    }
    v.passed.push(Check::UnknownRoot.name());
    let full = [certs[0].clone(), certs[1].clone(), root.cert.clone()];
    x509::verify_chain(&full, policy.now()).map_err(|e| Failure::new(Check::CertChain, e))?;
    let leaf = full[0].clone();
    if leaf.is_ca() {
        return Err(Failure::new(Check::CertChain, format!("\"{}\" is a CA, not a VCEK/VLEK", leaf.subject())));
    }
    if leaf.key_kind() != Ok(KeyKind::P384) {
        return Err(Failure::new(Check::CertChain, "the VCEK/VLEK key is not ECDSA P-384"));
    }
    check_chip_and_tcb(r, &leaf, root.name.contains("Turin"))?;
    v.passed.push(Check::CertChain.name());
    Ok(leaf)
}
