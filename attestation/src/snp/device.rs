//! `/dev/sev-guest` (Linux `snp_guest_fops`: only `unlocked_ioctl`; read
//! and write give `EINVAL`, llseek `ESPIPE`), with the structs of
//! include/uapi/linux/sev-guest.h:
//!
//! - `struct snp_guest_request_ioctl` (32 bytes): msg_version u8 @0,
//!   req_data u64 @8, resp_data u64 @16, exitinfo2 u64 @24 (fw_error =
//!   low 32 bits, vmm_error = high 32 bits);
//! - `struct snp_report_req` (96): user_data[64], vmpl u32, rsvd[28];
//!   `struct snp_report_resp` (4000): the MSG_REPORT_RSP payload;
//! - `struct snp_derived_key_req` (32) / `snp_derived_key_resp` (64);
//! - `struct snp_ext_report_req` (112): snp_report_req, certs_address
//!   u64 @96, certs_len u32 @104, padding to 8.
//!
//! Owns: `snp_guest_ioctl` and its order of checks: the ioctl struct is
//! read first (`EFAULT`), `exitinfo2` set to 0xff, msg_version 0 is
//! `EINVAL` (and nothing is written back); then the command (`ENOTTY` for
//! an unknown one); afterwards the struct is written back (`EFAULT`) only
//! if `exitinfo2` is non-zero — so a successful request leaves the
//! caller's struct as it was. Null req/resp pointers are `EINVAL`; an
//! extended report's certs_len must be 0 (no certificates) or a 4 KiB
//! multiple up to 16 KiB (`EINVAL`) inside the user address space
//! (`EFAULT`); when the host needs more, `certs_len` is rewritten to what
//! it needs, `exitinfo2` = `SNP_GUEST_VMM_ERR(INVALID_LEN)`, `EIO`.

use alloc::sync::Arc;
use alloc::vec;

use services::error::Result;
use services::fs::device::Device;
use services::return_errno_with_message;

use super::channel::{MSG_KEY_REQ, MSG_REPORT_REQ};
use super::guest::{RequestError, SnpGuest, CERTS_MAX, VMM_ERR_INVALID_LEN, VMM_ERR_SHIFT};
use crate::tdx::device::ioc;
use crate::user::UserMemory;

const IOC_READ_WRITE: u32 = 3;
/// `sizeof(struct snp_guest_request_ioctl)`.
pub const GUEST_REQUEST_IOCTL_SIZE: usize = 32;
/// `SNP_GET_REPORT` = `_IOWR('S', 0x0, struct snp_guest_request_ioctl)`.
pub const SNP_GET_REPORT: u32 = ioc(IOC_READ_WRITE, b'S', 0, GUEST_REQUEST_IOCTL_SIZE);
/// `SNP_GET_DERIVED_KEY` = `_IOWR('S', 0x1, ...)`.
pub const SNP_GET_DERIVED_KEY: u32 = ioc(IOC_READ_WRITE, b'S', 1, GUEST_REQUEST_IOCTL_SIZE);
/// `SNP_GET_EXT_REPORT` = `_IOWR('S', 0x2, ...)`.
pub const SNP_GET_EXT_REPORT: u32 = ioc(IOC_READ_WRITE, b'S', 2, GUEST_REQUEST_IOCTL_SIZE);

/// `sizeof(struct snp_report_req)`, `struct snp_report_resp`,
/// `struct snp_derived_key_req`, `struct snp_derived_key_resp`,
/// `struct snp_ext_report_req`.
pub const REPORT_REQ_SIZE: usize = 96;
pub const REPORT_RESP_SIZE: usize = 4000;
pub const DERIVED_KEY_REQ_SIZE: usize = 32;
pub const DERIVED_KEY_RESP_SIZE: usize = 64;
pub const EXT_REPORT_REQ_SIZE: usize = 112;
const CERTS_ADDRESS: usize = 96;
const CERTS_LEN: usize = 104;
const PAGE_SIZE: usize = 4096;
/// x86-64 `TASK_SIZE_MAX`: `access_ok` refuses ranges beyond it.
const TASK_SIZE_MAX: u64 = (1 << 47) - PAGE_SIZE as u64;

/// The ioctl argument as copied in.
struct Input {
    raw: [u8; GUEST_REQUEST_IOCTL_SIZE],
    exitinfo2: u64,
}

impl Input {
    fn msg_version(&self) -> u8 {
        self.raw[0]
    }
    fn u64_at(&self, at: usize) -> u64 {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&self.raw[at..at + 8]);
        u64::from_le_bytes(bytes)
    }
    fn req_data(&self) -> u64 {
        self.u64_at(8)
    }
    fn resp_data(&self) -> u64 {
        self.u64_at(16)
    }
    /// Record a request's outcome in `exitinfo2`.
    fn note(&mut self, error: &RequestError) {
        if let Some(value) = error.exitinfo2 {
            self.exitinfo2 = value;
        }
    }
    fn vmm_error(&self) -> u64 {
        self.exitinfo2 >> VMM_ERR_SHIFT
    }
}

fn access_ok(addr: u64, len: u64) -> bool {
    len <= TASK_SIZE_MAX && addr <= TASK_SIZE_MAX - len
}

/// The misc device's driver.
pub struct SevGuestDevice {
    guest: Arc<SnpGuest>,
    user: &'static dyn UserMemory,
}

impl SevGuestDevice {
    pub fn new(guest: Arc<SnpGuest>, user: &'static dyn UserMemory) -> SevGuestDevice {
        SevGuestDevice { guest, user }
    }

    /// `get_report`.
    fn get_report(&self, input: &mut Input) -> Result<()> {
        if input.req_data() == 0 || input.resp_data() == 0 {
            return_errno_with_message!(EINVAL, "null request or response");
        }
        let mut req = [0u8; REPORT_REQ_SIZE];
        self.user.read(input.req_data(), &mut req)?;
        let mut resp = vec![0u8; REPORT_RESP_SIZE];
        self.guest
            .request(MSG_REPORT_REQ, input.msg_version(), &req, &mut resp, None)
            .map_err(|e| {
                input.note(&e);
                e.error()
            })?;
        input.exitinfo2 = 0;
        self.user.write(input.resp_data(), &resp)
    }

    /// `get_derived_key`.
    fn get_derived_key(&self, input: &mut Input) -> Result<()> {
        if input.req_data() == 0 || input.resp_data() == 0 {
            return_errno_with_message!(EINVAL, "null request or response");
        }
        let mut req = [0u8; DERIVED_KEY_REQ_SIZE];
        self.user.read(input.req_data(), &mut req)?;
        let mut resp = [0u8; DERIVED_KEY_RESP_SIZE];
        let result = self.guest.request(MSG_KEY_REQ, input.msg_version(), &req, &mut resp, None);
        let result = match result {
            Ok(_) => {
                input.exitinfo2 = 0;
                self.user.write(input.resp_data(), &resp)
            }
            Err(e) => {
                input.note(&e);
                Err(e.error())
            }
        };
        // The key is secret: no copy outlives the call.
        resp.fill(0);
        result
    }

    /// `get_ext_report`.
    fn get_ext_report(&self, input: &mut Input) -> Result<()> {
        if input.req_data() == 0 || input.resp_data() == 0 {
            return_errno_with_message!(EINVAL, "null request or response");
        }
        let mut req = [0u8; EXT_REPORT_REQ_SIZE];
        self.user.read(input.req_data(), &mut req)?;
        let certs_address = u64::from_le_bytes(req[CERTS_ADDRESS..CERTS_ADDRESS + 8].try_into().unwrap_or([0; 8]));
        let certs_len = u32::from_le_bytes(req[CERTS_LEN..CERTS_LEN + 4].try_into().unwrap_or([0; 4])) as usize;
        let wants_certs = certs_len != 0 && certs_address != 0;
        if wants_certs {
            if certs_len > CERTS_MAX || !certs_len.is_multiple_of(PAGE_SIZE) {
                return_errno_with_message!(EINVAL, "certs_len: a 4 KiB multiple, at most 16 KiB");
            }
            if !access_ok(certs_address, certs_len as u64) {
                return_errno_with_message!(EFAULT, "certificate buffer outside user space");
            }
        }
        let mut certs = vec![0u8; if wants_certs { certs_len } else { 0 }];
        let mut resp = vec![0u8; REPORT_RESP_SIZE];
        let result = self.guest.request(
            MSG_REPORT_REQ,
            input.msg_version(),
            &req[..REPORT_REQ_SIZE],
            &mut resp,
            wants_certs.then_some(&mut certs[..]),
        );
        let mut ret = match &result {
            Ok(_) => {
                input.exitinfo2 = 0;
                Ok(())
            }
            Err(e) => {
                input.note(e);
                Err(e.error())
            }
        };
        if input.vmm_error() == VMM_ERR_INVALID_LEN {
            // The pages the host asked for (or, for any other INVALID_LEN
            // answer, the pages that were offered), as Linux reports them.
            let npages = result.err().and_then(|e| e.certs_npages).unwrap_or((certs.len() / PAGE_SIZE) as u64);
            let needed = (npages << 12) as u32;
            req[CERTS_LEN..CERTS_LEN + 4].copy_from_slice(&needed.to_le_bytes());
            if let Err(error) = self.user.write(input.req_data(), &req) {
                ret = Err(error);
            }
        }
        ret?;
        if wants_certs {
            self.user.write(certs_address, &certs)?;
        }
        self.user.write(input.resp_data(), &resp)
    }
}

impl Device for SevGuestDevice {
    fn read(&self, _offset: u64, _buf: &mut [u8], _nonblocking: bool) -> Result<usize> {
        return_errno_with_message!(EINVAL, "/dev/sev-guest has no read")
    }

    fn write(&self, _offset: u64, _buf: &[u8], _nonblocking: bool) -> Result<usize> {
        return_errno_with_message!(EINVAL, "/dev/sev-guest has no write")
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64> {
        let mut raw = [0u8; GUEST_REQUEST_IOCTL_SIZE];
        self.user.read(arg, &mut raw)?;
        let mut input = Input { raw, exitinfo2: 0xff };
        if input.msg_version() == 0 {
            return_errno_with_message!(EINVAL, "msg_version must be non-zero");
        }
        let ret = match cmd {
            SNP_GET_REPORT => self.get_report(&mut input),
            SNP_GET_DERIVED_KEY => self.get_derived_key(&mut input),
            SNP_GET_EXT_REPORT => self.get_ext_report(&mut input),
            _ => Err(services::error::Error::with_message(services::error::Errno::ENOTTY, "unknown sev-guest ioctl")),
        };
        if input.exitinfo2 != 0 {
            let mut out = input.raw;
            out[24..32].copy_from_slice(&input.exitinfo2.to_le_bytes());
            self.user.write(arg, &out)?;
        }
        ret.map(|()| 0)
    }

    fn is_seekable(&self) -> bool {
        false
    }
}
