//! TCG2 crypto-agile event log (TCG PC Client Platform Firmware Profile,
//! "Crypto Agile Log Entry Format"), as TDX firmware leaves it in the CCEL
//! ACPI table's log area and Linux exposes it at
//! /sys/firmware/acpi/tables/data/CCEL.
//!
//! ```text
//! first event, SHA-1 format (TCG_PCClientPCREvent):
//!   pcr u32, event_type u32 = EV_NO_ACTION, digest [20] = 0, size u32,
//!   TCG_EfiSpecIdEvent: "Spec ID Event03\0", platform_class u32,
//!   spec_version_minor u8, major u8, errata u8, uintn_size u8,
//!   number_of_algorithms u32, { algorithm_id u16, digest_size u16 }*,
//!   vendor_info_size u8, vendor_info
//! then TCG_PCR_EVENT2 records:
//!   pcr u32, event_type u32, digest count u32, { algorithm_id u16,
//!   digest [size from the header] }*, event size u32, event data
//! ```
//! In a CCEL the "pcr" field is the CC measurement-register index:
//! 0 = MRTD, 1..4 = RTMR0..3 (UEFI EFI_CC_MEASUREMENT_PROTOCOL). The log
//! area after the last event is free space, filled with 0xFF (or zero).

use crate::bytes::{ParseError, Reader};
use sha2::{Digest, Sha384};

pub const EV_NO_ACTION: u32 = 0x3;
pub const EV_SEPARATOR: u32 = 0x4;
pub const EV_EVENT_TAG: u32 = 0x6;
pub const EV_IPL: u32 = 0xD;
pub const ALG_SHA1: u16 = 0x0004;
pub const ALG_SHA256: u16 = 0x000B;
pub const ALG_SHA384: u16 = 0x000C;
pub const ALG_SHA512: u16 = 0x000D;
pub const SPEC_ID_SIGNATURE: &[u8; 16] = b"Spec ID Event03\0";
/// CC MR index of RTMR0 in a CCEL (RTMR n is index n + 1).
pub const CC_MR_RTMR0: u32 = 1;

/// Limits that keep a hostile log from costing much.
const MAX_ALGORITHMS: u32 = 8;
const MAX_EVENTS: usize = 1 << 16;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub mr_index: u32,
    pub event_type: u32,
    pub digests: Vec<(u16, Vec<u8>)>,
    pub data: Vec<u8>,
}

impl Event {
    pub fn digest(&self, alg: u16) -> Option<&[u8]> {
        self.digests.iter().find(|(a, _)| *a == alg).map(|(_, d)| d.as_slice())
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventLog {
    /// (algorithm id, digest size) from the Spec ID event.
    pub algorithms: Vec<(u16, u16)>,
    pub events: Vec<Event>,
}

fn is_free_space(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0xFF) || bytes.iter().all(|&b| b == 0)
}

pub fn parse(raw: &[u8]) -> Result<EventLog, ParseError> {
    let mut r = Reader::new(raw);
    let _pcr = r.u32("spec_id.pcr")?;
    let event_type = r.u32("spec_id.event_type")?;
    if event_type != EV_NO_ACTION {
        return Err(ParseError::new("spec_id.event_type", format!("{event_type:#x}, expected EV_NO_ACTION")));
    }
    r.take(20, "spec_id.digest")?;
    let size = r.u32("spec_id.size")? as usize;
    let mut s = Reader::new(r.take(size, "spec_id.event")?);
    if s.take(16, "spec_id.signature")? != SPEC_ID_SIGNATURE {
        return Err(ParseError::new("spec_id.signature", "not \"Spec ID Event03\" (not a crypto-agile log)"));
    }
    let _platform_class = s.u32("spec_id.platform_class")?;
    let _version: [u8; 3] = s.array("spec_id.version")?;
    let _uintn_size = s.u8("spec_id.uintn_size")?;
    let count = s.u32("spec_id.number_of_algorithms")?;
    if count == 0 || count > MAX_ALGORITHMS {
        return Err(ParseError::new("spec_id.number_of_algorithms", format!("{count}")));
    }
    let mut algorithms = Vec::new();
    for _ in 0..count {
        let alg = s.u16("spec_id.algorithm_id")?;
        let digest_size = s.u16("spec_id.digest_size")?;
        if digest_size == 0 || digest_size > 64 {
            return Err(ParseError::new("spec_id.digest_size", format!("{digest_size}")));
        }
        algorithms.push((alg, digest_size));
    }
    let vendor_size = s.u8("spec_id.vendor_info_size")? as usize;
    s.take(vendor_size, "spec_id.vendor_info")?;

    let mut events = Vec::new();
    while !is_free_space(r.remaining()) {
        if events.len() == MAX_EVENTS {
            return Err(ParseError::new("event", "too many events"));
        }
        let mr_index = r.u32("event.pcr")?;
        let event_type = r.u32("event.event_type")?;
        let n = r.u32("event.digest_count")?;
        if n as usize > algorithms.len() {
            return Err(ParseError::new("event.digest_count", format!("{n} digests, the log has {} algorithms", algorithms.len())));
        }
        let mut digests = Vec::new();
        for _ in 0..n {
            let alg = r.u16("event.algorithm_id")?;
            let size = algorithms
                .iter()
                .find(|(a, _)| *a == alg)
                .map(|(_, size)| *size as usize)
                .ok_or_else(|| ParseError::new("event.algorithm_id", format!("{alg:#x} is not in the Spec ID event")))?;
            digests.push((alg, r.take(size, "event.digest")?.to_vec()));
        }
        let size = r.u32("event.size")? as usize;
        let data = r.take(size, "event.data")?.to_vec();
        events.push(Event { mr_index, event_type, digests, data });
    }
    Ok(EventLog { algorithms, events })
}

/// Why a log does not replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayError {
    /// An event extends an RTMR but carries no SHA-384 digest.
    NoSha384 { event: usize },
    /// An event names a measurement register a CCEL does not have.
    BadIndex { event: usize, index: u32 },
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            ReplayError::NoSha384 { event } => write!(f, "event {event} has no SHA-384 digest"),
            ReplayError::BadIndex { event, index } => write!(f, "event {event} names MR index {index} (0..4 exist)"),
        }
    }
}

/// RTMR0..3 as the log's events extend them from zero:
/// RTMR = SHA-384(RTMR || digest). MRTD (index 0) events and EV_NO_ACTION
/// events are not extended.
pub fn replay_rtmrs(log: &EventLog) -> Result<[[u8; 48]; 4], ReplayError> {
    let mut rtmr = [[0u8; 48]; 4];
    for (i, event) in log.events.iter().enumerate() {
        if event.event_type == EV_NO_ACTION || event.mr_index == 0 {
            continue;
        }
        let slot = event.mr_index.checked_sub(CC_MR_RTMR0).filter(|s| *s < 4).ok_or(ReplayError::BadIndex { event: i, index: event.mr_index })?;
        let digest = event.digest(ALG_SHA384).ok_or(ReplayError::NoSha384 { event: i })?;
        let reg = &mut rtmr[slot as usize];
        *reg = Sha384::new().chain_update(*reg).chain_update(digest).finalize().into();
    }
    Ok(rtmr)
}

/// Builds a SHA-384-only crypto-agile log: the reference for what the
/// guest's CCEL holds, and the tests' source of logs.
#[derive(Clone, Debug)]
pub struct LogBuilder {
    bytes: Vec<u8>,
}

impl Default for LogBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl LogBuilder {
    pub fn new() -> Self {
        let mut spec = Vec::new();
        spec.extend_from_slice(SPEC_ID_SIGNATURE);
        spec.extend_from_slice(&0u32.to_le_bytes()); // platform class: client
        spec.extend_from_slice(&[0, 2, 0, 2]); // version 2.0 errata 0, UINTN 8 bytes (2)
        spec.extend_from_slice(&1u32.to_le_bytes());
        spec.extend_from_slice(&ALG_SHA384.to_le_bytes());
        spec.extend_from_slice(&48u16.to_le_bytes());
        spec.push(0); // no vendor info
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&EV_NO_ACTION.to_le_bytes());
        bytes.extend_from_slice(&[0u8; 20]);
        bytes.extend_from_slice(&(spec.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&spec);
        Self { bytes }
    }

    /// Record an event whose SHA-384 digest is `digest`.
    pub fn event(&mut self, mr_index: u32, event_type: u32, digest: &[u8; 48], data: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(&mr_index.to_le_bytes());
        self.bytes.extend_from_slice(&event_type.to_le_bytes());
        self.bytes.extend_from_slice(&1u32.to_le_bytes());
        self.bytes.extend_from_slice(&ALG_SHA384.to_le_bytes());
        self.bytes.extend_from_slice(digest);
        self.bytes.extend_from_slice(&(data.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(data);
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha384(data: &[u8]) -> [u8; 48] {
        Sha384::digest(data).into()
    }

    #[test]
    fn build_parse_replay() {
        let d1 = sha384(b"cmdline");
        let d2 = sha384(b"initrd");
        let mut b = LogBuilder::new();
        b.event(3, EV_EVENT_TAG, &d1, b"cmd").event(3, EV_EVENT_TAG, &d2, b"").event(1, EV_SEPARATOR, &d1, &[0; 4]);
        let mut raw = b.bytes();
        raw.extend_from_slice(&[0xFF; 100]);
        let log = parse(&raw).unwrap();
        assert_eq!(log.events.len(), 3);
        assert_eq!(log.events[0].data, b"cmd");
        let r = replay_rtmrs(&log).unwrap();
        let step1 = sha384(&[[0u8; 48], d1].concat());
        assert_eq!(r[2], sha384(&[step1, d2].concat()));
        assert_eq!(r[0], sha384(&[[0u8; 48], d1].concat()));
        assert_eq!(r[1], [0; 48]);
        assert_eq!(r[3], [0; 48]);
    }

    #[test]
    fn malformed_logs_are_errors() {
        assert!(parse(&[]).is_err());
        let mut b = LogBuilder::new();
        b.event(1, EV_IPL, &[1; 48], b"x");
        let raw = b.bytes();
        for cut in 1..raw.len() {
            // Any truncation is either an error or (cut in the free-space
            // check) a shorter log, never a panic.
            let _ = parse(&raw[..cut]);
        }
        assert!(parse(&raw[..raw.len() - 1]).is_err());
        let mut b = LogBuilder::new();
        b.event(9, EV_IPL, &[1; 48], b"");
        assert_eq!(replay_rtmrs(&parse(&b.bytes()).unwrap()), Err(ReplayError::BadIndex { event: 0, index: 9 }));
    }
}
