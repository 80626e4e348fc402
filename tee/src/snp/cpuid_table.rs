//! The SNP CPUID table: a page of CPUID answers the firmware (PSP)
//! validated at launch, so the guest need not believe the hypervisor's.
//! Copied into private memory once at boot (as Linux does), then
//! consulted before asking the hypervisor.
//!
//! Layout (GHCB spec 56421, "SNP CPUID Table"; Linux `struct
//! snp_cpuid_table`): count u32, reserved u32, reserved u64, then up to
//! 64 entries of 48 bytes: eax_in u32, ecx_in u32, xcr0_in u64, xss_in
//! u64, eax, ebx, ecx, edx (u32 each), reserved u64.
//!
//! Owns: parsing (pure) and the boot copy. Must never: accept a table
//! whose count exceeds 64.

use crate::platform::CpuidResult;

pub const MAX_ENTRIES: usize = 64;
pub const HEADER_SIZE: usize = 16;
pub const ENTRY_SIZE: usize = 48;
pub const TABLE_SIZE: usize = HEADER_SIZE + MAX_ENTRIES * ENTRY_SIZE;

/// One entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub eax_in: u32,
    pub ecx_in: u32,
    pub result: CpuidResult,
}

/// The parsed table.
#[derive(Clone, Copy, Debug)]
pub struct CpuidTable {
    entries: [Entry; MAX_ENTRIES],
    count: usize,
}

/// Leaves whose answer depends on ECX (the subleaf).
fn indexed(leaf: u32) -> bool {
    matches!(leaf, 0x4 | 0x7 | 0xb | 0xd | 0xf | 0x10 | 0x14 | 0x8000_001d | 0x8000_0020 | 0x8000_0026)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

impl CpuidTable {
    /// Parse `bytes` (the table page); `None` if the count is out of range.
    pub fn parse(bytes: &[u8; TABLE_SIZE]) -> Option<Self> {
        let count = u32_at(bytes, 0) as usize;
        if count > MAX_ENTRIES {
            return None;
        }
        let mut entries = [Entry::default(); MAX_ENTRIES];
        for (i, entry) in entries.iter_mut().enumerate().take(count) {
            let e = &bytes[HEADER_SIZE + i * ENTRY_SIZE..HEADER_SIZE + (i + 1) * ENTRY_SIZE];
            *entry = Entry {
                eax_in: u32_at(e, 0),
                ecx_in: u32_at(e, 4),
                result: CpuidResult { eax: u32_at(e, 24), ebx: u32_at(e, 28), ecx: u32_at(e, 32), edx: u32_at(e, 36) },
            };
        }
        Some(Self { entries, count })
    }

    /// Write `entries` as a table page (the emulated firmware's side).
    pub fn encode(entries: &[Entry], out: &mut [u8; TABLE_SIZE]) {
        out.fill(0);
        let count = entries.len().min(MAX_ENTRIES);
        out[..4].copy_from_slice(&(count as u32).to_le_bytes());
        for (i, entry) in entries.iter().take(count).enumerate() {
            let at = HEADER_SIZE + i * ENTRY_SIZE;
            out[at..at + 4].copy_from_slice(&entry.eax_in.to_le_bytes());
            out[at + 4..at + 8].copy_from_slice(&entry.ecx_in.to_le_bytes());
            let r = entry.result;
            for (j, value) in [r.eax, r.ebx, r.ecx, r.edx].into_iter().enumerate() {
                out[at + 24 + 4 * j..at + 28 + 4 * j].copy_from_slice(&value.to_le_bytes());
            }
        }
    }

    /// The validated answer for `leaf`/`subleaf`, if the table has it.
    pub fn lookup(&self, leaf: u32, subleaf: u32) -> Option<CpuidResult> {
        self.entries[..self.count]
            .iter()
            .find(|e| e.eax_in == leaf && (!indexed(leaf) || e.ecx_in == subleaf))
            .map(|e| e.result)
    }

    /// Is `leaf` within the ranges the table's leaf 0 / 0x8000_0000
    /// report? Such a leaf absent from the table reads as zeros (as
    /// Linux answers it), never as the hypervisor says.
    pub fn covers(&self, leaf: u32) -> bool {
        let max = |base: u32| self.lookup(base, 0).map(|r| r.eax);
        match leaf {
            0..=0x3fff_ffff => max(0).is_some_and(|m| leaf <= m),
            0x8000_0000..=0x8fff_ffff => max(0x8000_0000).is_some_and(|m| leaf <= m),
            _ => false,
        }
    }
}

#[cfg(target_os = "none")]
static TABLE: spin::Once<CpuidTable> = spin::Once::new();

/// Copy the firmware's table at `gpa` (direct map or identity-mapped low
/// memory is not assumed: `read` hands over the bytes) into private
/// memory, once.
#[cfg(target_os = "none")]
pub fn install(bytes: &[u8; TABLE_SIZE]) -> bool {
    match CpuidTable::parse(bytes) {
        Some(table) => {
            TABLE.call_once(|| table);
            true
        }
        None => false,
    }
}

/// The table, if firmware gave one.
#[cfg(target_os = "none")]
pub fn table() -> Option<&'static CpuidTable> {
    TABLE.get()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::boxed::Box;

    #[test]
    fn encode_parse_lookup() {
        let r = |eax| CpuidResult { eax, ebx: 2, ecx: 3, edx: 4 };
        let entries = [
            Entry { eax_in: 0, ecx_in: 0, result: r(0xd) },
            Entry { eax_in: 7, ecx_in: 0, result: r(70) },
            Entry { eax_in: 7, ecx_in: 1, result: r(71) },
            Entry { eax_in: 0x8000_0000, ecx_in: 0, result: r(0x8000_001f) },
            Entry { eax_in: 0x8000_001f, ecx_in: 5, result: r(0x1a) },
        ];
        let mut page = Box::new([0u8; TABLE_SIZE]);
        CpuidTable::encode(&entries, &mut page);
        let table = CpuidTable::parse(&page).unwrap();
        assert_eq!(table.lookup(7, 1).map(|r| r.eax), Some(71));
        assert_eq!(table.lookup(7, 2), None);
        // Not indexed: ECX does not matter.
        assert_eq!(table.lookup(0x8000_001f, 0).map(|r| r.eax), Some(0x1a));
        assert!(table.covers(0xd) && !table.covers(0xe) && table.covers(0x8000_0008) && !table.covers(0x4000_0000));
        page[0] = 65;
        assert!(CpuidTable::parse(&page).is_none());
    }
}
