//! User address spaces: [`VmSpace`] owns a PML4 whose lower half (user
//! space, 4 KiB pages) it manages and whose upper half is the kernel's.
//!
//! Owns: user page tables and the frames mapped in them. Each present user
//! leaf entry holds one reference to its frame; table pages are frames the
//! space owns; all are released when the space is dropped. Every address
//! a caller passes is checked (page-aligned, below [`USER_SPACE_END`],
//! which also rules out non-canonical addresses): bad input is an error,
//! never a panic.
//!
//! Copy-on-write: [`VmSpace::fork_cow`] shares every frame with the child
//! and write-protects private writable pages on both sides;
//! [`VmSpace::handle_cow_fault`] later gives the writer its own copy, or
//! the frame itself when nobody else holds it any more. Which pages are
//! logically writable is kept in a software bit (see [`pte`](super::pte)).

use alloc::sync::Arc;
use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};

use super::fault::PageFaultError;
use super::frame::Frame;
use super::kernel_space::{index, kernel_root, nx_bit};
use super::lock::IrqSafeMutex;
use super::page_table::table;
use super::paging_regs;
use super::pte::{Perms, Pte};
use super::{meta, tlb, OutOfMemory, PAGE_SIZE};

/// End of user space (exclusive): as Linux's TASK_SIZE_MAX, one page short
/// of the canonical limit, so no user instruction ends at the
/// non-canonical boundary (the SYSRET erratum).
pub const USER_SPACE_END: usize = 0x0000_7fff_ffff_f000;
/// PML4 entries of the user half.
const USER_ROOT_ENTRIES: usize = 256;

/// Why a [`VmSpace`] operation was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmError {
    /// An address or range bound is not a multiple of the page size.
    NotPageAligned,
    /// The range ends before it starts.
    InvalidRange,
    /// The address or range reaches past [`USER_SPACE_END`].
    OutsideUserSpace,
    /// [`VmSpace::map`] on a page that is already mapped.
    AlreadyMapped,
    /// No memory for page-table pages.
    OutOfMemory,
}

impl From<OutOfMemory> for VmError {
    fn from(_: OutOfMemory) -> Self {
        VmError::OutOfMemory
    }
}

impl core::fmt::Display for VmError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            VmError::NotPageAligned => "address not page-aligned",
            VmError::InvalidRange => "range ends before it starts",
            VmError::OutsideUserSpace => "address outside user space",
            VmError::AlreadyMapped => "page already mapped",
            VmError::OutOfMemory => "out of memory for page tables",
        })
    }
}

/// What a user page is mapped to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The frame's physical address.
    pub paddr: u64,
    /// Rights as the owner set them (a copy-on-write page reports WRITE).
    pub perms: Perms,
    /// Writable but shared: the next write copies the frame.
    pub copy_on_write: bool,
}

/// A user address space.
pub struct VmSpace {
    /// The PML4 frame (one reference, owned by this space).
    root: u64,
    /// Serialises changes to the user half of the tables.
    lock: IrqSafeMutex<()>,
}

/// The address space each CPU has loaded (by CPU index).
static ACTIVE: [IrqSafeMutex<Option<Arc<VmSpace>>>; crate::cpu_local::MAX_CPUS] =
    [const { IrqSafeMutex::new(None) }; crate::cpu_local::MAX_CPUS];

fn active_slot() -> &'static IrqSafeMutex<Option<Arc<VmSpace>>> {
    &ACTIVE[crate::cpu_local::this_cpu().index]
}

impl VmSpace {
    /// An empty user half over the kernel's upper half.
    pub fn new() -> Result<Self, OutOfMemory> {
        let root = Frame::alloc()?;
        // SAFETY: `root` is our fresh table page; the kernel's root is
        // never freed.
        let (ours, kernel) = unsafe { (table(root.paddr()), table(kernel_root())) };
        for i in USER_ROOT_ENTRIES..512 {
            ours[i].store(kernel[i].load(Ordering::Relaxed), Ordering::Relaxed);
        }
        Ok(Self { root: root.into_raw(), lock: IrqSafeMutex::new(()) })
    }

    /// Map `frame` at `vaddr` with `perms`. The space takes the handle. A
    /// private writable mapping of a frame that has other handles starts
    /// copy-on-write.
    pub fn map(&self, vaddr: usize, frame: Frame, perms: Perms) -> Result<(), VmError> {
        check_range(&(vaddr..vaddr.checked_add(PAGE_SIZE).ok_or(VmError::OutsideUserSpace)?))?;
        let _guard = self.lock.lock();
        let entry = self.entry_or_create(vaddr)?;
        if Pte(entry.load(Ordering::Acquire)).is_present() {
            return Err(VmError::AlreadyMapped);
        }
        let exclusive = frame.refcount() == 1;
        // Not-present entries are never cached in the TLB: no flush.
        entry.store(Pte::user_leaf(frame.into_raw(), perms, exclusive, nx_bit()).0, Ordering::Release);
        Ok(())
    }

    /// Unmap every page in `range`; returns how many were mapped.
    pub fn unmap(&self, range: Range<usize>) -> Result<usize, VmError> {
        check_range(&range)?;
        let _guard = self.lock.lock();
        let mut batch = ReleaseBatch::new(self.root);
        let mut count = 0;
        self.for_each_leaf(&range, &mut |vaddr, entry| {
            let old = Pte(entry.swap(0, Ordering::AcqRel));
            batch.push(vaddr, old.paddr());
            count += 1;
        });
        batch.flush();
        Ok(count)
    }

    /// Change the rights of every mapped page in `range` (whether a page is
    /// shared stays as it was); returns how many pages were changed.
    pub fn protect(&self, range: Range<usize>, perms: Perms) -> Result<usize, VmError> {
        check_range(&range)?;
        let _guard = self.lock.lock();
        let nx = nx_bit();
        let mut count = 0;
        self.for_each_leaf(&range, &mut |_, entry| {
            // A CAS loop keeps accessed/dirty bits the CPU sets meanwhile.
            let _ = entry.fetch_update(Ordering::AcqRel, Ordering::Acquire, |bits| {
                let pte = Pte(bits);
                let perms = if pte.perms().contains(Perms::SHARED) {
                    perms | Perms::SHARED
                } else {
                    perms.without(Perms::SHARED)
                };
                let exclusive = meta::refcount(pte.paddr()) == 1;
                Some(pte.with_rights(perms, exclusive, nx).0)
            });
            count += 1;
        });
        tlb::flush_range(self.root, range);
        Ok(count)
    }

    /// What the page holding `vaddr` is mapped to, if anything.
    pub fn query(&self, vaddr: usize) -> Result<Option<Mapping>, VmError> {
        check_address(vaddr)?;
        let _guard = self.lock.lock();
        Ok(self.leaf(vaddr).map(|pte| Mapping {
            paddr: pte.paddr(),
            perms: pte.perms(),
            copy_on_write: pte.is_copy_on_write(),
        }))
    }

    /// A new handle to the frame mapped at `vaddr`, if any.
    pub fn query_frame(&self, vaddr: usize) -> Result<Option<Frame>, VmError> {
        check_address(vaddr)?;
        let _guard = self.lock.lock();
        Ok(self.leaf(vaddr).map(|pte| {
            // SAFETY: the entry holds a reference to the frame (so it is
            // allocated) and we hold the lock, so it cannot be dropped
            // meanwhile; the new reference goes to the returned handle.
            unsafe {
                Frame::add_ref_raw(pte.paddr());
                Frame::from_raw(pte.paddr())
            }
        }))
    }

    /// The raw entry mapping `vaddr` (tests check hardware bits with it).
    pub(crate) fn raw_pte(&self, vaddr: usize) -> Option<Pte> {
        let _guard = self.lock.lock();
        self.leaf(vaddr)
    }

    /// A copy of this space for a forked process: the same frames, with
    /// private writable pages copy-on-write in both spaces.
    pub fn fork_cow(&self) -> Result<VmSpace, VmError> {
        let child = VmSpace::new()?;
        let _guard = self.lock.lock();
        let mut failed = false;
        self.for_each_leaf(&(0..USER_SPACE_END), &mut |vaddr, entry| {
            if failed {
                return;
            }
            let Ok(child_entry) = child.entry_or_create(vaddr) else {
                failed = true;
                return;
            };
            let cow = |bits: u64| {
                if bits & Pte::SW_SHARED == 0 {
                    bits & !Pte::WRITABLE
                } else {
                    bits
                }
            };
            let old = entry.fetch_update(Ordering::AcqRel, Ordering::Acquire, |bits| Some(cow(bits)));
            let shared = Pte(cow(old.unwrap_or_else(|bits| bits)));
            // SAFETY: the parent's entry holds a reference to the frame,
            // which keeps it allocated; the child's entry takes the new one.
            unsafe { Frame::add_ref_raw(shared.paddr()) };
            child_entry.store(shared.0, Ordering::Release);
        });
        // The parent's pages lost their hardware write right.
        tlb::flush_range(self.root, 0..USER_SPACE_END);
        if failed {
            // Dropping the partial child releases what it took.
            return Err(VmError::OutOfMemory);
        }
        Ok(child)
    }

    /// Resolve a write fault at `vaddr` on a copy-on-write page: copy the
    /// frame, or take it over when this space holds the only reference.
    /// `Ok` also when the page is already writable (another CPU resolved
    /// it first); an error when the write is not allowed at all.
    pub fn handle_cow_fault(&self, vaddr: usize) -> Result<(), PageFaultError> {
        if vaddr >= USER_SPACE_END {
            return Err(PageFaultError::NotUserAddress);
        }
        let page = vaddr & !(PAGE_SIZE - 1);
        let _guard = self.lock.lock();
        let Some(entry) = self.entry(page) else {
            return Err(PageFaultError::NotMapped);
        };
        let pte = Pte(entry.load(Ordering::Acquire));
        if !pte.is_present() {
            return Err(PageFaultError::NotMapped);
        }
        if pte.is_writable() {
            tlb::flush_range(self.root, page..page + PAGE_SIZE);
            return Ok(());
        }
        if !pte.is_copy_on_write() {
            return Err(PageFaultError::AccessViolation);
        }
        let old = pte.paddr();
        let new = if meta::refcount(old) == 1 {
            Pte(pte.0 | Pte::WRITABLE)
        } else {
            let copy = Frame::alloc_uninit().map_err(|_| PageFaultError::OutOfMemory)?;
            copy.copy_from_paddr(old);
            Pte((pte.0 & !Pte::ADDR_MASK) | copy.into_raw() | Pte::WRITABLE)
        };
        entry.store(new.0, Ordering::Release);
        tlb::flush_range(self.root, page..page + PAGE_SIZE);
        if new.paddr() != old {
            // SAFETY: the entry held one reference to `old`; it now points
            // to the copy and no TLB caches the old translation.
            drop(unsafe { Frame::from_raw(old) });
        }
        Ok(())
    }

    /// Load this space on this CPU (CR3) and keep it alive while loaded.
    pub fn activate(self: &Arc<Self>) {
        let mut active = active_slot().lock();
        tlb::note_loading(self.root);
        // SAFETY: the upper half of our PML4 is the kernel's (copied at
        // creation; those entries never change), so the kernel stays mapped.
        unsafe { paging_regs::write_cr3(self.root) };
        let previous = active.replace(self.clone());
        drop(active);
        drop(previous);
    }

    /// Is this space loaded on this CPU?
    pub fn is_active(&self) -> bool {
        paging_regs::read_cr3() == self.root
    }

    /// The leaf entry for `vaddr` (lock held by the caller).
    fn leaf(&self, vaddr: usize) -> Option<Pte> {
        let pte = Pte(self.entry(vaddr)?.load(Ordering::Acquire));
        pte.is_present().then_some(pte)
    }

    /// The level-1 entry slot for `vaddr`, if its tables exist (lock held
    /// by the caller, or the space not shared yet).
    fn entry(&self, vaddr: usize) -> Option<&AtomicU64> {
        let mut table_paddr = self.root;
        for level in [4, 3, 2] {
            // SAFETY: our root and the tables reached from it are ours and
            // only freed when the space is dropped.
            let pte = Pte(unsafe { table(table_paddr) }[index(vaddr, level)].load(Ordering::Acquire));
            if !pte.is_present() || pte.is_huge() {
                return None;
            }
            table_paddr = pte.paddr();
        }
        // SAFETY: as above.
        Some(&unsafe { table(table_paddr) }[index(vaddr, 1)])
    }

    /// The level-1 entry slot for `vaddr`, creating missing tables (lock
    /// held by the caller, or the space not shared yet).
    fn entry_or_create(&self, vaddr: usize) -> Result<&AtomicU64, OutOfMemory> {
        let mut table_paddr = self.root;
        for level in [4, 3, 2] {
            // SAFETY: our tables, alive until the space is dropped.
            let slot = &unsafe { table(table_paddr) }[index(vaddr, level)];
            let pte = Pte(slot.load(Ordering::Acquire));
            table_paddr = if pte.is_present() {
                pte.paddr()
            } else {
                let new_table = Frame::alloc()?.into_raw();
                slot.store(Pte::user_table(new_table).0, Ordering::Release);
                new_table
            };
        }
        // SAFETY: as above.
        Ok(&unsafe { table(table_paddr) }[index(vaddr, 1)])
    }

    /// Call `f` with the address and entry of every present leaf in `range`
    /// (lock held by the caller).
    fn for_each_leaf(&self, range: &Range<usize>, f: &mut dyn FnMut(usize, &AtomicU64)) {
        visit(self.root, 4, 0, range, f);
    }
}

/// Walk the present entries of `table_paddr` (level `level`, mapping from
/// `base`) that overlap `range`, down to the leaves.
fn visit(table_paddr: u64, level: u32, base: usize, range: &Range<usize>, f: &mut dyn FnMut(usize, &AtomicU64)) {
    let span = 1usize << (12 + 9 * (level - 1));
    let entries = if level == 4 { USER_ROOT_ENTRIES } else { 512 };
    let first = range.start.saturating_sub(base) / span;
    // SAFETY: a table of a live space, reached from its root through
    // present entries, with the space's lock held by the caller.
    let entries_of_table = unsafe { table(table_paddr) };
    for (i, slot) in entries_of_table.iter().enumerate().take(entries).skip(first) {
        let start = base + i * span;
        if start >= range.end {
            break;
        }
        let pte = Pte(slot.load(Ordering::Acquire));
        if !pte.is_present() {
            continue;
        }
        if level == 1 {
            f(start, slot);
        } else {
            visit(pte.paddr(), level - 1, start, range, f);
        }
    }
}

/// Release every table page and frame reference below `table_paddr`.
fn free_tables(table_paddr: u64, level: u32, entries: usize) {
    // SAFETY: a table of a space being dropped: nobody else uses it.
    let entries_of_table = unsafe { table(table_paddr) };
    for slot in entries_of_table.iter().take(entries) {
        let pte = Pte(slot.swap(0, Ordering::AcqRel));
        if !pte.is_present() {
            continue;
        }
        if level > 1 {
            free_tables(pte.paddr(), level - 1, 512);
        }
        // SAFETY: each present entry owns one reference to the frame or
        // table page it points to; the entry is now cleared.
        drop(unsafe { Frame::from_raw(pte.paddr()) });
    }
}

impl Drop for VmSpace {
    fn drop(&mut self) {
        // `activate` keeps the active space alive, so this is only a guard.
        if self.is_active() {
            tlb::note_loading(kernel_root());
            // SAFETY: the kernel's root maps the kernel.
            unsafe { paging_regs::write_cr3(kernel_root()) };
        }
        free_tables(self.root, 4, USER_ROOT_ENTRIES);
        // SAFETY: the space owns its root's reference; nothing uses it now.
        drop(unsafe { Frame::from_raw(self.root) });
    }
}

/// Load the kernel's own tables (no user space) on this CPU and release
/// the active space.
pub fn activate_kernel_space() {
    let mut active = active_slot().lock();
    tlb::note_loading(kernel_root());
    // SAFETY: the kernel's root maps the kernel.
    unsafe { paging_regs::write_cr3(kernel_root()) };
    let previous = active.take();
    drop(active);
    drop(previous);
}

/// The space loaded on this CPU, if any.
pub fn active_vm_space() -> Option<Arc<VmSpace>> {
    active_slot().lock().clone()
}

/// Frames unmapped but not yet released: their translations must leave
/// every TLB ([`tlb::flush_range`]) before the frames can be reused.
struct ReleaseBatch {
    root: u64,
    frames: [u64; 64],
    count: usize,
    /// Lowest and highest-plus-one page address pushed since the flush.
    low: usize,
    high: usize,
}

impl ReleaseBatch {
    fn new(root: u64) -> Self {
        Self { root, frames: [0; 64], count: 0, low: usize::MAX, high: 0 }
    }

    fn push(&mut self, vaddr: usize, frame: u64) {
        if self.count == self.frames.len() {
            self.flush();
        }
        self.frames[self.count] = frame;
        self.count += 1;
        self.low = self.low.min(vaddr);
        self.high = self.high.max(vaddr + PAGE_SIZE);
    }

    fn flush(&mut self) {
        if self.count == 0 {
            return;
        }
        tlb::flush_range(self.root, self.low..self.high);
        for &frame in &self.frames[..self.count] {
            // SAFETY: each frame's entry was cleared (its reference is ours)
            // and no TLB holds the translation any more.
            drop(unsafe { Frame::from_raw(frame) });
        }
        self.count = 0;
        self.low = usize::MAX;
        self.high = 0;
    }
}

/// `vaddr` is a user address.
fn check_address(vaddr: usize) -> Result<(), VmError> {
    if vaddr < USER_SPACE_END {
        Ok(())
    } else {
        Err(VmError::OutsideUserSpace)
    }
}

/// `range` is a page-aligned range of user space.
fn check_range(range: &Range<usize>) -> Result<(), VmError> {
    if !range.start.is_multiple_of(PAGE_SIZE) || !range.end.is_multiple_of(PAGE_SIZE) {
        return Err(VmError::NotPageAligned);
    }
    if range.end < range.start {
        return Err(VmError::InvalidRange);
    }
    if range.end > USER_SPACE_END {
        return Err(VmError::OutsideUserSpace);
    }
    Ok(())
}
