//! TDVMCALL (TDG.VP.VMCALL): requests to the untrusted host, GHCI
//! register convention. Only R10..R15 are exposed; every answer is
//! validated here before anything else sees it.
//!
//! Threat model: the host sees and may change the exposed registers and
//! shared memory, and may answer anything: wrong status, out-of-range
//! values, no progress (MapGPA retry loops). It cannot read or write
//! private memory or hidden registers. So: returned values are masked to
//! their width, addresses from the host are checked to lie in the range
//! we asked about and to make progress, and unknown statuses are errors.
//!
//! Owns: the sub-function wrappers. Must never: return a host value that
//! a caller could use as an index, length or address without a check
//! here.

use super::abi::{vmcall, vmcall_status, VMCALL_EXPOSE_R10_R15};
use super::tdcall::{tdcall, TdcallRegs};
use crate::platform::{CpuidResult, IoSize, TeeError};

/// R11..R15 after a TDVMCALL.
#[derive(Clone, Copy, Debug, Default)]
struct VmcallOut {
    r11: u64,
    r12: u64,
    r13: u64,
    r14: u64,
    r15: u64,
}

/// One TDVMCALL; returns the host's status (R10) and outputs. `Err` only
/// when the TDX module itself refused the call.
fn tdvmcall(function: u64, r12: u64, r13: u64, r14: u64, r15: u64) -> Result<(u64, VmcallOut), TeeError> {
    let mut regs = TdcallRegs {
        rax: super::abi::leaf::VP_VMCALL,
        rcx: VMCALL_EXPOSE_R10_R15,
        r10: 0, // standard GHCI call
        r11: function,
        r12,
        r13,
        r14,
        r15,
        ..Default::default()
    };
    // SAFETY: only R10..R15 are exposed, and they hold this request; the
    // host cannot touch private memory, and no sub-function used here makes
    // the module write guest memory.
    unsafe { tdcall(&mut regs) };
    if regs.rax != 0 {
        return Err(TeeError::Module(regs.rax));
    }
    Ok((regs.r10, VmcallOut { r11: regs.r11, r12: regs.r12, r13: regs.r13, r14: regs.r14, r15: regs.r15 }))
}

/// A TDVMCALL that must succeed (no retry protocol).
fn tdvmcall_ok(function: u64, r12: u64, r13: u64, r14: u64, r15: u64) -> Result<VmcallOut, TeeError> {
    match tdvmcall(function, r12, r13, r14, r15)? {
        (vmcall_status::SUCCESS, out) => Ok(out),
        (status, _) => Err(TeeError::Host(status)),
    }
}

const IO_IN: u64 = 0;
const IO_OUT: u64 = 1;

/// Port read through the host; the value is masked to `size`.
pub fn io_read(port: u16, size: IoSize) -> Result<u32, TeeError> {
    let out = tdvmcall_ok(vmcall::IO, u64::from(size.bytes()), IO_IN, u64::from(port), 0)?;
    Ok(out.r11 as u32 & size.mask())
}

/// Port write through the host.
pub fn io_write(port: u16, size: IoSize, value: u32) -> Result<(), TeeError> {
    tdvmcall_ok(vmcall::IO, u64::from(size.bytes()), IO_OUT, u64::from(port), u64::from(value & size.mask())).map(drop)
}

/// RDMSR through the host (the value is the host's: a hint).
pub fn rdmsr(msr: u32) -> Result<u64, TeeError> {
    tdvmcall_ok(vmcall::RDMSR, u64::from(msr), 0, 0, 0).map(|out| out.r11)
}

/// WRMSR through the host.
pub fn wrmsr(msr: u32, value: u64) -> Result<(), TeeError> {
    tdvmcall_ok(vmcall::WRMSR, u64::from(msr), value, 0, 0).map(drop)
}

/// CPUID through the host; each register truncated to 32 bits.
pub fn cpuid(leaf: u32, subleaf: u32) -> Result<CpuidResult, TeeError> {
    let out = tdvmcall_ok(vmcall::CPUID, u64::from(leaf), u64::from(subleaf), 0, 0)?;
    Ok(CpuidResult { eax: out.r12 as u32, ebx: out.r13 as u32, ecx: out.r14 as u32, edx: out.r15 as u32 })
}

/// HLT through the host. `interrupts_blocked`: the host must not wait for
/// an interrupt to resume us.
pub fn hlt(interrupts_blocked: bool) -> Result<(), TeeError> {
    tdvmcall_ok(vmcall::HLT, u64::from(interrupts_blocked), 0, 0, 0).map(drop)
}

/// Retries without progress MapGPA accepts before giving up (Linux: 3).
const MAP_GPA_MAX_STALLS: u32 = 3;
const PAGE: u64 = 4096;

/// MapGPA: convert [start, start + len) (page-aligned, shared bit clear) to
/// shared or private. Follows the host's retry protocol, checking that
/// every "continue at" address it names is page-aligned, inside the range
/// and not behind the last one.
pub fn map_gpa(start: u64, len: u64, to_shared: bool, shared_bit: u64) -> Result<(), TeeError> {
    let end = start.checked_add(len).ok_or(TeeError::InvalidArgument("MapGPA range overflows"))?;
    if !start.is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) || len == 0 || end > shared_bit {
        return Err(TeeError::InvalidArgument("MapGPA range not page-aligned or beyond GPAW"));
    }
    let mut gpa = start;
    let mut stalls = 0;
    loop {
        let request = if to_shared { gpa | shared_bit } else { gpa };
        match tdvmcall(vmcall::MAP_GPA, request, end - gpa, 0, 0)? {
            (vmcall_status::SUCCESS, _) => return Ok(()),
            (vmcall_status::RETRY, out) => {
                let next = out.r11 & !shared_bit;
                if !next.is_multiple_of(PAGE) || next < gpa || next >= end {
                    crate::rejected::reject("MapGPA retry address outside the request", out.r11);
                    return Err(TeeError::BadResponse("MapGPA retry address outside the request"));
                }
                if next == gpa {
                    stalls += 1;
                    if stalls > MAP_GPA_MAX_STALLS {
                        return Err(TeeError::Host(vmcall_status::RETRY));
                    }
                } else {
                    stalls = 0;
                }
                gpa = next;
            }
            (status, _) => return Err(TeeError::Host(status)),
        }
    }
}

/// GetQuote: ask the host to turn the TDREPORT in the shared buffer at
/// `gpa` (4 KiB-aligned, shared bit clear) into a quote, in place.
/// Completion is signalled through the buffer's status field.
pub fn get_quote(gpa: u64, len: u64, shared_bit: u64) -> Result<(), TeeError> {
    if !gpa.is_multiple_of(PAGE) || len == 0 || len > super::quote::MAX_BUFFER as u64 {
        return Err(TeeError::InvalidArgument("quote buffer not 4 KiB-aligned or too large"));
    }
    tdvmcall_ok(vmcall::GET_QUOTE, gpa | shared_bit, len, 0, 0).map(drop)
}

/// SetupEventNotifyInterrupt: the vector the host raises when a quote is
/// ready.
pub fn setup_event_notify(vector: u8) -> Result<(), TeeError> {
    if vector < 32 {
        return Err(TeeError::InvalidArgument("notify vector must be 32..=255"));
    }
    tdvmcall_ok(vmcall::SETUP_EVENT_NOTIFY_INTERRUPT, u64::from(vector), 0, 0, 0).map(drop)
}

const MMIO_READ: u64 = 0;
const MMIO_WRITE: u64 = 1;

fn check_mmio(gpa: u64, size: u8, shared_bit: u64) -> Result<(), TeeError> {
    if !matches!(size, 1 | 2 | 4 | 8) || gpa & shared_bit == 0 || (gpa % PAGE) + u64::from(size) > PAGE {
        return Err(TeeError::InvalidArgument("MMIO: size, shared bit or page split"));
    }
    Ok(())
}

/// MMIO read of `size` bytes at shared `gpa` (shared bit set) through the
/// host (GHCI: the EPT-violation sub-function); masked to `size`.
pub fn mmio_read(gpa: u64, size: u8, shared_bit: u64) -> Result<u64, TeeError> {
    check_mmio(gpa, size, shared_bit)?;
    let out = tdvmcall_ok(vmcall::MMIO, u64::from(size), MMIO_READ, gpa, 0)?;
    Ok(out.r11 & super::insn::mask(size))
}

/// MMIO write of the low `size` bytes of `value` at shared `gpa`.
pub fn mmio_write(gpa: u64, size: u8, value: u64, shared_bit: u64) -> Result<(), TeeError> {
    check_mmio(gpa, size, shared_bit)?;
    tdvmcall_ok(vmcall::MMIO, u64::from(size), MMIO_WRITE, gpa, value & super::insn::mask(size)).map(drop)
}
