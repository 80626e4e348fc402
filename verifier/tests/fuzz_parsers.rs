//! Parser fuzzing with proptest, bounded (a fixed number of cases per
//! property, so `cargo test` stays quick): no input makes a parser or a
//! verifier panic. Mutations of valid evidence reach deep into the
//! parsers; random bytes cover the rest.

use proptest::prelude::*;
use verifier::eventlog::{self, LogBuilder};
use verifier::snp::{certs, report, SnpChain};
use verifier::tdx::quote;
use verifier::{testgen, Policy};

fn config() -> ProptestConfig {
    ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() }
}

fn honest_quote() -> &'static [u8] {
    static Q: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    Q.get_or_init(|| testgen::tdx_quote(&testgen::td_body([1; 48], [[2; 48]; 4], [3; 64])))
}

fn cert_table() -> &'static [u8] {
    static T: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    T.get_or_init(testgen::snp_cert_table)
}

fn sample_log() -> Vec<u8> {
    let mut b = LogBuilder::new();
    b.event(1, eventlog::EV_SEPARATOR, &[4; 48], &[0; 4]).event(3, eventlog::EV_EVENT_TAG, &[5; 48], b"cmdline");
    b.bytes()
}

/// Apply (position, value) edits, then truncate or extend.
fn mutate(base: &[u8], edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    let mut v = base.to_vec();
    for &(at, val) in edits {
        if !v.is_empty() {
            let i = at % v.len();
            v[i] = val;
        }
    }
    if let Some(c) = cut {
        v.truncate(c % (v.len() + 1));
    }
    v
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn quote_parser_takes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = quote::parse(&bytes);
        let _ = verifier::tdx::verify(&bytes, None, &Policy::default());
    }

    #[test]
    fn quote_parser_takes_mutated_quotes(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let q = mutate(honest_quote(), &edits, cut);
        if let Ok(parsed) = quote::parse(&q) {
            let _ = parsed.regions();
        }
        let p = Policy { allow_test_roots: true, nonce: Some(vec![3; 64]), ..Default::default() };
        let _ = verifier::tdx::verify(&q, Some(&sample_log()), &p);
    }

    #[test]
    fn quote_length_fields_are_bounded(sig_len in any::<u32>(), cert_len in any::<u32>(), auth_len in any::<u16>(), pck_len in any::<u32>()) {
        let mut q = honest_quote().to_vec();
        let at = quote::SIGNED_END;
        q[at..at + 4].copy_from_slice(&sig_len.to_le_bytes());
        q[at + 4 + 130..at + 4 + 134].copy_from_slice(&cert_len.to_le_bytes());
        let auth = at + 4 + 134 + 384 + 64;
        q[auth..auth + 2].copy_from_slice(&auth_len.to_le_bytes());
        q[auth + 2 + 32 + 2..auth + 2 + 32 + 6].copy_from_slice(&pck_len.to_le_bytes());
        let _ = quote::parse(&q);
    }

    #[test]
    fn snp_report_parser_takes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), report::REPORT_SIZE..=report::REPORT_SIZE)) {
        let _ = report::parse(&bytes);
        let _ = verifier::snp::verify(&bytes, &SnpChain::default(), &Policy::default());
    }

    #[test]
    fn cert_table_parser_takes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = certs::parse_table(&bytes);
        let _ = SnpChain::from_any(&bytes);
    }

    #[test]
    fn cert_table_parser_takes_mutated_tables(
        edits in proptest::collection::vec((0usize..128, any::<u8>()), 1..6),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let t = mutate(cert_table(), &edits, cut);
        let _ = SnpChain::from_cert_table(&t);
    }

    #[test]
    fn event_log_parser_takes_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        if let Ok(log) = eventlog::parse(&bytes) {
            let _ = eventlog::replay_rtmrs(&log);
        }
    }

    #[test]
    fn event_log_parser_takes_mutated_logs(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let l = mutate(&sample_log(), &edits, cut);
        if let Ok(log) = eventlog::parse(&l) {
            let _ = eventlog::replay_rtmrs(&log);
        }
    }

    #[test]
    fn pem_parser_takes_any_text(text in "(-----BEGIN CERTIFICATE-----|-----END CERTIFICATE-----|[A-Za-z0-9+/=\n]{0,80}){0,6}") {
        let _ = verifier::x509::certs_from_pem(text.as_bytes());
    }

    #[test]
    fn reference_json_takes_any_text(text in "\\PC{0,200}") {
        let _ = verifier::reference::Reference::from_json(&text);
    }
}
