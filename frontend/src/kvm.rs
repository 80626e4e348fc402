//! Decides whether KVM really works here (for `--accel auto`).
//!
//! KVM counts as usable only if /dev/kvm opens read-write, answers the API
//! version ioctl and creates a VM, AND a probe boot of the same image under
//! `-accel kvm -cpu host` runs the guest command `exit 0` to completion
//! within 20 s. On these machines /dev/kvm exists but KVM can fail, so the
//! probe boot is the real test. Its verdict is cached in
//! `target/umbra/kvm-probe`, keyed by the host's boot id
//! (/proc/sys/kernel/random/boot_id): a new host boot probes again. Delete
//! the file to force a new probe.

use crate::cli::Firmware;
use crate::qemu::ConcreteAccel;
use crate::session::{self, Io, Session};
use crate::status::{GuestStatus, Outcome};
use crate::tempdir::TempDir;
use std::path::Path;
use std::time::Duration;

pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Usable,
    Unusable(String),
}

/// The verdict for this host, using and updating the cache file if given.
pub fn decide(image: &Path, cache: Option<&Path>) -> Verdict {
    if let Err(reason) = check_dev_kvm() {
        return Verdict::Unusable(reason);
    }
    let boot_id = std::fs::read_to_string(BOOT_ID)
        .ok()
        .map(|s| s.trim().to_string());
    if let (Some(id), Some(cache)) = (&boot_id, cache) {
        if let Some(v) = std::fs::read_to_string(cache)
            .ok()
            .and_then(|t| parse_cache(&t, id))
        {
            return v;
        }
    }
    let verdict = probe(image);
    if let (Some(id), Some(cache)) = (&boot_id, cache) {
        if let Some(dir) = cache.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = crate::kernel_build::write_atomically(cache, format_cache(id, &verdict).as_bytes());
    }
    verdict
}

/// Opens /dev/kvm read-write, checks the API version and creates a VM.
pub fn check_dev_kvm() -> Result<(), String> {
    use std::os::fd::AsRawFd;
    const KVM_GET_API_VERSION: libc::c_ulong = 0xae00;
    const KVM_CREATE_VM: libc::c_ulong = 0xae01;
    let kvm = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .map_err(|e| format!("/dev/kvm: {e}"))?;
    // SAFETY: KVM_GET_API_VERSION takes no argument and only returns an int.
    let version = unsafe { libc::ioctl(kvm.as_raw_fd(), KVM_GET_API_VERSION as _, 0) };
    if version != 12 {
        return Err(format!("/dev/kvm: API version {version}, expected 12"));
    }
    // SAFETY: KVM_CREATE_VM with machine type 0 returns a new fd or -1;
    // no memory is passed.
    let vm = unsafe { libc::ioctl(kvm.as_raw_fd(), KVM_CREATE_VM as _, 0) };
    if vm < 0 {
        return Err(format!(
            "cannot create a KVM VM: {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: `vm` is a descriptor we own and close exactly once.
    unsafe { libc::close(vm) };
    Ok(())
}

/// Boots `image` under KVM with the command `exit 0`.
fn probe(image: &Path) -> Verdict {
    let tmp = match TempDir::new("kvm-probe") {
        Ok(t) => t,
        Err(e) => return Verdict::Unusable(format!("probe: {e}")),
    };
    let command = ["exit".to_string(), "0".to_string()];
    let s = Session {
        image,
        firmware: Firmware::SeaBios,
        accel: ConcreteAccel::Kvm,
        smp: 1,
        mem: "512M",
        cmdline: "console=ttyS0".into(),
        adds: &[],
        disks: &[],
        busybox: None,
        command: &command,
        tdx: None,
        tcg_cpu: crate::qemu::TCG_CPU,
    };
    let log = tmp.path().join("qemu.log");
    let outcome = session::prepare(&s, tmp.path()).and_then(|p| {
        session::execute(
            &p,
            &Io::Quiet {
                stderr_log: log.clone(),
            },
            Some(PROBE_TIMEOUT),
        )
    });
    let first_err_line = || {
        std::fs::read_to_string(&log)
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| !l.trim().is_empty())
                    .map(|l| format!(": {}", l.trim()))
            })
            .unwrap_or_default()
    };
    match outcome {
        Ok(Outcome::Guest(GuestStatus::Exit(0))) => Verdict::Usable,
        Ok(Outcome::Guest(GuestStatus::Exit(n))) => {
            Verdict::Unusable(format!("probe boot exited with {n}"))
        }
        Ok(Outcome::Guest(GuestStatus::Panic)) => Verdict::Unusable("probe boot panicked".into()),
        Ok(Outcome::TimedOut(d)) => {
            Verdict::Unusable(format!("probe boot did not finish in {} s", d.as_secs()))
        }
        Ok(Outcome::NoStatus(how)) => {
            Verdict::Unusable(format!("probe boot failed, {how}{}", first_err_line()))
        }
        Ok(Outcome::Interrupted(sig)) => {
            Verdict::Unusable(format!("probe interrupted by signal {sig}"))
        }
        Err(e) => Verdict::Unusable(format!("probe: {e}")),
    }
}

/// Cache file: `boot_id <id>\nkvm usable\n` or `kvm unusable <reason>\n`.
fn format_cache(boot_id: &str, v: &Verdict) -> String {
    match v {
        Verdict::Usable => format!("boot_id {boot_id}\nkvm usable\n"),
        Verdict::Unusable(r) => {
            format!("boot_id {boot_id}\nkvm unusable {}\n", r.replace('\n', " "))
        }
    }
}

/// The cached verdict if it was made during boot `boot_id`.
fn parse_cache(text: &str, boot_id: &str) -> Option<Verdict> {
    let mut lines = text.lines();
    if lines.next()?.strip_prefix("boot_id ")? != boot_id {
        return None;
    }
    let v = lines.next()?.strip_prefix("kvm ")?;
    if v == "usable" {
        Some(Verdict::Usable)
    } else {
        v.strip_prefix("unusable ")
            .map(|r| Verdict::Unusable(r.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_round_trip_and_key() {
        let id = "147b9ea8-9ecc-4e19-ab86-b002d751d991";
        for v in [
            Verdict::Usable,
            Verdict::Unusable("probe boot did not finish in 20 s".into()),
        ] {
            let text = format_cache(id, &v);
            assert_eq!(parse_cache(&text, id), Some(v));
            assert_eq!(parse_cache(&text, "another-boot"), None);
        }
        assert_eq!(parse_cache("", id), None);
        assert_eq!(parse_cache(&format!("boot_id {id}\ngarbage\n"), id), None);
    }
}
