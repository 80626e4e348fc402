//! `/dev/tdx_guest` (Linux `tdx_guest_fops`): one ioctl,
//! `TDX_CMD_GET_REPORT0`, with `struct tdx_report_req` from
//! include/uapi/linux/tdx-guest.h. The device has no read, write or
//! llseek: those give `EINVAL`, `EINVAL` and `ESPIPE`.
//!
//! Owns: the ioctl number and struct layout, and the errno order of
//! `tdx_do_report`: `EFAULT` if REPORTDATA cannot be read, the TDCALL's
//! errno (`ENXIO`, `EBUSY`, `EIO`), `EFAULT` if the TDREPORT cannot be
//! written; `ENOTTY` for any other command. The TDREPORT's alignment is
//! the kernel's business: user space passes any address.

use alloc::sync::Arc;

use services::error::Result;
use services::fs::device::Device;
use services::return_errno_with_message;

use super::backend::{REPORTDATA_LEN, TDREPORT_LEN};
use super::guest::TdxGuest;
use crate::user::UserMemory;

/// `_IOC(dir, type, nr, size)` of asm-generic/ioctl.h.
pub const fn ioc(dir: u32, kind: u8, nr: u8, size: usize) -> u32 {
    (dir << 30) | ((size as u32) << 16) | ((kind as u32) << 8) | nr as u32
}
const IOC_READ_WRITE: u32 = 3;

/// `sizeof(struct tdx_report_req)`: reportdata[64], tdreport[1024].
pub const TDX_REPORT_REQ_SIZE: usize = REPORTDATA_LEN + TDREPORT_LEN;
/// `TDX_CMD_GET_REPORT0` = `_IOWR('T', 1, struct tdx_report_req)`.
pub const TDX_CMD_GET_REPORT0: u32 = ioc(IOC_READ_WRITE, b'T', 1, TDX_REPORT_REQ_SIZE);

/// The misc device's driver.
pub struct TdxGuestDevice {
    guest: Arc<TdxGuest>,
    user: &'static dyn UserMemory,
}

impl TdxGuestDevice {
    pub fn new(guest: Arc<TdxGuest>, user: &'static dyn UserMemory) -> TdxGuestDevice {
        TdxGuestDevice { guest, user }
    }

    /// `tdx_get_report0`.
    fn get_report0(&self, req: u64) -> Result<i64> {
        let mut reportdata = [0u8; REPORTDATA_LEN];
        self.user.read(req, &mut reportdata)?;
        let report = self.guest.report(Some(&reportdata))?;
        let Some(tdreport_addr) = req.checked_add(REPORTDATA_LEN as u64) else {
            return_errno_with_message!(EFAULT, "tdreport address overflows");
        };
        self.user.write(tdreport_addr, &report[..])?;
        Ok(0)
    }
}

impl Device for TdxGuestDevice {
    fn read(&self, _offset: u64, _buf: &mut [u8], _nonblocking: bool) -> Result<usize> {
        return_errno_with_message!(EINVAL, "/dev/tdx_guest has no read")
    }

    fn write(&self, _offset: u64, _buf: &[u8], _nonblocking: bool) -> Result<usize> {
        return_errno_with_message!(EINVAL, "/dev/tdx_guest has no write")
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64> {
        match cmd {
            TDX_CMD_GET_REPORT0 => self.get_report0(arg),
            _ => return_errno_with_message!(ENOTTY, "unknown tdx_guest ioctl"),
        }
    }

    fn is_seekable(&self) -> bool {
        false
    }
}
