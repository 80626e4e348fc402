//! The [`ProcSource`] procfs reads: snapshots of the process table, the
//! frame allocator, the mount tree and the CPU, taken when a `/proc` file
//! is read.
//!
//! Owns: only the gathering; formats are [`crate::fs::procfs::format`]'s.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::maps::format_maps;
use super::process::{all_processes, current_process, find_process, last_pid, Process};
use crate::fs::mount::Mount;
use crate::fs::procfs::format::{cpuinfo, MountEntry, ProcessInfo, SystemInfo};
use crate::fs::procfs::{set_source, ProcSource};
use crate::fs::{MountFlags, Path};

struct KernelSource;

/// Make procfs read the live kernel (called once at boot).
pub fn install() {
    set_source(Arc::new(KernelSource));
}

fn info(process: &Arc<Process>) -> ProcessInfo {
    // `try_*`: the caller may be walking a path into its own /proc
    // entries while holding its own locks (chdir holds `fs`).
    let ids = process.ids.try_lock().map(|ids| *ids).unwrap_or_default();
    let (cwd, root) = match process.fs.try_read() {
        Some(fs) => (fs.display_path(fs.cwd()), fs.display_path(fs.root())),
        None => (Vec::new(), Vec::new()),
    };
    let is_current = current_process().is_some_and(|current| Arc::ptr_eq(&current, process));
    let state = if process.exit_status().is_some() {
        b'Z'
    } else if is_current {
        b'R'
    } else if process.job.try_lock().is_some_and(|job| job.is_stopped()) {
        b'T'
    } else {
        b'S'
    };
    let vsize = process.mm().map_or(0, |mm| mm.state().vmas.iter().map(|vma| vma.end - vma.start).sum());
    let (mut ignored, mut caught) = (0u64, 0u64);
    {
        let actions = process.sigactions.lock();
        for sig in 1..=64u32 {
            let action = actions.get(sig);
            if action.is_ignored() {
                ignored |= 1 << (sig - 1);
            } else if !action.is_default() {
                caught |= 1 << (sig - 1);
            }
        }
    }
    ProcessInfo {
        pid: process.pid(),
        ppid: process.ppid(),
        pgid: process.pgid(),
        sid: process.sid(),
        comm: process.comm(),
        state,
        uid: ids.uid,
        euid: ids.euid,
        gid: ids.gid,
        egid: ids.egid,
        umask: process.umask.load(core::sync::atomic::Ordering::Relaxed),
        cmdline: process.cmdline(),
        environ: process.environ(),
        exe: process.exe(),
        cwd,
        root,
        utime_ns: if is_current { framework::task::current().cpu_time_ns() } else { 0 },
        stime_ns: 0,
        start_ns: process.start_ns(),
        vsize,
        rss_pages: 0,
        threads: 1,
        sig_pending: process.pending_signals().0,
        sig_blocked: 0,
        sig_ignored: ignored,
        sig_caught: caught,
        fd_count: process.fds.try_lock().map_or(0, |fds| fds.fds().count() as u32),
    }
}

fn mount_entry(mount: &Arc<Mount>, target: Vec<u8>) -> MountEntry {
    let flags = mount.flags();
    let name = mount.fs().name();
    MountEntry {
        source: mount.source().to_vec(),
        target,
        fstype: name.as_bytes().to_vec(),
        readonly: flags.contains(MountFlags::RDONLY),
        nosuid: flags.contains(MountFlags::NOSUID),
        nodev: flags.contains(MountFlags::NODEV),
        noexec: flags.contains(MountFlags::NOEXEC),
        options: mount.fs().show_options(),
    }
}

impl ProcSource for KernelSource {
    fn current_pid(&self) -> Option<u32> {
        current_process().map(|p| p.pid())
    }

    fn pids(&self) -> Vec<u32> {
        let mut pids: Vec<u32> = all_processes().iter().map(|p| p.pid()).collect();
        pids.sort_unstable();
        pids
    }

    fn process(&self, pid: u32) -> Option<ProcessInfo> {
        find_process(pid).map(|p| info(&p))
    }

    fn exists(&self, pid: u32) -> bool {
        find_process(pid).is_some()
    }

    fn owner(&self, pid: u32) -> Option<(u32, u32)> {
        let process = find_process(pid)?;
        let ids = process.ids.try_lock().map(|ids| *ids).unwrap_or_default();
        Some((ids.euid, ids.egid))
    }

    fn maps(&self, pid: u32) -> Option<Vec<u8>> {
        let state = find_process(pid)?.mm()?.state();
        Some(format_maps(&state.vmas, &state.maps))
    }

    fn fds(&self, pid: u32) -> Vec<(u32, Vec<u8>)> {
        let Some(process) = find_process(pid) else {
            return Vec::new();
        };
        let files: Vec<(u32, Path)> = {
            let Some(table) = process.fds.try_lock() else {
                return Vec::new();
            };
            let fds: Vec<i32> = table.fds().collect();
            fds.into_iter().filter_map(|fd| Some((u32::try_from(fd).ok()?, table.get(fd).ok()?.path().clone()))).collect()
        };
        let Some(fs) = process.fs.try_read() else {
            return Vec::new();
        };
        files
            .into_iter()
            .map(|(fd, path)| {
                // Pipes show as `pipe:[N]`, their pipefs name.
                let shown = if path.mount().fs().name() == "pipefs" { path.dentry().name() } else { fs.display_path(&path) };
                (fd, shown)
            })
            .collect()
    }

    fn mounts(&self, pid: u32) -> Vec<MountEntry> {
        let Some(process) = find_process(pid) else {
            return Vec::new();
        };
        let Some(root) = process.fs.try_read().map(|fs| fs.root().clone()) else {
            return Vec::new();
        };
        let mut top = root.mount().clone();
        while let Some((parent, _)) = top.parent() {
            top = parent;
        }
        let mut mounts = Vec::new();
        top.collect_tree(&mut mounts);
        mounts
            .iter()
            .filter_map(|mount| {
                let (target, reached) = Path::root_of(mount).to_bytes(&root);
                reached.then(|| mount_entry(mount, target))
            })
            .collect()
    }

    fn system(&self) -> SystemInfo {
        let stats = framework::mm::stats();
        let page = framework::mm::PAGE_SIZE as u64;
        let uptime_ns = framework::arch::tsc::monotonic_ns();
        let cpus = framework::smp::cpu_count() as u32;
        let processes = all_processes();
        let running = processes.iter().filter(|p| p.exit_status().is_none()).count() as u32;
        let now = crate::fs::now().sec.max(0) as u64;
        SystemInfo {
            total_bytes: stats.managed_frames * page,
            free_bytes: stats.free_frames * page,
            uptime_ns,
            // No idle accounting yet: all time not known to be the
            // caller's is reported idle (a lower bound on busy time).
            idle_ns: (uptime_ns * u64::from(cpus.max(1))).saturating_sub(framework::task::current().cpu_time_ns()),
            cpus,
            boot_time: now.saturating_sub(uptime_ns / 1_000_000_000),
            forks: u64::from(last_pid()),
            running: running.min(cpus.max(1)),
            process_count: processes.len() as u32,
            last_pid: last_pid(),
        }
    }

    fn hostname(&self) -> Vec<u8> {
        crate::syscall::uname::hostname()
    }

    fn cpuinfo(&self) -> Vec<u8> {
        use framework::arch::cpuid::{leaf, raw};
        let vendor_regs = raw(0, 0);
        let mut vendor = Vec::new();
        for reg in [vendor_regs.ebx, vendor_regs.edx, vendor_regs.ecx] {
            vendor.extend_from_slice(&reg.to_le_bytes());
        }
        let mut brand = Vec::new();
        for index in 0x8000_0002u32..=0x8000_0004 {
            if let Some(r) = leaf(index, 0) {
                for reg in [r.eax, r.ebx, r.ecx, r.edx] {
                    brand.extend_from_slice(&reg.to_le_bytes());
                }
            }
        }
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).trim_matches(|c: char| c == '\0' || c == ' ').into();
        let vendor: String = text(&vendor);
        let brand: String = text(&brand);
        let basic = leaf(1, 0).unwrap_or_default();
        let ext = leaf(0x8000_0001, 0).unwrap_or_default();
        let edx_names: [(u32, &str); 25] = [
            (0, "fpu"), (1, "vme"), (2, "de"), (3, "pse"), (4, "tsc"), (5, "msr"), (6, "pae"), (7, "mce"),
            (8, "cx8"), (9, "apic"), (11, "sep"), (12, "mtrr"), (13, "pge"), (14, "mca"), (15, "cmov"),
            (16, "pat"), (17, "pse36"), (19, "clflush"), (23, "mmx"), (24, "fxsr"), (25, "sse"), (26, "sse2"),
            (27, "ss"), (28, "ht"), (29, "tm"),
        ];
        let ecx_names: [(u32, &str); 16] = [
            (0, "pni"), (1, "pclmulqdq"), (9, "ssse3"), (12, "fma"), (13, "cx16"), (19, "sse4_1"), (20, "sse4_2"),
            (21, "x2apic"), (22, "movbe"), (23, "popcnt"), (24, "tsc_deadline_timer"), (25, "aes"), (26, "xsave"),
            (28, "avx"), (29, "f16c"), (30, "rdrand"),
        ];
        let ext_edx: [(u32, &str); 4] = [(11, "syscall"), (20, "nx"), (27, "rdtscp"), (29, "lm")];
        let mut flags: Vec<&str> = Vec::new();
        flags.extend(edx_names.iter().filter(|(bit, _)| basic.edx & (1 << bit) != 0).map(|(_, n)| *n));
        flags.extend(ext_edx.iter().filter(|(bit, _)| ext.edx & (1 << bit) != 0).map(|(_, n)| *n));
        flags.extend(ecx_names.iter().filter(|(bit, _)| basic.ecx & (1 << bit) != 0).map(|(_, n)| *n));
        if basic.ecx & (1 << 31) != 0 {
            flags.push("hypervisor");
        }
        cpuinfo(framework::smp::cpu_count() as u32, &vendor, &brand, &flags.join(" "))
    }

    fn random16(&self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        let _ = crate::random::try_fill(&mut bytes);
        bytes
    }
}
