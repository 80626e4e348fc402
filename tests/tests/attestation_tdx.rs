//! The guest side of TDX attestation, end to end: a static C client
//! (tests/programs/attest_client.c) asks for reports through Linux's
//! interfaces in an emulated TD (`--tee tdx-emu`): `/dev/tdx_guest`
//! (TDX_CMD_GET_REPORT0), the tsm-mr measurement files (read, RTMR
//! extend checked against SHA-384 computed by the client and against the
//! next TDREPORT), and configfs-tsm (`tsm/report/<name>`: attributes,
//! generation counting, commit on close), with the errno of every error
//! case. Without a TEE the device and the sysfs entries are absent and
//! configfs-tsm refuses new entries (`ENXIO`, no provider).

use std::path::PathBuf;

use umbra_tests::{Output, emulation_image, musl_program, umbra_run, umbra_run_with_kernel};

/// tests/programs/attest_client.c, `musl-gcc -static`, built once.
fn client() -> PathBuf {
    musl_program("attest_client")
}

fn add_client() -> String {
    format!("{}:/bin/attest_client", client().display())
}

/// Every check passed, and `lines` were among them.
fn assert_checks(out: &Output, checks: u32, lines: &[&str]) {
    out.assert_code(0).assert_stdout_lacks("FAIL:");
    out.assert_stdout_line(&format!("attest_client: {checks} checks, 0 failed"));
    for line in lines {
        out.assert_stdout_line(line);
    }
}

#[test]
fn tdx_guest_measurements_and_configfs_tsm_in_an_emulated_td() {
    let out = umbra_run_with_kernel(&emulation_image())
        .accel("tcg")
        .timeout(300)
        .opts(["--tee", "tdx-emu", "--add", &add_client()])
        .guest(&["/bin/attest_client", "tdx"]);
    out.assert_stdout_line("platform: tdx");
    // Without a quote service the client sees EIO (3 checks); with one, a
    // quote it checks in 3 checks as well.
    let quote = out.stdout_lines().iter().any(|l| l.starts_with("ok: outblob is a TDX quote v4"));
    if !quote {
        out.assert_stdout_line("ok: outblob: EIO (no quote service on this host, as Linux answers)");
    }
    let checks = if quote { 56 } else { 54 };
    assert_checks(
        &out,
        checks,
        &[
            "ok: TDX_CMD_GET_REPORT0 succeeds",
            "ok: TDREPORT carries our REPORTDATA",
            "ok: TDX_CMD_GET_REPORT0 with a misaligned request",
            "ok: GET_REPORT0 with a bad pointer -> Bad address (got -1, Bad address)",
            "ok: GET_REPORT0 with a read-only TDREPORT -> Bad address (got -1, Bad address)",
            "ok: unknown ioctl _IOWR('T', 2) -> Not a tty (got -1, Not a tty)",
            "ok: mrtd:sha384 equals the TDREPORT's MRTD",
            "ok: rtmr3:sha384 reads SHA-384(old || data)",
            "ok: the next TDREPORT has the extended RTMR3",
            "ok: write of 47 bytes to rtmr3 -> Invalid argument (got -1, Invalid argument)",
            "ok: pwrite at offset 48 -> File too large (got -1, File too large)",
            "ok: open mrtd:sha384 for writing -> Permission denied (got -1, Permission denied)",
            "ok: a TDX report entry has generation, provider, inblob, outblob only",
            "ok: provider reads tdx_guest",
            "ok: a 65-byte inblob write -> File too large (got -1, File too large)",
            "ok: outblob of a 32-byte inblob (TDX needs 64) -> Invalid argument (got -1, Invalid argument)",
            "ok: nothing committed before the close",
            "ok: generation 3 after the close",
            "ok: rmdir /sys/kernel/config/tsm/report/r0",
        ],
    );
}

#[test]
fn without_a_tee_there_is_no_tdx_guest_and_no_tsm_provider() {
    let out = umbra_run().opts(["--add", &add_client()]).guest(&["/bin/attest_client", "none"]);
    assert_checks(
        &out,
        5,
        &[
            "ok: open /dev/tdx_guest without TDX -> No such file or directory (got -1, No such file or directory)",
            "ok: no tdx_guest in sysfs -> No such file or directory (got -1, No such file or directory)",
            "ok: mount -t configfs none /sys/kernel/config",
            "ok: mkdir in tsm/report with no provider -> No such device or address (got -1, No such device or address)",
        ],
    );
}

#[test]
fn busybox_shell_drives_configfs_tsm_and_the_measurement_files() {
    // What a script does on Linux: redirections open with O_CREAT|O_TRUNC,
    // the binary attribute commits when the shell closes it.
    let script = "mount -t configfs none /sys/kernel/config && \
        cd /sys/kernel/config/tsm/report && mkdir job && ls -1 job && \
        cat job/provider job/generation && \
        head -c 64 /dev/zero > job/inblob && cat job/generation && \
        rmdir job && ls && echo removed && \
        cd /sys/devices/virtual/misc/tdx_guest/measurements && \
        dd if=/dev/zero of=rtmr2:sha384 bs=48 count=1 2>/dev/null && wc -c < rtmr2:sha384 && \
        dd if=/dev/zero of=rtmr2:sha384 bs=47 count=1 2>/dev/null; echo \"short write: $?\"";
    let out = umbra_run_with_kernel(&emulation_image())
        .accel("tcg")
        .timeout(300)
        .opts(["--tee", "tdx-emu", "--busybox"])
        .guest(&["sh", "-c", script]);
    out.assert_code(0);
    let lines = out.stdout_lines();
    let start = lines.iter().position(|l| *l == "generation").unwrap_or_else(|| panic!("no ls of the report entry: {out:?}"));
    assert_eq!(
        &lines[start..start + 10],
        &["generation", "inblob", "outblob", "provider", "tdx_guest", "0", "1", "removed", "48", "short write: 1"],
        "{out:?}"
    );
}
