//! How the driver reaches the PSP: one guest request (plain or extended)
//! through `tee`'s SNP channel, which seals it with VMPCK0, keeps the
//! sequence numbers and wipes the key after a failure.
//!
//! Owns: the [`SnpChannel`] trait (host tests fake it) and
//! [`SendFailure`], the outcomes Linux's driver tells apart.

/// MSG_KEY_REQ / MSG_REPORT_REQ message types (SNP firmware ABI).
pub const MSG_KEY_REQ: u8 = 3;
pub const MSG_REPORT_REQ: u8 = 5;

/// Why a guest request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendFailure {
    /// VMPCK wiped after an earlier failure; nothing sent.
    VmpckDisabled,
    /// Sequence numbers exhausted; nothing sent.
    SeqnoExhausted,
    /// No memory (or a request the channel cannot carry); nothing sent.
    NoMemory,
    /// The certificate buffer is too small: the host needs `npages`
    /// pages (the message went again as a plain request; the VMPCK lives).
    CertsTooSmall { npages: u64 },
    /// The host stayed busy; the VMPCK is wiped.
    Busy { exitinfo2: u64 },
    /// The host or the firmware refused (`exitinfo2` = SW_EXITINFO2, or
    /// all ones when no firmware call happened); the VMPCK is wiped.
    Failed { exitinfo2: u64 },
    /// The response did not authenticate or match; the VMPCK is wiped.
    BadResponse,
}

/// One guest request to the PSP.
pub trait SnpChannel: Send + Sync {
    /// Send `payload` as message `msg_type` version `msg_version`; the
    /// decrypted response payload goes to `out` (its length returned).
    /// With `certs` (a 4 KiB multiple, at most 16 KiB) the request is an
    /// extended one and the host's certificate table is copied there.
    fn send(&self, msg_type: u8, msg_version: u8, payload: &[u8], out: &mut [u8], certs: Option<&mut [u8]>)
        -> Result<usize, SendFailure>;
}

/// The running SNP guest's channel (VMPCK0), through `tee`.
#[cfg(target_os = "none")]
pub struct TeeSnp;

#[cfg(target_os = "none")]
impl SnpChannel for TeeSnp {
    fn send(&self, msg_type: u8, msg_version: u8, payload: &[u8], out: &mut [u8], certs: Option<&mut [u8]>)
        -> Result<usize, SendFailure> {
        use tee::snp::guest_request::{send, SendError};
        send(0, msg_type, msg_version, payload, out, certs).map_err(|error| match error {
            SendError::VmpckDisabled => SendFailure::VmpckDisabled,
            SendError::SeqnoExhausted => SendFailure::SeqnoExhausted,
            SendError::Invalid(why) => {
                log::warn!("sev-guest: request not sent: {}", why);
                SendFailure::NoMemory
            }
            SendError::CertsTooSmall { npages } => SendFailure::CertsTooSmall { npages },
            SendError::Busy { exitinfo2 } => SendFailure::Busy { exitinfo2 },
            SendError::Failed { exitinfo2 } => SendFailure::Failed { exitinfo2 },
            SendError::BadResponse => SendFailure::BadResponse,
        })
    }
}

/// Is there a usable channel (secrets page known, VMPCK0 not empty)?
/// Linux's probe refuses an empty VMPCK.
#[cfg(target_os = "none")]
pub fn available() -> bool {
    tee::snp::guest_request::available() && tee::snp::guest_request::vmpck_enabled(0)
}
