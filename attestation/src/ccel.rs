//! The CCEL: the ACPI "Confidential Computing Event Log" table and its
//! log area, as Linux shows them (drivers/acpi/sysfs.c:
//! `acpi_table_attr_init`, `acpi_ccel_data_init`):
//! `/sys/firmware/acpi/tables/CCEL` (the table's bytes) and
//! `/sys/firmware/acpi/tables/data/CCEL` (the whole log area: LAML bytes
//! from LASA, records then free space), both binary attributes of mode
//! 0400.
//!
//! Table layout (ACPI 6.5 §5.2.34; edk2 MdePkg/Include/Protocol/
//! CcMeasurement.h `EFI_CC_EVENTLOG_ACPI_TABLE`, TdTcg2Dxe's template):
//! the 36-byte ACPI header (signature "CCEL", length 56, revision 1,
//! checksum, OEM ID, OEM table ID, OEM revision, creator ID, creator
//! revision), then CC type u8 = 2 (TDX), CC subtype u8 = 0, reserved u16,
//! LAML u64 (log area minimum length), LASA u64 (log area start address).
//! The log area is 64 KiB (TDVF's PcdTcgLogAreaMinLen 0x10000, grown in
//! 4 KiB steps if ever needed), its free space 0xFF as TDVF fills it.
//!
//! Owns: the table bytes, the log-area padding and the two sysfs files.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use services::error::Result;
use services::fs::inode::Inode;

use crate::sysfs::{BinAttr, SysBin, SysDir};

pub const TABLE_LEN: usize = 56;
pub const CC_TYPE_TDX: u8 = 2;
pub const LOG_AREA_MIN_LEN: usize = 0x10000;
pub const OEM_ID: &[u8; 6] = b"UMBRA ";
pub const OEM_TABLE_ID: &[u8; 8] = b"UMBRACC ";
pub const CREATOR_ID: &[u8; 4] = b"UMBR";

/// The log area for `log` (header and records): padded with 0xFF to
/// 64 KiB, or to the next 4 KiB past the log if it is longer.
pub fn log_area(log: &[u8]) -> Vec<u8> {
    let len = LOG_AREA_MIN_LEN.max(log.len().div_ceil(4096) * 4096);
    let mut area = vec![0xFF; len];
    area[..log.len()].copy_from_slice(log);
    area
}

/// The CCEL ACPI table for a log area of `laml` bytes at `lasa`.
pub fn acpi_table(laml: u64, lasa: u64) -> [u8; TABLE_LEN] {
    let mut t = [0u8; TABLE_LEN];
    t[0..4].copy_from_slice(b"CCEL");
    t[4..8].copy_from_slice(&(TABLE_LEN as u32).to_le_bytes());
    t[8] = 1; // revision
    t[10..16].copy_from_slice(OEM_ID);
    t[16..24].copy_from_slice(OEM_TABLE_ID);
    t[24..28].copy_from_slice(&1u32.to_le_bytes()); // OEM revision
    t[28..32].copy_from_slice(CREATOR_ID);
    t[32..36].copy_from_slice(&1u32.to_le_bytes()); // creator revision
    t[36] = CC_TYPE_TDX;
    t[37] = 0; // subtype
    t[40..48].copy_from_slice(&laml.to_le_bytes());
    t[48..56].copy_from_slice(&lasa.to_le_bytes());
    // The bytes of an ACPI table sum to zero (mod 256).
    let sum = t.iter().fold(0u8, |a, &b| a.wrapping_add(b));
    t[9] = 0u8.wrapping_sub(sum);
    t
}

/// A read-only binary attribute over fixed bytes.
struct Bytes(Vec<u8>);

impl BinAttr for Bytes {
    fn read(&self, offset: usize, buf: &mut [u8]) -> Option<Result<usize>> {
        // SysBin clipped [offset, offset + len) to the size.
        buf.copy_from_slice(&self.0[offset..offset + buf.len()]);
        Some(Ok(buf.len()))
    }
    fn write(&self, _offset: usize, _data: &[u8]) -> Option<Result<usize>> {
        None
    }
    fn readable(&self) -> bool {
        true
    }
    fn writable(&self) -> bool {
        false
    }
}

fn file(bytes: Vec<u8>) -> Arc<dyn Inode> {
    SysBin::with_mode(bytes.len(), Bytes(bytes), 0o400)
}

/// The `firmware` directory: `acpi/tables/{CCEL, data/CCEL}`.
pub fn firmware_dir(table: [u8; TABLE_LEN], area: Vec<u8>) -> Arc<SysDir> {
    let data = SysDir::new(vec![("CCEL", file(area))]);
    let tables = SysDir::new(vec![("CCEL", file(table.to_vec())), ("data", data as Arc<dyn Inode>)]);
    let acpi = SysDir::new(vec![("tables", tables as Arc<dyn Inode>)]);
    SysDir::new(vec![("acpi", acpi as Arc<dyn Inode>)])
}

/// Hang `/sys/firmware/acpi/tables/{CCEL,data/CCEL}` into every sysfs.
pub fn attach(table: [u8; TABLE_LEN], area: Vec<u8>) {
    services::fs::procfs::attach_sysfs(services::fs::procfs::StaticDir::SysfsRoot, "firmware", firmware_dir(table, area));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_bytes_are_pinned_and_sum_to_zero() {
        let t = acpi_table(0x10000, 0x1234_5000);
        assert_eq!(&t[0..4], b"CCEL");
        assert_eq!(&t[4..8], &[56, 0, 0, 0]);
        assert_eq!(t[8], 1);
        assert_eq!(t[36], 2);
        assert_eq!(&t[38..40], &[0, 0]);
        assert_eq!(&t[40..48], &0x10000u64.to_le_bytes());
        assert_eq!(&t[48..56], &0x1234_5000u64.to_le_bytes());
        assert_eq!(t.iter().fold(0u8, |a, &b| a.wrapping_add(b)), 0);
    }

    #[test]
    fn log_area_is_padded_with_ff() {
        let area = log_area(&[1, 2, 3]);
        assert_eq!(area.len(), 0x10000);
        assert_eq!(&area[..4], &[1, 2, 3, 0xFF]);
        assert!(area[3..].iter().all(|&b| b == 0xFF));
        assert_eq!(log_area(&vec![0; 0x10001]).len(), 0x11000);
    }

    #[test]
    fn sysfs_files_read_exact_bytes_and_are_0400() {
        let dir = firmware_dir(acpi_table(16, 0), vec![7; 16]);
        let tables = dir.lookup(b"acpi").unwrap().lookup(b"tables").unwrap();
        let table = tables.lookup(b"CCEL").unwrap();
        let data = tables.lookup(b"data").unwrap().lookup(b"CCEL").unwrap();
        assert_eq!(data.metadata().size, 16);
        assert_eq!(data.metadata().perm, 0o400);
        assert_eq!(table.metadata().size, 56);
        let mut buf = [0u8; 100];
        assert_eq!(data.read_at(10, &mut buf).unwrap(), 6);
        assert_eq!(&buf[..6], &[7; 6]);
        assert_eq!(data.read_at(16, &mut buf).unwrap(), 0);
        assert_eq!(table.read_at(0, &mut buf).unwrap(), 56);
        assert_eq!(&buf[..4], b"CCEL");
        assert!(data.write_at(0, &[1]).is_err());
    }
}
