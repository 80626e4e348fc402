//! Measured boot (TDX): the kernel, as its own boot path, measures the
//! kernel command line and the initramfs into RTMR2 the way Linux's EFI
//! stub does under TDVF, and records every measurement — the firmware's
//! first — in the CCEL event log ([`crate::ccel`]).
//!
//! What is measured, pinned to Linux's EFI stub
//! (drivers/firmware/efi/libstub/efi-stub-helper.c `events[]`,
//! `efi_measure_tagged_event`; efistub.h for the IDs), which asks the
//! firmware's EFI_CC_MEASUREMENT_PROTOCOL to map PCR 9 and extend/log:
//!
//! | order | what | PCR | MR index (RTMR) | event type | digest | event data |
//! |---|---|---|---|---|---|---|
//! | 1 | command line | 9 | 3 (RTMR2) | EV_EVENT_TAG (6) | SHA-384 of the command line bytes | TCG_PCClientTaggedEvent { id 0x8F3B22ED (LOAD_OPTIONS_EVENT_TAG_ID), size 26, "LOADED_IMAGE::LoadOptions\0" } |
//! | 2 | initramfs | 9 | 3 (RTMR2) | EV_EVENT_TAG (6) | SHA-384 of the initramfs as loaded | TCG_PCClientTaggedEvent { id 0x8F3B22EC (INITRD_EVENT_TAG_ID), size 13, "Linux initrd\0" } |
//!
//! PCR 9 -> MR index 3 -> RTMR2 by TDVF's `MapPcrToMrIndex` (edk2
//! MdePkg/Library/TdxLib/Measurement.c; UEFI 2.10 §38.4.1); RTMR n is
//! MR index n + 1. The stub measures the load options first, the initrd
//! when it loads it; so does this module.
//!
//! One difference from the stub: it hashes UEFI's LoadOptions (UTF-16,
//! as the loader passed them); Umbra boots through the Linux boot
//! protocol and hashes the command line it got, ASCII, without a NUL —
//! the bytes the host verifier's `measure` hashes
//! (verifier/src/reference.rs) and `umbra run` passes as `-append`.
//!
//! Every event's digest is extended into its RTMR through
//! TDG.MR.RTMR.EXTEND before the event is logged; an extend that fails is
//! not logged (the log must replay to the registers). Replaying the log
//! from zero gives the RTMRs of every TDREPORT until user space extends
//! an RTMR through tsm-mr (those extends are not logged, as on Linux).
//!
//! The firmware part (the events before ours) comes from
//! `tee::for_each_firmware_event` (the TDX emulator's TDVF stand-in,
//! tee/src/emu/firmware_log.rs). On real TDX the kernel does not yet read
//! TDVF's own CCEL, so its log then holds the kernel's events only.
//!
//! SEV-SNP measured direct boot needs no guest code: with
//! `-kernel/-initrd/-append` and `kernel-hashes=on` on the
//! `sev-snp-guest` object, QEMU puts the SHA-256 hashes of kernel,
//! initrd and command line in a table (GUID-tagged, in the OVMF hashes
//! page that is part of the launch measurement) and OVMF refuses a blob
//! whose hash differs (OvmfPkg/Library/BlobVerifierLib,
//! BlobVerifierSevHashes.c). `umbra run` has no real-SNP mode yet; its
//! `sev-snp-guest` object will need `kernel-hashes=on`. snp-emu's launch
//! digest covers the kernel image only (tee/src/emu/snp), not the
//! command line or initramfs.
//!
//! Owns: the kernel's events and the order of extend-then-log.

use alloc::vec::Vec;

use crate::eventlog::{sha384, Event, EventLog, Sha384Digest, EV_EVENT_TAG, MR_INDEX_RTMR0};

/// The PCR Linux's EFI stub measures the command line and initrd into.
pub const LINUX_PCR: u32 = 9;
/// drivers/firmware/efi/libstub/efistub.h.
pub const INITRD_EVENT_TAG_ID: u32 = 0x8F3B_22EC;
pub const LOAD_OPTIONS_EVENT_TAG_ID: u32 = 0x8F3B_22ED;
/// `STR_WITH_SIZE(...)`: the NUL is part of the data.
pub const INITRD_DESCRIPTION: &[u8] = b"Linux initrd\0";
pub const LOAD_OPTIONS_DESCRIPTION: &[u8] = b"LOADED_IMAGE::LoadOptions\0";

/// TCG_PCClientTaggedEvent: taggedEventID u32, taggedEventDataSize u32,
/// taggedEventData.
pub fn tagged_event_data(id: u32, description: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(8 + description.len());
    data.extend_from_slice(&id.to_le_bytes());
    data.extend_from_slice(&(description.len() as u32).to_le_bytes());
    data.extend_from_slice(description);
    data
}

fn rtmr2() -> u32 {
    // PCR 9 always maps (8..=15 -> RTMR2).
    crate::eventlog::map_pcr_to_mr_index(LINUX_PCR).unwrap_or(crate::eventlog::MR_INDEX_RTMR2)
}

pub fn cmdline_event(cmdline: &[u8]) -> Event {
    Event {
        mr_index: rtmr2(),
        event_type: EV_EVENT_TAG,
        digest: sha384(cmdline),
        data: tagged_event_data(LOAD_OPTIONS_EVENT_TAG_ID, LOAD_OPTIONS_DESCRIPTION),
    }
}

pub fn initrd_event(initrd: &[u8]) -> Event {
    Event {
        mr_index: rtmr2(),
        event_type: EV_EVENT_TAG,
        digest: sha384(initrd),
        data: tagged_event_data(INITRD_EVENT_TAG_ID, INITRD_DESCRIPTION),
    }
}

/// The kernel's events, in order: command line, then the initramfs if
/// there is one.
pub fn kernel_events(cmdline: &[u8], initrd: Option<&[u8]>) -> Vec<Event> {
    let mut events = alloc::vec![cmdline_event(cmdline)];
    events.extend(initrd.map(initrd_event));
    events
}

/// Extend each of `events` into its RTMR with `extend_rtmr(rtmr index,
/// digest)` and log it if that worked; returns how many were logged.
pub fn measure(log: &mut EventLog, events: &[Event], extend_rtmr: &mut dyn FnMut(usize, &Sha384Digest) -> bool) -> usize {
    let mut logged = 0;
    for event in events {
        let Some(rtmr) = event.mr_index.checked_sub(MR_INDEX_RTMR0).filter(|&i| i < 4) else { continue };
        if extend_rtmr(rtmr as usize, &event.digest) {
            log.push(event);
            logged += 1;
        }
    }
    logged
}

/// At boot, in a TD, before `/dev/tdx_guest` reads the registers: log
/// the firmware's events, measure and log ours, publish the CCEL.
#[cfg(target_os = "none")]
pub fn measure_boot(cmdline: &[u8], initrd: Option<&[u8]>) {
    if tee::detect() != tee::PlatformKind::Tdx {
        return;
    }
    let mut log = EventLog::new();
    tee::for_each_firmware_event(|mr_index, event_type, digest, data| {
        log.push(&Event { mr_index, event_type, digest: *digest, data: data.to_vec() });
    });
    let events = kernel_events(cmdline, initrd);
    let logged = measure(&mut log, &events, &mut |rtmr, digest| match tee::platform().extend_measurement(rtmr, digest) {
        Ok(()) => true,
        Err(error) => {
            log::error!("measured boot: TDG.MR.RTMR.EXTEND({}) failed: {}; event not logged", rtmr, error);
            false
        }
    });
    let area = crate::ccel::log_area(log.bytes());
    // The log area in RAM the table's LASA points at (physically
    // contiguous, kept for good), as firmware reserves it.
    let lasa = publish_in_ram(&area);
    crate::ccel::attach(crate::ccel::acpi_table(area.len() as u64, lasa), area);
    log::info!(
        "measured boot: command line and {} measured into RTMR2; CCEL log {} bytes ({} kernel events)",
        if initrd.is_some() { "initramfs" } else { "no initramfs" },
        log.bytes().len(),
        logged
    );
}

/// Copy the log area into frames of its own; their physical address, or
/// 0 if there is no memory for them (the sysfs files do not need them).
#[cfg(target_os = "none")]
fn publish_in_ram(area: &[u8]) -> u64 {
    static AREA: spin::Once<framework::mm::Segment> = spin::Once::new();
    let order = area.len().div_ceil(4096).next_power_of_two().trailing_zeros() as u8;
    match framework::mm::Segment::alloc(order) {
        Ok(segment) if segment.write_bytes(0, area).is_ok() => AREA.call_once(|| segment).paddr(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eventlog::{extend, parse, replay, MR_INDEX_RTMR2};

    #[test]
    fn events_are_pinned_to_the_linux_efi_stub() {
        let e = cmdline_event(b"console=ttyS0");
        assert_eq!(e.mr_index, 3);
        assert_eq!(e.event_type, 6);
        assert_eq!(e.digest, sha384(b"console=ttyS0"));
        assert_eq!(&e.data[..8], &[0xED, 0x22, 0x3B, 0x8F, 26, 0, 0, 0]);
        assert_eq!(&e.data[8..], b"LOADED_IMAGE::LoadOptions\0");
        let i = initrd_event(b"070701");
        assert_eq!((i.mr_index, i.event_type), (MR_INDEX_RTMR2, EV_EVENT_TAG));
        assert_eq!(&i.data[..8], &[0xEC, 0x22, 0x3B, 0x8F, 13, 0, 0, 0]);
        assert_eq!(&i.data[8..], b"Linux initrd\0");
        assert_eq!(kernel_events(b"x", None).len(), 1);
    }

    #[test]
    fn measured_log_replays_to_the_extended_registers() {
        let mut registers = [[0u8; 48]; 4];
        let mut log = EventLog::new();
        let firmware = Event { mr_index: 1, event_type: 4, digest: sha384(&[0; 4]), data: alloc::vec![0; 4] };
        log.push(&firmware);
        registers[0] = extend(&registers[0], &firmware.digest);
        let events = kernel_events(b"console=ttyS0 quiet", Some(b"cpio bytes"));
        let n = measure(&mut log, &events, &mut |i, d| {
            registers[i] = extend(&registers[i], d);
            true
        });
        assert_eq!(n, 2);
        let parsed = parse(&crate::ccel::log_area(log.bytes())).unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(replay(&parsed).unwrap(), registers);
        let expected = extend(&extend(&[0; 48], &sha384(b"console=ttyS0 quiet")), &sha384(b"cpio bytes"));
        assert_eq!(registers[2], expected);
    }

    #[test]
    fn a_failed_extend_is_not_logged() {
        let mut log = EventLog::new();
        let events = kernel_events(b"a", Some(b"b"));
        let n = measure(&mut log, &events, &mut |_, d| *d != sha384(b"a"));
        assert_eq!(n, 1);
        assert_eq!(parse(log.bytes()).unwrap(), alloc::vec![initrd_event(b"b")]);
    }
}
