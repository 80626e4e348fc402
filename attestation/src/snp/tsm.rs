//! The configfs-tsm provider `sev_guest` (Linux `sev_report_new` and the
//! visibility callbacks, at VMPL0 without an SVSM): a report item has
//! `generation`, `provider`, `privlevel`, `privlevel_floor`, `inblob`,
//! `outblob` and `auxblob`.
//!
//! Owns: turning `inblob` (exactly 64 bytes, else `EINVAL`) and
//! `privlevel` (the report's VMPL) into an extended report request with a
//! 16 KiB certificate buffer; `outblob` = the attestation report,
//! `auxblob` = the certificate table up to the end of its furthest entry
//! (nothing when the host gave none). A report status from the firmware
//! is `EINVAL` for INVALID_PARAM (0x16) and INVALID_KEY (0x27), `ENXIO`
//! for any other; a report larger than the response is `ENOMEM`.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use services::error::Result;
use services::return_errno_with_message;

use super::channel::MSG_REPORT_REQ;
use super::device::{REPORT_REQ_SIZE, REPORT_RESP_SIZE};
use super::guest::{SnpGuest, CERTS_MAX};
use crate::tsm::{ReportBlobs, ReportDesc, TsmAttr, TsmProvider};

/// `SNP_REPORT_USER_DATA_SIZE`.
pub const USER_DATA_SIZE: usize = 64;
/// Firmware statuses (`SEV_RET_INVALID_PARAM`, `SEV_RET_INVALID_KEY`).
pub const SEV_RET_INVALID_PARAM: u32 = 0x16;
pub const SEV_RET_INVALID_KEY: u32 = 0x27;
/// `struct snp_msg_report_resp_hdr`: status, report_size, rsvd[24].
const RESP_HDR_SIZE: usize = 32;
/// Linux's report buffer (`SZ_4K`).
const REPORT_BUF_SIZE: usize = 4096;
/// `struct snp_msg_cert_entry`: guid[16], offset u32, length u32.
const CERT_ENTRY_SIZE: usize = 24;

pub struct SevTsm {
    guest: Arc<SnpGuest>,
}

impl SevTsm {
    pub fn new(guest: Arc<SnpGuest>) -> SevTsm {
        SevTsm { guest }
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// How much of a certificate table `auxblob` carries: up to the furthest
/// entry's end (u32 arithmetic, as Linux's), at most the buffer.
pub fn certs_size(table: &[u8]) -> usize {
    let mut size: u32 = 0;
    for entry in table.chunks_exact(CERT_ENTRY_SIZE) {
        let (offset, length) = (u32_at(entry, 16), u32_at(entry, 20));
        if entry[..16].iter().all(|&b| b == 0) && offset == 0 && length == 0 {
            break;
        }
        size = size.max(offset.wrapping_add(length));
    }
    if size as usize > table.len() {
        log::warn!("sev_guest: certificate data truncated");
    }
    (size as usize).min(table.len())
}

impl TsmProvider for SevTsm {
    fn name(&self) -> &'static str {
        super::PROVIDER_NAME
    }

    /// The VMPCK's VMPL (Linux `privlevel_floor = vmpck_id`): 0.
    fn privlevel_floor(&self) -> u32 {
        0
    }

    fn visible(&self, attr: TsmAttr) -> bool {
        matches!(
            attr,
            TsmAttr::Generation
                | TsmAttr::Provider
                | TsmAttr::Privlevel
                | TsmAttr::PrivlevelFloor
                | TsmAttr::Inblob
                | TsmAttr::Outblob
                | TsmAttr::Auxblob
        )
    }

    fn report_new(&self, desc: &ReportDesc) -> Result<ReportBlobs> {
        if desc.inblob.len() != USER_DATA_SIZE {
            return_errno_with_message!(EINVAL, "SNP needs exactly 64 bytes of inblob");
        }
        if desc.service_provider.is_some() {
            // Only "svsm" is known, and there is no SVSM below Umbra.
            return_errno_with_message!(EINVAL, "no SVSM attestation service");
        }
        let mut req = [0u8; REPORT_REQ_SIZE];
        req[..USER_DATA_SIZE].copy_from_slice(&desc.inblob);
        req[64..68].copy_from_slice(&desc.privlevel.to_le_bytes());
        let mut resp = vec![0u8; REPORT_RESP_SIZE];
        let mut certs = vec![0u8; CERTS_MAX];
        self.guest
            .request(MSG_REPORT_REQ, 1, &req, &mut resp, Some(&mut certs[..]))
            .map_err(|e| e.error())?;
        let status = u32_at(&resp, 0);
        let report_size = u32_at(&resp, 4) as usize;
        match status {
            0 => {}
            SEV_RET_INVALID_PARAM | SEV_RET_INVALID_KEY => return_errno_with_message!(EINVAL, "the firmware refused the request"),
            _ => return_errno_with_message!(ENXIO, "the firmware failed the report"),
        }
        if report_size + RESP_HDR_SIZE > REPORT_BUF_SIZE {
            return_errno_with_message!(ENOMEM, "report larger than its buffer");
        }
        // Linux's buffer is 4 KiB; the response copied into it is 4000
        // bytes, the rest zeros.
        let mut outblob: Vec<u8> = vec![0; report_size];
        let have = report_size.min(REPORT_RESP_SIZE - RESP_HDR_SIZE);
        outblob[..have].copy_from_slice(&resp[RESP_HDR_SIZE..RESP_HDR_SIZE + have]);
        let auxblob = certs[..certs_size(&certs)].to_vec();
        Ok(ReportBlobs { outblob, auxblob, ..ReportBlobs::default() })
    }
}
