//! The serial console as a terminal: `/dev/console` (5:1), `/dev/ttyS0`
//! (4:64) and `/dev/tty` (5:0) all reach this one line for now.
//!
//! Output goes straight to the framework console (`\n` becomes `\r\n`
//! with `OPOST|ONLCR`, as a tty does). Input is polled: a reader drains
//! the UART into the line discipline and sleeps a few milliseconds while
//! nothing is ready (the UART has no interrupt-driven input yet).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};
use core::time::Duration;

use super::line_discipline::LineDiscipline;
use super::termios::*;
use crate::error::Result;
use crate::fs::devfs::{CONSOLE, TTY, TTY_S0};
use crate::fs::device::{register_char_device, Device, PollEvents};
use crate::process::process::is_pgrp_orphaned;
use crate::process::signal::SIGTTIN;
use crate::sync::Mutex;
use crate::{return_errno_with_message, uaccess};

const INPUT_POLL: Duration = Duration::from_millis(5);
/// How often the input poller drains the UART while nobody reads.
const BACKGROUND_POLL: Duration = Duration::from_millis(20);

static THE_CONSOLE: spin::Once<Arc<SerialConsole>> = spin::Once::new();
static INPUT_POLLER: spin::Once<()> = spin::Once::new();

/// Signal characters must act while no one reads the line (^C or ^Z
/// during a foreground command): once user space uses the console, a
/// kernel task drains the UART into the line discipline every
/// [`BACKGROUND_POLL`]. Not before: the kernel monitor reads the UART
/// itself when there is no user space.
fn start_input_poller() {
    INPUT_POLLER.call_once(|| {
        framework::task::spawn("tty-input", || loop {
            if let Some(console) = THE_CONSOLE.get() {
                console.pump();
            }
            crate::sync::sleep(BACKGROUND_POLL);
        });
    });
}

pub struct SerialConsole {
    ldisc: Mutex<LineDiscipline>,
    winsize: Mutex<WinSize>,
    /// Foreground process group (`TIOCSPGRP`); 0 until someone sets it.
    foreground: AtomicU32,
    /// The session the line is the controlling terminal of: the one that
    /// last set the foreground group or called `TIOCSCTTY` (0: none yet,
    /// no background checks).
    session: AtomicU32,
}

impl SerialConsole {
    fn new() -> Self {
        SerialConsole { ldisc: Mutex::new(LineDiscipline::new()), winsize: Mutex::new(WinSize::default()), foreground: AtomicU32::new(0), session: AtomicU32::new(0) }
    }

    /// Move waiting UART bytes into the line discipline.
    fn pump(&self) {
        let mut echo = Vec::new();
        let mut signals = Vec::new();
        {
            let mut ldisc = self.ldisc.lock();
            while let Some(byte) = framework::console::try_read_byte() {
                if let Some(sig) = ldisc.push_input(byte, &mut echo) {
                    signals.push(sig);
                }
            }
        }
        self.finish(&echo, &signals);
    }

    /// Echo and signals that editing produced.
    fn finish(&self, echo: &[u8], signals: &[u32]) {
        if !echo.is_empty() {
            framework::console::write_bytes(echo);
        }
        for &sig in signals {
            let group = self.foreground_group();
            if group != 0 {
                crate::syscall::kill_group(group, sig);
            }
        }
    }

    /// Linux's `tty_check_change` for a read: a process of the terminal's
    /// session outside its foreground group gets SIGTTIN (to its whole
    /// group; the read restarts once it is continued), or EIO when SIGTTIN
    /// is blocked or ignored or its group is orphaned.
    fn check_background_read(&self) -> Result<()> {
        let (foreground, session) = (self.foreground.load(Ordering::Acquire), self.session.load(Ordering::Acquire));
        if foreground == 0 || session == 0 {
            return Ok(());
        }
        let Some(thread) = crate::process::current_thread() else { return Ok(()) };
        let process = thread.process();
        if process.sid() != session || process.pgid() == foreground {
            return Ok(());
        }
        let blocked = thread.state.lock().sigmask.contains(SIGTTIN);
        if blocked || process.sigactions.lock().get(SIGTTIN).is_ignored() || is_pgrp_orphaned(process.pgid()) {
            return_errno_with_message!(EIO, "read from the terminal by a background process group");
        }
        crate::syscall::kill_group(process.pgid(), SIGTTIN);
        return_errno_with_message!(ERESTARTSYS, "background read: SIGTTIN")
    }

    /// Make the line the controlling terminal of the caller's session.
    fn attach_caller_session(&self) {
        if let Some(process) = crate::process::current_process() {
            self.session.store(process.sid(), Ordering::Release);
        }
    }

    fn foreground_group(&self) -> u32 {
        match self.foreground.load(Ordering::Acquire) {
            0 => crate::process::find_process(1).map_or(0, |init| init.pgid()),
            group => group,
        }
    }
}

impl Device for SerialConsole {
    fn read(&self, _offset: u64, buf: &mut [u8], nonblocking: bool) -> Result<usize> {
        start_input_poller();
        self.check_background_read()?;
        loop {
            self.pump();
            let (mut echo, mut signals) = (Vec::new(), Vec::new());
            let got = self.ldisc.lock().read_input(buf, &mut echo, &mut signals);
            self.finish(&echo, &signals);
            if let Some(n) = got {
                return Ok(n);
            }
            if nonblocking {
                return_errno_with_message!(EAGAIN, "no console input ready");
            }
            if crate::process::current_thread().is_some_and(|t| t.has_pending_work()) {
                return_errno_with_message!(ERESTART, "console read interrupted by a signal");
            }
            crate::sync::sleep(INPUT_POLL);
        }
    }

    fn write(&self, _offset: u64, buf: &[u8], _nonblocking: bool) -> Result<usize> {
        let oflag = self.ldisc.lock().termios.oflag;
        if oflag & OPOST != 0 && oflag & ONLCR != 0 {
            framework::console::write_bytes(buf);
        } else {
            framework::console::write_raw(buf);
        }
        Ok(buf.len())
    }

    fn ioctl(&self, cmd: u32, arg: u64) -> Result<i64> {
        start_input_poller();
        match cmd {
            TCGETS => {
                let termios = self.ldisc.lock().termios;
                uaccess::write_bytes(arg, &termios.to_bytes())?;
            }
            TCSETS | TCSETSW | TCSETSF => {
                let termios = Termios::from_bytes(&uaccess::read_array::<TERMIOS_SIZE>(arg)?);
                let mut ldisc = self.ldisc.lock();
                if cmd == TCSETSF {
                    ldisc.flush_input();
                }
                ldisc.termios = termios;
            }
            TIOCGWINSZ => uaccess::write_bytes(arg, &self.winsize.lock().to_bytes())?,
            TIOCSWINSZ => *self.winsize.lock() = WinSize::from_bytes(&uaccess::read_array::<WINSIZE_SIZE>(arg)?),
            TIOCGPGRP => uaccess::write_u32(arg, self.foreground_group())?,
            TIOCSPGRP => {
                let group = uaccess::read_u32(arg)?;
                if group as i32 <= 0 {
                    return_errno_with_message!(EINVAL, "TIOCSPGRP: bad process group");
                }
                self.foreground.store(group, Ordering::Release);
                self.attach_caller_session();
            }
            TIOCGSID => uaccess::write_u32(arg, crate::process::find_process(1).map_or(1, |init| init.sid()))?,
            FIONREAD => {
                self.pump();
                let available = self.ldisc.lock().available() as u32;
                uaccess::write_u32(arg, available)?;
            }
            TIOCOUTQ => uaccess::write_u32(arg, 0)?,
            TIOCSCTTY => self.attach_caller_session(),
            TIOCNOTTY => {}
            _ => return_errno_with_message!(ENOTTY, "unsupported terminal ioctl"),
        }
        Ok(0)
    }

    fn poll(&self, interest: PollEvents) -> PollEvents {
        self.pump();
        let mut ready = PollEvents::OUT.union(PollEvents::WRNORM);
        if self.ldisc.lock().has_input() {
            ready = ready.union(PollEvents::IN).union(PollEvents::RDNORM);
        }
        ready.intersection(interest)
    }

    fn is_seekable(&self) -> bool {
        false
    }
}

/// Register the console as 5:0, 5:1 and 4:64.
pub fn register() {
    let console = THE_CONSOLE.call_once(|| Arc::new(SerialConsole::new())).clone();
    let device: Arc<dyn Device> = console;
    for id in [TTY, CONSOLE, TTY_S0] {
        register_char_device(id, device.clone());
    }
}
