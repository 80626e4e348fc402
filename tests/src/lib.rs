//! Helpers for the integration tests: run the `umbra` front-end on the real
//! kernel image and look at what it printed and its exit status.
//!
//! - The front-end binary is `$UMBRA_BIN` (set by `umbra test`), else
//!   `<workspace>/target/release/umbra`.
//! - The kernel image is `$UMBRA_KERNEL` (set by `umbra test`), else the one
//!   `umbra build` produces (built once per test binary).
//! - The accelerator is `$UMBRA_TEST_ACCEL` (auto, tcg or kvm), else `tcg`:
//!   KVM on these machines can fail after a while, TCG is deterministic.
//!   Tests that are about `--accel auto` pass it themselves.
//! - Every boot gets `--timeout 120`, so a hung guest fails its test.
//! - `$UMBRA_TEST_TEE` (e.g. `snp-emu`) runs every boot of `umbra_run()`
//!   on that platform (`--tee`, and the matching image unless
//!   `$UMBRA_KERNEL` names one): the whole suite inside an emulated TEE.

pub mod syscall_list;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub const TIMEOUT_SECS: u32 = 120;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The `umbra` binary under test.
pub fn umbra_bin() -> PathBuf {
    let bin = std::env::var_os("UMBRA_BIN")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/release/umbra"));
    assert!(
        bin.is_file(),
        "umbra binary {} not found: run the tests with `scripts/umbra test`, or build it with \
         `cargo build --release -p umbra-frontend`",
        bin.display()
    );
    bin
}

/// The kernel image (bzImage) to boot.
pub fn kernel_image() -> PathBuf {
    static IMAGE: OnceLock<PathBuf> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            if let Some(k) = std::env::var_os("UMBRA_KERNEL").filter(|v| !v.is_empty()) {
                return PathBuf::from(k);
            }
            let out = Command::new(umbra_bin())
                .arg("build")
                .args(test_tee().map(|tee| ["--tee".to_string(), tee]).into_iter().flatten())
                .stderr(Stdio::inherit())
                .output()
                .expect("running `umbra build`");
            assert!(
                out.status.success(),
                "`umbra build` failed ({})",
                out.status
            );
            let stdout = String::from_utf8_lossy(&out.stdout);
            PathBuf::from(
                stdout
                    .lines()
                    .last()
                    .expect("`umbra build` prints the image path")
                    .trim(),
            )
        })
        .clone()
}

/// The platform every `umbra_run()` boot uses (`$UMBRA_TEST_TEE`), if any.
/// The TEE-emulation kernel image (`umbra build --tee tdx-emu`: one image
/// carries both emulators), built once; `$UMBRA_KERNEL_TEE_EMU` names a
/// prebuilt one.
pub fn emulation_image() -> PathBuf {
    static IMAGE: OnceLock<PathBuf> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            if let Some(k) = std::env::var_os("UMBRA_KERNEL_TEE_EMU").filter(|v| !v.is_empty()) {
                return PathBuf::from(k);
            }
            let out = Command::new(umbra_bin())
                .args(["build", "--tee", "tdx-emu"])
                .stderr(Stdio::inherit())
                .output()
                .expect("running `umbra build --tee tdx-emu`");
            assert!(out.status.success(), "`umbra build --tee tdx-emu` failed ({})", out.status);
            let stdout = String::from_utf8_lossy(&out.stdout);
            PathBuf::from(stdout.lines().last().expect("`umbra build` prints the image path").trim())
        })
        .clone()
}

pub fn test_tee() -> Option<String> {
    std::env::var("UMBRA_TEST_TEE").ok().filter(|v| !v.is_empty())
}

pub fn test_accel() -> String {
    std::env::var("UMBRA_TEST_ACCEL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "tcg".into())
}

/// A fake `qemu-system-x86_64` (tests/fake-qemu.sh) for protocol tests that
/// need no kernel; see the script for the variables that drive it.
pub fn fake_qemu() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fake-qemu.sh")
}

/// Builder for one `umbra run` invocation.
pub struct Umbra {
    options: Vec<OsString>,
    kernel: Option<PathBuf>,
    accel: Option<String>,
    timeout: Option<u32>,
    env: Vec<(OsString, OsString)>,
}

/// `umbra run` with the real image, the test accelerator and the timeout
/// (and `--tee $UMBRA_TEST_TEE` when set, e.g. `tdx-emu` with
/// `UMBRA_KERNEL` pointing at the emulation image: the suite as a TD).
pub fn umbra_run() -> Umbra {
    Umbra {
        options: test_tee().map(|tee| vec!["--tee".into(), tee.into()]).unwrap_or_default(),
        kernel: Some(kernel_image()),
        accel: Some(test_accel()),
        timeout: Some(TIMEOUT_SECS),
        env: Vec::new(),
    }
}

/// `umbra run` with a given (possibly fake) kernel file.
pub fn umbra_run_with_kernel(kernel: &Path) -> Umbra {
    Umbra {
        kernel: Some(kernel.to_path_buf()),
        ..umbra_run_bare()
    }
}

/// `umbra run` with exactly the given options (no defaults added).
pub fn umbra_run_bare() -> Umbra {
    Umbra {
        options: Vec::new(),
        kernel: None,
        accel: None,
        timeout: None,
        env: Vec::new(),
    }
}

impl Umbra {
    pub fn opt(mut self, a: impl Into<OsString>) -> Self {
        self.options.push(a.into());
        self
    }

    pub fn opts<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Self {
        self.options.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn accel(mut self, accel: &str) -> Self {
        self.accel = Some(accel.to_string());
        self
    }

    pub fn timeout(mut self, secs: u32) -> Self {
        self.timeout = Some(secs);
        self
    }

    pub fn env(mut self, k: impl Into<OsString>, v: impl Into<OsString>) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// The full argument list after the program name.
    pub fn argv(&self, guest: &[&str]) -> Vec<OsString> {
        let mut a: Vec<OsString> = vec!["run".into()];
        if let Some(k) = &self.kernel {
            a.push("--kernel".into());
            a.push(k.clone().into());
        }
        if let Some(acc) = &self.accel {
            a.push("--accel".into());
            a.push(acc.into());
        }
        if let Some(t) = self.timeout {
            a.push("--timeout".into());
            a.push(t.to_string().into());
        }
        a.extend(self.options.iter().cloned());
        if !guest.is_empty() {
            a.push("--".into());
            a.extend(guest.iter().map(OsString::from));
        }
        a
    }

    /// Runs `umbra run [options] -- guest...` (no `--` when `guest` is
    /// empty) with stdin from /dev/null and collects its output.
    pub fn guest(&self, guest: &[&str]) -> Output {
        let argv = self.argv(guest);
        let mut cmd = Command::new(umbra_bin());
        cmd.args(&argv).stdin(Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("running umbra");
        Output {
            argv: argv
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// What one `umbra` invocation did.
pub struct Output {
    pub argv: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "umbra {}", self.argv.join(" "))?;
        writeln!(f, "exit status: {:?}", self.code)?;
        writeln!(f, "----- stdout -----\n{}", self.stdout)?;
        write!(f, "----- stderr -----\n{}", self.stderr)
    }
}

impl Output {
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "wrong exit status\n{self:?}");
        self
    }

    pub fn assert_stdout_contains(&self, s: &str) -> &Self {
        assert!(self.stdout.contains(s), "stdout lacks {s:?}\n{self:?}");
        self
    }

    pub fn assert_stdout_lacks(&self, s: &str) -> &Self {
        assert!(!self.stdout.contains(s), "stdout has {s:?}\n{self:?}");
        self
    }

    pub fn assert_stderr_contains(&self, s: &str) -> &Self {
        assert!(self.stderr.contains(s), "stderr lacks {s:?}\n{self:?}");
        self
    }

    /// Console lines without the serial line's `\r`.
    pub fn stdout_lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .map(|l| l.trim_end_matches('\r'))
            .collect()
    }

    pub fn assert_stdout_line(&self, line: &str) -> &Self {
        assert!(
            self.stdout_lines().contains(&line),
            "stdout has no line {line:?}\n{self:?}"
        );
        self
    }

    /// The first stdout line that starts with `prefix`, or a failed test.
    pub fn line_starting(&self, prefix: &str) -> &str {
        self.stdout_lines()
            .into_iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("stdout has no line starting with {prefix:?}\n{self:?}"))
    }

    /// The in-kernel test summary `ktest: N passed, M failed...` as (N, M).
    pub fn ktest_summary(&self) -> (u32, u32) {
        let lines = self.stdout_lines();
        let line = lines
            .iter()
            .rev()
            .find(|l| l.starts_with("ktest: ") && l.contains(" passed, "))
            .unwrap_or_else(|| panic!("no ktest summary line\n{self:?}"));
        parse_counts(line)
            .unwrap_or_else(|| panic!("cannot parse ktest summary {line:?}\n{self:?}"))
    }

    /// `initramfs: N files ...` as N.
    pub fn initramfs_files(&self) -> u32 {
        let line = self.line_starting("initramfs: ");
        parse_initramfs_files(line).unwrap_or_else(|| panic!("cannot parse {line:?}\n{self:?}"))
    }
}

/// `initramfs: 3 files (496 bytes)` -> 3.
pub fn parse_initramfs_files(line: &str) -> Option<u32> {
    let mut words = line.strip_prefix("initramfs: ")?.split_whitespace();
    let n = words.next()?.parse().ok()?;
    matches!(words.next()?, "files" | "file" | "files," | "file,").then_some(n)
}

/// `ktest: 3 passed, 1 failed, ...` -> (3, 1).
pub fn parse_counts(line: &str) -> Option<(u32, u32)> {
    let rest = line.strip_prefix("ktest: ")?;
    let mut parts = rest.split(", ");
    let passed = parts.next()?.strip_suffix(" passed")?.parse().ok()?;
    let failed = parts.next()?.strip_suffix(" failed")?.parse().ok()?;
    Some((passed, failed))
}

/// `tests/programs/NAME.c` built with `musl-gcc -static -O2` into
/// target/umbra-test-programs/NAME (see [`c_program`]).
pub fn musl_program(name: &str) -> PathBuf {
    c_program(name, "musl-gcc", &["-static"], name)
}

/// `tests/programs/NAME.c` built with `compiler FLAGS -O2 -Wall` into
/// target/umbra-test-programs/OUTPUT, unless that is newer than the source.
/// The compiler writes a file of its own that is then renamed into place,
/// so test binaries building the same program at once never see half of
/// one.
pub fn c_program(name: &str, compiler: &str, flags: &[&str], output: &str) -> PathBuf {
    static BUILD_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let source = workspace_root().join("tests/programs").join(format!("{name}.c"));
    let out_dir = workspace_root().join("target/umbra-test-programs");
    std::fs::create_dir_all(&out_dir).expect("creating target/umbra-test-programs");
    let binary = out_dir.join(output);
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if modified(&binary).is_none() || modified(&binary) < modified(&source) {
        let partial = out_dir.join(format!(".{output}.{}", std::process::id()));
        let status = Command::new(compiler)
            .args(flags)
            .args(["-O2", "-Wall", "-o"])
            .arg(&partial)
            .arg(&source)
            .status()
            .unwrap_or_else(|e| panic!("running {compiler} (scripts/setup.sh installs musl-tools and gcc): {e}"));
        assert!(status.success(), "{compiler} failed for {}", source.display());
        std::fs::rename(&partial, &binary).expect("renaming the built program into place");
    }
    binary
}

/// A scratch folder removed on drop.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "umbra-tests-{tag}-{}-{nanos:x}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("creating a scratch folder");
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `name` (relative) with `data`, creating parents.
    pub fn write(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.0.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Minimal cpio newc reader (name, mode, data), for checking initrds.
pub fn read_cpio(mut buf: &[u8]) -> Vec<(String, u32, Vec<u8>)> {
    fn pad4(n: usize) -> usize {
        (4 - n % 4) % 4
    }
    let mut out = Vec::new();
    loop {
        assert!(
            buf.len() >= 110 && &buf[..6] == b"070701",
            "bad cpio header"
        );
        let field = |i: usize| {
            u32::from_str_radix(
                std::str::from_utf8(&buf[6 + 8 * i..14 + 8 * i]).unwrap(),
                16,
            )
            .unwrap() as usize
        };
        let (mode, size, namesize) = (field(1) as u32, field(6), field(11));
        let name = String::from_utf8(buf[110..110 + namesize - 1].to_vec()).unwrap();
        let data_at = 110 + namesize + pad4(110 + namesize);
        let data = buf[data_at..data_at + size].to_vec();
        buf = &buf[data_at + size + pad4(size)..];
        if name == "TRAILER!!!" {
            return out;
        }
        out.push((name, mode, data));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ktest_summary_forms() {
        assert_eq!(
            parse_counts("ktest: 12 passed, 0 failed, 1 ignored"),
            Some((12, 0))
        );
        assert_eq!(
            parse_counts("ktest: 0 passed, 1 failed, 0 not run"),
            Some((0, 1))
        );
        assert_eq!(parse_counts("ktest: 3 passed, 1 failed"), Some((3, 1)));
        assert_eq!(parse_counts("ktest: running 3 of 4 registered tests"), None);
    }

    #[test]
    fn initramfs_line_forms() {
        assert_eq!(
            parse_initramfs_files("initramfs: 3 files (496 bytes)"),
            Some(3)
        );
        assert_eq!(parse_initramfs_files("initramfs: 1 file"), Some(1));
        assert_eq!(parse_initramfs_files("initramfs: none"), None);
    }
}
