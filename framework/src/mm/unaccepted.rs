//! Unaccepted memory: RAM the confidential platform (TDX, SEV-SNP) hands
//! over in the "unaccepted" state, which must be accepted (TDG.MEM.PAGE.ACCEPT,
//! PVALIDATE) before its first use. Accepting all of it at boot costs
//! seconds on a large VM, so the frame allocator takes it lazily: when free
//! memory runs out it accepts the next [`ACCEPT_CHUNK`] of the pool through
//! the registered [`MemoryAcceptor`] and adds it to the free lists.
//!
//! Owns: the acceptor interface (implemented by the tee layer) and the pool
//! of not-yet-accepted ranges. Pure logic: unit-tested on the host.

use super::range_set::RangeSet;
use boot::PhysRange;

/// Memory is accepted in pieces of this size (a TDX/SNP large page), aligned
/// to it except at the ends of a range.
pub const ACCEPT_CHUNK: u64 = 2 << 20;

/// The platform's way to accept memory. The tee layer implements it for
/// TDX and SEV-SNP and registers it with
/// [`set_memory_acceptor`](super::set_memory_acceptor).
///
/// `accept` is called with the frame allocator's lock held and interrupts
/// off: it must not allocate frames or heap memory. The range is
/// page-aligned and at most [`ACCEPT_CHUNK`] long; it is never handed out
/// before `accept` returned `Ok`.
pub trait MemoryAcceptor: Sync {
    fn accept(&self, range: PhysRange) -> Result<(), AcceptError>;

    /// Called with every block the frame allocator hands out (same locking
    /// rules as `accept`). A checking aid: the TEE emulator verifies the
    /// block was accepted. The default does nothing.
    fn check_handed_out(&self, _range: PhysRange) {}
}

/// The platform refused to accept a range (it is then never used).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcceptError;

/// The default acceptor: on a platform without memory acceptance there is
/// nothing to do (and the memory map has no unaccepted regions anyway).
pub struct AlreadyAccepted;

impl MemoryAcceptor for AlreadyAccepted {
    fn accept(&self, _range: PhysRange) -> Result<(), AcceptError> {
        Ok(())
    }
}

/// Room for unaccepted ranges: as many as the boot plan holds.
pub const POOL_CAPACITY: usize = super::boot_memory::PLAN_CAPACITY;

/// Ranges not accepted yet, taken lowest first.
pub struct UnacceptedPool {
    ranges: RangeSet<POOL_CAPACITY>,
}

impl Default for UnacceptedPool {
    fn default() -> Self {
        Self::new()
    }
}

impl UnacceptedPool {
    pub const fn new() -> Self {
        Self { ranges: RangeSet::new() }
    }

    /// Replace the pool's contents (at boot).
    pub fn set(&mut self, ranges: &RangeSet<POOL_CAPACITY>) {
        self.ranges = ranges.clone();
    }

    /// Add one range (page-aligned; used by tests to simulate platforms).
    pub fn add(&mut self, range: PhysRange) -> Result<(), super::range_set::CapacityExceeded> {
        self.ranges.insert(range)
    }

    /// Bytes still unaccepted.
    pub fn remaining(&self) -> u64 {
        self.ranges.total()
    }

    /// Accept the next chunk with `acceptor`. `Ok(Some(range))` is now
    /// usable; `Ok(None)` means the pool is empty; `Err(range)` means the
    /// platform refused that range, which is dropped from the pool.
    pub fn accept_next(&mut self, acceptor: &dyn MemoryAcceptor) -> Result<Option<PhysRange>, PhysRange> {
        let Some(chunk) = self.ranges.take_lowest_chunk(ACCEPT_CHUNK) else {
            return Ok(None);
        };
        match acceptor.accept(chunk) {
            Ok(()) => Ok(Some(chunk)),
            Err(AcceptError) => Err(chunk),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::vec::Vec;

    struct Recorder(Mutex<Vec<PhysRange>>, bool);
    impl MemoryAcceptor for Recorder {
        fn accept(&self, range: PhysRange) -> Result<(), AcceptError> {
            self.0.lock().unwrap().push(range);
            if self.1 {
                Ok(())
            } else {
                Err(AcceptError)
            }
        }
    }

    #[test]
    fn accepts_in_aligned_chunks_lowest_first() {
        let mut set = RangeSet::new();
        set.insert(PhysRange { start: 0x1_0030_0000, end: 0x1_0060_0000 }).unwrap();
        set.insert(PhysRange { start: 0x4000_0000, end: 0x4020_0000 }).unwrap();
        let mut pool = UnacceptedPool::new();
        pool.set(&set);
        assert_eq!(pool.remaining(), 0x50_0000);
        let acceptor = Recorder(Mutex::new(Vec::new()), true);
        let mut got = Vec::new();
        while let Some(range) = pool.accept_next(&acceptor).unwrap() {
            got.push((range.start, range.end));
        }
        assert_eq!(
            got,
            [(0x4000_0000, 0x4020_0000), (0x1_0030_0000, 0x1_0040_0000), (0x1_0040_0000, 0x1_0060_0000)]
        );
        assert_eq!(acceptor.0.lock().unwrap().len(), 3);
        assert_eq!(pool.remaining(), 0);
    }

    #[test]
    fn refused_chunks_are_dropped() {
        let mut pool = UnacceptedPool::new();
        pool.add(PhysRange { start: 0, end: 0x40_0000 }).unwrap();
        let refuse = Recorder(Mutex::new(Vec::new()), false);
        assert_eq!(pool.accept_next(&refuse), Err(PhysRange { start: 0, end: 0x20_0000 }));
        assert_eq!(pool.remaining(), 0x20_0000);
    }
}
