//! SNP guest requests to the PSP (NAE event 0x8000_0011): the channel
//! that carries MSG_REPORT_REQ and MSG_KEY_REQ, and the safe API the
//! attestation layer calls ([`get_report`], [`get_derived_key`],
//! [`request`] for `/dev/sev-guest`).
//!
//! The request and response pages are shared (the hypervisor relays
//! them); the message is sealed with a VMPCK from the secrets page, which
//! never leaves private memory. Sequence numbers live in the secrets
//! page's OS area, as Linux keeps them: request N+1, response N+2, stored
//! N+2. Any failure once a request was sent wipes that VMPCK (Linux's
//! `snp_disable_vmpck`): a retry would reuse an IV under AES-GCM.
//!
//! Owns: the channel (one request at a time, a spin lock), the secrets
//! page accesses. Must never: put a VMPCK or plaintext in shared memory;
//! trust a response it did not authenticate and match to its request.

use alloc::boxed::Box;

use boot::PhysRange;
use framework::mm::{Frame, Segment};

use super::abi::{exit, msg, report, secrets, GUEST_REQ_VMM_ERR_BUSY, GUEST_REQ_VMM_ERR_INVALID_LEN, GUEST_REQ_VMM_ERR_SHIFT};
use super::ghcb::{self, with_ghcb};
use super::message::{self, Header};
use super::report::SnpReport;
use crate::platform::TeeError;

/// The shared request/response pages (allocated on first use).
struct Channel {
    request: Frame,
    response: Frame,
    /// Where the hypervisor puts the certificate table of an extended
    /// request ([`CERTS_SIZE`]).
    certs: Segment,
}

/// The certificate buffer: 16 KiB, as Linux's SEV_FW_BLOB_MAX_SIZE.
pub const CERTS_SIZE: usize = 16 << 10;
const CERTS_ORDER: u8 = 2;
/// One certificate-table entry: GUID (16), offset u32, length u32; the
/// table ends with an all-zero entry (GHCB spec, extended guest request).
pub const CERT_ENTRY_SIZE: usize = 24;

static CHANNEL: spin::Mutex<Option<Channel>> = spin::Mutex::new(None);
/// GPA of the secrets page, from firmware (the TEE emulator here; the CC
/// blob on real SNP, not parsed yet).
static SECRETS_GPA: spin::Once<u64> = spin::Once::new();

/// Where the secrets page is (once, at boot).
pub fn set_secrets_page(gpa: u64) {
    SECRETS_GPA.call_once(|| gpa);
}

/// Does this guest know its secrets page (and so can talk to the PSP)?
pub fn available() -> bool {
    SECRETS_GPA.get().is_some()
}

/// The secrets page in the direct map.
fn secrets_page() -> Result<*mut u8, TeeError> {
    let gpa = *SECRETS_GPA.get().ok_or(TeeError::Unsupported)?;
    if !framework::mm::is_direct_mapped(PhysRange { start: gpa, end: gpa + 4096 }) {
        return Err(TeeError::Unsupported);
    }
    Ok(framework::mm::paddr_to_vaddr(gpa) as *mut u8)
}

fn vmpck(page: *mut u8, index: usize) -> [u8; 32] {
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        // SAFETY: inside the secrets page (index < 4 checked by callers),
        // private memory firmware gave this guest.
        *byte = unsafe { page.add(secrets::VMPCK0 + index * secrets::VMPCK_LEN + i).read_volatile() };
    }
    key
}

/// Wipe VMPCK `index`: this guest never uses it again (until reboot).
fn disable_vmpck(page: *mut u8, index: usize) {
    log::error!("snp: disabling VMPCK{} after a failed guest request", index);
    for i in 0..secrets::VMPCK_LEN {
        // SAFETY: as in `vmpck`.
        unsafe { page.add(secrets::VMPCK0 + index * secrets::VMPCK_LEN + i).write_volatile(0) };
    }
}

fn seqno_slot(page: *mut u8, index: usize) -> *mut u32 {
    // SAFETY: msg_seqno_0..3 are the first four u32s of the OS area.
    unsafe { page.add(secrets::OS_AREA + index * 4) as *mut u32 }
}

/// Is VMPCK `index` still usable?
pub fn vmpck_enabled(index: usize) -> bool {
    index < secrets::VMPCK_COUNT && secrets_page().is_ok_and(|page| vmpck(page, index) != [0; 32])
}

fn channel(slot: &mut Option<Channel>) -> Result<&Channel, TeeError> {
    if slot.is_none() {
        let request = Frame::alloc().map_err(|_| TeeError::InvalidArgument("out of memory"))?;
        let response = Frame::alloc().map_err(|_| TeeError::InvalidArgument("out of memory"))?;
        let certs = Segment::alloc(CERTS_ORDER).map_err(|_| TeeError::InvalidArgument("out of memory"))?;
        let mut ranges = [&request, &response].map(|frame| PhysRange { start: frame.paddr(), end: frame.paddr() + 4096 }).to_vec();
        ranges.push(PhysRange { start: certs.paddr(), end: certs.paddr() + CERTS_SIZE as u64 });
        for range in ranges {
            // SAFETY: fresh frames owned here and kept for the guest's
            // life; only raw copies go through them.
            if let Err(error) = unsafe { crate::platform().convert_to_shared(range) } {
                // Half converted, state unknown: never hand these back to
                // the allocator (as Linux leaks pages it failed to convert).
                core::mem::forget(request);
                core::mem::forget(response);
                core::mem::forget(certs);
                return Err(error);
            }
        }
        *slot = Some(Channel { request, response, certs });
    }
    slot.as_ref().ok_or(TeeError::Unsupported)
}

/// How a guest request failed, in the terms Linux's sev-guest driver
/// reports to user space (`snp_send_guest_request`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The VMPCK was wiped after an earlier failure (Linux: `ENOTTY`);
    /// nothing was sent.
    VmpckDisabled,
    /// Message sequence numbers are exhausted (`EIO`); nothing was sent.
    SeqnoExhausted,
    /// Refused before sending: bad argument, no memory.
    Invalid(&'static str),
    /// The extended request's certificate buffer is too small: the host
    /// needs `npages` pages. The same message was then sent as a plain
    /// guest request (the PSP had not seen its sequence number, which is
    /// now used up), so the VMPCK stays usable; its answer is dropped.
    /// Linux: `EIO`, exitinfo2 = `SNP_GUEST_VMM_ERR(INVALID_LEN)`.
    CertsTooSmall { npages: u64 },
    /// The host answered "busy" for too long (Linux: `ETIMEDOUT`); the
    /// VMPCK is wiped.
    Busy { exitinfo2: u64 },
    /// The VMGEXIT or the firmware failed (`EIO`): `exitinfo2` is
    /// SW_EXITINFO2, or `u64::MAX` (`SEV_RET_NO_FW_CALL`) when the GHCB
    /// call itself was refused. The VMPCK is wiped.
    Failed { exitinfo2: u64 },
    /// The response does not authenticate or does not match the request
    /// (Linux: `EBADMSG`); the VMPCK is wiped.
    BadResponse,
}

/// SW_EXITINFO2 when no firmware call happened (Linux `SEV_RET_NO_FW_CALL`, -1).
pub const NO_FW_CALL: u64 = u64::MAX;
/// VMGEXITs a "busy" host gets before the request is given up (Linux
/// waits up to 60 s, re-sending every 2 s).
const BUSY_RETRIES: usize = 30;

impl From<SendError> for TeeError {
    fn from(error: SendError) -> TeeError {
        match error {
            SendError::VmpckDisabled => TeeError::InvalidArgument("VMPCK disabled after an earlier failure"),
            SendError::SeqnoExhausted => TeeError::InvalidArgument("message sequence numbers exhausted"),
            SendError::Invalid(why) => TeeError::InvalidArgument(why),
            SendError::CertsTooSmall { .. } => TeeError::Host(GUEST_REQ_VMM_ERR_INVALID_LEN << GUEST_REQ_VMM_ERR_SHIFT),
            SendError::Busy { exitinfo2 } | SendError::Failed { exitinfo2 } => TeeError::Host(exitinfo2),
            SendError::BadResponse => TeeError::BadResponse("PSP response does not authenticate or does not match the request"),
        }
    }
}

/// Send one guest message with VMPCK `vmpck` and return the decrypted
/// response payload's length in `out`. With `certs` (a multiple of 4 KiB,
/// at most [`CERTS_SIZE`]) the message goes as an extended request and the
/// host's certificate table lands in `certs` (zeros if it has none).
/// `seqno_override` (tests only) sends with a chosen sequence number.
fn exchange(
    vmpck_index: usize,
    msg_type: u8,
    msg_version: u8,
    payload: &[u8],
    out: &mut [u8],
    seqno_override: Option<u64>,
    certs: Option<&mut [u8]>,
) -> Result<usize, SendError> {
    if vmpck_index >= secrets::VMPCK_COUNT {
        return Err(SendError::Invalid("VMPCK index is 0..=3"));
    }
    if certs.as_ref().is_some_and(|c| c.is_empty() || c.len() > CERTS_SIZE || c.len() % 4096 != 0) {
        return Err(SendError::Invalid("certificate buffer: 4 KiB multiple, at most 16 KiB"));
    }
    let msg_sz = u16::try_from(payload.len()).map_err(|_| SendError::Invalid("message too long"))?;
    let mut slot = CHANNEL.lock();
    let page = secrets_page().map_err(|_| SendError::Invalid("no secrets page"))?;
    let key = vmpck(page, vmpck_index);
    if key == [0; 32] {
        return Err(SendError::VmpckDisabled);
    }
    let channel = channel(&mut slot).map_err(|_| SendError::Invalid("no shared message pages"))?;
    let certs_area = certs.as_ref().map(|_| &channel.certs);
    let slot_ptr = seqno_slot(page, vmpck_index);
    // SAFETY: a u32 in the private secrets page, accessed under CHANNEL.
    let stored = u64::from(unsafe { slot_ptr.read_volatile() });
    let seqno = seqno_override.unwrap_or(stored + 1);
    if seqno + 1 >= u64::from(u32::MAX) {
        return Err(SendError::SeqnoExhausted);
    }
    let header = Header { seqno, msg_type, msg_version, msg_sz, vmpck: vmpck_index as u8 };
    let mut private = Box::new([0u8; msg::PAGE_SIZE]);
    message::seal(&key, &header, payload, &mut private).map_err(|_| SendError::Invalid("message too long"))?;
    channel.request.write_bytes(0, &private[..]).map_err(|_| SendError::Invalid("request page"))?;
    channel.response.fill(0);
    let (request_gpa, response_gpa) = (channel.request.paddr(), channel.response.paddr());
    // The extended request first (if asked for); a too-small buffer makes
    // it a plain request of the same message; a busy host gets the same
    // message again (never a new sequence number: the IV must not repeat).
    let mut ext = certs_area.zip(certs.as_ref().map(|c| (c.len() / 4096) as u64));
    if let Some((area, _)) = ext {
        area.fill(0);
    }
    let mut too_small = None;
    let mut busy = 0;
    let outcome = loop {
        let sent = with_ghcb(|ghcb| {
            let exit_code = match ext {
                Some((area, npages)) => {
                    ghcb.set(ghcb::layout::RAX, area.paddr());
                    ghcb.set(ghcb::layout::RBX, npages);
                    exit::EXT_GUEST_REQUEST
                }
                None => exit::GUEST_REQUEST,
            };
            // SAFETY: the hypervisor writes only the shared response page
            // and the shared certificate buffer.
            let result = unsafe { ghcb.call(exit_code, request_gpa, response_gpa) };
            (result, ghcb.exit_info_2(), ghcb.get(ghcb::layout::RBX))
        });
        let info = match sent {
            Ok((Ok(()), info, rbx)) => (info, rbx),
            Err(_) | Ok((Err(_), _, _)) => break Err(SendError::Failed { exitinfo2: NO_FW_CALL }),
        };
        match info {
            (0, _) => break Ok(()),
            (info, rbx) if ext.is_some() && info == GUEST_REQ_VMM_ERR_INVALID_LEN << GUEST_REQ_VMM_ERR_SHIFT => {
                too_small = Some(rbx.unwrap_or(0));
                ext = None;
            }
            (info, _) if info == GUEST_REQ_VMM_ERR_BUSY << GUEST_REQ_VMM_ERR_SHIFT => {
                busy += 1;
                if busy > BUSY_RETRIES {
                    break Err(SendError::Busy { exitinfo2: info });
                }
                for _ in 0..1_000_000 {
                    core::hint::spin_loop();
                }
            }
            (info, _) => break Err(SendError::Failed { exitinfo2: info }),
        }
    };
    // Sent (or maybe sent): the sequence number is used up either way.
    // SAFETY: as above.
    unsafe { slot_ptr.write_volatile((seqno + 1).max(stored) as u32) };
    if let Err(error) = outcome {
        if let SendError::Failed { exitinfo2 } | SendError::Busy { exitinfo2 } = error {
            log::error!(
                "snp: guest request failed: firmware error {:#x}, VMM error {:#x}",
                exitinfo2 & 0xffff_ffff,
                exitinfo2 >> GUEST_REQ_VMM_ERR_SHIFT
            );
        }
        disable_vmpck(page, vmpck_index);
        return Err(error);
    }
    if let Some(npages) = too_small {
        // Linux answers without looking at the plain request's response.
        return Err(SendError::CertsTooSmall { npages });
    }
    channel.response.read_bytes(0, &mut private[..]).map_err(|_| SendError::Invalid("response page"))?;
    let expected = Header { seqno: seqno + 1, msg_type: msg_type + 1, msg_version, msg_sz: 0, vmpck: vmpck_index as u8 };
    let opened = message::open(&key, &mut private);
    let header = match opened {
        Ok(h) if h.seqno == expected.seqno
            && h.msg_type == expected.msg_type
            && h.msg_version == msg_version
            && h.vmpck == expected.vmpck
            && usize::from(h.msg_sz) <= out.len() =>
        {
            h
        }
        _ => {
            disable_vmpck(page, vmpck_index);
            return Err(SendError::BadResponse);
        }
    };
    // SAFETY: as above: N+2 is the next value Linux stores.
    unsafe { slot_ptr.write_volatile((seqno + 1) as u32) };
    let len = usize::from(header.msg_sz);
    out[..len].copy_from_slice(&private[msg::HEADER_SIZE..msg::HEADER_SIZE + len]);
    if let (Some(area), Some(certs)) = (certs_area, certs) {
        // Host-chosen bytes, handed on as they are (the relying party
        // verifies the certificates, as on Linux).
        area.read_bytes(0, certs).map_err(|_| SendError::Invalid("certificate buffer"))?;
    }
    Ok(len)
}

/// One guest request as `/dev/sev-guest` makes it: message `msg_type`,
/// version `msg_version`, through VMPCK `vmpck`; the decrypted response
/// payload goes to `out` (its length is returned). With `certs` it is an
/// extended request (NAE 0x8000_0012) and the host's certificate table
/// is copied to `certs`.
pub fn send(
    vmpck: usize,
    msg_type: u8,
    msg_version: u8,
    payload: &[u8],
    out: &mut [u8],
    certs: Option<&mut [u8]>,
) -> Result<usize, SendError> {
    exchange(vmpck, msg_type, msg_version, payload, out, None, certs)
}

/// Copy the hypervisor's certificate table (a private copy) and
/// return its extent (entries, terminator and the blobs they point at),
/// refusing entries that point outside the buffer.
fn copy_certificates(table: &[u8], out: &mut [u8]) -> Result<usize, TeeError> {
    let mut extent = 0;
    for (i, entry) in table.chunks_exact(CERT_ENTRY_SIZE).enumerate() {
        if entry[..16] == [0; 16] {
            extent = extent.max((i + 1) * CERT_ENTRY_SIZE);
            break;
        }
        let offset = u32::from_le_bytes([entry[16], entry[17], entry[18], entry[19]]) as usize;
        let length = u32::from_le_bytes([entry[20], entry[21], entry[22], entry[23]]) as usize;
        match offset.checked_add(length) {
            Some(end) if end <= CERTS_SIZE => extent = extent.max(end),
            _ => return Err(TeeError::BadResponse("certificate table entry outside the buffer")),
        }
        if (i + 2) * CERT_ENTRY_SIZE > CERTS_SIZE {
            return Err(TeeError::BadResponse("certificate table without a terminator"));
        }
    }
    if extent > out.len() {
        return Err(TeeError::InvalidArgument("certificate buffer too small"));
    }
    out[..extent].copy_from_slice(&table[..extent]);
    Ok(extent)
}

/// One guest request (message `msg_type`, version `msg_version`) with
/// VMPCK `vmpck`; the decrypted response payload goes to `out`, its
/// length is returned. For `/dev/sev-guest`. Errors from the hypervisor
/// carry SW_EXITINFO2 (firmware error low, VMM error high) in
/// [`TeeError::Host`].
pub fn request(vmpck: usize, msg_type: u8, msg_version: u8, payload: &[u8], out: &mut [u8]) -> Result<usize, TeeError> {
    Ok(exchange(vmpck, msg_type, msg_version, payload, out, None, None)?)
}

/// An extended request (NAE 0x8000_0012): as [`request`], and the
/// hypervisor's certificate table (at most [`CERTS_SIZE`]) copied to
/// `certs`; returns (payload length, table extent). For
/// `SNP_GET_EXT_REPORT`.
pub fn request_ext(
    vmpck: usize,
    msg_type: u8,
    msg_version: u8,
    payload: &[u8],
    out: &mut [u8],
    certs: &mut [u8],
) -> Result<(usize, usize), TeeError> {
    let mut table = alloc::vec![0u8; CERTS_SIZE];
    let len = exchange(vmpck, msg_type, msg_version, payload, out, None, Some(&mut table[..]))?;
    Ok((len, copy_certificates(&table, certs)?))
}

/// As [`request`], with a chosen sequence number: only for tests that
/// check the PSP refuses a reused one (and that the VMPCK is then gone).
#[cfg(feature = "emulation")]
pub fn request_with_seqno_for_test(vmpck: usize, seqno: u64, msg_type: u8, payload: &[u8], out: &mut [u8]) -> Result<usize, TeeError> {
    Ok(exchange(vmpck, msg_type, 1, payload, out, Some(seqno), None)?)
}

/// The last sequence number stored for VMPCK `vmpck` (tests).
pub fn stored_seqno(vmpck: usize) -> Option<u32> {
    let page = secrets_page().ok()?;
    // SAFETY: as in `exchange`, read-only.
    (vmpck < secrets::VMPCK_COUNT).then(|| unsafe { seqno_slot(page, vmpck).read_volatile() })
}

/// An attestation report for `report_data` at VMPL `vmpl`, through VMPCK
/// `vmpck`.
pub fn get_report_with(vmpck: usize, vmpl: u32, report_data: &[u8; 64]) -> Result<SnpReport, TeeError> {
    let mut req = [0u8; msg::REPORT_REQ_SIZE];
    req[..64].copy_from_slice(report_data);
    req[64..68].copy_from_slice(&vmpl.to_le_bytes());
    let mut rsp = Box::new([0u8; msg::MAX_PAYLOAD]);
    let len = request(vmpck, msg::TYPE_REPORT_REQ, 1, &req, &mut rsp[..])?;
    parse_report_rsp(&rsp[..], len)
}

/// The report in a MSG_REPORT_RSP payload of `len` bytes.
fn parse_report_rsp(rsp: &[u8], len: usize) -> Result<SnpReport, TeeError> {
    let status = u32::from_le_bytes([rsp[0], rsp[1], rsp[2], rsp[3]]);
    let size = u32::from_le_bytes([rsp[4], rsp[5], rsp[6], rsp[7]]) as usize;
    if status != 0 {
        return Err(TeeError::Host(u64::from(status)));
    }
    if size != report::SIZE || len < msg::REPORT_RSP_HEADER + report::SIZE {
        return Err(TeeError::BadResponse("REPORT_RSP: report size"));
    }
    let mut bytes = [0u8; report::SIZE];
    bytes.copy_from_slice(&rsp[msg::REPORT_RSP_HEADER..msg::REPORT_RSP_HEADER + report::SIZE]);
    Ok(SnpReport(bytes))
}

/// An attestation report and the hypervisor's certificate table (copied
/// to `certs`; its extent returned), VMPL 0, VMPCK0.
pub fn get_ext_report(report_data: &[u8; 64], certs: &mut [u8]) -> Result<(SnpReport, usize), TeeError> {
    let mut req = [0u8; msg::REPORT_REQ_SIZE];
    req[..64].copy_from_slice(report_data);
    let mut rsp = Box::new([0u8; msg::MAX_PAYLOAD]);
    let (len, certs_len) = request_ext(0, msg::TYPE_REPORT_REQ, 1, &req, &mut rsp[..], certs)?;
    Ok((parse_report_rsp(&rsp[..], len)?, certs_len))
}

/// An attestation report for `report_data` (VMPL 0, VMPCK0): the safe
/// API the attestation layer uses.
pub fn get_report(report_data: &[u8; 64]) -> Result<SnpReport, TeeError> {
    get_report_with(0, 0, report_data)
}

/// MSG_KEY_REQ fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyRequest {
    /// 0: VCEK-derived, 1: VMRK.
    pub root_key_select: u32,
    pub guest_field_select: u64,
    pub vmpl: u32,
    pub guest_svn: u32,
    pub tcb_version: u64,
}

/// A key derived by the PSP (MSG_KEY_REQ) through VMPCK0.
pub fn get_derived_key(key: &KeyRequest) -> Result<[u8; 32], TeeError> {
    let mut req = [0u8; msg::KEY_REQ_SIZE];
    req[0..4].copy_from_slice(&key.root_key_select.to_le_bytes());
    req[8..16].copy_from_slice(&key.guest_field_select.to_le_bytes());
    req[16..20].copy_from_slice(&key.vmpl.to_le_bytes());
    req[20..24].copy_from_slice(&key.guest_svn.to_le_bytes());
    req[24..32].copy_from_slice(&key.tcb_version.to_le_bytes());
    let mut rsp = [0u8; msg::KEY_RSP_SIZE];
    let len = request(0, msg::TYPE_KEY_REQ, 1, &req, &mut rsp)?;
    let status = u32::from_le_bytes([rsp[0], rsp[1], rsp[2], rsp[3]]);
    if status != 0 {
        return Err(TeeError::Host(u64::from(status)));
    }
    if len != msg::KEY_RSP_SIZE {
        return Err(TeeError::BadResponse("KEY_RSP size"));
    }
    let mut derived = [0u8; 32];
    derived.copy_from_slice(&rsp[32..64]);
    Ok(derived)
}
