//! The SEV-SNP guest driver (Linux drivers/virt/coco/sev-guest): present
//! only in an SNP guest (the TEE emulator's included) whose VMPCK0 is
//! usable.
//!
//! | module | owns |
//! |---|---|
//! | [`channel`] | the one call into `tee` (a guest request to the PSP) and what its failures mean |
//! | [`guest`] | Linux's `snp_send_guest_request` contract: errno and `exitinfo2` of each outcome |
//! | [`device`] | `/dev/sev-guest`: SNP_GET_REPORT, SNP_GET_DERIVED_KEY, SNP_GET_EXT_REPORT |
//! | [`tsm`] | the configfs-tsm provider `sev_guest` (report, certificate table) |
//!
//! Umbra runs at VMPL0 without an SVSM: the VMPCK is VMPCK0,
//! `privlevel_floor` is 0, and the SVSM attributes (`service_*`,
//! `manifestblob`) do not exist, as on Linux with `snp_vmpl == 0`.

pub mod channel;
pub mod device;
pub mod guest;
pub mod tsm;

use alloc::sync::Arc;

use services::error::Result;
use services::fs::types::DeviceId;

use self::guest::SnpGuest;
use crate::user::UserMemory;

/// The misc-device major.
pub const MISC_MAJOR: u32 = 10;
/// Our minor for `sev-guest` (Linux: a dynamic misc minor; clients open
/// the device by name). Distinct from `tdx_guest`'s.
pub const SEV_GUEST_MINOR: u32 = 257;
/// The device name (`DEVICE_NAME`): `/dev/sev-guest`.
pub const DEVICE_NAME: &str = "sev-guest";
/// The tsm provider name (`KBUILD_MODNAME`).
pub const PROVIDER_NAME: &str = "sev_guest";

pub fn device_id() -> DeviceId {
    DeviceId::new(MISC_MAJOR, SEV_GUEST_MINOR)
}

/// `sev_guest_probe`: register the tsm provider and `/dev/sev-guest`
/// (0600, as devtmpfs makes misc nodes). Call at boot, before the boot
/// tree mounts `/dev`.
pub fn register(channel: alloc::boxed::Box<dyn channel::SnpChannel>, user: &'static dyn UserMemory) -> Result<Arc<SnpGuest>> {
    let guest = Arc::new(SnpGuest::new(channel));
    crate::tsm::register_provider(Arc::new(tsm::SevTsm::new(guest.clone())))?;
    services::fs::device::register_char_device(device_id(), Arc::new(device::SevGuestDevice::new(guest.clone(), user)));
    services::fs::devfs::register_node(DEVICE_NAME, device_id(), 0o600, 0);
    Ok(guest)
}

#[cfg(test)]
mod tests;
