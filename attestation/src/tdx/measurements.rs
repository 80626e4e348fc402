//! The TDX measurement registers in sysfs (Linux 6.16 tsm-mr,
//! drivers/virt/coco/guest/tsm-mr.c): the device directory
//! `/sys/devices/virtual/misc/tdx_guest/` (`dev`, `uevent`, `subsystem`)
//! with `measurements/` holding `rtmr0:sha384`..`rtmr3:sha384` (0644),
//! `mrtd:sha384`, `mrconfigid`, `mrowner`, `mrownerconfig` (0444), each a
//! 48-byte binary attribute; plus `/sys/class/misc/tdx_guest`.
//!
//! Owns: `tm_digest_read`/`tm_digest_write` — a read returns the raw
//! register (an RTMR is refreshed after an extend); a write must be
//! exactly 48 bytes at offset 0 (`EINVAL` otherwise; sysfs has already
//! clipped longer writes to 48 and refused writes past the end with
//! `EFBIG`) and extends that RTMR with them.

use alloc::format;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use services::error::Result;
use services::fs::inode::Inode;
use services::fs::procfs::{attach_sysfs, StaticDir};
use services::return_errno_with_message;

use super::backend::DIGEST_LEN;
use super::guest::{Mr, TdxGuest};
use super::{MISC_MAJOR, NAME, TDX_GUEST_MINOR};
use crate::sysfs::{BinAttr, SysBin, SysDir, SysLink, SysText};

/// One register file.
struct MrAttr {
    guest: Arc<TdxGuest>,
    mr: Mr,
}

impl BinAttr for MrAttr {
    fn read(&self, offset: usize, buf: &mut [u8]) -> Option<Result<usize>> {
        Some(self.guest.read_mr(self.mr).map(|value| {
            buf.copy_from_slice(&value[offset..offset + buf.len()]);
            buf.len()
        }))
    }

    fn write(&self, offset: usize, data: &[u8]) -> Option<Result<usize>> {
        let Mr::Rtmr(index) = self.mr else { return None };
        Some((|| {
            let Ok(digest) = <&[u8; DIGEST_LEN]>::try_from(data) else {
                return_errno_with_message!(EINVAL, "an RTMR takes exactly 48 bytes at offset 0");
            };
            if offset != 0 {
                return_errno_with_message!(EINVAL, "an RTMR takes exactly 48 bytes at offset 0");
            }
            self.guest.extend(index, digest)?;
            Ok(DIGEST_LEN)
        })())
    }

    fn readable(&self) -> bool {
        true
    }

    fn writable(&self) -> bool {
        self.mr.is_rtmr()
    }
}

/// The `measurements` directory.
pub fn measurements_dir(guest: &Arc<TdxGuest>) -> Arc<SysDir> {
    let files: Vec<(&'static str, Arc<dyn Inode>)> = Mr::ALL
        .iter()
        .map(|&mr| (mr.file_name(), SysBin::new(DIGEST_LEN, MrAttr { guest: guest.clone(), mr }) as Arc<dyn Inode>))
        .collect();
    SysDir::new(files)
}

/// Hang `devices/virtual/misc/tdx_guest` and `class/misc/tdx_guest` into
/// every sysfs.
pub fn attach(guest: &Arc<TdxGuest>) {
    let device = SysDir::new(vec![
        ("dev", SysText::new(format!("{}:{}\n", MISC_MAJOR, TDX_GUEST_MINOR).into_bytes()) as Arc<dyn Inode>),
        ("measurements", measurements_dir(guest)),
        ("subsystem", SysLink::new(b"../../../../class/misc")),
        ("uevent", SysText::new(format!("MAJOR={}\nMINOR={}\nDEVNAME={}\n", MISC_MAJOR, TDX_GUEST_MINOR, NAME).into_bytes())),
    ]);
    let misc = SysDir::new(vec![(NAME, device as Arc<dyn Inode>)]);
    attach_sysfs(StaticDir::SysfsDevices, "virtual", SysDir::new(vec![("misc", misc as Arc<dyn Inode>)]));
    let class_misc = SysDir::new(vec![(NAME, SysLink::new(b"../../devices/virtual/misc/tdx_guest") as Arc<dyn Inode>)]);
    attach_sysfs(StaticDir::SysfsClass, "misc", class_misc);
}
