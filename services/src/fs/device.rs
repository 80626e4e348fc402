//! Character devices: the [`Device`] trait a driver implements, poll
//! readiness bits, and the registry that maps a device number to its
//! driver (Linux's chrdev table).
//!
//! Owns: the registry. Device nodes in any filesystem store only the
//! number and look the driver up here when used, so a node (say
//! `/dev/console`) may exist before its driver registers; opening it then
//! fails with `ENXIO`, as Linux does for a number without a driver.

use alloc::collections::BTreeMap;
use alloc::sync::Arc;

use super::types::DeviceId;
use crate::error::Result;
use crate::return_errno_with_message;
use crate::sync::RwLock;

/// `poll` event bits (Linux `POLL*` values).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PollEvents(u16);

impl PollEvents {
    pub const EMPTY: PollEvents = PollEvents(0);
    pub const IN: PollEvents = PollEvents(0x001);
    pub const PRI: PollEvents = PollEvents(0x002);
    pub const OUT: PollEvents = PollEvents(0x004);
    pub const ERR: PollEvents = PollEvents(0x008);
    pub const HUP: PollEvents = PollEvents(0x010);
    pub const NVAL: PollEvents = PollEvents(0x020);
    pub const RDNORM: PollEvents = PollEvents(0x040);
    pub const WRNORM: PollEvents = PollEvents(0x100);

    pub const fn from_bits_truncate(bits: u16) -> Self {
        PollEvents(bits & 0x17f)
    }
    pub const fn bits(self) -> u16 {
        self.0
    }
    pub const fn union(self, other: PollEvents) -> Self {
        PollEvents(self.0 | other.0)
    }
    pub const fn intersection(self, other: PollEvents) -> Self {
        PollEvents(self.0 & other.0)
    }
    pub const fn contains(self, other: PollEvents) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// What an always-ready file reports (regular files, null, zero, ...),
    /// restricted to `interest` plus the always-reported ERR/HUP.
    pub const fn always_ready(interest: PollEvents) -> Self {
        let ready = PollEvents::IN.union(PollEvents::OUT).union(PollEvents::RDNORM).union(PollEvents::WRNORM);
        ready.intersection(interest)
    }
}

/// A character device driver. Offsets are the open file's position (most
/// devices ignore them). `nonblocking` is the file's `O_NONBLOCK`.
pub trait Device: Send + Sync {
    /// Called on every `open` of a node with this number.
    fn open(&self, _flags: u32) -> Result<()> {
        Ok(())
    }

    fn read(&self, offset: u64, buf: &mut [u8], nonblocking: bool) -> Result<usize>;

    fn write(&self, offset: u64, buf: &[u8], nonblocking: bool) -> Result<usize>;

    /// `arg` is the raw syscall argument (often a user address: the
    /// syscall layer will have to hand the driver a user-memory accessor
    /// for those, once the framework provides one).
    fn ioctl(&self, _cmd: u32, _arg: u64) -> Result<i64> {
        return_errno_with_message!(ENOTTY, "device has no ioctls")
    }

    /// Readiness now, restricted to `interest` (ERR/HUP always count).
    fn poll(&self, interest: PollEvents) -> PollEvents {
        PollEvents::always_ready(interest)
    }

    /// `false` for ttys and other streams: `lseek`/`pread`/`pwrite` give
    /// `ESPIPE`.
    fn is_seekable(&self) -> bool {
        true
    }

    /// The size `lseek(SEEK_END)` counts from (0 for character devices;
    /// a block device's capacity in bytes).
    fn size(&self) -> u64 {
        0
    }

    /// `fsync`/`fdatasync`: `EINVAL` unless the device has data to flush.
    fn fsync(&self) -> Result<()> {
        return_errno_with_message!(EINVAL, "fsync of a device that cannot be synced")
    }
}

static CHAR_DEVICES: RwLock<BTreeMap<DeviceId, Arc<dyn Device>>> = RwLock::new(BTreeMap::new());

/// Register (or replace) the driver of character device `id`.
pub fn register_char_device(id: DeviceId, device: Arc<dyn Device>) {
    CHAR_DEVICES.write().insert(id, device);
}

/// Remove the driver of `id`; nodes with this number then give `ENXIO`.
pub fn unregister_char_device(id: DeviceId) -> Option<Arc<dyn Device>> {
    CHAR_DEVICES.write().remove(&id)
}

/// The driver of character device `id`, if registered.
pub fn char_device(id: DeviceId) -> Option<Arc<dyn Device>> {
    CHAR_DEVICES.read().get(&id).cloned()
}

/// Block device drivers (Linux's bdev table: numbers separate from the
/// character devices').
static BLOCK_DEVICES: RwLock<BTreeMap<DeviceId, Arc<dyn Device>>> = RwLock::new(BTreeMap::new());

/// Register (or replace) the driver of block device `id`.
pub fn register_block_device(id: DeviceId, device: Arc<dyn Device>) {
    BLOCK_DEVICES.write().insert(id, device);
}

/// The driver of block device `id`, if registered.
pub fn block_device(id: DeviceId) -> Option<Arc<dyn Device>> {
    BLOCK_DEVICES.read().get(&id).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;
    impl Device for Echo {
        fn read(&self, _: u64, buf: &mut [u8], _: bool) -> Result<usize> {
            buf.fill(b'e');
            Ok(buf.len())
        }
        fn write(&self, _: u64, buf: &[u8], _: bool) -> Result<usize> {
            Ok(buf.len())
        }
    }

    #[test]
    fn registry_register_lookup_unregister() {
        let id = DeviceId::new(240, 17); // a "local/experimental" major
        assert!(char_device(id).is_none());
        register_char_device(id, Arc::new(Echo));
        let device = char_device(id).expect("registered");
        let mut buf = [0u8; 3];
        assert_eq!(device.read(0, &mut buf, false).unwrap(), 3);
        assert_eq!(&buf, b"eee");
        assert_eq!(device.ioctl(0x5401, 0).unwrap_err().errno(), crate::error::Errno::ENOTTY);
        assert!(device.is_seekable());
        assert_eq!(device.poll(PollEvents::IN), PollEvents::IN);
        assert!(unregister_char_device(id).is_some());
        assert!(char_device(id).is_none());
    }
}
