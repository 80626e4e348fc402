//! Intel TDX DCAP quote, version 4 (Intel TDX DCAP Quoting Library API,
//! appendix "Quote Format"; the same offsets as go-tdx-guest's `abi`).
//!
//! ```text
//! 0x000  header (48): version u16 = 4, attestation key type u16 = 2
//!        (ECDSA P-256), TEE type u32 = 0x81, reserved u16 x2,
//!        QE vendor id [16], user data [20]
//! 0x030  TD quote body (584): TEE_TCB_SVN [16], MRSEAM [48],
//!        MRSIGNERSEAM [48], SEAMATTRIBUTES u64, TDATTRIBUTES u64, XFAM u64,
//!        MRTD [48], MRCONFIGID [48], MROWNER [48], MROWNERCONFIG [48],
//!        RTMR0..3 [48 each], REPORTDATA [64]
//! 0x278  signature data length u32, then signature data:
//!        quote signature [64] (r || s, big-endian), attestation key [64]
//!        (x || y), certification data: type u16 = 6, size u32, then
//!          QE report [384] (an SGX report body), QE report signature [64],
//!          QE auth data: size u16, data, certification data: type u16 = 5,
//!          size u32, PEM chain (PCK cert, intermediate CA, root CA)
//! ```
//! The quote signature covers bytes 0x000..0x278 (header and body).

use crate::bytes::{ParseError, Reader};

pub const HEADER_SIZE: usize = 0x30;
pub const BODY_SIZE: usize = 0x248;
/// End of the signed part (header + body).
pub const SIGNED_END: usize = HEADER_SIZE + BODY_SIZE;
pub const QUOTE_VERSION: u16 = 4;
pub const ATT_KEY_TYPE_ECDSA_P256: u16 = 2;
pub const TEE_TYPE_TDX: u32 = 0x81;
pub const CERT_TYPE_QE_REPORT: u16 = 6;
pub const CERT_TYPE_PCK_CHAIN: u16 = 5;
pub const QE_REPORT_SIZE: usize = 384;
/// Offset of REPORTDATA inside the QE report (SGX report body).
pub const QE_REPORT_DATA_OFFSET: usize = 320;
/// TDATTRIBUTES bit 0: the TD is debuggable (its memory is readable by the host).
pub const TD_ATTRIBUTE_DEBUG: u64 = 1;
/// Largest signature data we accept (a quote buffer is at most 128 KiB).
pub const SIGNATURE_DATA_MAX: usize = 128 << 10;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuoteHeader {
    pub version: u16,
    pub att_key_type: u16,
    pub tee_type: u32,
    pub reserved: [u8; 4],
    pub qe_vendor_id: [u8; 16],
    pub user_data: [u8; 20],
}

/// The TD quote body: the TDREPORT fields the quote signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TdQuoteBody {
    pub tee_tcb_svn: [u8; 16],
    pub mr_seam: [u8; 48],
    pub mr_signer_seam: [u8; 48],
    pub seam_attributes: u64,
    pub td_attributes: u64,
    pub xfam: u64,
    pub mr_td: [u8; 48],
    pub mr_config_id: [u8; 48],
    pub mr_owner: [u8; 48],
    pub mr_owner_config: [u8; 48],
    pub rtmr: [[u8; 48]; 4],
    pub report_data: [u8; 64],
}

/// Parsed quote v4, borrowing the raw bytes it came from.
#[derive(Clone, Debug)]
pub struct QuoteV4<'a> {
    pub raw: &'a [u8],
    pub header: QuoteHeader,
    pub body: TdQuoteBody,
    /// Quote signature: r || s, 32 bytes each, big-endian.
    pub signature: [u8; 64],
    /// Attestation public key: x || y (uncompressed point without 0x04).
    pub attestation_key: [u8; 64],
    pub qe_report: &'a [u8],
    pub qe_report_signature: [u8; 64],
    pub qe_auth_data: &'a [u8],
    /// PEM text of the PCK certificate chain (leaf first).
    pub pck_chain_pem: &'a [u8],
    /// Bytes after the signature data (kept, not trusted, not signed).
    pub trailing: &'a [u8],
}

impl QuoteV4<'_> {
    /// The bytes the attestation key signs.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.raw[..SIGNED_END]
    }

    pub fn qe_report_data(&self) -> &[u8] {
        &self.qe_report[QE_REPORT_DATA_OFFSET..QE_REPORT_DATA_OFFSET + 64]
    }
}

fn parse_header(r: &mut Reader) -> Result<QuoteHeader, ParseError> {
    Ok(QuoteHeader {
        version: r.u16("header.version")?,
        att_key_type: r.u16("header.att_key_type")?,
        tee_type: r.u32("header.tee_type")?,
        reserved: r.array("header.reserved")?,
        qe_vendor_id: r.array("header.qe_vendor_id")?,
        user_data: r.array("header.user_data")?,
    })
}

fn parse_body(r: &mut Reader) -> Result<TdQuoteBody, ParseError> {
    Ok(TdQuoteBody {
        tee_tcb_svn: r.array("body.tee_tcb_svn")?,
        mr_seam: r.array("body.mr_seam")?,
        mr_signer_seam: r.array("body.mr_signer_seam")?,
        seam_attributes: r.u64("body.seam_attributes")?,
        td_attributes: r.u64("body.td_attributes")?,
        xfam: r.u64("body.xfam")?,
        mr_td: r.array("body.mr_td")?,
        mr_config_id: r.array("body.mr_config_id")?,
        mr_owner: r.array("body.mr_owner")?,
        mr_owner_config: r.array("body.mr_owner_config")?,
        rtmr: [r.array("body.rtmr0")?, r.array("body.rtmr1")?, r.array("body.rtmr2")?, r.array("body.rtmr3")?],
        report_data: r.array("body.report_data")?,
    })
}

/// Parse a quote v4. Checks structure only (sizes, nesting, the format
/// constants it cannot go on without); signatures are the verifier's job.
pub fn parse(raw: &[u8]) -> Result<QuoteV4<'_>, ParseError> {
    let mut r = Reader::new(raw);
    let header = parse_header(&mut r)?;
    if header.version != QUOTE_VERSION {
        return Err(ParseError::new("header.version", format!("{} (only version 4 is supported)", header.version)));
    }
    let body = parse_body(&mut r)?;
    let sig_len = r.u32("signature_data_len")? as usize;
    if sig_len > SIGNATURE_DATA_MAX {
        return Err(ParseError::new("signature_data_len", format!("{sig_len} is larger than a quote can be")));
    }
    let sig_data = r.take(sig_len, "signature_data")?;
    let trailing = r.remaining();

    let mut s = Reader::new(sig_data);
    let signature = s.array("quote_signature")?;
    let attestation_key = s.array("attestation_key")?;
    let cert_type = s.u16("certification_data.type")?;
    if cert_type != CERT_TYPE_QE_REPORT {
        return Err(ParseError::new("certification_data.type", format!("{cert_type} (expected 6, QE report)")));
    }
    let cert_len = s.u32("certification_data.size")? as usize;
    let cert = s.take(cert_len, "certification_data")?;
    if !s.is_empty() {
        return Err(ParseError::new("signature_data", format!("{} bytes after the certification data", s.remaining().len())));
    }

    let mut c = Reader::new(cert);
    let qe_report = c.take(QE_REPORT_SIZE, "qe_report")?;
    let qe_report_signature = c.array("qe_report_signature")?;
    let auth_len = c.u16("qe_auth_data.size")? as usize;
    let qe_auth_data = c.take(auth_len, "qe_auth_data")?;
    let pck_type = c.u16("pck_certification_data.type")?;
    if pck_type != CERT_TYPE_PCK_CHAIN {
        return Err(ParseError::new("pck_certification_data.type", format!("{pck_type} (expected 5, PCK chain PEM)")));
    }
    let pck_len = c.u32("pck_certification_data.size")? as usize;
    let pck_chain_pem = c.take(pck_len, "pck_certification_data")?;
    if !c.is_empty() {
        return Err(ParseError::new("certification_data", format!("{} bytes after the PCK chain", c.remaining().len())));
    }

    Ok(QuoteV4 {
        raw,
        header,
        body,
        signature,
        attestation_key,
        qe_report,
        qe_report_signature,
        qe_auth_data,
        pck_chain_pem,
        trailing,
    })
}

/// Byte ranges of a well-formed quote's regions (for tests and reports).
#[derive(Clone, Debug)]
pub struct Regions {
    pub header: std::ops::Range<usize>,
    pub body: std::ops::Range<usize>,
    pub signature: std::ops::Range<usize>,
    pub attestation_key: std::ops::Range<usize>,
    pub qe_report: std::ops::Range<usize>,
    pub qe_report_signature: std::ops::Range<usize>,
    pub qe_auth_data: std::ops::Range<usize>,
    pub pck_chain: std::ops::Range<usize>,
}

impl QuoteV4<'_> {
    pub fn regions(&self) -> Regions {
        let base = self.raw.as_ptr() as usize;
        let range = |s: &[u8]| {
            let start = s.as_ptr() as usize - base;
            start..start + s.len()
        };
        let sig_start = SIGNED_END + 4;
        let qe_report = range(self.qe_report);
        Regions {
            header: 0..HEADER_SIZE,
            body: HEADER_SIZE..SIGNED_END,
            signature: sig_start..sig_start + 64,
            attestation_key: sig_start + 64..sig_start + 128,
            qe_report_signature: qe_report.end..qe_report.end + 64,
            qe_report,
            qe_auth_data: range(self.qe_auth_data),
            pck_chain: range(self.pck_chain_pem),
        }
    }
}
