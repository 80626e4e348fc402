//! configfs (`mount -t configfs none /sys/kernel/config`): user-space
//! created kernel objects. Subsystems register default groups under the
//! root ([`register_subsystem`]); a group with [`GroupOps`] lets `mkdir`
//! create items (and `rmdir` remove them), each item a directory of
//! attribute files whose reads and writes go to its [`ConfigItem`].
//!
//! | module | owns |
//! |---|---|
//! | [`dir`] | directories: root, default groups, item-making groups, items |
//! | [`attr`] | attribute files and their per-open buffers (fs/configfs/file.c) |
//!
//! Like Linux there is one tree however often configfs is mounted.
//! Must never: call an item after it was removed (its files then give
//! `ENOENT`), or hand an item more than its attribute's maximum.

pub mod attr;
pub mod dir;

use alloc::sync::Arc;
use alloc::vec::Vec;

use services::error::Result;
use services::fs::inode::{anonymous_device_id, FileSystem, Inode, StatFs};
use services::fs::types::DeviceId;

pub use self::attr::{AttrDesc, AttrKind};
pub use self::dir::ConfigDir;

/// Linux `CONFIGFS_MAGIC`.
pub const CONFIGFS_MAGIC: u64 = 0x6265_6570;

/// The object behind an item directory; `id` is the [`AttrDesc::id`] of
/// the attribute file.
pub trait ConfigItem: Send + Sync {
    /// A text attribute's contents (read once per open, on first read).
    fn show(&self, id: usize) -> Result<Vec<u8>>;
    /// Store one write (at most 4095 bytes) into a text attribute; the
    /// bytes accepted.
    fn store(&self, id: usize, data: &[u8]) -> Result<usize>;
    /// A binary attribute's whole contents (once per open).
    fn read_blob(&self, id: usize) -> Result<Vec<u8>>;
    /// Commit what an open wrote to a binary attribute (on its last
    /// close; the result is ignored, as Linux ignores it).
    fn write_blob(&self, id: usize, data: &[u8]) -> Result<()>;
}

/// What `mkdir`/`rmdir` in a group do.
pub trait GroupOps: Send + Sync {
    /// A new item named `name` and its attribute files.
    fn make_item(&self, name: &[u8]) -> Result<(Arc<dyn ConfigItem>, Vec<AttrDesc>)>;
    /// The item's directory was removed.
    fn drop_item(&self, item: &Arc<dyn ConfigItem>);
}

fn root() -> &'static Arc<ConfigDir> {
    static ROOT: spin::Once<Arc<ConfigDir>> = spin::Once::new();
    ROOT.call_once(ConfigDir::new_default)
}

fn dev() -> DeviceId {
    static DEV: spin::Once<DeviceId> = spin::Once::new();
    *DEV.call_once(anonymous_device_id)
}

/// Add `group` as `/sys/kernel/config/NAME` (a subsystem's default group).
pub fn register_subsystem(name: &[u8], group: Arc<ConfigDir>) {
    root().add_default_group(name, group);
}

/// A mounted configfs: the one tree.
pub struct ConfigFs;

impl FileSystem for ConfigFs {
    fn root(&self) -> Arc<dyn Inode> {
        root().clone()
    }
    fn statfs(&self) -> StatFs {
        StatFs { magic: CONFIGFS_MAGIC, block_size: 4096, name_max: 255, ..StatFs::default() }
    }
    fn name(&self) -> &'static str {
        "configfs"
    }
    fn dev(&self) -> DeviceId {
        dev()
    }
}

/// The `mount -t configfs` constructor (options are ignored, as Linux's
/// configfs has none).
pub fn new_configfs(_options: &[u8]) -> Result<Arc<dyn FileSystem>> {
    Ok(Arc::new(ConfigFs))
}

/// Make `configfs` mountable.
pub fn register_filesystem() {
    services::fs::fstype::register_filesystem_type("configfs", new_configfs);
}

#[cfg(test)]
mod tests;
