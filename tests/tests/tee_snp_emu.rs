//! The SEV-SNP emulator end to end: `umbra run --tee snp-emu` boots the
//! test kernel (cargo feature `tee-emulation`) as an emulated SNP guest
//! (`-cpu EPYC-v4,+x2apic`, `umbra.tee_emu=snp`): every in-kernel test
//! passes there on two CPUs; a deliberate double validation ends the
//! guest through the GHCB termination request; busybox and C programs
//! run on one and two CPUs.

use std::path::{Path, PathBuf};

use umbra_tests::{Output, emulation_image, fake_qemu, musl_program, umbra_run_with_kernel};

fn snp(extra: &[&str], guest: &[&str]) -> Output {
    let mut opts = vec!["--tee", "snp-emu"];
    opts.extend_from_slice(extra);
    umbra_run_with_kernel(&emulation_image()).accel("tcg").timeout(600).opts(opts).guest(guest)
}

/// `tests/programs/NAME.c` built with `musl-gcc -static`.
fn program(name: &str) -> PathBuf {
    musl_program(name)
}

fn add(host: &Path, guest: &str) -> String {
    format!("{}:{guest}", host.display())
}

#[test]
fn every_ktest_passes_in_the_emulated_snp_guest_on_two_cpus() {
    // No userland: the initramfs (kept validated at the top of RAM) stays
    // under a MiB, so exactly the RAM above 256 MiB counts as unvalidated.
    let out = snp(&["--mem", "1G", "--smp", "2", "--userland", "none"], &["ktest"]);
    out.assert_code(0).assert_stdout_lacks("FAILED");
    let (passed, failed) = out.ktest_summary();
    assert_eq!(failed, 0, "{out:?}");
    assert!(passed >= 1, "{out:?}");
    let tee = out.line_starting("tee: ");
    assert!(tee.starts_with("tee: sev-snp (emulated: TEE emulator, test only; C-bit 51"), "{tee}");
    assert!(tee.contains("767 MiB unvalidated"), "RAM above 256 MiB starts unvalidated: {tee}");
    out.assert_stdout_line("platform: sev-snp");
    out.assert_stdout_lacks("not under --tee snp-emu");
    for test in [
        "ktest tee::snp::tests::emulated::report_round_trip_is_signed_by_the_test_key ... ok",
        "ktest tee::snp::tests::emulated::sequence_number_reuse_is_refused_and_disables_the_key ... ok",
        "ktest tee::snp::tests::emulated::psc_and_pvalidate_round_trip ... ok",
        "ktest tee::snp::tests::emulated::pvalidate_reports_no_change_and_the_emulator_counts_it ... ok",
        "ktest tee::snp::tests::emulated::ghcb_calls_reach_the_host ... ok",
        "ktest tee::snp::tests::emulated::detection_and_msr_protocol ... ok",
    ] {
        out.assert_stdout_line(test);
    }
    // The PSP refused the reused sequence number, and the guest gave up
    // that key (Linux's snp_disable_vmpck).
    out.assert_stdout_contains("guest message sequence number reused");
    out.assert_stdout_contains("snp: disabling VMPCK1 after a failed guest request");
    assert!(
        out.stdout_lines().iter().any(|l| l.contains("validated lazily through PSC + PVALIDATE")),
        "the unaccepted pool was never drawn on\n{out:?}"
    );
}

#[test]
fn double_validation_terminates_the_guest() {
    let out = snp(&["--append", "umbra.snp_emu_fatal_tests"], &["ktest", "--ignored", "double_validation_is_fatal"]);
    out.assert_code(125);
    out.assert_stdout_contains("snp: fatal: PVALIDATE(validate, 4K)");
    out.assert_stdout_contains("the page was already validated (double validation)");
    out.assert_stdout_contains("snp-emu: the guest asked to be terminated: reason set 1, code 2 (PVALIDATE failure)");
    out.assert_stdout_lacks("double validation went unnoticed");
}

#[test]
fn busybox_and_c_programs_on_one_and_two_cpus() {
    let abi_checks = program("abi_checks");
    let hello = program("hello");
    for smp in ["1", "2"] {
        let shell = snp(
            &["--smp", smp, "--busybox"],
            &["sh", "-c", "for i in 1 2 3; do echo line $i; done | wc -l; echo snp-$((6 * 7)); exit 5"],
        );
        shell.assert_code(5).assert_stdout_line("3").assert_stdout_line("snp-42");
        let checks = snp(&["--smp", smp, "--add", &add(&abi_checks, "/bin/abi_checks")], &["/bin/abi_checks"]);
        assert!(!checks.stdout.contains("FAIL "), "{checks:?}");
        checks.assert_code(0).assert_stdout_line("0 failures");
        let greeting = snp(&["--smp", smp, "--add", &add(&hello, "/bin/hello")], &["/bin/hello", "snp"]);
        greeting.assert_code(7).assert_stdout_line("hello from /bin/hello (argc 2)");
    }
}

#[test]
fn command_line_has_an_epyc_cpu_and_the_boot_option() {
    let scratch = umbra_tests::Scratch::new("snp-emu-cmd");
    let kernel = scratch.write("bzImage", b"not booted");
    let out = umbra_run_with_kernel(&kernel)
        .env("UMBRA_QEMU", fake_qemu())
        .accel("tcg")
        .opts(["--tee", "snp-emu", "--print-cmd"])
        .guest(&["exit", "0"]);
    out.assert_code(0);
    for part in [" -accel tcg -cpu EPYC-v4,+x2apic ", "umbra.tee_emu=snp"] {
        assert!(out.stdout.contains(part), "missing {part:?}\n{out:?}");
    }
}
