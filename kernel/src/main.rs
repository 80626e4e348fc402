//! The Umbra kernel binary: links the layers (boot, framework, tee,
//! services, attestation) and runs the first workload.
//!
//! Until services can run user programs, the workload is the kernel
//! monitor ([`monitor`]): it runs the command the front-end placed in the
//! initramfs at `/etc/umbra/argv`, or an interactive prompt on the console.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

mod monitor;

use framework::{println, BootInfo, KernelContext};

fn kernel_main(context: &KernelContext) -> u8 {
    let platform = tee::detect();
    println!("platform: {}", platform.name());
    let initramfs = monitor::Initramfs::load(context.initrd);
    monitor::run(context, &initramfs)
}

/// The platform setup (framework calls it after the trap tables, before
/// devices and memory): the tee layer picks the platform.
fn platform_setup(boot: &'static BootInfo) -> &'static BootInfo {
    tee::init(boot).boot
}

// The one place the kernel crate names a link-level symbol (`#[no_mangle]`,
// the reason this crate denies rather than forbids unsafe code).
#[allow(unsafe_code)]
mod entry {
    framework::kernel_main!(crate::kernel_main, platform = crate::platform_setup);
}
