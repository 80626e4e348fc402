//! X.509 certificates as the attestation chains use them: parsing (with
//! `x509-cert`), the exact to-be-signed bytes, and signature checks with
//! `ring` for the algorithms Intel's PCK chain (ECDSA P-256 / SHA-256) and
//! AMD's KDS chain (RSASSA-PSS / SHA-384 for ARK and ASK, ECDSA P-384 for
//! the VCEK) use, plus ECDSA P-384 / SHA-384 for the test chains.

use der::asn1::{AnyRef, ObjectIdentifier};
use der::{Decode, Encode, Reader as _, SliceReader};
use x509_cert::Certificate;

/// One parsed certificate and its DER.
#[derive(Clone, Debug)]
pub struct Cert {
    pub der: Vec<u8>,
    pub parsed: Certificate,
    /// The TBSCertificate exactly as encoded (what the issuer signed).
    pub tbs: Vec<u8>,
}

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");

/// RSASSA-PSS-params AMD uses: SHA-384, MGF1 with SHA-384, salt 48,
/// trailer 1 (the DER of the parameters SEQUENCE, from the ARK certificates).
const PSS_SHA384_PARAMS: &[u8] = &[
    0x30, 0x39, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00,
    0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09,
    0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x30, 0xa3, 0x03, 0x02,
    0x01, 0x01,
];

impl Cert {
    pub fn from_der(der: &[u8]) -> Result<Self, String> {
        let parsed = Certificate::from_der(der).map_err(|e| format!("certificate DER: {e}"))?;
        // The raw TBS: first element of the outer SEQUENCE, re-emitted from
        // its own header and value bytes (DER lengths are canonical).
        let mut reader = SliceReader::new(der).map_err(|e| e.to_string())?;
        let tbs = reader
            .sequence(|r| {
                let tbs: AnyRef = r.decode()?;
                let _alg: AnyRef = r.decode()?;
                let _sig: AnyRef = r.decode()?;
                tbs.to_der()
            })
            .map_err(|e| format!("certificate DER: {e}"))?;
        if parsed.signature_algorithm != parsed.tbs_certificate.signature {
            return Err("outer and inner signature algorithms differ".into());
        }
        Ok(Self { der: der.to_vec(), parsed, tbs })
    }

    pub fn subject(&self) -> String {
        self.parsed.tbs_certificate.subject.to_string()
    }

    pub fn issuer(&self) -> String {
        self.parsed.tbs_certificate.issuer.to_string()
    }

    /// The subjectPublicKey bits (EC point or RSAPublicKey DER).
    pub fn public_key_bits(&self) -> &[u8] {
        self.parsed.tbs_certificate.subject_public_key_info.subject_public_key.raw_bytes()
    }

    pub fn key_kind(&self) -> Result<KeyKind, String> {
        let spki = &self.parsed.tbs_certificate.subject_public_key_info;
        if spki.algorithm.oid == OID_RSA_ENCRYPTION {
            return Ok(KeyKind::Rsa);
        }
        if spki.algorithm.oid != OID_EC_PUBLIC_KEY {
            return Err(format!("unsupported public key algorithm {}", spki.algorithm.oid));
        }
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .ok_or("EC key without a named curve")?;
        match curve {
            OID_P256 => Ok(KeyKind::P256),
            OID_P384 => Ok(KeyKind::P384),
            other => Err(format!("unsupported curve {other}")),
        }
    }

    /// Seconds since the epoch of (notBefore, notAfter).
    pub fn validity(&self) -> (u64, u64) {
        let v = &self.parsed.tbs_certificate.validity;
        (v.not_before.to_unix_duration().as_secs(), v.not_after.to_unix_duration().as_secs())
    }

    /// Is `self` signed by `issuer`'s key (and named by it)?
    pub fn verify_signed_by(&self, issuer: &Cert) -> Result<(), String> {
        if self.parsed.tbs_certificate.issuer != issuer.parsed.tbs_certificate.subject {
            return Err(format!("issuer \"{}\" is not \"{}\"", self.issuer(), issuer.subject()));
        }
        let alg = &self.parsed.signature_algorithm;
        let sig = self.parsed.signature.as_bytes().ok_or("signature bit string has unused bits")?;
        let key_kind = issuer.key_kind()?;
        let ring_alg: &dyn ring::signature::VerificationAlgorithm = if alg.oid == OID_ECDSA_SHA256 {
            match key_kind {
                KeyKind::P256 => &ring::signature::ECDSA_P256_SHA256_ASN1,
                KeyKind::P384 => &ring::signature::ECDSA_P384_SHA256_ASN1,
                KeyKind::Rsa => return Err("ECDSA signature by an RSA key".into()),
            }
        } else if alg.oid == OID_ECDSA_SHA384 {
            match key_kind {
                KeyKind::P256 => &ring::signature::ECDSA_P256_SHA384_ASN1,
                KeyKind::P384 => &ring::signature::ECDSA_P384_SHA384_ASN1,
                KeyKind::Rsa => return Err("ECDSA signature by an RSA key".into()),
            }
        } else if alg.oid == OID_RSASSA_PSS {
            let params = alg.parameters.as_ref().map(|p| p.to_der()).transpose().map_err(|e| e.to_string())?;
            if params.as_deref() != Some(PSS_SHA384_PARAMS) {
                return Err("RSASSA-PSS with parameters other than SHA-384/MGF1-SHA-384/salt 48".into());
            }
            if key_kind != KeyKind::Rsa {
                return Err("RSA-PSS signature by an EC key".into());
            }
            &ring::signature::RSA_PSS_2048_8192_SHA384
        } else {
            return Err(format!("unsupported signature algorithm {}", alg.oid));
        };
        ring::signature::UnparsedPublicKey::new(ring_alg, issuer.public_key_bits())
            .verify(&self.tbs, sig)
            .map_err(|_| format!("signature on \"{}\" does not verify under \"{}\"", self.subject(), issuer.subject()))
    }

    /// Does the certificate say it is a CA (basicConstraints cA)?
    pub fn is_ca(&self) -> bool {
        self.extension("2.5.29.19")
            .and_then(|v| x509_cert::ext::pkix::BasicConstraints::from_der(v).ok())
            .is_some_and(|bc| bc.ca)
    }

    /// The value of an extension, if present.
    pub fn extension(&self, oid: &str) -> Option<&[u8]> {
        let oid = ObjectIdentifier::new(oid).ok()?;
        self.parsed
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.extn_id == oid)
            .map(|e| e.extn_value.as_bytes())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    P256,
    P384,
    Rsa,
}

/// Certificates from PEM text (any number of CERTIFICATE blocks, other
/// text between them ignored, as Intel's chain may end with a NUL).
pub fn certs_from_pem(text: &[u8]) -> Result<Vec<Cert>, String> {
    let text = std::str::from_utf8(text).map_err(|_| "PEM chain is not text".to_string())?;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut out = Vec::new();
    let mut rest = text;
    // Strict about the text around blocks (line breaks only, NULs at the
    // end): every byte of a quote must matter.
    let is_break = |c: char| c == '\n' || c == '\r';
    while let Some(start) = rest.find(BEGIN) {
        if !rest[..start].chars().all(is_break) {
            return Err("text before a certificate".into());
        }
        let after = &rest[start..];
        let end = after.find(END).ok_or("PEM block without an END line")? + END.len();
        let (_, der) = der::pem::decode_vec(&after.as_bytes()[..end]).map_err(|e| format!("PEM: {e}"))?;
        out.push(Cert::from_der(&der)?);
        rest = &after[end..];
    }
    let tail = rest.trim_end_matches('\0').trim_matches(is_break);
    if !tail.is_empty() {
        return Err("text after the last certificate".into());
    }
    if out.is_empty() {
        return Err("no certificate in the PEM chain".into());
    }
    Ok(out)
}

/// Certificates from DER or PEM bytes.
pub fn certs_from_der_or_pem(bytes: &[u8]) -> Result<Vec<Cert>, String> {
    if bytes.first() == Some(&0x30) {
        Ok(vec![Cert::from_der(bytes)?])
    } else {
        certs_from_pem(bytes)
    }
}

/// Check `chain` (leaf first, each signed by the next, the last
/// self-signed) and that every certificate is valid at `now`.
pub fn verify_chain(chain: &[Cert], now: u64) -> Result<(), String> {
    let Some(root) = chain.last() else {
        return Err("empty chain".into());
    };
    for pair in chain.windows(2) {
        pair[0].verify_signed_by(&pair[1])?;
    }
    root.verify_signed_by(root).map_err(|e| format!("root is not self-signed: {e}"))?;
    for cert in chain {
        let (not_before, not_after) = cert.validity();
        if now < not_before || now > not_after {
            return Err(format!("\"{}\" is not valid now (valid {not_before}..{not_after})", cert.subject()));
        }
    }
    Ok(())
}

/// Now, in seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
