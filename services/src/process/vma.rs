//! The virtual memory areas (VMAs) of one process: non-overlapping,
//! page-aligned ranges with protection, sharing and backing, and the
//! Linux rules for placing, replacing, splitting and merging them
//! (mm/mmap.c, mm/mprotect.c, mm/mremap.c, arch/x86/kernel/sys_x86_64.c),
//! address randomisation off.
//!
//! Pure bookkeeping: every operation reports the address ranges whose
//! pages the caller must unmap, move or re-protect in the real page
//! tables (framework's `VmSpace`).

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Bound;

use super::error::{return_errno, Result};
use super::mman::{self, Prot, Sharing};
use super::vm_layout::{
    is_page_aligned, page_align_down, page_align_up, MAX_MAP_COUNT, MMAP_MIN_ADDR, PAGE_SIZE,
    STACK_GUARD_GAP, TASK_SIZE, TASK_UNMAPPED_BASE,
};

/// A file behind a mapping, with what /proc/<pid>/maps prints for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRef {
    /// The glue's handle for the open file (inode key); equal ids are the
    /// same file.
    pub id: u64,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub ino: u64,
    pub path: Arc<[u8]>,
}

/// What backs a VMA's pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backing {
    /// Zero-fill on demand.
    Anonymous,
    /// Pages of a file from `Vma::offset` on.
    File(FileRef),
    /// A kernel-provided mapping such as `[vdso]` or `[vvar]`: never
    /// merged, never grown by mremap.
    Special(&'static str),
}

/// One area. `offset` is the file offset of `start` (0 unless file-backed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vma {
    pub start: u64,
    pub end: u64,
    pub prot: Prot,
    /// The most `mprotect` may grant (Linux's VM_MAY* bits): e.g. no write
    /// for a shared mapping of a file opened read-only.
    pub max_prot: Prot,
    pub sharing: Sharing,
    /// A stack that grows down (VM_GROWSDOWN): keeps `STACK_GUARD_GAP`
    /// free below it.
    pub grows_down: bool,
    pub backing: Backing,
    pub offset: u64,
}

impl Vma {
    /// An anonymous private mapping, as `mmap(MAP_PRIVATE|MAP_ANONYMOUS)`.
    pub fn anonymous(start: u64, end: u64, prot: Prot) -> Vma {
        Vma {
            start,
            end,
            prot,
            max_prot: Prot::RWX,
            sharing: Sharing::Private,
            grows_down: false,
            backing: Backing::Anonymous,
            offset: 0,
        }
    }

    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Lowest address a new mapping below this one may end at.
    fn start_gap(&self) -> u64 {
        if self.grows_down {
            self.start.saturating_sub(STACK_GUARD_GAP)
        } else {
            self.start
        }
    }

    /// Whether `next` can be merged onto the end of `self` (is_mergeable_vma
    /// + contiguous file offsets; shared anonymous memory never merges).
    fn can_merge_with_next(&self, next: &Vma) -> bool {
        if self.end != next.start
            || self.prot != next.prot
            || self.max_prot != next.max_prot
            || self.sharing != next.sharing
            || self.grows_down != next.grows_down
        {
            return false;
        }
        match (&self.backing, &next.backing) {
            (Backing::Anonymous, Backing::Anonymous) => self.sharing == Sharing::Private,
            (Backing::File(a), Backing::File(b)) => a.id == b.id && self.offset + self.len() == next.offset,
            _ => false,
        }
    }

    /// The part of `self` in `[start, end)` (which must overlap it).
    fn slice(&self, start: u64, end: u64) -> Vma {
        let mut v = self.clone();
        v.start = start.max(self.start);
        v.end = end.min(self.end);
        if matches!(v.backing, Backing::File(_)) {
            v.offset = self.offset + (v.start - self.start);
        }
        v
    }
}

/// A page-aligned `[start, end)` range.
pub type Range = (u64, u64);

/// How an area is placed by [`VmaSet::mmap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// `addr` is a hint (0: none).
    Hint(u64),
    /// MAP_FIXED: replace whatever is there.
    Fixed(u64),
    /// MAP_FIXED_NOREPLACE: EEXIST if anything is there.
    FixedNoReplace(u64),
}

/// The result of [`VmaSet::mremap`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remap {
    /// The address mremap returns.
    pub addr: u64,
    /// Pages to move: `(from, to, len)`; the old range is gone unless
    /// MREMAP_DONTUNMAP kept it (then it stays mapped, empty).
    pub moved: Option<(u64, u64, u64)>,
    /// Ranges whose pages are to be dropped.
    pub unmapped: Vec<Range>,
}

/// All VMAs of a process, keyed by start address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmaSet {
    map: BTreeMap<u64, Vma>,
    /// Top of the top-down mmap search (`mm->mmap_base`).
    mmap_base: u64,
}

impl VmaSet {
    /// An empty address space whose top-down mmap area ends at
    /// `mmap_base` (see `vm_layout::mmap_base`).
    pub fn new(mmap_base: u64) -> VmaSet {
        VmaSet { map: BTreeMap::new(), mmap_base }
    }

    pub fn mmap_base(&self) -> u64 {
        self.mmap_base
    }

    /// Number of VMAs (`mm->map_count`).
    pub fn count(&self) -> usize {
        self.map.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Vma> {
        self.map.values()
    }

    /// The VMA containing `addr`.
    pub fn find(&self, addr: u64) -> Option<&Vma> {
        self.map.range(..=addr).next_back().map(|(_, v)| v).filter(|v| addr < v.end)
    }

    /// The first VMA ending above `addr` (Linux's `find_vma`).
    pub fn find_from(&self, addr: u64) -> Option<&Vma> {
        if let Some(v) = self.find(addr) {
            return Some(v);
        }
        self.map.range((Bound::Excluded(addr), Bound::Unbounded)).next().map(|(_, v)| v)
    }

    /// Whether any VMA intersects `[start, end)`.
    pub fn intersects(&self, start: u64, end: u64) -> bool {
        self.find_from(start).is_some_and(|v| v.start < end)
    }

    /// The VMAs intersecting `[start, end)`, in order.
    pub fn overlapping(&self, start: u64, end: u64) -> impl Iterator<Item = &Vma> {
        let first = self.find_from(start).map(|v| v.start).unwrap_or(u64::MAX);
        self.map.range(first..).map(|(_, v)| v).take_while(move |v| v.start < end)
    }

    // ---- placement -------------------------------------------------

    /// `get_unmapped_area` for an x86-64 process: where a mapping of
    /// `len` bytes goes. A fixed address is only bounds-checked; a hint is
    /// taken when the range is free; otherwise the highest free range
    /// below `mmap_base` (top-down), falling back to the lowest above
    /// `TASK_UNMAPPED_BASE`. ENOMEM when nothing fits.
    pub fn get_unmapped_area(&self, addr: u64, len: u64, fixed: bool) -> Result<u64> {
        if len > TASK_SIZE {
            return_errno!(ENOMEM, "mapping larger than the address space");
        }
        let addr = if fixed {
            addr
        } else {
            self.search(addr, len)?
        };
        if addr > TASK_SIZE - len {
            return_errno!(ENOMEM, "mapping ends beyond TASK_SIZE");
        }
        if !is_page_aligned(addr) {
            return_errno!(EINVAL, "fixed address not page aligned");
        }
        Ok(addr)
    }

    fn search(&self, hint: u64, len: u64) -> Result<u64> {
        // round_hint_to_min, then the x86 hint check.
        let mut hint = page_align_down(hint);
        if hint != 0 && hint < MMAP_MIN_ADDR {
            hint = MMAP_MIN_ADDR;
        }
        if hint != 0 && TASK_SIZE - len >= hint {
            match self.find_from(hint) {
                None => return Ok(hint),
                Some(v) if hint + len <= v.start_gap() => return Ok(hint),
                _ => {}
            }
        }
        let low = PAGE_SIZE.max(MMAP_MIN_ADDR);
        if let Some(a) = self.top_down(len, low, self.mmap_base) {
            return Ok(a);
        }
        match self.bottom_up(len, TASK_UNMAPPED_BASE, TASK_SIZE) {
            Some(a) => Ok(a),
            None => return_errno!(ENOMEM, "no free range large enough"),
        }
    }

    /// The free gaps `[gap_start, gap_end)` from high to low addresses.
    fn gaps_rev(&self) -> impl Iterator<Item = Range> + '_ {
        let mut upper = Some(u64::MAX); // end of the gap being built
        let mut iter = self.map.values().rev();
        core::iter::from_fn(move || {
            let gap_end = upper?;
            match iter.next() {
                Some(v) => {
                    upper = Some(v.start_gap());
                    Some((v.end, gap_end.max(v.end)))
                }
                None => {
                    upper = None;
                    Some((0, gap_end))
                }
            }
        })
    }

    fn top_down(&self, len: u64, low: u64, high: u64) -> Option<u64> {
        for (gs, ge) in self.gaps_rev() {
            let top = ge.min(high);
            let bottom = gs.max(low);
            if top >= bottom && top - bottom >= len {
                return Some(page_align_down(top - len));
            }
            if ge <= low {
                break;
            }
        }
        None
    }

    fn bottom_up(&self, len: u64, low: u64, high: u64) -> Option<u64> {
        let mut gaps: Vec<Range> = self.gaps_rev().collect();
        gaps.reverse();
        for (gs, ge) in gaps {
            let bottom = page_align_up(gs.max(low))?;
            let top = ge.min(high);
            if top >= bottom && top - bottom >= len {
                return Some(bottom);
            }
        }
        None
    }

    // ---- insertion and removal -------------------------------------

    /// Splits the VMA containing `addr` so that a VMA boundary falls on it.
    fn split_at(&mut self, addr: u64) -> Result<()> {
        let Some(v) = self.find(addr).filter(|v| v.start != addr).cloned() else {
            return Ok(());
        };
        if self.map.len() >= MAX_MAP_COUNT {
            return_errno!(ENOMEM, "too many mappings to split one");
        }
        let (lo, hi) = (v.slice(v.start, addr), v.slice(addr, v.end));
        self.map.insert(lo.start, lo);
        self.map.insert(hi.start, hi);
        Ok(())
    }

    /// Removes everything in `[start, end)`; returns the removed ranges.
    fn remove_range(&mut self, start: u64, end: u64) -> Result<Vec<Range>> {
        self.split_at(start)?;
        self.split_at(end)?;
        let keys: Vec<u64> = self.map.range(start..end).map(|(&k, _)| k).collect();
        let mut removed: Vec<Range> = Vec::new();
        for k in keys {
            if let Some(v) = self.map.remove(&k) {
                match removed.last_mut() {
                    Some(last) if last.1 == v.start => last.1 = v.end,
                    _ => removed.push((v.start, v.end)),
                }
            }
        }
        Ok(removed)
    }

    /// Merges the VMA starting at `start` with compatible neighbours.
    fn merge_around(&mut self, start: u64) {
        let mut key = start;
        // With the previous one.
        if let Some(prev) = self.map.range(..key).next_back().map(|(_, v)| v.clone()) {
            if let Some(cur) = self.map.get(&key) {
                if prev.can_merge_with_next(cur) {
                    let end = cur.end;
                    self.map.remove(&key);
                    if let Some(p) = self.map.get_mut(&prev.start) {
                        p.end = end;
                    }
                    key = prev.start;
                }
            }
        }
        // With the next one.
        let Some(cur) = self.map.get(&key).cloned() else { return };
        if let Some(next) = self.map.get(&cur.end).cloned() {
            if cur.can_merge_with_next(&next) {
                self.map.remove(&next.start);
                if let Some(c) = self.map.get_mut(&key) {
                    c.end = next.end;
                }
            }
        }
    }

    /// Puts `vma` into a free range (the caller checked), merging it with
    /// compatible neighbours when `merge` is set.
    fn insert(&mut self, vma: Vma, merge: bool) {
        let start = vma.start;
        self.map.insert(start, vma);
        if merge {
            self.merge_around(start);
        }
    }

    /// Maps `vma` at its own range, replacing what is there (MAP_FIXED
    /// semantics; used by exec for segments, stack, vDSO). `merge: false`
    /// keeps it a separate VMA even next to a compatible one (Linux's ELF
    /// bss and brk areas). Returns the replaced ranges.
    pub fn map_fixed(&mut self, vma: Vma, merge: bool) -> Result<Vec<Range>> {
        if vma.start >= vma.end || !is_page_aligned(vma.start) || !is_page_aligned(vma.end) || vma.end > TASK_SIZE {
            return_errno!(EINVAL, "VMA range empty, unaligned or beyond TASK_SIZE");
        }
        if self.map.len() >= MAX_MAP_COUNT {
            return_errno!(ENOMEM, "too many mappings");
        }
        let replaced = self.remove_range(vma.start, vma.end)?;
        self.insert(vma, merge);
        Ok(replaced)
    }

    /// `mmap` of `len` bytes (page aligned, non-zero: see
    /// `mman::decode_mmap`) described by `template` (its range is
    /// ignored). Returns the address and the ranges a MAP_FIXED mapping
    /// replaced.
    pub fn mmap(&mut self, place: Placement, len: u64, template: Vma) -> Result<(u64, Vec<Range>)> {
        if len == 0 || !is_page_aligned(len) {
            return_errno!(EINVAL, "mmap length zero or unaligned");
        }
        if self.map.len() > MAX_MAP_COUNT {
            return_errno!(ENOMEM, "too many mappings");
        }
        let (addr, fixed) = match place {
            Placement::Hint(a) => (a, false),
            Placement::Fixed(a) | Placement::FixedNoReplace(a) => (a, true),
        };
        let addr = self.get_unmapped_area(addr, len, fixed)?;
        if matches!(place, Placement::FixedNoReplace(_)) && self.intersects(addr, addr + len) {
            return_errno!(EEXIST, "MAP_FIXED_NOREPLACE range is in use");
        }
        let vma = Vma { start: addr, end: addr + len, ..template };
        let replaced = self.map_fixed(vma, true)?;
        Ok((addr, replaced))
    }

    /// `munmap(addr, len)`: EINVAL for an unaligned address, a zero
    /// length or a range beyond TASK_SIZE; unmapping nothing succeeds.
    pub fn munmap(&mut self, addr: u64, len: u64) -> Result<Vec<Range>> {
        if !is_page_aligned(addr) || addr > TASK_SIZE || len > TASK_SIZE - addr {
            return_errno!(EINVAL, "munmap range unaligned or beyond TASK_SIZE");
        }
        let Some(len) = page_align_up(len).filter(|&l| l != 0) else {
            return_errno!(EINVAL, "munmap length is zero");
        };
        self.remove_range(addr, addr + len)
    }

    /// `mprotect(addr, len, prot)`. EINVAL for an unaligned address or
    /// bad `prot` bits, ENOMEM when part of the range is unmapped, EACCES
    /// beyond a VMA's `max_prot`. As in Linux, VMAs before the failing
    /// point keep their new protection: after any call the caller
    /// re-applies [`VmaSet::overlapping`]'s protections to the range.
    pub fn mprotect(&mut self, addr: u64, len: u64, prot_bits: u32) -> Result<()> {
        if !is_page_aligned(addr) {
            return_errno!(EINVAL, "mprotect address not page aligned");
        }
        if len == 0 {
            return Ok(());
        }
        let Some(end) = page_align_up(len).and_then(|l| addr.checked_add(l)).filter(|&e| e > addr) else {
            return_errno!(ENOMEM, "mprotect range wraps");
        };
        if !mman::mprotect_prot_valid(prot_bits) {
            return_errno!(EINVAL, "mprotect with unknown prot bits");
        }
        let prot = Prot::from_bits(prot_bits);
        let mut start = addr;
        let Some(first) = self.find_from(start).filter(|v| v.start < end).cloned() else {
            return_errno!(ENOMEM, "mprotect of an unmapped range");
        };
        if prot_bits & mman::PROT_GROWSDOWN != 0 {
            if !first.grows_down {
                return_errno!(EINVAL, "PROT_GROWSDOWN on a mapping that does not grow down");
            }
            start = first.start;
        } else if first.start > start {
            return_errno!(ENOMEM, "mprotect range starts in a hole");
        }
        if prot_bits & mman::PROT_GROWSUP != 0 {
            return_errno!(EINVAL, "PROT_GROWSUP: no grows-up mappings on x86");
        }
        let mut tmp = start;
        while tmp < end {
            let Some(v) = self.find(tmp).cloned() else {
                return_errno!(ENOMEM, "mprotect range crosses a hole");
            };
            if !prot.within(v.max_prot) {
                return_errno!(EACCES, "protection beyond what the mapping allows");
            }
            let piece_end = v.end.min(end);
            if v.prot != prot {
                self.split_at(tmp)?;
                self.split_at(piece_end)?;
                if let Some(p) = self.map.get_mut(&tmp) {
                    p.prot = prot;
                }
                self.merge_around(tmp);
            }
            tmp = piece_end;
        }
        Ok(())
    }

    /// `mremap(addr, old_len, new_len, flags, new_addr)`, as mm/mremap.c:
    /// shrink in place, grow in place when the following range is free,
    /// else move (MREMAP_MAYMOVE) to a new top-down area or to `new_addr`
    /// (MREMAP_FIXED), optionally leaving the old range mapped
    /// (MREMAP_DONTUNMAP). EINVAL for bad flags/alignment/overlap, EFAULT
    /// when `[addr, addr+old_len)` is not inside one VMA, ENOMEM when it
    /// cannot grow and may not move.
    pub fn mremap(&mut self, addr: u64, old_len: u64, new_len: u64, flags: u32, new_addr: u64) -> Result<Remap> {
        use mman::{MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE};
        if flags & !(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 {
            return_errno!(EINVAL, "unknown mremap flags");
        }
        let may_move = flags & MREMAP_MAYMOVE != 0;
        if flags & MREMAP_FIXED != 0 && !may_move {
            return_errno!(EINVAL, "MREMAP_FIXED without MREMAP_MAYMOVE");
        }
        if flags & MREMAP_DONTUNMAP != 0 && (!may_move || old_len != new_len) {
            return_errno!(EINVAL, "MREMAP_DONTUNMAP needs MAYMOVE and equal lengths");
        }
        if !is_page_aligned(addr) {
            return_errno!(EINVAL, "mremap address not page aligned");
        }
        let old_len = page_align_up(old_len).unwrap_or(0);
        let Some(new_len) = page_align_up(new_len).filter(|&l| l != 0) else {
            return_errno!(EINVAL, "mremap new length is zero");
        };
        if self.find(addr).is_none() {
            return_errno!(EFAULT, "mremap of an unmapped address");
        }
        if flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) != 0 {
            return self.mremap_to(addr, old_len, new_len, flags, new_addr);
        }
        if old_len >= new_len {
            let unmapped = self.unmap_tail(addr, old_len, new_len)?;
            return Ok(Remap { addr, moved: None, unmapped });
        }
        let vma = self.vma_to_resize(addr, old_len, new_len)?;
        if old_len == vma.end - addr {
            let delta = new_len - old_len;
            if let Some(end) = vma.end.checked_add(delta).filter(|&e| e <= TASK_SIZE) {
                if !self.intersects(vma.end, end) {
                    if let Some(v) = self.map.get_mut(&vma.start) {
                        v.end = end;
                    }
                    self.merge_around(vma.start);
                    return Ok(Remap { addr, moved: None, unmapped: Vec::new() });
                }
            }
        }
        if !may_move {
            return_errno!(ENOMEM, "mremap cannot grow in place and may not move");
        }
        let to = self.get_unmapped_area(0, new_len, false)?;
        self.move_vma(&vma, addr, old_len, new_len, to, false)
    }

    /// Unmap `[addr + new_len, addr + old_len)` when shrinking, with
    /// munmap's checks (Linux calls do_vmi_munmap): EINVAL when the range
    /// leaves user space or wraps (a huge `old_len`), nothing when equal.
    fn unmap_tail(&mut self, addr: u64, old_len: u64, new_len: u64) -> Result<Vec<Range>> {
        if old_len == new_len {
            return Ok(Vec::new());
        }
        let Some(start) = addr.checked_add(new_len) else {
            return_errno!(EINVAL, "mremap shrink range wraps");
        };
        self.munmap(start, old_len - new_len)
    }

    fn mremap_to(&mut self, addr: u64, mut old_len: u64, new_len: u64, flags: u32, new_addr: u64) -> Result<Remap> {
        use mman::{MREMAP_DONTUNMAP, MREMAP_FIXED};
        let fixed = flags & MREMAP_FIXED != 0;
        if fixed {
            if !is_page_aligned(new_addr) {
                return_errno!(EINVAL, "mremap new address not page aligned");
            }
            if new_len > TASK_SIZE || new_addr > TASK_SIZE - new_len {
                return_errno!(EINVAL, "mremap target beyond TASK_SIZE");
            }
            // Unsigned and wrapping, as in mm/mremap.c.
            if addr.wrapping_add(old_len) > new_addr && new_addr + new_len > addr {
                return_errno!(EINVAL, "mremap source and target overlap");
            }
        }
        let mut unmapped = Vec::new();
        if fixed {
            unmapped.extend(self.munmap(new_addr, new_len)?);
        }
        if old_len > new_len {
            unmapped.extend(self.unmap_tail(addr, old_len, new_len)?);
            old_len = new_len;
        }
        let vma = self.vma_to_resize(addr, old_len, new_len)?;
        let to = if fixed {
            self.get_unmapped_area(new_addr, new_len, true)?
        } else {
            self.get_unmapped_area(new_addr, new_len, false)?
        };
        let mut r = self.move_vma(&vma, addr, old_len, new_len, to, flags & MREMAP_DONTUNMAP != 0)?;
        unmapped.extend(r.unmapped);
        r.unmapped = unmapped;
        Ok(r)
    }

    /// `vma_to_resize`: the VMA holding `[addr, addr+old_len)`.
    fn vma_to_resize(&self, addr: u64, old_len: u64, new_len: u64) -> Result<Vma> {
        let Some(vma) = self.find(addr).cloned() else {
            return_errno!(EFAULT, "mremap of an unmapped address");
        };
        if old_len == 0 && vma.sharing == Sharing::Private {
            return_errno!(EINVAL, "mremap duplicating a private mapping");
        }
        if old_len > vma.end - addr {
            return_errno!(EFAULT, "mremap range crosses a mapping boundary");
        }
        if new_len != old_len {
            if matches!(vma.backing, Backing::Special(_)) {
                return_errno!(EFAULT, "special mappings cannot be resized");
            }
            let pgoff = (vma.offset + (addr - vma.start)) >> 12;
            if pgoff.checked_add(new_len >> 12).is_none() {
                return_errno!(EINVAL, "mremap file offset overflows");
            }
        }
        Ok(vma)
    }

    /// `move_vma`: the new VMA at `to` of `new_len` bytes carries on from
    /// `addr` (same backing, file offset continued).
    fn move_vma(&mut self, vma: &Vma, addr: u64, old_len: u64, new_len: u64, to: u64, keep_old: bool) -> Result<Remap> {
        let mut moved = vma.slice(addr, addr + old_len.max(PAGE_SIZE));
        moved.start = to;
        moved.end = to + new_len;
        if !matches!(moved.backing, Backing::File(_)) {
            moved.offset = 0;
        }
        let mut unmapped = Vec::new();
        if !keep_old && old_len != 0 {
            // The pages travel; the old range just disappears.
            self.remove_range(addr, addr + old_len)?;
        }
        unmapped.extend(self.map_fixed(moved, true)?);
        Ok(Remap { addr: to, moved: (old_len != 0).then_some((addr, to, old_len)), unmapped })
    }
}

#[cfg(test)]
mod tests {
    use super::super::error::Errno;
    use super::super::mman::{MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE, PROT_READ, PROT_WRITE};
    use super::super::vm_layout::{mmap_base, DEFAULT_STACK_RLIMIT};
    use super::*;
    use alloc::vec;

    const BASE: u64 = 0x7fff_f7ff_f000;
    const P: u64 = PAGE_SIZE;

    fn set() -> VmaSet {
        assert_eq!(mmap_base(DEFAULT_STACK_RLIMIT), BASE);
        VmaSet::new(BASE)
    }

    fn anon(prot: Prot) -> Vma {
        Vma::anonymous(0, 0, prot)
    }

    fn file(id: u64, offset: u64) -> Vma {
        Vma {
            backing: Backing::File(FileRef { id, dev_major: 0, dev_minor: 1, ino: id, path: Arc::from(&b"/f"[..]) }),
            offset,
            ..Vma::anonymous(0, 0, Prot::R)
        }
    }

    fn ranges(s: &VmaSet) -> Vec<(u64, u64, Prot)> {
        s.iter().map(|v| (v.start, v.end, v.prot)).collect()
    }

    fn err<T: core::fmt::Debug>(r: Result<T>) -> Errno {
        r.unwrap_err().errno
    }

    #[test]
    fn top_down_allocation_and_merging() {
        let mut s = set();
        let (a, rep) = s.mmap(Placement::Hint(0), 2 * P, anon(Prot::RW)).unwrap();
        assert_eq!(a, BASE - 2 * P);
        assert!(rep.is_empty());
        let (b, _) = s.mmap(Placement::Hint(0), P, anon(Prot::RW)).unwrap();
        assert_eq!(b, BASE - 3 * P);
        // Adjacent compatible anonymous mappings merge into one VMA.
        assert_eq!(ranges(&s), vec![(BASE - 3 * P, BASE, Prot::RW)]);
        let (c, _) = s.mmap(Placement::Hint(0), P, anon(Prot::R)).unwrap();
        assert_eq!(c, BASE - 4 * P);
        assert_eq!(s.count(), 2);
    }

    #[test]
    fn hint_taken_when_free_else_searched() {
        let mut s = set();
        let (a, _) = s.mmap(Placement::Hint(0x1000_0123), P, anon(Prot::RW)).unwrap();
        assert_eq!(a, 0x1000_0000);
        let (b, _) = s.mmap(Placement::Hint(0x1000_0000), P, anon(Prot::RW)).unwrap();
        assert_eq!(b, BASE - P);
        // Hints below mmap_min_addr are raised to it.
        let (c, _) = s.mmap(Placement::Hint(0x1000), P, anon(Prot::RW)).unwrap();
        assert_eq!(c, MMAP_MIN_ADDR);
        // A hint too close to TASK_SIZE is ignored.
        let (d, _) = s.mmap(Placement::Hint(TASK_SIZE - P), 2 * P, anon(Prot::R)).unwrap();
        assert_eq!(d, BASE - 3 * P);
    }

    #[test]
    fn stack_guard_gap_is_respected() {
        let mut s = set();
        let stack = Vma { grows_down: true, ..Vma::anonymous(0x7fff_fffd_e000, 0x7fff_ffff_f000, Prot::RW) };
        s.map_fixed(stack, false).unwrap();
        // A hint right below the stack would sit in its guard gap.
        let (a, _) = s.mmap(Placement::Hint(0x7fff_fffd_d000), P, anon(Prot::RW)).unwrap();
        assert_eq!(a, BASE - P);
        let hint = 0x7fff_fffd_e000 - STACK_GUARD_GAP - P;
        let (b, _) = s.mmap(Placement::Hint(hint), P, anon(Prot::RW)).unwrap();
        assert_eq!(b, hint);
    }

    #[test]
    fn fixed_replaces_and_splits() {
        let mut s = set();
        s.map_fixed(Vma::anonymous(0x10000, 0x20000, Prot::RW), true).unwrap();
        let (a, rep) = s.mmap(Placement::Fixed(0x14000), 2 * P, anon(Prot::R)).unwrap();
        assert_eq!(a, 0x14000);
        assert_eq!(rep, vec![(0x14000, 0x16000)]);
        assert_eq!(
            ranges(&s),
            vec![(0x10000, 0x14000, Prot::RW), (0x14000, 0x16000, Prot::R), (0x16000, 0x20000, Prot::RW)]
        );
        assert_eq!(err(s.mmap(Placement::FixedNoReplace(0x15000), P, anon(Prot::R))), Errno::EEXIST);
        assert_eq!(err(s.mmap(Placement::Fixed(0x15001), P, anon(Prot::R))), Errno::EINVAL);
        assert_eq!(err(s.mmap(Placement::Fixed(TASK_SIZE - P), 2 * P, anon(Prot::R))), Errno::ENOMEM);
        assert_eq!(err(s.mmap(Placement::Hint(0), TASK_SIZE + P, anon(Prot::R))), Errno::ENOMEM);
        assert_eq!(err(s.mmap(Placement::Hint(0), 0, anon(Prot::R))), Errno::EINVAL);
        assert!(s.mmap(Placement::FixedNoReplace(0x30000), P, anon(Prot::R)).is_ok());
    }

    #[test]
    fn file_mappings_merge_only_when_contiguous() {
        let mut s = set();
        s.mmap(Placement::Fixed(0x40_0000), P, file(1, 0)).unwrap();
        s.mmap(Placement::Fixed(0x40_1000), P, file(1, P)).unwrap();
        assert_eq!(s.count(), 1);
        s.mmap(Placement::Fixed(0x40_2000), P, file(1, 5 * P)).unwrap();
        s.mmap(Placement::Fixed(0x40_3000), P, file(2, 6 * P)).unwrap();
        assert_eq!(s.count(), 3);
        // Splitting a file VMA keeps offsets right.
        s.munmap(0x40_1000, P).unwrap();
        assert_eq!(s.find(0x40_0000).unwrap().offset, 0);
        assert!(s.find(0x40_1000).is_none());
        let shared = Vma { sharing: Sharing::Shared, ..anon(Prot::RW) };
        s.mmap(Placement::Fixed(0x50_0000), P, shared.clone()).unwrap();
        s.mmap(Placement::Fixed(0x50_1000), P, shared).unwrap();
        assert_eq!(s.overlapping(0x50_0000, 0x50_2000).count(), 2);
    }

    #[test]
    fn munmap_splits_and_validates() {
        let mut s = set();
        s.map_fixed(Vma::anonymous(0x10000, 0x20000, Prot::RW), true).unwrap();
        assert_eq!(s.munmap(0x12000, 1).unwrap(), vec![(0x12000, 0x13000)]);
        assert_eq!(s.count(), 2);
        assert_eq!(s.munmap(0x30000, P).unwrap(), vec![]);
        assert_eq!(s.munmap(0x0, 0x100000).unwrap(), vec![(0x10000, 0x12000), (0x13000, 0x20000)]);
        assert_eq!(s.count(), 0);
        assert_eq!(err(s.munmap(0x10001, P)), Errno::EINVAL);
        assert_eq!(err(s.munmap(0x10000, 0)), Errno::EINVAL);
        assert_eq!(err(s.munmap(TASK_SIZE - P, 2 * P)), Errno::EINVAL);
        assert_eq!(err(s.munmap(TASK_SIZE + P, P)), Errno::EINVAL);
        assert_eq!(err(s.munmap(0x10000, u64::MAX)), Errno::EINVAL);
    }

    #[test]
    fn mprotect_splits_then_merges_back() {
        let mut s = set();
        s.map_fixed(Vma::anonymous(0x10000, 0x20000, Prot::RW), true).unwrap();
        s.mprotect(0x14000, 2 * P, PROT_READ).unwrap();
        assert_eq!(
            ranges(&s),
            vec![(0x10000, 0x14000, Prot::RW), (0x14000, 0x16000, Prot::R), (0x16000, 0x20000, Prot::RW)]
        );
        s.mprotect(0x14000, 2 * P, PROT_READ | PROT_WRITE).unwrap();
        assert_eq!(ranges(&s), vec![(0x10000, 0x20000, Prot::RW)]);
        assert!(s.mprotect(0x10000, 0, 0x7).is_ok());
    }

    #[test]
    fn mprotect_errors() {
        let mut s = set();
        s.map_fixed(Vma::anonymous(0x10000, 0x12000, Prot::RW), true).unwrap();
        s.map_fixed(Vma::anonymous(0x13000, 0x14000, Prot::RW), true).unwrap();
        assert_eq!(err(s.mprotect(0x10001, P, PROT_READ)), Errno::EINVAL);
        assert_eq!(err(s.mprotect(0x10000, P, 0x10)), Errno::EINVAL);
        assert_eq!(err(s.mprotect(0x20000, P, PROT_READ)), Errno::ENOMEM);
        assert_eq!(err(s.mprotect(0xf000, 2 * P, PROT_READ)), Errno::ENOMEM);
        assert_eq!(err(s.mprotect(0x10000, u64::MAX - 0x10000, PROT_READ)), Errno::ENOMEM);
        assert_eq!(err(s.mprotect(0x10000, P, mman::PROT_GROWSDOWN | PROT_READ)), Errno::EINVAL);
        // Crossing the hole: the part before it changed, then ENOMEM.
        assert_eq!(err(s.mprotect(0x10000, 4 * P, PROT_READ)), Errno::ENOMEM);
        assert_eq!(s.find(0x11000).unwrap().prot, Prot::R);
        assert_eq!(s.find(0x13000).unwrap().prot, Prot::RW);
        // Beyond max_prot.
        let ro = Vma { max_prot: Prot::R, sharing: Sharing::Shared, ..file(9, 0) };
        s.mmap(Placement::Fixed(0x30000), P, ro).unwrap();
        assert_eq!(err(s.mprotect(0x30000, P, PROT_READ | PROT_WRITE)), Errno::EACCES);
    }

    #[test]
    fn mprotect_growsdown_extends_to_vma_start() {
        let mut s = set();
        let stack = Vma { grows_down: true, ..Vma::anonymous(0x7fff_fffd_e000, 0x7fff_ffff_f000, Prot::RW) };
        s.map_fixed(stack, false).unwrap();
        s.mprotect(0x7fff_ffff_0000, P, PROT_READ | PROT_WRITE | mman::PROT_EXEC | mman::PROT_GROWSDOWN).unwrap();
        assert_eq!(s.find(0x7fff_fffd_e000).unwrap().prot, Prot::RWX);
        assert_eq!(s.find(0x7fff_ffff_1000).unwrap().prot, Prot::RW);
    }

    #[test]
    fn mremap_shrink_grow_move() {
        let mut s = set();
        s.map_fixed(Vma::anonymous(0x10000, 0x14000, Prot::RW), true).unwrap();
        // Shrink.
        let r = s.mremap(0x10000, 4 * P, 2 * P, 0, 0).unwrap();
        assert_eq!(r, Remap { addr: 0x10000, moved: None, unmapped: vec![(0x12000, 0x14000)] });
        // Grow in place.
        let r = s.mremap(0x10000, 2 * P, 3 * P, 0, 0).unwrap();
        assert_eq!((r.addr, r.moved), (0x10000, None));
        assert_eq!(ranges(&s), vec![(0x10000, 0x13000, Prot::RW)]);
        // Blocked: ENOMEM without MAYMOVE, moved with it.
        s.map_fixed(Vma::anonymous(0x13000, 0x14000, Prot::R), true).unwrap();
        assert_eq!(err(s.mremap(0x10000, 3 * P, 4 * P, 0, 0)), Errno::ENOMEM);
        let r = s.mremap(0x10000, 3 * P, 4 * P, MREMAP_MAYMOVE, 0).unwrap();
        assert_eq!(r.addr, BASE - 4 * P);
        assert_eq!(r.moved, Some((0x10000, BASE - 4 * P, 3 * P)));
        assert!(s.find(0x10000).is_none());
        assert_eq!(s.find(BASE - P).unwrap().prot, Prot::RW);
    }

    #[test]
    fn mremap_fixed_and_dontunmap() {
        let mut s = set();
        s.map_fixed(Vma::anonymous(0x10000, 0x12000, Prot::RW), true).unwrap();
        s.map_fixed(Vma::anonymous(0x40000, 0x41000, Prot::R), true).unwrap();
        let r = s.mremap(0x10000, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, 0x40000).unwrap();
        assert_eq!(r.addr, 0x40000);
        assert_eq!(r.moved, Some((0x10000, 0x40000, 2 * P)));
        assert_eq!(r.unmapped, vec![(0x40000, 0x41000)]);
        assert_eq!(ranges(&s), vec![(0x40000, 0x42000, Prot::RW)]);
        let r = s.mremap(0x40000, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0).unwrap();
        assert_eq!(r.addr, BASE - 2 * P);
        assert!(s.find(0x40000).is_some());
        // Shrinking move to a fixed target drops the tail first.
        let r = s.mremap(0x40000, 2 * P, P, MREMAP_MAYMOVE | MREMAP_FIXED, 0x60000).unwrap();
        assert_eq!(r.moved, Some((0x40000, 0x60000, P)));
        assert!(r.unmapped.contains(&(0x41000, 0x42000)));
    }

    #[test]
    fn mremap_errors() {
        let mut s = set();
        s.map_fixed(Vma::anonymous(0x10000, 0x12000, Prot::RW), true).unwrap();
        assert_eq!(err(s.mremap(0x10000, P, P, 8, 0)), Errno::EINVAL);
        assert_eq!(err(s.mremap(0x10000, P, P, MREMAP_FIXED, 0x40000)), Errno::EINVAL);
        assert_eq!(err(s.mremap(0x10000, P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0)), Errno::EINVAL);
        assert_eq!(err(s.mremap(0x10001, P, P, 0, 0)), Errno::EINVAL);
        assert_eq!(err(s.mremap(0x10000, P, 0, 0, 0)), Errno::EINVAL);
        assert_eq!(err(s.mremap(0x30000, P, 2 * P, 0, 0)), Errno::EFAULT);
        assert_eq!(err(s.mremap(0x10000, 3 * P, 4 * P, MREMAP_MAYMOVE, 0)), Errno::EFAULT);
        assert_eq!(err(s.mremap(0x10000, 0, P, MREMAP_MAYMOVE, 0)), Errno::EINVAL);
        assert_eq!(err(s.mremap(0x10000, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, 0x11000)), Errno::EINVAL);
        assert_eq!(err(s.mremap(0x10000, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, 0x40001)), Errno::EINVAL);
        assert_eq!(err(s.mremap(0x10000, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, TASK_SIZE - P)), Errno::EINVAL);
        s.map_fixed(Vma { backing: Backing::Special("[vdso]"), ..Vma::anonymous(0x50000, 0x52000, Prot::RX) }, false).unwrap();
        assert_eq!(err(s.mremap(0x50000, 2 * P, 3 * P, MREMAP_MAYMOVE, 0)), Errno::EFAULT);
        // Shrinks with an old length past TASK_SIZE or wrapping the address
        // space are munmap's EINVAL (the syscall fuzzer's seed 115 made the
        // wrapping one a kernel panic: an inverted BTreeMap range).
        assert_eq!(err(s.mremap(0x10000, 1 << 63, P, 0, 0)), Errno::EINVAL);
        assert_eq!(err(s.mremap(0x10000, 0xffff_ffff_ffff_0000, P, 0, 0)), Errno::EINVAL);
        assert_eq!(err(s.mremap(0x10000, 0xffff_ffff_ffff_0000, P, MREMAP_MAYMOVE | MREMAP_FIXED, 0x40000)), Errno::EINVAL);
        assert_eq!(s.mremap(0x10000, P, P, 0, 0).unwrap().addr, 0x10000);
    }

    #[test]
    fn exhaustion_falls_back_bottom_up_then_enomem() {
        let mut s = VmaSet::new(MMAP_MIN_ADDR + 4 * P);
        // Top-down room is 4 pages: a 5-page mapping goes bottom-up.
        let (a, _) = s.mmap(Placement::Hint(0), 5 * P, anon(Prot::R)).unwrap();
        assert_eq!(a, TASK_UNMAPPED_BASE);
        s.map_fixed(Vma::anonymous(MMAP_MIN_ADDR, TASK_SIZE, Prot::R), false).unwrap();
        assert_eq!(err(s.mmap(Placement::Hint(0), P, anon(Prot::R))), Errno::ENOMEM);
        assert_eq!(err(s.get_unmapped_area(0, TASK_SIZE + 1, false)), Errno::ENOMEM);
    }

    #[test]
    fn queries() {
        let mut s = set();
        s.map_fixed(Vma::anonymous(0x10000, 0x12000, Prot::RW), true).unwrap();
        s.map_fixed(Vma::anonymous(0x20000, 0x22000, Prot::R), true).unwrap();
        assert_eq!(s.find(0x11fff).unwrap().start, 0x10000);
        assert!(s.find(0x12000).is_none());
        assert_eq!(s.find_from(0x12000).unwrap().start, 0x20000);
        assert!(s.find_from(0x22000).is_none());
        assert!(s.intersects(0x11000, 0x20001));
        assert!(!s.intersects(0x12000, 0x20000));
        assert_eq!(s.overlapping(0x0, u64::MAX).count(), 2);
        assert_eq!(err(s.map_fixed(Vma::anonymous(0x1000, 0x1000, Prot::R), true)), Errno::EINVAL);
        assert_eq!(err(s.map_fixed(Vma::anonymous(0x1001, 0x2000, Prot::R), true)), Errno::EINVAL);
        assert_eq!(s.iter().map(Vma::len).sum::<u64>(), 4 * P);
        assert!(!s.find(0x10000).unwrap().is_empty());
    }
}
