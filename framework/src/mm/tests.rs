//! In-kernel tests of memory management (`ktest mm::`).
//!
//! Tests that count free frames reserve their own heap space first, so the
//! heap growing on demand does not disturb the count.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use boot::PhysRange;

use super::fault::{handle_page_fault, PageFaultError, PageFaultInfo};
use super::frame::{Frame, OutOfBounds, Segment};
use super::kernel_space::{self, kernel_mapping, kernel_vaddr_to_paddr, paddr_to_vaddr, PHYS_OFFSET};
use super::pte::{Perms, Pte};
use super::unaccepted::{AcceptError, MemoryAcceptor, ACCEPT_CHUNK};
use super::vm_space::{activate_kernel_space, VmError, VmSpace, USER_SPACE_END};
use super::{frame_allocator, paging_regs, stats, PAGE_SIZE};
use crate::ktest;

/// A user address the tests map pages at.
const USER_VADDR: usize = 0x4000_0000;

/// Small deterministic generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn pattern(paddr: u64) -> u64 {
    paddr ^ 0x5eed_f00d_dead_beef
}

/// Mark every frame of `segment` with its own pattern, first and last word.
fn stamp(segment: &Segment) {
    for page in 0..segment.size() / PAGE_SIZE {
        let paddr = segment.paddr() + (page * PAGE_SIZE) as u64;
        let word = pattern(paddr).to_le_bytes();
        segment.write_bytes(page * PAGE_SIZE, &word).unwrap();
        segment.write_bytes(page * PAGE_SIZE + PAGE_SIZE - 8, &word).unwrap();
    }
}

fn check_stamp(segment: &Segment) {
    for page in 0..segment.size() / PAGE_SIZE {
        let paddr = segment.paddr() + (page * PAGE_SIZE) as u64;
        let (mut first, mut last) = ([0; 8], [0; 8]);
        segment.read_bytes(page * PAGE_SIZE, &mut first).unwrap();
        segment.read_bytes(page * PAGE_SIZE + PAGE_SIZE - 8, &mut last).unwrap();
        assert_eq!(u64::from_le_bytes(first), pattern(paddr), "frame {paddr:#x} overwritten (overlap?)");
        assert_eq!(u64::from_le_bytes(last), pattern(paddr), "frame {paddr:#x} overwritten (overlap?)");
    }
}

#[ktest]
fn frame_allocator_churn() {
    const LIVE_MAX: usize = 512;
    let mut live: Vec<Segment> = Vec::with_capacity(LIVE_MAX);
    let start = stats().free_frames;
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut allocations = 0;
    for _ in 0..6000 {
        if live.len() < LIVE_MAX && (rng.below(3) != 0 || live.is_empty()) {
            let order = rng.below(6) as u8;
            let segment = Segment::alloc_uninit(order).expect("out of memory in churn");
            assert_eq!(segment.paddr() % segment.size() as u64, 0, "block not aligned to its size");
            stamp(&segment);
            live.push(segment);
            allocations += 1;
        } else {
            let segment = live.swap_remove(rng.below(live.len()));
            check_stamp(&segment);
        }
    }
    for segment in &live {
        check_stamp(segment);
    }
    drop(live);
    assert!(allocations > 3000);
    assert_eq!(stats().free_frames, start, "frames leaked or double-freed");
}

#[ktest]
fn buddy_coalescing_restores_free_lists() {
    let mut frames: Vec<Frame> = Vec::with_capacity(256);
    let before = stats();
    for _ in 0..256 {
        frames.push(Frame::alloc_uninit().unwrap());
    }
    assert_eq!(stats().free_frames, before.free_frames - 256);
    // Free in random order: every split block must merge back.
    let mut rng = Rng(0xfeed_beef);
    while !frames.is_empty() {
        let frame = frames.swap_remove(rng.below(frames.len()));
        drop(frame);
    }
    let after = stats();
    assert_eq!(after.free_frames, before.free_frames);
    assert_eq!(after.free_blocks, before.free_blocks, "free lists differ: blocks did not coalesce");

    // A big block splits and comes back whole.
    let segment = Segment::alloc_uninit(8).unwrap();
    drop(segment);
    assert_eq!(stats().free_blocks, before.free_blocks);
}

#[ktest]
fn zeroed_frames_are_zero() {
    let mut dirty = Vec::with_capacity(64);
    for _ in 0..64 {
        let frame = Frame::alloc_uninit().unwrap();
        frame.fill(0xa5);
        dirty.push(frame);
    }
    let dirty_addrs: Vec<u64> = dirty.iter().map(Frame::paddr).collect();
    drop(dirty);
    let mut reused = 0;
    let mut page = vec![0xffu8; PAGE_SIZE];
    for _ in 0..64 {
        let frame = Frame::alloc().unwrap();
        reused += usize::from(dirty_addrs.contains(&frame.paddr()));
        frame.read_bytes(0, &mut page).unwrap();
        assert!(page.iter().all(|&b| b == 0), "Frame::alloc returned a non-zero frame");
    }
    assert!(reused > 0, "the dirty frames were never handed out again; test proves nothing");
    let segment = Segment::alloc(4).unwrap();
    let mut bytes = vec![0xffu8; segment.size()];
    segment.read_bytes(0, &mut bytes).unwrap();
    assert!(bytes.iter().all(|&b| b == 0), "Segment::alloc returned non-zero memory");
}

#[ktest]
fn frame_refcount_clone_drop() {
    let start = stats().free_frames;
    let frame = Frame::alloc().unwrap();
    assert_eq!(frame.refcount(), 1);
    let other = frame.clone();
    assert_eq!((frame.refcount(), other.refcount()), (2, 2));
    assert_eq!(frame.paddr(), other.paddr());
    frame.write_u64(128, 0x0123_4567_89ab_cdef).unwrap();
    assert_eq!(other.read_u64(128), Ok(0x0123_4567_89ab_cdef));
    drop(frame);
    assert_eq!(other.refcount(), 1);
    assert_eq!(stats().free_frames, start - 1, "freed while a clone was alive");
    drop(other);
    assert_eq!(stats().free_frames, start);
}

#[ktest]
fn frame_access_is_bounds_checked() {
    let frame = Frame::alloc().unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(frame.read_bytes(PAGE_SIZE - 8, &mut buf), Err(OutOfBounds));
    assert_eq!(frame.write_bytes(usize::MAX, &buf), Err(OutOfBounds));
    assert_eq!(frame.read_u64(PAGE_SIZE - 7), Err(OutOfBounds));
    assert!(frame.write_bytes(PAGE_SIZE - 16, &buf).is_ok());
    let segment = Segment::alloc(1).unwrap();
    assert!(segment.write_bytes(PAGE_SIZE * 2 - 16, &buf).is_ok());
    assert_eq!(segment.write_bytes(PAGE_SIZE * 2 - 15, &buf), Err(OutOfBounds));
}

#[ktest]
fn heap_collections_of_many_sizes() {
    let sizes = [1usize, 7, 8, 15, 16, 63, 64, 100, 255, 256, 1000, 4095, 4096, 4097, 10_000, 65_536, 100_000, 1 << 20];
    let mut buffers: Vec<Vec<u8>> = Vec::new();
    for (i, &size) in sizes.iter().enumerate() {
        let mut buffer = vec![0u8; size];
        for (j, byte) in buffer.iter_mut().enumerate() {
            *byte = (i + j) as u8;
        }
        buffers.push(buffer);
    }
    for (i, buffer) in buffers.iter().enumerate() {
        assert!(buffer.iter().enumerate().all(|(j, &b)| b == (i + j) as u8), "heap buffer {i} corrupted");
    }
    let boxed = Box::new([7u64; 512]);
    assert!(boxed.iter().all(|&x| x == 7));
    let mut map = BTreeMap::new();
    for key in 0..10_000u64 {
        map.insert(key * 7919 % 10_007, alloc::format!("value {key}"));
    }
    assert_eq!(map.len(), 10_000);
    for key in 0..5_000u64 {
        assert!(map.remove(&(key * 7919 % 10_007)).is_some());
    }
    assert_eq!(map.len(), 5_000);
    let mut grown: Vec<u64> = Vec::new();
    for i in 0..200_000u64 {
        grown.push(i);
    }
    assert_eq!(grown.iter().sum::<u64>(), 199_999 * 200_000 / 2);
    let text: String = (0..1000).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
    assert_eq!(text.len(), 1000);
    // Page-aligned allocations honour their alignment.
    let layout = core::alloc::Layout::from_size_align(PAGE_SIZE, PAGE_SIZE).unwrap();
    // SAFETY: non-zero size; freed right after with the same layout.
    unsafe {
        let ptr = alloc::alloc::alloc(layout);
        assert!(!ptr.is_null() && (ptr as usize).is_multiple_of(PAGE_SIZE));
        alloc::alloc::dealloc(ptr, layout);
    }
}

#[ktest]
fn heap_grows_for_a_large_allocation() {
    let before = super::heap::heap_bytes();
    let mut big = vec![0u8; 8 << 20];
    big[0] = 1;
    big[(8 << 20) - 1] = 2;
    assert_eq!((big[0], big[(8 << 20) - 1]), (1, 2));
    assert!(super::heap::heap_bytes() >= before + (8 << 20) || before >= 8 << 20);
}

#[ktest]
fn kernel_image_permissions() {
    static READ_ONLY_PROBE: [u8; 8] = *b"rodata!!";
    static WRITABLE_PROBE: AtomicU64 = AtomicU64::new(1);
    WRITABLE_PROBE.fetch_add(1, Ordering::Relaxed);
    let nx = kernel_space::nx_bit() != 0;

    let text = kernel_image_permissions as *const () as usize;
    let (pte, level) = kernel_mapping(text).expect("text unmapped");
    assert_eq!(level, 1);
    assert!(!pte.is_writable() && pte.is_executable() && !pte.is_user(), "text: {pte:?}");

    let rodata = core::hint::black_box(&READ_ONLY_PROBE) as *const _ as usize;
    let (pte, _) = kernel_mapping(rodata).expect("rodata unmapped");
    assert!(!pte.is_writable() && pte.is_executable() != nx, "rodata: {pte:?}");

    let data = core::hint::black_box(&WRITABLE_PROBE) as *const _ as usize;
    let (pte, _) = kernel_mapping(data).expect("data unmapped");
    assert!(pte.is_writable() && pte.is_executable() != nx, "data: {pte:?}");
    assert!(pte.0 & Pte::GLOBAL != 0);

    // The image's physical address agrees with the direct map.
    let paddr = kernel_vaddr_to_paddr(data).unwrap();
    // SAFETY: reading an atomic's bytes through its direct-map alias.
    let through_direct_map = unsafe { core::ptr::read_volatile(paddr_to_vaddr(paddr) as *const u64) };
    assert_eq!(through_direct_map, WRITABLE_PROBE.load(Ordering::Relaxed));

    // No identity map; the direct map is huge pages, writable, NX.
    assert!(kernel_mapping(0).is_none() && kernel_mapping(0x100_0000).is_none(), "identity map still present");
    let (pte, level) = kernel_mapping(PHYS_OFFSET + 0x100_0000).expect("direct map missing");
    assert!(level >= 2 && pte.is_writable() && pte.is_executable() != nx);
    assert!(paging_regs::write_protect_enabled(), "CR0.WP off");
    assert_eq!(paging_regs::nx_enabled(), paging_regs::features().nx, "EFER.NXE does not match CPUID");
    assert_eq!(nx, paging_regs::features().nx);
}

#[ktest]
fn direct_map_covers_last_usable_byte() {
    let end = stats().managed_end;
    assert!(end > 0 && kernel_space::is_direct_mapped(PhysRange { start: 0, end }));
    let last = end - 1;
    assert!(kernel_mapping(paddr_to_vaddr(last)).is_some());
    assert_eq!(kernel_vaddr_to_paddr(paddr_to_vaddr(last)), Some(last));
    // SAFETY: a byte of RAM through the direct map; frame memory is untyped
    // and reading it has no effect.
    let _ = unsafe { core::ptr::read_volatile(paddr_to_vaddr(last) as *const u8) };
    // The MMIO window below 4 GiB is mapped too.
    assert!(kernel_mapping(paddr_to_vaddr(0xfee0_0000)).is_some());
}

/// Read a u64 through a user mapping of the active space.
fn read_user(vaddr: usize) -> u64 {
    // Through the user-copy path: SMAP forbids plain kernel reads.
    crate::user::read_val(vaddr as u64).expect("user page readable")
}

/// Write a u64 through a user mapping of the active space.
fn write_user(vaddr: usize, value: u64) {
    crate::user::write_val(vaddr as u64, &value).expect("user page writable");
}

#[ktest]
fn vm_space_map_read_write_unmap() {
    let start = stats().free_frames;
    {
        let space = Arc::new(VmSpace::new().unwrap());
        let frame = Frame::alloc().unwrap();
        let paddr = frame.paddr();
        frame.write_u64(0, 0x1122_3344_5566_7788).unwrap();
        space.map(USER_VADDR, frame, Perms::RW).unwrap();
        let mapping = space.query(USER_VADDR + 123).unwrap().expect("not mapped");
        assert_eq!(mapping.paddr, paddr);
        assert_eq!(mapping.perms, Perms::RW);
        assert!(!mapping.copy_on_write);

        space.activate();
        assert!(space.is_active());
        assert_eq!(read_user(USER_VADDR), 0x1122_3344_5566_7788);
        write_user(USER_VADDR + 8, 0xdead_beef);
        activate_kernel_space();
        assert!(!space.is_active());

        let frame = space.query_frame(USER_VADDR).unwrap().unwrap();
        assert_eq!(frame.read_u64(8), Ok(0xdead_beef));
        assert_eq!(frame.refcount(), 2);
        drop(frame);
        assert_eq!(space.unmap(USER_VADDR..USER_VADDR + PAGE_SIZE), Ok(1));
        assert_eq!(space.query(USER_VADDR), Ok(None));
        assert_eq!(space.unmap(USER_VADDR..USER_VADDR + PAGE_SIZE), Ok(0));
    }
    assert_eq!(stats().free_frames, start, "page tables or frames leaked");
}

#[ktest]
fn vm_space_protect_sets_pte_bits() {
    let space = VmSpace::new().unwrap();
    space.map(USER_VADDR, Frame::alloc().unwrap(), Perms::RW).unwrap();
    let nx = kernel_space::nx_bit() != 0;
    let pte = space.raw_pte(USER_VADDR).unwrap();
    assert!(pte.is_present() && pte.is_user() && pte.is_writable());
    assert_eq!(pte.is_executable(), !nx);

    assert_eq!(space.protect(USER_VADDR..USER_VADDR + PAGE_SIZE, Perms::READ), Ok(1));
    let pte = space.raw_pte(USER_VADDR).unwrap();
    assert!(pte.is_present() && pte.is_user() && !pte.is_writable(), "{pte:?}");
    assert_eq!(pte.0 & Pte::SW_WRITE, 0);
    assert_eq!(pte.is_executable(), !nx);
    assert_eq!(space.query(USER_VADDR).unwrap().unwrap().perms, Perms::READ);

    assert_eq!(space.protect(USER_VADDR..USER_VADDR + PAGE_SIZE, Perms::RX), Ok(1));
    let pte = space.raw_pte(USER_VADDR).unwrap();
    assert!(pte.is_executable() && !pte.is_writable());

    assert_eq!(space.protect(USER_VADDR..USER_VADDR + PAGE_SIZE, Perms::RW), Ok(1));
    assert!(space.raw_pte(USER_VADDR).unwrap().is_writable());
    // Protecting an empty stretch changes nothing.
    assert_eq!(space.protect(0x1000_0000..0x1001_0000, Perms::READ), Ok(0));
}

#[ktest]
fn vm_space_rejects_bad_input() {
    let space = VmSpace::new().unwrap();
    let frame = || Frame::alloc().unwrap();
    assert_eq!(space.map(USER_VADDR + 1, frame(), Perms::RW), Err(VmError::NotPageAligned));
    assert_eq!(space.map(USER_SPACE_END, frame(), Perms::RW), Err(VmError::OutsideUserSpace));
    assert_eq!(space.map(0x0000_8000_0000_0000, frame(), Perms::RW), Err(VmError::OutsideUserSpace));
    assert_eq!(space.map(0xffff_8000_0000_0000, frame(), Perms::RW), Err(VmError::OutsideUserSpace));
    assert_eq!(space.map(usize::MAX & !0xfff, frame(), Perms::RW), Err(VmError::OutsideUserSpace));
    let (high, low) = core::hint::black_box((0x2000, 0x1000));
    assert_eq!(space.unmap(high..low), Err(VmError::InvalidRange));
    assert_eq!(space.unmap(0..usize::MAX & !0xfff), Err(VmError::OutsideUserSpace));
    assert_eq!(space.protect(0x1001..0x3000, Perms::READ), Err(VmError::NotPageAligned));
    assert_eq!(space.query(usize::MAX), Err(VmError::OutsideUserSpace));
    assert_eq!(space.handle_cow_fault(USER_SPACE_END), Err(PageFaultError::NotUserAddress));
    space.map(USER_VADDR, frame(), Perms::RW).unwrap();
    assert_eq!(space.map(USER_VADDR, frame(), Perms::RW), Err(VmError::AlreadyMapped));
    // The last user page works; unmapping all of user space is quick.
    space.map(USER_SPACE_END - PAGE_SIZE, frame(), Perms::READ).unwrap();
    space.map(0, frame(), Perms::READ).unwrap();
    assert_eq!(space.unmap(0..USER_SPACE_END), Ok(3));
}

#[ktest]
fn vm_space_fork_copy_on_write() {
    let start = stats().free_frames;
    {
        let parent = Arc::new(VmSpace::new().unwrap());
        let frame = Frame::alloc().unwrap();
        frame.write_u64(0, 0xaaaa).unwrap();
        let original = frame.paddr();
        parent.map(USER_VADDR, frame, Perms::RW).unwrap();
        let shared = Frame::alloc().unwrap();
        let shared_paddr = shared.paddr();
        parent.map(USER_VADDR + PAGE_SIZE, shared, Perms::RW | Perms::SHARED).unwrap();
        parent.map(USER_VADDR + 2 * PAGE_SIZE, Frame::alloc().unwrap(), Perms::READ).unwrap();

        let child = Arc::new(parent.fork_cow().unwrap());
        for space in [&parent, &child] {
            let pte = space.raw_pte(USER_VADDR).unwrap();
            assert!(pte.is_copy_on_write() && !pte.is_writable() && pte.paddr() == original, "{pte:?}");
            let mapping = space.query(USER_VADDR).unwrap().unwrap();
            assert!(mapping.copy_on_write && mapping.perms == Perms::RW);
            // Shared mappings stay writable, on the same frame.
            let pte = space.raw_pte(USER_VADDR + PAGE_SIZE).unwrap();
            assert!(pte.is_writable() && pte.paddr() == shared_paddr);
        }
        assert_eq!(super::meta::refcount(original), 2);

        // The parent writes: the fault handler gives it a copy.
        parent.activate();
        let write_fault = |address| PageFaultInfo {
            address,
            error_code: PageFaultInfo::ERROR_PRESENT | PageFaultInfo::ERROR_WRITE | PageFaultInfo::ERROR_USER,
            from_user: true,
        };
        assert_eq!(handle_page_fault(&write_fault(USER_VADDR + 8)), Ok(()));
        let pte = parent.raw_pte(USER_VADDR).unwrap();
        assert!(pte.is_writable() && pte.paddr() != original);
        assert_eq!(read_user(USER_VADDR), 0xaaaa, "copy lost the contents");
        write_user(USER_VADDR, 0xbbbb);
        // A write to a read-only page is not resolved.
        assert_eq!(handle_page_fault(&write_fault(USER_VADDR + 2 * PAGE_SIZE)), Err(PageFaultError::AccessViolation));
        activate_kernel_space();

        assert_eq!(super::meta::refcount(original), 1);
        assert_eq!(super::meta::refcount(pte.paddr()), 1);
        let child_frame = child.query_frame(USER_VADDR).unwrap().unwrap();
        assert_eq!(child_frame.read_u64(0), Ok(0xaaaa), "the child saw the parent's write");
        drop(child_frame);
        let parent_frame = parent.query_frame(USER_VADDR).unwrap().unwrap();
        assert_eq!(parent_frame.read_u64(0), Ok(0xbbbb));
        drop(parent_frame);

        // The child is now the only holder: it takes the frame, no copy.
        assert_eq!(child.handle_cow_fault(USER_VADDR), Ok(()));
        let pte = child.raw_pte(USER_VADDR).unwrap();
        assert!(pte.is_writable() && pte.paddr() == original);
    }
    assert_eq!(stats().free_frames, start, "fork/COW leaked frames");
}

#[ktest]
fn page_fault_dispatch_rejects_what_it_cannot_resolve() {
    let info = |address, error_code| PageFaultInfo { address, error_code, from_user: false };
    let present_write = PageFaultInfo::ERROR_PRESENT | PageFaultInfo::ERROR_WRITE;
    assert_eq!(handle_page_fault(&info(PHYS_OFFSET, present_write)), Err(PageFaultError::NotUserAddress));
    assert_eq!(handle_page_fault(&info(USER_VADDR, PageFaultInfo::ERROR_WRITE)), Err(PageFaultError::NotMapped));
    assert_eq!(
        handle_page_fault(&info(USER_VADDR, present_write | PageFaultInfo::ERROR_RESERVED)),
        Err(PageFaultError::ReservedBitSet)
    );
    assert_eq!(handle_page_fault(&info(USER_VADDR, PageFaultInfo::ERROR_PRESENT)), Err(PageFaultError::AccessViolation));
    activate_kernel_space();
    assert_eq!(handle_page_fault(&info(USER_VADDR, present_write)), Err(PageFaultError::NoAddressSpace));
}

/// Records what it is asked to accept inside the test's own range; passes
/// anything else to the acceptor it replaced (a TEE's unaccepted memory,
/// e.g. under the TDX emulator, must still really be accepted).
struct RecordingAcceptor {
    calls: AtomicUsize,
    ranges: [(AtomicU64, AtomicU64); 8],
    own: (AtomicU64, AtomicU64),
    previous: spin::Mutex<Option<&'static dyn MemoryAcceptor>>,
}

impl MemoryAcceptor for RecordingAcceptor {
    fn accept(&self, range: PhysRange) -> Result<(), AcceptError> {
        let own = self.own.0.load(Ordering::SeqCst) <= range.start && range.end <= self.own.1.load(Ordering::SeqCst);
        if !own {
            return self.previous.lock().map_or(Ok(()), |previous| previous.accept(range));
        }
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if let Some((start, end)) = self.ranges.get(call) {
            start.store(range.start, Ordering::SeqCst);
            end.store(range.end, Ordering::SeqCst);
        }
        Ok(())
    }
}

static RECORDING_ACCEPTOR: RecordingAcceptor = RecordingAcceptor {
    calls: AtomicUsize::new(0),
    ranges: [const { (AtomicU64::new(0), AtomicU64::new(0)) }; 8],
    own: (AtomicU64::new(0), AtomicU64::new(0)),
    previous: spin::Mutex::new(None),
};

#[ktest]
fn unaccepted_memory_is_accepted_on_demand() {
    // Turn 4 MiB of free memory into "unaccepted" memory, then use up free
    // memory: the allocator must accept it in two 2 MiB chunks. (The pool
    // may hold the platform's own unaccepted memory above it: lowest first
    // means ours comes first, and we stop there.)
    let pool_before = stats().unaccepted_bytes;
    let mut held: Vec<Segment> = Vec::with_capacity((stats().free_frames / 512 + 64) as usize);
    let start = stats().free_frames;
    let block = Segment::alloc_uninit(10).unwrap();
    let range = PhysRange { start: block.paddr(), end: block.paddr() + block.size() as u64 };
    frame_allocator::return_as_unaccepted_for_test(block);
    assert_eq!(stats().unaccepted_bytes, pool_before + (4 << 20));
    let previous = frame_allocator::memory_acceptor();
    RECORDING_ACCEPTOR.calls.store(0, Ordering::SeqCst);
    RECORDING_ACCEPTOR.own.0.store(range.start, Ordering::SeqCst);
    RECORDING_ACCEPTOR.own.1.store(range.end, Ordering::SeqCst);
    *RECORDING_ACCEPTOR.previous.lock() = Some(previous);
    frame_allocator::set_memory_acceptor(&RECORDING_ACCEPTOR);

    while RECORDING_ACCEPTOR.calls.load(Ordering::SeqCst) < 2 {
        // The heap's way in: ordinary allocations stop at the reserve kept
        // for the heap, which counts unaccepted memory, before accepting.
        let Ok(segment) = Segment::alloc_uninit_for_heap(9) else { break };
        assert!(held.len() < held.capacity(), "more memory than the allocator reported");
        held.push(segment);
    }
    frame_allocator::set_memory_acceptor(previous);
    let calls = RECORDING_ACCEPTOR.calls.load(Ordering::SeqCst);
    assert_eq!(calls, 2, "expected two 2 MiB accepts");
    for (i, (s, e)) in RECORDING_ACCEPTOR.ranges.iter().take(2).enumerate() {
        let chunk_start = range.start + i as u64 * ACCEPT_CHUNK;
        assert_eq!((s.load(Ordering::SeqCst), e.load(Ordering::SeqCst)), (chunk_start, chunk_start + ACCEPT_CHUNK));
        assert!(held.iter().any(|segment| segment.paddr() == chunk_start), "accepted chunk not handed out");
    }
    assert_eq!(stats().unaccepted_bytes, pool_before);
    drop(held);
    assert_eq!(stats().free_frames, start);
}

#[ktest]
fn ordinary_allocations_leave_the_heap_reserve() {
    // Use up everything ordinary allocations may have (user pages, page
    // tables): what is left must still be there for the heap, and user
    // data on the heap (ramfs, pipes) is refused too.
    let available = |s: super::FrameStats| s.free_frames + s.unaccepted_bytes / PAGE_SIZE as u64;
    // Room for the worst case (all single frames), so that the Vec does
    // not grow while memory is short; counted after the heap grew for it.
    let mut held: Vec<Segment> = Vec::with_capacity(available(stats()) as usize);
    let before = stats();
    for order in (0..=9u8).rev() {
        while held.len() < held.capacity() {
            let Ok(segment) = Segment::alloc_uninit(order) else { break };
            held.push(segment);
        }
    }
    let left = available(stats());
    assert!(left >= 512, "only {} frames left for the heap", left);
    assert!(!frame_allocator::user_data_may_grow(PAGE_SIZE as u64));
    let for_heap = Segment::alloc_uninit_for_heap(0);
    assert!(for_heap.is_ok(), "the heap could not use its reserve");
    drop(for_heap);
    drop(held);
    // Memory accepted on the way (a TD's lazily accepted RAM) stays free.
    assert_eq!(available(stats()), available(before));
    assert!(frame_allocator::user_data_may_grow(PAGE_SIZE as u64));
}

/// Panics on purpose, so it is ignored: `ktest --ignored heap_exhaustion`
/// shows what an allocation the heap cannot grow for looks like (the
/// message must name the size).
#[ktest(ignore)]
fn heap_exhaustion_panics_with_the_size() {
    // Larger than the biggest segment the heap can grow by.
    let huge: Vec<u8> = vec![0u8; 64 << 20];
    core::hint::black_box(&huge);
}
