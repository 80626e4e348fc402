//! A process's address space bound to the hardware: the VMA bookkeeping
//! ([`VmaSet`], [`ProgramBreak`]) next to the framework [`VmSpace`] that
//! holds the page tables, kept in step.
//!
//! Owns: demand paging (a fault in a VMA whose page is not there yet gets
//! a zeroed frame, or a private copy of the file page), stack growth below
//! the `[stack]` VMA, and the mm syscalls' effects on page tables (`brk`,
//! `mmap`, `munmap`, `mprotect`), plus the copy-on-write copy for `fork`.
//!
//! Lock order: the state lock is never held while user memory is touched
//! (user copies may fault and come back here).

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;

use framework::mm::{alloc_frame, Frame, Perms, VmError, VmSpace};

use super::brk::ProgramBreak;
use super::maps::MapsContext;
use super::mman::{Prot, Sharing};
use super::vm_layout::{page_align_down, PAGE_SIZE, STACK_GUARD_GAP, STACK_TOP};
use super::vma::{Backing, Placement, Range, Vma, VmaSet};
use crate::error::{Errno, Error, Result};
use crate::fs::Inode;
use crate::sync::Mutex;
use crate::{errno, return_errno_with_message};

/// What faulted: the access kind decides which VMA rights are needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Execute,
}

/// The bookkeeping half of an address space.
#[derive(Clone)]
pub struct MmState {
    pub vmas: VmaSet,
    pub brk: ProgramBreak,
    pub maps: MapsContext,
    /// `end_data - start_data` of the program, for RLIMIT_DATA in brk.
    pub data_size: u64,
    /// Files behind file-backed VMAs, by the `FileRef::id` they carry.
    pub files: BTreeMap<u64, Arc<dyn Inode>>,
    /// `RLIMIT_STACK`'s soft limit at exec: how far the stack may grow.
    pub stack_limit: u64,
}

/// An address space: page tables plus bookkeeping.
pub struct Mm {
    vm: Arc<VmSpace>,
    state: Mutex<MmState>,
}

fn vm_error(error: VmError) -> Error {
    match error {
        VmError::OutOfMemory => errno!(ENOMEM, "out of memory for page tables"),
        _ => errno!(EFAULT, "page-table operation refused"),
    }
}

fn oom() -> Error {
    errno!(ENOMEM, "out of physical memory")
}

/// The page rights a VMA's protection gives (None: nothing may be mapped).
pub fn perms_for(prot: Prot, sharing: Sharing) -> Option<Perms> {
    if !prot.read && !prot.write && !prot.exec {
        return None;
    }
    let mut perms = Perms::READ;
    if prot.write {
        perms |= Perms::WRITE;
    }
    if prot.exec {
        perms |= Perms::EXEC;
    }
    if sharing == Sharing::Shared {
        perms |= Perms::SHARED;
    }
    Some(perms)
}

/// The key a file is known by in `FileRef::id` (the inode's identity
/// while it is kept alive in `MmState::files`).
pub fn inode_key(inode: &Arc<dyn Inode>) -> u64 {
    Arc::as_ptr(inode) as *const () as usize as u64
}

impl Mm {
    /// An empty address space with `state`'s bookkeeping (nothing mapped).
    pub fn new(state: MmState) -> Result<Arc<Mm>> {
        let vm = VmSpace::new().map_err(|_| oom())?;
        Ok(Arc::new(Mm { vm: Arc::new(vm), state: Mutex::new(state) }))
    }

    pub fn vm(&self) -> &Arc<VmSpace> {
        &self.vm
    }

    /// A snapshot of the bookkeeping (for /proc and tests).
    pub fn state(&self) -> MmState {
        self.state.lock().clone()
    }

    /// Map `frame` at `page`, replacing what is there.
    pub fn map_page(&self, page: u64, frame: Frame, perms: Perms) -> Result<()> {
        let vaddr = page as usize;
        match self.vm.map(vaddr, frame.clone(), perms) {
            Ok(()) => Ok(()),
            Err(VmError::AlreadyMapped) => {
                self.vm.unmap(vaddr..vaddr + PAGE_SIZE as usize).map_err(vm_error)?;
                self.vm.map(vaddr, frame, perms).map_err(vm_error)
            }
            Err(error) => Err(vm_error(error)),
        }
    }

    fn unmap_ranges(&self, ranges: &[Range]) {
        for &(start, end) in ranges {
            if let Err(error) = self.vm.unmap(start as usize..end as usize) {
                log::warn!("mm: unmap [{:#x}, {:#x}) failed: {}", start, end, error);
            }
        }
    }

    /// Resolve a fault at `addr`: `Ok` when the access may be retried,
    /// else the errno of why not: `EIO` for a file page that is not there
    /// (beyond the end of the file, or unreadable: SIGBUS on Linux), any
    /// other for a bad access (SIGSEGV).
    pub fn handle_fault(&self, addr: u64, access: Access) -> core::result::Result<(), Errno> {
        let mut state = self.state.lock();
        self.fault_locked(&mut state, addr, access).map_err(|e| e.errno())
    }

    fn fault_locked(&self, state: &mut MmState, addr: u64, access: Access) -> Result<()> {
        let page = page_align_down(addr);
        let vma = match state.vmas.find(addr) {
            Some(vma) => vma.clone(),
            None => grow_stack(state, addr)?,
        };
        let allowed = match access {
            Access::Read => vma.prot.read || vma.prot.write || vma.prot.exec,
            Access::Write => vma.prot.write,
            Access::Execute => vma.prot.exec,
        };
        if !allowed {
            return_errno_with_message!(EFAULT, "access not allowed by the mapping");
        }
        let Some(perms) = perms_for(vma.prot, vma.sharing) else {
            return_errno_with_message!(EFAULT, "PROT_NONE mapping");
        };
        if self.vm.query(page as usize).map_err(vm_error)?.is_some() {
            // Present: a protection fault the framework did not resolve
            // (copy-on-write is resolved before we get here).
            return_errno_with_message!(EFAULT, "protection fault on a present page");
        }
        let file_page = match &vma.backing {
            Backing::File(file) => {
                let inode = state.files.get(&file.id).ok_or(errno!(EIO, "file of a mapping is gone"))?;
                let offset = vma.offset + (page - vma.start);
                // As filemap_fault: a page wholly past the end of the file.
                if offset >= inode.metadata().size.div_ceil(PAGE_SIZE) * PAGE_SIZE {
                    return_errno_with_message!(EIO, "file mapping page beyond the end of the file");
                }
                Some((inode.clone(), offset))
            }
            _ => None,
        };
        let frame = alloc_frame().map_err(|_| oom())?;
        if let Some((inode, offset)) = file_page {
            let mut buf = [0u8; PAGE_SIZE as usize];
            let mut got = 0;
            while got < buf.len() {
                match inode.read_at(offset + got as u64, &mut buf[got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(error) => return Err(error),
                }
            }
            frame.write_bytes(0, &buf[..got]).map_err(|_| errno!(EIO, "frame write"))?;
        }
        self.vm.map(page as usize, frame, perms).map_err(vm_error)
    }

    /// Bring in every page of `[addr, addr + len)` the VMAs allow for the
    /// access; false if one cannot be (the caller reports EFAULT).
    pub fn populate(&self, addr: u64, len: u64, write: bool) -> bool {
        let Some(end) = addr.checked_add(len) else { return false };
        let mut state = self.state.lock();
        let mut page = page_align_down(addr);
        while page < end {
            match self.vm.query(page as usize) {
                Ok(Some(mapping)) => {
                    if write && !mapping.perms.contains(Perms::WRITE) {
                        return false;
                    }
                }
                Ok(None) => {
                    let access = if write { Access::Write } else { Access::Read };
                    if self.fault_locked(&mut state, page, access).is_err() {
                        return false;
                    }
                }
                Err(_) => return false,
            }
            page += PAGE_SIZE;
        }
        true
    }

    /// A copy-on-write copy for `fork`.
    pub fn fork(&self) -> Result<Arc<Mm>> {
        let state = self.state.lock().clone();
        let vm = self.vm.fork_cow().map_err(vm_error)?;
        Ok(Arc::new(Mm { vm: Arc::new(vm), state: Mutex::new(state) }))
    }

    /// `brk(2)`: the new (or unchanged) break.
    pub fn brk(&self, requested: u64, data_limit: u64) -> u64 {
        let mut state = self.state.lock();
        let limit = data_limit.saturating_sub(state.data_size);
        let MmState { vmas, brk, maps, .. } = &mut *state;
        let outcome = brk.brk(vmas, requested, limit);
        maps.brk = brk.current;
        self.unmap_ranges(&outcome.unmapped);
        outcome.brk
    }

    /// `mmap(2)` after argument decoding: `template` carries protection,
    /// sharing and backing (its range is ignored); `file` is the inode of
    /// a file mapping. Shared anonymous memory is populated at once so
    /// that `fork` shares its frames.
    pub fn mmap(&self, place: Placement, len: u64, template: Vma, file: Option<Arc<dyn Inode>>, populate: bool) -> Result<u64> {
        let shared_anon = template.sharing == Sharing::Shared && template.backing == Backing::Anonymous;
        let (addr, replaced) = {
            let mut state = self.state.lock();
            if let (Some(inode), Backing::File(file_ref)) = (file, &template.backing) {
                state.files.insert(file_ref.id, inode);
            }
            let (addr, replaced) = state.vmas.mmap(place, len, template)?;
            (addr, replaced)
        };
        self.unmap_ranges(&replaced);
        if shared_anon || populate {
            let mut state = self.state.lock();
            let mut page = addr;
            while page < addr + len {
                // Failures (PROT_NONE) leave the page to a later fault.
                let _ = self.fault_locked(&mut state, page, Access::Read);
                page += PAGE_SIZE;
            }
        }
        Ok(addr)
    }

    /// `munmap(2)`.
    pub fn munmap(&self, addr: u64, len: u64) -> Result<()> {
        let removed = self.state.lock().vmas.munmap(addr, len)?;
        self.unmap_ranges(&removed);
        Ok(())
    }

    /// `mprotect(2)`: the bookkeeping first, then the page rights of every
    /// VMA in the range (also after a partial failure, as Linux leaves it).
    /// PROT_NONE pages are unmapped (the framework has no "mapped but not
    /// accessible" state yet): their contents are lost.
    pub fn mprotect(&self, addr: u64, len: u64, prot: u32) -> Result<()> {
        let mut state = self.state.lock();
        let result = state.vmas.mprotect(addr, len, prot);
        let end = addr.saturating_add(super::vm_layout::page_align_up(len).unwrap_or(u64::MAX));
        let pieces: Vec<(u64, u64, Prot, Sharing)> = state
            .vmas
            .overlapping(addr, end)
            .map(|v| (v.start.max(addr), v.end.min(end), v.prot, v.sharing))
            .collect();
        drop(state);
        for (start, end, prot, sharing) in pieces {
            let range = start as usize..end as usize;
            let applied = match perms_for(prot, sharing) {
                Some(perms) => self.vm.protect(range, perms).map(|_| ()),
                None => self.vm.unmap(range).map(|_| ()),
            };
            if let Err(error) = applied {
                log::warn!("mm: mprotect [{:#x}, {:#x}): {}", start, end, error);
            }
        }
        result.map_err(Into::into)
    }

    /// `madvise(MADV_DONTNEED)`: drop the pages; private memory reads
    /// back as zeros (anonymous) or the file's bytes on the next touch.
    pub fn discard(&self, addr: u64, len: u64) {
        let Some(end) = super::vm_layout::page_align_up(len).and_then(|l| addr.checked_add(l)) else { return };
        let ranges: Vec<Range> = {
            let state = self.state.lock();
            state.vmas.overlapping(addr, end).filter(|v| v.sharing == Sharing::Private).map(|v| (v.start.max(addr), v.end.min(end))).collect()
        };
        self.unmap_ranges(&ranges);
    }

    /// `mremap(2)`: moves are done by moving the page-table entries' frames.
    pub fn mremap(&self, addr: u64, old_len: u64, new_len: u64, flags: u32, new_addr: u64) -> Result<u64> {
        let remap = self.state.lock().vmas.mremap(addr, old_len, new_len, flags, new_addr)?;
        // First what the move replaced (MREMAP_FIXED's target range), so
        // that it does not take the pages that travel there with it.
        self.unmap_ranges(&remap.unmapped);
        if let Some((from, to, len)) = remap.moved {
            let mut offset = 0;
            while offset < len {
                let src = (from + offset) as usize;
                if let Ok(Some(frame)) = self.vm.query_frame(src) {
                    let perms = self.vm.query(src).ok().flatten().map(|m| m.perms).unwrap_or(Perms::RW);
                    self.vm.unmap(src..src + PAGE_SIZE as usize).map_err(vm_error)?;
                    self.map_page(to + offset, frame, perms)?;
                }
                offset += PAGE_SIZE;
            }
        }
        Ok(remap.addr)
    }
}

/// Extend the grows-down VMA just above `addr` down to it, within the
/// stack limit and keeping the guard gap to the mapping below.
fn grow_stack(state: &mut MmState, addr: u64) -> Result<Vma> {
    let Some(stack) = state.vmas.find_from(addr).filter(|v| v.grows_down).cloned() else {
        return_errno_with_message!(EFAULT, "no mapping at the address");
    };
    let new_start = page_align_down(addr);
    if STACK_TOP.saturating_sub(new_start) > state.stack_limit {
        return_errno_with_message!(EFAULT, "stack would exceed RLIMIT_STACK");
    }
    let below = state.vmas.iter().filter(|v| v.end <= stack.start).last();
    if below.is_some_and(|v| v.end.saturating_add(STACK_GUARD_GAP) > new_start) {
        return_errno_with_message!(EFAULT, "stack would run into the guard gap");
    }
    let grown = Vma { start: new_start, end: stack.start, ..stack.clone() };
    state.vmas.map_fixed(grown, true).map_err(|e| Error::from(e).errno()).map_err(Error::new)?;
    state.vmas.find(addr).cloned().ok_or(Error::with_message(Errno::EFAULT, "stack growth lost"))
}
