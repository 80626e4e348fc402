//! Behaviour tests of the VFS through the calls the syscall layer makes,
//! one file per area. Each test builds its own tree; the clock, the
//! entropy source and the device registry are global, so tests only
//! register devices under their own numbers and use a clock that only
//! moves forward.

mod attrs;
mod devfs;
mod fd_table;
mod initramfs;
mod io;
mod mounts;
mod namespace;
mod open;
mod walk;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicI64, Ordering};

use super::clock::{set_clock, Timespec};
use super::context::FsContext;
use super::flags::*;
use super::mount::{Mount, MountFlags};
use super::open_file::OpenFile;
use super::path::Path;
use super::perm::Credentials;
use super::ramfs::RamFs;
use crate::error::{Errno, Result};

pub(super) fn root() -> Credentials {
    Credentials::root()
}

pub(super) fn user() -> Credentials {
    Credentials::new(1000, 1000)
}

pub(super) fn other_user() -> Credentials {
    Credentials::new(2000, 2000)
}

/// A context on a fresh ramfs root.
pub(super) fn setup() -> FsContext {
    install_clock();
    let mount = Mount::new_root(RamFs::new(), MountFlags::empty());
    FsContext::new(Path::root_of(&mount))
}

/// The errno of a failed result.
#[track_caller]
pub(super) fn errno<T: core::fmt::Debug>(result: Result<T>) -> Errno {
    match result {
        Ok(value) => panic!("expected an error, got Ok({value:?})"),
        Err(error) => error.errno(),
    }
}

static TICKS: AtomicI64 = AtomicI64::new(0);

/// Every read of this clock is a second later than the previous one.
fn ticking_clock() -> Timespec {
    Timespec::new(1_000_000 + TICKS.fetch_add(1, Ordering::Relaxed), 500)
}

pub(super) fn install_clock() {
    set_clock(ticking_clock);
}

pub(super) fn open(ctx: &FsContext, path: &str, flags: u32) -> Result<Arc<OpenFile>> {
    ctx.open(None, path.as_bytes(), flags, 0o644, &root())
}

pub(super) fn write_file(ctx: &FsContext, path: &str, data: &[u8]) {
    let file = open(ctx, path, O_WRONLY | O_CREAT | O_TRUNC).expect("create file");
    assert_eq!(file.write(data).expect("write"), data.len());
}

pub(super) fn read_file(ctx: &FsContext, path: &str) -> Vec<u8> {
    let file = open(ctx, path, O_RDONLY).expect("open for reading");
    let mut out = Vec::new();
    let mut buf = [0u8; 1000];
    loop {
        let count = file.read(&mut buf).expect("read");
        if count == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..count]);
    }
}

pub(super) fn mkdir(ctx: &FsContext, path: &str, mode: u32) {
    ctx.mkdir(None, path.as_bytes(), mode, &root()).expect("mkdir");
}

pub(super) fn symlink(ctx: &FsContext, target: &str, path: &str) {
    ctx.symlink(target.as_bytes(), None, path.as_bytes(), &root()).expect("symlink");
}

pub(super) fn lookup(ctx: &FsContext, path: &str) -> Result<Path> {
    ctx.lookup(None, path.as_bytes(), true, &root())
}

pub(super) fn lookup_as(ctx: &FsContext, path: &str, creds: &Credentials) -> Result<Path> {
    ctx.lookup(None, path.as_bytes(), true, creds)
}

pub(super) fn meta(ctx: &FsContext, path: &str) -> super::types::Metadata {
    ctx.lookup(None, path.as_bytes(), false, &root()).expect("lookup").inode().metadata()
}

/// Set mode and owner directly (test setup, bypassing the checks).
pub(super) fn set_owner_mode(ctx: &FsContext, path: &str, uid: u32, gid: u32, perm: u32) {
    let target = ctx.lookup(None, path.as_bytes(), false, &root()).expect("lookup");
    target
        .inode()
        .set_attr(&super::types::SetAttr { perm: Some(perm), uid: Some(uid), gid: Some(gid), ..Default::default() })
        .expect("set_attr");
}
