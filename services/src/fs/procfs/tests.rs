use super::*;
use crate::error::Errno;
use crate::fs::dirent::Dirent64Writer;

struct Fake;

impl ProcSource for Fake {
    fn current_pid(&self) -> Option<u32> {
        Some(7)
    }
    fn pids(&self) -> Vec<u32> {
        vec![1, 7]
    }
    fn process(&self, pid: u32) -> Option<ProcessInfo> {
        [1, 7].contains(&pid).then(|| ProcessInfo {
            pid,
            ppid: if pid == 1 { 0 } else { 1 },
            comm: b"sh".to_vec(),
            state: b'S',
            euid: 1000,
            cmdline: b"sh\0-c\0x\0".to_vec(),
            exe: b"/bin/busybox".to_vec(),
            cwd: b"/".to_vec(),
            root: b"/".to_vec(),
            ..Default::default()
        })
    }
    fn exists(&self, pid: u32) -> bool {
        [1, 7].contains(&pid)
    }
    fn owner(&self, pid: u32) -> Option<(u32, u32)> {
        self.exists(pid).then_some((1000, 0))
    }
    fn maps(&self, _pid: u32) -> Option<Vec<u8>> {
        Some(b"00400000-00401000 r-xp 00000000 00:00 0 \n".to_vec())
    }
    fn fds(&self, _pid: u32) -> Vec<(u32, Vec<u8>)> {
        vec![(0, b"/dev/console".to_vec()), (1, b"/dev/console".to_vec()), (2, b"/dev/console".to_vec())]
    }
    fn mounts(&self, _pid: u32) -> Vec<MountEntry> {
        vec![MountEntry { source: b"proc".to_vec(), target: b"/proc".to_vec(), fstype: b"proc".to_vec(), readonly: false, nosuid: false, nodev: false, noexec: false, options: Vec::new() }]
    }
    fn system(&self) -> SystemInfo {
        SystemInfo { total_bytes: 1 << 29, free_bytes: 1 << 28, uptime_ns: 3_000_000_000, cpus: 2, ..Default::default() }
    }
    fn hostname(&self) -> Vec<u8> {
        b"umbra".to_vec()
    }
    fn cpuinfo(&self) -> Vec<u8> {
        format::cpuinfo(2, "x", "y", "fpu")
    }
    fn random16(&self) -> [u8; 16] {
        [0; 16]
    }
}

fn walk(fs: &Arc<ProcFs>, path: &str) -> Result<Arc<dyn Inode>> {
    let mut inode = fs.root();
    for name in path.split('/').filter(|n| !n.is_empty()) {
        inode = inode.lookup(name.as_bytes())?;
    }
    Ok(inode)
}

fn read(fs: &Arc<ProcFs>, path: &str) -> String {
    let inode = walk(fs, path).unwrap();
    let mut buf = vec![0u8; 8192];
    let n = inode.read_at(0, &mut buf).unwrap();
    String::from_utf8(buf[..n].to_vec()).unwrap()
}

fn names(inode: &Arc<dyn Inode>) -> Vec<String> {
    let mut buf = vec![0u8; 4096];
    let mut writer = Dirent64Writer::new(&mut buf);
    inode.readdir_at(0, &mut writer).unwrap();
    let len = writer.written();
    let mut out = Vec::new();
    let mut at = 0;
    while at < len {
        let reclen = u16::from_ne_bytes([buf[at + 16], buf[at + 17]]) as usize;
        let name = &buf[at + 19..at + reclen];
        let end = name.iter().position(|&b| b == 0).unwrap();
        out.push(String::from_utf8(name[..end].to_vec()).unwrap());
        at += reclen;
    }
    out
}

// One test touches the global source, so that tests do not race on it.
#[test]
fn proc_tree_from_a_source() {
    set_source(Arc::new(Fake));
    let proc = ProcFs::new_proc();
    assert_eq!(proc.name(), "proc");
    assert_eq!(proc.statfs().magic, PROC_SUPER_MAGIC);
    let root_names = names(&proc.root());
    for name in [".", "..", "meminfo", "self", "sys", "1", "7", "uptime", "mounts"] {
        assert!(root_names.iter().any(|n| n == name), "{name} in {root_names:?}");
    }
    assert_eq!(walk(&proc, "self").unwrap().read_link().unwrap(), b"7");
    assert_eq!(walk(&proc, "7/exe").unwrap().read_link().unwrap(), b"/bin/busybox");
    assert_eq!(walk(&proc, "7/fd/2").unwrap().read_link().unwrap(), b"/dev/console");
    assert_eq!(names(&walk(&proc, "7/fd").unwrap()), [".", "..", "0", "1", "2"]);
    assert_eq!(walk(&proc, "7/fd/3").err().map(|e| e.errno()), Some(Errno::ENOENT));
    assert_eq!(walk(&proc, "9").err().map(|e| e.errno()), Some(Errno::ENOENT));
    assert_eq!(walk(&proc, "7").unwrap().metadata().uid, 1000);
    assert!(read(&proc, "7/status").contains("\nPid:\t7\n"));
    assert!(read(&proc, "1/stat").starts_with("1 (sh) S 0 "));
    assert_eq!(read(&proc, "7/cmdline"), "sh\0-c\0x\0");
    assert_eq!(read(&proc, "7/comm"), "sh\n");
    assert!(read(&proc, "meminfo").starts_with("MemTotal:         524288 kB\n"));
    assert_eq!(read(&proc, "uptime"), "3.00 0.00\n");
    assert_eq!(read(&proc, "mounts"), "proc /proc proc rw,relatime 0 0\n");
    assert!(read(&proc, "version").starts_with("Linux version 6.12.0-umbra "));
    assert_eq!(read(&proc, "sys/kernel/hostname"), "umbra\n");
    assert_eq!(read(&proc, "sys/kernel/ostype"), "Linux\n");
    assert_eq!(read(&proc, "sys/vm/overcommit_memory"), "0\n");
    assert_eq!(read(&proc, "sys/kernel/random/uuid").len(), 37);
    let meminfo = walk(&proc, "meminfo").unwrap();
    let mut small = [0u8; 4];
    assert_eq!(meminfo.read_at(4, &mut small).unwrap(), 4);
    assert_eq!(&small, b"otal");
    assert_eq!(meminfo.read_at(1 << 40, &mut small).unwrap(), 0);
    assert_eq!(meminfo.write_at(0, b"x").err().map(|e| e.errno()), Some(Errno::EACCES));

    let sys = ProcFs::new_sysfs();
    assert_eq!(sys.name(), "sysfs");
    assert_eq!(read(&sys, "devices/system/cpu/online"), "0-1\n");
    assert_eq!(read(&sys, "devices/system/cpu/possible"), "0-1\n");
    assert_eq!(names(&walk(&sys, "kernel/config").unwrap()), [".", ".."]);
}
