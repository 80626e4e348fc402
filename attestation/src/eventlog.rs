//! TCG2 crypto-agile event logs, SHA-384 only, as TDX firmware (TDVF)
//! leaves them in the CCEL log area and Linux shows them at
//! `/sys/firmware/acpi/tables/data/CCEL`: the codec and the replay.
//!
//! Sources: TCG PC Client Platform Firmware Profile (PFP) 1.05,
//! "Crypto Agile Log Entry Format" and `TCG_EfiSpecIDEvent`; UEFI 2.10
//! §38.4 (EFI_CC_MEASUREMENT_PROTOCOL: the `PCRIndex` field of a CC log
//! holds the CC measurement-register index, 0 = MRTD, 1..=4 =
//! RTMR0..3); edk2 `MdePkg/Include/IndustryStandard/UefiTcgPlatform.h`
//! for the event-type numbers. The layout matches the host verifier's
//! parser (`verifier/src/eventlog.rs`), which the integration test uses.
//!
//! ```text
//! header, SHA-1 format (TCG_PCClientPCREvent):
//!   pcr u32 = 0, event_type u32 = EV_NO_ACTION, digest [20] = 0, size u32,
//!   TCG_EfiSpecIdEvent: "Spec ID Event03\0", platform_class u32 = 0,
//!   spec_version_minor u8 = 0, major u8 = 2, errata u8 = 0, uintn_size
//!   u8 = 2 (UINT64), number_of_algorithms u32 = 1, { 0x000C (SHA-384),
//!   48 }, vendor_info_size u8 = 0
//! then TCG_PCR_EVENT2 records:
//!   mr_index u32, event_type u32, digest count u32 = 1,
//!   { 0x000C, digest [48] }, event size u32, event data
//! ```
//! Replay: each record except EV_NO_ACTION and MRTD (index 0) records
//! extends RTMR(index - 1) := SHA-384(RTMR || digest), from zero.
//!
//! Owns: the byte format and the replay rule. Pure logic; parsing takes
//! any bytes and never panics.

use alloc::vec::Vec;

use sha2::{Digest, Sha384};

pub const DIGEST_LEN: usize = 48;
pub type Sha384Digest = [u8; DIGEST_LEN];

/// Event types (PFP §10.4.1; edk2 UefiTcgPlatform.h).
pub const EV_NO_ACTION: u32 = 0x0000_0003;
pub const EV_SEPARATOR: u32 = 0x0000_0004;
pub const EV_EVENT_TAG: u32 = 0x0000_0006;
pub const EV_EFI_ACTION: u32 = 0x8000_0007;
pub const EV_EFI_HANDOFF_TABLES2: u32 = 0x8000_000B;

/// TPM_ALG_SHA384 (TCG Algorithm Registry).
pub const ALG_SHA384: u16 = 0x000C;
pub const SPEC_ID_SIGNATURE: &[u8; 16] = b"Spec ID Event03\0";

/// CC measurement-register indexes (UEFI 2.10 §38.4.1 table for TDX).
pub const MR_INDEX_MRTD: u32 = 0;
pub const MR_INDEX_RTMR0: u32 = 1;
pub const MR_INDEX_RTMR1: u32 = 2;
pub const MR_INDEX_RTMR2: u32 = 3;
pub const MR_INDEX_RTMR3: u32 = 4;

/// TDVF's `MapPcrToMrIndex` (edk2 MdePkg/Library/TdxLib/Measurement.c):
/// PCR 0 -> MRTD, 1 and 7 -> RTMR0, 2..=6 -> RTMR1, 8..=15 -> RTMR2;
/// `None` above 15.
pub fn map_pcr_to_mr_index(pcr: u32) -> Option<u32> {
    match pcr {
        0 => Some(MR_INDEX_MRTD),
        1 | 7 => Some(MR_INDEX_RTMR0),
        2..=6 => Some(MR_INDEX_RTMR1),
        8..=15 => Some(MR_INDEX_RTMR2),
        _ => None,
    }
}

pub fn sha384(data: &[u8]) -> Sha384Digest {
    Sha384::digest(data).into()
}

/// RTMR extend: SHA-384(old || digest).
pub fn extend(old: &Sha384Digest, digest: &Sha384Digest) -> Sha384Digest {
    Sha384::new().chain_update(old).chain_update(digest).finalize().into()
}

/// One TCG_PCR_EVENT2 record of a SHA-384 log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub mr_index: u32,
    pub event_type: u32,
    pub digest: Sha384Digest,
    pub data: Vec<u8>,
}

/// The header event: TCG_PCClientPCREvent carrying TCG_EfiSpecIdEvent.
fn spec_id_header() -> Vec<u8> {
    let mut spec = Vec::new();
    spec.extend_from_slice(SPEC_ID_SIGNATURE);
    spec.extend_from_slice(&0u32.to_le_bytes()); // platformClass: client
    spec.extend_from_slice(&[0, 2, 0]); // specVersion 2.0, errata 0
    spec.push(2); // uintnSize: 2 = UINT64
    spec.extend_from_slice(&1u32.to_le_bytes()); // numberOfAlgorithms
    spec.extend_from_slice(&ALG_SHA384.to_le_bytes());
    spec.extend_from_slice(&(DIGEST_LEN as u16).to_le_bytes());
    spec.push(0); // vendorInfoSize
    let mut out = Vec::new();
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&EV_NO_ACTION.to_le_bytes());
    out.extend_from_slice(&[0u8; 20]);
    out.extend_from_slice(&(spec.len() as u32).to_le_bytes());
    out.extend_from_slice(&spec);
    out
}

/// A log being written: the header, then records appended in order.
#[derive(Clone, Debug)]
pub struct EventLog {
    bytes: Vec<u8>,
}

impl Default for EventLog {
    fn default() -> Self {
        Self::new()
    }
}

impl EventLog {
    pub fn new() -> Self {
        Self { bytes: spec_id_header() }
    }

    /// Append one record.
    pub fn push(&mut self, event: &Event) {
        self.bytes.extend_from_slice(&event.mr_index.to_le_bytes());
        self.bytes.extend_from_slice(&event.event_type.to_le_bytes());
        self.bytes.extend_from_slice(&1u32.to_le_bytes());
        self.bytes.extend_from_slice(&ALG_SHA384.to_le_bytes());
        self.bytes.extend_from_slice(&event.digest);
        self.bytes.extend_from_slice(&(event.data.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(&event.data);
    }

    /// The log so far (header and records, no free space).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Why bytes are not a SHA-384 crypto-agile log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// Ends inside the named field.
    Truncated(&'static str),
    /// The header is not a "Spec ID Event03" EV_NO_ACTION event.
    NotCryptoAgile,
    /// The header lists algorithms other than SHA-384 alone, or a record
    /// carries other digests.
    NotSha384Only,
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ParseError> {
        if n > self.bytes.len() {
            return Err(ParseError::Truncated(what));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, ParseError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u16(&mut self, what: &'static str) -> Result<u16, ParseError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
}

/// The free space after the last record: TDVF fills the log area with
/// 0xFF; zero fill is accepted as well.
fn is_free_space(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0xFF) || bytes.iter().all(|&b| b == 0)
}

/// Parse a whole log area (header, records, free space).
pub fn parse(raw: &[u8]) -> Result<Vec<Event>, ParseError> {
    let mut r = Reader { bytes: raw };
    let _pcr = r.u32("header.pcr")?;
    if r.u32("header.event_type")? != EV_NO_ACTION {
        return Err(ParseError::NotCryptoAgile);
    }
    r.take(20, "header.digest")?;
    let size = r.u32("header.size")? as usize;
    let spec = r.take(size, "header.event")?;
    // signature 16, class 4, version 3, uintn 1, count 4, one algorithm 4, vendor size 1
    if spec.len() < 33 || &spec[..16] != SPEC_ID_SIGNATURE {
        return Err(ParseError::NotCryptoAgile);
    }
    let count = u32::from_le_bytes([spec[24], spec[25], spec[26], spec[27]]);
    let alg = u16::from_le_bytes([spec[28], spec[29]]);
    let alg_size = u16::from_le_bytes([spec[30], spec[31]]);
    if count != 1 || alg != ALG_SHA384 || alg_size as usize != DIGEST_LEN {
        return Err(ParseError::NotSha384Only);
    }
    let mut events = Vec::new();
    while !is_free_space(r.bytes) {
        let mr_index = r.u32("event.mr_index")?;
        let event_type = r.u32("event.event_type")?;
        if r.u32("event.digest_count")? != 1 || r.u16("event.algorithm_id")? != ALG_SHA384 {
            return Err(ParseError::NotSha384Only);
        }
        let mut digest = [0u8; DIGEST_LEN];
        digest.copy_from_slice(r.take(DIGEST_LEN, "event.digest")?);
        let size = r.u32("event.size")? as usize;
        let data = r.take(size, "event.data")?.to_vec();
        events.push(Event { mr_index, event_type, digest, data });
    }
    Ok(events)
}

/// RTMR0..3 as `events` extend them from zero; `None` if an event names
/// an index past RTMR3.
pub fn replay(events: &[Event]) -> Option<[Sha384Digest; 4]> {
    let mut rtmr = [[0u8; DIGEST_LEN]; 4];
    for event in events {
        if event.event_type == EV_NO_ACTION || event.mr_index == MR_INDEX_MRTD {
            continue;
        }
        let slot = rtmr.get_mut(event.mr_index.checked_sub(MR_INDEX_RTMR0)? as usize)?;
        *slot = extend(slot, &event.digest);
    }
    Some(rtmr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn event(mr_index: u32, event_type: u32, data: &[u8]) -> Event {
        Event { mr_index, event_type, digest: sha384(data), data: data.to_vec() }
    }

    #[test]
    fn header_bytes_are_pinned() {
        let log = EventLog::new();
        let b = log.bytes();
        // 32 bytes of TCG_PCClientPCREvent up to the event, 33 of Spec ID.
        assert_eq!(b.len(), 32 + 33);
        assert_eq!(&b[0..4], &[0, 0, 0, 0]);
        assert_eq!(&b[4..8], &[3, 0, 0, 0]);
        assert_eq!(&b[8..28], &[0; 20]);
        assert_eq!(&b[28..32], &[33, 0, 0, 0]);
        assert_eq!(&b[32..48], b"Spec ID Event03\0");
        assert_eq!(&b[48..65], &[0, 0, 0, 0, 0, 2, 0, 2, 1, 0, 0, 0, 0x0C, 0, 48, 0, 0]);
    }

    #[test]
    fn record_bytes_are_pinned() {
        let mut log = EventLog::new();
        let e = Event { mr_index: 3, event_type: EV_EVENT_TAG, digest: [0xAB; 48], data: vec![1, 2, 3] };
        log.push(&e);
        let r = &log.bytes()[65..];
        assert_eq!(&r[0..4], &[3, 0, 0, 0]);
        assert_eq!(&r[4..8], &[6, 0, 0, 0]);
        assert_eq!(&r[8..12], &[1, 0, 0, 0]);
        assert_eq!(&r[12..14], &[0x0C, 0]);
        assert_eq!(&r[14..62], &[0xAB; 48]);
        assert_eq!(&r[62..66], &[3, 0, 0, 0]);
        assert_eq!(&r[66..], &[1, 2, 3]);
    }

    #[test]
    fn build_parse_replay_round_trip() {
        let events = [
            event(MR_INDEX_RTMR0, EV_SEPARATOR, &[0; 4]),
            event(MR_INDEX_RTMR1, EV_EFI_ACTION, b"Calling EFI Application from Boot Option"),
            event(MR_INDEX_RTMR2, EV_EVENT_TAG, b"console=ttyS0"),
            event(MR_INDEX_RTMR2, EV_EVENT_TAG, b"070701"),
            event(MR_INDEX_MRTD, EV_NO_ACTION, b"ignored"),
        ];
        let mut log = EventLog::new();
        for e in &events {
            log.push(e);
        }
        let mut area = log.bytes().to_vec();
        area.resize(4096, 0xFF);
        assert_eq!(parse(&area).unwrap(), events);
        let rtmr = replay(&events).unwrap();
        let zero = [0u8; 48];
        assert_eq!(rtmr[0], extend(&zero, &sha384(&[0; 4])));
        assert_eq!(rtmr[1], extend(&zero, &sha384(b"Calling EFI Application from Boot Option")));
        assert_eq!(rtmr[2], extend(&extend(&zero, &sha384(b"console=ttyS0")), &sha384(b"070701")));
        assert_eq!(rtmr[3], zero);
        // extend is SHA-384 over the 96-byte concatenation.
        let mut cat = [0u8; 96];
        cat[48..].copy_from_slice(&sha384(&[0; 4]));
        assert_eq!(rtmr[0], sha384(&cat));
    }

    #[test]
    fn bad_logs_are_errors_never_panics() {
        let mut log = EventLog::new();
        log.push(&event(MR_INDEX_RTMR2, EV_EVENT_TAG, b"x"));
        let raw = log.bytes().to_vec();
        for cut in 0..raw.len() {
            let _ = parse(&raw[..cut]);
        }
        assert_eq!(parse(&raw[..raw.len() - 1]), Err(ParseError::Truncated("event.data")));
        let mut wrong = raw.clone();
        wrong[32] = b'X';
        assert_eq!(parse(&wrong), Err(ParseError::NotCryptoAgile));
        assert_eq!(replay(&[event(9, EV_EVENT_TAG, b"")]), None);
        assert_eq!(map_pcr_to_mr_index(7), Some(MR_INDEX_RTMR0));
        assert_eq!(map_pcr_to_mr_index(4), Some(MR_INDEX_RTMR1));
        assert_eq!(map_pcr_to_mr_index(9), Some(MR_INDEX_RTMR2));
        assert_eq!(map_pcr_to_mr_index(16), None);
    }
}
