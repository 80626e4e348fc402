//! The one call that turns a TDREPORT into a quote (Linux
//! `tdx_report_new_locked`: GetQuote through the host's quote service).
//!
//! GetQuote goes through `tee::get_quote` (a shared buffer, the
//! TDVMCALL, polling with a timeout); any failure is `EIO`, as Linux
//! answers for every GetQuote status but success.

use alloc::vec::Vec;

use services::error::Result;
use services::return_errno_with_message;

use super::backend::TDREPORT_LEN;

/// A quote over `tdreport`, from the host's quote service.
#[cfg(target_os = "none")]
pub fn quote(tdreport: &[u8; TDREPORT_LEN]) -> Result<Vec<u8>> {
    match tee::get_quote(&tee::tdx::TdReport::from_bytes(tdreport)) {
        Ok(quote) => Ok(quote),
        Err(e) => {
            log::warn!("tdx_guest: GetQuote failed: {e:?}");
            return_errno_with_message!(EIO, "GetQuote failed")
        }
    }
}

/// Host builds (unit tests) have no TD and no quote service: `EIO`, as
/// Linux answers when GetQuote fails.
#[cfg(not(target_os = "none"))]
pub fn quote(_tdreport: &[u8; TDREPORT_LEN]) -> Result<Vec<u8>> {
    return_errno_with_message!(EIO, "GetQuote: no TD on the host")
}
