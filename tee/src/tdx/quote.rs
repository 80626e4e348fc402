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
}
