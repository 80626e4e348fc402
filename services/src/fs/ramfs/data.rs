//! The contents of a ramfs regular file: a sparse map of 4 KiB pages plus
//! a size, charged against the filesystem's page budget (tmpfs `size=`).
//!
//! Owns: page allocation and release, reads (holes read as zeros),
//! writes, resizing, `SEEK_DATA`/`SEEK_HOLE` and the block count.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::error::Result;
use crate::{errno, return_errno_with_message};

pub const PAGE_SIZE: usize = 4096;
const PAGE: u64 = PAGE_SIZE as u64;
/// Linux `MAX_LFS_FILESIZE` on 64-bit: `LLONG_MAX`.
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// Pages a filesystem may still allocate (`None` limit: unlimited).
#[derive(Debug)]
pub struct PageBudget {
    limit: Option<u64>,
    used: AtomicU64,
}

impl PageBudget {
    pub fn new(limit_pages: Option<u64>) -> Self {
        PageBudget { limit: limit_pages, used: AtomicU64::new(0) }
    }

    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    fn charge(&self) -> Result<()> {
        let Some(limit) = self.limit else {
            self.used.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        };
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| (used < limit).then_some(used + 1))
            .map(|_| ())
            .map_err(|_| errno!(ENOSPC, "filesystem size limit reached"))
    }

    fn release(&self, pages: u64) {
        self.used.fetch_sub(pages, Ordering::Relaxed);
    }
}

/// A sparse file body.
#[derive(Debug)]
pub struct FileData {
    pages: BTreeMap<u64, Box<[u8]>>,
    size: u64,
    budget: Arc<PageBudget>,
}

fn zeroed_page() -> Result<Box<[u8]>> {
    // File pages live on the kernel heap: they must not eat the memory the
    // heap keeps back for the kernel (tmpfs says ENOSPC when memory is
    // short, as here).
    #[cfg(target_os = "none")]
    if !framework::mm::user_data_may_grow(PAGE) {
        return_errno_with_message!(ENOSPC, "memory is short: no more file pages");
    }
    let mut page = Vec::new();
    page.try_reserve_exact(PAGE_SIZE).map_err(|_| errno!(ENOMEM, "no memory for a file page"))?;
    page.resize(PAGE_SIZE, 0);
    Ok(page.into_boxed_slice())
}

impl FileData {
    pub fn new(budget: Arc<PageBudget>) -> Self {
        FileData { pages: BTreeMap::new(), size: 0, budget }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// 512-byte blocks allocated.
    pub fn blocks(&self) -> u64 {
        self.pages.len() as u64 * (PAGE / 512)
    }

    pub fn read(&self, offset: u64, buf: &mut [u8]) -> usize {
        if offset >= self.size {
            return 0;
        }
        let len = buf.len().min((self.size - offset).min(usize::MAX as u64) as usize);
        let mut done = 0;
        while done < len {
            let position = offset + done as u64;
            let (index, within) = (position / PAGE, (position % PAGE) as usize);
            let chunk = (PAGE_SIZE - within).min(len - done);
            let out = &mut buf[done..done + chunk];
            match self.pages.get(&index) {
                Some(page) => out.copy_from_slice(&page[within..within + chunk]),
                None => out.fill(0),
            }
            done += chunk;
        }
        len
    }

    /// Write `buf` at `offset`. A page that cannot be allocated ends the
    /// write early (a short count), or fails it if nothing was written.
    pub fn write(&mut self, offset: u64, buf: &[u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let end = offset.checked_add(buf.len() as u64).filter(|&end| end <= MAX_FILE_SIZE);
        if end.is_none() {
            return_errno_with_message!(EFBIG, "write past the maximum file size");
        }
        let mut done = 0;
        while done < buf.len() {
            let position = offset + done as u64;
            let (index, within) = (position / PAGE, (position % PAGE) as usize);
            let chunk = (PAGE_SIZE - within).min(buf.len() - done);
            if !self.pages.contains_key(&index) {
                let allocated = self.budget.charge().and_then(|()| {
                    zeroed_page().inspect_err(|_| self.budget.release(1))
                });
                match allocated {
                    Ok(page) => {
                        self.pages.insert(index, page);
                    }
                    Err(error) if done == 0 => return Err(error),
                    Err(_) => break,
                }
            }
            if let Some(page) = self.pages.get_mut(&index) {
                page[within..within + chunk].copy_from_slice(&buf[done..done + chunk]);
            }
            done += chunk;
        }
        self.size = self.size.max(offset + done as u64);
        Ok(done)
    }

    /// Truncate or extend (extension is a hole: no pages).
    pub fn resize(&mut self, size: u64) -> Result<()> {
        if size > MAX_FILE_SIZE {
            return_errno_with_message!(EFBIG, "size past the maximum file size");
        }
        if size < self.size {
            let first_gone = size.div_ceil(PAGE);
            let gone = self.pages.split_off(&first_gone);
            self.budget.release(gone.len() as u64);
            let within = (size % PAGE) as usize;
            if within != 0 {
                if let Some(page) = self.pages.get_mut(&(size / PAGE)) {
                    page[within..].fill(0);
                }
            }
        }
        self.size = size;
        Ok(())
    }

    /// `SEEK_DATA`/`SEEK_HOLE` from `offset` (< size): allocated pages are
    /// data, missing pages holes, and EOF is a hole.
    pub fn seek_data_or_hole(&self, offset: u64, data: bool) -> Result<u64> {
        if offset >= self.size {
            return_errno_with_message!(ENXIO, "seek offset at or past the end");
        }
        let index = offset / PAGE;
        if data {
            match self.pages.range(index..).next() {
                Some((&found, _)) if found * PAGE < self.size => Ok(offset.max(found * PAGE)),
                _ => return_errno_with_message!(ENXIO, "no data after offset"),
            }
        } else {
            let mut hole = index;
            while self.pages.contains_key(&hole) {
                hole += 1;
            }
            Ok(offset.max(hole * PAGE).min(self.size))
        }
    }
}

impl Drop for FileData {
    fn drop(&mut self) {
        self.budget.release(self.pages.len() as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Errno;
    use std::vec;

    fn data(limit: Option<u64>) -> FileData {
        FileData::new(Arc::new(PageBudget::new(limit)))
    }

    #[test]
    fn write_read_across_pages_and_holes() {
        let mut file = data(None);
        let pattern: Vec<u8> = (0..6000u32).map(|i| i as u8).collect();
        assert_eq!(file.write(3000, &pattern).unwrap(), 6000);
        assert_eq!(file.size(), 9000);
        assert_eq!(file.blocks(), 3 * 8);
        let mut back = vec![0xffu8; 9000];
        assert_eq!(file.read(0, &mut back), 9000);
        assert!(back[..3000].iter().all(|&b| b == 0));
        assert_eq!(&back[3000..], &pattern[..]);
        let mut tail = [0u8; 100];
        assert_eq!(file.read(8950, &mut tail), 50);
        assert_eq!(file.read(9000, &mut tail), 0);
        assert_eq!(file.read(u64::MAX, &mut tail), 0);
    }

    #[test]
    fn sparse_file_allocates_only_written_pages() {
        let mut file = data(None);
        file.write(10 * PAGE, b"x").unwrap();
        assert_eq!(file.blocks(), 8);
        assert_eq!(file.size(), 10 * PAGE + 1);
        assert_eq!(file.seek_data_or_hole(0, true).unwrap(), 10 * PAGE);
        assert_eq!(file.seek_data_or_hole(0, false).unwrap(), 0);
        assert_eq!(file.seek_data_or_hole(10 * PAGE, false).unwrap(), 10 * PAGE + 1);
        assert_eq!(file.seek_data_or_hole(10 * PAGE + 1, true).unwrap_err().errno(), Errno::ENXIO);
        file.resize(20 * PAGE).unwrap();
        assert_eq!(file.seek_data_or_hole(10 * PAGE + 5, true).unwrap(), 10 * PAGE + 5);
        assert_eq!(file.seek_data_or_hole(10 * PAGE + 5, false).unwrap(), 11 * PAGE);
        assert_eq!(file.seek_data_or_hole(11 * PAGE, true).unwrap_err().errno(), Errno::ENXIO);
    }

    #[test]
    fn truncate_zeroes_the_tail_and_frees_pages() {
        let budget = Arc::new(PageBudget::new(None));
        let mut file = FileData::new(budget.clone());
        file.write(0, &[7u8; 3 * PAGE_SIZE]).unwrap();
        assert_eq!(budget.used(), 3);
        file.resize(100).unwrap();
        assert_eq!(budget.used(), 1);
        file.resize(PAGE).unwrap();
        let mut buf = vec![1u8; PAGE_SIZE];
        assert_eq!(file.read(0, &mut buf), PAGE_SIZE);
        assert!(buf[..100].iter().all(|&b| b == 7));
        assert!(buf[100..].iter().all(|&b| b == 0), "old bytes must not reappear");
        drop(file);
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn budget_gives_enospc_and_short_writes() {
        let mut file = data(Some(2));
        assert_eq!(file.write(0, &[1u8; 3 * PAGE_SIZE]).unwrap(), 2 * PAGE_SIZE);
        assert_eq!(file.write(2 * PAGE, b"more").unwrap_err().errno(), Errno::ENOSPC);
        // Rewriting allocated pages still works.
        assert_eq!(file.write(0, b"fine").unwrap(), 4);
    }

    #[test]
    fn size_limits_give_efbig() {
        let mut file = data(None);
        assert_eq!(file.write(MAX_FILE_SIZE, b"x").unwrap_err().errno(), Errno::EFBIG);
        assert_eq!(file.write(u64::MAX, b"x").unwrap_err().errno(), Errno::EFBIG);
        assert_eq!(file.resize(MAX_FILE_SIZE + 1).unwrap_err().errno(), Errno::EFBIG);
        file.resize(MAX_FILE_SIZE).unwrap();
        assert_eq!(file.blocks(), 0);
        assert_eq!(file.write(0, b"").unwrap(), 0);
    }
}
