//! The 8254 programmable interval timer, channel 2 only, as a reference
//! clock: gate it for a known number of PIT ticks (1.193182 MHz) and see
//! how far another clock (the TSC) moved. Linux's "PIT gate" calibration.
//!
//! Channel 2 drives only the PC speaker (kept off here) and is read through
//! port 0x61 bit 5 (OUT2), so this needs no interrupt. The PIT is a host
//! device in a VM: a missing or lying PIT must give `None` or a value the
//! caller's plausibility checks reject, never a hang.

use super::port::Port;

/// The PIT's input clock.
pub const PIT_HZ: u64 = 1_193_182;

const CONTROL_PORT_B: u16 = 0x61; // bit 0 gate 2, bit 1 speaker, bit 5 OUT2
const CHANNEL_2_DATA: u16 = 0x42;
const MODE_COMMAND: u16 = 0x43;
/// Channel 2, lobyte/hibyte access, mode 0 (interrupt on terminal count),
/// binary counting.
const CHANNEL_2_MODE_0: u8 = 0xb0; // 10 11 000 0
/// OUT2 must stay low for at least this many polls: a missing PIT reads
/// as all ones (OUT2 high at once).
const MIN_POLLS: u64 = 50;
/// Polls before giving up on a PIT whose OUT2 never rises.
const MAX_POLLS: u64 = 50_000_000;

/// One gate run's result, in the units of the clock measured.
///
/// The start of counting is known to lie between two clock reads around
/// the write that starts it, the end between the clock reads around the
/// last two polls. A vCPU stall (or SMI) in the middle of the run does not
/// matter, both clocks keep running; one at either end widens that
/// window, which [`GateRun::uncertainty`] reports.
#[derive(Clone, Copy, Debug)]
pub struct GateRun {
    /// How far the clock advanced while the PIT counted (midpoint of the
    /// possible range).
    pub elapsed: u64,
    /// Width of the possible range of `elapsed`.
    pub uncertainty: u64,
}

impl GateRun {
    /// `elapsed` is known within +-0.25 %.
    pub fn is_clean(&self) -> bool {
        self.uncertainty.saturating_mul(200) <= self.elapsed
    }
}

/// One PIT channel-2 gate run: the terminal count is reached after
/// `pit_ticks` ticks; returns how far `clock` advanced meanwhile, or
/// `None` when the PIT does not behave like one. Interrupts should be off;
/// check [`GateRun::is_clean`] (a stalled vCPU blurs the ends of a run).
pub fn measure(pit_ticks: u16, clock: impl Fn() -> u64) -> Option<GateRun> {
    static LOCK: spin::Mutex<()> = spin::Mutex::new(());
    let _only_user = LOCK.lock();
    // SAFETY: these ports control the PIT's channel 2 and the speaker
    // gate; they cannot affect memory.
    let (port_b, data, command) =
        unsafe { (Port::new(CONTROL_PORT_B), Port::new(CHANNEL_2_DATA), Port::new(MODE_COMMAND)) };
    // Gate high, speaker off.
    port_b.write_u8((port_b.read_u8() & !0x02) | 0x01);
    command.write_u8(CHANNEL_2_MODE_0);
    let [low, high] = pit_ticks.to_le_bytes();
    data.write_u8(low);
    let start_low = clock();
    data.write_u8(high); // counting starts
    let start_high = clock();
    // Each poll reads the clock just before the port: the terminal count
    // came after the previous poll's clock read and before the clock read
    // that follows the poll that saw it.
    let mut previous_poll = start_high;
    let mut polls = 0u64;
    let (end_low, end_high) = loop {
        let now = clock();
        if port_b.read_u8() & 0x20 != 0 {
            break (previous_poll, clock());
        }
        previous_poll = now;
        polls += 1;
        if polls > MAX_POLLS {
            return None;
        }
    };
    if polls < MIN_POLLS {
        return None;
    }
    let shortest = end_low.saturating_sub(start_high);
    let longest = end_high.saturating_sub(start_low);
    Some(GateRun { elapsed: shortest + (longest - shortest) / 2, uncertainty: longest - shortest })
}
