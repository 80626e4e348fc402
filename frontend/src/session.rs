//! One VM session: write the initramfs, build the QEMU command, run it
//! under supervision and read the guest's status from the ctl file.

use crate::busybox::{self, Busybox};
use crate::cli::{AddSpec, Firmware};
use crate::qemu::{self, ConcreteAccel, Console, QemuConfig};
use crate::status::{self, Outcome};
use crate::{initramfs, supervise};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub struct Session<'a> {
    pub image: &'a Path,
    pub firmware: Firmware,
    pub accel: ConcreteAccel,
    pub smp: u32,
    pub mem: &'a str,
    pub cmdline: String,
    pub adds: &'a [AddSpec],
    /// Raw images attached as virtio-blk drives (`--disk`).
    pub disks: &'a [PathBuf],
    /// The busybox userland to put in the initramfs (`--userland none`: none).
    pub busybox: Option<&'a Busybox>,
    /// Guest command; empty means an interactive console.
    pub command: &'a [String],
    /// Run as a real TDX guest.
    pub tdx: Option<qemu::TdxGuest>,
    /// `-cpu` under TCG ([`qemu::TCG_CPU`] unless the TEE needs another).
    pub tcg_cpu: &'static str,
}

pub struct Prepared {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub ctl: PathBuf,
}

impl Prepared {
    pub fn command_line(&self) -> String {
        qemu::command_line(&self.program, &self.args)
    }
}

/// Writes `workdir/initrd` and returns the QEMU command for the session.
pub fn prepare(s: &Session, workdir: &Path) -> Result<Prepared, String> {
    let initrd = workdir.join("initrd");
    initramfs::write_with(&initrd, s.busybox, s.adds, &guest_command(s))?;
    let ctl = workdir.join("ctl");
    let _ = std::fs::remove_file(&ctl);
    let cfg = QemuConfig {
        accel: s.accel,
        firmware: s.firmware,
        smp: s.smp,
        mem: s.mem.to_string(),
        kernel: absolute(s.image),
        initrd,
        cmdline: s.cmdline.clone(),
        ctl: ctl.clone(),
        console: if s.command.is_empty() {
            Console::Interactive
        } else {
            Console::Batch
        },
        tdx: s.tdx.clone(),
        tcg_cpu: s.tcg_cpu,
        disks: s.disks.iter().map(|d| absolute(d)).collect(),
    };
    Ok(Prepared {
        program: qemu::qemu_binary(),
        args: qemu::args(&cfg),
        ctl,
    })
}

/// The command written to the initramfs: with the busybox userland and no command,
/// `/bin/sh` (unless an `--add` provides `/init`, which then runs instead).
fn guest_command(s: &Session) -> Vec<String> {
    let has_init = s.adds.iter().any(|a| a.guest == "/init");
    if s.command.is_empty() && s.busybox.is_some() && !has_init {
        vec![busybox::DEFAULT_SHELL.to_string()]
    } else {
        s.command.to_vec()
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Where QEMU's stdio goes.
pub enum Io {
    /// stdin, stdout and stderr are ours (guest console on our stdout).
    Inherit,
    /// No stdin, console discarded, QEMU's stderr to a file (probe boots).
    Quiet { stderr_log: PathBuf },
}

/// Runs the prepared session. `Err` means QEMU could not be started.
pub fn execute(p: &Prepared, io: &Io, timeout: Option<Duration>) -> Result<Outcome, String> {
    let mut cmd = Command::new(&p.program);
    cmd.args(&p.args);
    match io {
        Io::Inherit => {
            if !supervise::stdin_is_open() {
                cmd.stdin(Stdio::null());
            }
        }
        Io::Quiet { stderr_log } => {
            let log = std::fs::File::create(stderr_log)
                .map_err(|e| format!("{}: {e}", stderr_log.display()))?;
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        }
    }
    let end = supervise::run(&mut cmd, timeout).map_err(|e| {
        let name = p.program.to_string_lossy();
        if e.kind() == std::io::ErrorKind::NotFound {
            format!("{name} not found (scripts/setup.sh installs it)")
        } else {
            format!("cannot run {name}: {e}")
        }
    })?;
    let ctl = std::fs::read(&p.ctl).unwrap_or_default();
    Ok(Outcome::from_parts(status::parse_ctl(&ctl), end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::AddSpec;

    fn session<'a>(busybox: Option<&'a Busybox>, adds: &'a [AddSpec], command: &'a [String]) -> Session<'a> {
        Session {
            image: Path::new("bzImage"),
            firmware: Firmware::SeaBios,
            accel: ConcreteAccel::Tcg,
            smp: 1,
            mem: "512M",
            cmdline: String::new(),
            adds,
            disks: &[],
            busybox,
            command,
            tdx: None,
            tcg_cpu: crate::qemu::TCG_CPU,
        }
    }

    #[test]
    fn guest_command_defaults() {
        let bb = Busybox {
            host: PathBuf::from("/bin/busybox"),
            applets: vec!["/bin/sh".into()],
        };
        let init = [AddSpec {
            host: PathBuf::from("x"),
            guest: "/init".into(),
        }];
        let cmd = ["exit".to_string(), "3".to_string()];
        // busybox, no command: its shell on the console.
        assert_eq!(guest_command(&session(Some(&bb), &[], &[])), ["/bin/sh"]);
        // An added /init runs instead; a command always wins.
        assert!(guest_command(&session(Some(&bb), &init, &[])).is_empty());
        assert_eq!(guest_command(&session(Some(&bb), &[], &cmd)), cmd);
        // --userland none, no command: no argv file, the kernel monitor.
        assert!(guest_command(&session(None, &[], &[])).is_empty());
        assert_eq!(guest_command(&session(None, &[], &cmd)), cmd);
    }
}
