//! `umbra`: the host-side front-end of the Umbra kernel. It builds the
//! kernel image, packs an initramfs, runs the image in QEMU and turns the
//! guest's exit status into its own (protocol: see `status`).

mod bench;
mod bench_guest;
mod bench_profile;
mod bench_report;
mod busybox;
mod cli;
mod cpio;
mod initramfs;
mod kernel_build;
mod kvm;
mod paths;
mod qemu;
mod run_cmd;
mod session;
mod status;
mod supervise;
mod tdx_host;
mod tempdir;
mod test_cmd;

use status::{EXIT_SETUP, EXIT_USAGE};

fn main() {
    std::process::exit(real_main());
}

fn real_main() -> i32 {
    let mut args = Vec::new();
    for a in std::env::args_os().skip(1) {
        match a.into_string() {
            Ok(s) => args.push(s),
            Err(a) => {
                eprintln!("umbra: argument {a:?} is not valid UTF-8");
                return EXIT_USAGE;
            }
        }
    }
    match cli::parse(&args) {
        Ok(cli::Command::Help) => {
            print!("{}{}", cli::USAGE, bench::USAGE);
            0
        }
        Ok(cli::Command::Bench(args)) => match bench::parse(&args) {
            Ok(o) => bench::run(&o),
            Err(msg) => {
                eprintln!("umbra: {msg}");
                eprintln!("Try 'umbra help'.");
                EXIT_USAGE
            }
        },
        Ok(cli::Command::Run(o)) => run_cmd::run(&o),
        Ok(cli::Command::Build { tee }) => build(tee),
        Ok(cli::Command::Test { filter }) => test_cmd::run(filter.as_deref()),
        Err(msg) => {
            eprintln!("umbra: {msg}");
            eprintln!("Try 'umbra help'.");
            EXIT_USAGE
        }
    }
}

fn build(tee: cli::Tee) -> i32 {
    let flavor = kernel_build::Flavor::for_tee(tee);
    match paths::repo_root().and_then(|root| kernel_build::build_flavor(&root, false, flavor)) {
        Ok(image) => {
            println!("{}", image.display());
            0
        }
        Err(msg) => {
            eprintln!("umbra: {msg}");
            EXIT_SETUP
        }
    }
}
