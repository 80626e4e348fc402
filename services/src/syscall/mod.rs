//! The Linux x86-64 system-call table.
//!
//! Owns: turning a `syscall` instruction into a call of one `sys_*`
//! function (one file per family, Asterinas style) and its result into
//! `rax` (`-errno` for an [`Error`]); logging unknown numbers once, by
//! name. `ERESTARTSYS` (or `ERESTART`), `ERESTARTNOHAND` and
//! `ERESTART_RESTARTBLOCK` are internal: a syscall a signal interrupted;
//! the caller sees `EINTR` unless signal delivery restarts it
//! (`process::signal_restart`). Every user pointer goes through [`crate::uaccess`], so a bad
//! pointer is `EFAULT`, never a kernel fault.

mod arch_prctl;
mod clone;
mod cwd;
mod exec;
mod exit;
mod fallocate;
mod fd;
mod futex;
mod getrandom;
mod ids;
mod itimer;
mod mman;
mod mount;
mod namespace;
mod open;
pub(crate) mod personality;
mod pipe;
mod poll;
mod read_write;
mod rlimit;
mod sched;
mod signal;
mod stat;
mod syslog;
mod sysinfo;
mod time;
pub(crate) mod uname;
mod wait;

pub use signal::kill_group;

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use framework::user::UserContext;

use crate::error::{Errno, Error, Result};
use crate::fs::flags::AT_FDCWD;
use crate::fs::{OpenFile, Path};
use crate::process::signal_restart::RestartKind;
use crate::process::{Process, Thread};
use crate::syscall_numbers::{self as nr, name};

/// What a system call sees of its caller.
pub struct SyscallContext<'a> {
    pub thread: &'a Arc<Thread>,
    pub process: &'a Arc<Process>,
    /// The caller's registers (execve replaces them, fork copies them).
    pub user: &'a mut UserContext,
}

/// How a system call ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallReturn {
    /// Put this in `rax`.
    Return(isize),
    /// Leave the registers alone (execve set them; exit never returns).
    NoReturn,
}

pub type SyscallResult = Result<SyscallReturn>;

fn ok(value: impl TryInto<isize>) -> SyscallResult {
    Ok(SyscallReturn::Return(value.try_into().unwrap_or(isize::MAX)))
}

impl SyscallContext<'_> {
    /// The open file behind `fd` (`EBADF`).
    pub fn file(&self, fd: i32) -> Result<Arc<OpenFile>> {
        self.process.fds.lock().get(fd)
    }

    /// The directory an `*at` call starts from: `None` for `AT_FDCWD`.
    pub fn at_path(&self, dirfd: i32) -> Result<Option<Path>> {
        if dirfd == AT_FDCWD {
            return Ok(None);
        }
        Ok(Some(self.file(dirfd)?.path().clone()))
    }

    pub fn umask(&self) -> u32 {
        self.process.umask.load(Ordering::Relaxed)
    }
}

/// Handle the system call the thread just made.
pub fn handle(thread: &Arc<Thread>, user: &mut UserContext) {
    let number = user.syscall_number();
    let args = user.syscall_args();
    let process = thread.process().clone();
    let mut ctx = SyscallContext { thread, process: &process, user };
    log::trace!("pid {}: {}({:#x}, {:#x}, {:#x}, ...)", process.pid(), name(number).unwrap_or("?"), args[0], args[1], args[2]);
    thread.state.lock().restart = None;
    let result = dispatch(number, args, &mut ctx);
    log::trace!("pid {}: {} -> {:?}", process.pid(), name(number).unwrap_or("?"), result);
    match result {
        Ok(SyscallReturn::Return(value)) => ctx.user.set_syscall_return(value as u64),
        Ok(SyscallReturn::NoReturn) => {}
        Err(error) => match RestartKind::from_errno(error.errno()) {
            // Interrupted by a signal: EINTR unless the signal code
            // restarts it (see process::signal_restart).
            Some(kind) => {
                thread.state.lock().restart = Some((number, kind));
                ctx.user.set_syscall_return(Error::new(Errno::EINTR).to_syscall_return() as u64);
            }
            None => {
                log::debug!("pid {}: {}: {}", process.pid(), name(number).unwrap_or("?"), error);
                ctx.user.set_syscall_return(error.to_syscall_return() as u64);
            }
        },
    }
}

/// One bit per syscall number: already logged as unimplemented.
static LOGGED_UNKNOWN: [AtomicU64; nr::NR_SYSCALLS.div_ceil(64) + 1] =
    [const { AtomicU64::new(0) }; nr::NR_SYSCALLS.div_ceil(64) + 1];

fn unknown(number: u64) -> SyscallResult {
    let index = (number as usize).min(nr::NR_SYSCALLS);
    let bit = 1u64 << (index % 64);
    if LOGGED_UNKNOWN[index / 64].fetch_or(bit, Ordering::Relaxed) & bit == 0 {
        log::warn!("syscall {} ({}) is not implemented: ENOSYS", number, name(number).unwrap_or("unknown"));
    }
    Err(Error::with_message(crate::error::Errno::ENOSYS, "syscall not implemented"))
}

fn dispatch(number: u64, a: [u64; 6], ctx: &mut SyscallContext) -> SyscallResult {
    // Arguments are cast to the C types of the prototype: `int` fds and
    // flags take the low 32 bits, as the kernel's SYSCALL_DEFINE does.
    let fd = |i: usize| a[i] as i32;
    let int = |i: usize| a[i] as u32;
    match number {
        nr::SYS_READ => read_write::sys_read(fd(0), a[1], a[2], ctx),
        nr::SYS_WRITE => read_write::sys_write(fd(0), a[1], a[2], ctx),
        nr::SYS_OPEN => open::sys_openat(AT_FDCWD, a[0], int(1), int(2), ctx),
        nr::SYS_CLOSE => open::sys_close(fd(0), ctx),
        nr::SYS_STAT => stat::sys_newfstatat(AT_FDCWD, a[0], a[1], 0, ctx),
        nr::SYS_FSTAT => stat::sys_fstat(fd(0), a[1], ctx),
        nr::SYS_LSTAT => stat::sys_newfstatat(AT_FDCWD, a[0], a[1], crate::fs::flags::AT_SYMLINK_NOFOLLOW, ctx),
        nr::SYS_POLL => poll::sys_poll(a[0], a[1], a[2] as i32, ctx),
        nr::SYS_SELECT => poll::sys_select(fd(0), a[1], a[2], a[3], a[4], ctx),
        nr::SYS_LSEEK => read_write::sys_lseek(fd(0), a[1] as i64, int(2), ctx),
        nr::SYS_MMAP => mman::sys_mmap(a[0], a[1], int(2), int(3), fd(4), a[5], ctx),
        nr::SYS_MPROTECT => mman::sys_mprotect(a[0], a[1], int(2), ctx),
        nr::SYS_MUNMAP => mman::sys_munmap(a[0], a[1], ctx),
        nr::SYS_BRK => mman::sys_brk(a[0], ctx),
        nr::SYS_RT_SIGACTION => signal::sys_rt_sigaction(int(0), a[1], a[2], a[3], ctx),
        nr::SYS_RT_SIGRETURN => signal::sys_rt_sigreturn(ctx),
        nr::SYS_RT_SIGSUSPEND => signal::sys_rt_sigsuspend(a[0], a[1], ctx),
        nr::SYS_PAUSE => signal::sys_pause(ctx),
        nr::SYS_RT_SIGPROCMASK => signal::sys_rt_sigprocmask(int(0), a[1], a[2], a[3], ctx),
        nr::SYS_IOCTL => fd::sys_ioctl(fd(0), int(1), a[2], ctx),
        nr::SYS_PREAD64 => read_write::sys_pread64(fd(0), a[1], a[2], a[3] as i64, ctx),
        nr::SYS_PWRITE64 => read_write::sys_pwrite64(fd(0), a[1], a[2], a[3] as i64, ctx),
        nr::SYS_READV => read_write::sys_readv(fd(0), a[1], a[2], ctx),
        nr::SYS_WRITEV => read_write::sys_writev(fd(0), a[1], a[2], ctx),
        nr::SYS_ACCESS => namespace::sys_faccessat2(AT_FDCWD, a[0], int(1), 0, ctx),
        nr::SYS_PIPE => pipe::sys_pipe2(a[0], 0, ctx),
        nr::SYS_SCHED_YIELD => sched::sys_sched_yield(),
        nr::SYS_MREMAP => mman::sys_mremap(a[0], a[1], a[2], int(3), a[4], ctx),
        nr::SYS_MSYNC => ok(0),
        nr::SYS_MADVISE => mman::sys_madvise(a[0], a[1], int(2), ctx),
        nr::SYS_DUP => fd::sys_dup(fd(0), ctx),
        nr::SYS_DUP2 => fd::sys_dup2(fd(0), fd(1), ctx),
        nr::SYS_NANOSLEEP => time::sys_nanosleep(a[0], a[1], ctx),
        nr::SYS_GETITIMER => itimer::sys_getitimer(a[0] as i32, a[1], ctx),
        nr::SYS_ALARM => itimer::sys_alarm(int(0), ctx),
        nr::SYS_SETITIMER => itimer::sys_setitimer(a[0] as i32, a[1], a[2], ctx),
        nr::SYS_GETPID => ok(ctx.process.pid()),
        nr::SYS_SENDFILE => read_write::sys_sendfile(fd(0), fd(1), a[2], a[3], ctx),
        nr::SYS_CLONE => clone::sys_clone(a[0], a[1], a[2], a[3], a[4], ctx),
        nr::SYS_FORK => clone::sys_clone(u64::from(crate::process::signal::SIGCHLD), 0, 0, 0, 0, ctx),
        nr::SYS_VFORK => clone::sys_clone(
            clone::CLONE_VM | clone::CLONE_VFORK | u64::from(crate::process::signal::SIGCHLD),
            0,
            0,
            0,
            0,
            ctx,
        ),
        nr::SYS_EXECVE => exec::sys_execve(a[0], a[1], a[2], ctx),
        nr::SYS_EXIT => exit::sys_exit_group(a[0], ctx),
        nr::SYS_WAIT4 => wait::sys_wait4(a[0] as i32, a[1], int(2), a[3], ctx),
        nr::SYS_KILL => signal::sys_kill(a[0] as i32, int(1), ctx),
        nr::SYS_UNAME => uname::sys_uname(a[0], ctx),
        nr::SYS_PERSONALITY => personality::sys_personality(int(0), ctx),
        nr::SYS_SYSLOG => syslog::sys_syslog(a[0] as i32, a[1], a[2] as i32, ctx),
        nr::SYS_FCNTL => fd::sys_fcntl(fd(0), int(1), a[2], ctx),
        nr::SYS_FSYNC | nr::SYS_FDATASYNC => fd::sys_fsync(fd(0), ctx),
        // Everything is in memory: nothing to write back, nothing to lock
        // against (no other machine shares these files).
        nr::SYS_FLOCK | nr::SYS_SYNCFS => {
            ctx.file(fd(0))?;
            ok(0)
        }
        nr::SYS_SYNC => ok(0),
        nr::SYS_TRUNCATE => namespace::sys_truncate(a[0], a[1] as i64, ctx),
        nr::SYS_FALLOCATE => fallocate::sys_fallocate(fd(0), int(1), a[2] as i64, a[3] as i64, ctx),
        nr::SYS_FTRUNCATE => namespace::sys_ftruncate(fd(0), a[1] as i64, ctx),
        nr::SYS_GETDENTS64 => read_write::sys_getdents64(fd(0), a[1], a[2], ctx),
        nr::SYS_GETCWD => cwd::sys_getcwd(a[0], a[1], ctx),
        nr::SYS_CHDIR => cwd::sys_chdir(a[0], ctx),
        nr::SYS_FCHDIR => cwd::sys_fchdir(fd(0), ctx),
        nr::SYS_RENAME => namespace::sys_renameat2(AT_FDCWD, a[0], AT_FDCWD, a[1], 0, ctx),
        nr::SYS_MKDIR => namespace::sys_mkdirat(AT_FDCWD, a[0], int(1), ctx),
        nr::SYS_RMDIR => namespace::sys_unlinkat(AT_FDCWD, a[0], crate::fs::flags::AT_REMOVEDIR, ctx),
        nr::SYS_CREAT => open::sys_openat(AT_FDCWD, a[0], open::CREAT_FLAGS, int(1), ctx),
        nr::SYS_LINK => namespace::sys_linkat(AT_FDCWD, a[0], AT_FDCWD, a[1], 0, ctx),
        nr::SYS_UNLINK => namespace::sys_unlinkat(AT_FDCWD, a[0], 0, ctx),
        nr::SYS_SYMLINK => namespace::sys_symlinkat(a[0], AT_FDCWD, a[1], ctx),
        nr::SYS_READLINK => namespace::sys_readlinkat(AT_FDCWD, a[0], a[1], a[2], ctx),
        nr::SYS_CHMOD => namespace::sys_fchmodat(AT_FDCWD, a[0], int(1), ctx),
        nr::SYS_FCHMOD => namespace::sys_fchmod(fd(0), int(1), ctx),
        nr::SYS_CHOWN => namespace::sys_fchownat(AT_FDCWD, a[0], int(1), int(2), 0, ctx),
        nr::SYS_FCHOWN => namespace::sys_fchown(fd(0), int(1), int(2), ctx),
        nr::SYS_LCHOWN => {
            namespace::sys_fchownat(AT_FDCWD, a[0], int(1), int(2), crate::fs::flags::AT_SYMLINK_NOFOLLOW, ctx)
        }
        nr::SYS_UMASK => namespace::sys_umask(int(0), ctx),
        nr::SYS_GETTIMEOFDAY => time::sys_gettimeofday(a[0], a[1]),
        nr::SYS_GETRLIMIT => rlimit::sys_prlimit64(0, int(0), 0, a[1], ctx),
        nr::SYS_GETRUSAGE => sysinfo::sys_getrusage(a[0] as i32, a[1], ctx),
        nr::SYS_SYSINFO => sysinfo::sys_sysinfo(a[0]),
        nr::SYS_TIMES => sysinfo::sys_times(a[0], ctx),
        nr::SYS_GETUID => ids::sys_getuid(ctx),
        nr::SYS_GETGID => ids::sys_getgid(ctx),
        nr::SYS_SETUID => ids::sys_setresuid(int(0), int(0), u32::MAX, ctx),
        nr::SYS_SETGID => ids::sys_setresgid(int(0), int(0), u32::MAX, ctx),
        nr::SYS_GETEUID => ids::sys_geteuid(ctx),
        nr::SYS_GETEGID => ids::sys_getegid(ctx),
        nr::SYS_SETPGID => ids::sys_setpgid(int(0), int(1), ctx),
        nr::SYS_GETPPID => ok(ctx.process.ppid()),
        nr::SYS_GETPGRP => ok(ctx.process.pgid()),
        nr::SYS_SETSID => ids::sys_setsid(ctx),
        nr::SYS_SETREUID => ids::sys_setresuid(int(0), int(1), u32::MAX, ctx),
        nr::SYS_SETREGID => ids::sys_setresgid(int(0), int(1), u32::MAX, ctx),
        nr::SYS_GETGROUPS => ok(0),
        nr::SYS_SETGROUPS => ids::sys_setgroups(ctx),
        nr::SYS_SETRESUID => ids::sys_setresuid(int(0), int(1), int(2), ctx),
        nr::SYS_GETRESUID => ids::sys_getresuid(a[0], a[1], a[2], ctx),
        nr::SYS_SETRESGID => ids::sys_setresgid(int(0), int(1), int(2), ctx),
        nr::SYS_GETRESGID => ids::sys_getresgid(a[0], a[1], a[2], ctx),
        nr::SYS_GETPGID => ids::sys_getpgid(int(0), ctx),
        nr::SYS_SETFSUID | nr::SYS_SETFSGID => ok(0),
        nr::SYS_GETSID => ids::sys_getsid(int(0), ctx),
        nr::SYS_RT_SIGPENDING => signal::sys_rt_sigpending(a[0], a[1], ctx),
        nr::SYS_RT_SIGTIMEDWAIT => signal::sys_rt_sigtimedwait(a[0], a[1], a[2], a[3], ctx),
        nr::SYS_RT_SIGQUEUEINFO => signal::sys_rt_sigqueueinfo(a[0] as i32, None, int(1), a[2], ctx),
        nr::SYS_RT_TGSIGQUEUEINFO => signal::sys_rt_sigqueueinfo(a[0] as i32, Some(a[1] as i32), int(2), a[3], ctx),
        nr::SYS_SIGALTSTACK => signal::sys_sigaltstack(a[0], a[1], ctx),
        nr::SYS_UTIMENSAT => namespace::sys_utimensat(fd(0), a[1], a[2], int(3), ctx),
        nr::SYS_MKNOD => namespace::sys_mknodat(AT_FDCWD, a[0], int(1), a[2], ctx),
        nr::SYS_STATFS => stat::sys_statfs(a[0], a[1], ctx),
        nr::SYS_FSTATFS => stat::sys_fstatfs(fd(0), a[1], ctx),
        nr::SYS_GETPRIORITY => ok(20),
        nr::SYS_SETPRIORITY => ok(0),
        nr::SYS_PRCTL => arch_prctl::sys_prctl(int(0), a[1], ctx),
        nr::SYS_ARCH_PRCTL => arch_prctl::sys_arch_prctl(int(0), a[1], ctx),
        nr::SYS_SETRLIMIT => rlimit::sys_prlimit64(0, int(0), a[1], 0, ctx),
        nr::SYS_CHROOT => cwd::sys_chroot(a[0], ctx),
        nr::SYS_MOUNT => mount::sys_mount(a[0], a[1], a[2], a[3], a[4], ctx),
        nr::SYS_UMOUNT2 => mount::sys_umount2(a[0], int(1), ctx),
        nr::SYS_REBOOT => mount::sys_reboot(int(0), int(1), int(2), a[3], ctx),
        nr::SYS_SETHOSTNAME => uname::sys_sethostname(a[0], a[1], ctx),
        nr::SYS_GETTID => ok(ctx.thread.tid()),
        nr::SYS_TKILL => signal::sys_tgkill(-1, a[0] as i32, int(1), ctx),
        nr::SYS_TIME => time::sys_time(a[0]),
        nr::SYS_FUTEX => futex::sys_futex(a[0], int(1), int(2), a[3], ctx),
        nr::SYS_SCHED_GETAFFINITY => sched::sys_sched_getaffinity(a[1], a[2]),
        nr::SYS_SET_TID_ADDRESS => {
            ctx.thread.state.lock().clear_child_tid = a[0];
            ok(ctx.thread.tid())
        }
        nr::SYS_FADVISE64 => ok(0),
        nr::SYS_CLOCK_GETTIME => time::sys_clock_gettime(a[0] as i32, a[1]),
        nr::SYS_CLOCK_GETRES => time::sys_clock_getres(a[0] as i32, a[1]),
        nr::SYS_CLOCK_NANOSLEEP => time::sys_clock_nanosleep(a[0] as i32, int(1), a[2], a[3], ctx),
        nr::SYS_RESTART_SYSCALL => time::sys_restart_syscall(ctx),
        nr::SYS_WAITID => wait::sys_waitid(int(0), a[1] as i32, a[2], int(3), a[4], ctx),
        nr::SYS_EXIT_GROUP => exit::sys_exit_group(a[0], ctx),
        nr::SYS_TGKILL => signal::sys_tgkill(a[0] as i32, a[1] as i32, int(2), ctx),
        nr::SYS_OPENAT => open::sys_openat(fd(0), a[1], int(2), int(3), ctx),
        nr::SYS_MKDIRAT => namespace::sys_mkdirat(fd(0), a[1], int(2), ctx),
        nr::SYS_MKNODAT => namespace::sys_mknodat(fd(0), a[1], int(2), a[3], ctx),
        nr::SYS_FCHOWNAT => namespace::sys_fchownat(fd(0), a[1], int(2), int(3), int(4), ctx),
        nr::SYS_NEWFSTATAT => stat::sys_newfstatat(fd(0), a[1], a[2], int(3), ctx),
        nr::SYS_UNLINKAT => namespace::sys_unlinkat(fd(0), a[1], int(2), ctx),
        nr::SYS_RENAMEAT => namespace::sys_renameat2(fd(0), a[1], fd(2), a[3], 0, ctx),
        nr::SYS_LINKAT => namespace::sys_linkat(fd(0), a[1], fd(2), a[3], int(4), ctx),
        nr::SYS_SYMLINKAT => namespace::sys_symlinkat(a[0], fd(1), a[2], ctx),
        nr::SYS_READLINKAT => namespace::sys_readlinkat(fd(0), a[1], a[2], a[3], ctx),
        nr::SYS_FCHMODAT => namespace::sys_fchmodat(fd(0), a[1], int(2), ctx),
        nr::SYS_FACCESSAT => namespace::sys_faccessat2(fd(0), a[1], int(2), 0, ctx),
        nr::SYS_PPOLL => poll::sys_ppoll(a[0], a[1], a[2], a[3], a[4], ctx),
        nr::SYS_PSELECT6 => poll::sys_pselect6(fd(0), a[1], a[2], a[3], a[4], a[5], ctx),
        nr::SYS_SET_ROBUST_LIST => {
            if a[1] != 24 {
                return Err(crate::errno!(EINVAL, "robust list head of the wrong size"));
            }
            let mut state = ctx.thread.state.lock();
            state.robust_list = a[0];
            state.robust_list_len = a[1];
            ok(0)
        }
        nr::SYS_DUP3 => fd::sys_dup3(fd(0), fd(1), int(2), ctx),
        nr::SYS_PIPE2 => pipe::sys_pipe2(a[0], int(1), ctx),
        nr::SYS_PRLIMIT64 => rlimit::sys_prlimit64(int(0), int(1), a[2], a[3], ctx),
        nr::SYS_GETCPU => sched::sys_getcpu(a[0], a[1]),
        nr::SYS_RENAMEAT2 => namespace::sys_renameat2(fd(0), a[1], fd(2), a[3], int(4), ctx),
        nr::SYS_GETRANDOM => getrandom::sys_getrandom(a[0], a[1], int(2), ctx),
        nr::SYS_EXECVEAT => exec::sys_execveat(fd(0), a[1], a[2], a[3], int(4), ctx),
        nr::SYS_STATX => stat::sys_statx(fd(0), a[1], int(2), int(3), a[4], ctx),
        nr::SYS_FACCESSAT2 => namespace::sys_faccessat2(fd(0), a[1], int(2), int(3), ctx),
        // Optional kernel features libc probes for and copes without:
        // ENOSYS, not worth a log line.
        nr::SYS_RSEQ | nr::SYS_CLONE3 => Err(Error::with_message(crate::error::Errno::ENOSYS, "not supported (expected)")),
        _ => unknown(number),
    }
}
