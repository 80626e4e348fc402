//! `umbra-verify`: verify TDX quotes and SNP reports, compute reference
//! measurements, write the test roots. Exit status: 0 verified, 1 not
//! verified (the output says which check failed), 2 usage or I/O error.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use verifier::bytes::unhex;
use verifier::reference::{self, Reference};
use verifier::snp::SnpChain;
use verifier::{testgen, testkeys, verdict, Policy};

const USAGE: &str = "\
usage:
  umbra-verify tdx --quote FILE [--event-log FILE] [COMMON]
  umbra-verify snp --report FILE [--certs FILE] [COMMON]
      COMMON: [--nonce HEX] [--reference FILE] [--allow-test-roots]
              [--allow-debug] [--json]
      --certs: the SNP_GET_EXT_REPORT certificate table (configfs auxblob)
               or PEM/DER certificates, VCEK first.
  umbra-verify measure [--kernel ELF] [--cmdline TEXT | --cmdline-file FILE]
                       [--initramfs FILE] [--out FILE]
  umbra-verify test-roots --out DIR
  umbra-verify test-evidence tdx|snp --nonce HEX --out FILE [--certs-out FILE]
";

struct Args {
    rest: Vec<String>,
}

impl Args {
    fn flag(&mut self, name: &str) -> bool {
        let before = self.rest.len();
        self.rest.retain(|a| a != name);
        before != self.rest.len()
    }

    fn value(&mut self, name: &str) -> Result<Option<String>, String> {
        let Some(i) = self.rest.iter().position(|a| a == name) else {
            return Ok(None);
        };
        if i + 1 >= self.rest.len() {
            return Err(format!("{name} needs a value"));
        }
        let v = self.rest.remove(i + 1);
        self.rest.remove(i);
        Ok(Some(v))
    }

    fn file(&mut self, name: &str) -> Result<Option<Vec<u8>>, String> {
        match self.value(name)? {
            Some(path) => std::fs::read(&path).map(Some).map_err(|e| format!("{path}: {e}")),
            None => Ok(None),
        }
    }

    fn done(&self) -> Result<(), String> {
        match self.rest.first() {
            Some(extra) => Err(format!("unexpected argument {extra}")),
            None => Ok(()),
        }
    }
}

fn policy(args: &mut Args) -> Result<Policy, String> {
    let nonce = match args.value("--nonce")? {
        Some(h) => Some(unhex(&h).ok_or("--nonce: not hex")?),
        None => None,
    };
    let reference = match args.value("--reference")? {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
            Some(Reference::from_json(&text)?)
        }
        None => None,
    };
    Ok(Policy {
        allow_test_roots: args.flag("--allow-test-roots"),
        allow_debug: args.flag("--allow-debug"),
        nonce,
        reference,
        now: None,
    })
}

fn report(v: &verdict::Verdict, json: bool) -> ExitCode {
    if json {
        println!("{}", serde_json::to_string_pretty(&verdict::to_json(v)).unwrap_or_default());
    } else {
        print!("{}", verdict::to_text(v));
    }
    if v.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn write(path: &str, bytes: &[u8]) -> Result<(), String> {
    std::fs::write(path, bytes).map_err(|e| format!("{path}: {e}"))
}

fn run(command: &str, mut args: Args) -> Result<ExitCode, String> {
    match command {
        "tdx" => {
            let json = args.flag("--json");
            let quote = args.file("--quote")?.ok_or("tdx: --quote FILE is required")?;
            let log = args.file("--event-log")?;
            let p = policy(&mut args)?;
            args.done()?;
            Ok(report(&verifier::tdx::verify(&quote, log.as_deref(), &p), json))
        }
        "snp" => {
            let json = args.flag("--json");
            let raw = args.file("--report")?.ok_or("snp: --report FILE is required")?;
            let chain = match args.file("--certs")? {
                Some(bytes) => SnpChain::from_any(&bytes).map_err(|e| format!("--certs: {e}"))?,
                None => SnpChain::default(),
            };
            let p = policy(&mut args)?;
            args.done()?;
            Ok(report(&verifier::snp::verify(&raw, &chain, &p), json))
        }
        "measure" => {
            let kernel = args.file("--kernel")?;
            let cmdline = match (args.value("--cmdline")?, args.file("--cmdline-file")?) {
                (Some(_), Some(_)) => return Err("--cmdline and --cmdline-file exclude each other".into()),
                (Some(text), None) => Some(text.into_bytes()),
                (None, file) => file,
            };
            let initramfs = args.file("--initramfs")?;
            let out = args.value("--out")?;
            args.done()?;
            let r = reference::compute(kernel.as_deref(), cmdline.as_deref(), initramfs.as_deref())?;
            let text = serde_json::to_string_pretty(&r.to_json()).unwrap_or_default() + "\n";
            match out {
                Some(path) => write(&path, text.as_bytes())?,
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        "test-roots" => {
            let dir = args.value("--out")?.ok_or("test-roots: --out DIR is required")?;
            args.done()?;
            std::fs::create_dir_all(&dir).map_err(|e| format!("{dir}: {e}"))?;
            write(&format!("{dir}/tdx-pck-chain.pem"), testkeys::tdx_pck_chain_pem().as_bytes())?;
            write(&format!("{dir}/snp-vcek-ask-ark.pem"), testkeys::snp_chain_pem().as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        "test-evidence" => {
            let platform = if args.flag("tdx") {
                "tdx"
            } else if args.flag("snp") {
                "snp"
            } else {
                return Err("test-evidence: tdx or snp".into());
            };
            let nonce = unhex(&args.value("--nonce")?.unwrap_or_default()).filter(|n| n.len() <= 64).ok_or("--nonce: at most 64 bytes of hex")?;
            let out = args.value("--out")?.ok_or("test-evidence: --out FILE is required")?;
            let certs_out = args.value("--certs-out")?;
            args.done()?;
            let mut report_data = [0u8; 64];
            report_data[..nonce.len()].copy_from_slice(&nonce);
            if platform == "tdx" {
                write(&out, &testgen::tdx_quote(&testgen::td_body([0; 48], [[0; 48]; 4], report_data)))?;
            } else {
                write(&out, &testgen::snp_report(&testgen::SnpFields { report_data, ..Default::default() }))?;
                if let Some(path) = certs_out {
                    write(&path, &testgen::snp_cert_table())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command {other}")),
    }
}

fn main() -> ExitCode {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    }
    let command = argv.remove(0);
    match run(&command, Args { rest: argv }) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("umbra-verify: {e}");
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
