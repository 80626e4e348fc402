//! `umbra run`: check options, get an image, pick the accelerator, boot.

use crate::busybox::{self, Busybox};
use crate::cli::{Accel, Firmware, RunOptions, Tee, Userland};
use crate::qemu::{ConcreteAccel, OVMF_PATH};
use crate::session::{self, Io, Session};
use crate::status::{Outcome, EXIT_SETUP, EXIT_USAGE};
use crate::tempdir::TempDir;
use crate::{kernel_build, kvm, paths, tdx_host};
use std::path::{Path, PathBuf};

/// Runs the VM; returns the front-end's exit status.
pub fn run(o: &RunOptions) -> i32 {
    match try_run(o) {
        Ok(code) => code,
        Err((code, msg)) => {
            eprintln!("umbra: {msg}");
            code
        }
    }
}

type Failure = (i32, String);

fn usage(msg: String) -> Failure {
    (EXIT_USAGE, msg)
}

fn setup(msg: String) -> Failure {
    (EXIT_SETUP, msg)
}

fn try_run(o: &RunOptions) -> Result<i32, Failure> {
    let tdx = match o.tee {
        Tee::None | Tee::TdxEmu | Tee::SnpEmu => None,
        Tee::SevSnp => {
            return Err(usage(format!(
                "--tee {} is not supported yet",
                o.tee.name()
            )))
        }
        Tee::Tdx => {
            if o.accel == Accel::Tcg {
                return Err(usage("--tee tdx needs KVM (a TDX host); for TCG use --tee tdx-emu".into()));
            }
            let guest = tdx_host::guest_config();
            // --print-cmd prints what a TDX host would run, even here.
            if !o.print_cmd {
                let missing = tdx_host::missing(&crate::qemu::qemu_binary(), &guest);
                if !missing.is_empty() {
                    return Err(setup(format!(
                        "--tee tdx: this host cannot run a TDX guest: {}",
                        missing.join("; ")
                    )));
                }
            }
            Some(guest)
        }
    };
    if o.firmware == Firmware::Ovmf && !Path::new(OVMF_PATH).is_file() {
        return Err(setup(format!(
            "{OVMF_PATH} not found (package ovmf; scripts/setup.sh installs it)"
        )));
    }
    for add in &o.adds {
        std::fs::metadata(&add.host)
            .map_err(|e| usage(format!("--add {}: {e}", add.host.display())))?;
    }
    let busybox = match o.userland {
        Userland::Busybox => Some(Busybox::from_host(Path::new(busybox::HOST_BUSYBOX)).map_err(setup)?),
        Userland::None => None,
    };
    let root = paths::repo_root();
    let image: PathBuf = match &o.kernel {
        Some(k) if k.is_file() => k.clone(),
        Some(k) => return Err(usage(format!("--kernel {}: no such file", k.display()))),
        None => {
            let root = root.as_ref().map_err(|e| setup(e.clone()))?;
            kernel_build::build_flavor(root, true, kernel_build::Flavor::for_tee(o.tee)).map_err(setup)?
        }
    };
    let accel = match o.accel {
        _ if tdx.is_some() => ConcreteAccel::Kvm,
        Accel::Tcg => ConcreteAccel::Tcg,
        Accel::Kvm => ConcreteAccel::Kvm,
        Accel::Auto => {
            let cache = root
                .as_ref()
                .ok()
                .map(|r| paths::umbra_dir(r).join("kvm-probe"));
            match kvm::decide(&image, cache.as_deref()) {
                kvm::Verdict::Usable => ConcreteAccel::Kvm,
                kvm::Verdict::Unusable(reason) => {
                    eprintln!("umbra: KVM unusable here ({reason}), using TCG");
                    ConcreteAccel::Tcg
                }
            }
        }
    };
    let s = Session {
        image: &image,
        firmware: o.firmware,
        accel,
        smp: o.smp,
        mem: &o.mem,
        cmdline: o.cmdline(),
        adds: &o.adds,
        disks: &o.disks,
        busybox: busybox.as_ref(),
        command: &o.command,
        tdx,
        // An AMD model for the SNP emulator (TCG raises #UD for VMGEXIT
        // and PVALIDATE with it, as with `max`).
        tcg_cpu: if o.tee == Tee::SnpEmu { crate::qemu::TCG_CPU_SNP_EMU } else { crate::qemu::TCG_CPU },
    };

    if o.print_cmd {
        // The printed command must stay runnable, so its initrd lives in a
        // fixed folder that the next --print-cmd overwrites.
        let dir = match &root {
            Ok(r) => paths::umbra_dir(r).join("print-cmd"),
            Err(_) => std::env::temp_dir().join(format!("umbra-print-cmd-{}", std::process::id())),
        };
        std::fs::create_dir_all(&dir).map_err(|e| setup(format!("{}: {e}", dir.display())))?;
        let p = session::prepare(&s, &dir).map_err(usage)?;
        println!("{}", p.command_line());
        return Ok(0);
    }

    let tmp = TempDir::new("run").map_err(|e| setup(format!("temporary folder: {e}")))?;
    let p = session::prepare(&s, tmp.path()).map_err(usage)?;
    if o.command.is_empty() {
        eprintln!("umbra: interactive console; Ctrl-A x quits");
    }
    let outcome = session::execute(&p, &Io::Inherit, o.timeout).map_err(setup)?;
    let quit_from_console = o.command.is_empty()
        && matches!(&outcome, Outcome::NoStatus(how) if how.ends_with("status 0"));
    if quit_from_console {
        eprintln!("umbra: VM stopped from the console without a guest exit status");
    } else if let Some(msg) = outcome.message() {
        eprintln!("{msg}");
    }
    Ok(outcome.exit_code())
}
