//! The emulated firmware's part of the measured boot: the events TDVF
//! would have measured into RTMR0 and RTMR1 before handing over to the
//! kernel, which the emulator extends into its RTMRs at install and the
//! kernel copies to the head of its CCEL event log
//! (`attestation::measured_boot`).
//!
//! A modest, documented subset of what TDVF logs (edk2
//! OvmfPkg/IntelTdx/TdxHelperLib `TdxHelperMeasureTdHob`,
//! OvmfPkg/Tcg/TdTcg2Dxe `MeasureSecureBootPolicy`, `OnReadyToBoot`,
//! `OnExitBootServices`), with PCRs mapped by TDVF's `MapPcrToMrIndex`
//! (PCR 1,7 -> MR index 1 = RTMR0; PCR 2..6 -> MR index 2 = RTMR1):
//!
//! | # | MR index | event type | digest = SHA-384 of | data |
//! |---|---|---|---|---|
//! | 0 | 1 (RTMR0) | EV_EFI_HANDOFF_TABLES2 | the memory map handed over (the TD HOB's stand-in, see [`memory_map_digest`]) | UEFI_HANDOFF_TABLE_POINTERS2: size 8, "TdxTable", 0 tables |
//! | 1 | 1 (RTMR0) | EV_SEPARATOR (PCR 7) | `00 00 00 00` | `00 00 00 00` |
//! | 2 | 2 (RTMR1) | EV_EFI_ACTION (PCR 4) | "Calling EFI Application from Boot Option" | the same string |
//! | 3 | 2 (RTMR1) | EV_SEPARATOR (PCR 4) | `00 00 00 00` | `00 00 00 00` |
//! | 4 | 2 (RTMR1) | EV_EFI_ACTION (PCR 5) | "Exit Boot Services Invocation" | the same string |
//! | 5 | 2 (RTMR1) | EV_EFI_ACTION (PCR 5) | "Exit Boot Services Returned with Success" | the same string |
//!
//! EV_EFI_ACTION strings are hashed and logged without a NUL (TCG PFP
//! §10.4.1). What TDVF also measures and the emulator does not: the
//! Configuration FV, secure-boot variables, boot variables, the kernel
//! image in RTMR1 (under emulation the kernel is in MRTD instead).
//!
//! Owns: the event list and its replay. Pure logic, no allocation (it runs
//! before mm).

use boot::{BootInfo, RegionKind};
use sha2::{Digest, Sha384};

use super::measure::{extend, sha384, Sha384Digest};

pub const EV_SEPARATOR: u32 = 0x0000_0004;
pub const EV_EFI_ACTION: u32 = 0x8000_0007;
pub const EV_EFI_HANDOFF_TABLES2: u32 = 0x8000_000B;

/// One event the firmware measured: CC MR index (1..=4 = RTMR0..3), TCG
/// event type, SHA-384 digest, event data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FirmwareEvent {
    pub mr_index: u32,
    pub event_type: u32,
    pub digest: Sha384Digest,
    pub data: &'static [u8],
}

pub const EVENT_COUNT: usize = 6;

const SEPARATOR: &[u8] = &[0; 4];
const CALLING_BOOT_OPTION: &[u8] = b"Calling EFI Application from Boot Option";
const EXIT_BOOT_SERVICES: &[u8] = b"Exit Boot Services Invocation";
const EXIT_BOOT_SERVICES_OK: &[u8] = b"Exit Boot Services Returned with Success";
/// UEFI_HANDOFF_TABLE_POINTERS2 (PFP §10.4.4): TableDescriptionSize u8,
/// TableDescription "TdxTable", NumberOfTables u64 = 0 (the emulator has
/// no configuration table to point at).
const HANDOFF_TABLES: &[u8] = &[8, b'T', b'd', b'x', b'T', b'a', b'b', b'l', b'e', 0, 0, 0, 0, 0, 0, 0, 0];

/// The code a region kind is hashed with (E820 numbering where E820 has
/// one; 20 for unaccepted RAM, 21 for reclaimable loader/boot data).
fn kind_code(kind: RegionKind) -> u32 {
    match kind {
        RegionKind::Usable => 1,
        RegionKind::Reserved => 2,
        RegionKind::AcpiReclaimable => 3,
        RegionKind::AcpiNvs => 4,
        RegionKind::Unusable => 5,
        RegionKind::Persistent => 7,
        RegionKind::Unaccepted => 20,
        RegionKind::Reclaimable => 21,
    }
}

/// SHA-384 over the memory map as handed over: per region, start (u64
/// LE), length (u64 LE), kind code (u32 LE), in address order.
pub fn memory_map_digest(boot: &BootInfo) -> Sha384Digest {
    let mut hasher = Sha384::new();
    for region in boot.memory_map() {
        hasher.update(region.range.start.to_le_bytes());
        hasher.update(region.range.len().to_le_bytes());
        hasher.update(kind_code(region.kind).to_le_bytes());
    }
    hasher.finalize().into()
}

/// The firmware's events for the memory map it hands over.
pub fn events(boot: &BootInfo) -> [FirmwareEvent; EVENT_COUNT] {
    let action = |mr_index, text: &'static [u8]| FirmwareEvent {
        mr_index,
        event_type: EV_EFI_ACTION,
        digest: sha384(&[text]),
        data: text,
    };
    let separator =
        |mr_index| FirmwareEvent { mr_index, event_type: EV_SEPARATOR, digest: sha384(&[SEPARATOR]), data: SEPARATOR };
    [
        FirmwareEvent {
            mr_index: 1,
            event_type: EV_EFI_HANDOFF_TABLES2,
            digest: memory_map_digest(boot),
            data: HANDOFF_TABLES,
        },
        separator(1),
        action(2, CALLING_BOOT_OPTION),
        separator(2),
        action(2, EXIT_BOOT_SERVICES),
        action(2, EXIT_BOOT_SERVICES_OK),
    ]
}

/// RTMR0..3 after `events`, from zero (indexes outside 1..=4 are skipped;
/// the list above has none).
pub fn replay(events: &[FirmwareEvent]) -> [Sha384Digest; 4] {
    let mut rtmr = [[0u8; 48]; 4];
    for event in events {
        if let Some(slot) = (event.mr_index as usize).checked_sub(1).and_then(|i| rtmr.get_mut(i)) {
            *slot = extend(slot, &event.digest);
        }
    }
    rtmr
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    #[test]
    fn events_follow_tdvf_and_replay_into_rtmr0_and_rtmr1() {
        let mut boot = Box::new(BootInfo::new(boot::Firmware::Bios));
        boot.add_region(0, 0x9fc00, RegionKind::Usable);
        boot.add_region(1 << 20, 255 << 20, RegionKind::Usable);
        let events = events(&boot);
        assert_eq!(events[0].event_type, 0x8000_000B);
        assert_eq!(events[1].event_type, 4);
        assert_eq!(events[2].data, b"Calling EFI Application from Boot Option");
        assert_eq!(events[2].digest, sha384(&[b"Calling EFI Application from Boot Option"]));
        assert_eq!(events[3].digest, sha384(&[&[0u8; 4]]));
        let rtmr = replay(&events);
        assert_eq!(rtmr[0], extend(&extend(&[0; 48], &events[0].digest), &events[1].digest));
        assert_ne!(rtmr[1], [0; 48]);
        assert_eq!(rtmr[2], [0; 48]);
        assert_eq!(rtmr[3], [0; 48]);
        // The memory map is measured: a different map, a different RTMR0.
        let mut other = Box::new(BootInfo::new(boot::Firmware::Bios));
        other.add_region(0, 0x9fc00, RegionKind::Usable);
        other.add_region(1 << 20, 254 << 20, RegionKind::Usable);
        assert_ne!(replay(&super::events(&other))[0], rtmr[0]);
    }
}
