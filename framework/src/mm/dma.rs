//! DMA buffers: the only memory the kernel hands to a device or the host.
//! On a confidential VM a device (emulated by the untrusted host) can only
//! reach *shared* memory, so a [`DmaBuffer`] is private memory converted
//! to shared: zeroed first (nothing private leaks), converted through the
//! platform ([`SharedMemory`], implemented by the tee layer: MapGPA on
//! TDX, page-state change on SEV-SNP, nothing without a TEE), and mapped
//! through its shared alias in the *shared-memory window*. On drop it is
//! unmapped, converted back (re-accepted, zeroed) and only then freed, so
//! a page the host could still write never returns to the allocator.
//!
//! The window (PML4 entry 384, [`SHARED_WINDOW`]) maps physical address
//! `p` at `SHARED_WINDOW + p` with the platform's shared PTE bits (TDX:
//! the GPAW shared bit), 4 KiB pages, not global. The private direct-map
//! alias of a shared page is never used: `DmaBuffer` offers no way to it.
//!
//! Access is by copying bytes in and out ([`DmaBuffer::read_bytes`],
//! [`DmaBuffer::write_bytes`]): the host may change shared memory at any
//! time, so no Rust reference ever points into it, and callers copy out
//! once, then validate (no double fetch).
//!
//! Owns: the window's page tables and the buffer life cycle. Must never:
//! give a device the address of a private page, or free a page whose
//! conversion back to private failed (it is leaked instead, and logged).

use core::sync::atomic::{AtomicU64, Ordering};

use boot::PhysRange;

use super::frame::{Frame, OutOfBounds, Segment};
use super::kernel_space::{index, kernel_root, nx_bit};
use super::page_table::table;
use super::pte::Pte;
use super::{OutOfMemory, PAGE_SIZE};
use crate::sync::SpinLock;

/// Start of the shared-memory window (PML4 entry 384).
pub const SHARED_WINDOW: usize = 0xffff_c000_0000_0000;
/// Physical addresses the window can alias for DMA buffers (RAM): one
/// PML4 entry's worth.
pub const WINDOW_SPAN: u64 = 512 << 30;
/// PML4 entries of the window (384..392), all created at boot: device
/// registers can sit far above RAM (OVMF places 64-bit BARs near 1 TiB).
pub const WINDOW_PML4_ENTRIES: usize = 8;
/// Physical addresses [`map_mmio`] can reach.
pub const MMIO_SPAN: u64 = WINDOW_SPAN * WINDOW_PML4_ENTRIES as u64;

/// Why a platform conversion failed (the platform logs the details).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConversionFailed;

/// How this platform shares memory with the host (the tee layer's
/// implementation; the default shares nothing because nothing is hidden).
pub trait SharedMemory: Sync {
    /// Bits a PTE of a shared mapping carries (TDX: the shared bit).
    fn shared_pte_bits(&self) -> u64;
    /// Bits of the address the host and its devices use for a shared page
    /// (TDX: the shared bit; none on SEV-SNP or without a TEE).
    fn shared_address_bits(&self) -> u64;
    /// Make `range` (page-aligned) shared, zeroing it first.
    ///
    /// # Safety
    /// The caller owns the range and nothing else references it.
    unsafe fn make_shared(&self, range: PhysRange) -> Result<(), ConversionFailed>;
    /// Take `range` back and make it private (accepted, zeroed).
    ///
    /// # Safety
    /// As for `make_shared`, and no shared mapping of it is left.
    unsafe fn make_private(&self, range: PhysRange) -> Result<(), ConversionFailed>;
}

/// Without a TEE: memory is never hidden from the host, so "sharing"
/// changes nothing.
struct NothingHidden;

impl SharedMemory for NothingHidden {
    fn shared_pte_bits(&self) -> u64 {
        0
    }
    fn shared_address_bits(&self) -> u64 {
        0
    }
    unsafe fn make_shared(&self, _range: PhysRange) -> Result<(), ConversionFailed> {
        Ok(())
    }
    unsafe fn make_private(&self, _range: PhysRange) -> Result<(), ConversionFailed> {
        Ok(())
    }
}

static BACKEND: spin::Once<&'static dyn SharedMemory> = spin::Once::new();

/// Install the platform's sharing (once, at boot, before any DMA buffer).
pub fn set_shared_memory(backend: &'static dyn SharedMemory) {
    BACKEND.call_once(|| backend);
}

fn backend() -> &'static dyn SharedMemory {
    BACKEND.get().copied().unwrap_or(&NothingHidden)
}

/// Why a buffer could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmaError {
    OutOfMemory,
    /// The platform refused the conversion to shared (the pages were
    /// leaked: their state is unknown).
    ConversionFailed,
    /// The memory lies beyond the window.
    OutsideWindow,
}

impl From<OutOfMemory> for DmaError {
    fn from(_: OutOfMemory) -> Self {
        DmaError::OutOfMemory
    }
}

/// Serialises changes to the window's tables.
static WINDOW_LOCK: SpinLock<()> = SpinLock::new(());
/// Buffers and pages alive, pages leaked after a failed conversion back.
static LIVE_PAGES: AtomicU64 = AtomicU64::new(0);
static LEAKED_PAGES: AtomicU64 = AtomicU64::new(0);

/// 2^order contiguous pages shared with the host, mapped in the window.
#[derive(Debug)]
pub struct DmaBuffer {
    /// Invariant: shared with the host and mapped at `SHARED_WINDOW +
    /// paddr` while the buffer lives; `None` only during drop.
    segment: Option<Segment>,
}

impl DmaBuffer {
    /// A zeroed buffer of 2^order pages, shared with the host.
    pub fn alloc(order: u8) -> Result<Self, DmaError> {
        let segment = Segment::alloc(order)?;
        let range = PhysRange { start: segment.paddr(), end: segment.paddr() + segment.size() as u64 };
        if range.end > WINDOW_SPAN {
            return Err(DmaError::OutsideWindow);
        }
        // SAFETY: the segment is ours alone (just allocated, no other
        // handle), and nothing maps it but the private direct map.
        if unsafe { backend().make_shared(range) }.is_err() {
            log::error!("dma: converting [{:#x}-{:#x}) to shared failed: leaking it", range.start, range.end);
            LEAKED_PAGES.fetch_add(range.len() / PAGE_SIZE as u64, Ordering::Relaxed);
            segment.leak();
            return Err(DmaError::ConversionFailed);
        }
        let buffer = DmaBuffer { segment: Some(segment) };
        if let Err(error) = map_window(range) {
            // Dropping unmaps what was mapped and converts back.
            drop(buffer);
            return Err(error.into());
        }
        LIVE_PAGES.fetch_add(range.len() / PAGE_SIZE as u64, Ordering::Relaxed);
        Ok(buffer)
    }

    fn segment(&self) -> &Segment {
        self.segment.as_ref().expect("a live DMA buffer has its segment")
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.segment().size()
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    /// Physical address (without any shared bit).
    pub fn paddr(&self) -> u64 {
        self.segment().paddr()
    }

    /// The address the host and its devices use for this buffer (TDX:
    /// the shared GPA).
    pub fn device_address(&self) -> u64 {
        self.paddr() | backend().shared_address_bits()
    }

    /// The kernel's (shared) mapping of the buffer.
    pub fn vaddr(&self) -> usize {
        SHARED_WINDOW + self.paddr() as usize
    }

    /// The physical range.
    pub fn range(&self) -> PhysRange {
        PhysRange { start: self.paddr(), end: self.paddr() + self.len() as u64 }
    }

    fn span(&self, offset: usize, len: usize) -> Result<usize, OutOfBounds> {
        match offset.checked_add(len) {
            Some(end) if end <= self.len() => Ok(self.vaddr() + offset),
            _ => Err(OutOfBounds),
        }
    }

    /// Copy bytes out (the host may have changed them a moment ago and may
    /// change them again: validate the copy, not the buffer).
    pub fn read_bytes(&self, offset: usize, buf: &mut [u8]) -> Result<(), OutOfBounds> {
        let at = self.span(offset, buf.len())?;
        // SAFETY: the span lies in the buffer's window mapping (checked),
        // live while `self` is; shared memory is untyped (no Rust object
        // lives there), so any bytes are fine and `buf` cannot overlap.
        unsafe { core::ptr::copy_nonoverlapping(at as *const u8, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }

    /// Copy bytes in (visible to the host at once).
    pub fn write_bytes(&self, offset: usize, buf: &[u8]) -> Result<(), OutOfBounds> {
        let at = self.span(offset, buf.len())?;
        // SAFETY: as in `read_bytes`.
        unsafe { core::ptr::copy_nonoverlapping(buf.as_ptr(), at as *mut u8, buf.len()) };
        Ok(())
    }

    /// A little-endian u64 at `offset`, read once.
    pub fn read_u64(&self, offset: usize) -> Result<u64, OutOfBounds> {
        let mut bytes = [0u8; 8];
        self.read_bytes(offset, &mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }
}

impl Drop for DmaBuffer {
    fn drop(&mut self) {
        let Some(segment) = self.segment.take() else { return };
        let range = PhysRange { start: segment.paddr(), end: segment.paddr() + segment.size() as u64 };
        let pages = range.len() / PAGE_SIZE as u64;
        unmap_window(range);
        // SAFETY: we own the segment; its only shared mapping (the window)
        // is gone and flushed on every CPU.
        match unsafe { backend().make_private(range) } {
            Ok(()) => drop(segment),
            Err(ConversionFailed) => {
                log::error!("dma: converting [{:#x}-{:#x}) back to private failed: leaking it", range.start, range.end);
                LEAKED_PAGES.fetch_add(pages, Ordering::Relaxed);
                segment.leak();
            }
        }
        let _ = LIVE_PAGES.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |live| live.checked_sub(pages));
    }
}

/// (live, leaked) shared pages.
pub fn stats() -> (u64, u64) {
    (LIVE_PAGES.load(Ordering::Relaxed), LEAKED_PAGES.load(Ordering::Relaxed))
}

/// The window's PT entry for `vaddr`, creating tables as needed.
fn window_entry(vaddr: usize, create: bool) -> Result<Option<&'static AtomicU64>, OutOfMemory> {
    let mut table_paddr = kernel_root();
    for level in (2..=4).rev() {
        // SAFETY: the kernel root and the window's tables are never freed.
        let entry = &unsafe { table(table_paddr) }[index(vaddr, level)];
        let pte = Pte(entry.load(Ordering::Acquire));
        table_paddr = if pte.is_present() {
            pte.paddr()
        } else if create {
            let frame = Frame::alloc()?; // zeroed: an empty table
            let paddr = frame.paddr();
            core::mem::forget(frame); // window tables live forever
            entry.store(paddr | Pte::PRESENT | Pte::WRITABLE, Ordering::Release);
            paddr
        } else {
            return Ok(None);
        };
    }
    // SAFETY: as above.
    Ok(Some(&unsafe { table(table_paddr) }[index(vaddr, 1)]))
}

/// Cache-disable and write-through: device registers must not be cached.
const UNCACHED: u64 = (1 << 4) | (1 << 3);

/// Map the device registers at `[paddr, paddr + len)` for MMIO and return
/// the address of `paddr`: in the shared window, with the platform's shared
/// bits (the host emulates devices: on TDX an access is a #VE the kernel
/// turns into a TDVMCALL; a private mapping would reach nothing the host
/// can serve), uncached. Permanent (devices do not go away). Never for RAM.
pub fn map_mmio(paddr: u64, len: u64) -> Result<usize, DmaError> {
    let start = paddr & !(PAGE_SIZE as u64 - 1);
    let end = paddr.checked_add(len).filter(|_| len > 0).ok_or(DmaError::OutsideWindow)?.next_multiple_of(PAGE_SIZE as u64);
    if end > MMIO_SPAN {
        return Err(DmaError::OutsideWindow);
    }
    map_window_with(PhysRange { start, end }, UNCACHED)?;
    Ok(SHARED_WINDOW + paddr as usize)
}

fn map_window(range: PhysRange) -> Result<(), OutOfMemory> {
    map_window_with(range, 0)
}

fn map_window_with(range: PhysRange, extra: u64) -> Result<(), OutOfMemory> {
    let flags = Pte::PRESENT | Pte::WRITABLE | nx_bit() | backend().shared_pte_bits() | extra;
    let _serialised = WINDOW_LOCK.lock();
    for paddr in (range.start..range.end).step_by(PAGE_SIZE) {
        let entry = window_entry(SHARED_WINDOW + paddr as usize, true)?.expect("created");
        // Was not present (or, for MMIO mapped twice, the same): no stale
        // translation to flush.
        entry.store(paddr | flags, Ordering::Release);
    }
    Ok(())
}

fn unmap_window(range: PhysRange) {
    {
        let _serialised = WINDOW_LOCK.lock();
        for paddr in (range.start..range.end).step_by(PAGE_SIZE) {
            if let Ok(Some(entry)) = window_entry(SHARED_WINDOW + paddr as usize, false) {
                entry.store(0, Ordering::Release);
            }
        }
    }
    let start = SHARED_WINDOW + range.start as usize;
    super::tlb::flush_kernel_range(start..start + range.len() as usize);
}
