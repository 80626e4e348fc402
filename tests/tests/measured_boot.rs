//! Measured boot under the TDX emulator (`--tee tdx-emu`): the guest's
//! CCEL event log (`/sys/firmware/acpi/tables/data/CCEL`, read with
//! busybox `od`) replays on the host — with the host verifier's parser
//! (verifier/src/eventlog.rs) — to exactly the RTMRs the guest's tsm-mr
//! files show (`/sys/devices/virtual/misc/tdx_guest/measurements/
//! rtmrN:sha384`, read from a fresh TDREPORT); the kernel's events carry
//! SHA-384 of the command line `umbra run` passed and of the initramfs
//! it built, in RTMR2 (MR index 3) as Linux's EFI stub logs them; and a
//! different `--append` gives the RTMR2 the host computes for it.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use umbra_tests::{Output, emulation_image, umbra_bin, umbra_run_with_kernel, workspace_root};
use verifier::eventlog::{self, EV_EVENT_TAG, EV_NO_ACTION, EV_SEPARATOR};
use verifier::reference::sha384;

const MEASUREMENTS: &str = "/sys/devices/virtual/misc/tdx_guest/measurements";

/// The guest's script: the log area, the table, the four RTMRs, each
/// after a marker line.
fn script() -> String {
    format!(
        "echo '== CCEL data'; od -A d -t x1 /sys/firmware/acpi/tables/data/CCEL; \
         echo '== CCEL table'; od -A d -t x1 /sys/firmware/acpi/tables/CCEL; \
         echo '== RTMRs'; for i in 0 1 2 3; do od -A n -v -t x1 {MEASUREMENTS}/rtmr$i:sha384; done; \
         echo '== end'"
    )
}

fn options(append: &str) -> Vec<String> {
    ["--busybox", "--tee", "tdx-emu", "--append", append].iter().map(|s| s.to_string()).collect()
}

/// The kernel command line `umbra run` gives for `options(append)`
/// (frontend/src/cli.rs `RunOptions::cmdline`).
fn cmdline(append: &str) -> String {
    format!("console=ttyS0 umbra.tee_emu=tdx {append}")
}

/// SHA-384 of the initramfs `umbra run` builds for `append` and our
/// script: `--print-cmd` keeps it in target/umbra/print-cmd/initrd.
fn initramfs_digest(append: &str) -> [u8; 48] {
    sha384(&initramfs(append))
}

fn initramfs(append: &str) -> Vec<u8> {
    static PRINT_CMD: Mutex<()> = Mutex::new(());
    let _guard = PRINT_CMD.lock().unwrap_or_else(|e| e.into_inner());
    let mut args = vec!["run".to_string(), "--kernel".into(), emulation_image().display().to_string(), "--print-cmd".into()];
    args.extend(options(append));
    args.extend(["--".into(), "sh".into(), "-c".into(), script()]);
    let out = Command::new(umbra_bin()).args(&args).stdin(Stdio::null()).output().expect("umbra run --print-cmd");
    assert!(out.status.success(), "umbra run --print-cmd: {}", String::from_utf8_lossy(&out.stderr));
    let command = String::from_utf8_lossy(&out.stdout).into_owned();
    let path = command
        .split_whitespace()
        .skip_while(|w| *w != "-initrd")
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target/umbra/print-cmd/initrd"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What the guest showed.
struct Evidence {
    log_area: Vec<u8>,
    table: Vec<u8>,
    rtmrs: [[u8; 48]; 4],
}

fn section<'a>(out: &'a Output, name: &str) -> Vec<&'a str> {
    let lines = out.stdout_lines();
    let start = lines.iter().position(|l| *l == format!("== {name}")).unwrap_or_else(|| panic!("no '== {name}' line: {out:?}"));
    lines[start + 1..].iter().take_while(|l| !l.starts_with("== ")).copied().filter(|l| !l.starts_with('[')).collect()
}

/// Decode `od -A d -t x1` output: "OFFSET hex..." lines, `*` for lines
/// repeating the previous one, and the total length alone at the end.
fn decode_od(lines: &[&str]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::new();
    let mut last: Vec<u8> = Vec::new();
    let mut repeating = false;
    for line in lines {
        let line = line.trim();
        if line == "*" {
            repeating = true;
            continue;
        }
        let mut words = line.split_whitespace();
        let offset: usize = words.next().and_then(|w| w.parse().ok()).unwrap_or_else(|| panic!("od line {line:?}"));
        if repeating {
            while out.len() < offset {
                out.extend_from_slice(&last);
            }
            repeating = false;
        }
        assert_eq!(out.len(), offset, "od offsets: {line:?}");
        let bytes: Vec<u8> = words.map(|w| u8::from_str_radix(w, 16).unwrap_or_else(|_| panic!("od byte {w:?}"))).collect();
        if !bytes.is_empty() {
            out.extend_from_slice(&bytes);
            last = bytes;
        }
    }
    out
}

fn boot(append: &str) -> Evidence {
    let out = umbra_run_with_kernel(&emulation_image())
        .accel("tcg")
        .timeout(300)
        .opts(options(append))
        .guest(&["sh", "-c", &script()]);
    out.assert_code(0);
    out.assert_stdout_line("platform: tdx");
    let hex: Vec<u8> = section(&out, "RTMRs")
        .iter()
        .flat_map(|l| l.split_whitespace())
        .map(|w| u8::from_str_radix(w, 16).unwrap_or_else(|_| panic!("RTMR byte {w:?}: {out:?}")))
        .collect();
    assert_eq!(hex.len(), 4 * 48, "{out:?}");
    let mut rtmrs = [[0u8; 48]; 4];
    for (i, chunk) in hex.chunks(48).enumerate() {
        rtmrs[i].copy_from_slice(chunk);
    }
    Evidence { log_area: decode_od(&section(&out, "CCEL data")), table: decode_od(&section(&out, "CCEL table")), rtmrs }
}

fn extend(old: &[u8; 48], digest: &[u8]) -> [u8; 48] {
    sha384(&[&old[..], digest].concat())
}

/// RTMR2 as the host computes it: the command line, then the initramfs.
fn expected_rtmr2(cmdline: &str, initramfs: &[u8; 48]) -> [u8; 48] {
    extend(&extend(&[0; 48], &sha384(cmdline.as_bytes())), initramfs)
}

#[test]
fn the_ccel_log_replays_to_the_rtmrs_of_the_emulated_td() {
    let append = "measured.boot=first";
    let initramfs_bytes = initramfs(append);
    let initramfs = sha384(&initramfs_bytes);
    let e = boot(append);

    // The ACPI table: "CCEL", 56 bytes, revision 1, TDX, LAML = the log
    // area's size, bytes summing to zero.
    assert_eq!(e.table.len(), 56);
    assert_eq!(&e.table[0..4], b"CCEL");
    assert_eq!(u32::from_le_bytes(e.table[4..8].try_into().unwrap()), 56);
    assert_eq!(e.table[8], 1);
    assert_eq!(e.table[36], 2, "CC type 2 = TDX");
    assert_eq!(e.table.iter().fold(0u8, |a, &b| a.wrapping_add(b)), 0, "ACPI checksum");
    assert_eq!(u64::from_le_bytes(e.table[40..48].try_into().unwrap()), e.log_area.len() as u64);
    assert_eq!(e.log_area.len(), 0x10000);
    assert_ne!(u64::from_le_bytes(e.table[48..56].try_into().unwrap()), 0, "LASA");

    // The verifier's parser reads it; replaying it gives the RTMRs.
    let log = eventlog::parse(&e.log_area).expect("the CCEL parses as a crypto-agile log");
    assert_eq!(log.algorithms, vec![(eventlog::ALG_SHA384, 48)]);
    let replayed = eventlog::replay_rtmrs(&log).expect("the log replays");
    assert_eq!(replayed, e.rtmrs, "replaying the CCEL gives the TDREPORT's RTMRs");

    // Firmware part first: RTMR0 and RTMR1 (MR index 1, 2), TDVF's
    // separators among them; then the kernel's two events in RTMR2.
    let events = &log.events;
    assert_eq!(events.len(), 8, "{events:?}");
    assert!(events[..6].iter().all(|ev| ev.mr_index == 1 || ev.mr_index == 2));
    assert!(events.iter().any(|ev| ev.mr_index == 1 && ev.event_type == EV_SEPARATOR && ev.data == [0; 4]));
    assert!(events.iter().all(|ev| ev.event_type != EV_NO_ACTION));
    assert_ne!(e.rtmrs[0], [0; 48]);
    assert_ne!(e.rtmrs[1], [0; 48]);
    assert_eq!(e.rtmrs[3], [0; 48]);

    let (cmd, initrd) = (&events[6], &events[7]);
    let cmdline = cmdline(append);
    assert_eq!((cmd.mr_index, cmd.event_type), (3, EV_EVENT_TAG));
    assert_eq!(cmd.digest(eventlog::ALG_SHA384), Some(&sha384(cmdline.as_bytes())[..]), "command line digest");
    assert_eq!(&cmd.data[..8], &[0xED, 0x22, 0x3B, 0x8F, 26, 0, 0, 0]);
    assert_eq!(&cmd.data[8..], b"LOADED_IMAGE::LoadOptions\0");
    assert_eq!((initrd.mr_index, initrd.event_type), (3, EV_EVENT_TAG));
    assert_eq!(initrd.digest(eventlog::ALG_SHA384), Some(&initramfs[..]), "initramfs digest");
    assert_eq!(&initrd.data[8..], b"Linux initrd\0");

    // The verifier's reference values (`umbra-verify measure --cmdline
    // --initramfs`) are (MR index, digest) pairs the log holds.
    let reference =
        verifier::reference::compute(None, Some(cmdline.as_bytes()), Some(&initramfs_bytes)).expect("reference");
    assert_eq!(reference.events.len(), 2);
    for expected in &reference.events {
        assert!(
            events.iter().any(|ev| ev.mr_index == expected.mr_index
                && ev.digest(eventlog::ALG_SHA384) == Some(&expected.digest[..])),
            "reference event {} not in the log",
            expected.description
        );
    }

    assert_eq!(e.rtmrs[2], expected_rtmr2(&cmdline, &initramfs));
}

#[test]
fn another_command_line_gives_the_rtmr2_the_host_computes() {
    let (a, b) = ("measured.boot=a", "measured.boot=b quiet");
    let (initramfs_a, initramfs_b) = (initramfs_digest(a), initramfs_digest(b));
    let (ea, eb) = (boot(a), boot(b));
    assert_eq!(ea.rtmrs[2], expected_rtmr2(&cmdline(a), &initramfs_a));
    assert_eq!(eb.rtmrs[2], expected_rtmr2(&cmdline(b), &initramfs_b));
    assert_ne!(ea.rtmrs[2], eb.rtmrs[2], "the command line is measured");
    // The firmware's part does not depend on the command line.
    assert_eq!((ea.rtmrs[0], ea.rtmrs[1]), (eb.rtmrs[0], eb.rtmrs[1]));
    for e in [&ea, &eb] {
        let log = eventlog::parse(&e.log_area).expect("parses");
        assert_eq!(eventlog::replay_rtmrs(&log).expect("replays"), e.rtmrs);
    }
}

#[test]
fn without_a_tee_there_is_no_ccel() {
    // UMBRA_TEST_TEE runs the whole suite in a TEE: nothing to check then.
    if umbra_tests::test_tee().is_some() {
        return;
    }
    let out = umbra_tests::umbra_run().opts(["--busybox"]).guest(&[
        "sh",
        "-c",
        "ls /sys/firmware/acpi/tables/data/CCEL; echo status $?",
    ]);
    out.assert_code(0);
    out.assert_stdout_line("status 1");
}
