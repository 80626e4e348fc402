//! AMD SEV-SNP: attestation report parsing, certificate table, verification.

pub mod certs;
pub mod report;
pub mod verify;

pub use verify::{verify, SnpChain};
