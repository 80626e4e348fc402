//! Construction of the QEMU command line (pure; no process handling).

use crate::cli::Firmware;
use crate::status::{EXIT_PORT, STATUS_PORT};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub const DEFAULT_QEMU: &str = "qemu-system-x86_64";
pub const OVMF_PATH: &str = "/usr/share/ovmf/OVMF.fd";

/// The QEMU binary: `$UMBRA_QEMU` if set (tests use a fake), else
/// `qemu-system-x86_64` from PATH.
pub fn qemu_binary() -> OsString {
    std::env::var_os("UMBRA_QEMU")
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_QEMU.into())
}

/// An accelerator that has been decided (no `auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConcreteAccel {
    Tcg,
    Kvm,
}

/// How the guest console (COM1) is wired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    /// A guest command runs: console on stdio, no monitor.
    Batch,
    /// No command: console multiplexed with the QEMU monitor (Ctrl-A c),
    /// Ctrl-A x quits.
    Interactive,
}

/// A real TDX guest (QEMU >= 10.1 on a TDX KVM host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TdxGuest {
    /// TDVF (OVMF built with TDX support).
    pub firmware: PathBuf,
    /// Unix socket of the host's Quote Generation Service, if any.
    pub qgs_socket: Option<PathBuf>,
}

/// TDVF: Debian/Ubuntu's TDX build of OVMF; `UMBRA_TDVF` overrides.
pub const TDVF_PATH: &str = "/usr/share/ovmf/OVMF.inteltdx.fd";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuConfig {
    pub accel: ConcreteAccel,
    pub firmware: Firmware,
    pub smp: u32,
    pub mem: String,
    pub kernel: PathBuf,
    pub initrd: PathBuf,
    pub cmdline: String,
    pub ctl: PathBuf,
    pub console: Console,
    pub tdx: Option<TdxGuest>,
    /// `-cpu` under TCG.
    pub tcg_cpu: &'static str,
    /// Raw disk images, attached as modern-only virtio-blk PCI devices.
    pub disks: Vec<PathBuf>,
}

/// `-cpu` under TCG by default.
pub const TCG_CPU: &str = "max";
/// `-cpu` under TCG for `--tee snp-emu`: an AMD EPYC model TCG supports,
/// with the x2APIC Umbra needs for timers and SMP.
pub const TCG_CPU_SNP_EMU: &str = "EPYC-v4,+x2apic";

/// QEMU's arguments (without the program name).
pub fn args(c: &QemuConfig) -> Vec<OsString> {
    let mut a: Vec<OsString> = Vec::new();
    let mut push = |s: &str| a.push(s.into());
    push("-machine");
    push(if c.tdx.is_some() {
        "q35,confidential-guest-support=tdx0,kernel-irqchip=split"
    } else {
        "q35"
    });
    for s in [
        "-nodefaults",
        "-display",
        "none",
        "-no-reboot",
    ] {
        push(s);
    }
    match c.accel {
        ConcreteAccel::Tcg => ["-accel", "tcg", "-cpu", c.tcg_cpu]
            .iter()
            .for_each(|s| push(s)),
        ConcreteAccel::Kvm => ["-accel", "kvm", "-cpu", "host"]
            .iter()
            .for_each(|s| push(s)),
    }
    push("-m");
    push(&c.mem);
    push("-smp");
    push(&c.smp.to_string());
    if let Some(tdx) = &c.tdx {
        let mut object = OsString::from("tdx-guest,id=tdx0");
        if let Some(socket) = &tdx.qgs_socket {
            object.push(",quote-generation-socket.type=unix,quote-generation-socket.path=");
            object.push(escape_opt_value(socket));
        }
        a.push("-object".into());
        a.push(object);
        a.push("-bios".into());
        a.push(tdx.firmware.clone().into());
    } else if c.firmware == Firmware::Ovmf {
        push("-bios");
        push(OVMF_PATH);
    }
    a.push("-kernel".into());
    a.push(c.kernel.clone().into());
    a.push("-initrd".into());
    a.push(c.initrd.clone().into());
    a.push("-append".into());
    a.push(c.cmdline.clone().into());
    let mut push = |s: &str| a.push(s.into());
    match c.console {
        Console::Batch => {
            for s in [
                "-chardev",
                "stdio,id=con0,signal=on",
                "-serial",
                "chardev:con0",
            ] {
                push(s);
            }
        }
        Console::Interactive => {
            for s in [
                "-chardev",
                "stdio,id=con0,mux=on,signal=off",
                "-serial",
                "chardev:con0",
                "-mon",
                "chardev=con0",
            ] {
                push(s);
            }
        }
    }
    let mut ctl = OsString::from("file,id=umbractl,path=");
    ctl.push(escape_opt_value(&c.ctl));
    a.push("-chardev".into());
    a.push(ctl);
    for (index, disk) in c.disks.iter().enumerate() {
        let mut drive = OsString::from("file=");
        drive.push(escape_opt_value(disk));
        drive.push(format!(",format=raw,if=none,id=disk{index}"));
        a.push("-drive".into());
        a.push(drive);
        a.push("-device".into());
        a.push(format!("virtio-blk-pci,drive=disk{index},disable-legacy=on").into());
    }
    let mut push = |s: &str| a.push(s.into());
    push("-device");
    push(&format!(
        "isa-debugcon,iobase={STATUS_PORT:#x},chardev=umbractl"
    ));
    push("-device");
    push(&format!("isa-debug-exit,iobase={EXIT_PORT:#x},iosize=0x04"));
    a
}

/// In QEMU option strings a `,` inside a value is written `,,`.
fn escape_opt_value(p: &Path) -> OsString {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let mut out = Vec::new();
    for &b in p.as_os_str().as_bytes() {
        out.push(b);
        if b == b',' {
            out.push(b',');
        }
    }
    OsString::from_vec(out)
}

/// Quotes one word for a POSIX shell (only when needed).
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The whole command, shell-quoted, on one line.
pub fn command_line(program: &OsString, args: &[OsString]) -> String {
    std::iter::once(program)
        .chain(args)
        .map(|a| shell_quote(&a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> QemuConfig {
        QemuConfig {
            accel: ConcreteAccel::Tcg,
            firmware: Firmware::SeaBios,
            smp: 1,
            mem: "512M".into(),
            kernel: "/r/target/umbra/bzImage".into(),
            initrd: "/tmp/u/initrd".into(),
            cmdline: "console=ttyS0".into(),
            ctl: "/tmp/u/ctl".into(),
            console: Console::Batch,
            tdx: None,
            tcg_cpu: TCG_CPU,
            disks: Vec::new(),
        }
    }

    fn joined(c: &QemuConfig) -> String {
        command_line(&DEFAULT_QEMU.into(), &args(c))
    }

    #[test]
    fn disks_are_modern_virtio_blk_drives_with_escaped_paths() {
        let mut c = cfg();
        c.disks = vec!["/d/a.img".into(), "/d/b,c.img".into()];
        let s = joined(&c);
        assert!(s.contains("-drive file=/d/a.img,format=raw,if=none,id=disk0 -device virtio-blk-pci,drive=disk0,disable-legacy=on"), "{s}");
        assert!(s.contains("-drive file=/d/b,,c.img,format=raw,if=none,id=disk1 -device virtio-blk-pci,drive=disk1,disable-legacy=on"), "{s}");
    }

    #[test]
    fn batch_tcg_seabios() {
        assert_eq!(
            joined(&cfg()),
            "qemu-system-x86_64 -machine q35 -nodefaults -display none -no-reboot -accel tcg -cpu max \
             -m 512M -smp 1 -kernel /r/target/umbra/bzImage -initrd /tmp/u/initrd -append console=ttyS0 \
             -chardev stdio,id=con0,signal=on -serial chardev:con0 \
             -chardev file,id=umbractl,path=/tmp/u/ctl -device isa-debugcon,iobase=0xe9,chardev=umbractl \
             -device isa-debug-exit,iobase=0xf4,iosize=0x04"
        );
    }

    #[test]
    fn interactive_kvm_ovmf() {
        let mut c = cfg();
        c.accel = ConcreteAccel::Kvm;
        c.firmware = Firmware::Ovmf;
        c.smp = 2;
        c.mem = "1G".into();
        c.cmdline = "console=ttyS0 foo=bar".into();
        c.console = Console::Interactive;
        let s = joined(&c);
        assert!(s.contains(" -accel kvm -cpu host "), "{s}");
        assert!(!s.contains("tcg"), "{s}");
        assert!(
            s.contains(" -m 1G -smp 2 -bios /usr/share/ovmf/OVMF.fd -kernel "),
            "{s}"
        );
        assert!(s.contains(" -append 'console=ttyS0 foo=bar' "), "{s}");
        assert!(
            s.contains(
                " -chardev stdio,id=con0,mux=on,signal=off -serial chardev:con0 -mon chardev=con0 "
            ),
            "{s}"
        );
    }

    #[test]
    fn tdx_guest_object_and_machine() {
        let mut c = cfg();
        c.accel = ConcreteAccel::Kvm;
        c.tdx = Some(TdxGuest { firmware: "/fw/TDVF.fd".into(), qgs_socket: Some("/run/q,gs".into()) });
        let s = joined(&c);
        assert!(s.starts_with("qemu-system-x86_64 -machine q35,confidential-guest-support=tdx0,kernel-irqchip=split "), "{s}");
        assert!(s.contains(" -accel kvm -cpu host "), "{s}");
        assert!(
            s.contains(" -object tdx-guest,id=tdx0,quote-generation-socket.type=unix,quote-generation-socket.path=/run/q,,gs -bios /fw/TDVF.fd "),
            "{s}"
        );
    }

    #[test]
    fn seabios_has_no_bios_flag() {
        assert!(!joined(&cfg()).contains("-bios"));
    }

    #[test]
    fn commas_in_ctl_path_are_escaped() {
        let mut c = cfg();
        c.ctl = "/tmp/a,b/ctl".into();
        let a = args(&c);
        assert!(a.iter().any(|x| x == "file,id=umbractl,path=/tmp/a,,b/ctl"));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("abc-1.2/x=y"), "abc-1.2/x=y");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
    }
}
