//! `umbra bench`: Umbra against Debian's Linux kernel, side by side.
//!
//! Both kernels boot in the same QEMU binary with the same machine, CPU,
//! memory, SMP and accelerator options (the arguments come from
//! `qemu::args`, only `-kernel` and `-append` differ) and the same
//! initramfs (bench_guest), which runs the same static programs. Each
//! repetition boots Umbra then Linux (interleaved, so host load drifts
//! hit both), plus, Umbra only, a `--tee tdx-emu` boot for the
//! attestation latency. Boot-to-init is measured on the host: QEMU start
//! to the console line `BENCH-INIT` printed first thing by /init.

use crate::bench_guest::{self, GuestReport, Size};
use crate::bench_report::{json_str, Results};
use crate::busybox::{self, Busybox};
use crate::cli::{Firmware, Tee};
use crate::qemu::{self, ConcreteAccel, Console, QemuConfig};
use crate::status::{EXIT_SETUP, EXIT_USAGE};
use crate::tempdir::TempDir;
use crate::{kernel_build, kvm, paths, supervise};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub const USAGE: &str = "\
Options of `umbra bench`:
  --smoke               one repetition, few iterations (CI); Linux is skipped
                        if its kernel cannot be fetched
  --reps N              repetitions (default 5)
  --smp N, --mem SIZE   guest CPUs and memory (default 1, 512M), both kernels
  --accel auto|tcg|kvm  accelerator (default auto), both kernels
  --linux-kernel IMAGE  Linux bzImage (default: Debian's linux-image-amd64
                        from bookworm-backports, scripts/fetch-linux-bench-kernel.sh;
                        if apt cannot get it, Debian's cloud kernel; the
                        output names the kernel used)
  --no-linux            Umbra only
  --no-tee              skip the tdx-emu attestation latency boot
  --out FILE            raw JSON results (default benchmarks/results-DATE.json;
                        smoke: target/umbra/bench/results-smoke.json)
  --timeout SECS        per boot (default 1800; smoke 600)
  --profile             also sample the guest's instruction pointer through
                        the QEMU monitor (about every 2 ms) into
                        target/umbra/bench/logs-PID/*.samples, for
                        benchmarks/profile.py (Linux boots with nokaslr);
                        sampling slows the guest: times of such a run are
                        not comparable
";

#[derive(Debug, Clone, PartialEq)]
pub struct BenchOptions {
    pub smoke: bool,
    pub reps: u32,
    pub smp: u32,
    pub mem: String,
    pub accel: crate::cli::Accel,
    pub linux_kernel: Option<PathBuf>,
    pub linux: bool,
    pub tee: bool,
    pub out: Option<PathBuf>,
    pub timeout: Option<Duration>,
    pub profile: bool,
}

pub fn parse(args: &[String]) -> Result<BenchOptions, String> {
    let mut o = BenchOptions {
        smoke: false,
        reps: 5,
        smp: 1,
        mem: "512M".into(),
        accel: crate::cli::Accel::Auto,
        linux_kernel: None,
        linux: true,
        tee: true,
        out: None,
        timeout: None,
        profile: false,
    };
    let mut reps = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        match name {
            "--smoke" => o.smoke = true,
            "--no-linux" => o.linux = false,
            "--no-tee" => o.tee = false,
            "--profile" => o.profile = true,
            "--reps" | "--smp" | "--mem" | "--accel" | "--linux-kernel" | "--out" | "--timeout" => {
                let v = match inline {
                    Some(v) => v,
                    None => it.next().ok_or_else(|| format!("{name} needs a value"))?.clone(),
                };
                let count = |v: &str| v.parse::<u32>().ok().filter(|n| (1..=64).contains(n));
                match name {
                    "--reps" => reps = Some(count(&v).ok_or("--reps needs 1..=64")?),
                    "--smp" => o.smp = count(&v).ok_or("--smp needs 1..=64")?,
                    "--mem" => o.mem = v,
                    "--accel" => {
                        o.accel = crate::cli::Accel::ALL
                            .into_iter()
                            .find(|a| a.name() == v)
                            .ok_or_else(|| format!("--accel: unknown value '{v}'"))?
                    }
                    "--linux-kernel" => o.linux_kernel = Some(PathBuf::from(v)),
                    "--out" => o.out = Some(PathBuf::from(v)),
                    _ => {
                        let s: u64 = v.parse().ok().filter(|s| *s > 0).ok_or("--timeout needs seconds")?;
                        o.timeout = Some(Duration::from_secs(s));
                    }
                }
            }
            _ => return Err(format!("unknown option '{arg}' to `umbra bench`")),
        }
    }
    o.reps = reps.unwrap_or(if o.smoke { 1 } else { 5 });
    Ok(o)
}

pub fn run(o: &BenchOptions) -> i32 {
    match try_run(o) {
        Ok(code) => code,
        Err((code, msg)) => {
            eprintln!("umbra bench: {msg}");
            code
        }
    }
}

type Failure = (i32, String);

fn setup(msg: String) -> Failure {
    (EXIT_SETUP, msg)
}

/// Which kernel a boot runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guest {
    Umbra,
    Linux,
    UmbraTdxEmu,
}

impl Guest {
    fn name(self) -> &'static str {
        match self {
            Guest::Umbra => "umbra",
            Guest::Linux => "linux",
            Guest::UmbraTdxEmu => "umbra-tdx-emu",
        }
    }
}

fn try_run(o: &BenchOptions) -> Result<i32, Failure> {
    let root = paths::repo_root().map_err(setup)?;
    // Per-run folders, so that two runs (a CI smoke run and a full run)
    // cannot mix their files: build files in a temporary folder, console
    // logs under target/umbra/bench/logs-PID (removed when all went well).
    let bench_dir = paths::umbra_dir(&root).join("bench");
    let logs = bench_dir.join(format!("logs-{}", std::process::id()));
    std::fs::create_dir_all(&logs).map_err(|e| setup(format!("{}: {e}", logs.display())))?;
    let tmp = TempDir::new("bench").map_err(|e| setup(format!("temporary folder: {e}")))?;
    let dir = tmp.path();
    let busybox = Busybox::from_host(Path::new(busybox::HOST_BUSYBOX)).map_err(setup)?;
    let umbra = kernel_build::build_flavor(&root, true, kernel_build::Flavor::for_tee(Tee::None)).map_err(setup)?;
    let umbra_tdx = if o.tee {
        Some(kernel_build::build_flavor(&root, true, kernel_build::Flavor::for_tee(Tee::TdxEmu)).map_err(setup)?)
    } else {
        None
    };
    let linux = if o.linux { linux_kernel(&root, o)? } else { None };
    let size = if o.smoke { Size { scale: 50, data_files: 20 } } else { Size { scale: 1, data_files: 200 } };
    let initrd = bench_guest::build_initramfs(&root, dir, &busybox, size).map_err(setup)?;
    let accel = match o.accel {
        crate::cli::Accel::Tcg => ConcreteAccel::Tcg,
        crate::cli::Accel::Kvm => ConcreteAccel::Kvm,
        crate::cli::Accel::Auto => match kvm::decide(&umbra, Some(&paths::umbra_dir(&root).join("kvm-probe"))) {
            kvm::Verdict::Usable => ConcreteAccel::Kvm,
            kvm::Verdict::Unusable(reason) => {
                eprintln!("umbra bench: KVM unusable here ({reason}), using TCG");
                ConcreteAccel::Tcg
            }
        },
    };
    let accel_name = match accel {
        ConcreteAccel::Tcg => "TCG",
        ConcreteAccel::Kvm => "KVM",
    };
    let timeout = o.timeout.unwrap_or(Duration::from_secs(if o.smoke { 600 } else { 1800 }));
    let qemu_version = command_first_line(Command::new(qemu::qemu_binary()).arg("--version"));
    let host = host_description();
    // At the start: the tree being measured (commits made during a long
    // run must not be credited with its numbers).
    let commit = command_first_line(Command::new("git").arg("-C").arg(&root).args(["rev-parse", "HEAD"]));
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_string();
    eprintln!(
        "umbra bench: {accel_name}, {} repetition(s), -smp {} -m {}, {qemu_version}",
        o.reps, o.smp, o.mem
    );
    if let Some((_, pkg)) = &linux {
        eprintln!("umbra bench: Linux kernel: {pkg}");
    }

    let mut results = Results::default();
    let mut failures = Vec::new();
    for rep in 0..o.reps {
        let mut boots = vec![(Guest::Umbra, umbra.clone())];
        if let Some((k, _)) = &linux {
            boots.push((Guest::Linux, k.clone()));
        }
        if let Some(k) = &umbra_tdx {
            boots.push((Guest::UmbraTdxEmu, k.clone()));
        }
        for (guest, kernel) in boots {
            eprintln!("umbra bench: repetition {}/{}: {}", rep + 1, o.reps, guest.name());
            let log = logs.join(format!("{}-{rep}.log", guest.name()));
            let cfg = QemuConfig {
                accel,
                firmware: Firmware::SeaBios,
                smp: o.smp,
                mem: o.mem.clone(),
                kernel,
                initrd: initrd.clone(),
                cmdline: if o.profile && guest == Guest::Linux {
                    format!("{} nokaslr", cmdline(guest))
                } else {
                    cmdline(guest)
                },
                ctl: dir.join("ctl"),
                console: Console::Batch,
                tdx: None,
                tcg_cpu: qemu::TCG_CPU,
                disks: Vec::new(),
            };
            let report = boot(&cfg, &log, timeout, o.profile).map_err(setup)?;
            let problems = check(guest, &report);
            if !problems.is_empty() {
                failures.push(format!("{} repetition {}: {} (console: {})", guest.name(), rep + 1, problems.join("; "), log.display()));
            }
            record(&mut results, guest, &report);
        }
    }

    // What qemu::args passes as -cpu.
    let cpu = match accel {
        ConcreteAccel::Tcg => qemu::TCG_CPU,
        ConcreteAccel::Kvm => "host",
    };
    let date = command_first_line(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]));
    println!(
        "Umbra vs Linux, {accel_name}, {} repetition(s){}, -machine q35 -cpu {} -smp {} -m {}; {qemu_version}; host: {host}; {date}",
        o.reps,
        if o.smoke { " (smoke: reduced iterations)" } else { "" },
        cpu,
        o.smp,
        o.mem
    );
    println!(
        "Linux: {}",
        linux.as_ref().map_or("not run".to_string(), |(_, pkg)| pkg.clone())
    );
    println!("Times are per operation (lower is better); ratio = Umbra median / Linux median; spread = ±half the min-max range over repetitions.");
    print!("{}", results.table());
    let out = match &o.out {
        Some(p) => p.clone(),
        None if o.smoke => bench_dir.join("results-smoke.json"),
        None => root.join("benchmarks").join(format!("results-{}.json", date.replace(':', ""))),
    };
    let json = format!(
        "{{\n  \"date\": {},\n  \"command\": {},\n  \"accelerator\": {},\n  \"qemu\": {},\n  \"machine\": {},\n  \"host\": {},\n  \"host_loadavg_at_start\": {},\n  \"host_loadavg_at_end\": {},\n  \"umbra_commit\": {},\n  \"linux_kernel\": {},\n  \"repetitions\": {},\n  \"smoke\": {},\n  \"failures\": [{}],\n  \"metrics\": {}\n}}\n",
        json_str(&date),
        json_str(&std::env::args().collect::<Vec<_>>().join(" ")),
        json_str(accel_name),
        json_str(&qemu_version),
        json_str(&format!("-machine q35 -cpu {cpu} -smp {} -m {}", o.smp, o.mem)),
        json_str(&host),
        json_str(&load_before),
        json_str(std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()),
        json_str(&commit),
        linux.as_ref().map_or("null".into(), |(_, p)| json_str(p)),
        o.reps,
        o.smoke,
        failures.iter().map(|f| json_str(f)).collect::<Vec<_>>().join(", "),
        results.json()
    );
    if let Some(parent) = out.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    let worst = results.worst_ratios();
    if !worst.is_empty() {
        let names: Vec<String> = worst.iter().take(3).map(|(n, r)| format!("{n} ({r:.2}x)")).collect();
        println!("Furthest behind Linux: {}", names.join(", "));
    }
    std::fs::write(&out, json).map_err(|e| setup(format!("{}: {e}", out.display())))?;
    let md = out.with_extension("md");
    std::fs::write(&md, results.markdown()).map_err(|e| setup(format!("{}: {e}", md.display())))?;
    println!("Raw results: {} (table: {})", out.display(), md.display());
    if o.profile {
        println!("Console logs and samples: {}", logs.display());
    }
    if failures.is_empty() {
        if !o.profile {
            let _ = std::fs::remove_dir_all(&logs);
        }
        Ok(0)
    } else {
        for f in &failures {
            eprintln!("umbra bench: FAILED: {f}");
        }
        Ok(1)
    }
}

fn cmdline(guest: Guest) -> String {
    match guest {
        Guest::Umbra => "console=ttyS0".into(),
        Guest::UmbraTdxEmu => "console=ttyS0 umbra.tee_emu=tdx".into(),
        // panic=-1: if init dies, Linux panics and -no-reboot ends QEMU.
        // no_timer_check: a slow TCG host can fail the IO-APIC timer check.
        Guest::Linux => "console=ttyS0 panic=-1 quiet no_timer_check".into(),
    }
}

/// What a boot must have reported.
fn check(guest: Guest, r: &GuestReport) -> Vec<String> {
    let mut p: Vec<String> = r.failures.iter().map(|f| format!("BENCH-FAIL {f}")).collect();
    if r.boot_s.is_none() {
        p.push("/init never printed BENCH-INIT".into());
    }
    if r.done != Some(0) {
        p.push(format!("run script status {:?}", r.done));
    }
    if r.mem_used_kb.is_none() {
        p.push("no memory figure".into());
    }
    if guest != Guest::UmbraTdxEmu && !r.results.iter().any(|(n, _)| n == "shell_workload") {
        p.push("no shell workload result".into());
    }
    p
}

fn record(results: &mut Results, guest: Guest, r: &GuestReport) {
    let linux = guest == Guest::Linux;
    if guest == Guest::UmbraTdxEmu {
        for (name, ns) in &r.results {
            results.add(&format!("{name} (tdx-emu)"), "us", false, ns / 1000.0);
        }
        return;
    }
    if let Some(s) = r.boot_s {
        results.add("boot_to_init", "ms", linux, s * 1000.0);
    }
    if let Some(kb) = r.mem_used_kb {
        results.add("mem_used_after_boot", "MiB", linux, kb as f64 / 1024.0);
    }
    for (name, ns) in &r.results {
        if name == "shell_workload" {
            results.add(name, "ms", linux, ns / 1e6);
        } else {
            results.add(name, "ns", linux, *ns);
        }
    }
}

/// Boots one guest: console lines are time-stamped as they arrive (for
/// boot-to-init) and saved to `log`.
fn boot(cfg: &QemuConfig, log: &Path, timeout: Duration, profile: bool) -> Result<GuestReport, String> {
    let (reader, writer) = std::io::pipe().map_err(|e| format!("pipe: {e}"))?;
    let stderr_log = log.with_extension("stderr");
    let stderr = std::fs::File::create(&stderr_log).map_err(|e| format!("{}: {e}", stderr_log.display()))?;
    let mut cmd = Command::new(qemu::qemu_binary());
    cmd.args(qemu::args(cfg)).stdin(Stdio::null()).stdout(writer).stderr(stderr);
    let monitor = log.with_extension("monitor");
    if profile {
        let _ = std::fs::remove_file(&monitor);
        let mut arg = std::ffi::OsString::from("unix:");
        arg.push(&monitor);
        arg.push(",server=on,wait=off");
        cmd.arg("-monitor").arg(arg);
    }
    let start = Instant::now();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = profile.then(|| {
        let (stop, out) = (stop.clone(), log.with_extension("samples"));
        std::thread::spawn(move || crate::bench_profile::sample(&monitor, &out, start, &stop))
    });
    let collector = std::thread::spawn(move || {
        let mut lines = Vec::new();
        let mut r = BufReader::new(reader);
        let mut buf = Vec::new();
        while let Ok(n) = r.read_until(b'\n', &mut buf) {
            if n == 0 {
                break;
            }
            lines.push((start.elapsed().as_secs_f64(), String::from_utf8_lossy(&buf).into_owned()));
            buf.clear();
        }
        lines
    });
    let end = supervise::run(&mut cmd, Some(timeout));
    // The pipe's write end lives in `cmd`: dropping it lets the reader end.
    drop(cmd);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    if let Some(s) = sampler {
        let _ = s.join();
    }
    let lines = collector.join().map_err(|_| "console reader panicked".to_string())?;
    let text: String = lines.iter().map(|(t, l)| format!("[{t:9.3}] {l}")).collect();
    let _ = std::fs::write(log, text);
    let end = end.map_err(|e| format!("cannot run QEMU: {e}"))?;
    let mut report = GuestReport::parse(&lines);
    if let crate::status::QemuEnd::TimedOut(t) = end {
        report.failures.push(format!("timed out after {t:?}"));
    }
    Ok(report)
}

/// The Linux kernel and a description of it (package, or path).
fn linux_kernel(root: &Path, o: &BenchOptions) -> Result<Option<(PathBuf, String)>, Failure> {
    if let Some(k) = &o.linux_kernel {
        if !k.is_file() {
            return Err((EXIT_USAGE, format!("--linux-kernel {}: no such file", k.display())));
        }
        return Ok(Some((k.clone(), k.display().to_string())));
    }
    let out = Command::new(root.join("scripts/fetch-linux-bench-kernel.sh"))
        .stderr(Stdio::null())
        .output();
    match out {
        Ok(out) if out.status.success() => {
            let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            let pkg = std::fs::read_to_string(path.with_file_name("package"))
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| path.display().to_string());
            Ok(Some((path, pkg)))
        }
        _ => {
            if let Some(path) = fallback_cloud_kernel(root) {
                eprintln!("umbra bench: linux-image-amd64 unavailable; using Debian's cloud kernel (as the ABI compare mode)");
                return Ok(Some((path, "Debian linux-image-cloud-amd64 (fallback: linux-image-amd64 unavailable)".into())));
            }
            if o.smoke {
                eprintln!("umbra bench: Debian's Linux kernel could not be fetched; smoke run without Linux");
                return Ok(None);
            }
            Err(setup("scripts/fetch-linux-bench-kernel.sh failed (apt cannot fetch linux-image-amd64); --no-linux runs Umbra only".into()))
        }
    }
}

/// Debian's cloud kernel that scripts/fetch-linux-kernel.sh fetches for
/// the ABI compare mode, when apt can get it.
fn fallback_cloud_kernel(root: &Path) -> Option<PathBuf> {
    let out = Command::new(root.join("scripts/fetch-linux-kernel.sh")).stderr(Stdio::null()).output().ok()?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    (out.status.success() && path.is_file()).then_some(path)
}

fn command_first_line(cmd: &mut Command) -> String {
    cmd.stderr(Stdio::null())
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).lines().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

/// CPU model and count of the host, for the record.
fn host_description() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, m)| m.trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cpus} CPUs")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn options() {
        let o = parse(&[]).unwrap();
        assert_eq!((o.reps, o.smoke, o.linux, o.smp), (5, false, true, 1));
        let o = parse(&s(&["--smoke", "--smp=2", "--no-linux"])).unwrap();
        assert_eq!((o.reps, o.smoke, o.linux, o.smp), (1, true, false, 2));
        let o = parse(&s(&["--smoke", "--reps", "3", "--out", "/x.json"])).unwrap();
        assert_eq!(o.reps, 3);
        assert_eq!(o.out, Some(PathBuf::from("/x.json")));
        assert!(parse(&s(&["--reps", "0"])).is_err());
        assert!(parse(&s(&["--bogus"])).is_err());
        assert!(parse(&s(&["--mem"])).is_err());
    }
}
