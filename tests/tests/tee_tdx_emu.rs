//! The TDX emulator end to end: `umbra run --tee tdx-emu` boots the test
//! kernel (cargo feature `tee-emulation`) as an emulated TD, and every
//! in-kernel test passes there, the framework's included; `--tee sev-snp`
//! is still refused (`--tee snp-emu`: tee_snp_emu.rs); `--tee tdx` builds
//! a real TDX command line and refuses on a host without TDX.


use umbra_tests::{Output, emulation_image, fake_qemu, umbra_run_bare, umbra_run_with_kernel};

/// A boot of the bare kernel (no busybox: the accepted-memory counts
/// depend on where the initramfs lands) in the emulated TD.
fn emulated(mem: &str, guest: &[&str]) -> Output {
    umbra_run_with_kernel(&emulation_image())
        .accel("tcg")
        .timeout(300)
        .opts(["--tee", "tdx-emu", "--mem", mem, "--no-busybox"])
        .guest(guest)
}

fn assert_all_pass(out: &Output) {
    out.assert_code(0).assert_stdout_lacks("FAILED");
    let (passed, failed) = out.ktest_summary();
    assert_eq!(failed, 0, "{out:?}");
    assert!(passed >= 1, "{out:?}");
}

#[test]
fn every_ktest_passes_in_the_emulated_td() {
    let out = emulated("1G", &["ktest"]);
    assert_all_pass(&out);
    let tee = out.line_starting("tee: ");
    assert!(tee.starts_with("tee: tdx (emulated"), "{tee}");
    assert!(tee.contains("767 MiB unaccepted"), "RAM above 256 MiB starts unaccepted: {tee}");
    out.assert_stdout_line("platform: tdx");
    // The TEE tests ran for real (not the "not under tdx-emu" no-op).
    out.assert_stdout_lacks("not under --tee tdx-emu");
    assert!(out.stdout_lines().iter().any(|l| l.starts_with("ktest tee::tests::emulated::lazy_accept")), "{out:?}");
    assert!(
        out.stdout_lines().iter().any(|l| l.contains("accepted lazily through TDG.MEM.PAGE.ACCEPT")),
        "the unaccepted pool was never drawn on\n{out:?}"
    );
}

#[test]
fn without_the_boot_option_the_emulation_kernel_says_none() {
    // The emulation image without the boot option: no TEE.
    let out = umbra_run_with_kernel(&emulation_image()).accel("tcg").timeout(120).guest(&["echo", "hi"]);
    out.assert_code(0);
    assert_eq!(out.line_starting("tee: "), "tee: none (no TDX or SEV-SNP detected)");
}

#[test]
fn real_sev_snp_is_still_refused() {
    umbra_run_bare()
        .env("UMBRA_QEMU", "/bin/false")
        .opts(["--tee", "sev-snp"])
        .guest(&["exit", "0"])
        .assert_code(2)
        .assert_stderr_contains("umbra: --tee sev-snp is not supported yet");
}

#[test]
fn real_tdx_command_line_and_refusal() {
    let scratch = umbra_tests::Scratch::new("tdx-cmd");
    let kernel = scratch.write("bzImage", b"not booted");
    let out = umbra_run_with_kernel(&kernel)
        .env("UMBRA_QEMU", fake_qemu())
        .env("UMBRA_TDVF", "/fw/TDVF.fd")
        .opts(["--tee", "tdx", "--print-cmd"])
        .guest(&["exit", "0"]);
    out.assert_code(0);
    for part in [
        " -machine q35,confidential-guest-support=tdx0,kernel-irqchip=split ",
        " -accel kvm -cpu host ",
        " -object tdx-guest,id=tdx0 -bios /fw/TDVF.fd ",
    ] {
        assert!(out.stdout.contains(part), "missing {part:?}\n{out:?}");
    }
    // Without --print-cmd, a host without tdx-guest/TDX KVM is refused
    // with the reasons (the fake QEMU knows no tdx-guest object).
    let refused = umbra_run_with_kernel(&kernel)
        .env("UMBRA_QEMU", fake_qemu())
        .opts(["--tee", "tdx"])
        .guest(&["exit", "0"]);
    refused.assert_code(126).assert_stderr_contains("umbra: --tee tdx: this host cannot run a TDX guest: ");
    refused.assert_stderr_contains("no tdx-guest object (QEMU >= 10.1 is needed)");
    let tcg = umbra_run_with_kernel(&kernel).opts(["--tee", "tdx", "--accel", "tcg"]).guest(&["exit", "0"]);
    tcg.assert_code(2).assert_stderr_contains("--tee tdx needs KVM");
}

/// Hostile mode: the emulated host falsifies its answers; thousands of
/// them go through every guest path that asks the host something (#VE
/// emulation, port/MMIO/MSR/CPUID TDVMCALLs, MapGPA for DMA buffers,
/// GetQuote) and the kernel neither panics nor keeps a value it should
/// have refused; refusals are logged.
#[test]
fn hostile_host_thousands_of_lies_without_a_panic() {
    let out = umbra_run_with_kernel(&emulation_image())
        .accel("tcg")
        .timeout(600)
        .opts(["--tee", "tdx-emu", "--hostile", "--mem", "1G"])
        .guest(&["ktest", "hostile"]);
    assert_all_pass(&out);
    assert!(out.line_starting("tee: tdx-emu HOSTILE mode").contains("seed"), "{out:?}");
    let summary = out.line_starting("  6000 rounds, ");
    let tampered: u64 = summary.split(", ").nth(1).and_then(|s| s.split(' ').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!(tampered >= 2000, "{summary}");
    out.assert_stdout_contains("tee: rejected host answer #1: ");
    out.assert_stdout_lacks("panicked");
}

/// A busybox workload boots and runs to its exit status under a hostile
/// host (the console and clock ports stay honest; see emu::hostile).
#[test]
fn hostile_host_under_a_busybox_workload() {
    let out = umbra_run_with_kernel(&emulation_image())
        .accel("tcg")
        .timeout(600)
        .opts(["--tee", "tdx-emu", "--hostile", "--busybox"])
        .guest(&["sh", "-c", "for i in 1 2 3; do echo round $i; done; ls /bin | wc -l > /tmp/n; cat /tmp/n; seq 1 200 | sort -rn | head -1; exit 7"]);
    out.assert_code(7);
    out.assert_stdout_line("round 3");
    out.assert_stdout_line("200");
    assert!(out.line_starting("tee: tdx-emu HOSTILE mode").contains("seed"), "{out:?}");
}

/// Two vCPUs: the AP comes up through the ACPI wake-up mailbox (parked by
/// the emulated firmware) and every in-kernel test passes.
#[test]
fn every_ktest_passes_with_two_cpus_woken_through_the_mailbox() {
    let out = umbra_run_with_kernel(&emulation_image())
        .accel("tcg")
        .timeout(600)
        .opts(["--tee", "tdx-emu", "--smp", "2", "--mem", "1G"])
        .guest(&["ktest"]);
    assert_all_pass(&out);
    out.assert_stdout_contains("tdx-emu: firmware parked 1 of 1 APs at the wake-up mailbox");
    out.assert_stdout_contains("smp: 2 CPUs online");
    out.assert_stdout_line("  1 AP(s) woken through the wake-up mailbox");
}
