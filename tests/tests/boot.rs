//! Boots of the real image: exit status, console output, VM options.

use umbra_tests::{umbra_run, Scratch};

#[test]
fn exit_status_0() {
    umbra_run().guest(&["exit", "0"]).assert_code(0);
}

#[test]
fn exit_status_3() {
    umbra_run().guest(&["exit", "3"]).assert_code(3);
}

#[test]
fn exit_status_255() {
    umbra_run().guest(&["exit", "255"]).assert_code(255);
}

#[test]
fn echo_prints_its_arguments() {
    umbra_run()
        .guest(&["echo", "hello", "from", "umbra"])
        .assert_code(0)
        .assert_stdout_line("hello from umbra");
}

#[test]
fn boot_banner_names_umbra_and_version() {
    let out = umbra_run().guest(&["exit", "0"]);
    out.assert_code(0);
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        out.stdout_lines()
            .iter()
            .any(|l| l.contains("Umbra") && l.contains(version)),
        "no banner line with Umbra and {version}\n{out:?}"
    );
}

#[test]
fn append_reaches_the_kernel_command_line() {
    let out = umbra_run()
        .opts(["--append", "foo=bar"])
        .guest(&["exit", "0"]);
    out.assert_code(0);
    let line = out.line_starting("cmdline: ");
    assert!(line.contains("console=ttyS0"), "{line:?}\n{out:?}");
    assert!(
        line.split_whitespace().any(|w| w == "foo=bar"),
        "{line:?}\n{out:?}"
    );
}

#[test]
fn smp_2_boots() {
    umbra_run()
        .opts(["--smp", "2"])
        .guest(&["echo", "two", "cpus"])
        .assert_code(0)
        .assert_stdout_line("two cpus");
}

#[test]
fn mem_1g_boots() {
    umbra_run()
        .opts(["--mem", "1G"])
        .guest(&["echo", "big"])
        .assert_code(0)
        .assert_stdout_line("big");
}

#[test]
fn add_puts_files_in_the_initramfs() {
    let s = Scratch::new("add");
    s.write("payload/one.txt", b"1");
    s.write("payload/two.txt", b"22");
    let base = umbra_run().guest(&["exit", "0"]);
    base.assert_code(0);
    let with = umbra_run()
        .opt("--add")
        .opt(format!("{}:/payload", s.path().join("payload").display()))
        .guest(&["exit", "0"]);
    with.assert_code(0);
    let (n0, n1) = (base.initramfs_files(), with.initramfs_files());
    assert!(
        n1 >= n0 + 2,
        "initramfs count {n0} -> {n1}: two added files not seen\n{base:?}\n{with:?}"
    );
}

#[test]
fn accel_auto_boots_whatever_it_picks() {
    // KVM if a probe boot works on this host, TCG otherwise (with one line
    // saying why on stderr); the guest runs either way.
    let out = umbra_run().accel("auto").guest(&["echo", "auto"]);
    out.assert_code(0).assert_stdout_line("auto");
    let notes: Vec<&str> = out.stderr.lines().filter(|l| l.contains("KVM")).collect();
    assert!(notes.len() <= 1, "{out:?}");
}
