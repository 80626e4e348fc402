//! Umbra's attestation layer: the kernel side of Linux's attestation ABI,
//! in safe Rust on top of `tee` and the VFS of `services`.
//!
//! | module | owns |
//! |---|---|
//! | [`tdx`] | the TDX guest driver: `/dev/tdx_guest`, the measurement registers in sysfs, the `tdx_guest` tsm provider |
//! | [`snp`] | the SEV-SNP guest driver: `/dev/sev-guest`, the `sev_guest` tsm provider |
//! | [`tsm`] | configfs-tsm reports (`/sys/kernel/config/tsm/report/`) |
//! | [`configfs`] | configfs itself (`mount -t configfs`) |
//! | [`sysfs`] | the sysfs node kinds the drivers hang into `/sys` |
//! | [`eventlog`] | TCG2 crypto-agile (SHA-384) event logs: codec and RTMR replay |
//! | [`measured_boot`] | measuring the command line and initramfs into RTMR2, logging them (TDX) |
//! | [`ccel`] | the CCEL ACPI table and log area in `/sys/firmware/acpi/tables` |
//! | [`user`] | user-memory copies for ioctls |
//! | `node` | inode numbers and metadata of pseudo files |
//! | `sync` | the sleeping lock report generation holds |
//!
//! [`init`] runs once at boot, before the boot tree mounts `/dev` and
//! `/sys`: configfs and `tsm/report` always exist (as on Linux with
//! `CONFIG_TSM_REPORTS`), the TDX driver only in a TD, the SEV-SNP
//! driver only in an SNP guest.
//!
//! Must never: use `unsafe` (forbidden below); hand user space a report
//! built from unchecked host data.
//!
//! [`measured_boot::measure_boot`] runs just before [`init`] (the kernel
//! passes it the command line and the initramfs).
//!
//! Not yet: reading real TDVF's CCEL (see [`measured_boot`]).
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod ccel;
pub mod configfs;
pub mod eventlog;
pub mod measured_boot;
mod node;
mod sync;
pub mod snp;
pub mod sysfs;
pub mod tdx;
pub mod tsm;
pub mod user;

/// Register configfs, `tsm/report`, and the guest driver of the TEE
/// (TDX or SEV-SNP).
#[cfg(target_os = "none")]
pub fn init() {
    configfs::register_filesystem();
    tsm::report::register_configfs();
    if tee::detect() == tee::PlatformKind::Tdx {
        static USER: user::CurrentProcess = user::CurrentProcess;
        match tdx::register(alloc::boxed::Box::new(tdx::backend::TeeTdx), &USER) {
            Ok(_) => log::info!("attestation: /dev/tdx_guest, measurements and the tdx_guest tsm provider registered"),
            Err(error) => log::error!("attestation: TDX guest driver not registered: {}", error),
        }
    }
    if tee::detect() == tee::PlatformKind::SevSnp {
        static USER: user::CurrentProcess = user::CurrentProcess;
        if !snp::channel::available() {
            log::error!("attestation: no usable VMPCK0: /dev/sev-guest not registered");
            return;
        }
        match snp::register(alloc::boxed::Box::new(snp::channel::TeeSnp), &USER) {
            Ok(_) => log::info!("attestation: /dev/sev-guest and the sev_guest tsm provider registered"),
            Err(error) => log::error!("attestation: SEV-SNP guest driver not registered: {}", error),
        }
    }
}
