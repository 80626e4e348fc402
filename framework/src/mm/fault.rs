//! The memory manager's side of the page-fault exception (#PF): the trap
//! handler decodes nothing itself, it calls [`handle_page_fault`] with CR2,
//! the error code and whether the CPU was in user mode, and on `Err` either
//! panics with a report (kernel mode) or signals the process (user mode).
//!
//! Owns: deciding which faults memory management can resolve. Today: write
//! faults on copy-on-write pages of the active [`VmSpace`]. Demand paging
//! (not-present pages backed by a VMA) belongs to the services layer and
//! will hook in here.
//!
//! [`VmSpace`]: super::VmSpace

use super::vm_space::{active_vm_space, USER_SPACE_END};

/// One page fault, as the trap handler saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageFaultInfo {
    /// The faulting linear address (CR2).
    pub address: usize,
    /// The error code the CPU pushed (see the `ERROR_*` constants).
    pub error_code: u64,
    /// The CPU was in user mode (CPL 3) when the fault happened.
    pub from_user: bool,
}

impl PageFaultInfo {
    /// The page was present (else: not mapped).
    pub const ERROR_PRESENT: u64 = 1 << 0;
    /// The access was a write.
    pub const ERROR_WRITE: u64 = 1 << 1;
    /// The access came from user mode.
    pub const ERROR_USER: u64 = 1 << 2;
    /// A reserved bit was set in a paging entry (a corrupt table).
    pub const ERROR_RESERVED: u64 = 1 << 3;
    /// The access was an instruction fetch.
    pub const ERROR_INSTRUCTION: u64 = 1 << 4;
    /// Protection-key violation.
    pub const ERROR_PROTECTION_KEY: u64 = 1 << 5;
    /// Shadow-stack access.
    pub const ERROR_SHADOW_STACK: u64 = 1 << 6;
    /// SEV-SNP: RMP violation (the page's RMP entry forbids the access).
    pub const ERROR_RMP: u64 = 1 << 31;

    fn has(&self, bit: u64) -> bool {
        self.error_code & bit != 0
    }
    pub fn is_write(&self) -> bool {
        self.has(Self::ERROR_WRITE)
    }
    pub fn is_present(&self) -> bool {
        self.has(Self::ERROR_PRESENT)
    }
    pub fn is_instruction_fetch(&self) -> bool {
        self.has(Self::ERROR_INSTRUCTION)
    }
}

/// Why a fault could not be resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageFaultError {
    /// The address is not in user space (a kernel-address fault is a
    /// kernel bug; from user mode it is a SIGSEGV).
    NotUserAddress,
    /// No address space is active (the fault came from kernel code outside
    /// any process).
    NoAddressSpace,
    /// Nothing is mapped at the address.
    NotMapped,
    /// The page is mapped but the access is not allowed (write to a
    /// read-only page, fetch from a no-execute page, protection key).
    AccessViolation,
    /// A paging entry has a reserved bit set: the tables are corrupt.
    ReservedBitSet,
    /// SEV-SNP refused the access (RMP): the page is not validated.
    RmpViolation,
    /// Resolving needed a frame and there was none.
    OutOfMemory,
}

impl core::fmt::Display for PageFaultError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            PageFaultError::NotUserAddress => "address outside user space",
            PageFaultError::NoAddressSpace => "no user address space is active",
            PageFaultError::NotMapped => "address not mapped",
            PageFaultError::AccessViolation => "access not permitted by the mapping",
            PageFaultError::ReservedBitSet => "reserved bit set in a page-table entry",
            PageFaultError::RmpViolation => "RMP violation (page not validated)",
            PageFaultError::OutOfMemory => "out of memory resolving the fault",
        })
    }
}

/// Resolve a page fault if memory management can: `Ok` means the faulting
/// instruction can be restarted. Called by the #PF handler with interrupts
/// off; it must not itself touch user memory while holding a `VmSpace`
/// lock (none of the framework does).
pub fn handle_page_fault(info: &PageFaultInfo) -> Result<(), PageFaultError> {
    if info.has(PageFaultInfo::ERROR_RESERVED) {
        return Err(PageFaultError::ReservedBitSet);
    }
    if info.has(PageFaultInfo::ERROR_RMP) {
        return Err(PageFaultError::RmpViolation);
    }
    if info.address >= USER_SPACE_END {
        return Err(PageFaultError::NotUserAddress);
    }
    if !info.is_present() {
        return Err(PageFaultError::NotMapped);
    }
    let copy_on_write_candidate = info.is_write()
        && !info.is_instruction_fetch()
        && !info.has(PageFaultInfo::ERROR_PROTECTION_KEY)
        && !info.has(PageFaultInfo::ERROR_SHADOW_STACK);
    if !copy_on_write_candidate {
        return Err(PageFaultError::AccessViolation);
    }
    let space = active_vm_space().ok_or(PageFaultError::NoAddressSpace)?;
    space.handle_cow_fault(info.address)
}
