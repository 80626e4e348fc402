//! What the relying party expects, shared by the TDX and SNP verifiers.

use crate::reference::Reference;

#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Accept chains that end at the project's test roots (emulated TEEs).
    pub allow_test_roots: bool,
    /// Accept debug TDs / SNP guests whose policy allows debugging.
    pub allow_debug: bool,
    /// Expected REPORTDATA: the nonce, zero-padded to 64 bytes.
    pub nonce: Option<Vec<u8>>,
    /// Expected measurements.
    pub reference: Option<Reference>,
    /// Seconds since the epoch for certificate validity (now by default).
    pub now: Option<u64>,
}

impl Policy {
    pub fn now(&self) -> u64 {
        self.now.unwrap_or_else(crate::x509::now)
    }

    /// The 64 bytes REPORTDATA must hold, if a nonce is expected.
    pub fn expected_report_data(&self) -> Option<Result<[u8; 64], String>> {
        self.nonce.as_ref().map(|n| {
            if n.len() > 64 {
                return Err(format!("nonce of {} bytes (at most 64 fit in REPORTDATA)", n.len()));
            }
            let mut out = [0u8; 64];
            out[..n.len()].copy_from_slice(n);
            Ok(out)
        })
    }
}
