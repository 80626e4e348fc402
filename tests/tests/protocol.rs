//! The front-end's side of the exit-status protocol and its command-line
//! checks, against a fake QEMU (tests/fake-qemu.sh): these need no kernel.

use std::time::{Duration, Instant};
use umbra_tests::{fake_qemu, read_cpio, umbra_run_bare, umbra_run_with_kernel, Scratch, Umbra};

/// `umbra run --kernel <dummy> --accel tcg` with the fake QEMU.
fn fake(scratch: &Scratch) -> Umbra {
    let kernel = scratch.write("bzImage", b"not a kernel");
    umbra_run_with_kernel(&kernel)
        .accel("tcg")
        .env("UMBRA_QEMU", fake_qemu())
}

#[test]
fn exit_line_becomes_exit_status_last_line_wins() {
    let s = Scratch::new("proto");
    fake(&s)
        .env(
            "FAKE_QEMU_CTL",
            "noise\\nUMBRA-EXIT 9\\nmore noise\\nUMBRA-EXIT 7\\n",
        )
        .guest(&["exit", "7"])
        .assert_code(7)
        .assert_stdout_contains("fake qemu console");
}

#[test]
fn panic_line_gives_125() {
    let s = Scratch::new("proto");
    fake(&s)
        .env("FAKE_QEMU_CTL", "UMBRA-PANIC\\n")
        .env("FAKE_QEMU_EXIT", "3")
        .guest(&["panic"])
        .assert_code(125)
        .assert_stderr_contains("umbra: kernel panic (see console output above)");
}

#[test]
fn no_status_line_gives_124() {
    let s = Scratch::new("proto");
    let out = fake(&s).env("FAKE_QEMU_EXIT", "0").guest(&["exit", "0"]);
    out.assert_code(124)
        .assert_stderr_contains("QEMU exited with status 0");
    // An unterminated line is not a status.
    let out = fake(&s)
        .env("FAKE_QEMU_CTL", "UMBRA-EXIT 0")
        .guest(&["exit", "0"]);
    out.assert_code(124)
        .assert_stderr_contains("QEMU exited with status 1");
}

#[test]
fn timeout_kills_qemu_and_gives_124() {
    let s = Scratch::new("proto");
    let t0 = Instant::now();
    let out = fake(&s)
        .timeout(1)
        .env("FAKE_QEMU_SLEEP", "60")
        .guest(&["exit", "0"]);
    out.assert_code(124)
        .assert_stderr_contains("umbra: timed out after 1 s");
    assert!(
        t0.elapsed() < Duration::from_secs(15),
        "took {:?}\n{out:?}",
        t0.elapsed()
    );
}

#[test]
fn qemu_command_line_and_initrd_contents() {
    let s = Scratch::new("proto");
    let dump = s.path().join("dump");
    std::fs::create_dir(&dump).unwrap();
    let data = s.write("data/hello.txt", b"hello\n");
    s.write("data/sub/deep.txt", b"deep");
    fake(&s)
        .env("FAKE_QEMU_DUMP", &dump)
        .env("FAKE_QEMU_CTL", "UMBRA-EXIT 0\\n")
        .opts(["--smp", "2", "--mem", "1G", "--append", "foo=bar"])
        .opt("--add")
        .opt(format!("{}:/etc/hello", data.display()))
        .opt("--add")
        .opt(format!("{}:/srv", s.path().join("data").display()))
        .guest(&["echo", "a b", "c"])
        .assert_code(0);
    let args = std::fs::read_to_string(dump.join("args")).unwrap();
    let args: Vec<&str> = args.lines().collect();
    let after = |flag: &str| args.iter().position(|a| *a == flag).map(|i| args[i + 1]);
    assert_eq!(after("-machine"), Some("q35"));
    assert_eq!(after("-accel"), Some("tcg"));
    assert_eq!(after("-cpu"), Some("max"));
    assert_eq!(after("-smp"), Some("2"));
    assert_eq!(after("-m"), Some("1G"));
    assert_eq!(after("-append"), Some("console=ttyS0 foo=bar"));
    assert_eq!(after("-serial"), Some("chardev:con0"));
    assert!(
        args.contains(&"-nodefaults") && args.contains(&"-no-reboot"),
        "{args:?}"
    );
    assert!(args.contains(&"stdio,id=con0,signal=on"), "{args:?}");
    assert!(
        args.contains(&"isa-debug-exit,iobase=0xf4,iosize=0x04"),
        "{args:?}"
    );
    assert!(
        args.contains(&"isa-debugcon,iobase=0xe9,chardev=umbractl"),
        "{args:?}"
    );
    assert!(
        !args.contains(&"-bios"),
        "seabios is QEMU's default: {args:?}"
    );
    assert!(!args.contains(&"-mon"), "{args:?}");

    let entries = read_cpio(&std::fs::read(dump.join("initrd")).unwrap());
    let find = |name: &str| {
        entries
            .iter()
            .find(|e| e.0 == name)
            .unwrap_or_else(|| panic!("no {name} in {entries:?}"))
    };
    assert_eq!(find("etc/umbra/argv").2, b"echo\0a b\0c\0");
    assert_eq!(find("etc/hello").2, b"hello\n");
    assert_eq!(find("srv/sub/deep.txt").2, b"deep");
    assert_eq!(find("etc").1 & 0o170000, 0o040000);
    assert_eq!(find("srv/sub").1 & 0o170000, 0o040000);
}

#[test]
fn print_cmd_prints_and_does_not_run() {
    let s = Scratch::new("proto");
    let kernel = s.write("bzImage", b"x");
    let out = umbra_run_with_kernel(&kernel)
        .env("UMBRA_QEMU", "/bin/false")
        .opts([
            "--accel",
            "kvm",
            "--firmware",
            "ovmf",
            "--print-cmd",
            "--append",
            "a=1 b",
        ])
        .guest(&[]);
    out.assert_code(0);
    let line = out.stdout.trim_end();
    assert_eq!(line.lines().count(), 1, "{out:?}");
    assert!(line.starts_with("/bin/false -machine q35 "), "{out:?}");
    for part in [
        " -accel kvm -cpu host ",
        " -bios /usr/share/ovmf/OVMF.fd ",
        " -append 'console=ttyS0 a=1 b' ",
        " -chardev stdio,id=con0,mux=on,signal=off -serial chardev:con0 -mon chardev=con0 ",
        " -m 512M -smp 1 ",
    ] {
        assert!(line.contains(part), "missing {part:?}\n{out:?}");
    }
}

#[test]
fn unsupported_tee_is_refused() {
    // (--tee snp-emu is supported: tee_snp_emu.rs.)
    umbra_run_bare()
        .env("UMBRA_QEMU", "/bin/false")
        .opts(["--tee", "sev-snp"])
        .guest(&["exit", "0"])
        .assert_code(2)
        .assert_stderr_contains("umbra: --tee sev-snp is not supported yet");
}

#[test]
fn bad_options_are_usage_errors() {
    for bad in [
        &["--tee", "sgx"][..],
        &["--firmware", "uboot"],
        &["--accel", "hvf"],
        &["--smp", "0"],
        &["--mem", "lots"],
        &["--timeout", "soon"],
        &["--add", "no-guest-path"],
        &["--frobnicate"],
    ] {
        let out = umbra_run_bare()
            .env("UMBRA_QEMU", "/bin/false")
            .opts(bad.iter().copied())
            .guest(&["exit", "0"]);
        out.assert_code(2);
        assert!(out.stderr.starts_with("umbra: "), "{out:?}");
    }
}

#[test]
fn missing_add_source_is_a_usage_error() {
    let s = Scratch::new("proto");
    fake(&s)
        .opt("--add")
        .opt(format!("{}:/x", s.path().join("missing").display()))
        .guest(&["exit", "0"])
        .assert_code(2)
        .assert_stderr_contains("missing");
}
