//! The Umbra kernel binary: links the layers (boot, framework, tee,
//! services, attestation) and runs the first workload.
//!
//! Boot: the root file system from the initramfs (devfs on `/dev`), the
//! file-system clock, the random generator, the console terminal. Then the
//! workload, in this order:
//! 1. the command in `/etc/umbra/argv` (written by `umbra run -- CMD ...`):
//!    if `CMD` names a program in the file system (a path, or a name found
//!    in `PATH`), it runs as PID 1; otherwise it is a kernel-monitor
//!    command ([`monitor`]: `ktest`, `echo`, `exit`, ...);
//! 2. else `/init`, if the initramfs has one, as PID 1;
//! 3. else the interactive kernel monitor.
//!
//! `umbra run` puts busybox in the initramfs by default and, without a
//! command, asks for `/bin/sh`; so a monitor word that is also an applet
//! (`echo`, `poweroff`) runs busybox there, and the monitor's prompt
//! appears only with `umbra run --no-busybox`.
//!
//! When PID 1 ends, the VM powers off with its status (128 + N when a
//! signal N killed it).
#![no_std]
#![no_main]
#![deny(unsafe_code)]

extern crate alloc;

mod entropy;
mod monitor;

use alloc::sync::Arc;
use alloc::vec::Vec;

use framework::{println, BootInfo, KernelContext};
use services::fs::mount::Mount;
use services::fs::{Credentials, FsContext, Path, Timespec};

/// Where a name without a slash is looked for (Linux's default for init).
const PATH_DIRS: [&[u8]; 6] = [b"/usr/local/sbin", b"/usr/local/bin", b"/usr/sbin", b"/usr/bin", b"/sbin", b"/bin"];
const INIT_ENV: [&[u8]; 3] = [b"HOME=/", b"TERM=linux", b"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"];

fn kernel_main(context: &KernelContext) -> u8 {
    let platform = tee::detect();
    println!("platform: {}", platform.name());
    let initramfs = monitor::Initramfs::load(context.initrd);
    services::fs::set_clock(realtime);
    entropy::seed_generator();
    services::fs::devfs::set_entropy_source(services::random::fill);
    services::process::procfs_source::install();
    // In a TD: measure the command line and initramfs into RTMR2 and
    // publish the CCEL event log, before the TDX driver reads the RTMRs.
    attestation::measured_boot::measure_boot(context.boot.cmdline().as_bytes(), context.initrd);
    // Before the boot tree: the drivers' /dev nodes and sysfs entries.
    framework::virtio::probe(context.boot.rsdp);
    services::fs::block::register_disks();
    attestation::init();
    let root = match services::fs::setup::boot_tree(initramfs.bytes()) {
        Ok((root, report)) => {
            log::debug!("rootfs: {:?}", report);
            Some(root)
        }
        Err(error) => {
            log::error!("rootfs: cannot build the root file system: {}", error);
            None
        }
    };
    services::tty::console::register();

    let program = root.as_ref().and_then(|root| choose_program(root, &initramfs));
    match (root, program) {
        (Some(root), Some((path, argv))) => run_init(&root, &path, &argv),
        _ => monitor::run(context, &initramfs),
    }
}

fn realtime() -> Timespec {
    let ns = framework::arch::rtc::realtime_ns();
    Timespec::new((ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as u32)
}

/// The program to run as PID 1 and its argv, if any (see the module doc).
fn choose_program(root: &Arc<Mount>, initramfs: &monitor::Initramfs) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let fs = FsContext::new(Path::root_of(root));
    let creds = Credentials::root();
    let is_file = |path: &[u8]| {
        fs.lookup(None, path, true, &creds).is_ok_and(|p| p.kind() == services::fs::types::InodeType::File)
    };
    match initramfs.argv() {
        Some(bytes) => {
            let mut argv: Vec<Vec<u8>> = bytes.split(|&b| b == 0).map(<[u8]>::to_vec).collect();
            if bytes.last() == Some(&0) {
                argv.pop();
            }
            let command = argv.first()?.clone();
            let path = if command.contains(&b'/') {
                is_file(&command).then_some(command)?
            } else {
                PATH_DIRS.iter().map(|dir| [*dir, b"/", &command].concat()).find(|p| is_file(p))?
            };
            Some((path, argv))
        }
        None => is_file(b"/init").then(|| (b"/init".to_vec(), alloc::vec![b"/init".to_vec()])),
    }
}

fn run_init(root: &Arc<Mount>, path: &[u8], argv: &[Vec<u8>]) -> u8 {
    let argv: Vec<&[u8]> = argv.iter().map(Vec::as_slice).collect();
    match services::process::spawn_init(root, path, &argv, &INIT_ENV) {
        Ok(init) => {
            let status = init.wait_for_exit();
            log::info!("init exited: {:?}", status);
            status.shell_status()
        }
        Err(error) => {
            println!("umbra: cannot run {}: {}", core::str::from_utf8(path).unwrap_or("?"), error);
            // The shell's convention: found but not executable.
            126
        }
    }
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
