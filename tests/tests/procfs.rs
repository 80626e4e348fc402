//! procfs and sysfs as busybox sees them: `/proc` and `/sys` are mounted
//! at boot, and `ps`, `free`, `mount`, `uptime`, `top` read them.

use std::path::Path;

use umbra_tests::{umbra_run, Output};

const BUSYBOX: &str = "/bin/busybox";

fn busybox_sh(script: &str) -> Output {
    assert!(Path::new(BUSYBOX).is_file(), "{BUSYBOX} missing (scripts/setup.sh installs busybox-static)");
    umbra_run()
        .opts(["--add".to_string(), format!("{BUSYBOX}:/bin/busybox")])
        .guest(&["/bin/busybox", "sh", "-c", script])
}

#[test]
fn proc_self_files() {
    let script = "cat /proc/self/status; echo ---; ls -1 /proc/self/fd; echo ---; readlink /proc/self/exe; \
                  readlink /proc/self/cwd; cat /proc/self/comm; cat /proc/self/cmdline | tr '\\0' ' '; echo; \
                  cat /proc/self/stat; cat /proc/self/maps";
    let out = busybox_sh(script);
    out.assert_code(0);
    let lines = out.stdout_lines();
    assert!(lines.contains(&"Name:\tcat"), "{out:?}");
    assert!(lines.iter().any(|l| l.starts_with("Pid:\t")), "{out:?}");
    assert!(lines.iter().any(|l| l.starts_with("PPid:\t1")), "{out:?}");
    for fd in ["0", "1", "2"] {
        assert!(lines.contains(&fd), "fd {fd} listed\n{out:?}");
    }
    out.assert_stdout_line("/bin/busybox")
        .assert_stdout_line("/")
        .assert_stdout_line("cat")
        .assert_stdout_line("cat /proc/self/cmdline ");
    let stat = lines.iter().find(|l| l.contains(" (cat) R ")).expect("stat line");
    assert_eq!(stat.split_whitespace().count(), 52, "{stat}");
    assert!(lines.iter().any(|l| l.ends_with("/bin/busybox") && l.contains(" r-xp ")), "{out:?}");
    assert!(lines.iter().any(|l| l.ends_with("[stack]")), "{out:?}");
}

#[test]
fn proc_system_files() {
    let script = "cat /proc/meminfo; cat /proc/uptime; cat /proc/version; cat /proc/loadavg; cat /proc/stat; \
                  cat /proc/filesystems; cat /proc/cpuinfo; cat /proc/sys/kernel/ostype /proc/sys/kernel/osrelease \
                  /proc/sys/kernel/hostname /proc/sys/vm/overcommit_memory /proc/sys/kernel/random/uuid; \
                  cat /sys/devices/system/cpu/online /sys/devices/system/cpu/possible; ls -d /sys/kernel/config";
    let out = busybox_sh(script);
    out.assert_code(0);
    let lines = out.stdout_lines();
    let total = lines.iter().find(|l| l.starts_with("MemTotal:")).expect("MemTotal");
    let kb: u64 = total.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(kb > 100_000, "{total}");
    assert!(
        lines.iter().any(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            f.len() == 2 && f.iter().all(|n| n.parse::<f64>().is_ok() && n.contains('.'))
        }),
        "/proc/uptime: two numbers\n{out:?}"
    );
    assert!(lines.iter().any(|l| l.starts_with("Linux version 6.12.0-umbra ")), "{out:?}");
    assert!(lines.iter().any(|l| l.starts_with("cpu  ")), "{out:?}");
    assert!(lines.iter().any(|l| l.starts_with("btime ")), "{out:?}");
    out.assert_stdout_line("nodev\tproc")
        .assert_stdout_line("processor\t: 0")
        .assert_stdout_line("Linux")
        .assert_stdout_line("6.12.0-umbra")
        .assert_stdout_line("umbra")
        .assert_stdout_line("0")
        .assert_stdout_line("/sys/kernel/config");
    assert!(lines.iter().any(|l| l.len() == 36 && l.matches('-').count() == 4), "uuid\n{out:?}");
}

#[test]
fn busybox_ps_free_mount_uptime_top() {
    let script = "ps; echo ---; free; echo ---; mount; echo ---; uptime; echo ---; top -b -n1; echo ---; df -a";
    let out = busybox_sh(script);
    out.assert_code(0);
    let lines = out.stdout_lines();
    assert!(lines.iter().any(|l| l.trim_start().starts_with("1 ")), "ps lists PID 1\n{out:?}");
    assert!(lines.iter().any(|l| l.starts_with("Mem:")), "free\n{out:?}");
    out.assert_stdout_line("proc on /proc type proc (rw,nosuid,nodev,noexec,relatime)")
        .assert_stdout_line("sysfs on /sys type sysfs (rw,nosuid,nodev,noexec,relatime)")
        .assert_stdout_contains("load average: 0.00, 0.00, 0.00")
        .assert_stdout_contains("top -b -n1");
    assert!(lines.iter().any(|l| l.ends_with(" /proc")), "df -a shows /proc\n{out:?}");
}

#[test]
fn mount_proc_again() {
    let script = "mkdir /p && mount -t proc proc /p && cat /p/self/comm && mount | grep ' /p ' && umount /p && echo done";
    busybox_sh(script)
        .assert_code(0)
        .assert_stdout_line("cat")
        .assert_stdout_line("proc on /p type proc (rw,relatime)")
        .assert_stdout_line("done");
}

#[test]
fn chdir_into_proc_and_pipe_fds() {
    // chdir walks while holding the caller's fs lock: /proc lookups must
    // not take it again.
    let script = "cd /proc/1 && pwd && readlink cwd && readlink /proc/self/fd/1 | cat; cat environ | tr '\\0' '\\n'";
    busybox_sh(script)
        .assert_code(0)
        .assert_stdout_line("/proc/1")
        .assert_stdout_contains("pipe:[")
        .assert_stdout_line("HOME=/");
}
