//! The random generator as user space sees it: `getrandom(2)` flags and
//! errno results as Linux gives them, `/dev/urandom`, `AT_RANDOM`
//! (tests/programs/getrandom_checks.c), keyed from RDSEED/RDRAND (QEMU's
//! `-cpu max` has both under TCG) and different on every boot.

use umbra_tests::{musl_program, umbra_run, Output};

fn boot() -> Output {
    let program = musl_program("getrandom_checks");
    let out = umbra_run()
        .opts(["--add", &format!("{}:/bin/getrandom_checks", program.display())])
        .guest(&["/bin/getrandom_checks"]);
    assert!(!out.stdout.contains("FAIL "), "{out:?}");
    out.assert_stdout_line("0 failures").assert_code(0);
    out
}

/// The `bytes LABEL HEX` lines a boot printed.
fn bytes(out: &Output) -> Vec<String> {
    let lines: Vec<String> = out.stdout_lines().into_iter().filter(|l| l.starts_with("bytes ")).map(String::from).collect();
    assert_eq!(lines.len(), 3, "expected getrandom, urandom and at_random lines\n{out:?}");
    lines
}

#[test]
fn getrandom_errnos_and_two_boots_differ() {
    let first = boot();
    first.assert_stdout_contains("random: ChaCha20 keyed from RDSEED");
    let second = boot();
    let (a, b) = (bytes(&first), bytes(&second));
    for (x, y) in a.iter().zip(&b) {
        assert_ne!(x, y, "two boots produced the same random bytes\n{first:?}\n{second:?}");
    }
}

#[test]
fn without_rdrand_and_rdseed_the_kernel_warns_and_falls_back() {
    let program = musl_program("getrandom_checks");
    let wrapper = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("qemu-without-rdrand.sh");
    let out = umbra_run()
        .accel("tcg")
        .env("UMBRA_QEMU", &wrapper)
        .opts(["--add", &format!("{}:/bin/getrandom_checks", program.display())])
        .guest(&["/bin/getrandom_checks"]);
    out.assert_stdout_contains("random: no usable RDSEED/RDRAND")
        .assert_stdout_contains("FALLBACK to TSC jitter")
        .assert_stdout_lacks("random: ChaCha20 keyed from")
        .assert_stdout_line("0 failures")
        .assert_code(0);
}
