//! The kernel monitor: a small command interpreter, the kernel's workload
//! when no user program is to run (see main.rs for the choice). It takes its command from the
//! initramfs file `/etc/umbra/argv` (NUL-separated arguments, written by
//! `umbra run -- CMD ARGS`), or reads lines from the console when there is
//! none. The command's status becomes the VM's exit status.
//!
//! Commands: `help`, `echo ARGS`, `exit [N]`, `ktest [--ignored] [FILTER]`,
//! `meminfo`, `initramfs`, `panic` (tests the panic path), `poweroff`.

use framework::ktest::{self, KtestOptions};
use framework::{print, println, KernelContext, RegionKind};
use services::initramfs;

const ARGV_PATH: &[u8] = b"etc/umbra/argv";
const MAX_ARGS: usize = 64;
const LINE_MAX: usize = 512;

/// What the monitor knows of the initramfs.
pub struct Initramfs {
    bytes: &'static [u8],
    files: usize,
    argv: Option<&'static [u8]>,
}

impl Initramfs {
    /// The raw archive.
    pub fn bytes(&self) -> &'static [u8] {
        self.bytes
    }

    /// The NUL-separated command from `/etc/umbra/argv`, if there is one.
    pub fn argv(&self) -> Option<&'static [u8]> {
        self.argv
    }

    pub fn load(bytes: Option<&'static [u8]>) -> Self {
        let bytes = bytes.unwrap_or(&[]);
        let mut files = 0;
        let mut argv = None;
        for entry in initramfs::read(bytes) {
            match entry {
                Ok(entry) => {
                    files += 1;
                    if entry.is_file() && entry.name == ARGV_PATH {
                        argv = Some(entry.data);
                    }
                }
                Err(error) => {
                    log::warn!("initramfs: {}; stopped reading there", error);
                    break;
                }
            }
        }
        println!("initramfs: {} files ({} bytes)", files, bytes.len());
        Self { bytes, files, argv }
    }
}

/// Run the command from the initramfs, or the interactive prompt.
pub fn run(context: &KernelContext, initramfs: &Initramfs) -> u8 {
    match initramfs.argv {
        Some(argv_bytes) => {
            let mut argv = [""; MAX_ARGS];
            let count = split_nul_args(argv_bytes, &mut argv);
            match execute(context, initramfs, &argv[..count]) {
                Outcome::Status(status) | Outcome::Exit(status) => status,
            }
        }
        None => interactive(context, initramfs),
    }
}

enum Outcome {
    /// The command finished with this status; the prompt goes on.
    Status(u8),
    /// Power off with this status.
    Exit(u8),
}

fn split_nul_args<'a>(bytes: &'a [u8], argv: &mut [&'a str; MAX_ARGS]) -> usize {
    let mut count = 0;
    for arg in bytes.split(|&b| b == 0) {
        if count == MAX_ARGS {
            log::warn!("monitor: more than {} arguments, rest ignored", MAX_ARGS);
            break;
        }
        match core::str::from_utf8(arg) {
            Ok(arg) => {
                argv[count] = arg;
                count += 1;
            }
            Err(_) => log::warn!("monitor: argument {} is not UTF-8, dropped", count),
        }
    }
    // The file ends with a NUL, which leaves one empty piece at the end.
    if count > 0 && argv[count - 1].is_empty() && bytes.last() == Some(&0) {
        count -= 1;
    }
    count
}

fn execute(context: &KernelContext, initramfs: &Initramfs, argv: &[&str]) -> Outcome {
    let Some((&command, args)) = argv.split_first() else {
        return Outcome::Status(0);
    };
    match command {
        "help" => {
            println!("commands: help, echo ARGS, exit [N], ktest [--ignored] [FILTER], meminfo, initramfs, panic, poweroff");
            Outcome::Status(0)
        }
        "echo" => {
            let mut first = true;
            for arg in args {
                if !first {
                    print!(" ");
                }
                print!("{}", arg);
                first = false;
            }
            println!();
            Outcome::Status(0)
        }
        "exit" => match args {
            [] => Outcome::Exit(0),
            [status] => match status.parse::<u8>() {
                Ok(status) => Outcome::Exit(status),
                Err(_) => {
                    println!("exit: {}: not a status in 0..=255", status);
                    Outcome::Status(2)
                }
            },
            _ => {
                println!("exit: too many arguments");
                Outcome::Status(2)
            }
        },
        "poweroff" => Outcome::Exit(0),
        "ktest" => {
            let mut options = KtestOptions::default();
            for arg in args {
                match *arg {
                    "--ignored" => options.include_ignored = true,
                    filter => options.filter = filter,
                }
            }
            ktest::run(options);
            Outcome::Status(0)
        }
        "meminfo" => {
            for region in context.boot.memory_map() {
                println!("{:#014x}-{:#014x} {:?}", region.range.start, region.range.end, region.kind);
            }
            println!("usable: {} KiB", context.boot.total(RegionKind::Usable) >> 10);
            Outcome::Status(0)
        }
        "initramfs" => {
            println!("{} files, {} bytes", initramfs.files, initramfs.bytes.len());
            for entry in initramfs::read(initramfs.bytes).flatten() {
                println!("{:06o} {:>8} {}", entry.mode, entry.data.len(), core::str::from_utf8(entry.name).unwrap_or("?"));
            }
            Outcome::Status(0)
        }
        "panic" => panic!("panic requested from the monitor"),
        other => {
            println!("{}: unknown command (try help)", other);
            Outcome::Status(127)
        }
    }
}

fn interactive(context: &KernelContext, initramfs: &Initramfs) -> u8 {
    println!("Umbra kernel monitor (no /init and no command). Type help.");
    let mut line = [0u8; LINE_MAX];
    loop {
        print!("umbra> ");
        let len = read_line(&mut line);
        let Ok(text) = core::str::from_utf8(&line[..len]) else {
            println!("input is not UTF-8");
            continue;
        };
        let mut argv = [""; MAX_ARGS];
        let mut count = 0;
        for word in text.split_ascii_whitespace().take(MAX_ARGS) {
            argv[count] = word;
            count += 1;
        }
        match execute(context, initramfs, &argv[..count]) {
            Outcome::Status(_) => {}
            Outcome::Exit(status) => return status,
        }
    }
}

/// Read a line with echo and backspace; returns its length.
fn read_line(line: &mut [u8; LINE_MAX]) -> usize {
    let mut len = 0;
    loop {
        match framework::console::read_byte() {
            b'\r' | b'\n' => {
                println!();
                return len;
            }
            0x7f | 0x08 => {
                if len > 0 {
                    len -= 1;
                    print!("\x08 \x08");
                }
            }
            byte @ 0x20..=0x7e if len < LINE_MAX => {
                line[len] = byte;
                len += 1;
                framework::console::write_raw(&[byte]);
            }
            _ => {}
        }
    }
}
