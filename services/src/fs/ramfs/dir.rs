//! The entries of a ramfs directory, each with a stable position
//! ("cookie") so that `getdents64`/`lseek` offsets stay valid while entries
//! come and go: positions 0 and 1 are "." and "..", entries take
//! increasing positions from 2 and never move (a rename re-inserts).
//!
//! Owns: the name -> inode map and the position index. Nothing else (link
//! counts and times are the inode's business).

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;

use super::inode::RamInode;

/// First position of a real entry.
pub const FIRST_ENTRY_POSITION: u64 = 2;

#[derive(Debug)]
pub struct DirEntries {
    /// The directory's parent (itself for a root).
    pub parent: Weak<RamInode>,
    by_name: BTreeMap<Vec<u8>, (u64, Arc<RamInode>)>,
    by_position: BTreeMap<u64, Vec<u8>>,
    next_position: u64,
}

impl DirEntries {
    pub fn new(parent: Weak<RamInode>) -> Self {
        DirEntries {
            parent,
            by_name: BTreeMap::new(),
            by_position: BTreeMap::new(),
            next_position: FIRST_ENTRY_POSITION,
        }
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub fn get(&self, name: &[u8]) -> Option<&Arc<RamInode>> {
        self.by_name.get(name).map(|(_, inode)| inode)
    }

    /// Add `name` (the caller made sure it is absent).
    pub fn insert(&mut self, name: &[u8], inode: Arc<RamInode>) {
        let position = self.next_position;
        self.next_position += 1;
        self.by_position.insert(position, name.to_vec());
        self.by_name.insert(name.to_vec(), (position, inode));
    }

    pub fn remove(&mut self, name: &[u8]) -> Option<Arc<RamInode>> {
        let (position, inode) = self.by_name.remove(name)?;
        self.by_position.remove(&position);
        Some(inode)
    }

    /// Point an existing `name` at another inode, keeping its position
    /// (`RENAME_EXCHANGE`). Returns the previous inode.
    pub fn replace(&mut self, name: &[u8], inode: Arc<RamInode>) -> Option<Arc<RamInode>> {
        let slot = self.by_name.get_mut(name)?;
        Some(core::mem::replace(&mut slot.1, inode))
    }

    /// Entries at positions >= `from`, in position order, each with its
    /// position.
    pub fn from_position(&self, from: u64) -> impl Iterator<Item = (u64, &[u8], &Arc<RamInode>)> + '_ {
        self.by_position.range(from.max(FIRST_ENTRY_POSITION)..).filter_map(move |(&position, name)| {
            self.by_name.get(name).map(|(_, inode)| (position, name.as_slice(), inode))
        })
    }
}
