//! The one call that turns a TDREPORT into a quote (Linux
//! `tdx_report_new_locked`: GetQuote through the host's quote service).
//!
//! GetQuote needs a shared (host-visible) buffer and a quote service on
//! the host; `tee` is gaining both (another branch). Until this function
//! calls it, it answers what Linux answers when the host has no quote
//! service (GetQuote status `SERVICE_UNAVAILABLE`; Linux since 2026
//! returns `EIO` for any status but success rather than an empty quote).
//!
//! Owns: nothing else: when `tee` offers GetQuote, wire it here (and
//! only here): `tee::...::quote(tdreport)` -> the quote bytes, any failure
//! -> `EIO` (`EBUSY` while a previous request is still in flight).

use alloc::vec::Vec;

use services::error::Result;
use services::return_errno_with_message;

use super::backend::TDREPORT_LEN;

/// A quote over `tdreport`, from the host's quote service.
pub fn quote(_tdreport: &[u8; TDREPORT_LEN]) -> Result<Vec<u8>> {
    return_errno_with_message!(EIO, "GetQuote: no quote service")
}
