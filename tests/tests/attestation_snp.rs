//! The guest side of SEV-SNP attestation, end to end: a static C client
//! (tests/programs/attest_client_snp.c) asks for reports through Linux's
//! interfaces in an emulated SNP guest (`--tee snp-emu`): `/dev/sev-guest`
//! (SNP_GET_REPORT, SNP_GET_DERIVED_KEY, SNP_GET_EXT_REPORT, with the
//! certificate table of the emulated host, too small a buffer answered
//! with INVALID_LEN and the size needed) with the errno and `exitinfo2`
//! of every error case, and configfs-tsm with provider `sev_guest`
//! (inblob, privlevel, outblob = the report, auxblob = the certificate
//! table). The client checks in the guest that each report carries its
//! report data. Without SNP (no TEE, or TDX) there is no `/dev/sev-guest`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use umbra_tests::{Output, emulation_image, musl_program, umbra_run, umbra_run_with_kernel, workspace_root};

/// tests/programs/attest_client_snp.c, `musl-gcc -static`, built once.
fn client() -> PathBuf {
    musl_program("attest_client_snp")
}

fn add_client() -> String {
    format!("{}:/bin/attest_client_snp", client().display())
}

/// Every check passed, and `lines` were among them.
fn assert_checks(out: &Output, checks: u32, lines: &[&str]) {
    out.assert_code(0).assert_stdout_lacks("FAIL:");
    out.assert_stdout_line(&format!("attest_client_snp: {checks} checks, 0 failed"));
    for line in lines {
        out.assert_stdout_line(line);
    }
}

#[test]
fn sev_guest_ioctls_and_configfs_tsm_in_an_emulated_snp_guest() {
    let out = umbra_run_with_kernel(&emulation_image())
        .accel("tcg")
        .timeout(300)
        .opts(["--tee", "snp-emu", "--add", &add_client()])
        .guest(&["/bin/attest_client_snp", "snp"]);
    out.assert_stdout_line("platform: sev-snp");
    assert_checks(
        &out,
        53,
        &[
            "ok: /dev/sev-guest is a misc character device",
            "ok: the report carries our report data at VMPL 0, version >= 2, ECDSA P-384",
            "ok: success leaves the ioctl struct as it was (exitinfo2 not written back)",
            "ok: a report at VMPL 2 says VMPL 2",
            "ok: VMPL 4: the firmware's status INVALID_PARAM in the response",
            "ok: the same request derives the same key",
            "ok: other guest fields derive another key",
            "ok: the certificate table starts with the VCEK (DER)",
            "ok: SNP_GET_EXT_REPORT with a 4 KiB certificate buffer -> I/O error (got -1, I/O error)",
            "ok: exitinfo2: VMM error INVALID_LEN",
            "ok: certs_len rewritten to the 16 KiB the host needs",
            "ok: the VMPCK still works after INVALID_LEN",
            "ok: certs_len 100 (not a page multiple) -> Invalid argument (got -1, Invalid argument)",
            "ok: a kernel certs_address -> Bad address (got -1, Bad address)",
            "ok: a read-only certificate buffer -> Bad address (got -1, Bad address)",
            "ok: msg_version 0 -> Invalid argument (got -1, Invalid argument)",
            "ok: a NULL ioctl argument -> Bad address (got -1, Bad address)",
            "ok: exitinfo2 0xff written back (no firmware call)",
            "ok: a read-only resp_data -> Bad address (got -1, Bad address)",
            "ok: unknown ioctl _IOWR('S', 3) -> Not a tty (got -1, Not a tty)",
            "ok: lseek /dev/sev-guest -> Invalid seek (got -1, Invalid seek)",
            "ok: an SNP report entry has generation, provider, privlevel, privlevel_floor, inblob, outblob, auxblob",
            "ok: provider reads sev_guest",
            "ok: privlevel_floor reads 0",
            "ok: outblob of a 32-byte inblob (SNP needs 64) -> Invalid argument (got -1, Invalid argument)",
            "ok: the report carries our inblob at VMPL 0",
            "ok: auxblob is the certificate table, VCEK first",
            "ok: privlevel 4 -> Invalid argument (got -1, Invalid argument)",
            "ok: the regenerated report is at VMPL 2 with our inblob",
            "ok: rmdir /sys/kernel/config/tsm/report/r0",
        ],
    );
}

fn assert_absent(out: &Output) {
    assert_checks(
        out,
        2,
        &[
            "ok: open /dev/sev-guest outside an SNP guest -> No such file or directory (got -1, No such file or directory)",
            "ok: no /dev/sev-guest node -> No such file or directory (got -1, No such file or directory)",
        ],
    );
}

#[test]
fn without_a_tee_there_is_no_sev_guest() {
    let out = umbra_run().opts(["--add", &add_client()]).guest(&["/bin/attest_client_snp", "absent"]);
    assert_absent(&out);
}

#[test]
fn in_an_emulated_td_there_is_no_sev_guest() {
    let out = umbra_run_with_kernel(&emulation_image())
        .accel("tcg")
        .timeout(300)
        .opts(["--tee", "tdx-emu", "--add", &add_client()])
        .guest(&["/bin/attest_client_snp", "absent"]);
    out.assert_stdout_line("platform: tdx");
    assert_absent(&out);
}

#[test]
fn busybox_shell_gets_a_report_and_certificates_through_configfs_tsm() {
    // What a script does on Linux: the report for a 64-byte nonce, and
    // the certificate table next to it.
    let script = "mount -t configfs none /sys/kernel/config && \
        cd /sys/kernel/config/tsm/report && mkdir job && ls -1 job && \
        cat job/provider job/privlevel_floor && \
        head -c 64 /dev/zero > job/inblob && cat job/generation && \
        wc -c < job/outblob && wc -c < job/auxblob && \
        rmdir job && echo removed";
    let out = umbra_run_with_kernel(&emulation_image())
        .accel("tcg")
        .timeout(300)
        .opts(["--tee", "snp-emu", "--busybox"])
        .guest(&["sh", "-c", script]);
    out.assert_code(0);
    let lines = out.stdout_lines();
    let start = lines.iter().position(|l| *l == "auxblob").unwrap_or_else(|| panic!("no ls of the report entry: {out:?}"));
    let aux_len: usize = lines[start + 11].trim().parse().unwrap_or_else(|_| panic!("auxblob size: {out:?}"));
    assert_eq!(
        &lines[start..start + 11],
        &["auxblob", "generation", "inblob", "outblob", "privlevel", "privlevel_floor", "provider", "sev_guest", "0", "1", "1184"],
        "{out:?}"
    );
    assert!(aux_len > 3 * 4096 && aux_len <= 16384, "auxblob: the certificate table, {aux_len} bytes");
    assert_eq!(lines[start + 12], "removed", "{out:?}");
}

/// The host verifier (`umbra-verify`, verifier/), built once.
fn verifier() -> PathBuf {
    static BUILD: OnceLock<PathBuf> = OnceLock::new();
    BUILD
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args(["build", "--release", "-q", "-p", "umbra-verifier", "--bin", "umbra-verify"])
                .current_dir(workspace_root())
                .status()
                .expect("building umbra-verify");
            assert!(status.success(), "building umbra-verify failed");
            workspace_root().join("target/release/umbra-verify")
        })
        .clone()
}

/// The bytes `od -An -v -tx1` printed between the lines `start` and `end`.
fn od_bytes(lines: &[&str], start: &str, end: &str) -> Vec<u8> {
    let from = lines.iter().position(|l| *l == start).unwrap_or_else(|| panic!("no {start} in {lines:?}")) + 1;
    let to = from + lines[from..].iter().position(|l| *l == end).unwrap_or_else(|| panic!("no {end}"));
    lines[from..to]
        .iter()
        .flat_map(|l| l.split_whitespace())
        .map(|h| u8::from_str_radix(h, 16).unwrap_or_else(|_| panic!("od output {h:?}")))
        .collect()
}

#[test]
fn configfs_tsm_evidence_verifies_on_the_host() {
    // The guest asks for a report over a host-chosen nonce and hands out
    // the report and the certificate table; the host verifier checks the
    // chain (TEST ARK -> ASK -> VCEK), the signature and the nonce.
    let nonce = "umbra snp e2e nonce: 0123456789abcdef0123456789abcdef01234567890";
    assert_eq!(nonce.len(), 64);
    let script = format!(
        "mount -t configfs none /sys/kernel/config && cd /sys/kernel/config/tsm/report && mkdir e2e && \
         printf '%s' '{nonce}' > e2e/inblob && echo OUT && od -An -v -tx1 e2e/outblob && \
         echo AUX && od -An -v -tx1 e2e/auxblob && echo END"
    );
    let out = umbra_run_with_kernel(&emulation_image())
        .accel("tcg")
        .timeout(300)
        .opts(["--tee", "snp-emu", "--busybox"])
        .guest(&["sh", "-c", &script]);
    out.assert_code(0);
    let lines = out.stdout_lines();
    let report = od_bytes(&lines, "OUT", "AUX");
    let certs = od_bytes(&lines, "AUX", "END");
    assert_eq!(report.len(), 0x4a0);
    let dir = workspace_root().join("target/umbra-test-programs/snp-e2e");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("report.bin"), &report).unwrap();
    std::fs::write(dir.join("certs.bin"), &certs).unwrap();
    let nonce_hex: String = nonce.bytes().map(|b| format!("{b:02x}")).collect();
    let verify = |nonce: &str, extra: &[&str]| {
        let out = Command::new(verifier())
            .args(["snp", "--report"])
            .arg(dir.join("report.bin"))
            .arg("--certs")
            .arg(dir.join("certs.bin"))
            .args(["--nonce", nonce])
            .args(extra)
            .output()
            .expect("running umbra-verify");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, text) = verify(&nonce_hex, &["--allow-test-roots"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("passed: format, header, root, cert-chain, report-signature, debug, nonce"), "{text}");
    let (code, text) = verify(&nonce_hex, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("check `test-root` failed"), "{text}");
    let (code, text) = verify("00", &["--allow-test-roots"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("check `nonce` failed"), "{text}");
}
