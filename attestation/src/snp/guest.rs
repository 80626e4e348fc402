//! The driver's request path (Linux `snp_send_guest_request` and
//! `snp_issue_guest_request`): what a request's outcome becomes for the
//! caller.
//!
//! Owns: the errno and `exitinfo2` of each outcome, as Linux gives them:
//!
//! | outcome | errno | exitinfo2 |
//! |---|---|---|
//! | success | 0 | 0 |
//! | VMPCK wiped earlier | `ENOTTY` | untouched |
//! | sequence numbers exhausted | `EIO` | untouched |
//! | no memory | `ENOMEM` | untouched |
//! | certificate buffer too small | `EIO` | `SNP_GUEST_VMM_ERR(INVALID_LEN)` |
//! | host busy for too long | `ETIMEDOUT` | SW_EXITINFO2 |
//! | host or firmware error | `EIO` | SW_EXITINFO2 (or `SEV_RET_NO_FW_CALL`) |
//! | response fails to authenticate | `EBADMSG` | 0 |

use alloc::boxed::Box;

use services::error::{Errno, Error};

use super::channel::{SendFailure, SnpChannel};
use crate::sync::SleepMutex;

/// `SNP_GUEST_VMM_ERR_SHIFT`, `SNP_GUEST_VMM_ERR_INVALID_LEN`,
/// `SNP_GUEST_VMM_ERR_BUSY` (include/uapi/linux/sev-guest.h).
pub const VMM_ERR_SHIFT: u32 = 32;
pub const VMM_ERR_INVALID_LEN: u64 = 1;
pub const VMM_ERR_BUSY: u64 = 2;
/// `SEV_RET_NO_FW_CALL` (-1) as the u64 `exitinfo2`.
pub const NO_FW_CALL: u64 = u64::MAX;
/// `SEV_FW_BLOB_MAX_SIZE`: the largest certificate buffer.
pub const CERTS_MAX: usize = 16 << 10;

/// A failed request: the errno, and what `exitinfo2` became (`None`:
/// left as it was).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestError {
    pub errno: Errno,
    pub exitinfo2: Option<u64>,
    /// Pages the host wants for certificates (too small a buffer).
    pub certs_npages: Option<u64>,
}

impl RequestError {
    pub fn of(failure: SendFailure) -> RequestError {
        let (errno, exitinfo2, certs_npages) = match failure {
            SendFailure::VmpckDisabled => (Errno::ENOTTY, None, None),
            SendFailure::SeqnoExhausted => (Errno::EIO, None, None),
            SendFailure::NoMemory => (Errno::ENOMEM, None, None),
            SendFailure::CertsTooSmall { npages } => (Errno::EIO, Some(VMM_ERR_INVALID_LEN << VMM_ERR_SHIFT), Some(npages)),
            SendFailure::Busy { exitinfo2 } => (Errno::ETIMEDOUT, Some(exitinfo2), None),
            SendFailure::Failed { exitinfo2 } => (Errno::EIO, Some(exitinfo2), None),
            SendFailure::BadResponse => (Errno::EBADMSG, Some(0), None),
        };
        RequestError { errno, exitinfo2, certs_npages }
    }

    pub fn error(&self) -> Error {
        Error::with_message(self.errno, "SNP guest request failed")
    }
}

/// The SNP guest driver's state.
pub struct SnpGuest {
    channel: Box<dyn SnpChannel>,
    /// Serialises requests (Linux `snp_cmd_mutex`): one message in the
    /// shared pages at a time; held while the host answers.
    lock: SleepMutex<()>,
}

impl SnpGuest {
    pub fn new(channel: Box<dyn SnpChannel>) -> SnpGuest {
        SnpGuest { channel, lock: SleepMutex::new(()) }
    }

    /// One request; `Ok` is the response payload's length in `out`.
    pub fn request(
        &self,
        msg_type: u8,
        msg_version: u8,
        payload: &[u8],
        out: &mut [u8],
        certs: Option<&mut [u8]>,
    ) -> Result<usize, RequestError> {
        let _serialised = self.lock.lock();
        self.channel.send(msg_type, msg_version, payload, out, certs).map_err(RequestError::of)
    }
}
