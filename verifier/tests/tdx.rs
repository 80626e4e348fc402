//! TDX quote verification end to end with the test keys: an honest quote
//! passes; each kind of tampering fails with the check that should catch it.

use verifier::eventlog::{LogBuilder, EV_EVENT_TAG, EV_SEPARATOR};
use verifier::reference::{self, ExpectedEvent, Reference};
use verifier::tdx::quote;
use verifier::{testgen, Check, Policy};

const NONCE: &[u8] = b"host-chosen nonce 0123456789";
const CMDLINE: &[u8] = b"console=ttyS0 umbra.tee_emu=tdx";
const INITRAMFS: &[u8] = b"070701 initramfs bytes";

fn sha384(d: &[u8]) -> [u8; 48] {
    reference::sha384(d)
}

fn extend(r: [u8; 48], d: [u8; 48]) -> [u8; 48] {
    sha384(&[r, d].concat())
}

/// An honest guest: log with firmware separator in RTMR0, command line and
/// initramfs in RTMR2; RTMRs that match; REPORTDATA = nonce.
struct Honest {
    quote: Vec<u8>,
    log: Vec<u8>,
    reference: Reference,
}

fn honest_with(cmdline: &[u8]) -> Honest {
    let sep = sha384(&[0u8; 4]);
    let mut b = LogBuilder::new();
    b.event(1, EV_SEPARATOR, &sep, &[0; 4])
        .event(3, EV_EVENT_TAG, &sha384(cmdline), b"kernel command line")
        .event(3, EV_EVENT_TAG, &sha384(INITRAMFS), b"initramfs");
    let rtmr = [extend([0; 48], sep), [0; 48], extend(extend([0; 48], sha384(cmdline)), sha384(INITRAMFS)), [0; 48]];
    let mrtd = sha384(b"kernel text and rodata");
    let mut rd = [0u8; 64];
    rd[..NONCE.len()].copy_from_slice(NONCE);
    let quote = testgen::tdx_quote(&testgen::td_body(mrtd, rtmr, rd));
    let reference = Reference {
        mrtd: Some(mrtd),
        snp_measurement: None,
        events: vec![
            ExpectedEvent { mr_index: 3, digest: sha384(CMDLINE), description: "kernel command line".into() },
            ExpectedEvent { mr_index: 3, digest: sha384(INITRAMFS), description: "initramfs".into() },
        ],
    };
    Honest { quote, log: b.bytes(), reference }
}

fn honest() -> Honest {
    honest_with(CMDLINE)
}

fn policy(h: &Honest) -> Policy {
    Policy { allow_test_roots: true, nonce: Some(NONCE.to_vec()), reference: Some(h.reference.clone()), ..Default::default() }
}

fn failed(quote: &[u8], log: Option<&[u8]>, p: &Policy) -> Check {
    match verifier::tdx::verify(quote, log, p) {
        Ok(v) => panic!("verified but should not have: {v:?}"),
        Err(e) => e.0.check,
    }
}

#[test]
fn honest_quote_verifies() {
    let h = honest();
    let v = verifier::tdx::verify(&h.quote, Some(&h.log), &policy(&h)).expect("honest quote verifies");
    assert!(v.test_root);
    assert_eq!(v.root, "Umbra TEST-ONLY SGX Root CA");
    for c in ["format", "header", "root", "cert-chain", "qe-report-signature", "qe-report-binding", "quote-signature", "debug", "nonce", "event-log", "measurement"] {
        assert!(v.passed.contains(&c), "{c} not in {:?}", v.passed);
    }
}

#[test]
fn test_root_needs_the_flag() {
    let h = honest();
    let p = Policy { allow_test_roots: false, ..policy(&h) };
    assert_eq!(failed(&h.quote, Some(&h.log), &p), Check::TestRoot);
}

#[test]
fn nonce_differs() {
    let h = honest();
    let p = Policy { nonce: Some(b"another nonce".to_vec()), ..policy(&h) };
    assert_eq!(failed(&h.quote, Some(&h.log), &p), Check::Nonce);
}

#[test]
fn kernel_image_differs() {
    let h = honest();
    let mut p = policy(&h);
    p.reference.as_mut().unwrap().mrtd = Some(sha384(b"another kernel"));
    assert_eq!(failed(&h.quote, Some(&h.log), &p), Check::Measurement);
}

#[test]
fn command_line_differs() {
    // The guest booted another command line: its log and RTMRs agree with
    // each other (replay passes) but not with the expected command line.
    let h = honest_with(b"console=ttyS0 init=/bin/evil");
    let p = policy(&honest());
    assert_eq!(failed(&h.quote, Some(&h.log), &p), Check::Measurement);
}

#[test]
fn expected_events_without_a_log_fail() {
    let h = honest();
    assert_eq!(failed(&h.quote, None, &policy(&h)), Check::Measurement);
}

#[test]
fn event_log_does_not_replay() {
    let h = honest();
    // A log that leaves out the initramfs event.
    let mut b = LogBuilder::new();
    b.event(1, EV_SEPARATOR, &sha384(&[0u8; 4]), &[0; 4]).event(3, EV_EVENT_TAG, &sha384(CMDLINE), b"");
    assert_eq!(failed(&h.quote, Some(&b.bytes()), &policy(&h)), Check::EventLog);
    // A log whose digest bytes were edited.
    let mut log = h.log.clone();
    let n = log.len();
    log[n - 30] ^= 1;
    assert_eq!(failed(&h.quote, Some(&log), &policy(&h)), Check::EventLog);
    // A log that does not parse.
    assert_eq!(failed(&h.quote, Some(&h.log[..h.log.len() - 3]), &policy(&h)), Check::EventLog);
}

#[test]
fn debug_td_is_refused_unless_allowed() {
    let mut body = quote::parse(&honest().quote).unwrap().body;
    body.td_attributes |= quote::TD_ATTRIBUTE_DEBUG;
    let q = testgen::tdx_quote(&body);
    let p = Policy { allow_test_roots: true, ..Default::default() };
    assert_eq!(failed(&q, None, &p), Check::Debug);
    assert!(verifier::tdx::verify(&q, None, &Policy { allow_debug: true, ..p }).is_ok());
}

fn flip(q: &[u8], at: usize) -> Vec<u8> {
    let mut q = q.to_vec();
    q[at] ^= 0x01;
    q
}

/// Flip bytes of each region; every flip must fail, with that region's check.
#[test]
fn flipped_bytes_fail_with_the_right_check() {
    let h = honest();
    let p = policy(&h);
    let q = quote::parse(&h.quote).unwrap();
    let r = q.regions();
    let expect = |range: std::ops::Range<usize>, step: usize, allowed: &[Check], what: &str| {
        for at in range.step_by(step) {
            let c = failed(&flip(&h.quote, at), Some(&h.log), &p);
            assert!(allowed.contains(&c), "{what}: flipping byte {at:#x} failed {c:?}, expected one of {allowed:?}");
        }
    };
    // Header: version and key/TEE type are format/header errors; the rest
    // is only covered by the quote signature.
    expect(0..2, 1, &[Check::Format], "header.version");
    expect(2..8, 1, &[Check::Header], "header.types");
    expect(8..quote::HEADER_SIZE, 1, &[Check::QuoteSignature], "header");
    expect(r.body.clone(), 1, &[Check::QuoteSignature], "body");
    expect(quote::SIGNED_END..quote::SIGNED_END + 4, 1, &[Check::Format], "signature data length");
    expect(r.signature.clone(), 1, &[Check::QuoteSignature], "quote signature");
    expect(r.attestation_key.clone(), 1, &[Check::QeReportBinding], "attestation key");
    expect(r.qe_report.clone(), 1, &[Check::QeReportSignature], "QE report");
    expect(r.qe_report_signature.clone(), 1, &[Check::QeReportSignature], "QE report signature");
    expect(r.qe_auth_data.clone(), 1, &[Check::QeReportBinding], "QE auth data");
    expect(r.pck_chain.clone(), 3, &[Check::CertChain, Check::UnknownRoot], "PCK chain");
}

/// Every single-byte change anywhere makes verification fail.
#[test]
fn no_byte_is_unchecked() {
    let h = honest();
    let p = policy(&h);
    for at in 0..h.quote.len() {
        assert!(verifier::tdx::verify(&flip(&h.quote, at), Some(&h.log), &p).is_err(), "flipping byte {at:#x} went unnoticed");
    }
    let mut longer = h.quote.clone();
    longer.push(0);
    // Bytes after the signature data are not part of the quote: ignored,
    // as Intel's parser ignores them.
    assert!(verifier::tdx::verify(&longer, Some(&h.log), &p).is_ok());
}

#[test]
fn real_root_chain_with_test_leaf_is_refused() {
    // Swap the test root in the quote for Intel's real root: the chain
    // then anchors at a known root but the signatures do not verify.
    let h = honest();
    let q = quote::parse(&h.quote).unwrap();
    let chain = std::str::from_utf8(q.pck_chain_pem).unwrap();
    let cut = chain.match_indices("-----BEGIN CERTIFICATE-----").nth(2).unwrap().0;
    let intel = include_str!("../roots/intel_sgx_root_ca.pem");
    let new_chain = format!("{}{}", &chain[..cut], intel);
    let mut raw = h.quote[..q.regions().pck_chain.start - 4].to_vec();
    raw.extend_from_slice(&(new_chain.len() as u32).to_le_bytes());
    raw.extend_from_slice(new_chain.as_bytes());
    // Fix the two enclosing lengths.
    let delta = new_chain.len() as i64 - chain.len() as i64;
    let fix = |raw: &mut Vec<u8>, at: usize| {
        let old = u32::from_le_bytes(raw[at..at + 4].try_into().unwrap()) as i64;
        raw[at..at + 4].copy_from_slice(&((old + delta) as u32).to_le_bytes());
    };
    fix(&mut raw, quote::SIGNED_END);
    fix(&mut raw, q.regions().attestation_key.end + 2);
    let p = Policy { allow_test_roots: false, ..policy(&h) };
    assert_eq!(failed(&raw, Some(&h.log), &p), Check::CertChain);
}

/// A real TDX quote v4 from an Intel TDX host (a dstack test vector,
/// published in the dstack repository's tests), with its real PCK chain:
/// it verifies under the built-in Intel SGX Root CA, without test roots.
fn real_quote() -> Vec<u8> {
    let hex = include_str!("data/tdx_quote_v4_real.hex");
    verifier::bytes::unhex(hex).expect("hex test vector")
}

/// 2027-01-01: inside the validity of every certificate in the chain.
const REAL_NOW: u64 = 1_798_761_600;

#[test]
fn real_intel_quote_verifies_under_the_real_root() {
    let raw = real_quote();
    let p = Policy { now: Some(REAL_NOW), ..Default::default() };
    let v = verifier::tdx::verify(&raw, None, &p).expect("the real quote verifies");
    assert_eq!(v.root, "Intel SGX Root CA");
    assert!(!v.test_root);
    let q = quote::parse(&raw).unwrap();
    assert_eq!(q.header.qe_vendor_id[..4], [0x93, 0x9a, 0x72, 0x33]);
    assert_eq!(q.qe_auth_data, &core::array::from_fn::<u8, 32, _>(|i| i as u8)[..], "Intel's QE auth data: bytes 0..31");
    assert_eq!(q.header.qe_vendor_id, testgen::INTEL_QE_VENDOR_ID);
    assert!(q.trailing.iter().all(|&b| b == 0), "the quote buffer's zero padding");
    // Any change to the signed part or the certificates is caught.
    let r = q.regions();
    for at in [0x10, r.body.start + 5, r.body.end - 1, r.signature.start, r.qe_report.start + 100, r.qe_auth_data.start, r.pck_chain.start + 200] {
        assert!(verifier::tdx::verify(&flip(&raw, at), None, &p).is_err(), "byte {at:#x}");
    }
    // Expired PCK certificate (2033): refused.
    let later = Policy { now: Some(2_000_000_000), ..Default::default() };
    assert_eq!(failed(&raw, None, &later), Check::CertChain);
}

/// Quote v4 offsets (Intel's quote format; go-tdx-guest's abi constants):
/// body at 0x30, MRTD at body+0x88, RTMR0 at body+0x148, REPORTDATA at
/// body+0x208, signature data length at 0x278.
#[test]
fn quote_offsets_match_the_format() {
    assert_eq!((quote::HEADER_SIZE, quote::BODY_SIZE, quote::SIGNED_END), (0x30, 0x248, 0x278));
    let rtmr = [[0xa0; 48], [0xa1; 48], [0xa2; 48], [0xa3; 48]];
    let raw = testgen::tdx_quote(&testgen::td_body([0x77; 48], rtmr, [0x55; 64]));
    assert_eq!(&raw[0..8], &[4, 0, 2, 0, 0x81, 0, 0, 0]);
    assert_eq!(&raw[0x30 + 0x88..0x30 + 0xB8], &[0x77; 48]);
    assert_eq!(&raw[0x30 + 0x148..0x30 + 0x178], &[0xa0; 48]);
    assert_eq!(&raw[0x30 + 0x1D8..0x30 + 0x208], &[0xa3; 48]);
    assert_eq!(&raw[0x30 + 0x208..0x30 + 0x248], &[0x55; 64]);
    let sig_len = u32::from_le_bytes(raw[0x278..0x27C].try_into().unwrap()) as usize;
    assert_eq!(raw.len(), 0x27C + sig_len);
    // Certification data type 6 right after signature and attestation key.
    assert_eq!(&raw[0x27C + 128..0x27C + 130], &[6, 0]);
}
