//! The TDX guest driver (Linux drivers/virt/coco/tdx-guest): present only
//! in a TD (the TEE emulator's included).
//!
//! | module | owns |
//! |---|---|
//! | [`backend`] | TDG.MR.REPORT / TDG.MR.RTMR.EXTEND through `tee`, and their errno mapping |
//! | [`guest`] | the driver's TDREPORT buffer: reports, RTMR extends, measurement-register values |
//! | [`device`] | `/dev/tdx_guest` and `TDX_CMD_GET_REPORT0` |
//! | [`measurements`] | `/sys/devices/virtual/misc/tdx_guest/measurements/` (tsm-mr) |
//! | [`quote`] | the one call that turns a TDREPORT into a quote |
//! | [`tsm`] | the configfs-tsm provider `tdx_guest` |

pub mod backend;
pub mod device;
pub mod guest;
pub mod measurements;
pub mod quote;
pub mod tsm;

use alloc::sync::Arc;

use services::error::Result;
use services::fs::types::DeviceId;

use self::guest::TdxGuest;
use crate::user::UserMemory;

/// The misc-device major.
pub const MISC_MAJOR: u32 = 10;
/// Our minor for `tdx_guest`: Linux gives misc devices that ask for a
/// dynamic minor one of its own choosing; clients open the device by
/// name, never by number.
pub const TDX_GUEST_MINOR: u32 = 256;
/// The device name (`KBUILD_MODNAME`): `/dev/tdx_guest`, the tsm provider.
pub const NAME: &str = "tdx_guest";

pub fn device_id() -> DeviceId {
    DeviceId::new(MISC_MAJOR, TDX_GUEST_MINOR)
}

/// `tdx_guest_init`: read the measurement registers once (no driver if
/// that fails), then register `/dev/tdx_guest` (0600, as devtmpfs makes
/// misc nodes), its sysfs directory and the tsm provider. Call at boot,
/// before the boot tree mounts `/dev` and `/sys`.
pub fn register(backend: alloc::boxed::Box<dyn backend::TdxBackend>, user: &'static dyn UserMemory) -> Result<Arc<TdxGuest>> {
    let guest = TdxGuest::new(backend)?;
    services::fs::device::register_char_device(device_id(), Arc::new(device::TdxGuestDevice::new(guest.clone(), user)));
    services::fs::devfs::register_node(NAME, device_id(), 0o600, 0);
    measurements::attach(&guest);
    crate::tsm::register_provider(Arc::new(tsm::TdxTsm::new(guest.clone())))?;
    Ok(guest)
}

#[cfg(test)]
mod tests;
