//! Hostile mode (`umbra.tee_emu=tdx,hostile`): the emulated *host* lies.
//! After serving a TDVMCALL honestly (so the page-state model stays
//! true), it replaces what it reports with random or boundary values:
//! the status (R10), every output register (R11..R15: port, MSR, CPUID,
//! MMIO reads, MapGPA retry addresses), and in GetQuote the shared
//! buffer's status, lengths, version and quote bytes. The TDX module's
//! own answers (TDCALL leaves other than TDVMCALL) stay honest: the
//! module is trusted, the host is not.
//!
//! Exempt: port I/O to the test rig's own devices (serial console, PIT,
//! PIC, RTC, POST and exit ports): the harness reads the console and the
//! kernel's clock from them. A real host could lie there too; the guest
//! treats those values as hints (masked), but a garbled console would
//! only blind the test, not test the guest.
//!
//! Owns: the random source and the tampering rules. Must never: change
//! guest-private state (only what the host reports or shared memory).

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use framework::arch::trap::TrapFrame;

use crate::tdx::abi::vmcall;

static ENABLED: AtomicBool = AtomicBool::new(false);
static STATE: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);
/// Answers the host falsified since boot.
pub static TAMPERED: AtomicU64 = AtomicU64::new(0);

/// Turn hostile mode on with `seed` (printed at boot: a failing run can
/// be replayed).
pub fn enable(seed: u64) {
    STATE.store(seed | 1, Ordering::Relaxed);
    ENABLED.store(true, Ordering::Release);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Acquire)
}

/// Pause (or resume) lying, e.g. while a test checks honest behaviour.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Release);
}

/// xorshift64*: one step, lock-free (all CPUs share the stream).
pub fn next() -> u64 {
    let mut x = 0;
    let _ = STATE.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |mut s| {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        x = s;
        Some(s)
    });
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// A lie about `honest`: a boundary value, a near miss, or noise (or the
/// truth now and then, so that honest-looking paths run too).
pub fn lie(honest: u64) -> u64 {
    let r = next();
    match r % 12 {
        0 => 0,
        1 => 1,
        2 => u64::MAX,
        3 => 0x8000_0000_0000_0000,
        4 => 0x8000_0000_0000_0001,
        5 => honest.wrapping_add(1),
        6 => honest.wrapping_sub(1),
        7 => honest ^ (1 << (next() % 64)),
        8 => u64::from(u32::MAX),
        9 => honest,
        _ => next(),
    }
}

/// Ports of the test rig that stay honest (see the module comment).
fn rig_port(port: u64) -> bool {
    matches!(port, 0x3f8..=0x3ff | 0x40..=0x43 | 0x61 | 0x20 | 0x21 | 0xa0 | 0xa1 | 0x70 | 0x71 | 0x80 | 0x501 | 0x604 | 0xf4)
}

/// After an honest TDVMCALL `function` (R14 held the port for port I/O):
/// maybe falsify what the host reports.
pub(super) fn tamper_vmcall(frame: &mut TrapFrame, function: u64, port: u64) {
    if !enabled() || (function == vmcall::IO && rig_port(port)) || function == vmcall::REPORT_FATAL_ERROR {
        return;
    }
    if next().is_multiple_of(3) {
        return; // the truth, this time
    }
    TAMPERED.fetch_add(1, Ordering::Relaxed);
    frame.r10 = if next().is_multiple_of(2) { frame.r10 } else { lie(frame.r10) };
    frame.r11 = lie(frame.r11);
    frame.r12 = lie(frame.r12);
    frame.r13 = lie(frame.r13);
    frame.r14 = lie(frame.r14);
    frame.r15 = lie(frame.r15);
}

/// After the quote service wrote its answer into the shared buffer:
/// maybe scribble over the header or the quote. `write(offset, bytes)`
/// writes the shared buffer; `len` is its size.
pub(super) fn tamper_quote_buffer(len: usize, write: &dyn Fn(usize, &[u8])) {
    if !enabled() || next().is_multiple_of(4) {
        return;
    }
    TAMPERED.fetch_add(1, Ordering::Relaxed);
    match next() % 5 {
        0 => write(0, &lie(1).to_le_bytes()), // version
        1 => {
            let status = [0, u64::MAX, 0x8000_0000_0000_0000, 0x8000_0000_0000_0001, next()][(next() % 5) as usize];
            write(8, &status.to_le_bytes());
        }
        2 => {
            let out_len = [0, 1, len as u64 - 24, len as u64 - 23, u64::from(u32::MAX), next()][(next() % 6) as usize];
            write(20, &(out_len as u32).to_le_bytes());
        }
        _ => {
            // Noise over part of the quote.
            let at = 24 + (next() as usize % (len - 24));
            let noise = next().to_le_bytes();
            write(at, &noise[..noise.len().min(len - at)]);
        }
    }
}
