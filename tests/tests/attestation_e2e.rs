//! End-to-end TDX attestation under the TDX emulator, through the
//! documented command (verifier/e2e/tdx-emu.sh): the host picks a nonce,
//! the guest quotes it through configfs-tsm, the quote comes back over the
//! console and `umbra-verify` checks it (chain to the TEST root, nonce,
//! MRTD against `umbra-verify measure` of the same kernel). The tampered
//! run flips one quote byte and must fail with the check that covers it.

use std::process::Command;

use umbra_tests::workspace_root;

fn run_e2e(args: &[&str]) -> (i32, String) {
    let out = Command::new("bash")
        .arg(workspace_root().join("verifier/e2e/tdx-emu.sh"))
        .args(args)
        .output()
        .expect("running verifier/e2e/tdx-emu.sh");
    let text = format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn honest_guest_quote_verifies_against_the_host_nonce() {
    let (code, text) = run_e2e(&[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("PASS: tdx evidence verified"), "{text}");
    assert!(text.contains("TEST ROOT"), "{text}");
}

#[test]
fn tampered_quote_fails_with_its_check() {
    let (code, text) = run_e2e(&["--tamper"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FAIL: check `quote-signature` failed"), "{text}");
}
