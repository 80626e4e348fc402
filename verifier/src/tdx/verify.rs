//! Verifying a TDX quote v4: chain, QE report, quote signature, policy,
//! nonce, MRTD, event log against the RTMRs.
//!
//! Not done (a real deployment needs them; documented in README):
//! TCB evaluation against Intel's TCB info / QE identity collateral and
//! CRLs, and the PCK certificate's SGX extensions (FMSPC, TCB levels).

use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};
use sha2::{Digest, Sha256};

use super::quote::{self, QuoteV4};
use crate::bytes::hex;
use crate::eventlog;
use crate::policy::Policy;
use crate::roots::{self, RootKind};
use crate::verdict::{Check, Failure, Verdict, Verified};
use crate::x509::{self, KeyKind};

/// Verify `raw` (a quote v4), with the CCEL `event_log` if given.
pub fn verify(raw: &[u8], event_log: Option<&[u8]>, policy: &Policy) -> Verdict {
    let mut v = Verified { platform: "tdx", ..Default::default() };
    match run(raw, event_log, policy, &mut v) {
        Ok(()) => Ok(v),
        Err(f) => Err(Box::new((f, v))),
    }
}

fn run(raw: &[u8], event_log: Option<&[u8]>, policy: &Policy, v: &mut Verified) -> Result<(), Failure> {
    let q = quote::parse(raw).map_err(|e| Failure::new(Check::Format, e.to_string()))?;
    v.passed.push(Check::Format.name());
    let b = &q.body;
    v.fields.push(("mrtd", hex(&b.mr_td)));
    for (i, name) in ["rtmr0", "rtmr1", "rtmr2", "rtmr3"].into_iter().enumerate() {
        v.fields.push((name, hex(&b.rtmr[i])));
    }
    v.fields.push(("report_data", hex(&b.report_data)));
    v.fields.push(("td_attributes", format!("{:016x}", b.td_attributes)));
    v.fields.push(("xfam", format!("{:016x}", b.xfam)));
    v.fields.push(("mrseam", hex(&b.mr_seam)));

    if q.header.att_key_type != quote::ATT_KEY_TYPE_ECDSA_P256 {
        return Err(Failure::new(Check::Header, format!("attestation key type {} (only 2, ECDSA P-256)", q.header.att_key_type)));
    }
    if q.header.tee_type != quote::TEE_TYPE_TDX {
        return Err(Failure::new(Check::Header, format!("TEE type {:#x} (0x81 is TDX)", q.header.tee_type)));
    }
    v.passed.push(Check::Header.name());

    let pck = check_chain(&q, policy, v)?;
    check_qe_report(&q, &pck)?;
    v.passed.push(Check::QeReportSignature.name());
    check_binding(&q)?;
    v.passed.push(Check::QeReportBinding.name());
    let mut key = [0u8; 65];
    key[0] = 0x04;
    key[1..].copy_from_slice(&q.attestation_key);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &key[..])
        .verify(q.signed_bytes(), &q.signature)
        .map_err(|_| Failure::new(Check::QuoteSignature, "the quote is not signed by its attestation key"))?;
    v.passed.push(Check::QuoteSignature.name());

    if b.td_attributes & quote::TD_ATTRIBUTE_DEBUG != 0 && !policy.allow_debug {
        return Err(Failure::new(Check::Debug, "the TD is a debug TD (TDATTRIBUTES.DEBUG set)"));
    }
    v.passed.push(Check::Debug.name());

    if let Some(expected) = policy.expected_report_data() {
        let expected = expected.map_err(|e| Failure::new(Check::Nonce, e))?;
        if expected != b.report_data {
            return Err(Failure::new(Check::Nonce, format!("REPORTDATA is {}, expected {}", hex(&b.report_data), hex(&expected))));
        }
        v.passed.push(Check::Nonce.name());
    }

    let reference = policy.reference.as_ref();
    if let Some(mrtd) = reference.and_then(|r| r.mrtd) {
        if mrtd != b.mr_td {
            return Err(Failure::new(Check::Measurement, format!("MRTD is {}, expected {} (another kernel image)", hex(&b.mr_td), hex(&mrtd))));
        }
    }
    let log = match event_log {
        Some(raw_log) => {
            let log = eventlog::parse(raw_log).map_err(|e| Failure::new(Check::EventLog, format!("event log: {e}")))?;
            let replayed = eventlog::replay_rtmrs(&log).map_err(|e| Failure::new(Check::EventLog, e.to_string()))?;
            for (i, (replayed, quoted)) in replayed.iter().zip(&b.rtmr).enumerate() {
                if replayed != quoted {
                    return Err(Failure::new(
                        Check::EventLog,
                        format!("the event log replays RTMR{i} to {}, the quote has {}", hex(replayed), hex(quoted)),
                    ));
                }
            }
            v.passed.push(Check::EventLog.name());
            Some(log)
        }
        None => None,
    };
    check_expected_events(reference.map(|r| r.events.as_slice()).unwrap_or(&[]), log.as_ref())?;
    if reference.is_some() {
        v.passed.push(Check::Measurement.name());
    }
    Ok(())
}

/// Every expected event must be in the (replayed, hence RTMR-backed) log.
pub(crate) fn check_expected_events(expected: &[crate::reference::ExpectedEvent], log: Option<&eventlog::EventLog>) -> Result<(), Failure> {
    if expected.is_empty() {
        return Ok(());
    }
    let Some(log) = log else {
        return Err(Failure::new(Check::Measurement, "expected events need the event log (--event-log)"));
    };
    for e in expected {
        let found = log
            .events
            .iter()
            .any(|ev| ev.mr_index == e.mr_index && ev.event_type != eventlog::EV_NO_ACTION && ev.digest(eventlog::ALG_SHA384) == Some(&e.digest[..]));
        if !found {
            return Err(Failure::new(
                Check::Measurement,
                format!("{} (SHA-384 {}) was not measured into MR index {}", e.description, hex(&e.digest), e.mr_index),
            ));
        }
    }
    Ok(())
}

/// The PCK chain: anchored at a known root (test roots only if allowed),
/// each certificate signed by the next and valid now. Returns the PCK leaf.
fn check_chain(q: &QuoteV4, policy: &Policy, v: &mut Verified) -> Result<x509::Cert, Failure> {
    let chain = x509::certs_from_pem(q.pck_chain_pem).map_err(|e| Failure::new(Check::CertChain, format!("PCK chain: {e}")))?;
    let known = roots::tdx_roots();
    let last = chain.last().expect("certs_from_pem returns at least one");
    let root = roots::find_exact(known, last)
        .ok_or_else(|| Failure::new(Check::UnknownRoot, format!("the PCK chain ends at \"{}\", not a known root", last.subject())))?;
    v.root = root.name.to_string();
    v.test_root = root.kind == RootKind::Test;
    if v.test_root && !policy.allow_test_roots {
        return Err(Failure::new(Check::TestRoot, format!("the chain ends at the test root \"{}\" (emulated TEE); pass --allow-test-roots to accept it", root.name)));
    }
    v.passed.push(Check::UnknownRoot.name());
    if chain.len() < 2 {
        return Err(Failure::new(Check::CertChain, "the PCK chain has no PCK certificate"));
    }
    x509::verify_chain(&chain, policy.now()).map_err(|e| Failure::new(Check::CertChain, e))?;
    let pck = chain.into_iter().next().expect("len >= 2");
    if pck.is_ca() {
        return Err(Failure::new(Check::CertChain, format!("\"{}\" is a CA, not a PCK certificate", pck.subject())));
    }
    if pck.key_kind() != Ok(KeyKind::P256) {
        return Err(Failure::new(Check::CertChain, "the PCK key is not ECDSA P-256"));
    }
    v.passed.push(Check::CertChain.name());
    Ok(pck)
}

fn check_qe_report(q: &QuoteV4, pck: &x509::Cert) -> Result<(), Failure> {
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pck.public_key_bits())
        .verify(q.qe_report, &q.qe_report_signature)
        .map_err(|_| Failure::new(Check::QeReportSignature, "the QE report is not signed by the PCK key"))
}

/// QE REPORTDATA = SHA-256(attestation key || QE auth data) || 32 zero bytes.
fn check_binding(q: &QuoteV4) -> Result<(), Failure> {
    let hash: [u8; 32] = Sha256::new().chain_update(q.attestation_key).chain_update(q.qe_auth_data).finalize().into();
    let rd = q.qe_report_data();
    if rd[..32] != hash || rd[32..].iter().any(|&b| b != 0) {
        return Err(Failure::new(Check::QeReportBinding, "the QE report does not bind this attestation key and QE auth data"));
    }
    Ok(())
}
