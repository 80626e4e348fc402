//! Numbers of the TDX guest ABI: TDCALL leaves, TDVMCALL sub-functions and
//! the status codes both return. Pinned by tests against the TDX module
//! ABI specification and Linux (arch/x86/include/asm/shared/tdx.h).
//!
//! Owns: constants and their classification only.

/// TDCALL leaves (RAX on entry).
pub mod leaf {
    pub const VP_VMCALL: u64 = 0;
    pub const VP_INFO: u64 = 1;
    pub const MR_RTMR_EXTEND: u64 = 2;
    pub const VP_VEINFO_GET: u64 = 3;
    pub const MR_REPORT: u64 = 4;
    pub const MEM_PAGE_ACCEPT: u64 = 6;
    pub const VM_RD: u64 = 7;
    pub const VM_WR: u64 = 8;
}

/// TDVMCALL sub-functions (R11), GHCI. The low ones are VM-exit reasons.
pub mod vmcall {
    pub const CPUID: u64 = 10;
    pub const HLT: u64 = 12;
    pub const IO: u64 = 30;
    pub const RDMSR: u64 = 31;
    pub const WRMSR: u64 = 32;
    pub const MMIO: u64 = 48;
    pub const GET_TD_VM_CALL_INFO: u64 = 0x10000;
    pub const MAP_GPA: u64 = 0x10001;
    pub const GET_QUOTE: u64 = 0x10002;
    pub const REPORT_FATAL_ERROR: u64 = 0x10003;
    pub const SETUP_EVENT_NOTIFY_INTERRUPT: u64 = 0x10004;
}

/// TDVMCALL results (R10 on return), GHCI.
pub mod vmcall_status {
    pub const SUCCESS: u64 = 0;
    pub const RETRY: u64 = 1;
    pub const INVALID_OPERAND: u64 = 0x8000_0000_0000_0000;
    pub const GPA_INUSE: u64 = 0x8000_0000_0000_0001;
    pub const ALIGN_ERROR: u64 = 0x8000_0000_0000_0002;
}

/// TDCALL completion status (RAX on return). Bits 63:32 are the class and
/// code; bits 31:0 carry details (e.g. the operand id).
pub mod status {
    pub const SUCCESS: u64 = 0;
    pub const OPERAND_INVALID: u64 = 0xC000_0100_0000_0000;
    pub const OPERAND_ADDR_RANGE_ERROR: u64 = 0xC000_0101_0000_0000;
    pub const OPERAND_BUSY: u64 = 0x8000_0200_0000_0000;
    pub const NO_VALID_VE_INFO: u64 = 0xC000_0704_0000_0000;
    pub const EPT_WALK_FAILED: u64 = 0xC000_0B00_0000_0000;
    /// A warning, not an error (bit 63 clear): the page was accepted before.
    pub const PAGE_ALREADY_ACCEPTED: u64 = 0x0000_0B0A_0000_0000;
    pub const PAGE_SIZE_MISMATCH: u64 = 0xC000_0B0B_0000_0000;
    pub const METADATA_FIELD_ID_INCORRECT: u64 = 0xC000_0C00_0000_0000;

    /// Operand ids in the low bits of an operand error.
    pub const OPERAND_RAX: u64 = 0;
    pub const OPERAND_RCX: u64 = 1;
    pub const OPERAND_RDX: u64 = 2;
    pub const OPERAND_R8: u64 = 8;

    /// The status without its detail bits.
    pub const fn code(status: u64) -> u64 {
        status & 0xFFFF_FFFF_0000_0000
    }
}

/// RCX bits of a TDVMCALL: which GPRs the host may see (bit n = GPR n in
/// the order RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15). RAX, RCX
/// and RSP can never be exposed.
pub const VMCALL_EXPOSE_R10_R15: u64 = 0xFC00;
pub const VMCALL_NEVER_EXPOSED: u64 = 0b1_0011;

/// TDREPORT / REPORTDATA / RTMR digest sizes and alignments (TDG.MR.*).
pub const TDREPORT_SIZE: usize = 1024;
pub const TDREPORT_ALIGN: u64 = 1024;
pub const REPORTDATA_SIZE: usize = 64;
pub const REPORTDATA_ALIGN: u64 = 64;
pub const RTMR_DIGEST_SIZE: usize = 48;
pub const RTMR_DIGEST_ALIGN: u64 = 64;
pub const RTMR_COUNT: usize = 4;

/// TDG.MEM.PAGE.ACCEPT page levels (RCX bits 2:0).
pub const ACCEPT_LEVEL_4K: u64 = 0;
pub const ACCEPT_LEVEL_2M: u64 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_numbers() {
        // TDX module ABI spec, error code table: a warning-class status.
        assert_eq!(status::PAGE_ALREADY_ACCEPTED, 0x0000_0B0A_0000_0000);
        assert_eq!(status::code(status::OPERAND_INVALID | status::OPERAND_RCX), status::OPERAND_INVALID);
        // GHCI: TDVMCALL sub-functions are VM-exit reasons (CPUID 10, HLT 12).
        assert_eq!((vmcall::CPUID, vmcall::HLT, vmcall::IO, vmcall::RDMSR, vmcall::WRMSR), (10, 12, 30, 31, 32));
        assert_eq!(vmcall::MAP_GPA, 0x10001);
        assert_eq!(VMCALL_EXPOSE_R10_R15 & VMCALL_NEVER_EXPOSED, 0);
    }
}
