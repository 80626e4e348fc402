//! The per-group Linux ABI suites (tests/programs/abi_*.c: files,
//! directories, metadata, fds, memory, processes), each built static with
//! musl-gcc and with glibc's gcc and run as PID 1. A suite prints one
//! `FAIL line N: ...` per failed check and ends with `<suite>: ok (N
//! checks)` and exit status 0 when all passed.
//!
//! Linux compare mode (opt-in, `UMBRA_COMPARE_LINUX=1`): every suite also
//! boots as `/init` of an initramfs on Debian's own kernel in the same
//! QEMU (TCG) and must pass there too, which checks the expectations
//! themselves. The kernel is `$UMBRA_LINUX_KERNEL`, else
//! target/linux-compare/vmlinuz, fetched with apt by
//! scripts/fetch-linux-kernel.sh when missing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use umbra_tests::{umbra_run, workspace_root};

#[derive(Clone, Copy)]
enum Libc {
    Musl,
    Glibc,
}

impl Libc {
    fn suffix(self) -> &'static str {
        match self {
            Libc::Musl => "musl",
            Libc::Glibc => "glibc",
        }
    }
}

/// `tests/programs/NAME.c` (with abi_test.h) built static for `libc` into
/// target/umbra-test-programs/NAME-LIBC, unless that is newer than both.
fn build(name: &str, libc: Libc) -> PathBuf {
    static BUILD_LOCK: Mutex<()> = Mutex::new(());
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let programs = workspace_root().join("tests/programs");
    let sources = [programs.join(format!("{name}.c")), programs.join("abi_test.h")];
    let out_dir = workspace_root().join("target/umbra-test-programs");
    std::fs::create_dir_all(&out_dir).expect("creating target/umbra-test-programs");
    let binary = out_dir.join(format!("{name}-{}", libc.suffix()));
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let fresh = modified(&binary).is_some_and(|bin| sources.iter().all(|s| modified(s).is_some_and(|src| bin >= src)));
    if !fresh {
        let compiler = match libc {
            Libc::Musl => "musl-gcc",
            Libc::Glibc => "gcc",
        };
        let status = Command::new(compiler)
            .args(["-static", "-O2", "-Wall", "-o"])
            .arg(&binary)
            .arg(&sources[0])
            .status()
            .unwrap_or_else(|e| panic!("running {compiler} (scripts/setup.sh installs musl-tools and gcc): {e}"));
        assert!(status.success(), "{compiler} failed for {}", sources[0].display());
    }
    binary
}

fn run_suite(name: &str, libc: Libc) {
    let binary = build(name, libc);
    let guest = format!("/bin/{name}");
    let out = umbra_run().opts(["--add".to_string(), format!("{}:{guest}", binary.display())]).guest(&[&guest]);
    assert!(!out.stdout.contains("FAIL "), "{name} ({}) failed checks on Umbra: {out:?}", libc.suffix());
    out.assert_stdout_contains(&format!("{name}: ok (")).assert_code(0);
    if std::env::var("UMBRA_COMPARE_LINUX").is_ok_and(|v| v == "1") {
        linux_compare::run(name, libc.suffix(), &binary);
    }
}

macro_rules! suites {
    ($($name:ident),* $(,)?) => {
        mod musl {
            $(#[test] fn $name() { super::run_suite(concat!("abi_", stringify!($name)), super::Libc::Musl); })*
        }
        mod glibc {
            $(#[test] fn $name() { super::run_suite(concat!("abi_", stringify!($name)), super::Libc::Glibc); })*
        }
    };
}

suites!(files, dirs, meta, fds, memory, proc);

/// Pipes, FIFO opens and waits with the two ends on two CPUs.
#[test]
fn fds_on_two_cpus() {
    let binary = build("abi_fds", Libc::Musl);
    umbra_run()
        .opts(["--smp".to_string(), "2".to_string(), "--add".to_string(), format!("{}:/bin/abi_fds", binary.display())])
        .guest(&["/bin/abi_fds"])
        .assert_stdout_lacks("FAIL ")
        .assert_stdout_contains("abi_fds: ok (")
        .assert_code(0);
}

/// Booting a test program as `/init` on Debian's Linux kernel.
mod linux_compare {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(300);

    fn kernel() -> PathBuf {
        if let Some(k) = std::env::var_os("UMBRA_LINUX_KERNEL").filter(|v| !v.is_empty()) {
            return PathBuf::from(k);
        }
        static FETCH_LOCK: Mutex<()> = Mutex::new(());
        let _guard = FETCH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let path = workspace_root().join("target/linux-compare/vmlinuz");
        if !path.is_file() {
            let status = Command::new(workspace_root().join("scripts/fetch-linux-kernel.sh"))
                .stdout(Stdio::null())
                .status()
                .expect("running scripts/fetch-linux-kernel.sh");
            assert!(status.success(), "could not fetch Debian's kernel for UMBRA_COMPARE_LINUX=1");
        }
        path
    }

    /// One cpio newc entry.
    fn entry(out: &mut Vec<u8>, name: &str, mode: u32, rdev: (u32, u32), data: &[u8]) {
        let ino = out.len() as u32 + 1;
        let header = format!(
            "070701{ino:08x}{mode:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            0,
            0,
            1,
            0,
            data.len(),
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() + 1,
            0
        );
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend_from_slice(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }

    /// An initramfs with `program` as /init and /dev/console (without it
    /// Linux starts init with no stdio).
    fn initramfs(program: &Path) -> Vec<u8> {
        let init = std::fs::read(program).expect("reading the test program");
        let mut cpio = Vec::new();
        entry(&mut cpio, "dev", 0o040755, (0, 0), &[]);
        entry(&mut cpio, "dev/console", 0o020600, (5, 1), &[]);
        entry(&mut cpio, "init", 0o100755, (0, 0), &init);
        entry(&mut cpio, "TRAILER!!!", 0, (0, 0), &[]);
        cpio
    }

    pub fn run(name: &str, flavour: &str, program: &Path) {
        let kernel = kernel();
        let dir = workspace_root().join("target/linux-compare");
        std::fs::create_dir_all(&dir).expect("creating target/linux-compare");
        let cpio = dir.join(format!("{name}-{flavour}.cpio"));
        let serial = dir.join(format!("{name}-{flavour}.serial"));
        std::fs::File::create(&cpio)
            .and_then(|mut f| f.write_all(&initramfs(program)))
            .expect("writing the initramfs");
        let _ = std::fs::remove_file(&serial);
        let qemu = std::env::var_os("UMBRA_QEMU").unwrap_or_else(|| "qemu-system-x86_64".into());
        // Linux reports init's exit as a panic ("exitcode=0x..."); panic=-1
        // with -no-reboot then ends QEMU. no_timer_check: a slow TCG host
        // can fail the IO-APIC timer check at boot.
        let mut child = Command::new(qemu)
            .args(["-machine", "q35", "-nodefaults", "-display", "none", "-no-reboot", "-accel", "tcg"])
            .args(["-cpu", "max", "-m", "512M", "-monitor", "none"])
            .arg("-kernel")
            .arg(&kernel)
            .arg("-initrd")
            .arg(&cpio)
            .args(["-append", "console=ttyS0 panic=-1 quiet no_timer_check"])
            .arg("-serial")
            .arg(format!("file:{}", serial.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("starting QEMU");
        let start = Instant::now();
        let finished = loop {
            if child.try_wait().expect("waiting for QEMU").is_some() {
                break true;
            }
            if start.elapsed() > TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let output = String::from_utf8_lossy(&std::fs::read(&serial).unwrap_or_default()).into_owned();
        assert!(finished, "{name} ({flavour}) did not finish on Linux in {TIMEOUT:?}:\n{output}");
        let failed: Vec<&str> = output.lines().filter(|l| l.contains("FAIL ")).collect();
        assert!(failed.is_empty(), "{name} ({flavour}) fails on Linux too, so the expectation is wrong:\n{output}");
        assert!(
            output.contains(&format!("{name}: ok (")) && output.contains("exitcode=0x00000000"),
            "{name} ({flavour}) did not pass on Linux:\n{output}"
        );
    }
}
