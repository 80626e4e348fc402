//! Page State Change through the GHCB (NAE event 0x8000_0010): up to 253
//! RMP changes per VMGEXIT, 2 MiB entries where the range allows, the
//! hypervisor advancing `cur_entry` as it goes.
//!
//! Owns: the descriptor encoding (pure, [`entry`] / [`Entry::decode`])
//! and, on the kernel target, the request loop that refuses a hypervisor
//! that goes backwards, stalls, or touches the header.

use super::abi::PSC_MAX_ENTRIES;

/// Header of the descriptor: cur_entry u16, end_entry u16, reserved u32.
pub const HEADER_SIZE: usize = 8;

/// One PSC entry: cur_page [11:0], GFN [51:12], operation [55:52],
/// page size [56] (1 = 2 MiB).
pub fn entry(gfn: u64, op: u64, huge: bool) -> u64 {
    ((gfn & ((1 << 40) - 1)) << 12) | ((op & 0xf) << 52) | (u64::from(huge) << 56)
}

/// A decoded entry (what the emulated hypervisor reads).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub cur_page: u16,
    pub gfn: u64,
    pub op: u64,
    pub huge: bool,
    /// Reserved bits 63:57 set.
    pub reserved: bool,
}

impl Entry {
    pub fn decode(raw: u64) -> Self {
        Self {
            cur_page: (raw & 0xfff) as u16,
            gfn: (raw >> 12) & ((1 << 40) - 1),
            op: (raw >> 52) & 0xf,
            huge: raw & (1 << 56) != 0,
            reserved: raw >> 57 != 0,
        }
    }
}

/// Split `[start, end)` (page-aligned) into entries, at most
/// [`PSC_MAX_ENTRIES`] at a time; calls `batch` with each. 2 MiB entries
/// where aligned.
pub fn for_each_batch<E>(start: u64, end: u64, op: u64, mut batch: impl FnMut(&[u64]) -> Result<(), E>) -> Result<(), E> {
    let mut entries = [0u64; PSC_MAX_ENTRIES];
    let mut count = 0;
    let mut at = start;
    while at < end {
        let huge = at.is_multiple_of(2 << 20) && end - at >= 2 << 20;
        entries[count] = entry(at >> 12, op, huge);
        count += 1;
        at += if huge { 2 << 20 } else { 4096 };
        if count == PSC_MAX_ENTRIES || at >= end {
            batch(&entries[..count])?;
            count = 0;
        }
    }
    Ok(())
}

#[cfg(target_os = "none")]
pub use kernel::change;

#[cfg(target_os = "none")]
mod kernel {
    use boot::PhysRange;

    use super::{for_each_batch, HEADER_SIZE};
    use crate::platform::TeeError;
    use crate::snp::abi::exit;
    use crate::snp::ghcb::{layout, with_ghcb};

    /// Calls without progress tolerated before giving up on a batch.
    const MAX_STALLS: u32 = 16;

    /// Change the RMP state of `range` (page-aligned) to `op`.
    pub fn change(range: PhysRange, op: u64) -> Result<(), TeeError> {
        if !range.start.is_multiple_of(4096) || !range.end.is_multiple_of(4096) || range.is_empty() {
            return Err(TeeError::InvalidArgument("PSC range not page-aligned or empty"));
        }
        for_each_batch(range.start, range.end, op, |entries| with_ghcb(|ghcb| batch(ghcb, entries))?)
    }

    fn batch(ghcb: &crate::snp::ghcb::Ghcb, entries: &[u64]) -> Result<(), TeeError> {
        let end_entry = (entries.len() - 1) as u16;
        let mut header = [0u8; HEADER_SIZE];
        header[2..4].copy_from_slice(&end_entry.to_le_bytes());
        ghcb.write_buffer(0, &header)?;
        for (i, raw) in entries.iter().enumerate() {
            ghcb.write_buffer(HEADER_SIZE + i * 8, &raw.to_le_bytes())?;
        }
        let mut cur_entry = 0u16;
        let mut stalls = 0;
        loop {
            ghcb.set(layout::SW_SCRATCH, ghcb.shared_buffer_gpa());
            // SAFETY: the hypervisor writes only the shared GHCB.
            unsafe { ghcb.call(exit::PSC, 0, 0) }?;
            if ghcb.exit_info_2() != 0 {
                return Err(TeeError::Host(ghcb.exit_info_2()));
            }
            ghcb.read_buffer(0, &mut header)?;
            let now_cur = u16::from_le_bytes([header[0], header[1]]);
            let now_end = u16::from_le_bytes([header[2], header[3]]);
            if now_end != end_entry || header[4..] != [0; 4] || now_cur < cur_entry {
                return Err(TeeError::BadResponse("PSC: the hypervisor changed the header or went backwards"));
            }
            if now_cur > end_entry {
                return Ok(());
            }
            if now_cur == cur_entry {
                stalls += 1;
                if stalls > MAX_STALLS {
                    return Err(TeeError::BadResponse("PSC: no progress"));
                }
            }
            cur_entry = now_cur;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn entries_round_trip_and_batches_use_huge_pages() {
        let raw = entry(0x12345, 2, true);
        assert_eq!(Entry::decode(raw), Entry { cur_page: 0, gfn: 0x12345, op: 2, huge: true, reserved: false });
        // 4 KiB, then a 2 MiB page, then 4 KiB: three entries.
        let mut seen = Vec::new();
        for_each_batch::<()>(0x1f_f000, 0x40_1000, 1, |b| {
            seen.extend_from_slice(b);
            Ok(())
        })
        .unwrap();
        let decoded: Vec<_> = seen.iter().map(|&r| (Entry::decode(r).gfn, Entry::decode(r).huge)).collect();
        assert_eq!(decoded, [(0x1ff, false), (0x200, true), (0x400, false)]);
        let mut batches = 0;
        for_each_batch::<()>(0, 300 * 4096, 2, |b| {
            batches += 1;
            assert!(b.len() <= PSC_MAX_ENTRIES);
            Ok(())
        })
        .unwrap();
        assert_eq!(batches, 2);
    }
}
