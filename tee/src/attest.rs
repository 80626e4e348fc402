//! The safe entry points the attestation layer uses: a report binding 64
//! bytes of REPORTDATA, and a quote for a TDX report. Whatever the host
//! returns has been copied out of shared memory and checked for shape by
//! the time it gets here; verifying signatures is the verifier's job.

use alloc::vec::Vec;
use core::time::Duration;

use crate::platform::{PlatformKind, TeeError, TeeReport};
use crate::tdx::TdReport;

/// A report of this guest with `report_data` (TDX: TDG.MR.REPORT).
pub fn get_report(report_data: &[u8; 64]) -> Result<TeeReport, TeeError> {
    crate::platform().report(report_data)
}

/// A DCAP quote v4 for `tdreport` through the host's quote service (TDX
/// only), waiting up to 30 s. `Host(u64::MAX)` means it timed out.
pub fn get_quote(tdreport: &TdReport) -> Result<Vec<u8>, TeeError> {
    get_quote_within(tdreport, crate::tdx::quoting::DEFAULT_TIMEOUT)
}

/// As [`get_quote`], with a caller-chosen timeout.
pub fn get_quote_within(tdreport: &TdReport, timeout: Duration) -> Result<Vec<u8>, TeeError> {
    let platform = crate::platform();
    if platform.kind() != PlatformKind::Tdx {
        return Err(TeeError::Unsupported);
    }
    crate::tdx::quoting::get_quote(tdreport, platform.shared_address_bits(), timeout)
}
