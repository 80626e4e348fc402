//! Memory management: physical frames, the kernel heap, page tables.
//!
//! Owns all of physical memory and every page table. What it exports is
//! safe to use from the layers above:
//! - [`Frame`] / [`Segment`]: owning handles to physical pages, freed on
//!   drop, accessed only by copying bytes ([`frame`]);
//! - the `#[global_allocator]`, so `alloc` works everywhere ([`heap`]);
//! - [`VmSpace`]: user address spaces with checked map/unmap/protect and
//!   copy-on-write fork ([`vm_space`]);
//! - [`handle_page_fault`] for the trap code ([`fault`]);
//! - [`MemoryAcceptor`]: the hook the tee layer implements to accept
//!   memory on TDX/SNP ([`unaccepted`]).
//!
//! Boot order ([`init`], then [`reclaim_boot_memory`]):
//! 1. plan usable memory from the boot memory map ([`boot_memory`]);
//! 2. build the kernel page tables (direct map at [`PHYS_OFFSET`], kernel
//!    image with per-section rights, no identity map) from frames carved
//!    below 4 GiB, and switch to them ([`kernel_space`]);
//! 3. carve and zero the frame metadata ([`meta`]);
//! 4. give usable memory to the buddy allocator ([`frame_allocator`]) and
//!    the unaccepted ranges to its lazy-accept pool;
//! 5. later, once nothing uses firmware memory any more (UEFI's page
//!    tables, IDT): add the reclaimable memory.
//!
//! The pure bookkeeping ([`buddy`], [`range_set`], [`boot_memory`],
//! [`pte`], the unaccepted pool) builds and is unit-tested on the host; the
//! rest only exists in the kernel.

pub mod boot_memory;
pub mod buddy;
pub mod pte;
pub mod range_set;
pub mod unaccepted;

pub use pte::Perms;
pub use unaccepted::{AcceptError, MemoryAcceptor};

/// Size of a page and of a frame.
pub const PAGE_SIZE: usize = 4096;
