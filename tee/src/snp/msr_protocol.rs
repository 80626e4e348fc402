//! The GHCB MSR protocol: requests small enough to fit the GHCB MSR
//! itself, for what must happen before (or without) a GHCB page: SEV
//! information, hypervisor features, GHCB registration, single-page state
//! changes, termination.
//!
//! Owns: encoding requests and checking each response's function code
//! and data (the hypervisor answers in the same MSR: untrusted).

use super::abi::msr_proto::*;
use super::instr;
use crate::platform::TeeError;

/// One request/response round trip. Interrupts stay off and the GHCB MSR
/// is put back afterwards, so a GHCB call this interrupts (an NMI) still
/// finds its GPA there.
fn round_trip(request: u64) -> u64 {
    let _irq = framework::arch::irq::disable_local();
    let saved = instr::read_ghcb_msr();
    // SAFETY: an MSR-protocol request names no private memory (a GPA in a
    // request is one the caller is making shared or registering).
    let response = unsafe {
        instr::write_ghcb_msr(request);
        instr::vmgexit();
        instr::read_ghcb_msr()
    };
    // SAFETY: the value this CPU had there before.
    unsafe { instr::write_ghcb_msr(saved) };
    response
}

/// What SEV_INFO reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SevInfo {
    pub protocol_min: u16,
    pub protocol_max: u16,
    pub c_bit: u8,
}

/// SEV information: supported GHCB protocol versions and the C-bit.
pub fn sev_info() -> Result<SevInfo, TeeError> {
    let response = round_trip(SEV_INFO_REQ);
    if response & INFO_MASK != SEV_INFO_RESP {
        return Err(TeeError::BadResponse("SEV_INFO: wrong response code"));
    }
    let info = SevInfo {
        protocol_max: (response >> 48) as u16,
        protocol_min: (response >> 32) as u16,
        c_bit: (response >> 24) as u8,
    };
    if u64::from(info.protocol_min) > PROTOCOL_VERSION || u64::from(info.protocol_max) < PROTOCOL_VERSION {
        return Err(TeeError::BadResponse("SEV_INFO: GHCB protocol 2 not supported"));
    }
    if !(32..=63).contains(&info.c_bit) {
        return Err(TeeError::BadResponse("SEV_INFO: C-bit position out of range"));
    }
    Ok(info)
}

/// Hypervisor features (GHCB protocol 2).
pub fn hv_features() -> Result<u64, TeeError> {
    let response = round_trip(HV_FT_REQ);
    if response & INFO_MASK != HV_FT_RESP {
        return Err(TeeError::BadResponse("HV_FEATURES: wrong response code"));
    }
    Ok(response >> 12)
}

/// Register `gpa` as this CPU's GHCB (SNP requires it before first use).
pub fn register_ghcb(gpa: u64) -> Result<(), TeeError> {
    let gfn = gpa >> 12;
    let response = round_trip((gfn << 12) | REG_GPA_REQ);
    if response & INFO_MASK != REG_GPA_RESP || response >> 12 != gfn {
        return Err(TeeError::BadResponse("GHCB registration refused"));
    }
    Ok(())
}

/// Change one 4 KiB page's RMP state (`op`: [`PSC_OP_PRIVATE`] or
/// [`PSC_OP_SHARED`]).
///
/// [`PSC_OP_PRIVATE`]: crate::snp::abi::PSC_OP_PRIVATE
/// [`PSC_OP_SHARED`]: crate::snp::abi::PSC_OP_SHARED
pub fn page_state_change(gpa: u64, op: u64) -> Result<(), TeeError> {
    let gfn = gpa >> 12;
    if gfn >> 40 != 0 {
        return Err(TeeError::InvalidArgument("GPA beyond 52 bits"));
    }
    let response = round_trip(((op & 0xf) << 52) | (gfn << 12) | PSC_REQ);
    if response & INFO_MASK != PSC_RESP {
        return Err(TeeError::BadResponse("PSC: wrong response code"));
    }
    match response >> PSC_RESP_ERROR_SHIFT {
        0 => Ok(()),
        error => Err(TeeError::Host(error)),
    }
}

/// One CPUID register through the MSR protocol (`register`: 0 EAX .. 3
/// EDX).
pub fn cpuid(leaf: u32, register: u64) -> Result<u32, TeeError> {
    let response = round_trip((u64::from(leaf) << 32) | ((register & 3) << 30) | CPUID_REQ);
    if response & INFO_MASK != CPUID_RESP {
        return Err(TeeError::BadResponse("CPUID: wrong response code"));
    }
    Ok((response >> 32) as u32)
}

/// Ask the hypervisor to end this guest (`set`/`code` as Linux's
/// termination reasons). Never returns: if the hypervisor does not
/// comply, the CPU halts forever.
pub fn terminate(set: u64, code: u64) -> ! {
    let _irq = framework::arch::irq::disable_local();
    let _ = round_trip(((code & 0xff) << 16) | ((set & 0xf) << 12) | TERM_REQ);
    loop {
        framework::arch::halt();
    }
}
