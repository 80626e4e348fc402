//! `umbra bench --smoke`: the benchmark front-end keeps working. One
//! repetition with reduced iteration counts; asserts that the table has
//! every row with an Umbra figure (and a Linux figure when Debian's kernel
//! could be fetched), that every benchmark program passed its own checks
//! (the front-end exits 1 otherwise) and that the raw JSON was written.
//! No timing is asserted: times on a loaded TCG host are noise.

use std::process::Command;

use umbra_tests::{test_accel, umbra_bin, Scratch};

/// Rows measured on both kernels.
const BOTH: &[&str] = &[
    "boot_to_init",
    "mem_used_after_boot",
    "null_syscall",
    "read_dev_zero_1b",
    "write_dev_null_1b",
    "read_dev_zero_4k",
    "write_dev_null_4k",
    "open_close",
    "stat",
    "fstat",
    "pipe_pingpong",
    "pipe_64k",
    "fork_exit",
    "fork_execve",
    "vfork_execve",
    "sig_install",
    "sig_deliver",
    "mmap_munmap_1m",
    "page_fault",
    "create_delete",
    "poll_100fd",
    "select_100fd",
    "shell_workload",
];

/// Rows measured on Umbra only (the `--tee tdx-emu` boot).
const UMBRA_ONLY: &[&str] = &["tdx_report (tdx-emu)", "tsm_quote (tdx-emu)"];

fn row<'a>(table: &'a str, name: &str) -> Option<Vec<&'a str>> {
    table.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?;
        // The name column is padded: the rest starts with spaces.
        rest.starts_with("  ").then(|| rest.split_whitespace().collect())
    })
}

fn is_number(s: &str) -> bool {
    s.parse::<f64>().is_ok_and(|v| v.is_finite() && v >= 0.0)
}

#[test]
fn smoke_table_has_every_row() {
    let scratch = Scratch::new("bench-smoke");
    let json = scratch.path().join("results.json");
    let out = Command::new(umbra_bin())
        .args(["bench", "--smoke", "--accel", &test_accel(), "--timeout", "900", "--out"])
        .arg(&json)
        .output()
        .expect("running umbra bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let context = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "umbra bench --smoke failed\n{context}");
    assert!(stdout.contains("Umbra vs Linux, TCG") || stdout.contains("Umbra vs Linux, KVM"), "{context}");
    let linux_ran = !stdout.contains("Linux: not run");
    for name in BOTH {
        let cells = row(&stdout, name).unwrap_or_else(|| panic!("no row {name}\n{context}"));
        // unit, Umbra median, Linux median, ratio of medians, ratio of
        // minimums (single repetition: no spread).
        assert_eq!(cells.len(), 5, "row {name}: {cells:?}\n{context}");
        assert!(is_number(cells[1]), "row {name}: no Umbra figure: {cells:?}\n{context}");
        if linux_ran {
            assert!(is_number(cells[2]), "row {name}: no Linux figure: {cells:?}\n{context}");
            assert!(is_number(cells[3]) && is_number(cells[4]), "row {name}: no ratio: {cells:?}\n{context}");
        }
    }
    for name in UMBRA_ONLY {
        let cells = row(&stdout, name).unwrap_or_else(|| panic!("no row {name}\n{context}"));
        assert!(is_number(cells[1]), "row {name}: no Umbra figure: {cells:?}\n{context}");
    }
    let raw = std::fs::read_to_string(&json).expect("the raw JSON results");
    assert!(raw.contains("\"accelerator\": \"TCG\"") || raw.contains("\"accelerator\": \"KVM\""), "{raw}");
    assert!(raw.contains("\"name\": \"null_syscall\""), "{raw}");
    assert!(raw.contains("\"failures\": []"), "{raw}");
    assert!(scratch.path().join("results.md").is_file());
}
