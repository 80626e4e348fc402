//! The TDCALL leaves a guest kernel uses, typed and checked: TDG.VP.INFO,
//! TDG.MEM.PAGE.ACCEPT, TDG.MR.RTMR.EXTEND, TDG.MR.REPORT.
//!
//! Owns: operand preparation (alignment, physical addresses of our own
//! buffers) and validation of what the module returns. Must never: pass
//! the module an address of memory it does not own exclusively for the
//! call.

use alloc::boxed::Box;

use super::abi::{self, leaf, status};
use super::report::TdReport;
use super::tdcall::{tdcall, TdcallRegs};
use crate::platform::TeeError;

/// What TDG.VP.INFO tells about this TD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VpInfo {
    /// Guest physical address width: 48 or 52.
    pub gpaw: u8,
    /// TD ATTRIBUTES (bit 0 = DEBUG).
    pub attributes: u64,
    pub num_vcpus: u32,
    pub max_vcpus: u32,
    pub vcpu_index: u32,
}

impl VpInfo {
    /// The GPA bit that selects shared memory: bit GPAW-1.
    pub fn shared_bit(&self) -> u64 {
        1 << (self.gpaw - 1)
    }
}

/// Parse TDG.VP.INFO's output registers (pure; tested on the host).
pub fn parse_vp_info(rcx: u64, rdx: u64, r8: u64, r9: u64) -> Result<VpInfo, TeeError> {
    let gpaw = (rcx & 0x3f) as u8;
    if gpaw != 48 && gpaw != 52 {
        return Err(TeeError::BadResponse("TDG.VP.INFO: GPAW is neither 48 nor 52"));
    }
    let (num_vcpus, max_vcpus, vcpu_index) = (r8 as u32, (r8 >> 32) as u32, r9 as u32);
    if num_vcpus == 0 || num_vcpus > max_vcpus || vcpu_index >= max_vcpus {
        return Err(TeeError::BadResponse("TDG.VP.INFO: inconsistent vCPU counts"));
    }
    Ok(VpInfo { gpaw, attributes: rdx, num_vcpus, max_vcpus, vcpu_index })
}

/// TDG.VP.INFO.
pub fn vp_info() -> Result<VpInfo, TeeError> {
    let mut regs = TdcallRegs { rax: leaf::VP_INFO, ..Default::default() };
    // SAFETY: TDG.VP.INFO reads and writes no memory.
    unsafe { tdcall(&mut regs) };
    if regs.rax != status::SUCCESS {
        return Err(TeeError::Module(regs.rax));
    }
    parse_vp_info(regs.rcx, regs.rdx, regs.r8, regs.r9)
}

/// Page sizes TDG.MEM.PAGE.ACCEPT takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageLevel {
    Size4K,
    Size2M,
}

impl PageLevel {
    pub fn bytes(self) -> u64 {
        match self {
            PageLevel::Size4K => 4 << 10,
            PageLevel::Size2M => 2 << 20,
        }
    }
    fn encoding(self) -> u64 {
        match self {
            PageLevel::Size4K => abi::ACCEPT_LEVEL_4K,
            PageLevel::Size2M => abi::ACCEPT_LEVEL_2M,
        }
    }
}

/// TDG.MEM.PAGE.ACCEPT of one page at `gpa` (aligned to `level`, shared
/// bit clear).
///
/// # Safety
/// Nothing uses or references the page: the module zeroes it.
pub unsafe fn accept_page(gpa: u64, level: PageLevel) -> Result<(), TeeError> {
    if !gpa.is_multiple_of(level.bytes()) {
        return Err(TeeError::InvalidArgument("accept: address not aligned to the page size"));
    }
    let mut regs = TdcallRegs { rax: leaf::MEM_PAGE_ACCEPT, rcx: gpa | level.encoding(), ..Default::default() };
    // SAFETY: the caller guarantees the page is unused; ACCEPT writes only
    // that page (zeroes) and registers.
    unsafe { tdcall(&mut regs) };
    match status::code(regs.rax) {
        status::SUCCESS => Ok(()),
        status::PAGE_ALREADY_ACCEPTED => Err(TeeError::AlreadyAccepted),
        _ => Err(TeeError::Module(regs.rax)),
    }
}

#[repr(C, align(64))]
struct RtmrDigestBuffer([u8; 64]);

#[repr(C, align(64))]
struct ReportDataBuffer([u8; abi::REPORTDATA_SIZE]);

#[repr(C, align(1024))]
struct TdReportBuffer([u8; abi::TDREPORT_SIZE]);

/// Physical address of a kernel object the module is to read or write.
/// Aligned objects no larger than their alignment never cross a page, so
/// one translation covers them.
fn physical<T>(object: &T) -> Result<u64, TeeError> {
    debug_assert!(core::mem::size_of::<T>() <= core::mem::align_of::<T>());
    framework::mm::kernel_vaddr_to_paddr(object as *const T as usize)
        .ok_or(TeeError::InvalidArgument("buffer outside the kernel image and direct map"))
}

/// TDG.MR.RTMR.EXTEND: RTMR[index] = SHA-384(RTMR[index] || digest).
pub fn extend_rtmr(index: usize, digest: &[u8; abi::RTMR_DIGEST_SIZE]) -> Result<(), TeeError> {
    if index >= abi::RTMR_COUNT {
        return Err(TeeError::InvalidArgument("RTMR index is 0..=3"));
    }
    let mut buffer = Box::new(RtmrDigestBuffer([0; 64]));
    buffer.0[..abi::RTMR_DIGEST_SIZE].copy_from_slice(digest);
    let gpa = physical(&*buffer)?;
    let mut regs = TdcallRegs { rax: leaf::MR_RTMR_EXTEND, rcx: gpa, rdx: index as u64, ..Default::default() };
    // SAFETY: the module reads 48 bytes of `buffer`, which we own and which
    // lives until after the call.
    unsafe { tdcall(&mut regs) };
    drop(buffer);
    match regs.rax {
        status::SUCCESS => Ok(()),
        other => Err(TeeError::Module(other)),
    }
}

/// TDG.MR.REPORT with REPORTDATA `report_data` (TDREPORT subtype 0).
pub fn report(report_data: &[u8; abi::REPORTDATA_SIZE]) -> Result<TdReport, TeeError> {
    let data = Box::new(ReportDataBuffer(*report_data));
    let mut out = Box::new(TdReportBuffer([0; abi::TDREPORT_SIZE]));
    let (data_gpa, out_gpa) = (physical(&*data)?, physical(&*out)?);
    let out_ptr: *mut TdReportBuffer = &mut *out;
    let mut regs = TdcallRegs { rax: leaf::MR_REPORT, rcx: out_gpa, rdx: data_gpa, r8: 0, ..Default::default() };
    // SAFETY: the module reads `data` and writes the 1024 bytes of `out`;
    // both are ours alone (fresh boxes, no other reference) until after
    // the call.
    unsafe { tdcall(&mut regs) };
    if regs.rax != status::SUCCESS {
        return Err(TeeError::Module(regs.rax));
    }
    // Volatile: the module wrote the buffer behind the compiler's back.
    // SAFETY: `out_ptr` points into the live, exclusively owned box.
    let bytes = unsafe { core::ptr::read_volatile(out_ptr) };
    drop(out);
    Ok(TdReport::from_bytes(&bytes.0))
}

/// What TDG.VP.VEINFO.GET says about the #VE being handled (from the TDX
/// module, not the host).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VeInfo {
    pub exit_reason: u32,
    pub exit_qualification: u64,
    /// Guest linear and physical address (EPT violations).
    pub gla: u64,
    pub gpa: u64,
    /// Length of the instruction (not defined for EPT violations).
    pub instr_len: u32,
    pub instr_info: u32,
}

/// TDG.VP.VEINFO.GET: the current #VE's information (once per #VE: the
/// module clears it, and a second call fails).
pub fn ve_info() -> Result<VeInfo, TeeError> {
    let mut regs = TdcallRegs { rax: leaf::VP_VEINFO_GET, ..Default::default() };
    // SAFETY: TDG.VP.VEINFO.GET reads and writes no memory.
    unsafe { tdcall(&mut regs) };
    if regs.rax != status::SUCCESS {
        return Err(TeeError::Module(regs.rax));
    }
    Ok(VeInfo {
        exit_reason: regs.rcx as u32,
        exit_qualification: regs.rdx,
        gla: regs.r8,
        gpa: regs.r9,
        instr_len: regs.r10 as u32,
        instr_info: (regs.r10 >> 32) as u32,
    })
}
