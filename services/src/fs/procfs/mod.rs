//! procfs ("proc") and a sysfs skeleton ("sysfs"): filesystems whose
//! files are generated on each read from live kernel state.
//!
//! Owns: the directory trees of `/proc` (`self`, `<pid>/{stat,statm,
//! status,cmdline,environ,comm,maps,mounts,fd/,exe,cwd,root}`, `meminfo`,
//! `cpuinfo`, `mounts`, `uptime`, `loadavg`, `version`, `stat`,
//! `filesystems`, `sys/kernel/{hostname,ostype,osrelease,random/uuid}`,
//! `sys/vm/overcommit_memory`) and of `/sys` (`devices/system/cpu/
//! {online,possible}`, `kernel/config`), as inodes that hold only a
//! [`Node`] name. The kernel state comes from a [`ProcSource`] the
//! process layer installs at boot ([`set_source`]); the texts come from
//! [`format`]. Files are read-only; their size is 0, as on Linux.
//! Drivers hang their own sysfs subtrees into the fixed directories with
//! [`attach_sysfs`].

pub mod format;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::any::Any;
use core::fmt::Write;

use self::format::{MountEntry, ProcessInfo, SystemInfo};
use super::clock::now;
use super::inode::{anonymous_device_id, DirentSink, FileSystem, Inode, StatFs};
use super::types::{DeviceId, InodeType, Metadata, SetAttr};
use crate::error::Result;
use crate::sync::RwLock;
use crate::{errno, return_errno_with_message};

/// Linux `PROC_SUPER_MAGIC`.
pub const PROC_SUPER_MAGIC: u64 = 0x9fa0;
/// Linux `SYSFS_MAGIC`.
pub const SYSFS_MAGIC: u64 = 0x6265_6572;

/// The kernel's release and version strings (as `uname` reports them).
pub const OS_RELEASE: &str = "6.12.0-umbra";
pub const OS_VERSION: &str = "#1 SMP PREEMPT Umbra";

/// Where procfs gets kernel state from.
pub trait ProcSource: Send + Sync {
    /// The pid of the calling process (`None` for a kernel task).
    fn current_pid(&self) -> Option<u32>;
    /// Every process, in ascending order.
    fn pids(&self) -> Vec<u32>;
    fn process(&self, pid: u32) -> Option<ProcessInfo>;
    /// Is `pid` in the table (cheap: takes no lock of the process, as a
    /// path walk may run while the caller holds its own).
    fn exists(&self, pid: u32) -> bool;
    /// The effective uid and gid of `pid` (owner of its `/proc` entries).
    fn owner(&self, pid: u32) -> Option<(u32, u32)>;
    /// `/proc/<pid>/maps` text (`None`: no address space).
    fn maps(&self, pid: u32) -> Option<Vec<u8>>;
    /// Open fds and the paths they show.
    fn fds(&self, pid: u32) -> Vec<(u32, Vec<u8>)>;
    /// The mounts as seen from `pid`'s root.
    fn mounts(&self, pid: u32) -> Vec<MountEntry>;
    fn system(&self) -> SystemInfo;
    fn hostname(&self) -> Vec<u8>;
    /// `/proc/cpuinfo` text.
    fn cpuinfo(&self) -> Vec<u8>;
    /// 16 random bytes (`random/uuid`).
    fn random16(&self) -> [u8; 16];
}

static SOURCE: RwLock<Option<Arc<dyn ProcSource>>> = RwLock::new(None);

/// Install the source of kernel state (once, at boot; tests may replace it).
pub fn set_source(source: Arc<dyn ProcSource>) {
    *SOURCE.write() = Some(source);
}

fn source() -> Result<Arc<dyn ProcSource>> {
    SOURCE.read().clone().ok_or(errno!(ENOENT, "procfs has no source of kernel state"))
}

/// Subtrees drivers hang into the fixed sysfs directories (e.g. the TDX
/// guest driver's `devices/virtual`): parent, name, the subtree's root.
static SYSFS_ATTACHED: RwLock<Vec<Attached>> = RwLock::new(Vec::new());

type Attached = (StaticDir, &'static str, Arc<dyn Inode>);

/// Show `inode` (a directory of the caller's making) as `name` in the
/// fixed sysfs directory `parent`, in every sysfs instance (replaces an
/// earlier attachment of the same name there).
pub fn attach_sysfs(parent: StaticDir, name: &'static str, inode: Arc<dyn Inode>) {
    let mut attached = SYSFS_ATTACHED.write();
    attached.retain(|(dir, existing, _)| !(*dir == parent && *existing == name));
    attached.push((parent, name, inode));
}

fn attached_to(node: Node) -> Vec<(&'static str, Arc<dyn Inode>)> {
    let Node::StaticDir(dir) = node else { return Vec::new() };
    SYSFS_ATTACHED.read().iter().filter(|(parent, ..)| *parent == dir).map(|(_, name, inode)| (*name, inode.clone())).collect()
}

/// What a procfs or sysfs inode stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    ProcRoot,
    SelfLink,
    Global(Global),
    /// A fixed directory of the `/proc/sys` or `/sys` trees.
    StaticDir(StaticDir),
    Pid(u32),
    PidFile(u32, PidFile),
    PidLink(u32, PidLink),
    FdDir(u32),
    FdLink(u32, u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Global {
    Meminfo,
    Cpuinfo,
    Mounts,
    Uptime,
    Loadavg,
    Version,
    Stat,
    Filesystems,
    Hostname,
    Ostype,
    Osrelease,
    Uuid,
    Overcommit,
    CpuOnline,
    CpuPossible,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaticDir {
    Sys,
    SysKernel,
    SysKernelRandom,
    SysVm,
    SysfsRoot,
    SysfsDevices,
    SysfsDevicesSystem,
    SysfsCpu,
    SysfsKernel,
    SysfsKernelConfig,
    SysfsFs,
    SysfsClass,
    SysfsBus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PidFile {
    Stat,
    Statm,
    Status,
    Cmdline,
    Environ,
    Comm,
    Maps,
    Mounts,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PidLink {
    Exe,
    Cwd,
    Root,
}

const PID_FILES: [(&str, PidFile); 8] = [
    ("cmdline", PidFile::Cmdline),
    ("comm", PidFile::Comm),
    ("environ", PidFile::Environ),
    ("maps", PidFile::Maps),
    ("mounts", PidFile::Mounts),
    ("stat", PidFile::Stat),
    ("statm", PidFile::Statm),
    ("status", PidFile::Status),
];
const PID_LINKS: [(&str, PidLink); 3] = [("cwd", PidLink::Cwd), ("exe", PidLink::Exe), ("root", PidLink::Root)];

fn static_children(dir: StaticDir) -> Vec<(&'static str, Node)> {
    use Global as G;
    use StaticDir as D;
    match dir {
        D::Sys => vec![("kernel", Node::StaticDir(D::SysKernel)), ("vm", Node::StaticDir(D::SysVm))],
        D::SysKernel => vec![
            ("hostname", Node::Global(G::Hostname)),
            ("osrelease", Node::Global(G::Osrelease)),
            ("ostype", Node::Global(G::Ostype)),
            ("random", Node::StaticDir(D::SysKernelRandom)),
        ],
        D::SysKernelRandom => vec![("uuid", Node::Global(G::Uuid))],
        D::SysVm => vec![("overcommit_memory", Node::Global(G::Overcommit))],
        D::SysfsRoot => vec![
            ("bus", Node::StaticDir(D::SysfsBus)),
            ("class", Node::StaticDir(D::SysfsClass)),
            ("devices", Node::StaticDir(D::SysfsDevices)),
            ("fs", Node::StaticDir(D::SysfsFs)),
            ("kernel", Node::StaticDir(D::SysfsKernel)),
        ],
        D::SysfsDevices => vec![("system", Node::StaticDir(D::SysfsDevicesSystem))],
        D::SysfsDevicesSystem => vec![("cpu", Node::StaticDir(D::SysfsCpu))],
        D::SysfsCpu => vec![("online", Node::Global(G::CpuOnline)), ("possible", Node::Global(G::CpuPossible))],
        D::SysfsKernel => vec![("config", Node::StaticDir(D::SysfsKernelConfig))],
        D::SysfsKernelConfig | D::SysfsFs | D::SysfsClass | D::SysfsBus => Vec::new(),
    }
}

const ROOT_FILES: [(&str, Global); 8] = [
    ("cpuinfo", Global::Cpuinfo),
    ("filesystems", Global::Filesystems),
    ("loadavg", Global::Loadavg),
    ("meminfo", Global::Meminfo),
    ("mounts", Global::Mounts),
    ("stat", Global::Stat),
    ("uptime", Global::Uptime),
    ("version", Global::Version),
];

fn parse_u32(name: &[u8]) -> Option<u32> {
    if name.is_empty() || name.len() > 10 || (name[0] == b'0' && name.len() > 1) {
        return None;
    }
    core::str::from_utf8(name).ok()?.parse().ok()
}

impl Node {
    fn kind(self) -> InodeType {
        match self {
            Node::ProcRoot | Node::StaticDir(_) | Node::Pid(_) | Node::FdDir(_) => InodeType::Dir,
            Node::SelfLink | Node::PidLink(..) | Node::FdLink(..) => InodeType::Symlink,
            Node::Global(_) | Node::PidFile(..) => InodeType::File,
        }
    }

    /// A stable inode number.
    fn ino(self) -> u64 {
        let small = |tag: u64, value: u64| (tag << 56) | value;
        match self {
            Node::ProcRoot => 1,
            Node::SelfLink => 2,
            Node::Global(g) => small(1, g as u64),
            Node::StaticDir(d) => small(2, d as u64),
            Node::Pid(pid) => small(3, u64::from(pid) << 8),
            Node::PidFile(pid, f) => small(3, (u64::from(pid) << 8) | (1 + f as u64)),
            Node::PidLink(pid, l) => small(3, (u64::from(pid) << 8) | (32 + l as u64)),
            Node::FdDir(pid) => small(3, (u64::from(pid) << 8) | 64),
            Node::FdLink(pid, fd) => small(4, (u64::from(pid) << 24) | u64::from(fd & 0xff_ffff)),
        }
    }

    fn pid(self) -> Option<u32> {
        match self {
            Node::Pid(pid) | Node::PidFile(pid, _) | Node::PidLink(pid, _) | Node::FdDir(pid) | Node::FdLink(pid, _) => Some(pid),
            _ => None,
        }
    }

    /// The entries of a directory node, in a stable order.
    fn children(self) -> Result<Vec<(Vec<u8>, Node)>> {
        let named = |list: Vec<(&str, Node)>| list.into_iter().map(|(name, node)| (name.as_bytes().to_vec(), node)).collect();
        match self {
            Node::ProcRoot => {
                let mut out: Vec<(Vec<u8>, Node)> = Vec::new();
                out.extend(ROOT_FILES.iter().map(|&(name, global)| (name.as_bytes().to_vec(), Node::Global(global))));
                out.push((b"self".to_vec(), Node::SelfLink));
                out.push((b"sys".to_vec(), Node::StaticDir(StaticDir::Sys)));
                if let Ok(source) = source() {
                    for pid in source.pids() {
                        let mut name = String::new();
                        let _ = write!(name, "{}", pid);
                        out.push((name.into_bytes(), Node::Pid(pid)));
                    }
                }
                Ok(out)
            }
            Node::StaticDir(dir) => Ok(named(static_children(dir))),
            Node::Pid(pid) => {
                let mut out: Vec<(&str, Node)> = vec![("fd", Node::FdDir(pid))];
                out.extend(PID_FILES.iter().map(|&(name, f)| (name, Node::PidFile(pid, f))));
                out.extend(PID_LINKS.iter().map(|&(name, l)| (name, Node::PidLink(pid, l))));
                Ok(named(out))
            }
            Node::FdDir(pid) => {
                let fds = source()?.fds(pid);
                Ok(fds
                    .into_iter()
                    .map(|(fd, _)| {
                        let mut name = String::new();
                        let _ = write!(name, "{}", fd);
                        (name.into_bytes(), Node::FdLink(pid, fd))
                    })
                    .collect())
            }
            _ => return_errno_with_message!(ENOTDIR, "not a directory"),
        }
    }

    fn lookup(self, name: &[u8]) -> Result<Node> {
        let node = match self {
            Node::ProcRoot => {
                if let Some(pid) = parse_u32(name) {
                    let exists = source().map(|s| s.exists(pid)).unwrap_or(false);
                    return if exists { Ok(Node::Pid(pid)) } else { Err(errno!(ENOENT, "no such process")) };
                }
                self.children()?.into_iter().find(|(n, _)| n == name).map(|(_, node)| node)
            }
            Node::FdDir(pid) => {
                let fd = parse_u32(name).ok_or(errno!(ENOENT, "not an fd"))?;
                source()?.fds(pid).into_iter().any(|(open, _)| open == fd).then_some(Node::FdLink(pid, fd))
            }
            _ => self.children()?.into_iter().find(|(n, _)| n == name).map(|(_, node)| node),
        };
        node.ok_or(errno!(ENOENT, "no such entry"))
    }

    fn process(pid: u32) -> Result<ProcessInfo> {
        source()?.process(pid).ok_or(errno!(ESRCH, "process is gone"))
    }

    /// The bytes of a file node, generated now.
    fn content(self) -> Result<Vec<u8>> {
        use Global as G;
        match self {
            Node::Global(global) => {
                let line = |text: &[u8]| {
                    let mut out = text.to_vec();
                    out.push(b'\n');
                    out
                };
                Ok(match global {
                    G::Meminfo => format::meminfo(&source()?.system()),
                    G::Cpuinfo => source()?.cpuinfo(),
                    G::Mounts => {
                        let source = source()?;
                        let pid = source.current_pid().unwrap_or(1);
                        format::mounts(&source.mounts(pid))
                    }
                    G::Uptime => format::uptime(&source()?.system()),
                    G::Loadavg => format::loadavg(&source()?.system()),
                    G::Version => {
                        let mut out = Vec::new();
                        let _ = writeln!(
                            format::Out(&mut out),
                            "Linux version {} (umbra@umbra) (rustc, rust-lld) {}",
                            OS_RELEASE,
                            OS_VERSION
                        );
                        out
                    }
                    G::Stat => format::stat_all(&source()?.system()),
                    G::Filesystems => format::filesystems(),
                    G::Hostname => line(&source()?.hostname()),
                    G::Ostype => line(b"Linux"),
                    G::Osrelease => line(OS_RELEASE.as_bytes()),
                    G::Uuid => format::uuid(source()?.random16()),
                    G::Overcommit => format::number_line(0),
                    G::CpuOnline | G::CpuPossible => format::cpu_list(source()?.system().cpus),
                })
            }
            Node::PidFile(pid, file) => {
                let info = Self::process(pid)?;
                Ok(match file {
                    PidFile::Stat => format::stat(&info),
                    PidFile::Statm => format::statm(&info),
                    PidFile::Status => format::status(&info),
                    PidFile::Cmdline => info.cmdline,
                    PidFile::Environ => info.environ,
                    PidFile::Comm => {
                        let mut out = info.comm;
                        out.push(b'\n');
                        out
                    }
                    PidFile::Maps => source()?.maps(pid).unwrap_or_default(),
                    PidFile::Mounts => format::mounts(&source()?.mounts(pid)),
                })
            }
            _ if self.kind().is_dir() => return_errno_with_message!(EISDIR, "read of a directory"),
            _ => return_errno_with_message!(EINVAL, "not a file"),
        }
    }

    fn link(self) -> Result<Vec<u8>> {
        match self {
            Node::SelfLink => {
                let pid = source()?.current_pid().ok_or(errno!(ENOENT, "no current process"))?;
                let mut out = Vec::new();
                let _ = write!(format::Out(&mut out), "{}", pid);
                Ok(out)
            }
            Node::PidLink(pid, link) => {
                let info = Self::process(pid)?;
                let target = match link {
                    PidLink::Exe => info.exe,
                    PidLink::Cwd => info.cwd,
                    PidLink::Root => info.root,
                };
                if target.is_empty() {
                    return_errno_with_message!(ENOENT, "no such link target");
                }
                Ok(target)
            }
            Node::FdLink(pid, fd) => source()?
                .fds(pid)
                .into_iter()
                .find(|(open, _)| *open == fd)
                .map(|(_, path)| path)
                .ok_or(errno!(ENOENT, "fd is closed")),
            _ => return_errno_with_message!(EINVAL, "not a symlink"),
        }
    }

    fn perm(self) -> u32 {
        match self {
            Node::PidFile(_, PidFile::Environ) => 0o400,
            Node::FdDir(_) => 0o500,
            _ if self.kind() == InodeType::Symlink => 0o777,
            _ if self.kind().is_dir() => 0o555,
            _ => 0o444,
        }
    }
}

/// One procfs/sysfs inode.
pub struct ProcInode {
    node: Node,
    dev: DeviceId,
}

impl ProcInode {
    pub fn node(&self) -> Node {
        self.node
    }
}

impl Inode for ProcInode {
    fn metadata(&self) -> Metadata {
        let (uid, gid) = self.node.pid().and_then(|pid| source().ok()?.owner(pid)).unwrap_or((0, 0));
        let time = now();
        Metadata {
            dev: self.dev,
            ino: self.node.ino(),
            kind: self.node.kind(),
            perm: self.node.perm(),
            nlink: if self.node.kind().is_dir() { 2 } else { 1 },
            uid,
            gid,
            rdev: DeviceId::NONE,
            size: 0,
            blksize: 1024,
            blocks: 0,
            atime: time,
            mtime: time,
            ctime: time,
            btime: time,
        }
    }

    fn ino(&self) -> u64 {
        self.node.ino()
    }

    fn kind(&self) -> InodeType {
        self.node.kind()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn set_attr(&self, _attr: &SetAttr) -> Result<()> {
        return_errno_with_message!(EPERM, "procfs attributes are fixed")
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<usize> {
        let content = self.node.content()?;
        let start = usize::try_from(offset).unwrap_or(usize::MAX).min(content.len());
        let n = buf.len().min(content.len() - start);
        buf[..n].copy_from_slice(&content[start..start + n]);
        Ok(n)
    }

    fn write_at(&self, _offset: u64, _buf: &[u8]) -> Result<usize> {
        if self.node.kind().is_dir() {
            return_errno_with_message!(EISDIR, "write to a directory");
        }
        return_errno_with_message!(EACCES, "procfs files are read-only")
    }

    fn lookup(&self, name: &[u8]) -> Result<Arc<dyn Inode>> {
        if let Some((_, inode)) = attached_to(self.node).into_iter().find(|(n, _)| n.as_bytes() == name) {
            return Ok(inode);
        }
        let node = self.node.lookup(name)?;
        Ok(Arc::new(ProcInode { node, dev: self.dev }))
    }

    fn readdir_at(&self, offset: u64, sink: &mut dyn DirentSink) -> Result<()> {
        let children = self.node.children()?;
        if offset == 0 && !sink.push(b".", self.node.ino(), InodeType::Dir, 1) {
            return Ok(());
        }
        if offset <= 1 && !sink.push(b"..", self.node.ino(), InodeType::Dir, 2) {
            return Ok(());
        }
        let mut entries: Vec<(Vec<u8>, u64, InodeType)> =
            children.iter().map(|(name, node)| (name.clone(), node.ino(), node.kind())).collect();
        entries.extend(attached_to(self.node).into_iter().map(|(name, inode)| (name.as_bytes().to_vec(), inode.ino(), inode.kind())));
        let skip = offset.saturating_sub(2) as usize;
        for (index, (name, ino, kind)) in entries.iter().enumerate().skip(skip) {
            if !sink.push(name, *ino, *kind, index as u64 + 3) {
                break;
            }
        }
        Ok(())
    }

    fn read_link(&self) -> Result<Vec<u8>> {
        self.node.link()
    }
}

/// A procfs or sysfs instance.
pub struct ProcFs {
    name: &'static str,
    magic: u64,
    root: Node,
    dev: DeviceId,
}

impl ProcFs {
    /// A new procfs ("proc").
    pub fn new_proc() -> Arc<ProcFs> {
        Arc::new(ProcFs { name: "proc", magic: PROC_SUPER_MAGIC, root: Node::ProcRoot, dev: anonymous_device_id() })
    }

    /// A new sysfs skeleton ("sysfs").
    pub fn new_sysfs() -> Arc<ProcFs> {
        Arc::new(ProcFs { name: "sysfs", magic: SYSFS_MAGIC, root: Node::StaticDir(StaticDir::SysfsRoot), dev: anonymous_device_id() })
    }
}

impl FileSystem for ProcFs {
    fn root(&self) -> Arc<dyn Inode> {
        Arc::new(ProcInode { node: self.root, dev: self.dev })
    }

    fn statfs(&self) -> StatFs {
        StatFs { magic: self.magic, block_size: 4096, name_max: 255, ..StatFs::default() }
    }

    fn name(&self) -> &'static str {
        self.name
    }

    fn dev(&self) -> DeviceId {
        self.dev
    }
}

#[cfg(test)]
mod tests;
