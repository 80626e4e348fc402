//! The host verifier's reference MRTD (`umbra-verify measure --kernel`)
//! is what the emulated TDX module measures when the test kernel boots:
//! boot it under `--tee tdx-emu` and compare with the MRTD it prints.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use umbra_tests::{umbra_bin, umbra_run_with_kernel, workspace_root};

/// Builds the emulation image; returns (bzImage, the ELF it came from).
fn emulation_kernel() -> (PathBuf, PathBuf) {
    let out = Command::new(umbra_bin())
        .args(["build", "--tee", "tdx-emu"])
        .stderr(Stdio::inherit())
        .output()
        .expect("running `umbra build --tee tdx-emu`");
    assert!(out.status.success(), "`umbra build --tee tdx-emu` failed ({})", out.status);
    let image = PathBuf::from(String::from_utf8_lossy(&out.stdout).lines().last().expect("image path").trim());
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from);
    let elf = target.join("tee-emu/x86_64-unknown-none/release/umbra-kernel");
    assert!(elf.is_file(), "no {}", elf.display());
    (image, elf)
}

#[test]
fn measured_mrtd_matches_the_emulated_td() {
    let (image, elf) = emulation_kernel();
    let expected = verifier::reference::kernel_mrtd(&std::fs::read(&elf).unwrap()).expect("MRTD of the kernel ELF");
    let out = umbra_run_with_kernel(&image).accel("tcg").timeout(300).opts(["--tee", "tdx-emu"]).guest(&["echo", "booted"]);
    out.assert_code(0).assert_stdout_line("booted");
    // "tee: tdx (emulated: ..., MRTD fab4e39f..)": the first 4 bytes.
    let tee = out.line_starting("tee: ");
    let shown = tee.split("MRTD ").nth(1).and_then(|s| s.split("..").next()).unwrap_or_else(|| panic!("no MRTD in {tee}"));
    assert_eq!(shown, verifier::bytes::hex(&expected[..4]), "{tee}");
}
