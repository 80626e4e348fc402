//! The emulated PSP behind SNP_GUEST_REQUEST: it opens the guest's
//! message with the VMPCK it names, insists on the next sequence number
//! (a reused or skipped one is refused: with AES-GCM a reused IV leaks
//! the key stream), answers MSG_REPORT_REQ and MSG_KEY_REQ, and seals the
//! response with the sequence number + 1.
//!
//! Owns: the PSP's per-VMPCK sequence counters. Must never: answer a
//! message that did not authenticate.

use core::sync::atomic::Ordering;

use super::{attest, record, SnpViolation, STATE};
use crate::snp::abi::{msg, report, FW_ERR_INVALID_PARAM};
use crate::snp::message::{self, Header};

/// Work space of one request (static: the #UD handler runs on a 64 KiB
/// kernel stack), which also serialises requests.
pub(super) struct Scratch {
    pub request: [u8; msg::PAGE_SIZE],
    pub response: [u8; msg::PAGE_SIZE],
    plaintext: [u8; msg::PAGE_SIZE],
    out: [u8; msg::PAGE_SIZE],
}

pub(super) static SCRATCH: spin::Mutex<Scratch> = spin::Mutex::new(Scratch {
    request: [0; msg::PAGE_SIZE],
    response: [0; msg::PAGE_SIZE],
    plaintext: [0; msg::PAGE_SIZE],
    out: [0; msg::PAGE_SIZE],
});

/// Handle `scratch.request`; the answer is in `scratch.response`, or a
/// firmware error.
pub(super) fn guest_request(scratch: &mut Scratch) -> Result<(), u32> {
    let state = STATE.get().ok_or(FW_ERR_INVALID_PARAM)?;
    let Scratch { request, response, plaintext: page, out } = scratch;
    page.copy_from_slice(&request[..]);
    let Ok(header) = message::header(page) else {
        record(SnpViolation::BadMessage, 0);
        return Err(FW_ERR_INVALID_PARAM);
    };
    let index = usize::from(header.vmpck);
    if index >= state.vmpck.len() {
        record(SnpViolation::BadMessage, u64::from(header.vmpck));
        return Err(FW_ERR_INVALID_PARAM);
    }
    let last = state.psp_seqno[index].load(Ordering::Acquire);
    if header.seqno != last + 1 {
        let kind = if header.seqno <= last { SnpViolation::SeqnoReuse } else { SnpViolation::SeqnoSkipped };
        record(kind, header.seqno);
        return Err(FW_ERR_INVALID_PARAM);
    }
    let key = state.vmpck[index];
    let Ok(header) = message::open(&key, page) else {
        record(SnpViolation::BadMessage, header.seqno);
        return Err(FW_ERR_INVALID_PARAM);
    };
    state.psp_seqno[index].store(header.seqno + 1, Ordering::Release);
    let payload = &page[msg::HEADER_SIZE..msg::HEADER_SIZE + usize::from(header.msg_sz)];
    out.fill(0);
    let len = match header.msg_type {
        msg::TYPE_REPORT_REQ if payload.len() == msg::REPORT_REQ_SIZE => {
            let mut report_data = [0u8; 64];
            report_data.copy_from_slice(&payload[..64]);
            let vmpl = u32::from_le_bytes([payload[64], payload[65], payload[66], payload[67]]);
            // The requested VMPL may not be more privileged than the key's.
            if vmpl < index as u32 || vmpl > 3 {
                out[..4].copy_from_slice(&FW_ERR_INVALID_PARAM.to_le_bytes());
                msg::REPORT_RSP_HEADER
            } else {
                let signed = attest::build_report(&state.report_context, &state.signing_key, &report_data, vmpl);
                out[4..8].copy_from_slice(&(report::SIZE as u32).to_le_bytes());
                out[msg::REPORT_RSP_HEADER..msg::REPORT_RSP_HEADER + report::SIZE].copy_from_slice(&signed);
                super::STATS.reports.fetch_add(1, Ordering::Relaxed);
                msg::REPORT_RSP_HEADER + report::SIZE
            }
        }
        msg::TYPE_KEY_REQ if payload.len() == msg::KEY_REQ_SIZE => {
            let mut request = [0u8; msg::KEY_REQ_SIZE];
            request.copy_from_slice(payload);
            let vmpl = u32::from_le_bytes([request[16], request[17], request[18], request[19]]);
            if vmpl < index as u32 || vmpl > 3 || request[0] & !1 != 0 {
                out[..4].copy_from_slice(&FW_ERR_INVALID_PARAM.to_le_bytes());
            } else {
                out[32..64].copy_from_slice(&attest::derive_key(&request, &state.report_context.measurement));
            }
            msg::KEY_RSP_SIZE
        }
        _ => {
            record(SnpViolation::BadMessage, u64::from(header.msg_type));
            return Err(FW_ERR_INVALID_PARAM);
        }
    };
    let reply = Header {
        seqno: header.seqno + 1,
        msg_type: header.msg_type + 1,
        msg_version: header.msg_version,
        msg_sz: len as u16,
        vmpck: header.vmpck,
    };
    message::seal(&key, &reply, &out[..len], response).map_err(|_| FW_ERR_INVALID_PARAM)
}
