//! The driver's TDREPORT buffer (Linux `tdx_report_buf` + `mr_lock`):
//! every report the driver asks for lands in it, and the measurement
//! registers are read out of it.
//!
//! Owns: [`TdxGuest`], which serialises TDG.MR.REPORT and
//! TDG.MR.RTMR.EXTEND, and the tsm-mr cache rule: a live register (an
//! RTMR) is re-read with a fresh TDREPORT when an extend happened since
//! the last refresh; the others keep the value of the last report.
//! Must never: hand out a register value from a report that failed.

use alloc::boxed::Box;
use alloc::sync::Arc;

use services::error::Result;
use tee::tdx::report::layout;

use crate::sync::SleepMutex;
use super::backend::{TdxBackend, DIGEST_LEN, REPORTDATA_LEN, RTMR_COUNT, TDREPORT_LEN};

/// A measurement register the driver exposes (Linux `tdx_mrs[]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mr {
    Rtmr(usize),
    Mrtd,
    MrConfigId,
    MrOwner,
    MrOwnerConfig,
}

impl Mr {
    /// In Linux's order: rtmr0..3, mrtd, mrconfigid, mrowner, mrownerconfig.
    pub const ALL: [Mr; 8] =
        [Mr::Rtmr(0), Mr::Rtmr(1), Mr::Rtmr(2), Mr::Rtmr(3), Mr::Mrtd, Mr::MrConfigId, Mr::MrOwner, Mr::MrOwnerConfig];

    /// The sysfs file name: `NAME:sha384`, or `NAME` for the registers
    /// without a hash algorithm (`TSM_MR_F_NOHASH`).
    pub fn file_name(self) -> &'static str {
        match self {
            Mr::Rtmr(0) => "rtmr0:sha384",
            Mr::Rtmr(1) => "rtmr1:sha384",
            Mr::Rtmr(2) => "rtmr2:sha384",
            Mr::Rtmr(_) => "rtmr3:sha384",
            Mr::Mrtd => "mrtd:sha384",
            Mr::MrConfigId => "mrconfigid",
            Mr::MrOwner => "mrowner",
            Mr::MrOwnerConfig => "mrownerconfig",
        }
    }

    /// Offset of the 48-byte value in the TDREPORT.
    fn offset(self) -> usize {
        match self {
            Mr::Rtmr(index) => layout::RTMR0 + index.min(RTMR_COUNT - 1) * layout::SHA384_SIZE,
            Mr::Mrtd => layout::MRTD,
            Mr::MrConfigId => layout::MRCONFIGID,
            Mr::MrOwner => layout::MROWNER,
            Mr::MrOwnerConfig => layout::MROWNERCONFIG,
        }
    }

    /// RTMRs change at run time (`TSM_MR_F_LIVE`) and can be extended
    /// (`TSM_MR_F_WRITABLE`).
    pub fn is_rtmr(self) -> bool {
        matches!(self, Mr::Rtmr(_))
    }
}

struct Buffer {
    report: Box<[u8; TDREPORT_LEN]>,
    /// No extend since the last refresh (tsm-mr `in_sync`).
    in_sync: bool,
}

/// The TDX guest driver's state.
pub struct TdxGuest {
    backend: Box<dyn TdxBackend>,
    /// Held across the TDCALLs (Linux `mr_lock`).
    buffer: SleepMutex<Buffer>,
}

impl TdxGuest {
    /// `tdx_mr_init`: one report to fill the buffer; no driver without it.
    pub fn new(backend: Box<dyn TdxBackend>) -> Result<Arc<TdxGuest>> {
        let guest = TdxGuest { backend, buffer: SleepMutex::new(Buffer { report: Box::new([0; TDREPORT_LEN]), in_sync: false }) };
        guest.refresh()?;
        Ok(Arc::new(guest))
    }

    /// `tdx_do_report`: a TDREPORT over `reportdata` (or over the
    /// buffer's previous REPORTDATA), kept in the buffer.
    pub fn report(&self, reportdata: Option<&[u8; REPORTDATA_LEN]>) -> Result<Box<[u8; TDREPORT_LEN]>> {
        let mut buffer = self.buffer.lock();
        Self::report_locked(&*self.backend, &mut buffer, reportdata)?;
        Ok(buffer.report.clone())
    }

    fn report_locked(backend: &dyn TdxBackend, buffer: &mut Buffer, reportdata: Option<&[u8; REPORTDATA_LEN]>) -> Result<()> {
        let data_range = layout::REPORTDATA..layout::REPORTDATA + REPORTDATA_LEN;
        if let Some(data) = reportdata {
            buffer.report[data_range.clone()].copy_from_slice(data);
        }
        let mut data = [0u8; REPORTDATA_LEN];
        data.copy_from_slice(&buffer.report[data_range]);
        *buffer.report = backend.report(&data)?;
        Ok(())
    }

    /// `tdx_mr_refresh`.
    fn refresh(&self) -> Result<()> {
        let mut buffer = self.buffer.lock();
        Self::report_locked(&*self.backend, &mut buffer, None)?;
        buffer.in_sync = true;
        Ok(())
    }

    /// `tdx_do_extend`: RTMR `index` = SHA-384(RTMR || `data`).
    pub fn extend(&self, index: usize, data: &[u8; DIGEST_LEN]) -> Result<()> {
        let mut buffer = self.buffer.lock();
        self.backend.extend_rtmr(index, data)?;
        buffer.in_sync = false;
        Ok(())
    }

    /// `tm_digest_read`: the register's current value.
    pub fn read_mr(&self, mr: Mr) -> Result<[u8; DIGEST_LEN]> {
        let mut buffer = self.buffer.lock();
        if mr.is_rtmr() && !buffer.in_sync {
            Self::report_locked(&*self.backend, &mut buffer, None)?;
            buffer.in_sync = true;
        }
        let mut value = [0u8; DIGEST_LEN];
        value.copy_from_slice(&buffer.report[mr.offset()..mr.offset() + DIGEST_LEN]);
        Ok(value)
    }
}
