//! Can this host run a real TDX guest (`--tee tdx`)? QEMU must know the
//! `tdx-guest` object (QEMU >= 10.1), KVM must be a TDX host, and TDVF
//! (OVMF built for TDX) must exist. Each missing piece is named.

use crate::qemu::{TdxGuest, TDVF_PATH};
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// kvm_intel's switch that says the host kernel runs TDX guests.
pub const KVM_TDX_PARAMETER: &str = "/sys/module/kvm_intel/parameters/tdx";

/// The TD's firmware and quote socket: `UMBRA_TDVF`, `UMBRA_TDX_QGS`.
pub fn guest_config() -> TdxGuest {
    let env_path = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    TdxGuest {
        firmware: env_path("UMBRA_TDVF").unwrap_or_else(|| TDVF_PATH.into()),
        qgs_socket: env_path("UMBRA_TDX_QGS"),
    }
}

/// Does `qemu -object help` list `tdx-guest`?
pub fn qemu_has_tdx_guest(qemu: &OsStr) -> Result<bool, String> {
    let out = Command::new(qemu)
        .args(["-object", "help"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", qemu.to_string_lossy()))?;
    Ok(String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == "tdx-guest"))
}

/// Everything this host lacks for a TDX guest (empty: it can run one).
pub fn missing(qemu: &OsStr, guest: &TdxGuest) -> Vec<String> {
    let mut missing = Vec::new();
    match qemu_has_tdx_guest(qemu) {
        Ok(true) => {}
        Ok(false) => missing.push(format!(
            "{} has no tdx-guest object (QEMU >= 10.1 is needed)",
            qemu.to_string_lossy()
        )),
        Err(e) => missing.push(e),
    }
    let kvm_tdx = std::fs::read_to_string(KVM_TDX_PARAMETER).map(|v| matches!(v.trim(), "Y" | "y" | "1"));
    if !matches!(kvm_tdx, Ok(true)) || !std::path::Path::new("/dev/kvm").exists() {
        missing.push(format!("KVM is not a TDX host ({KVM_TDX_PARAMETER} is not Y, or no /dev/kvm)"));
    }
    if !guest.firmware.is_file() {
        missing.push(format!(
            "TDVF firmware {} not found (set UMBRA_TDVF)",
            guest.firmware.display()
        ));
    }
    missing
}
