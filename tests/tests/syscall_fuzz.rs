//! The kernel survives random system calls: tests/programs/syscall_fuzz.c
//! as PID 1 under `--smp 2` forks 4 workers at a time that make raw
//! syscalls with random numbers and boundary/garbage arguments (see the
//! program's header for what it excludes and why), re-spawning workers
//! that die, then prints a summary and runs a follow-up program. Each
//! seed is one boot; a failure names the seed, and
//! `umbra run --smp 2 --add target/umbra-test-programs/syscall_fuzz:/bin/syscall_fuzz
//! -- /bin/syscall_fuzz SEED 4 LIVES 2000` replays it.
//!
//! Seeds: fixed, so the test is deterministic up to scheduling. Seed 115
//! found the mremap shrink panic (services/src/process/vma.rs).

use umbra_tests::{musl_program, umbra_run};

/// Worker lives per boot, each up to 2000 calls (most end earlier, by a
/// random exit or a signal): about 25k calls, 15-30 s of TCG per seed.
const LIVES: &str = "250";

fn fuzz(seed: u64) {
    let program = musl_program("syscall_fuzz");
    let seed = seed.to_string();
    let out = umbra_run()
        .timeout(300)
        .opts(["--smp", "2", "--add", &format!("{}:/bin/syscall_fuzz", program.display())])
        .guest(&["/bin/syscall_fuzz", &seed, "4", LIVES, "2000"]);
    assert!(
        !out.stdout.contains("UMBRA-PANIC") && !out.stdout.contains("kernel panic") && !out.stderr.contains("kernel panic"),
        "seed {seed}: the kernel panicked\n{out:?}"
    );
    let summary = out.line_starting("syscall_fuzz: summary: ");
    assert!(summary.contains(&format!("seed {seed}, {LIVES} lives")), "seed {seed}: {summary}\n{out:?}");
    let calls: u64 = summary
        .split(", ")
        .find_map(|part| part.strip_suffix(" calls"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("seed {seed}: no call count in {summary:?}"));
    assert!(calls >= 5000, "seed {seed}: only {calls} calls\n{out:?}");
    out.assert_stdout_line("syscall_fuzz: follow-up ok").assert_code(0);
}

#[test]
fn fuzz_seed_1() {
    fuzz(1);
}

#[test]
fn fuzz_seed_115() {
    fuzz(115);
}

#[test]
fn fuzz_seed_2026() {
    fuzz(2026);
}

/// Every syscall number with each argument at each boundary value in
/// turn (`syscall_fuzz --sweep`), then the follow-up program.
#[test]
fn sweep_of_every_number_with_boundary_values() {
    let program = musl_program("syscall_fuzz");
    let out = umbra_run()
        .timeout(300)
        .opts(["--smp", "2", "--add", &format!("{}:/bin/syscall_fuzz", program.display())])
        .guest(&["/bin/syscall_fuzz", "--sweep"]);
    assert!(!out.stdout.contains("kernel panic"), "the kernel panicked\n{out:?}");
    let done = out.line_starting("syscall_fuzz: sweep: ");
    assert!(done.ends_with("syscall numbers done"), "{done}\n{out:?}");
    out.assert_stdout_line("syscall_fuzz: follow-up ok").assert_code(0);
}
