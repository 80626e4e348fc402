//! The SEV-SNP driver on the host, over a fake PSP channel and user memory.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use std::sync::Mutex as StdMutex;

use services::error::{Errno, Result};
use services::fs::device::Device;

use super::channel::{SendFailure, SnpChannel, MSG_KEY_REQ, MSG_REPORT_REQ};
use super::device::*;
use super::guest::SnpGuest;
use super::tsm::{certs_size, SevTsm};
use crate::tsm::{ReportDesc, TsmAttr, TsmProvider};
use crate::user::UserMemory;

/// What the fake PSP was sent: message type, version, payload, extended?
type Sent = (u8, u8, Vec<u8>, bool);

/// A PSP that answers REPORT_REQ with a "report" of 0x4A0 bytes whose
/// bytes 0x50..0x90 are the user data and 0x30 the VMPL, KEY_REQ with a
/// key of 0x4b; the host's certificate table is `table` (needs `pages`).
struct FakePsp {
    failures: StdMutex<Vec<SendFailure>>,
    status: StdMutex<u32>,
    table: Vec<u8>,
    sent: StdMutex<Vec<Sent>>,
}

impl FakePsp {
    fn new() -> Arc<FakePsp> {
        let mut table = vec![0u8; 6000];
        table[..16].fill(0x11);
        table[16..20].copy_from_slice(&48u32.to_le_bytes());
        table[20..24].copy_from_slice(&5000u32.to_le_bytes());
        Arc::new(FakePsp { failures: StdMutex::new(Vec::new()), status: StdMutex::new(0), table, sent: StdMutex::new(Vec::new()) })
    }
}

impl SnpChannel for Arc<FakePsp> {
    fn send(&self, msg_type: u8, msg_version: u8, payload: &[u8], out: &mut [u8], certs: Option<&mut [u8]>)
        -> core::result::Result<usize, SendFailure> {
        self.sent.lock().unwrap().push((msg_type, msg_version, payload.to_vec(), certs.is_some()));
        if let Some(failure) = self.failures.lock().unwrap().pop() {
            return Err(failure);
        }
        if let Some(certs) = certs {
            let pages = self.table.len().div_ceil(4096) as u64;
            if (certs.len() as u64) < pages * 4096 {
                return Err(SendFailure::CertsTooSmall { npages: pages });
            }
            certs[..self.table.len()].copy_from_slice(&self.table);
        }
        match msg_type {
            MSG_REPORT_REQ => {
                out[..4].copy_from_slice(&self.status.lock().unwrap().to_le_bytes());
                out[4..8].copy_from_slice(&0x4a0u32.to_le_bytes());
                out[32 + 0x30..32 + 0x34].copy_from_slice(&payload[64..68]);
                out[32 + 0x50..32 + 0x90].copy_from_slice(&payload[..64]);
                Ok(32 + 0x4a0)
            }
            MSG_KEY_REQ => {
                out[32..64].fill(0x4b);
                Ok(64)
            }
            _ => Err(SendFailure::Failed { exitinfo2: 0x16 }),
        }
    }
}

/// User memory of 64 KiB at 0x10000; anything else faults.
struct FakeUser(StdMutex<Vec<u8>>);

impl FakeUser {
    const BASE: u64 = 0x10000;
    const LEN: usize = 64 << 10;
    fn range(addr: u64, len: usize) -> Result<core::ops::Range<usize>> {
        let start = addr.checked_sub(Self::BASE).ok_or(services::errno!(EFAULT))? as usize;
        let end = start.checked_add(len).filter(|&e| e <= Self::LEN).ok_or(services::errno!(EFAULT))?;
        Ok(start..end)
    }
    fn put(&self, addr: u64, data: &[u8]) {
        self.write(addr, data).unwrap();
    }
    fn get(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut out = vec![0; len];
        self.read(addr, &mut out).unwrap();
        out
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

const ARG: u64 = FakeUser::BASE;
const REQ: u64 = FakeUser::BASE + 0x100;
const RESP: u64 = FakeUser::BASE + 0x1000;
const CERTS: u64 = FakeUser::BASE + 0x4000;

fn setup() -> (Arc<FakePsp>, &'static FakeUser, SevGuestDevice, Arc<SnpGuest>) {
    let psp = FakePsp::new();
    let guest = Arc::new(SnpGuest::new(Box::new(psp.clone())));
    let user: &'static FakeUser = Box::leak(Box::new(FakeUser(StdMutex::new(vec![0; FakeUser::LEN]))));
    (psp, user, SevGuestDevice::new(guest.clone(), user), guest)
}

fn ioctl_arg(msg_version: u8, req: u64, resp: u64, exitinfo2: u64) -> [u8; 32] {
    let mut arg = [0u8; 32];
    arg[0] = msg_version;
    arg[1..8].fill(0xee); // padding: written back as it came
    arg[8..16].copy_from_slice(&req.to_le_bytes());
    arg[16..24].copy_from_slice(&resp.to_le_bytes());
    arg[24..32].copy_from_slice(&exitinfo2.to_le_bytes());
    arg
}

fn exitinfo2(user: &FakeUser) -> u64 {
    u64::from_le_bytes(user.get(ARG + 24, 8).try_into().unwrap())
}

fn errno<T: core::fmt::Debug>(result: Result<T>) -> Errno {
    result.expect_err("an error").errno()
}

#[test]
fn ioctl_numbers_are_linuxs() {
    assert_eq!(SNP_GET_REPORT, 0xC020_5300);
    assert_eq!(SNP_GET_DERIVED_KEY, 0xC020_5301);
    assert_eq!(SNP_GET_EXT_REPORT, 0xC020_5302);
    assert_eq!((REPORT_REQ_SIZE, REPORT_RESP_SIZE, DERIVED_KEY_REQ_SIZE, DERIVED_KEY_RESP_SIZE, EXT_REPORT_REQ_SIZE), (96, 4000, 32, 64, 112));
}

#[test]
fn report_and_the_struct_written_back_only_on_error() {
    let (psp, user, device, _) = setup();
    let mut req = [0u8; 96];
    req[..64].fill(0xab);
    req[64] = 2;
    user.put(REQ, &req);
    user.put(ARG, &ioctl_arg(1, REQ, RESP, 0x1234));
    assert_eq!(device.ioctl(SNP_GET_REPORT, ARG).unwrap(), 0);
    let resp = user.get(RESP, 4000);
    assert_eq!(&resp[4..8], &0x4a0u32.to_le_bytes());
    assert_eq!(&resp[32 + 0x50..32 + 0x90], &[0xab; 64][..]);
    assert_eq!(resp[32 + 0x30], 2, "vmpl passed on");
    assert_eq!(exitinfo2(user), 0x1234, "success: exitinfo2 is 0, so the struct is not written back");
    assert_eq!(psp.sent.lock().unwrap()[0].1, 1);
    // msg_version 0: EINVAL before anything, nothing written back.
    user.put(ARG, &ioctl_arg(0, REQ, RESP, 7));
    assert_eq!(errno(device.ioctl(SNP_GET_REPORT, ARG)), Errno::EINVAL);
    assert_eq!(exitinfo2(user), 7);
    // Another version goes to the firmware as it is.
    user.put(ARG, &ioctl_arg(2, REQ, RESP, 7));
    assert_eq!(device.ioctl(SNP_GET_REPORT, ARG).unwrap(), 0);
    assert_eq!(psp.sent.lock().unwrap()[1].1, 2);
    // Null pointers: EINVAL, exitinfo2 0xff written back with the rest.
    user.put(ARG, &ioctl_arg(1, 0, RESP, 7));
    assert_eq!(errno(device.ioctl(SNP_GET_REPORT, ARG)), Errno::EINVAL);
    assert_eq!(user.get(ARG, 32), ioctl_arg(1, 0, RESP, 0xff));
    // Bad request / response / ioctl-struct pointers: EFAULT.
    user.put(ARG, &ioctl_arg(1, 8, RESP, 0));
    assert_eq!(errno(device.ioctl(SNP_GET_REPORT, ARG)), Errno::EFAULT);
    assert_eq!(exitinfo2(user), 0xff);
    user.put(ARG, &ioctl_arg(1, REQ, FakeUser::BASE + FakeUser::LEN as u64 - 100, 0));
    assert_eq!(errno(device.ioctl(SNP_GET_REPORT, ARG)), Errno::EFAULT);
    assert_eq!(exitinfo2(user), 0, "the request succeeded: exitinfo2 0, not written back");
    assert_eq!(errno(device.ioctl(SNP_GET_REPORT, 8)), Errno::EFAULT);
    // Unknown command: ENOTTY after the struct was read and checked.
    user.put(ARG, &ioctl_arg(1, REQ, RESP, 0));
    assert_eq!(errno(device.ioctl(0xC020_5303, ARG)), Errno::ENOTTY);
    assert_eq!(exitinfo2(user), 0xff);
    user.put(ARG, &ioctl_arg(0, REQ, RESP, 0));
    assert_eq!(errno(device.ioctl(0xC020_5303, ARG)), Errno::EINVAL, "msg_version is checked first");
    assert_eq!(errno(device.ioctl(0xC020_5303, 8)), Errno::EFAULT, "the struct is read first");
    assert_eq!(errno(device.read(0, &mut [0u8; 4], false)), Errno::EINVAL);
    assert!(!device.is_seekable());
}

#[test]
fn failures_give_linuxs_errno_and_exitinfo2() {
    let (psp, user, device, _) = setup();
    user.put(ARG, &ioctl_arg(1, REQ, RESP, 0));
    let cases = [
        (SendFailure::Failed { exitinfo2: 0x16 }, Errno::EIO, 0x16),
        (SendFailure::Failed { exitinfo2: u64::MAX }, Errno::EIO, u64::MAX),
        (SendFailure::Busy { exitinfo2: 2 << 32 }, Errno::ETIMEDOUT, 2 << 32),
        (SendFailure::VmpckDisabled, Errno::ENOTTY, 0xff),
        (SendFailure::SeqnoExhausted, Errno::EIO, 0xff),
    ];
    for (failure, want, info) in cases {
        psp.failures.lock().unwrap().push(failure);
        assert_eq!(errno(device.ioctl(SNP_GET_REPORT, ARG)), want, "{failure:?}");
        assert_eq!(exitinfo2(user), info, "{failure:?}");
    }
    user.put(ARG, &ioctl_arg(1, REQ, RESP, 0x55));
    psp.failures.lock().unwrap().push(SendFailure::BadResponse);
    assert_eq!(errno(device.ioctl(SNP_GET_REPORT, ARG)), Errno::EBADMSG);
    assert_eq!(exitinfo2(user), 0x55, "exitinfo2 0 after a completed call: not written back");
}

#[test]
fn derived_key() {
    let (psp, user, device, _) = setup();
    let mut req = [0u8; 32];
    req[8] = 1 << 3;
    user.put(REQ, &req);
    user.put(ARG, &ioctl_arg(1, REQ, RESP, 0));
    assert_eq!(device.ioctl(SNP_GET_DERIVED_KEY, ARG).unwrap(), 0);
    let resp = user.get(RESP, 64);
    assert_eq!(&resp[32..], &[0x4b; 32][..]);
    let sent = psp.sent.lock().unwrap().pop().unwrap();
    assert_eq!((sent.0, sent.2.len(), sent.2[8], sent.3), (MSG_KEY_REQ, 32, 1 << 3, false));
    user.put(ARG, &ioctl_arg(1, REQ, 0, 0));
    assert_eq!(errno(device.ioctl(SNP_GET_DERIVED_KEY, ARG)), Errno::EINVAL);
}

fn ext_req(certs_address: u64, certs_len: u32) -> [u8; 112] {
    let mut req = [0u8; 112];
    req[..64].fill(0xcd);
    req[96..104].copy_from_slice(&certs_address.to_le_bytes());
    req[104..108].copy_from_slice(&certs_len.to_le_bytes());
    req
}

#[test]
fn extended_report_certificates() {
    let (psp, user, device, _) = setup();
    user.put(ARG, &ioctl_arg(1, REQ, RESP, 0));
    // No certificates asked for: a plain report.
    user.put(REQ, &ext_req(0, 0));
    assert_eq!(device.ioctl(SNP_GET_EXT_REPORT, ARG).unwrap(), 0);
    assert!(!psp.sent.lock().unwrap().last().unwrap().3);
    user.put(REQ, &ext_req(CERTS, 0));
    assert_eq!(device.ioctl(SNP_GET_EXT_REPORT, ARG).unwrap(), 0);
    assert_eq!(&user.get(RESP + 32 + 0x50, 64), &[0xcd; 64]);
    // Bad lengths.
    for len in [100, 4096 + 1, 20 << 10] {
        user.put(REQ, &ext_req(CERTS, len));
        assert_eq!(errno(device.ioctl(SNP_GET_EXT_REPORT, ARG)), Errno::EINVAL, "{len}");
    }
    user.put(REQ, &ext_req(0x7fff_ffff_f000 - 4096, 8192));
    assert_eq!(errno(device.ioctl(SNP_GET_EXT_REPORT, ARG)), Errno::EFAULT);
    // Too small: EIO, exitinfo2 = INVALID_LEN, certs_len = what the host needs.
    user.put(REQ, &ext_req(CERTS, 4096));
    user.put(ARG, &ioctl_arg(1, REQ, RESP, 0));
    assert_eq!(errno(device.ioctl(SNP_GET_EXT_REPORT, ARG)), Errno::EIO);
    assert_eq!(exitinfo2(user), 1 << 32);
    assert_eq!(user.get(REQ + 104, 4), 8192u32.to_le_bytes());
    // Big enough: the table lands in the buffer.
    user.put(ARG, &ioctl_arg(1, REQ, RESP, 0));
    assert_eq!(device.ioctl(SNP_GET_EXT_REPORT, ARG).unwrap(), 0);
    assert_eq!(user.get(CERTS, 6000), psp.table);
    assert_eq!(exitinfo2(user), 0);
    // The certificate buffer unwritable: EFAULT.
    user.put(REQ, &ext_req(FakeUser::BASE + FakeUser::LEN as u64 - 4096, 8192));
    assert_eq!(errno(device.ioctl(SNP_GET_EXT_REPORT, ARG)), Errno::EFAULT);
}

#[test]
fn tsm_provider_sev_guest() {
    let (psp, _, _, guest) = setup();
    let tsm = SevTsm::new(guest);
    assert_eq!(tsm.name(), "sev_guest");
    assert_eq!(tsm.privlevel_floor(), 0);
    for attr in [TsmAttr::Privlevel, TsmAttr::PrivlevelFloor, TsmAttr::Auxblob, TsmAttr::Outblob, TsmAttr::Inblob] {
        assert!(tsm.visible(attr), "{attr:?}");
    }
    for attr in [TsmAttr::ServiceProvider, TsmAttr::ServiceGuid, TsmAttr::ServiceManifestVersion, TsmAttr::Manifestblob] {
        assert!(!tsm.visible(attr), "{attr:?}");
    }
    assert_eq!(errno(tsm.report_new(&ReportDesc { inblob: vec![1; 32], ..ReportDesc::default() })), Errno::EINVAL);
    let desc = ReportDesc { inblob: vec![7; 64], privlevel: 3, ..ReportDesc::default() };
    let blobs = tsm.report_new(&desc).unwrap();
    assert_eq!(blobs.outblob.len(), 0x4a0);
    assert_eq!(&blobs.outblob[0x50..0x90], &[7; 64][..]);
    assert_eq!(blobs.outblob[0x30], 3, "privlevel is the report's VMPL");
    assert_eq!(blobs.auxblob, psp.table[..5048], "up to the furthest entry's end");
    let sent = psp.sent.lock().unwrap().pop().unwrap();
    assert_eq!((sent.0, sent.1, sent.3), (MSG_REPORT_REQ, 1, true));
    *psp.status.lock().unwrap() = 0x16;
    assert_eq!(errno(tsm.report_new(&desc)), Errno::EINVAL);
    *psp.status.lock().unwrap() = 0x27;
    assert_eq!(errno(tsm.report_new(&desc)), Errno::EINVAL);
    *psp.status.lock().unwrap() = 0x7;
    assert_eq!(errno(tsm.report_new(&desc)), Errno::ENXIO);
    *psp.status.lock().unwrap() = 0;
    psp.failures.lock().unwrap().push(SendFailure::Failed { exitinfo2: 0x16 });
    assert_eq!(errno(tsm.report_new(&desc)), Errno::EIO);
}

#[test]
fn certificate_table_size() {
    let mut table = vec![0u8; 16 << 10];
    assert_eq!(certs_size(&table), 0, "no entries: no auxblob");
    table[..16].fill(1);
    table[16..20].copy_from_slice(&72u32.to_le_bytes());
    table[20..24].copy_from_slice(&100u32.to_le_bytes());
    table[24..40].fill(2);
    table[40..44].copy_from_slice(&172u32.to_le_bytes());
    table[44..48].copy_from_slice(&10u32.to_le_bytes());
    assert_eq!(certs_size(&table), 182);
    // A hostile entry beyond the buffer is clipped; u32 wrap-around as in C.
    table[44..48].copy_from_slice(&(1u32 << 20).to_le_bytes());
    assert_eq!(certs_size(&table), 16 << 10);
    table[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    table[44..48].copy_from_slice(&2u32.to_le_bytes());
    assert_eq!(certs_size(&table), 172);
}
