//! `umbra run`'s userland: Debian's static busybox by default, the bare
//! kernel monitor with `--userland none` (`--no-busybox`). Also how the
//! kernel picks between a program and a monitor word, busybox `poweroff`,
//! `reboot` and `halt` over reboot(2), PID 1 under signals, and syscalls
//! applets need (fallocate, syslog).

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use umbra_tests::{musl_program, umbra_bin, umbra_run};

const BUSYBOX: &str = "/bin/busybox";

fn need_busybox() {
    assert!(Path::new(BUSYBOX).is_file(), "{BUSYBOX} missing (scripts/setup.sh installs busybox-static)");
}

fn add(host: &Path, guest: &str) -> String {
    format!("{}:{guest}", host.display())
}

/// `umbra run OPTIONS` with no command: waits for `prompt` on the console,
/// then types an empty line and `line` (with leading blanks: busybox ash
/// eats up to one byte per prompt as the answer to its cursor-position
/// query). Returns the exit status and everything printed.
fn interactive(options: &[&str], prompt: &str, line: &str) -> (Option<i32>, String) {
    let argv = umbra_run().opts(options.iter().copied()).argv(&[]);
    let mut child = Command::new(umbra_bin())
        .args(&argv)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("running umbra");
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut buf) {
            let _ = tx.send(buf[..n].to_vec());
        }
    });
    // The UART drops input sent before the guest reads it: wait for the
    // prompt first.
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !String::from_utf8_lossy(&seen).contains(prompt) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => seen.extend(chunk),
            Err(_) => {
                let _ = child.kill();
                panic!("no prompt {prompt:?}\n{}", String::from_utf8_lossy(&seen));
            }
        }
    }
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(b"\r").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(format!("  {line}\r").as_bytes()).unwrap();
    stdin.flush().unwrap();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    seen.extend(rx.try_iter().flatten());
    drop(stdin);
    (status.code(), String::from_utf8_lossy(&seen).into_owned())
}

// ------------------------------------------------------------ the default

/// The issue's acceptance line: `umbra run -- /bin/sh -c 'echo hi; exit 3'`.
#[test]
fn default_userland_runs_sh_c() {
    need_busybox();
    umbra_run()
        .guest(&["/bin/sh", "-c", "echo hi; exit 3"])
        .assert_code(3)
        .assert_stdout_line("hi");
}

/// `umbra run` without a command: busybox `sh` on the console.
#[test]
fn default_userland_without_command_is_an_interactive_sh() {
    need_busybox();
    let (code, out) = interactive(&[], "/ # ", "echo from-sh $((40+2)); exit 4");
    assert_eq!(code, Some(4), "{out}");
    assert!(out.contains("built-in shell (ash)"), "{out}");
    assert!(out.contains("from-sh 42"), "{out}");
}

/// The initramfs of the default userland (`initramfs` is a monitor word:
/// no applet has that name) against `--no-busybox`, which holds only the
/// command file.
#[test]
fn userland_none_leaves_busybox_out() {
    need_busybox();
    let with = umbra_run().guest(&["initramfs"]);
    with.assert_code(0);
    let lines = with.stdout_lines();
    for entry in ["bin/busybox", "bin/sh", "usr/bin/awk", "etc/passwd", "tmp"] {
        assert!(lines.iter().any(|l| l.ends_with(&format!(" {entry}"))), "no {entry}\n{with:?}");
    }
    let without = umbra_run().opt("--no-busybox").guest(&["initramfs"]);
    without.assert_code(0);
    assert_eq!(without.initramfs_files(), 3, "etc, etc/umbra, etc/umbra/argv only\n{without:?}");
    let same = umbra_run().opts(["--userland", "none"]).guest(&["initramfs"]);
    assert_eq!(same.initramfs_files(), 3, "{same:?}");
}

/// `--no-busybox` without a command: the kernel monitor's prompt.
#[test]
fn userland_none_without_command_is_the_monitor() {
    let (code, out) = interactive(&["--no-busybox"], "umbra> ", "exit 5");
    assert_eq!(code, Some(5), "{out}");
    assert!(out.contains("Umbra kernel monitor"), "{out}");
}

/// Names that are no program in the guest stay monitor words under the
/// default userland (`exit` and `ktest` are no applets); `echo` is an
/// applet now and prints the same.
#[test]
fn monitor_words_under_the_default_userland() {
    need_busybox();
    umbra_run().guest(&["exit", "6"]).assert_code(6);
    umbra_run().guest(&["echo", "a", "b"]).assert_code(0).assert_stdout_line("a b");
    let out = umbra_run().guest(&["ktest", "passing_test_runs"]);
    out.assert_code(0);
    assert_eq!(out.ktest_summary(), (1, 0), "{out:?}");
}

// ------------------------------------------------------------ power

/// busybox `poweroff -f`, `reboot -f` and `halt -f` call reboot(2): the VM
/// ends with status 0 at once. Without `-f` they signal init (PID 1),
/// which has no handler and so ignores the signal, as on Linux.
#[test]
fn busybox_poweroff_reboot_halt() {
    need_busybox();
    let out = umbra_run().guest(&["poweroff", "-f"]);
    out.assert_code(0).assert_stdout_contains("powering off");
    for applet in ["reboot", "halt"] {
        umbra_run()
            .guest(&["sh", "-c", &format!("echo before-{applet}; {applet} -f; echo after-{applet}; exit 9")])
            .assert_code(0)
            .assert_stdout_line(&format!("before-{applet}"))
            .assert_stdout_lacks(&format!("after-{applet}"));
    }
    umbra_run()
        .guest(&["sh", "-c", "poweroff; echo poweroff-signalled:$?; reboot; halt; echo still-here; exit 7"])
        .assert_code(7)
        .assert_stdout_line("poweroff-signalled:0")
        .assert_stdout_line("still-here");
    // As PID 1 itself, `poweroff` signals itself and returns 0.
    umbra_run().guest(&["poweroff"]).assert_code(0).assert_stdout_lacks("powering off");
}

/// A user that is not root gets EPERM from reboot(2).
#[test]
fn busybox_poweroff_as_non_root_is_refused() {
    need_busybox();
    umbra_run()
        .guest(&[
            "sh",
            "-c",
            "echo 'nobody:x:65534:65534::/:/bin/sh' >> /etc/passwd; \
             su nobody -c 'id -u; poweroff -f' 2>&1; echo su-status:$?; exit 5",
        ])
        .assert_code(5)
        .assert_stdout_line("65534")
        .assert_stdout_contains("Operation not permitted")
        .assert_stdout_line("su-status:1");
}

/// reboot(2)'s errors (EPERM first, EINVAL for bad magic or command,
/// EFAULT for RESTART2's string) from a C program; it then ends the VM
/// with RESTART2.
#[test]
fn reboot_syscall_errors_and_restart2() {
    let program = musl_program("reboot");
    let out = umbra_run().opts(["--add", &add(&program, "/bin/reboot-test")]).guest(&["/bin/reboot-test"]);
    assert!(!out.stdout.contains("FAIL "), "{out:?}");
    out.assert_stdout_line("0 failures").assert_code(0);
    out.assert_stdout_contains("umbra-test");
}

// ------------------------------------------------------------ PID 1

/// A fault ends even PID 1: the VM reports 128 + SIGSEGV.
#[test]
fn init_dies_of_a_fault() {
    let program = musl_program("init_fault");
    umbra_run()
        .opts(["--add", &add(&program, "/bin/init-fault")])
        .guest(&["/bin/init-fault"])
        .assert_code(139)
        .assert_stdout_line("faulting")
        .assert_stdout_lacks("survived");
}

// ------------------------------------------------------------ syscalls applets need

/// fallocate(2), which busybox `fallocate` calls: growth, KEEP_SIZE and
/// Linux 6.12's errors (tests/programs/fallocate.c).
#[test]
fn fallocate_sizes_and_errors() {
    let program = musl_program("fallocate");
    let out = umbra_run().opts(["--add", &add(&program, "/bin/fallocate-test")]).guest(&["/bin/fallocate-test"]);
    assert!(!out.stdout.contains("FAIL "), "{out:?}");
    out.assert_stdout_line("0 failures").assert_code(0);
}

/// syslog(2), which busybox `dmesg` calls: the kernel log buffer's
/// records and Linux's errors (tests/programs/syslog.c).
#[test]
fn syslog_records_and_errors() {
    let program = musl_program("syslog");
    let out = umbra_run().opts(["--add", &add(&program, "/bin/syslog-test")]).guest(&["/bin/syslog-test"]);
    assert!(!out.stdout.contains("FAIL "), "{out:?}");
    out.assert_stdout_line("0 failures").assert_code(0);
}
