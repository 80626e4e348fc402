//! The text of procfs files, in Linux's formats (fs/proc/array.c,
//! meminfo.c, stat.c, uptime.c, loadavg.c, version.c, proc_namespace.c).
//!
//! Owns: pure formatters over the snapshots a [`super::ProcSource`]
//! gives; no kernel state is read here, so all of it is tested on the host.

use alloc::vec::Vec;
use core::fmt::Write;

/// `USER_HZ`: clock ticks per second in `/proc` times.
pub const USER_HZ: u64 = 100;

/// A process as `/proc/<pid>` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    pub pid: u32,
    pub ppid: u32,
    pub pgid: u32,
    pub sid: u32,
    /// `comm` (at most 15 bytes).
    pub comm: Vec<u8>,
    /// `R`, `S`, `Z`...
    pub state: u8,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
    pub umask: u32,
    /// argv strings, each NUL-terminated.
    pub cmdline: Vec<u8>,
    /// envp strings, each NUL-terminated (may be empty).
    pub environ: Vec<u8>,
    /// Path of the program (`exe` link).
    pub exe: Vec<u8>,
    pub cwd: Vec<u8>,
    pub root: Vec<u8>,
    /// CPU time, ns.
    pub utime_ns: u64,
    pub stime_ns: u64,
    /// Start time since boot, ns.
    pub start_ns: u64,
    /// Address-space size, bytes.
    pub vsize: u64,
    /// Resident pages.
    pub rss_pages: u64,
    pub threads: u32,
    pub sig_pending: u64,
    pub sig_blocked: u64,
    pub sig_ignored: u64,
    pub sig_caught: u64,
    pub fd_count: u32,
}

/// Machine-wide numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SystemInfo {
    pub total_bytes: u64,
    pub free_bytes: u64,
    pub uptime_ns: u64,
    /// Idle time summed over CPUs, ns.
    pub idle_ns: u64,
    pub cpus: u32,
    /// Wall-clock seconds at boot (`btime`).
    pub boot_time: u64,
    /// Processes created since boot.
    pub forks: u64,
    pub running: u32,
    pub process_count: u32,
    pub last_pid: u32,
}

/// One line of `/proc/mounts`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MountEntry {
    pub source: Vec<u8>,
    pub target: Vec<u8>,
    pub fstype: Vec<u8>,
    pub readonly: bool,
    pub nosuid: bool,
    pub nodev: bool,
    pub noexec: bool,
    /// The file system's own options, each after a comma (`,size=1024k`).
    pub options: Vec<u8>,
}

/// Adapts a byte vector to `fmt::Write`.
pub(crate) struct Out<'a>(pub &'a mut Vec<u8>);

impl Write for Out<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

macro_rules! put {
    ($out:expr, $($arg:tt)*) => {{
        // Writing to a Vec cannot fail.
        let _ = write!(Out($out), $($arg)*);
    }};
}

fn ticks(ns: u64) -> u64 {
    ns / (1_000_000_000 / USER_HZ)
}

fn state_name(state: u8) -> &'static str {
    match state {
        b'R' => "R (running)",
        b'S' => "S (sleeping)",
        b'D' => "D (disk sleep)",
        b'T' => "T (stopped)",
        b'Z' => "Z (zombie)",
        b'X' => "X (dead)",
        _ => "S (sleeping)",
    }
}

/// `/proc/<pid>/stat` (`do_task_stat`): 52 fields on one line.
pub fn stat(p: &ProcessInfo) -> Vec<u8> {
    let mut out = Vec::new();
    put!(&mut out, "{} (", p.pid);
    out.extend_from_slice(&p.comm);
    put!(
        &mut out,
        ") {} {} {} {} 0 -1 4194560 0 0 0 0 {} {} 0 0 20 0 {} 0 {} {} {} 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
        p.state as char,
        p.ppid,
        p.pgid,
        p.sid,
        ticks(p.utime_ns),
        ticks(p.stime_ns),
        p.threads.max(1),
        ticks(p.start_ns),
        p.vsize,
        p.rss_pages
    );
    out
}

/// `/proc/<pid>/statm`: size resident shared text lib data dt (pages).
pub fn statm(p: &ProcessInfo) -> Vec<u8> {
    let mut out = Vec::new();
    put!(&mut out, "{} {} 0 0 0 0 0\n", p.vsize / 4096, p.rss_pages);
    out
}

/// `/proc/<pid>/status` (`proc_pid_status`), the fields Umbra knows.
pub fn status(p: &ProcessInfo) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"Name:\t");
    for &b in &p.comm {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
    let kb = |pages: u64| pages * 4;
    put!(
        &mut out,
        "\nUmask:\t{:04o}\nState:\t{}\nTgid:\t{pid}\nNgid:\t0\nPid:\t{pid}\nPPid:\t{}\nTracerPid:\t0\n\
         Uid:\t{uid}\t{euid}\t{euid}\t{euid}\nGid:\t{gid}\t{egid}\t{egid}\t{egid}\nFDSize:\t{}\nGroups:\t\n\
         NStgid:\t{pid}\nNSpid:\t{pid}\nNSpgid:\t{}\nNSsid:\t{}\nKthread:\t0\n",
        p.umask,
        state_name(p.state),
        p.ppid,
        p.fd_count.max(64).next_power_of_two(),
        p.pgid,
        p.sid,
        pid = p.pid,
        uid = p.uid,
        euid = p.euid,
        gid = p.gid,
        egid = p.egid,
    );
    if p.vsize > 0 {
        put!(
            &mut out,
            "VmPeak:\t{:>8} kB\nVmSize:\t{:>8} kB\nVmLck:\t{:>8} kB\nVmPin:\t{:>8} kB\nVmHWM:\t{:>8} kB\nVmRSS:\t{:>8} kB\n",
            p.vsize / 1024,
            p.vsize / 1024,
            0,
            0,
            kb(p.rss_pages),
            kb(p.rss_pages)
        );
    }
    put!(
        &mut out,
        "Threads:\t{}\nSigQ:\t0/3841\nSigPnd:\t{:016x}\nShdPnd:\t0000000000000000\nSigBlk:\t{:016x}\nSigIgn:\t{:016x}\nSigCgt:\t{:016x}\n\
         CapInh:\t0000000000000000\nCapPrm:\t{cap:016x}\nCapEff:\t{cap:016x}\nCapBnd:\t000001ffffffffff\nCapAmb:\t0000000000000000\n\
         NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\nCpus_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n",
        p.threads.max(1),
        p.sig_pending,
        p.sig_blocked,
        p.sig_ignored,
        p.sig_caught,
        cap = if p.euid == 0 { 0x1ff_ffff_ffffu64 } else { 0 },
    );
    out
}

/// `/proc/meminfo` (`meminfo_proc_show`): `%-16s%8lu kB` per line.
pub fn meminfo(s: &SystemInfo) -> Vec<u8> {
    let total = s.total_bytes / 1024;
    let free = s.free_bytes / 1024;
    let rows: [(&str, u64); 24] = [
        ("MemTotal:", total),
        ("MemFree:", free),
        ("MemAvailable:", free),
        ("Buffers:", 0),
        ("Cached:", 0),
        ("SwapCached:", 0),
        ("Active:", 0),
        ("Inactive:", 0),
        ("Unevictable:", 0),
        ("Mlocked:", 0),
        ("SwapTotal:", 0),
        ("SwapFree:", 0),
        ("Dirty:", 0),
        ("Writeback:", 0),
        ("AnonPages:", 0),
        ("Mapped:", 0),
        ("Shmem:", 0),
        ("Slab:", 0),
        ("SReclaimable:", 0),
        ("SUnreclaim:", 0),
        ("KernelStack:", 0),
        ("PageTables:", 0),
        ("CommitLimit:", total / 2),
        ("Committed_AS:", total.saturating_sub(free)),
    ];
    let mut out = Vec::new();
    for (label, value) in rows {
        put!(&mut out, "{:<16}{:>8} kB\n", label, value);
    }
    put!(&mut out, "{:<16}{:>8} kB\n", "VmallocTotal:", 34359738367u64);
    put!(&mut out, "{:<16}{:>8} kB\n", "VmallocUsed:", 0);
    put!(&mut out, "{:<16}{:>8} kB\n", "VmallocChunk:", 0);
    put!(&mut out, "{:<16}{:>8} kB\n", "HugePages_Total:", 0);
    out
}

/// `/proc/uptime`: uptime and idle seconds with two decimals.
pub fn uptime(s: &SystemInfo) -> Vec<u8> {
    let mut out = Vec::new();
    let centis = |ns: u64| ns / 10_000_000;
    let (up, idle) = (centis(s.uptime_ns), centis(s.idle_ns));
    put!(&mut out, "{}.{:02} {}.{:02}\n", up / 100, up % 100, idle / 100, idle % 100);
    out
}

/// `/proc/loadavg` (load averages are not tracked: zeros).
pub fn loadavg(s: &SystemInfo) -> Vec<u8> {
    let mut out = Vec::new();
    put!(&mut out, "0.00 0.00 0.00 {}/{} {}\n", s.running.max(1), s.process_count, s.last_pid);
    out
}

/// `/proc/stat` (`show_stat`): cpu lines in `USER_HZ` ticks, then the
/// counters.
pub fn stat_all(s: &SystemInfo) -> Vec<u8> {
    let cpus = u64::from(s.cpus.max(1));
    let idle = ticks(s.idle_ns);
    let busy = ticks(s.uptime_ns).saturating_mul(cpus).saturating_sub(idle);
    let mut out = Vec::new();
    put!(&mut out, "cpu  {} 0 0 {} 0 0 0 0 0 0\n", busy, idle);
    for cpu in 0..cpus {
        put!(&mut out, "cpu{} {} 0 0 {} 0 0 0 0 0 0\n", cpu, busy / cpus, idle / cpus);
    }
    put!(
        &mut out,
        "intr 0\nctxt 0\nbtime {}\nprocesses {}\nprocs_running {}\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n",
        s.boot_time,
        s.forks,
        s.running.max(1)
    );
    out
}

/// `/proc/mounts`: `source target type options 0 0`, with spaces, tabs,
/// newlines and backslashes in names as octal escapes (`mangle`).
pub fn mounts(entries: &[MountEntry]) -> Vec<u8> {
    fn escaped(out: &mut Vec<u8>, bytes: &[u8]) {
        for &b in bytes {
            match b {
                b' ' | b'\t' | b'\n' | b'\\' => put!(out, "\\{:03o}", b),
                _ => out.push(b),
            }
        }
    }
    let mut out = Vec::new();
    for m in entries {
        escaped(&mut out, &m.source);
        out.push(b' ');
        escaped(&mut out, &m.target);
        out.push(b' ');
        escaped(&mut out, &m.fstype);
        out.extend_from_slice(if m.readonly { b" ro" } else { b" rw" });
        for (on, name) in [(m.nosuid, ",nosuid"), (m.nodev, ",nodev"), (m.noexec, ",noexec")] {
            if on {
                out.extend_from_slice(name.as_bytes());
            }
        }
        out.extend_from_slice(b",relatime");
        out.extend_from_slice(&m.options);
        out.extend_from_slice(b" 0 0\n");
    }
    out
}

/// `/proc/cpuinfo`: one block per CPU.
pub fn cpuinfo(cpus: u32, vendor: &str, model_name: &str, flags: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let cpus = cpus.max(1);
    for cpu in 0..cpus {
        put!(
            &mut out,
            "processor\t: {cpu}\nvendor_id\t: {vendor}\ncpu family\t: 6\nmodel\t\t: 0\nmodel name\t: {model_name}\nstepping\t: 0\n\
             physical id\t: 0\nsiblings\t: {cpus}\ncore id\t\t: {cpu}\ncpu cores\t: {cpus}\napicid\t\t: {cpu}\nfpu\t\t: yes\n\
             fpu_exception\t: yes\ncpuid level\t: 13\nwp\t\t: yes\nflags\t\t: {flags}\nbogomips\t: 4000.00\n\
             clflush size\t: 64\ncache_alignment\t: 64\naddress sizes\t: 48 bits physical, 48 bits virtual\npower management:\n\n"
        );
    }
    out
}

/// `/proc/filesystems`.
pub fn filesystems() -> Vec<u8> {
    let mut out = b"nodev\tsysfs\nnodev\ttmpfs\nnodev\tdevtmpfs\nnodev\tproc\nnodev\tramfs\n".to_vec();
    for name in crate::fs::fstype::registered_type_names() {
        out.extend_from_slice(b"nodev\t");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    out
}

/// A CPU list as sysfs prints it: `0` or `0-3`.
pub fn cpu_list(cpus: u32) -> Vec<u8> {
    let mut out = Vec::new();
    match cpus {
        0 | 1 => out.extend_from_slice(b"0\n"),
        n => put!(&mut out, "0-{}\n", n - 1),
    }
    out
}

/// A decimal number and a newline (sysctl files).
pub fn number_line(value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    put!(&mut out, "{}\n", value);
    out
}

/// A random UUID (version 4) from 16 random bytes, as `random/uuid`.
pub fn uuid(mut bytes: [u8; 16]) -> Vec<u8> {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = Vec::new();
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        put!(&mut out, "{:02x}", b);
    }
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).unwrap()
    }

    fn sample() -> ProcessInfo {
        ProcessInfo {
            pid: 42,
            ppid: 1,
            pgid: 42,
            sid: 1,
            comm: b"cat".to_vec(),
            state: b'R',
            umask: 0o022,
            utime_ns: 1_500_000_000,
            start_ns: 2_000_000_000,
            vsize: 8192 * 1024,
            rss_pages: 100,
            threads: 1,
            ..Default::default()
        }
    }

    #[test]
    fn stat_has_52_fields() {
        let line = text(stat(&sample()));
        assert!(line.starts_with("42 (cat) R 1 42 1 0 -1 "), "{line}");
        assert!(line.ends_with('\n'));
        assert_eq!(line.split_whitespace().count(), 52);
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(fields[13], "150", "utime in ticks");
        assert_eq!(fields[19], "1", "threads");
        assert_eq!(fields[21], "200", "start time in ticks");
        assert_eq!(fields[22], "8388608", "vsize");
        assert_eq!(fields[23], "100", "rss");
    }

    #[test]
    fn status_fields() {
        let s = text(status(&sample()));
        assert!(s.starts_with("Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t42\n"), "{s}");
        assert!(s.contains("\nPid:\t42\nPPid:\t1\n"));
        assert!(s.contains("\nVmRSS:\t     400 kB\n"));
        assert!(s.contains("\nThreads:\t1\n"));
    }

    #[test]
    fn meminfo_layout() {
        let m = text(meminfo(&SystemInfo { total_bytes: 512 << 20, free_bytes: 256 << 20, ..Default::default() }));
        assert!(m.starts_with("MemTotal:         524288 kB\nMemFree:          262144 kB\nMemAvailable:     262144 kB\n"), "{m}");
        assert!(m.lines().all(|l| l.ends_with(" kB") && l.len() >= 27));
    }

    #[test]
    fn uptime_loadavg_stat() {
        let s = SystemInfo { uptime_ns: 12_345_000_000, idle_ns: 5_060_000_000, cpus: 2, boot_time: 1000, forks: 7, process_count: 3, last_pid: 9, ..Default::default() };
        assert_eq!(text(uptime(&s)), "12.34 5.06\n");
        assert_eq!(text(loadavg(&s)), "0.00 0.00 0.00 1/3 9\n");
        let st = text(stat_all(&s));
        assert!(st.starts_with("cpu  "));
        assert!(st.contains("\ncpu0 ") && st.contains("\ncpu1 "));
        assert!(st.contains("\nbtime 1000\nprocesses 7\n"));
    }

    #[test]
    fn mounts_escape_and_options() {
        let e = MountEntry {
            source: b"proc".to_vec(),
            target: b"/my proc".to_vec(),
            fstype: b"proc".to_vec(),
            readonly: false,
            nosuid: true,
            nodev: true,
            noexec: true,
            options: Vec::new(),
        };
        assert_eq!(text(mounts(&[e.clone()])), "proc /my\\040proc proc rw,nosuid,nodev,noexec,relatime 0 0\n");
        let tmp = MountEntry { fstype: b"tmpfs".to_vec(), nosuid: false, options: b",size=1024k,mode=700".to_vec(), ..e };
        assert_eq!(text(mounts(&[tmp])), "proc /my\\040proc tmpfs rw,nodev,noexec,relatime,size=1024k,mode=700 0 0\n");
    }

    #[test]
    fn small_files() {
        assert_eq!(text(cpu_list(1)), "0\n");
        assert_eq!(text(cpu_list(4)), "0-3\n");
        assert_eq!(text(number_line(0)), "0\n");
        let u = text(uuid([0xff; 16]));
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff\n");
        let c = text(cpuinfo(2, "GenuineIntel", "QEMU", "fpu sse2"));
        assert_eq!(c.matches("processor\t: ").count(), 2);
        assert!(c.contains("flags\t\t: fpu sse2\n"));
        assert!(text(filesystems()).contains("nodev\tproc\n"));
    }
}
