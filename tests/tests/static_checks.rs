//! The framekernel's safety rules, checked mechanically:
//! - `services` and `attestation` carry `#![forbid(unsafe_code)]` and
//!   contain no `unsafe` (ci/unsafe-report.sh --check);
//! - the kernel crates pass clippy with warnings denied, which includes the
//!   `undocumented_unsafe_blocks` and `unsafe_op_in_unsafe_fn` lints the
//!   TCB crates (framework, tee, boot) deny.

use std::process::Command;
use umbra_tests::workspace_root;

#[test]
fn services_and_attestation_stay_safe_rust() {
    let out = Command::new(workspace_root().join("ci/unsafe-report.sh"))
        .arg("--check")
        .output()
        .expect("run ci/unsafe-report.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(out.status.success(), "unsafe check failed:\n{stdout}");
    for crate_name in ["services", "attestation"] {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(crate_name))
            .unwrap_or_else(|| panic!("no row for {crate_name}"));
        assert!(row.ends_with("forbidden"), "{row}");
    }
}

#[test]
fn tcb_crates_document_every_unsafe_block() {
    for crate_dir in ["framework", "tee", "boot"] {
        let lib = std::fs::read_to_string(workspace_root().join(crate_dir).join("src/lib.rs")).unwrap();
        assert!(lib.contains("#![deny(unsafe_op_in_unsafe_fn)]"), "{crate_dir} lacks unsafe_op_in_unsafe_fn");
        assert!(
            lib.contains("#![deny(clippy::undocumented_unsafe_blocks)]"),
            "{crate_dir} lacks undocumented_unsafe_blocks"
        );
    }
}

#[test]
fn kernel_crates_are_clippy_clean() {
    // Own target dir: the outer `cargo test` holds the lock on target/.
    let root = workspace_root();
    // The plain kernel and the test kernel with the TEE emulator.
    for features in [&[][..], &["--features", "tee-emulation"][..]] {
        clippy_kernel(&root, features);
    }
}

fn clippy_kernel(root: &std::path::Path, features: &[&str]) {
    let out = Command::new("cargo")
        .current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", root.join("target/clippy"))
        .args([
            "clippy",
            "--release",
            "-p",
            "umbra-kernel",
            "--target",
            "x86_64-unknown-none",
            "-Zbuild-std=core,alloc,compiler_builtins",
            "-Zbuild-std-features=compiler-builtins-mem",
        ])
        .args(features)
        .args([
            "--",
            "-D",
            "warnings",
        ])
        .output()
        .expect("run cargo clippy");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "clippy {features:?} found problems:\n{stderr}");
}
