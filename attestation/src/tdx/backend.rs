//! How the driver reaches the TDX module: TDG.MR.REPORT and
//! TDG.MR.RTMR.EXTEND through `tee`'s platform interface (which owns the
//! aligned buffers the module needs: a 1024-aligned TDREPORT, 64-aligned
//! REPORTDATA and digest), and the errno Linux returns for each module
//! status (arch/x86/coco/tdx/tdx.c): operand invalid `ENXIO`, operand busy
//! `EBUSY`, anything else `EIO`.
//!
//! Owns: the [`TdxBackend`] trait (host tests fake it) and that mapping.

use services::error::{Error, Errno, Result};
use tee::tdx::abi::status;
use tee::TeeError;

pub const REPORTDATA_LEN: usize = 64;
pub const TDREPORT_LEN: usize = 1024;
pub const DIGEST_LEN: usize = 48;
pub const RTMR_COUNT: usize = 4;

/// The two TDCALLs the driver makes.
pub trait TdxBackend: Send + Sync {
    /// TDG.MR.REPORT (subtype 0) over `reportdata`.
    fn report(&self, reportdata: &[u8; REPORTDATA_LEN]) -> Result<[u8; TDREPORT_LEN]>;
    /// TDG.MR.RTMR.EXTEND of RTMR `index` with `data`.
    fn extend_rtmr(&self, index: usize, data: &[u8; DIGEST_LEN]) -> Result<()>;
}

/// The errno Linux's `tdx_mcall_get_report0` / `tdx_mcall_extend_rtmr`
/// give for a failed TDCALL.
pub fn errno_of(error: TeeError) -> Error {
    let errno = match error {
        TeeError::Module(raw) if status::code(raw) == status::OPERAND_INVALID => Errno::ENXIO,
        TeeError::Module(raw) if status::code(raw) == status::OPERAND_BUSY => Errno::EBUSY,
        _ => Errno::EIO,
    };
    Error::with_message(errno, "TDCALL failed")
}

/// The running TD, through `tee::platform()`.
#[cfg(target_os = "none")]
pub struct TeeTdx;

#[cfg(target_os = "none")]
impl TdxBackend for TeeTdx {
    fn report(&self, reportdata: &[u8; REPORTDATA_LEN]) -> Result<[u8; TDREPORT_LEN]> {
        match tee::platform().report(reportdata) {
            Ok(tee::TeeReport::Tdx(report)) => Ok(*report.as_bytes()),
            // Other platforms' reports (once `tee` has them) are no TDREPORT.
            #[allow(unreachable_patterns)]
            Ok(_) => Err(Error::with_message(Errno::EIO, "not a TDX report")),
            Err(error) => {
                log::warn!("tdx_guest: TDG.MR.REPORT failed: {}", error);
                Err(errno_of(error))
            }
        }
    }

    fn extend_rtmr(&self, index: usize, data: &[u8; DIGEST_LEN]) -> Result<()> {
        tee::platform().extend_measurement(index, data).map_err(|error| {
            log::warn!("tdx_guest: TDG.MR.RTMR.EXTEND({}) failed: {}", index, error);
            errno_of(error)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_statuses_map_to_linux_errnos() {
        let errno = |e| errno_of(e).errno();
        assert_eq!(errno(TeeError::Module(status::OPERAND_INVALID | status::OPERAND_RCX)), Errno::ENXIO);
        assert_eq!(errno(TeeError::Module(status::OPERAND_BUSY)), Errno::EBUSY);
        assert_eq!(errno(TeeError::Module(status::EPT_WALK_FAILED)), Errno::EIO);
        assert_eq!(errno(TeeError::Unsupported), Errno::EIO);
    }
}
