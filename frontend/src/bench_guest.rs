//! The guest side of `umbra bench`: the benchmark initramfs (the same file
//! for Umbra and Linux) and the parsing of what the guest prints.
//!
//! The initramfs holds the busybox userland, `/init` (bench_init.c: prints
//! `BENCH-INIT`, mounts what Linux lacks, runs /bench/run.sh, powers off),
//! `/bench/lmb` (lmb.c, the microbenchmarks) and the shell workload with
//! its fixed data set. Both programs are built here with
//! `musl-gcc -static -O2` from benchmarks/programs/.

use crate::busybox::Busybox;
use crate::cli::AddSpec;
use crate::initramfs;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How big the runs are.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    /// lmb's iteration divisor (1: full counts).
    pub scale: u32,
    /// Files in the shell workload's data set (200 lines each).
    pub data_files: u32,
}

const LINES_PER_FILE: u32 = 200;

/// Builds `dir/initrd` and returns its path.
pub fn build_initramfs(root: &Path, dir: &Path, busybox: &Busybox, size: Size) -> Result<PathBuf, String> {
    let guest = dir.join("guest");
    let _ = std::fs::remove_dir_all(&guest);
    std::fs::create_dir_all(&guest).map_err(|e| format!("{}: {e}", guest.display()))?;
    let programs = root.join("benchmarks/programs");
    compile(&programs.join("lmb.c"), &guest.join("lmb"))?;
    let init = dir.join("bench_init");
    compile(&programs.join("bench_init.c"), &init)?;
    let data = DataSet::new(size.data_files);
    data.write_tar(&dir.join("data"), &guest.join("data.tar"))?;
    write(&guest.join("workload.sh"), &data.workload_script())?;
    write(&guest.join("run.sh"), &run_script(size.scale))?;
    let initrd = dir.join("initrd");
    let adds = [
        AddSpec { host: guest, guest: "/bench".into() },
        AddSpec { host: init, guest: "/init".into() },
    ];
    initramfs::write_with(&initrd, Some(busybox), &adds, &[])?;
    Ok(initrd)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("{}: {e}", path.display()))
}

fn compile(source: &Path, out: &Path) -> Result<(), String> {
    let status = Command::new("musl-gcc")
        .args(["-static", "-O2", "-Wall", "-o"])
        .arg(out)
        .arg(source)
        .status()
        .map_err(|e| format!("running musl-gcc (scripts/setup.sh installs musl-tools): {e}"))?;
    if !status.success() {
        return Err(format!("musl-gcc failed for {}", source.display()));
    }
    Ok(())
}

/// The guest's script: memory first (right after boot), then either the
/// attestation latency (only in a TD: the `--tee tdx-emu` boot) or the
/// microbenchmarks and the shell workload.
fn run_script(scale: u32) -> String {
    format!(
        "set -e\n\
         /bench/lmb meminfo\n\
         if [ -e /dev/tdx_guest ]; then /bench/lmb tsm {scale}; exit 0; fi\n\
         /bench/lmb micro {scale}\n\
         /bench/lmb time shell_workload /bin/sh /bench/workload.sh\n"
    )
}

/// The shell workload's fixed data set: files of lines
/// `<hash> f<file> l<line> key<k>`, deterministic, with the answers the
/// workload checks (so a wrong grep or sort fails the run).
pub struct DataSet {
    files: Vec<String>,
}

impl DataSet {
    pub fn new(n_files: u32) -> DataSet {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let files = (0..n_files)
            .map(|f| {
                let mut text = String::new();
                for l in 0..LINES_PER_FILE {
                    // xorshift64: fixed pseudo-random hashes.
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let key = (f * 7 + l * 13) % 97;
                    let _ = writeln!(text, "{:08x} f{f:03} l{l:03} key{key}", state as u32);
                }
                text
            })
            .collect();
        DataSet { files }
    }

    fn lines(&self) -> Vec<&str> {
        self.files.iter().flat_map(|f| f.lines()).collect()
    }

    /// The busybox script: untar, grep, sort, each result checked.
    pub fn workload_script(&self) -> String {
        let mut lines = self.lines();
        let key7 = lines.iter().filter(|l| l.ends_with(" key7")).count();
        lines.sort_unstable();
        let total = lines.len();
        let first = lines.first().copied().unwrap_or("");
        let last = lines.last().copied().unwrap_or("");
        format!(
            "set -e\n\
             fail() {{ echo \"BENCH-FAIL shell_workload $1\"; exit 1; }}\n\
             rm -rf /tmp/w; mkdir /tmp/w; cd /tmp/w\n\
             tar xf /bench/data.tar\n\
             n=$(cat data/* | grep -c ' key7$')\n\
             [ $((n)) -eq {key7} ] || fail \"grep count $n\"\n\
             sort data/* > sorted\n\
             n=$(wc -l < sorted)\n\
             [ $((n)) -eq {total} ] || fail \"sorted line count $n\"\n\
             [ \"$(head -n 1 sorted)\" = '{first}' ] || fail 'first sorted line'\n\
             [ \"$(tail -n 1 sorted)\" = '{last}' ] || fail 'last sorted line'\n\
             cd /; rm -rf /tmp/w\n"
        )
    }

    /// Writes the files under `dir/data/` and packs them (reproducibly)
    /// with the host's GNU tar.
    fn write_tar(&self, dir: &Path, tar: &Path) -> Result<(), String> {
        let _ = std::fs::remove_dir_all(dir);
        let data = dir.join("data");
        std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
        for (i, text) in self.files.iter().enumerate() {
            let p = data.join(format!("f{i:03}"));
            std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        let status = Command::new("tar")
            .args(["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "--format=ustar", "-C"])
            .arg(dir)
            .arg("-cf")
            .arg(tar)
            .arg("data")
            .status()
            .map_err(|e| format!("running tar: {e}"))?;
        if !status.success() {
            return Err("tar failed packing the workload data set".into());
        }
        Ok(())
    }
}

/// What one guest boot reported.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct GuestReport {
    /// Seconds from QEMU start to the `BENCH-INIT` line.
    pub boot_s: Option<f64>,
    /// (name, nanoseconds per operation), in output order.
    pub results: Vec<(String, f64)>,
    /// MemTotal - MemAvailable, KiB.
    pub mem_used_kb: Option<u64>,
    pub skipped: Vec<String>,
    pub failures: Vec<String>,
    /// `BENCH-DONE N`: the run script's exit status.
    pub done: Option<i32>,
}

impl GuestReport {
    /// Parses the console lines, each with its time since QEMU started.
    pub fn parse(lines: &[(f64, String)]) -> GuestReport {
        let mut r = GuestReport::default();
        for (t, raw) in lines {
            // Kernels' own messages may share a line; find our marker.
            let Some(at) = raw.find("BENCH") else { continue };
            let line = raw[at..].trim_end();
            let mut w = line.split_whitespace();
            match w.next() {
                Some("BENCH-INIT") if r.boot_s.is_none() => r.boot_s = Some(*t),
                Some("BENCH") => {
                    if let (Some(name), Some(Ok(ns))) = (w.next(), w.next().map(str::parse::<f64>)) {
                        r.results.push((name.to_string(), ns));
                    }
                }
                Some("BENCH-MEM") => r.mem_used_kb = w.next().and_then(|v| v.parse().ok()),
                Some("BENCH-SKIP") => r.skipped.push(w.collect::<Vec<_>>().join(" ")),
                Some("BENCH-FAIL") => r.failures.push(w.collect::<Vec<_>>().join(" ")),
                Some("BENCH-DONE") => r.done = w.next().and_then(|v| v.parse().ok()),
                _ => {}
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_guest_lines() {
        let lines: Vec<(f64, String)> = [
            (0.5, "SeaBIOS"),
            (1.25, "BENCH-INIT\r"),
            (1.3, "BENCH-MEM 12345 500000"),
            (2.0, "BENCH null_syscall 150.5 200000"),
            (2.1, "[ 3.1] x BENCH fork_exit 9000 500"),
            (2.2, "BENCH-SKIP unix_pingpong socketpair failed (errno 97)"),
            (2.3, "BENCH-FAIL stat size (errno 0)"),
            (2.4, "BENCH-DONE 1"),
        ]
        .iter()
        .map(|(t, s)| (*t, s.to_string()))
        .collect();
        let r = GuestReport::parse(&lines);
        assert_eq!(r.boot_s, Some(1.25));
        assert_eq!(r.mem_used_kb, Some(12345));
        assert_eq!(r.results, vec![("null_syscall".to_string(), 150.5), ("fork_exit".to_string(), 9000.0)]);
        assert_eq!(r.skipped, vec!["unix_pingpong socketpair failed (errno 97)"]);
        assert_eq!(r.failures, vec!["stat size (errno 0)"]);
        assert_eq!(r.done, Some(1));
    }

    #[test]
    fn workload_answers_match_the_data() {
        let d = DataSet::new(3);
        let s = d.workload_script();
        assert_eq!(d.lines().len(), 600);
        assert!(s.contains("-eq 600 ]"), "{s}");
        let key7 = d.lines().iter().filter(|l| l.ends_with(" key7")).count();
        assert!(key7 > 0);
        assert!(s.contains(&format!("-eq {key7} ]")), "{s}");
    }
}
