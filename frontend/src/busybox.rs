//! The busybox userland, `umbra run`'s default (`--userland busybox`):
//! Debian's static busybox.
//!
//! Puts the host's `/bin/busybox` (package busybox-static) at `/bin/busybox`
//! in the initramfs with one symbolic link per applet (the list comes from
//! `busybox --list-full` on the host: `usr/bin/awk`, `bin/sh`, ...), plus
//! `/tmp`, `/root`, `/etc/passwd` and `/etc/group` with a root user.
//! `--userland none` (`--no-busybox`) leaves all of it out.

use crate::cpio::CpioWriter;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where busybox-static installs the binary on the host.
pub const HOST_BUSYBOX: &str = "/bin/busybox";
/// Where it goes in the guest (the applet links point here).
pub const GUEST_BUSYBOX: &str = "/bin/busybox";
/// The guest command with the busybox userland and no command.
pub const DEFAULT_SHELL: &str = "/bin/sh";

pub const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n";
pub const GROUP: &str = "root:x:0:\n";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busybox {
    pub host: PathBuf,
    /// Guest paths of the applet links, absolute (`/usr/bin/awk`).
    pub applets: Vec<String>,
}

impl Busybox {
    /// Reads the applet list from the host's busybox.
    pub fn from_host(host: &Path) -> Result<Busybox, String> {
        if !host.is_file() {
            return Err(format!(
                "busybox userland: {} not found (package busybox-static; scripts/setup.sh installs it; \
                 --userland none boots without it)",
                host.display()
            ));
        }
        let out = Command::new(host)
            .arg("--list-full")
            .output()
            .map_err(|e| format!("busybox userland: running {} --list-full: {e}", host.display()))?;
        if !out.status.success() {
            return Err(format!(
                "busybox userland: {} --list-full failed ({})",
                host.display(),
                out.status
            ));
        }
        let list = String::from_utf8_lossy(&out.stdout);
        Ok(Busybox {
            host: host.to_path_buf(),
            applets: parse_list(&list),
        })
    }

    /// Writes the binary, the links and the small /etc files.
    pub fn write_into<W: Write>(&self, w: &mut CpioWriter<W>) -> io::Result<()> {
        let data = std::fs::read(&self.host)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.host.display())))?;
        w.add_dir("/bin", 0o755)?;
        w.add_file(GUEST_BUSYBOX, 0o755, &data)?;
        for a in &self.applets {
            w.add_symlink(a, GUEST_BUSYBOX)?;
        }
        w.add_dir("/tmp", 0o1777)?;
        w.add_dir("/root", 0o700)?;
        w.add_file("/etc/passwd", 0o644, PASSWD.as_bytes())?;
        w.add_file("/etc/group", 0o644, GROUP.as_bytes())?;
        Ok(())
    }
}

/// `busybox --list-full` output to absolute guest paths. Skips `linuxrc`
/// (busybox's init, not wanted at the root), the binary itself, and
/// anything that is not a plain relative path.
pub fn parse_list(list: &str) -> Vec<String> {
    let mut v: Vec<String> = list
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('/') && l.contains('/'))
        .filter(|l| l.split('/').all(|c| !c.is_empty() && c != "." && c != ".."))
        .map(|l| format!("/{l}"))
        .filter(|p| p != GUEST_BUSYBOX)
        .collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_parsing() {
        let got = parse_list("usr/bin/[\nbin/sh\nlinuxrc\nbin/busybox\n\nusr/bin/awk\n../x/y\nbin/sh\n");
        assert_eq!(got, vec!["/bin/sh", "/usr/bin/[", "/usr/bin/awk"]);
    }
}
