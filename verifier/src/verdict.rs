//! The verifier's answer: which checks passed and, on failure, the one
//! that failed and why. Checks run in a fixed order (format, roots,
//! chain, signatures, policy, nonce, measurements, event log), stopping
//! at the first failure.

use serde_json::json;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Check {
    /// The evidence does not parse (sizes, nesting, format constants).
    Format,
    /// Quote header fields (version, attestation key type, TEE type) or
    /// the report's signature algorithm are not the supported ones.
    Header,
    /// The chain ends at a test root and test roots were not allowed.
    TestRoot,
    /// The chain ends at no known root.
    UnknownRoot,
    /// A certificate does not parse, is not signed by its issuer, or is
    /// not valid now; or the VCEK does not belong to the reporting chip.
    CertChain,
    /// TDX: the QE report is not signed by the PCK key.
    QeReportSignature,
    /// TDX: the QE report does not bind the attestation key and QE auth data.
    QeReportBinding,
    /// TDX: the quote (header + body) is not signed by the attestation key.
    QuoteSignature,
    /// SNP: the report is not signed by the VCEK/VLEK.
    ReportSignature,
    /// Debug TD / debug-enabled SNP policy (not allowed unless asked).
    Debug,
    /// REPORTDATA is not the expected nonce.
    Nonce,
    /// MRTD / SNP measurement differs from the expected value, or an
    /// expected event (kernel command line, initramfs) is not in the log.
    Measurement,
    /// The event log does not parse or does not replay to the RTMRs.
    EventLog,
}

impl Check {
    pub fn name(self) -> &'static str {
        match self {
            Check::Format => "format",
            Check::Header => "header",
            Check::TestRoot => "test-root",
            Check::UnknownRoot => "root",
            Check::CertChain => "cert-chain",
            Check::QeReportSignature => "qe-report-signature",
            Check::QeReportBinding => "qe-report-binding",
            Check::QuoteSignature => "quote-signature",
            Check::ReportSignature => "report-signature",
            Check::Debug => "debug",
            Check::Nonce => "nonce",
            Check::Measurement => "measurement",
            Check::EventLog => "event-log",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub check: Check,
    pub why: String,
}

impl Failure {
    pub fn new(check: Check, why: impl Into<String>) -> Self {
        Self { check, why: why.into() }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}: {}", self.check.name(), self.why)
    }
}

/// What a successful verification established.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    pub platform: &'static str,
    /// Name of the root the chain ends at.
    pub root: String,
    pub test_root: bool,
    /// Checks that ran and passed, in order.
    pub passed: Vec<&'static str>,
    /// (field, hex value) pairs worth showing: MRTD, RTMRs, measurement, ...
    pub fields: Vec<(&'static str, String)>,
}

/// Ok, or the failure with what had passed before it (boxed: the error
/// path should not make every Result large).
pub type Verdict = Result<Verified, Box<(Failure, Verified)>>;

/// The verdict as JSON: {"verdict": "pass"|"fail", "failed_check",
/// "reason", "platform", "root", "test_root", "passed", "fields"}.
pub fn to_json(verdict: &Verdict) -> serde_json::Value {
    let (v, failure) = match verdict {
        Ok(v) => (v, None),
        Err(e) => (&e.1, Some(&e.0)),
    };
    let fields: serde_json::Map<String, serde_json::Value> =
        v.fields.iter().map(|(k, val)| (k.to_string(), json!(val))).collect();
    json!({
        "verdict": if failure.is_none() { "pass" } else { "fail" },
        "failed_check": failure.map(|f| f.check.name()),
        "reason": failure.map(|f| f.why.clone()),
        "platform": v.platform,
        "root": v.root,
        "test_root": v.test_root,
        "passed": v.passed,
        "fields": fields,
    })
}

/// The verdict as text for people.
pub fn to_text(verdict: &Verdict) -> String {
    let mut out = String::new();
    let v = match verdict {
        Ok(v) => {
            out.push_str(&format!("PASS: {} evidence verified", v.platform));
            if v.test_root {
                out.push_str(" (TEST ROOT: emulated TEE, not a real one)");
            }
            out.push('\n');
            v
        }
        Err(e) => {
            let (f, v) = (&e.0, &e.1);
            out.push_str(&format!("FAIL: check `{}` failed: {}\n", f.check.name(), f.why));
            v
        }
    };
    if !v.root.is_empty() {
        out.push_str(&format!("  root: {}\n", v.root));
    }
    out.push_str(&format!("  passed: {}\n", v.passed.join(", ")));
    for (k, val) in &v.fields {
        out.push_str(&format!("  {k}: {val}\n"));
    }
    out
}
