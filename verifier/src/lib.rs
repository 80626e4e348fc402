//! Umbra's host-side attestation verifier: parses Intel TDX quotes (v4,
//! DCAP ECDSA P-256) and AMD SEV-SNP attestation reports, checks their
//! certificate chains up to the vendors' roots (or, only when allowed,
//! the project's test roots), their signatures, the nonce in REPORTDATA,
//! the measurements against reference values, and replays the TCG2 event
//! log (CCEL) against the RTMRs.
//!
//! Owns: parsing untrusted evidence (bounds-checked, never panics on any
//! input; fuzzed by tests/fuzz_parsers.rs) and the verdict. Must never:
//! accept a test root unless the policy says so, or report success when a
//! check could not run on what the policy asks for.
//!
//! | module | holds |
//! |---|---|
//! | [`bytes`] | bounds-checked reader, hex |
//! | [`tdx`] | quote v4 layout, parser, verifier |
//! | [`snp`] | report layout, certificate table, verifier |
//! | [`eventlog`] | TCG2 crypto-agile log: parser, RTMR replay, builder |
//! | [`x509`] | certificates, chain and signature checks (ring) |
//! | [`roots`] | Intel / AMD roots built in, test roots |
//! | [`testkeys`] | the deterministic test-key scheme shared with the emulators |
//! | [`testgen`] | evidence signed with the test keys |
//! | [`reference`] | expected measurements (`umbra-verify measure`) |
//! | [`policy`], [`verdict`] | what is expected, what was found |

#![forbid(unsafe_code)]

pub mod bytes;
pub mod eventlog;
pub mod policy;
pub mod reference;
pub mod roots;
pub mod snp;
pub mod tdx;
pub mod testgen;
pub mod testkeys;
pub mod verdict;
pub mod x509;

pub use policy::Policy;
pub use verdict::{Check, Failure, Verdict, Verified};
