//! Real Linux programs as PID 1: static musl C programs built for the test
//! (tests/programs/*.c, `musl-gcc -static`) and Debian's static busybox.
//! Each asserts on what the program printed and on its exit status, which
//! the VM reports as its own.

use std::path::{Path, PathBuf};
use std::process::Command;

use umbra_tests::{c_program, musl_program, umbra_bin, umbra_run, Output, Scratch};

const BUSYBOX: &str = "/bin/busybox";

/// `tests/programs/NAME.c` compiled with `musl-gcc -static` into
/// target/umbra-test-programs/NAME (once per test binary run).
fn program(name: &str) -> PathBuf {
    musl_program(name)
}

fn build_program(name: &str, compiler: &str, flags: &[&str], output: &str) -> PathBuf {
    c_program(name, compiler, flags, output)
}

fn busybox() -> &'static str {
    assert!(
        Path::new(BUSYBOX).is_file(),
        "{BUSYBOX} missing (scripts/setup.sh installs busybox-static)"
    );
    BUSYBOX
}

fn add(host: &Path, guest: &str) -> String {
    format!("{}:{guest}", host.display())
}

fn run_busybox(extra: &[String], guest: &[&str]) -> Output {
    let mut opts = vec!["--add".to_string(), format!("{}:/bin/busybox", busybox())];
    opts.extend(extra.iter().cloned());
    umbra_run().opts(opts).guest(guest)
}

#[test]
fn musl_hello_prints_and_exits_7() {
    let hello = program("hello");
    umbra_run()
        .opts(["--add", &add(&hello, "/bin/hello")])
        .guest(&["/bin/hello", "one", "two"])
        .assert_code(7)
        .assert_stdout_line("hello from /bin/hello (argc 3)");
}

#[test]
fn command_found_through_path() {
    let hello = program("hello");
    umbra_run()
        .opts(["--add", &add(&hello, "/usr/bin/hello")])
        .guest(&["hello"])
        .assert_code(7)
        .assert_stdout_line("hello from hello (argc 1)");
}

#[test]
fn syscall_abi_checks_pass() {
    let checks = program("abi_checks");
    let out = umbra_run().opts(["--add", &add(&checks, "/bin/abi_checks")]).guest(&["/bin/abi_checks"]);
    assert!(!out.stdout.contains("FAIL "), "{out:?}");
    out.assert_stdout_line("0 failures").assert_code(0);
}

#[test]
fn signal_handlers_masks_and_sigreturn() {
    let signals = program("signals");
    let out = umbra_run().opts(["--add", &add(&signals, "/bin/signals")]).guest(&["/bin/signals"]);
    assert!(!out.stdout.contains("FAIL "), "{out:?}");
    out.assert_stdout_line("0 failures").assert_code(0);
}

#[test]
fn busybox_sh_wait_trap_and_kill() {
    // `wait` sleeps in rt_sigsuspend until the shell's SIGCHLD handler ran.
    let script = "busybox sleep 100 & p=$!; busybox sleep 0.2; busybox kill $p; wait $p; echo killed=$?; \
                  busybox sleep 100 | busybox cat & busybox sleep 0.2; kill %1; wait; echo job-done; \
                  trap 'echo trapped' USR1; busybox kill -USR1 $$; busybox sleep 0.1 & wait; echo end";
    run_busybox(&[], &[BUSYBOX, "sh", "-c", script])
        .assert_code(0)
        .assert_stdout_line("killed=143")
        .assert_stdout_line("job-done")
        .assert_stdout_line("trapped")
        .assert_stdout_line("end");
}

#[test]
fn memory_maps_musl_static() {
    let maps = program("memory_maps");
    umbra_run()
        .opts(["--add", &add(&maps, "/bin/maps")])
        .guest(&["/bin/maps"])
        .assert_stdout_line("maps: 0 failures")
        .assert_code(0);
}

#[test]
fn glibc_static_pie_runs() {
    // A static PIE is placed by the loader like an mmap; glibc's startup
    // relocates itself, sets up TLS and probes the CPU.
    let maps = build_program("memory_maps", "gcc", &["-static-pie"], "memory_maps-glibc-static-pie");
    umbra_run()
        .opts(["--add", &add(&maps, "/bin/maps")])
        .guest(&["/bin/maps"])
        .assert_stdout_line("maps: 0 failures")
        .assert_code(0);
}

#[test]
fn dynamically_linked_program_is_refused_clearly() {
    let dynamic = build_program("hello", "musl-gcc", &[], "hello-dynamic");
    umbra_run()
        .opts(["--add", &add(&dynamic, "/bin/hello")])
        .guest(&["/bin/hello"])
        .assert_code(126)
        .assert_stdout_contains("cannot run /bin/hello: ENOEXEC");
}

#[test]
fn busybox_sh_echo_and_exit_status() {
    run_busybox(&[], &[BUSYBOX, "sh", "-c", "echo hi; exit 3"])
        .assert_code(3)
        .assert_stdout_line("hi");
}

#[test]
fn busybox_echo_applet() {
    run_busybox(&[], &[BUSYBOX, "echo", "hello", "busybox"])
        .assert_code(0)
        .assert_stdout_line("hello busybox");
}

#[test]
fn busybox_ls_root() {
    let out = run_busybox(&[], &[BUSYBOX, "ls", "/"]);
    out.assert_code(0);
    let names: Vec<&str> = out.stdout_lines().iter().flat_map(|l| l.split_whitespace()).collect();
    for expected in ["bin", "dev", "etc"] {
        assert!(names.contains(&expected), "ls / lacks {expected}\n{out:?}");
    }
}

#[test]
fn busybox_cat_of_an_added_file() {
    let s = Scratch::new("cat");
    let file = s.write("note.txt", b"first line\nsecond line\n");
    run_busybox(&["--add".into(), add(&file, "/data/note.txt")], &[BUSYBOX, "cat", "/data/note.txt"])
        .assert_code(0)
        .assert_stdout_line("first line")
        .assert_stdout_line("second line");
}

#[test]
fn busybox_true_and_false() {
    run_busybox(&[], &[BUSYBOX, "true"]).assert_code(0);
    run_busybox(&[], &[BUSYBOX, "false"]).assert_code(1);
}

#[test]
fn busybox_sh_forks_pipes_and_execs() {
    let script = "busybox echo piped | busybox cat; \
                  busybox mkdir /made && busybox ls -d /made; \
                  x=$(busybox echo substituted); echo \"got $x\"; \
                  busybox false; echo status=$?; \
                  cd /dev && busybox pwd";
    run_busybox(&[], &[BUSYBOX, "sh", "-c", script])
        .assert_code(0)
        .assert_stdout_line("piped")
        .assert_stdout_line("/made")
        .assert_stdout_line("got substituted")
        .assert_stdout_line("status=1")
        .assert_stdout_line("/dev");
}

#[test]
fn busybox_mount_tmpfs_and_poweroff() {
    let script = "busybox mkdir -p /mnt; busybox mount -t tmpfs -o size=1m tmp /mnt && busybox touch /mnt/x; \
                  busybox ls /mnt; busybox umount /mnt && busybox ls /mnt; echo unmounted; \
                  busybox poweroff -f; echo not-reached";
    let out = run_busybox(&[], &[BUSYBOX, "sh", "-c", script]);
    out.assert_code(0).assert_stdout_line("x").assert_stdout_line("unmounted").assert_stdout_lacks("not-reached");
}

#[test]
fn shebang_script_runs_through_its_interpreter() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new("shebang");
    let script = s.write("hello.sh", b"#!/bin/busybox sh\necho \"script got $1\"\nexit 5\n");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    run_busybox(&["--add".into(), add(&script, "/bin/hello.sh")], &["/bin/hello.sh", "arg"])
        .assert_code(5)
        .assert_stdout_line("script got arg");
}

#[test]
fn init_from_the_initramfs_runs_without_a_command() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::new("init");
    let init = s.write("init", b"#!/bin/busybox sh\necho \"init as pid $$\"\nexit 5\n");
    std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755)).unwrap();
    run_busybox(&["--add".into(), add(&init, "/init")], &[])
        .assert_code(5)
        .assert_stdout_line("init as pid 1");
}

#[test]
fn init_survives_signals_it_has_no_handler_for() {
    // Linux's SIGNAL_UNKILLABLE: PID 1 drops them, SIGKILL included (a
    // fault still ends it: tests/tests/userland.rs).
    run_busybox(&[], &[BUSYBOX, "sh", "-c", "kill -9 $$; kill -TERM $$; echo survived; exit 7"])
        .assert_code(7)
        .assert_stdout_line("survived");
}

#[test]
fn monitor_words_still_work_without_such_programs() {
    // Built-in monitor commands when the initramfs has no such program.
    run_busybox(&[], &["echo", "from", "monitor"])
        .assert_code(0)
        .assert_stdout_line("from monitor");
    run_busybox(&[], &["exit", "4"]).assert_code(4);
}

/// Run busybox `sh` interactively: wait for its prompt on the console,
/// then type `input`. Returns (exit status, everything printed).
fn interactive_shell(input: &[u8]) -> (Option<i32>, String) {
    use std::io::{Read, Write};
    use std::process::Stdio;
    let args = umbra_run().opts(["--add".to_string(), format!("{}:/bin/busybox", busybox())]).argv(&[BUSYBOX, "sh"]);
    let mut child = Command::new(umbra_bin())
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("running umbra");
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    // Input sent before the kernel owns the UART would be lost: wait for
    // the prompt (or the end of output).
    while !String::from_utf8_lossy(&seen).contains("/ # ") {
        match stdout.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input).unwrap();
    stdout.read_to_end(&mut seen).unwrap();
    drop(stdin);
    let status = child.wait().unwrap();
    (status.code(), String::from_utf8_lossy(&seen).into_owned())
}

#[test]
fn interactive_shell_on_the_console() {
    // The shell edits its own line (raw mode); `cat` reads in canonical
    // mode with echo, so the line appears twice and ^D ends it.
    let (code, out) = interactive_shell(b"echo typed-$((2+3))\nbusybox cat\nline for cat\n\x04exit 6\n");
    assert_eq!(code, Some(6), "{out}");
    let lines: Vec<&str> = out.lines().map(|l| l.trim_end_matches('\r')).collect();
    assert!(lines.contains(&"typed-5"), "{out}");
    assert_eq!(lines.iter().filter(|l| **l == "line for cat").count(), 2, "{out}");
}
