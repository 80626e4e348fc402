//! SNP report verification end to end with the test keys.

use verifier::reference::{self, Reference};
use verifier::snp::report::{self, offsets, REPORT_SIZE};
use verifier::snp::SnpChain;
use verifier::{testgen, testkeys, Check, Policy};

const NONCE: &[u8] = b"snp nonce 42";

fn fields() -> testgen::SnpFields {
    let mut report_data = [0u8; 64];
    report_data[..NONCE.len()].copy_from_slice(NONCE);
    testgen::SnpFields { report_data, measurement: reference::sha384(b"kernel"), ..Default::default() }
}

fn policy() -> Policy {
    Policy {
        allow_test_roots: true,
        nonce: Some(NONCE.to_vec()),
        reference: Some(Reference { snp_measurement: Some(reference::sha384(b"kernel")), ..Default::default() }),
        ..Default::default()
    }
}

fn chain() -> SnpChain {
    SnpChain::from_cert_table(&testgen::snp_cert_table()).expect("test table parses")
}

fn failed(raw: &[u8], chain: &SnpChain, p: &Policy) -> Check {
    match verifier::snp::verify(raw, chain, p) {
        Ok(v) => panic!("verified but should not have: {v:?}"),
        Err(e) => e.0.check,
    }
}

#[test]
fn honest_report_verifies_from_table_and_pem() {
    let r = testgen::snp_report(&fields());
    let v = verifier::snp::verify(&r, &chain(), &policy()).expect("honest report verifies");
    assert!(v.test_root);
    assert_eq!(v.root, "Umbra TEST-ONLY ARK");
    let pem = SnpChain::from_any(testkeys::snp_chain_pem().as_bytes()).unwrap();
    verifier::snp::verify(&r, &pem, &policy()).expect("with the PEM chain too");
    // Without the ARK: the built-in (test) ARK that signed the ASK is used.
    let short = SnpChain { certs: chain().certs[..2].to_vec() };
    verifier::snp::verify(&r, &short, &policy()).expect("without the ARK");
}

#[test]
fn offsets_match_the_abi() {
    // SEV-SNP ABI 56860, ATTESTATION_REPORT.
    assert_eq!(
        (offsets::POLICY, offsets::SIGNATURE_ALGO, offsets::REPORT_DATA, offsets::MEASUREMENT, offsets::CHIP_ID, offsets::SIGNATURE_R),
        (0x08, 0x34, 0x50, 0x90, 0x1A0, 0x2A0)
    );
    let r = testgen::snp_report(&fields());
    let parsed = report::parse(&r).unwrap();
    assert_eq!(&parsed.report_data[..NONCE.len()], NONCE);
    assert_eq!(parsed.version, 3);
}

#[test]
fn test_root_needs_the_flag() {
    let r = testgen::snp_report(&fields());
    assert_eq!(failed(&r, &chain(), &Policy { allow_test_roots: false, ..policy() }), Check::TestRoot);
}

#[test]
fn nonce_differs() {
    let r = testgen::snp_report(&fields());
    assert_eq!(failed(&r, &chain(), &Policy { nonce: Some(b"other".to_vec()), ..policy() }), Check::Nonce);
}

#[test]
fn measurement_differs() {
    let r = testgen::snp_report(&testgen::SnpFields { measurement: reference::sha384(b"other kernel"), ..fields() });
    assert_eq!(failed(&r, &chain(), &policy()), Check::Measurement);
}

#[test]
fn debug_policy_is_refused_unless_allowed() {
    let r = testgen::snp_report(&testgen::SnpFields { policy: 0x3_0000 | report::POLICY_DEBUG, ..fields() });
    assert_eq!(failed(&r, &chain(), &policy()), Check::Debug);
    assert!(verifier::snp::verify(&r, &chain(), &Policy { allow_debug: true, ..policy() }).is_ok());
}

#[test]
fn missing_or_foreign_certificates() {
    let r = testgen::snp_report(&fields());
    // No certificates: only the test VCEK can be assumed, and only with
    // test roots allowed (snp-emu's reports come without certificates).
    let v = verifier::snp::verify(&r, &SnpChain::default(), &policy()).expect("test VCEK assumed");
    assert!(v.test_root);
    let no_test = Policy { allow_test_roots: false, ..policy() };
    assert_eq!(failed(&r, &SnpChain::default(), &no_test), Check::CertChain);
    // The VCEK and ASK swapped: the chain does not verify.
    let c = chain();
    let swapped = SnpChain { certs: vec![c.certs[1].clone(), c.certs[0].clone()] };
    assert!(matches!(failed(&r, &swapped, &policy()), Check::UnknownRoot | Check::CertChain));
    // An ARK that is not a known root.
    let mut fake = c.certs.clone();
    fake[2] = c.certs[1].clone();
    assert_eq!(failed(&r, &SnpChain { certs: fake }, &policy()), Check::UnknownRoot);
}

/// Every byte of the report matters: flips in the signed part fail the
/// signature (or the format/header checks for the fields they need),
/// flips in the signature area fail the signature or the format.
#[test]
fn every_flipped_byte_fails_with_the_right_check() {
    let r = testgen::snp_report(&fields());
    let c = chain();
    let p = policy();
    for at in 0..REPORT_SIZE {
        let mut bad = r;
        bad[at] ^= 1;
        let check = failed(&bad, &c, &p);
        let allowed: &[Check] = match at {
            // Version 3 -> 2 still parses: the signature catches it.
            0x34..=0x37 => &[Check::Header],
            0x48 => &[Check::ReportSignature, Check::Header, Check::CertChain],
            0..=0x29F => &[Check::ReportSignature],
            _ => &[Check::ReportSignature, Check::Format],
        };
        assert!(allowed.contains(&check), "byte {at:#x}: {check:?}, expected {allowed:?}");
    }
}

#[test]
fn flipped_certificate_bytes_fail_the_chain() {
    let r = testgen::snp_report(&fields());
    let table = testgen::snp_cert_table();
    for at in (0..table.len()).step_by(5) {
        if (48..64).contains(&at) {
            // The ARK entry's GUID: an entry of unknown type is skipped,
            // and the ARK is optional (the built-in root is used).
            continue;
        }
        let mut bad = table.clone();
        bad[at] ^= 1;
        match SnpChain::from_cert_table(&bad) {
            Err(_) => {} // refused while reading the table or a certificate
            Ok(c) => {
                let check = match verifier::snp::verify(&r, &c, &policy()) {
                    Ok(_) => panic!("table byte {at:#x} flipped and the report still verified"),
                    Err(e) => e.0.check,
                };
                assert!(matches!(check, Check::CertChain | Check::UnknownRoot), "table byte {at:#x}: {check:?}");
            }
        }
    }
}

#[test]
fn real_ark_with_test_ask_is_refused() {
    let r = testgen::snp_report(&fields());
    let c = chain();
    let milan = verifier::x509::certs_from_pem(include_bytes!("../roots/amd_ark_milan.pem")).unwrap();
    let mixed = SnpChain { certs: vec![c.certs[0].clone(), c.certs[1].clone(), milan[0].clone()] };
    assert_eq!(failed(&r, &mixed, &Policy { allow_test_roots: false, ..policy() }), Check::CertChain);
}

/// AMD's real ASK-Milan (RSA-4096, RSASSA-PSS/SHA-384) verifies under the
/// built-in ARK-Milan through the same code the chains use.
#[test]
fn real_milan_ask_verifies_under_built_in_ark() {
    let ask = verifier::x509::certs_from_pem(include_bytes!("data/amd_ask_milan.pem")).unwrap().remove(0);
    let root = verifier::roots::find_issuer(verifier::roots::snp_roots(), &ask).expect("a built-in ARK signed it");
    assert_eq!(root.name, "AMD ARK-Milan");
    assert_eq!(root.kind, verifier::roots::RootKind::Real);
    assert!(ask.is_ca());
    verifier::x509::verify_chain(&[ask.clone(), root.cert.clone()], 1_800_000_000).expect("valid in 2027");
    // Not under the other ARKs.
    for other in verifier::roots::snp_roots().iter().filter(|r| r.name != "AMD ARK-Milan") {
        assert!(ask.verify_signed_by(&other.cert).is_err(), "{}", other.name);
    }
    // A changed signature byte breaks it.
    let mut der = ask.der.clone();
    let n = der.len();
    der[n - 10] ^= 1;
    let bad = verifier::x509::Cert::from_der(&der).unwrap();
    assert!(bad.verify_signed_by(&root.cert).is_err());
}

/// A VCEK names its chip and TCB: a report from another chip or claiming
/// another TCB does not go with it.
#[test]
fn vcek_must_name_the_reporting_chip_and_tcb() {
    let chip = [0x5a; 64];
    let tcb = u64::from_le_bytes([3, 0, 0, 0, 0, 0, 8, 115]);
    let vcek = testgen::snp_vcek_for(&chip, tcb);
    let c = chain();
    let with = SnpChain { certs: vec![vcek, c.certs[1].clone(), c.certs[2].clone()] };
    let good = testgen::snp_report(&testgen::SnpFields { chip_id: chip, reported_tcb: tcb, ..fields() });
    verifier::snp::verify(&good, &with, &policy()).expect("same chip and TCB");
    let other_chip = testgen::snp_report(&testgen::SnpFields { chip_id: [0x5b; 64], reported_tcb: tcb, ..fields() });
    assert_eq!(failed(&other_chip, &with, &policy()), Check::CertChain);
    for byte in [0usize, 1, 6, 7] {
        let mut t = tcb.to_le_bytes();
        t[byte] += 1;
        let other_tcb = testgen::snp_report(&testgen::SnpFields { chip_id: chip, reported_tcb: u64::from_le_bytes(t), ..fields() });
        assert_eq!(failed(&other_tcb, &with, &policy()), Check::CertChain, "TCB byte {byte}");
    }
    // Bytes 2..5 are reserved in the Milan/Genoa layout: not compared.
    let mut t = tcb.to_le_bytes();
    t[3] = 9;
    let reserved = testgen::snp_report(&testgen::SnpFields { chip_id: chip, reported_tcb: u64::from_le_bytes(t), ..fields() });
    verifier::snp::verify(&reserved, &with, &policy()).expect("reserved TCB bytes are not compared");
    // MASK_CHIP_ID: the chip id is zero and not compared.
    let mut masked = testgen::snp_report(&testgen::SnpFields { chip_id: [0; 64], reported_tcb: tcb, ..fields() });
    masked[report::offsets::FLAGS] |= report::FLAGS_MASK_CHIP_ID as u8;
    testgen::snp_sign(&mut masked);
    verifier::snp::verify(&masked, &with, &policy()).expect("masked chip id");
}
