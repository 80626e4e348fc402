//! Getting a quote for a TDREPORT: TDVMCALL GetQuote with a shared buffer
//! (GHCI `tdx_quote_buf`), then waiting for the status to leave "in
//! flight": the host raises the vector announced with
//! SetupEventNotifyInterrupt when it is done, and the guest also polls
//! every millisecond (the interrupt is a hint the host may withhold) until
//! a timeout passes.
//!
//! The buffer is a framework [`DmaBuffer`] (shared, zeroed, converted back
//! on drop). The host can rewrite it at any moment, so the result is
//! copied out once and only the copy is parsed and checked (header
//! lengths against the buffer, quote shape) before anyone sees it.
//!
//! Owns: the request/poll cycle. Must never: read the quote from the live
//! buffer twice, or trust `out_len` or the status beyond the codec's
//! checks.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use framework::mm::DmaBuffer;

use super::quote::{self, v4, QuoteStatus};
use super::report::TdReport;
use super::vmcall;
use crate::platform::TeeError;

/// 2^3 pages = 32 KiB: a quote with its PEM chain is ~5-10 KiB.
const BUFFER_ORDER: u8 = 3;
/// How long a quote may take by default (a real QGS: about a second).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Poll interval while the status says "in flight".
const POLL: Duration = Duration::from_millis(1);

/// Quote-ready interrupts received (SetupEventNotifyInterrupt).
pub static NOTIFICATIONS: AtomicU64 = AtomicU64::new(0);

fn on_quote_ready(_frame: &framework::arch::trap::TrapFrame) {
    NOTIFICATIONS.fetch_add(1, Ordering::Release);
}

/// The vector the host raises when a quote is ready (allocated once;
/// `None` if no vector is free: then polling alone does).
pub fn notify_vector() -> Option<u8> {
    static VECTOR: spin::Once<Option<u8>> = spin::Once::new();
    *VECTOR.call_once(|| framework::arch::irq::allocate(on_quote_ready).ok())
}

/// GetQuote for `report`, waiting at most `timeout`.
pub fn get_quote(report: &TdReport, shared_bit: u64, timeout: Duration) -> Result<Vec<u8>, TeeError> {
    // Announced with every request (SetupEventNotifyInterrupt: the host
    // keeps the last one); a refusal leaves polling alone.
    if let Some(vector) = notify_vector() {
        let _ = vmcall::setup_event_notify(vector);
    }
    let buffer = DmaBuffer::alloc(BUFFER_ORDER).map_err(|_| TeeError::InvalidArgument("no memory for the quote buffer"))?;
    let mut request = alloc::vec![0u8; quote::HEADER_SIZE + report.as_bytes().len()];
    quote::write_request(&mut request, report.as_bytes().len() as u32).map_err(TeeError::InvalidArgument)?;
    request[quote::HEADER_SIZE..].copy_from_slice(report.as_bytes());
    buffer.write_bytes(0, &request).map_err(|_| TeeError::InvalidArgument("quote buffer too small"))?;
    vmcall::get_quote(buffer.paddr(), buffer.len() as u64, shared_bit)?;

    let deadline = framework::arch::tsc::monotonic_ns().saturating_add(timeout.as_nanos() as u64);
    let mut notified = NOTIFICATIONS.load(Ordering::Acquire);
    loop {
        let status = buffer.read_u64(8).unwrap_or(QuoteStatus::IN_FLIGHT);
        if status != QuoteStatus::IN_FLIGHT {
            break;
        }
        // A notification means "look again now"; a status still in
        // flight after one is only a spurious (or hostile) wake-up.
        let now_notified = NOTIFICATIONS.load(Ordering::Acquire);
        if now_notified != notified {
            notified = now_notified;
            continue;
        }
        if framework::arch::tsc::monotonic_ns() >= deadline {
            // Timed out: `Host(IN_FLIGHT)`. The host may still write the
            // buffer: it is converted back to private on drop, after which
            // its writes reach nothing.
            return Err(TeeError::Host(QuoteStatus::IN_FLIGHT));
        }
        framework::task::sleep(POLL);
    }
    // One copy; everything below looks only at it.
    let mut copy = alloc::vec![0u8; buffer.len()];
    buffer.read_bytes(0, &mut copy).map_err(|_| TeeError::BadResponse("quote buffer"))?;
    drop(buffer);
    let rejected = |why: &'static str| {
        crate::rejected::reject(why, u64::from_le_bytes(copy[8..16].try_into().unwrap_or_default()));
        TeeError::BadResponse(why)
    };
    let response = quote::parse_response(&copy).map_err(rejected)?;
    match response.status {
        QuoteStatus::Success => {}
        QuoteStatus::InFlight => return Err(rejected("quote status flipped back to in flight")),
        QuoteStatus::Error | QuoteStatus::ServiceUnavailable => {
            return Err(TeeError::Host(u64::from_le_bytes(copy[8..16].try_into().unwrap_or_default())))
        }
        QuoteStatus::Unknown(_) => return Err(rejected("unknown quote status")),
    }
    let quote = copy[quote::HEADER_SIZE..quote::HEADER_SIZE + response.out_len].to_vec();
    v4::check_shape(&quote).map_err(rejected)?;
    Ok(quote)
}
