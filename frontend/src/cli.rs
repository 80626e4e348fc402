//! Command-line parsing (hand-written, std only).
//!
//! Every option takes its value either as the next argument (`--smp 2`) or
//! inline (`--smp=2`). Everything after `--` is the guest command.

use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
umbra: build and run the Umbra kernel in QEMU

Usage:
  umbra run [OPTIONS] [-- CMD ARGS...]
  umbra build [--tee tdx-emu|snp-emu]   build the kernel image (with the
                                TEE emulator) and print its path
  umbra test [FILTER]    run all tests (unit tests and QEMU integration tests)
  umbra bench [OPTIONS]  benchmarks: Umbra against Debian's Linux kernel in
                         the same QEMU (options below; `umbra bench --smoke`)
  umbra help             show this text

Options of `umbra run`:
  --tee none|tdx-emu|snp-emu|tdx|sev-snp   confidential platform (default none).
                                           tdx-emu: a test kernel with the TDX
                                           emulator (TCG); tdx: a real TD (QEMU
                                           >= 10.1 tdx-guest on a TDX KVM host);
                                           snp-emu: the same test kernel with
                                           the SEV-SNP emulator (TCG, -cpu
                                           EPYC-v4); sev-snp: not supported yet
  --firmware seabios|ovmf                  firmware (default seabios)
  --accel auto|tcg|kvm                     accelerator (default auto: KVM when a
                                           probe boot shows it works, else TCG)
  --smp N                                  CPU count (default 1)
  --mem SIZE                               memory, e.g. 512M, 1G (default 512M)
  --append ARGS                            extra kernel command line
  --add HOST_PATH:GUEST_PATH               put a file or directory (recursively)
                                           into the initramfs; repeatable
  --disk IMAGE                             attach a raw disk image as a virtio-blk
                                           PCI drive (the guest's /dev/vda, then
                                           /dev/vdb, ...); writes go to the file;
                                           repeatable
  --hostile                                with --tee tdx-emu: the emulated host
                                           answers with random and boundary
                                           values (robustness tests)
  --userland busybox|none                  the guest's userland (default busybox):
                                           busybox puts the host's static busybox
                                           at /bin/busybox with links for all its
                                           applets (/bin/sh, ...), /tmp, /root,
                                           /etc/passwd and /etc/group; without a
                                           command the guest runs /bin/sh. none:
                                           only the --add files; without a command
                                           the kernel monitor (umbra> prompt)
  --busybox, --no-busybox                  short for --userland busybox / none
  --kernel IMAGE                           boot this image instead of building one
  --timeout SECS                           kill the VM after SECS seconds
  --print-cmd                              print the QEMU command and exit
  -- CMD ARGS...                           run CMD in the guest (a program, else
                                           a kernel-monitor word: exit N, ktest,
                                           ...); its exit status becomes umbra's.
                                           Without a command the console is
                                           interactive.

Exit status of `umbra run`: the guest command's status (0..=255); 125 kernel
panic; 124 timeout or VM ended without reporting a status; 2 usage error;
126 the front-end could not build or start the VM.
";

/// Confidential-computing platform requested with `--tee`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tee {
    None,
    TdxEmu,
    SnpEmu,
    Tdx,
    SevSnp,
}

impl Tee {
    pub const ALL: [Tee; 5] = [Tee::None, Tee::TdxEmu, Tee::SnpEmu, Tee::Tdx, Tee::SevSnp];

    pub fn name(self) -> &'static str {
        match self {
            Tee::None => "none",
            Tee::TdxEmu => "tdx-emu",
            Tee::SnpEmu => "snp-emu",
            Tee::Tdx => "tdx",
            Tee::SevSnp => "sev-snp",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    SeaBios,
    Ovmf,
}

impl Firmware {
    pub const ALL: [Firmware; 2] = [Firmware::SeaBios, Firmware::Ovmf];

    pub fn name(self) -> &'static str {
        match self {
            Firmware::SeaBios => "seabios",
            Firmware::Ovmf => "ovmf",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Auto,
    Tcg,
    Kvm,
}

impl Accel {
    pub const ALL: [Accel; 3] = [Accel::Auto, Accel::Tcg, Accel::Kvm];

    pub fn name(self) -> &'static str {
        match self {
            Accel::Auto => "auto",
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }
}

/// What the initramfs holds besides `--add` files (`--userland`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Userland {
    /// The host's static busybox with its applet links (the default).
    Busybox,
    /// Nothing: the kernel monitor unless a command or `/init` is given.
    None,
}

impl Userland {
    pub const ALL: [Userland; 2] = [Userland::Busybox, Userland::None];

    pub fn name(self) -> &'static str {
        match self {
            Userland::Busybox => "busybox",
            Userland::None => "none",
        }
    }
}

/// One `--add HOST_PATH:GUEST_PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddSpec {
    pub host: PathBuf,
    /// Normalised absolute guest path: starts with `/`, no trailing `/`
    /// (except the root itself), no empty, `.` or `..` components.
    pub guest: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    pub tee: Tee,
    pub firmware: Firmware,
    pub accel: Accel,
    pub smp: u32,
    pub mem: String,
    pub append: Vec<String>,
    pub adds: Vec<AddSpec>,
    /// `--disk` images, in order (vda, vdb, ...).
    pub disks: Vec<PathBuf>,
    pub kernel: Option<PathBuf>,
    pub timeout: Option<Duration>,
    pub print_cmd: bool,
    /// `--userland` (`--busybox`, `--no-busybox`).
    pub userland: Userland,
    /// `--hostile` (with `--tee tdx-emu`): the emulated host lies.
    pub hostile: bool,
    /// Guest command (after `--`); empty means interactive console.
    pub command: Vec<String>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            tee: Tee::None,
            firmware: Firmware::SeaBios,
            accel: Accel::Auto,
            smp: 1,
            mem: "512M".to_string(),
            append: Vec::new(),
            adds: Vec::new(),
            disks: Vec::new(),
            kernel: None,
            timeout: None,
            print_cmd: false,
            userland: Userland::Busybox,
            hostile: false,
            command: Vec::new(),
        }
    }
}

impl RunOptions {
    /// The kernel command line: `console=ttyS0` plus the `--append` values.
    pub fn cmdline(&self) -> String {
        let mut s = String::from("console=ttyS0");
        // The kernel's only way to learn that emulation is wanted.
        match self.tee {
            Tee::TdxEmu => s.push_str(if self.hostile { " umbra.tee_emu=tdx,hostile" } else { " umbra.tee_emu=tdx" }),
            Tee::SnpEmu => s.push_str(" umbra.tee_emu=snp"),
            _ => {}
        }
        for a in &self.append {
            if !a.is_empty() {
                s.push(' ');
                s.push_str(a);
            }
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Run(RunOptions),
    Build { tee: Tee },
    Test { filter: Option<String> },
    /// `umbra bench` and its arguments (parsed by `bench::parse`).
    Bench(Vec<String>),
    Help,
}

/// Parses the arguments after the program name. `Err` is a usage error
/// (exit status 2) with a one-line message.
pub fn parse(args: &[String]) -> Result<Command, String> {
    let Some((sub, rest)) = args.split_first() else {
        return Err("missing command (run, build, test, bench or help)".into());
    };
    match sub.as_str() {
        "help" | "-h" | "--help" => Ok(Command::Help),
        "run" => parse_run(rest),
        "bench" => Ok(Command::Bench(rest.to_vec())),
        "build" => match rest {
            [] => Ok(Command::Build { tee: Tee::None }),
            [a, ..] if a == "-h" || a == "--help" => Ok(Command::Help),
            [flag, value] if flag == "--tee" => parse_build_tee(value),
            [a] if a.starts_with("--tee=") => parse_build_tee(&a["--tee=".len()..]),
            [a, ..] => Err(format!("unexpected argument '{a}' to `umbra build`")),
        },
        "test" => match rest {
            [] => Ok(Command::Test { filter: None }),
            [a] if a == "-h" || a == "--help" => Ok(Command::Help),
            [f] if !f.starts_with('-') => Ok(Command::Test {
                filter: Some(f.clone()),
            }),
            [f] => Err(format!("unknown option '{f}' to `umbra test`")),
            _ => Err("`umbra test` takes at most one FILTER".into()),
        },
        other => Err(format!(
            "unknown command '{other}' (expected run, build, test, bench or help)"
        )),
    }
}

/// `umbra build --tee X`: only the image flavours that exist.
fn parse_build_tee(value: &str) -> Result<Command, String> {
    match pick("--tee", value, &Tee::ALL, |t| t.name())? {
        tee @ (Tee::None | Tee::TdxEmu | Tee::SnpEmu) => Ok(Command::Build { tee }),
        other => Err(format!(
            "`umbra build --tee {}`: only none, tdx-emu and snp-emu have their own image",
            other.name()
        )),
    }
}

fn parse_run(args: &[String]) -> Result<Command, String> {
    let mut o = RunOptions::default();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            o.command = args[i..].to_vec();
            if o.command.is_empty() {
                return Err("no command after `--`".into());
            }
            break;
        }
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        if matches!(name, "--print-cmd" | "--busybox" | "--no-busybox" | "--hostile") {
            if inline.is_some() {
                return Err(format!("{name} takes no value"));
            }
            match name {
                "--busybox" => o.userland = Userland::Busybox,
                "--no-busybox" => o.userland = Userland::None,
                "--hostile" => o.hostile = true,
                _ => o.print_cmd = true,
            }
            continue;
        }
        if !name.starts_with('-') {
            return Err(format!(
                "unexpected argument '{arg}' (put the guest command after `--`, e.g. `umbra run -- {arg}`)"
            ));
        }
        if !is_valued_option(name) {
            return Err(format!("unknown option '{name}'"));
        }
        let value = match inline {
            Some(v) => v,
            None => {
                let v = args.get(i).ok_or_else(|| format!("{name} needs a value"))?;
                i += 1;
                v.clone()
            }
        };
        match name {
            "--tee" => o.tee = pick(name, &value, &Tee::ALL, |t| t.name())?,
            "--firmware" => o.firmware = pick(name, &value, &Firmware::ALL, |f| f.name())?,
            "--accel" => o.accel = pick(name, &value, &Accel::ALL, |a| a.name())?,
            "--smp" => o.smp = parse_smp(&value)?,
            "--mem" => o.mem = parse_mem(&value)?,
            "--append" => o.append.push(value),
            "--add" => o.adds.push(parse_add(&value)?),
            "--disk" => {
                if value.is_empty() {
                    return Err("--disk needs an image path".into());
                }
                o.disks.push(PathBuf::from(value));
            }
            "--kernel" => {
                if value.is_empty() {
                    return Err("--kernel needs a path".into());
                }
                o.kernel = Some(PathBuf::from(value));
            }
            "--timeout" => o.timeout = Some(parse_timeout(&value)?),
            "--userland" => o.userland = pick(name, &value, &Userland::ALL, |u| u.name())?,
            _ => unreachable!("is_valued_option covers {name}"),
        }
    }
    if o.hostile && o.tee != Tee::TdxEmu {
        return Err("--hostile needs --tee tdx-emu (it makes the emulated host lie)".into());
    }
    Ok(Command::Run(o))
}

fn is_valued_option(name: &str) -> bool {
    matches!(
        name,
        "--tee"
            | "--firmware"
            | "--accel"
            | "--smp"
            | "--mem"
            | "--append"
            | "--add"
            | "--disk"
            | "--kernel"
            | "--timeout"
            | "--userland"
    )
}

fn pick<T: Copy>(
    opt: &str,
    value: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<T, String> {
    all.iter()
        .copied()
        .find(|&t| name(t) == value)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|&t| name(t)).collect();
            format!(
                "unknown {opt} value '{value}' (expected {})",
                names.join("|")
            )
        })
}

fn parse_smp(v: &str) -> Result<u32, String> {
    match v.parse::<u32>() {
        Ok(n) if (1..=1024).contains(&n) => Ok(n),
        _ => Err(format!(
            "--smp needs a CPU count between 1 and 1024, not '{v}'"
        )),
    }
}

/// Accepts what QEMU's `-m` accepts in its common form: a positive integer
/// with an optional K/M/G/T suffix (no suffix means MiB).
fn parse_mem(v: &str) -> Result<String, String> {
    let digits = v.trim_end_matches(|c: char| "kKmMgGtT".contains(c));
    let suffix_len = v.len() - digits.len();
    let ok = suffix_len <= 1
        && !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.parse::<u64>().is_ok_and(|n| n > 0);
    if ok {
        Ok(v.to_string())
    } else {
        Err(format!("--mem needs a size such as 512M or 1G, not '{v}'"))
    }
}

fn parse_timeout(v: &str) -> Result<Duration, String> {
    match v.parse::<u64>() {
        Ok(n) if n > 0 => Ok(Duration::from_secs(n)),
        _ => Err(format!(
            "--timeout needs a positive number of seconds, not '{v}'"
        )),
    }
}

/// `HOST_PATH:GUEST_PATH`, split at the last `:` (host paths may contain
/// colons, guest paths may not).
fn parse_add(v: &str) -> Result<AddSpec, String> {
    let Some((host, guest)) = v.rsplit_once(':') else {
        return Err(format!("--add needs HOST_PATH:GUEST_PATH, not '{v}'"));
    };
    if host.is_empty() {
        return Err(format!("--add '{v}': empty host path"));
    }
    let guest = normalize_guest_path(guest).map_err(|e| format!("--add '{v}': {e}"))?;
    Ok(AddSpec {
        host: PathBuf::from(host),
        guest,
    })
}

/// Normalises an absolute guest path (`//a/./b/` is refused for `.`,
/// collapsed for slashes). Returns `/` for the root.
pub fn normalize_guest_path(p: &str) -> Result<String, String> {
    if !p.starts_with('/') {
        return Err(format!("guest path '{p}' must be absolute"));
    }
    let mut out = String::new();
    for comp in p.split('/').filter(|c| !c.is_empty()) {
        if comp == "." || comp == ".." {
            return Err(format!("guest path '{p}' must not contain '.' or '..'"));
        }
        out.push('/');
        out.push_str(comp);
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    fn run(s: &[&str]) -> RunOptions {
        match parse(&args(s)).unwrap() {
            Command::Run(o) => o,
            other => panic!("expected run, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let o = run(&["run"]);
        assert_eq!(o, RunOptions::default());
        assert_eq!(o.tee, Tee::None);
        assert_eq!(o.firmware, Firmware::SeaBios);
        assert_eq!(o.accel, Accel::Auto);
        assert_eq!(o.smp, 1);
        assert_eq!(o.mem, "512M");
        assert_eq!(o.userland, Userland::Busybox);
        assert!(o.command.is_empty());
        assert_eq!(o.cmdline(), "console=ttyS0");
    }

    #[test]
    fn all_options() {
        let o = run(&[
            "run",
            "--tee",
            "none",
            "--firmware=ovmf",
            "--accel",
            "kvm",
            "--smp",
            "2",
            "--mem",
            "1G",
            "--append",
            "foo=bar",
            "--append=x y",
            "--add",
            "/tmp/a:/bin/a",
            "--add=/h:o:st:/x/",
            "--disk",
            "a.img",
            "--disk=/b,c.img",
            "--kernel",
            "img",
            "--timeout",
            "120",
            "--print-cmd",
            "--userland",
            "none",
            "--",
            "echo",
            "--tee",
            "hi",
        ]);
        assert_eq!(o.firmware, Firmware::Ovmf);
        assert_eq!(o.accel, Accel::Kvm);
        assert_eq!(o.smp, 2);
        assert_eq!(o.mem, "1G");
        assert_eq!(o.disks, vec![PathBuf::from("a.img"), PathBuf::from("/b,c.img")]);
        assert_eq!(o.cmdline(), "console=ttyS0 foo=bar x y");
        assert_eq!(
            o.adds,
            vec![
                AddSpec {
                    host: "/tmp/a".into(),
                    guest: "/bin/a".into()
                },
                AddSpec {
                    host: "/h:o:st".into(),
                    guest: "/x".into()
                },
            ]
        );
        assert_eq!(o.kernel, Some(PathBuf::from("img")));
        assert_eq!(o.timeout, Some(Duration::from_secs(120)));
        assert!(o.print_cmd);
        assert_eq!(o.userland, Userland::None);
        assert_eq!(o.command, args(&["echo", "--tee", "hi"]));
    }

    #[test]
    fn hostile_needs_the_tdx_emulator() {
        let o = run(&["run", "--tee", "tdx-emu", "--hostile"]);
        assert!(o.hostile);
        assert_eq!(o.cmdline(), "console=ttyS0 umbra.tee_emu=tdx,hostile");
        assert!(parse(&args(&["run", "--hostile"])).is_err());
        assert!(parse(&args(&["run", "--tee", "tdx-emu", "--hostile=1"])).is_err());
    }

    #[test]
    fn tee_values_parse_but_unknown_is_error() {
        assert_eq!(run(&["run", "--tee", "tdx-emu"]).tee, Tee::TdxEmu);
        assert_eq!(run(&["run", "--tee", "sev-snp"]).tee, Tee::SevSnp);
        let e = parse(&args(&["run", "--tee", "sgx"])).unwrap_err();
        assert!(e.contains("unknown --tee value 'sgx'"), "{e}");
        assert!(parse(&args(&["run", "--firmware", "uboot"])).is_err());
        assert!(parse(&args(&["run", "--accel", "hvf"])).is_err());
    }

    #[test]
    fn bad_values() {
        for bad in [
            &["run", "--smp", "0"][..],
            &["run", "--smp", "x"],
            &["run", "--mem", "12Q"],
            &["run", "--mem", "0"],
            &["run", "--mem", "M"],
            &["run", "--mem", "1GG"],
            &["run", "--timeout", "0"],
            &["run", "--timeout", "-3"],
            &["run", "--add", "nocolon"],
            &["run", "--add", "a:relative"],
            &["run", "--add", ":/x"],
            &["run", "--add", "a:/x/../y"],
            &["run", "--smp"],
            &["run", "--bogus"],
            &["run", "echo"],
            &["run", "--"],
            &["run", "--print-cmd=yes"],
            &["run", "--busybox=yes"],
            &["run", "--no-busybox=1"],
            &["run", "--userland", "alpine"],
            &["run", "--userland"],
            &["frobnicate"],
            &[],
            &["test", "a", "b"],
            &["build", "x"],
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn userland_forms_last_one_wins() {
        assert_eq!(run(&["run", "--userland=none"]).userland, Userland::None);
        assert_eq!(run(&["run", "--no-busybox"]).userland, Userland::None);
        assert_eq!(run(&["run", "--busybox"]).userland, Userland::Busybox);
        assert_eq!(run(&["run", "--no-busybox", "--userland", "busybox"]).userland, Userland::Busybox);
        assert_eq!(run(&["run", "--busybox", "--no-busybox"]).userland, Userland::None);
        // After `--` they belong to the guest command.
        let o = run(&["run", "--", "sh", "--no-busybox"]);
        assert_eq!(o.userland, Userland::Busybox);
        assert_eq!(o.command, args(&["sh", "--no-busybox"]));
    }

    #[test]
    fn subcommands() {
        assert_eq!(parse(&args(&["help"])).unwrap(), Command::Help);
        assert_eq!(parse(&args(&["--help"])).unwrap(), Command::Help);
        assert_eq!(parse(&args(&["run", "--help"])).unwrap(), Command::Help);
        assert_eq!(parse(&args(&["build"])).unwrap(), Command::Build { tee: Tee::None });
        assert_eq!(parse(&args(&["build", "--tee", "tdx-emu"])).unwrap(), Command::Build { tee: Tee::TdxEmu });
        assert_eq!(parse(&args(&["build", "--tee=tdx-emu"])).unwrap(), Command::Build { tee: Tee::TdxEmu });
        assert!(parse(&args(&["build", "--tee", "tdx"])).is_err());
        assert_eq!(
            parse(&args(&["test"])).unwrap(),
            Command::Test { filter: None }
        );
        assert_eq!(
            parse(&args(&["test", "ktest"])).unwrap(),
            Command::Test {
                filter: Some("ktest".into())
            }
        );
    }

    #[test]
    fn guest_paths() {
        assert_eq!(normalize_guest_path("/").unwrap(), "/");
        assert_eq!(normalize_guest_path("//a//b/").unwrap(), "/a/b");
        assert!(normalize_guest_path("a").is_err());
        assert!(normalize_guest_path("/a/./b").is_err());
    }

    #[test]
    fn mem_forms() {
        for ok in ["512", "512M", "1G", "1g", "2048k", "1T"] {
            assert_eq!(parse_mem(ok).unwrap(), ok);
        }
    }
}
