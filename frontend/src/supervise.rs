//! Runs a child process (QEMU) with an optional timeout, making sure it
//! never outlives the front-end: it gets SIGKILL if the front-end dies
//! (PR_SET_PDEATHSIG), SIGTERM then SIGKILL on timeout, and SIGTERM when the
//! front-end receives SIGINT, SIGTERM or SIGHUP.

use crate::status::QemuEnd;
use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

static SIGNALLED: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    SIGNALLED.store(sig, Ordering::SeqCst);
}

fn install_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: `on_signal` is async-signal-safe (one atomic store) and has
        // the signature `signal` expects.
        unsafe {
            libc::signal(
                sig,
                on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
            );
        }
    }
}

/// Spawns `cmd` and waits for it. `cmd` keeps whatever stdio it was given.
pub fn run(cmd: &mut Command, timeout: Option<Duration>) -> io::Result<QemuEnd> {
    install_handlers();
    // SAFETY: the closure runs in the child between fork and exec and only
    // calls prctl(2), which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let deadline = timeout.map(|t| (Instant::now() + t, t));
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(match (status.code(), status.signal()) {
                (Some(code), _) => QemuEnd::Exited(code),
                (None, Some(sig)) => QemuEnd::Signalled(sig),
                (None, None) => QemuEnd::Exited(-1),
            });
        }
        let sig = SIGNALLED.load(Ordering::SeqCst);
        if sig != 0 {
            stop(&mut child)?;
            return Ok(QemuEnd::Interrupted(sig));
        }
        if let Some((at, t)) = deadline {
            if Instant::now() >= at {
                stop(&mut child)?;
                return Ok(QemuEnd::TimedOut(t));
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// SIGTERM (QEMU then restores the terminal), SIGKILL after 3 s.
fn stop(child: &mut Child) -> io::Result<()> {
    // SAFETY: plain kill(2) on our own child's pid, which has not been
    // reaped yet (so the pid cannot have been reused).
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill()?;
    child.wait()?;
    Ok(())
}

/// True when file descriptor 0 is open (CI may run us without stdin; QEMU's
/// stdio chardev must then get /dev/null rather than a closed descriptor).
pub fn stdin_is_open() -> bool {
    // SAFETY: F_GETFD on a descriptor number only queries its flags.
    unsafe { libc::fcntl(0, libc::F_GETFD) != -1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_and_timeout() {
        let end = run(
            Command::new("sh").args(["-c", "exit 3"]),
            Some(Duration::from_secs(10)),
        )
        .unwrap();
        assert_eq!(end, QemuEnd::Exited(3));
        let t0 = Instant::now();
        let end = run(
            Command::new("sleep").arg("30"),
            Some(Duration::from_secs(1)),
        )
        .unwrap();
        assert_eq!(end, QemuEnd::TimedOut(Duration::from_secs(1)));
        assert!(t0.elapsed() < Duration::from_secs(5));
        let end = run(Command::new("sh").args(["-c", "kill -9 $$"]), None).unwrap();
        assert_eq!(end, QemuEnd::Signalled(9));
    }
}
