//! /dev nodes and the memory devices; the boot tree.

use alloc::sync::Arc;
use alloc::vec;

use super::*;
use crate::fs::devfs::{self, set_entropy_source, CONSOLE};
use crate::fs::device::{register_char_device, Device};
use crate::fs::setup::boot_tree;
use crate::fs::types::{DeviceId, InodeType};

fn fake_entropy(buf: &mut [u8]) {
    for (index, byte) in buf.iter_mut().enumerate() {
        *byte = 0xa5 ^ index as u8;
    }
}

fn dev_context() -> FsContext {
    install_clock();
    set_entropy_source(fake_entropy);
    let (mount, _) = boot_tree(&[]).unwrap();
    FsContext::new(Path::root_of(&mount))
}

#[test]
fn nodes_have_linux_numbers_and_modes() {
    let ctx = dev_context();
    for (name, rdev, perm, gid) in devfs::NODES {
        let m = meta(&ctx, &alloc::format!("/dev/{name}"));
        assert_eq!(m.kind, InodeType::CharDevice, "{name}");
        assert_eq!((m.rdev, m.perm, m.gid), (rdev, perm, gid), "{name}");
    }
    assert_eq!(meta(&ctx, "/dev/null").rdev.encode(), 0x103);
    assert_eq!(meta(&ctx, "/dev/ttyS0").rdev, DeviceId::new(4, 64));
    assert_eq!(meta(&ctx, "/dev/shm").perm, 0o1777);
    let fd_link = ctx.lookup(None, b"/dev/fd", false, &root()).unwrap();
    assert_eq!(crate::fs::attr::readlink(&fd_link).unwrap(), b"/proc/self/fd");
    assert_eq!(ctx.root().mount().fs().name(), "rootfs");
}

#[test]
fn null_zero_full() {
    let ctx = dev_context();
    let null = open(&ctx, "/dev/null", O_RDWR).unwrap();
    let mut buf = [9u8; 8];
    assert_eq!(null.read(&mut buf).unwrap(), 0);
    assert_eq!(null.write(b"gone").unwrap(), 4);
    assert_eq!(null.seek(100, SEEK_SET).unwrap(), 100);
    let zero = open(&ctx, "/dev/zero", O_RDWR).unwrap();
    assert_eq!(zero.read(&mut buf).unwrap(), 8);
    assert_eq!(buf, [0u8; 8]);
    assert_eq!(zero.write(b"gone").unwrap(), 4);
    let full = open(&ctx, "/dev/full", O_RDWR).unwrap();
    buf = [9u8; 8];
    assert_eq!(full.read(&mut buf).unwrap(), 8);
    assert_eq!(buf, [0u8; 8]);
    assert_eq!(errno(full.write(b"x")), Errno::ENOSPC);
    assert_eq!(errno(full.ioctl(0x5401, 0)), Errno::ENOTTY);
    assert_eq!(full.poll(crate::fs::PollEvents::IN), crate::fs::PollEvents::IN);
    // A user may use them too (0666).
    assert!(ctx.open(None, b"/dev/null", O_RDWR, 0, &user()).is_ok());
    assert_eq!(errno(ctx.open(None, b"/dev/console", O_RDWR, 0, &user())), Errno::EACCES);
}

#[test]
fn random_reads_the_entropy_source() {
    let ctx = dev_context();
    for name in ["/dev/random", "/dev/urandom"] {
        let random = open(&ctx, name, O_RDWR).unwrap();
        let mut buf = vec![0u8; 300];
        assert_eq!(random.read(&mut buf).unwrap(), 300);
        assert_eq!(buf[0], 0xa5);
        assert_eq!(buf[1], 0xa4);
        assert_eq!(random.write(b"seed").unwrap(), 4);
    }
}

/// A stand-in console driver.
struct Console;

impl Device for Console {
    fn read(&self, _: u64, buf: &mut [u8], _: bool) -> crate::error::Result<usize> {
        buf[0] = b'\n';
        Ok(1)
    }
    fn write(&self, _: u64, buf: &[u8], _: bool) -> crate::error::Result<usize> {
        Ok(buf.len())
    }
    fn is_seekable(&self) -> bool {
        false
    }
}

#[test]
fn tty_nodes_bind_to_a_driver_registered_later() {
    let ctx = dev_context();
    assert_eq!(errno(open(&ctx, "/dev/ttyS0", O_RDWR)), Errno::ENXIO, "no tty driver yet");
    // Console is registered by this test only (tests share the registry).
    register_char_device(CONSOLE, Arc::new(Console));
    let console = open(&ctx, "/dev/console", O_RDWR).unwrap();
    assert_eq!(console.write(b"hello\n").unwrap(), 6);
    assert_eq!(errno(console.seek(0, SEEK_CUR)), Errno::ESPIPE);
}

#[test]
fn boot_tree_keeps_an_existing_dev_directory() {
    install_clock();
    let mut archive = alloc::vec::Vec::new();
    super::initramfs::member(&mut archive, "dev", 0o040700, 0, 1, b"");
    super::initramfs::member(&mut archive, "dev/keep", 0o100644, 0, 1, b"x");
    super::initramfs::trailer(&mut archive);
    let (mount, report) = boot_tree(&archive).unwrap();
    assert_eq!(report.unpacked, 2);
    let ctx = FsContext::new(Path::root_of(&mount));
    assert!(lookup(&ctx, "/dev/null").is_ok(), "devfs is mounted over it");
    assert_eq!(errno(lookup(&ctx, "/dev/keep")), Errno::ENOENT);
}

/// A 4 KiB in-memory "disk" behind a block device number.
struct RamDisk(crate::sync::Mutex<alloc::vec::Vec<u8>>, core::sync::atomic::AtomicBool);

impl Device for RamDisk {
    fn read(&self, offset: u64, buf: &mut [u8], _: bool) -> Result<usize> {
        let data = self.0.lock();
        let start = (offset as usize).min(data.len());
        let len = buf.len().min(data.len() - start);
        buf[..len].copy_from_slice(&data[start..start + len]);
        Ok(len)
    }
    fn write(&self, offset: u64, buf: &[u8], _: bool) -> Result<usize> {
        let mut data = self.0.lock();
        let start = offset as usize;
        data[start..start + buf.len()].copy_from_slice(buf);
        Ok(buf.len())
    }
    fn size(&self) -> u64 {
        4096
    }
    fn fsync(&self) -> Result<()> {
        self.1.store(true, core::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn block_nodes_reach_their_driver_seek_from_its_size_and_sync() {
    let id = DeviceId::new(254, 240);
    let disk = Arc::new(RamDisk(crate::sync::Mutex::new(vec![7u8; 4096]), core::sync::atomic::AtomicBool::new(false)));
    crate::fs::device::register_block_device(id, disk.clone());
    devfs::register_block_node("vdtest", id, 0o660, 6);
    // A character device with the same number is a different device.
    register_char_device(id, Arc::new(devfs::Zero));
    let ctx = dev_context();
    let m = meta(&ctx, "/dev/vdtest");
    assert_eq!((m.kind, m.rdev, m.perm, m.gid), (InodeType::BlockDevice, id, 0o660, 6));
    let file = open(&ctx, "/dev/vdtest", O_RDWR).unwrap();
    assert_eq!(file.seek(-4, SEEK_END).unwrap(), 4092);
    assert_eq!(file.write(b"tail").unwrap(), 4);
    assert_eq!(file.seek(0, SEEK_SET).unwrap(), 0);
    let mut buf = [0u8; 2];
    assert_eq!(file.read(&mut buf).unwrap(), 2);
    assert_eq!(buf, [7, 7], "the block driver answered, not /dev/zero");
    assert_eq!(&disk.0.lock()[4092..], b"tail");
    file.device().expect("a device file").fsync().unwrap();
    assert!(disk.1.load(core::sync::atomic::Ordering::SeqCst));
    crate::fs::device::unregister_char_device(id);
}
