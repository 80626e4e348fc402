//! The GetQuote shared buffer (`tdx_quote_buf` in Linux): a header the
//! host updates in place, then the TDREPORT going in / the quote coming
//! out. The buffer lives in shared memory: copy it out once, then parse
//! the copy (never the live buffer: the host can change it any time).
//!
//! Owns: the header codec and status values. Must never: use `out_len`
//! before checking it against the buffer it came in.

/// Header: version u64, status u64, in_len u32, out_len u32.
pub const HEADER_SIZE: usize = 24;
pub const VERSION: u64 = 1;
/// Largest buffer a guest offers (Linux uses 128 KiB... GetQuote allows
/// more; we refuse more).
pub const MAX_BUFFER: usize = 128 << 10;

/// What the status field says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuoteStatus {
    Success,
    InFlight,
    Error,
    ServiceUnavailable,
    Unknown(u64),
}

impl QuoteStatus {
    pub const SUCCESS: u64 = 0;
    pub const IN_FLIGHT: u64 = u64::MAX;
    pub const ERROR: u64 = 0x8000_0000_0000_0000;
    pub const SERVICE_UNAVAILABLE: u64 = 0x8000_0000_0000_0001;

    pub fn from_raw(raw: u64) -> Self {
        match raw {
            Self::SUCCESS => QuoteStatus::Success,
            Self::IN_FLIGHT => QuoteStatus::InFlight,
            Self::ERROR => QuoteStatus::Error,
            Self::SERVICE_UNAVAILABLE => QuoteStatus::ServiceUnavailable,
            other => QuoteStatus::Unknown(other),
        }
    }
}

/// Write a request header for `in_len` bytes of TDREPORT into `buffer`.
pub fn write_request(buffer: &mut [u8], in_len: u32) -> Result<(), &'static str> {
    if buffer.len() < HEADER_SIZE + in_len as usize || buffer.len() > MAX_BUFFER {
        return Err("quote buffer too small or too large");
    }
    buffer[0..8].copy_from_slice(&VERSION.to_le_bytes());
    buffer[8..16].copy_from_slice(&QuoteStatus::IN_FLIGHT.to_le_bytes());
    buffer[16..20].copy_from_slice(&in_len.to_le_bytes());
    buffer[20..24].copy_from_slice(&0u32.to_le_bytes());
    Ok(())
}

/// A checked view of a response header (from a private copy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuoteResponse {
    pub status: QuoteStatus,
    /// Bytes of quote after the header; at most the buffer's room.
    pub out_len: usize,
}

/// Parse the header of a private copy of the buffer.
pub fn parse_response(copy: &[u8]) -> Result<QuoteResponse, &'static str> {
    if copy.len() < HEADER_SIZE {
        return Err("quote buffer shorter than its header");
    }
    let word = |at: usize| u64::from_le_bytes(copy[at..at + 8].try_into().unwrap_or([0; 8]));
    if word(0) != VERSION {
        return Err("quote buffer version changed by the host");
    }
    let out_len = u32::from_le_bytes(copy[20..24].try_into().unwrap_or([0; 4])) as usize;
    if out_len > copy.len() - HEADER_SIZE {
        return Err("quote length beyond the buffer");
    }
    Ok(QuoteResponse { status: QuoteStatus::from_raw(word(8)), out_len })
}

/// DCAP quote v4 (ECDSA P-256) layout: what a TDX quote holds, for the
/// emulated quoting enclave that builds one and the sanity check of one
/// that comes back (full verification is the verifier's job).
pub mod v4 {
    pub const VERSION: u16 = 4;
    /// Attestation key type: ECDSA-256-with-P-256.
    pub const ATT_KEY_TYPE_ECDSA_P256: u16 = 2;
    pub const TEE_TYPE_TDX: u32 = 0x81;
    pub const HEADER_SIZE: usize = 48;
    pub const QE_VENDOR_ID: usize = 12;
    pub const USER_DATA: usize = 28;
    /// Intel's QE vendor id (the emulated QE claims it so verifiers parse
    /// the quote; its test keys still fail any real root).
    pub const INTEL_QE_VENDOR_ID: [u8; 16] =
        [0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07];
    /// TD report body (TDX 1.0, 584 bytes) and its fields' offsets in it.
    pub const BODY: usize = HEADER_SIZE;
    pub const BODY_SIZE: usize = 584;
    pub const BODY_TEE_TCB_SVN: usize = 0;
    pub const BODY_MRSEAM: usize = 16;
    pub const BODY_MRSIGNERSEAM: usize = 64;
    pub const BODY_SEAM_ATTRIBUTES: usize = 112;
    pub const BODY_TD_ATTRIBUTES: usize = 120;
    pub const BODY_XFAM: usize = 128;
    pub const BODY_MRTD: usize = 136;
    pub const BODY_MRCONFIGID: usize = 184;
    pub const BODY_MROWNER: usize = 232;
    pub const BODY_MROWNERCONFIG: usize = 280;
    pub const BODY_RTMR0: usize = 328;
    pub const BODY_REPORTDATA: usize = 520;
    /// u32 length of the signature data, then the signature data.
    pub const SIGNATURE_DATA_LEN: usize = BODY + BODY_SIZE;
    pub const SIGNATURE_DATA: usize = SIGNATURE_DATA_LEN + 4;
    /// In the signature data: ECDSA signature (r || s), attestation key
    /// (x || y), then certification data (u16 type, u32 size, data).
    pub const SIGNATURE_SIZE: usize = 64;
    pub const ATTESTATION_KEY_SIZE: usize = 64;
    /// Certification data types.
    pub const CERT_TYPE_QE_REPORT: u16 = 6;
    pub const CERT_TYPE_PCK_CHAIN: u16 = 5;
    /// QE report (SGX report body) and its signature.
    pub const QE_REPORT_SIZE: usize = 384;
    pub const QE_REPORT_SIGNATURE_SIZE: usize = 64;

    /// The smallest well-formed quote: header, body, signature length,
    /// signature, key, an empty certification-data header.
    pub const MIN_SIZE: usize = SIGNATURE_DATA + SIGNATURE_SIZE + ATTESTATION_KEY_SIZE + 6;

    /// Check the shape of a quote (from a private copy): version, key and
    /// TEE type, and that the signature data length matches. Not a
    /// signature check.
    pub fn check_shape(quote: &[u8]) -> Result<(), &'static str> {
        if quote.len() < MIN_SIZE {
            return Err("quote shorter than a v4 quote can be");
        }
        let u16_at = |at: usize| u16::from_le_bytes([quote[at], quote[at + 1]]);
        let u32_at = |at: usize| u32::from_le_bytes([quote[at], quote[at + 1], quote[at + 2], quote[at + 3]]);
        if u16_at(0) != VERSION || u16_at(2) != ATT_KEY_TYPE_ECDSA_P256 || u32_at(4) != TEE_TYPE_TDX {
            return Err("not a TDX ECDSA P-256 quote v4");
        }
        if u32_at(SIGNATURE_DATA_LEN) as usize != quote.len() - SIGNATURE_DATA {
            return Err("quote signature data length does not match the quote");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_lengths_are_refused() {
        let mut buffer = [0u8; 64];
        write_request(&mut buffer, 16).unwrap();
        buffer[20..24].copy_from_slice(&41u32.to_le_bytes());
        assert!(parse_response(&buffer).is_err());
        buffer[20..24].copy_from_slice(&40u32.to_le_bytes());
        assert_eq!(parse_response(&buffer).unwrap().out_len, 40);
        buffer[0] = 2;
        assert!(parse_response(&buffer).is_err());
    }

    #[test]
    fn quote_v4_layout_is_contiguous() {
        use super::v4::*;
        assert_eq!(BODY_RTMR0 + 4 * 48, BODY_REPORTDATA);
        assert_eq!(BODY_REPORTDATA + 64, BODY_SIZE);
        assert_eq!(SIGNATURE_DATA_LEN, 0x278);
        let mut quote = std::vec![0u8; MIN_SIZE];
        assert!(check_shape(&quote).is_err());
        quote[0] = 4;
        quote[2] = 2;
        quote[4] = 0x81;
        quote[SIGNATURE_DATA_LEN] = (MIN_SIZE - SIGNATURE_DATA) as u8;
        assert_eq!(check_shape(&quote), Ok(()));
        assert!(check_shape(&quote[..MIN_SIZE - 1]).is_err());
    }
}
