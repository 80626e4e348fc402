//! Linux ABI, signals and time: interval timers (`alarm`, `setitimer`,
//! `getitimer`), interrupted system calls (EINTR and Linux's restart
//! rules), and job-control stops with their `wait4`/`waitid` reports.
//! Static C programs (tests/programs/{itimers,eintr_restart,job_control}.c,
//! built with musl-gcc and glibc's gcc -static) run as PID 1 and assert
//! Linux's results and errno values themselves: each prints `ok NAME` or
//! `FAIL NAME` and exits with its failure count. Each runs on one CPU and
//! at least once on two.

use std::path::{Path, PathBuf};
use std::process::Command;

use umbra_tests::{c_program, umbra_run, Output};

/// `tests/programs/NAME.c` built with `compiler -static` into
/// target/umbra-test-programs/OUTPUT.
fn build_program(name: &str, compiler: &str, output: &str) -> PathBuf {
    c_program(name, compiler, &["-static"], output)
}

#[derive(Clone, Copy)]
enum Libc {
    Musl,
    Glibc,
}

/// Run the program `name` built against `libc` as PID 1 on `smp` CPUs
/// and check that every assertion in it held.
fn run_checks(name: &str, libc: Libc, smp: u32) -> Output {
    let binary = match libc {
        Libc::Musl => build_program(name, "musl-gcc", name),
        Libc::Glibc => build_program(name, "gcc", &format!("{name}-glibc")),
    };
    let guest = format!("/bin/{name}");
    let out = umbra_run()
        .opts(["--smp".to_string(), smp.to_string(), "--add".to_string(), format!("{}:{guest}", binary.display())])
        .guest(&[&guest]);
    assert!(!out.stdout.contains("FAIL "), "{out:?}");
    out.assert_stdout_line(&format!("{name}: 0 failures")).assert_code(0);
    out
}

#[test]
fn itimers_musl() {
    let out = run_checks("itimers", Libc::Musl, 1);
    // The run reached the timers that need the process to compute or block.
    out.assert_stdout_line("ok sigalrm_interrupts_pipe_read")
        .assert_stdout_line("ok itimer_virtual_fires")
        .assert_stdout_line("ok itimer_prof_fires");
}

#[test]
fn itimers_glibc_smp2() {
    run_checks("itimers", Libc::Glibc, 2);
}

#[test]
fn eintr_and_restart_musl() {
    let out = run_checks("eintr_restart", Libc::Musl, 1);
    out.assert_stdout_line("ok read_pipe_sa_restart_restarts")
        .assert_stdout_line("ok nanosleep_eintr_with_sa_restart")
        .assert_stdout_line("ok nanosleep_restarts_after_stop");
}

#[test]
fn eintr_and_restart_glibc_smp2() {
    run_checks("eintr_restart", Libc::Glibc, 2);
}

#[test]
fn job_control_musl() {
    let out = run_checks("job_control", Libc::Musl, 1);
    out.assert_stdout_line("ok wait4_stop_status_word")
        .assert_stdout_line("ok waitid_wcontinued")
        .assert_stdout_line("ok orphaned_stopped_group_gets_sighup")
        .assert_stdout_line("ok tty_background_read_sigttin")
        .assert_stdout_line("ok tty_background_read_ignored_eio");
}

#[test]
fn job_control_musl_smp2() {
    run_checks("job_control", Libc::Musl, 2);
}

#[test]
fn job_control_glibc() {
    run_checks("job_control", Libc::Glibc, 1);
}

#[test]
fn busybox_timeout_and_stop_continue() {
    const BUSYBOX: &str = "/bin/busybox";
    assert!(Path::new(BUSYBOX).is_file(), "{BUSYBOX} missing (scripts/setup.sh installs busybox-static)");
    let script = "busybox timeout 1 busybox sleep 10; echo timeout=$?; \
                  busybox sleep 5 & p=$!; busybox kill -STOP $p; busybox sleep 0.2; \
                  busybox grep State /proc/$p/status; busybox kill -CONT $p; busybox kill $p; \
                  wait $p; echo killed=$?";
    umbra_run()
        .opts(["--add".to_string(), format!("{BUSYBOX}:/bin/busybox")])
        .guest(&[BUSYBOX, "sh", "-c", script])
        .assert_code(0)
        .assert_stdout_line("timeout=143")
        .assert_stdout_line("State:\tT (stopped)")
        .assert_stdout_line("killed=143");
}

/// Read the VM's output into `seen` until `done` holds for it (or the
/// output ends).
fn read_until(stdout: &mut impl std::io::Read, seen: &mut Vec<u8>, done: impl Fn(&str) -> bool) {
    let mut buf = [0u8; 4096];
    while !done(&String::from_utf8_lossy(seen)) {
        match stdout.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn ctrl_c_interrupts_a_foreground_command() {
    // ^C typed while the shell waits for a command (nobody reads the
    // console) still reaches the foreground group: the command dies of
    // SIGINT, the interactive shell (which ignores it) goes on. (Without
    // that the sleep outlives the VM's timeout.)
    use std::io::Write;
    use std::process::Stdio;
    const BUSYBOX: &str = "/bin/busybox";
    assert!(Path::new(BUSYBOX).is_file(), "{BUSYBOX} missing (scripts/setup.sh installs busybox-static)");
    let args = umbra_run().opts(["--add".to_string(), format!("{BUSYBOX}:/bin/busybox")]).argv(&[BUSYBOX, "sh"]);
    let mut child = Command::new(umbra_tests::umbra_bin())
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("running umbra");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut seen = Vec::new();
    read_until(&mut stdout, &mut seen, |s| s.contains("/ # "));
    stdin.write_all(b"busybox sh -c 'echo sleep''ing; exec busybox sleep 100000'\n").expect("typing");
    read_until(&mut stdout, &mut seen, |s| s.lines().any(|l| l.trim_end_matches('\r') == "sleeping"));
    std::thread::sleep(std::time::Duration::from_millis(500));
    stdin.write_all(b"\x03").expect("typing ^C");
    stdin.write_all(b"echo after=$?\nexit 4\n").expect("typing");
    let _ = std::io::Read::read_to_end(&mut stdout, &mut seen);
    drop(stdin);
    let status = child.wait().expect("waiting for umbra");
    let out = String::from_utf8_lossy(&seen).into_owned();
    let lines: Vec<&str> = out.lines().map(|l| l.trim_end_matches('\r')).collect();
    assert!(lines.contains(&"after=130"), "{out}");
    assert_eq!(status.code(), Some(4), "{out}");
}
