//! The `umbra-verify` binary: exit status, text and JSON verdicts, the
//! measure and test-roots commands.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_umbra-verify"))
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("umbra-verify-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn run(cmd: &mut Command) -> (i32, String) {
    let out = cmd.output().expect("runs");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn tdx_quote_pass_and_fail() {
    let q = tmp("quote.bin");
    assert_eq!(run(bin().args(["test-evidence", "tdx", "--nonce", "abcd", "--out"]).arg(&q)).0, 0);
    let (code, out) = run(bin().args(["tdx", "--allow-test-roots", "--nonce", "abcd", "--quote"]).arg(&q));
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("PASS: tdx evidence verified (TEST ROOT"), "{out}");
    let (code, out) = run(bin().args(["tdx", "--nonce", "abcd", "--quote"]).arg(&q));
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("FAIL: check `test-root` failed"), "{out}");
    let (code, out) = run(bin().args(["tdx", "--allow-test-roots", "--json", "--nonce", "abce", "--quote"]).arg(&q));
    assert_eq!(code, 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["verdict"], "fail");
    assert_eq!(v["failed_check"], "nonce");
    assert_eq!(v["test_root"], true);
}

#[test]
fn snp_report_pass_and_fail() {
    let r = tmp("report.bin");
    let c = tmp("certs.bin");
    let (code, out) = run(bin().args(["test-evidence", "snp", "--nonce", "01", "--out"]).arg(&r).arg("--certs-out").arg(&c));
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(bin().args(["snp", "--allow-test-roots", "--json", "--nonce", "01", "--report"]).arg(&r).arg("--certs").arg(&c));
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["platform"], "sev-snp");
    let (code, out) = run(bin().args(["snp", "--nonce", "01", "--report"]).arg(&r));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cert-chain"), "{out}");
    let (code, out) = run(bin().args(["snp", "--nonce", "01", "--report"]).arg(&r).arg("--certs").arg(&c));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("test-root"), "{out}");
}

#[test]
fn measure_writes_reference_json() {
    let out_path = tmp("ref.json");
    let init = tmp("initramfs.cpio");
    std::fs::write(&init, b"cpio bytes").unwrap();
    let (code, out) = run(bin().args(["measure", "--cmdline", "console=ttyS0", "--initramfs"]).arg(&init).arg("--out").arg(&out_path));
    assert_eq!(code, 0, "{out}");
    let r = verifier::reference::Reference::from_json(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
    assert_eq!(r.events.len(), 2);
    assert_eq!(r.events[0].digest, verifier::reference::sha384(b"console=ttyS0"));
    assert_eq!(r.events[1].digest, verifier::reference::sha384(b"cpio bytes"));
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&mut bin()).0, 2);
    assert_eq!(run(bin().arg("tdx")).0, 2);
    assert_eq!(run(bin().args(["tdx", "--quote", "/nonexistent/q"])).0, 2);
    assert_eq!(run(bin().args(["frobnicate"])).0, 2);
}
