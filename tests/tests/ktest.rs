//! In-kernel tests (`ktest`) and the kernel panic path, on the real image.

use umbra_tests::{umbra_run, Output};

fn assert_all_ktests_pass(out: &Output) {
    out.assert_code(0).assert_stdout_lacks("FAILED");
    let (passed, failed) = out.ktest_summary();
    assert_eq!(failed, 0, "{out:?}");
    assert!(passed >= 1, "no in-kernel test ran\n{out:?}");
    let ok_lines = out
        .stdout_lines()
        .iter()
        .filter(|l| l.starts_with("ktest ") && l.ends_with(" ... ok"))
        .count();
    assert_eq!(
        ok_lines as u32, passed,
        "one `... ok` line per passed test\n{out:?}"
    );
    // The deliberately failing test is ignored unless asked for.
    assert!(
        !out.stdout_lines()
            .iter()
            .any(|l| l.contains("deliberately_failing") && l.ends_with(" ... ok")),
        "{out:?}"
    );
}

#[test]
fn ktest_passes_under_seabios() {
    assert_all_ktests_pass(
        &umbra_run()
            .opts(["--firmware", "seabios"])
            .guest(&["ktest"]),
    );
}

#[test]
fn ktest_passes_under_ovmf() {
    assert_all_ktests_pass(&umbra_run().opts(["--firmware", "ovmf"]).guest(&["ktest"]));
}

/// With two CPUs the SMP tests really run (they skip on one CPU).
fn assert_smp_tests_ran(out: &Output) {
    for name in [
        "smp::tests::tasks_run_on_every_cpu",
        "smp::tests::tlb_shootdown_reaches_the_other_cpu",
        "smp::tests::ipi_runs_its_handler_on_the_target_cpu",
    ] {
        assert!(
            out.stdout_lines().iter().any(|l| l.contains(name) && l.ends_with(" ... ok")),
            "{name} did not pass\n{out:?}"
        );
    }
    out.assert_stdout_lacks("skipped: one CPU online");
    out.assert_stdout_contains("smp: 2 CPUs online");
}

#[test]
fn ktest_passes_under_seabios_smp2() {
    let out = umbra_run().opts(["--firmware", "seabios", "--smp", "2"]).guest(&["ktest"]);
    assert_all_ktests_pass(&out);
    assert_smp_tests_ran(&out);
}

#[test]
fn ktest_passes_under_ovmf_smp2() {
    let out = umbra_run().opts(["--firmware", "ovmf", "--smp", "2"]).guest(&["ktest"]);
    assert_all_ktests_pass(&out);
    assert_smp_tests_ran(&out);
}

#[test]
fn ktest_filter_selects() {
    let out = umbra_run().guest(&["ktest", "passing_test_runs"]);
    out.assert_code(0);
    assert_eq!(out.ktest_summary(), (1, 0), "{out:?}");
}

#[test]
fn deliberately_failing_ktest_is_detected() {
    let out = umbra_run().guest(&["ktest", "--ignored", "deliberately_failing"]);
    out.assert_code(1);
    assert!(
        out.stdout_lines().iter().any(|l| l.starts_with("ktest ")
            && l.contains("ktest::selftest::deliberately_failing")
            && l.ends_with(" ... FAILED")),
        "no FAILED line for the deliberately failing test\n{out:?}"
    );
    assert_eq!(out.ktest_summary(), (0, 1), "{out:?}");
}

#[test]
fn ignored_run_fails_as_a_whole() {
    let out = umbra_run().guest(&["ktest", "--ignored"]);
    out.assert_code(1).assert_stdout_contains(" ... FAILED");
    let (_, failed) = out.ktest_summary();
    assert!(failed >= 1, "{out:?}");
}

#[test]
fn panic_exits_125_with_message() {
    umbra_run()
        .guest(&["panic"])
        .assert_code(125)
        .assert_stdout_contains("kernel panic")
        .assert_stderr_contains("umbra: kernel panic (see console output above)");
}
