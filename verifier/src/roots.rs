//! Trust anchors: the vendors' real roots, built in, and the project's
//! test roots, accepted only when the caller allows them.
//!
//! Real roots (in `verifier/roots/`, copied from public sources and
//! checked: each is self-signed and verifies under its own key, and a test
//! pins the SHA-256 fingerprints):
//! - Intel SGX Root CA (anchors the PCK chains of TDX quotes),
//!   SHA-256 44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3;
//! - AMD ARK-Milan, ARK-Genoa, ARK-Turin (anchor ASK -> VCEK chains).

use crate::testkeys;
use crate::x509::{certs_from_pem, Cert};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootKind {
    /// A vendor's real root.
    Real,
    /// The project's test root (testkeys.rs): only with --allow-test-roots.
    Test,
}

#[derive(Clone, Debug)]
pub struct Root {
    pub name: &'static str,
    pub kind: RootKind,
    pub cert: Cert,
}

const INTEL_SGX_ROOT_CA: &str = include_str!("../roots/intel_sgx_root_ca.pem");
const AMD_ARK_MILAN: &str = include_str!("../roots/amd_ark_milan.pem");
const AMD_ARK_GENOA: &str = include_str!("../roots/amd_ark_genoa.pem");
const AMD_ARK_TURIN: &str = include_str!("../roots/amd_ark_turin.pem");

fn one(name: &'static str, kind: RootKind, pem: &str) -> Root {
    let cert = certs_from_pem(pem.as_bytes()).ok().and_then(|mut v| v.pop()).expect("built-in root parses (tested)");
    Root { name, kind, cert }
}

/// Roots for TDX PCK chains (built once).
pub fn tdx_roots() -> &'static [Root] {
    static ROOTS: std::sync::OnceLock<Vec<Root>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(build_tdx_roots)
}

/// Roots (ARKs) for SNP VCEK/VLEK chains (built once).
pub fn snp_roots() -> &'static [Root] {
    static ROOTS: std::sync::OnceLock<Vec<Root>> = std::sync::OnceLock::new();
    ROOTS.get_or_init(build_snp_roots)
}

fn build_tdx_roots() -> Vec<Root> {
    let test_chain = testkeys::tdx_pck_chain_pem();
    let test_root = certs_from_pem(test_chain.as_bytes()).ok().and_then(|mut v| v.pop()).expect("test chain parses");
    vec![
        one("Intel SGX Root CA", RootKind::Real, INTEL_SGX_ROOT_CA),
        Root { name: "Umbra TEST-ONLY SGX Root CA", kind: RootKind::Test, cert: test_root },
    ]
}

fn build_snp_roots() -> Vec<Root> {
    let test_chain = testkeys::snp_chain_pem();
    let test_root = certs_from_pem(test_chain.as_bytes()).ok().and_then(|mut v| v.pop()).expect("test chain parses");
    vec![
        one("AMD ARK-Milan", RootKind::Real, AMD_ARK_MILAN),
        one("AMD ARK-Genoa", RootKind::Real, AMD_ARK_GENOA),
        one("AMD ARK-Turin", RootKind::Real, AMD_ARK_TURIN),
        Root { name: "Umbra TEST-ONLY ARK", kind: RootKind::Test, cert: test_root },
    ]
}

/// The root among `roots` that is byte-identical to `cert`.
pub fn find_exact<'a>(roots: &'a [Root], cert: &Cert) -> Option<&'a Root> {
    roots.iter().find(|r| r.cert.der == cert.der)
}

/// The root among `roots` whose subject issued `cert` and whose key signed it.
pub fn find_issuer<'a>(roots: &'a [Root], cert: &Cert) -> Option<&'a Root> {
    roots.iter().find(|r| cert.verify_signed_by(&r.cert).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn real_roots_are_self_signed_with_known_fingerprints() {
        let expected = [
            ("Intel SGX Root CA", "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"),
            ("AMD ARK-Milan", "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd"),
            ("AMD ARK-Genoa", "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1"),
            ("AMD ARK-Turin", "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a"),
        ];
        let roots: Vec<Root> = tdx_roots().iter().chain(snp_roots()).filter(|r| r.kind == RootKind::Real).cloned().collect();
        assert_eq!(roots.len(), expected.len());
        for (root, (name, fp)) in roots.iter().zip(expected) {
            assert_eq!(root.name, name);
            assert_eq!(crate::bytes::hex(&Sha256::digest(&root.cert.der)), fp, "{name}");
            root.cert.verify_signed_by(&root.cert).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }

    #[test]
    fn test_roots_are_marked_test() {
        for r in tdx_roots().iter().chain(snp_roots().iter()) {
            assert_eq!(r.kind == RootKind::Test, r.name.contains("TEST"), "{}", r.name);
        }
    }
}
