//! The TDX driver on the host, over a fake TDX module and user memory.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::sync::Mutex as StdMutex;

use services::error::{Errno, Result};
use services::fs::device::Device;
use services::fs::flags::{O_RDONLY, O_WRONLY};
use services::fs::inode::Inode;
use tee::tdx::report::layout;

use super::backend::{TdxBackend, DIGEST_LEN, REPORTDATA_LEN, TDREPORT_LEN};
use super::device::{TdxGuestDevice, TDX_CMD_GET_REPORT0};
use super::guest::{Mr, TdxGuest};
use super::measurements::measurements_dir;
use super::tsm::TdxTsm;
use crate::tsm::{ReportDesc, TsmAttr, TsmProvider};
use crate::user::UserMemory;

/// RTMRs as a fake module keeps them; "extend" mixes the data in.
struct FakeModule {
    rtmrs: StdMutex<[[u8; DIGEST_LEN]; 4]>,
    reports: StdMutex<u32>,
}

impl TdxBackend for Arc<FakeModule> {
    fn report(&self, reportdata: &[u8; REPORTDATA_LEN]) -> Result<[u8; TDREPORT_LEN]> {
        *self.reports.lock().unwrap() += 1;
        let mut report = [0u8; TDREPORT_LEN];
        report[0] = layout::TEE_TYPE_TDX;
        report[layout::REPORTDATA..layout::REPORTDATA + 64].copy_from_slice(reportdata);
        report[layout::MRTD..layout::MRTD + 48].fill(0x3d);
        for (index, rtmr) in self.rtmrs.lock().unwrap().iter().enumerate() {
            let at = layout::RTMR0 + index * 48;
            report[at..at + 48].copy_from_slice(rtmr);
        }
        Ok(report)
    }
    fn extend_rtmr(&self, index: usize, data: &[u8; DIGEST_LEN]) -> Result<()> {
        let mut rtmrs = self.rtmrs.lock().unwrap();
        let rtmr = rtmrs.get_mut(index).ok_or(services::errno!(ENXIO))?;
        for (byte, add) in rtmr.iter_mut().zip(data) {
            *byte = byte.rotate_left(1) ^ add;
        }
        Ok(())
    }
}

/// User memory of 4 KiB at 0x1000; anything else faults.
struct FakeUser(StdMutex<Vec<u8>>);

impl FakeUser {
    const BASE: u64 = 0x1000;
    fn range(addr: u64, len: usize) -> Result<core::ops::Range<usize>> {
        let start = addr.checked_sub(Self::BASE).ok_or(services::errno!(EFAULT))? as usize;
        let end = start.checked_add(len).filter(|&e| e <= 4096).ok_or(services::errno!(EFAULT))?;
        Ok(start..end)
    }
}

impl UserMemory for FakeUser {
    fn read(&self, addr: u64, buf: &mut [u8]) -> Result<()> {
        buf.copy_from_slice(&self.0.lock().unwrap()[Self::range(addr, buf.len())?]);
        Ok(())
    }
    fn write(&self, addr: u64, data: &[u8]) -> Result<()> {
        self.0.lock().unwrap()[Self::range(addr, data.len())?].copy_from_slice(data);
        Ok(())
    }
}

fn setup() -> (Arc<FakeModule>, Arc<TdxGuest>) {
    let module = Arc::new(FakeModule { rtmrs: StdMutex::new([[0; 48]; 4]), reports: StdMutex::new(0) });
    let guest = TdxGuest::new(Box::new(module.clone())).unwrap();
    (module, guest)
}

fn errno<T>(result: Result<T>) -> Errno {
    result.err().expect("an error").errno()
}

#[test]
fn ioctl_number_and_errnos_are_linuxs() {
    assert_eq!(TDX_CMD_GET_REPORT0, 0xC440_5401);
    let (_, guest) = setup();
    let user: &'static FakeUser = Box::leak(Box::new(FakeUser(StdMutex::new(alloc::vec![0; 4096]))));
    let device = TdxGuestDevice::new(guest, user);
    user.0.lock().unwrap()[0..64].fill(0xab);
    assert_eq!(device.ioctl(TDX_CMD_GET_REPORT0, FakeUser::BASE).unwrap(), 0);
    let memory = user.0.lock().unwrap().clone();
    let tdreport = &memory[64..64 + 1024];
    assert_eq!(tdreport[0], layout::TEE_TYPE_TDX);
    assert_eq!(&tdreport[layout::REPORTDATA..layout::REPORTDATA + 64], &[0xab; 64][..]);
    // Unaligned request: fine (the kernel aligns its own buffers).
    assert_eq!(device.ioctl(TDX_CMD_GET_REPORT0, FakeUser::BASE + 3).unwrap(), 0);
    assert_eq!(errno(device.ioctl(TDX_CMD_GET_REPORT0, 0)), Errno::EFAULT);
    // REPORTDATA readable, TDREPORT not writable.
    assert_eq!(errno(device.ioctl(TDX_CMD_GET_REPORT0, FakeUser::BASE + 4096 - 64)), Errno::EFAULT);
    assert_eq!(errno(device.ioctl(TDX_CMD_GET_REPORT0 + 1, FakeUser::BASE)), Errno::ENOTTY);
    assert_eq!(errno(device.ioctl(0x5401, FakeUser::BASE)), Errno::ENOTTY);
    assert_eq!(errno(device.read(0, &mut [0u8; 4], false)), Errno::EINVAL);
    assert!(!device.is_seekable());
}

#[test]
fn measurement_files_read_and_extend() {
    let (module, guest) = setup();
    let dir = measurements_dir(&guest);
    let names: Vec<&str> = Mr::ALL.iter().map(|mr| mr.file_name()).collect();
    assert_eq!(
        names,
        ["rtmr0:sha384", "rtmr1:sha384", "rtmr2:sha384", "rtmr3:sha384", "mrtd:sha384", "mrconfigid", "mrowner", "mrownerconfig"]
    );
    let rtmr3 = dir.lookup(b"rtmr3:sha384").unwrap();
    let mrtd = dir.lookup(b"mrtd:sha384").unwrap();
    assert_eq!((rtmr3.metadata().perm, rtmr3.metadata().size), (0o644, 48));
    assert_eq!(mrtd.metadata().perm, 0o444);
    assert_eq!(errno(mrtd.open_file(O_WRONLY)), Errno::EACCES);
    assert!(mrtd.open_file(O_RDONLY).unwrap().is_none());
    let mut value = [0u8; 64];
    assert_eq!(mrtd.read_at(0, &mut value).unwrap(), 48);
    assert_eq!(&value[..48], &[0x3d; 48][..]);
    assert_eq!(mrtd.read_at(40, &mut value).unwrap(), 8);
    assert_eq!(mrtd.read_at(48, &mut value).unwrap(), 0);
    assert_eq!(rtmr3.read_at(0, &mut value).unwrap(), 48);
    assert_eq!(&value[..48], &[0; 48][..]);
    // Wrong sizes and offsets.
    assert_eq!(errno(rtmr3.write_at(0, &[1; 47])), Errno::EINVAL);
    assert_eq!(errno(rtmr3.write_at(1, &[1; 48])), Errno::EINVAL);
    assert_eq!(errno(rtmr3.write_at(48, &[1; 48])), Errno::EFBIG);
    assert_eq!(errno(mrtd.write_at(0, &[1; 48])), Errno::EIO);
    // 49 bytes: clipped to 48, extends.
    let reports = *module.reports.lock().unwrap();
    assert_eq!(rtmr3.write_at(0, &[1; 49]).unwrap(), 48);
    assert_eq!(rtmr3.read_at(0, &mut value).unwrap(), 48);
    assert_eq!(&value[..48], &[1; 48][..]);
    assert_eq!(*module.reports.lock().unwrap(), reports + 1, "one refresh after the extend");
    rtmr3.read_at(0, &mut value).unwrap();
    assert_eq!(*module.reports.lock().unwrap(), reports + 1, "cached while in sync");
}

#[test]
fn tsm_provider_needs_64_bytes_and_a_quote_service() {
    let (_, guest) = setup();
    let tsm = TdxTsm::new(guest);
    assert_eq!(tsm.name(), "tdx_guest");
    assert!(tsm.visible(TsmAttr::Outblob) && !tsm.visible(TsmAttr::Auxblob) && !tsm.visible(TsmAttr::Privlevel));
    let short = ReportDesc { inblob: alloc::vec![1; 32], ..ReportDesc::default() };
    assert_eq!(errno(tsm.report_new(&short)), Errno::EINVAL);
    let full = ReportDesc { inblob: alloc::vec![1; 64], ..ReportDesc::default() };
    assert_eq!(errno(tsm.report_new(&full)), Errno::EIO);
}
