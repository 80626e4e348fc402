//! The configfs-tsm provider `tdx_guest` (Linux `tdx_report_new` and the
//! visibility callbacks): a report item has `generation`, `provider`,
//! `inblob` and `outblob` only; `outblob` is a quote over a TDREPORT
//! whose REPORTDATA is `inblob`, which must be exactly 64 bytes (`EINVAL`).

use alloc::sync::Arc;

use services::error::Result;
use services::return_errno_with_message;

use super::backend::REPORTDATA_LEN;
use super::guest::TdxGuest;
use crate::tsm::{ReportBlobs, ReportDesc, TsmAttr, TsmProvider};

pub struct TdxTsm {
    guest: Arc<TdxGuest>,
}

impl TdxTsm {
    pub fn new(guest: Arc<TdxGuest>) -> TdxTsm {
        TdxTsm { guest }
    }
}

impl TsmProvider for TdxTsm {
    fn name(&self) -> &'static str {
        super::NAME
    }

    fn visible(&self, attr: TsmAttr) -> bool {
        matches!(attr, TsmAttr::Generation | TsmAttr::Provider | TsmAttr::Inblob | TsmAttr::Outblob)
    }

    fn report_new(&self, desc: &ReportDesc) -> Result<ReportBlobs> {
        let Ok(reportdata) = <&[u8; REPORTDATA_LEN]>::try_from(desc.inblob.as_slice()) else {
            return_errno_with_message!(EINVAL, "TDX needs exactly 64 bytes of inblob");
        };
        let tdreport = self.guest.report(Some(reportdata))?;
        let outblob = super::quote::quote(&tdreport)?;
        Ok(ReportBlobs { outblob, ..ReportBlobs::default() })
    }
}
