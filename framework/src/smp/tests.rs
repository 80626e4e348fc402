//! In-kernel tests of SMP: APs schedule tasks, IPIs cross CPUs, and TLB
//! shootdown reaches a CPU that has the address space loaded. Each skips
//! (and says so) when only one CPU is online; the suite runs them with
//! --smp 2.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::ktest;
use crate::mm::{alloc_frame, Perms, VmSpace};
use crate::sync::SpinLock;
use crate::task;

fn skip_if_uniprocessor() -> bool {
    if super::cpu_count() < 2 {
        crate::println!("  skipped: one CPU online (run with --smp 2)");
        return true;
    }
    false
}

#[ktest]
fn tasks_run_on_every_cpu() {
    if skip_if_uniprocessor() {
        return;
    }
    let seen = Arc::new(SpinLock::new(Vec::new()));
    let tasks: Vec<_> = (0..super::cpu_count())
        .map(|cpu| {
            let seen = seen.clone();
            task::TaskOptions::new("test-smp").pin(cpu).spawn(move || {
                seen.lock().push(crate::cpu_local::this_cpu().index);
            })
        })
        .collect();
    for task in &tasks {
        task.join();
    }
    let mut seen = seen.lock().clone();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), super::cpu_count(), "CPUs that ran a task: {:?}", seen);
}

/// Two busy tasks on two CPUs make progress at the same time.
#[ktest]
fn busy_tasks_run_in_parallel() {
    if skip_if_uniprocessor() {
        return;
    }
    let both_running = Arc::new(AtomicUsize::new(0));
    let overlap = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..2)
        .map(|cpu| {
            let (running, overlap) = (both_running.clone(), overlap.clone());
            task::TaskOptions::new("test-parallel").pin(cpu).spawn(move || {
                running.fetch_add(1, Ordering::SeqCst);
                let deadline = crate::arch::tsc::monotonic_ns() + 2_000_000_000;
                while crate::arch::tsc::monotonic_ns() < deadline {
                    if running.load(Ordering::SeqCst) == 2 {
                        overlap.store(true, Ordering::SeqCst);
                        break;
                    }
                    core::hint::spin_loop();
                }
            })
        })
        .collect();
    for task in &tasks {
        task.join();
    }
    assert!(overlap.load(Ordering::SeqCst), "the two busy tasks never ran at the same time");
}

static IPI_SEEN_ON: AtomicU64 = AtomicU64::new(u64::MAX);

fn record_ipi(_frame: &crate::arch::trap::TrapFrame) {
    IPI_SEEN_ON.store(crate::cpu_local::this_cpu().index as u64, Ordering::SeqCst);
}

#[ktest]
fn ipi_runs_its_handler_on_the_target_cpu() {
    if skip_if_uniprocessor() {
        return;
    }
    let vector = crate::arch::irq::allocate(record_ipi).expect("a free vector");
    IPI_SEEN_ON.store(u64::MAX, Ordering::SeqCst);
    let target = crate::cpu_local::cpu(1).expect("CPU 1");
    crate::arch::apic::send_ipi(target.apic_id.load(Ordering::Relaxed) as u32, vector);
    let deadline = crate::arch::tsc::monotonic_ns() + 1_000_000_000;
    while IPI_SEEN_ON.load(Ordering::SeqCst) == u64::MAX && crate::arch::tsc::monotonic_ns() < deadline {
        core::hint::spin_loop();
    }
    crate::arch::irq::unregister(vector);
    assert_eq!(IPI_SEEN_ON.load(Ordering::SeqCst), 1, "handler did not run on CPU 1");
}

/// CPU 1 caches a user translation; CPU 0 remaps the page; CPU 1 must see
/// the new frame (it would read the old one from a stale TLB entry).
#[ktest]
fn tlb_shootdown_reaches_the_other_cpu() {
    if skip_if_uniprocessor() {
        return;
    }
    const ADDRESS: usize = 0x7000_0000;
    let space = Arc::new(VmSpace::new().expect("vm space"));
    let old = alloc_frame().expect("frame");
    old.write_bytes(0, &1u64.to_le_bytes()).expect("write");
    space.map(ADDRESS, old, Perms::READ | Perms::WRITE).expect("map");

    let step = Arc::new(AtomicUsize::new(0));
    let reads = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let reader = {
        let (space, step, reads) = (space.clone(), step.clone(), reads.clone());
        task::TaskOptions::new("test-tlb-reader").pin(1).spawn(move || {
            task::current().set_vm_space(Some(space));
            // Spin on CPU 1 (no switches: the TLB entry must survive).
            let _no_preempt = crate::sync::disable_preempt();
            reads[0].store(crate::user::read_val::<u64>(ADDRESS as u64).unwrap_or(0), Ordering::SeqCst);
            step.store(1, Ordering::SeqCst);
            while step.load(Ordering::SeqCst) != 2 {
                core::hint::spin_loop();
            }
            reads[1].store(crate::user::read_val::<u64>(ADDRESS as u64).unwrap_or(0), Ordering::SeqCst);
        })
    };
    while step.load(Ordering::SeqCst) != 1 {
        task::yield_now();
    }
    let new = alloc_frame().expect("frame");
    new.write_bytes(0, &2u64.to_le_bytes()).expect("write");
    space.unmap(ADDRESS..ADDRESS + 4096).expect("unmap");
    space.map(ADDRESS, new, Perms::READ | Perms::WRITE).expect("map");
    step.store(2, Ordering::SeqCst);
    reader.join();
    assert_eq!(reads[0].load(Ordering::SeqCst), 1, "first read");
    assert_eq!(reads[1].load(Ordering::SeqCst), 2, "CPU 1 still used the old translation");
}
