//! The emulated TDX module: the TDCALL leaves, strict about operands and
//! page states the way the real module is (and stricter where a real one
//! would silently misbehave later).
//!
//! Owns: leaf semantics on the trapped registers. Must never: touch a
//! guest address it has not checked to be private, accepted, direct-mapped
//! RAM of the right alignment.

use core::sync::atomic::Ordering;

use boot::PhysRange;
use framework::arch::trap::TrapFrame;

use super::measure;
use super::pages::{AcceptOutcome, PAGE};
use super::{record, Violation, PAGES, STATE, STATS};
use crate::tdx::abi::{self, leaf, status};

/// Emulate the TDCALL whose leaf is in `frame.rax`.
pub(super) fn tdcall(frame: &mut TrapFrame) {
    STATS.tdcalls.fetch_add(1, Ordering::Relaxed);
    let Some(state) = STATE.get() else {
        frame.rax = status::OPERAND_INVALID | status::OPERAND_RAX;
        return;
    };
    let shared_bit = 1u64 << (state.gpaw - 1);
    match frame.rax {
        leaf::VP_VMCALL => super::host::vmcall(frame, shared_bit),
        leaf::VP_INFO => {
            let max = framework::cpu_local::MAX_CPUS as u64;
            frame.rax = status::SUCCESS;
            frame.rcx = u64::from(state.gpaw);
            frame.rdx = measure::ATTRIBUTES;
            frame.r8 = max | (max << 32);
            frame.r9 = framework::cpu_local::this_cpu().index as u64;
            (frame.r10, frame.r11) = (0, 0);
        }
        leaf::MEM_PAGE_ACCEPT => accept(frame, shared_bit),
        leaf::MR_RTMR_EXTEND => rtmr_extend(frame, shared_bit),
        leaf::MR_REPORT => report(frame, shared_bit),
        leaf::VP_VEINFO_GET => match super::ve::take_info() {
            Some(info) => {
                frame.rax = status::SUCCESS;
                (frame.rcx, frame.rdx, frame.r8, frame.r9, frame.r10) =
                    (info.exit_reason, info.qualification, info.gla, info.gpa, info.instr_len_info);
            }
            None => frame.rax = status::NO_VALID_VE_INFO,
        },
        leaf::VM_RD | leaf::VM_WR => frame.rax = status::METADATA_FIELD_ID_INCORRECT,
        _ => frame.rax = status::OPERAND_INVALID | status::OPERAND_RAX,
    }
}

fn accept(frame: &mut TrapFrame, shared_bit: u64) {
    let level = frame.rcx & 0x7;
    let gpa = frame.rcx & !0xfff;
    let size = match level {
        abi::ACCEPT_LEVEL_4K => PAGE,
        abi::ACCEPT_LEVEL_2M => 2 << 20,
        // 1 GiB: the emulated TD is always mapped with smaller pages.
        2 => {
            frame.rax = status::PAGE_SIZE_MISMATCH;
            return;
        }
        _ => {
            frame.rax = status::OPERAND_INVALID | status::OPERAND_RCX;
            return;
        }
    };
    if frame.rcx & 0xff8 != 0 || gpa & shared_bit != 0 || gpa >= shared_bit || !gpa.is_multiple_of(size) {
        frame.rax = status::OPERAND_INVALID | status::OPERAND_RCX;
        return;
    }
    let outcome = {
        let _serialised = super::CHANGE_LOCK.lock();
        PAGES.accept(gpa, size / PAGE)
    };
    frame.rax = match outcome {
        AcceptOutcome::Accepted => {
            let range = PhysRange { start: gpa, end: gpa + size };
            if framework::mm::is_direct_mapped(range) {
                // SAFETY: the page was pending (unaccepted) until now: no
                // guest data lives in it; the module initialises accepted
                // pages to zero, and it is RAM in the direct map.
                unsafe { core::ptr::write_bytes(framework::mm::paddr_to_vaddr(gpa) as *mut u8, 0, size as usize) };
            }
            STATS.accepted_pages.fetch_add(size / PAGE, Ordering::Relaxed);
            STATS.accept_calls.fetch_add(1, Ordering::Relaxed);
            status::SUCCESS
        }
        AcceptOutcome::AlreadyAccepted => {
            record(Violation::DoubleAccept, gpa);
            status::PAGE_ALREADY_ACCEPTED
        }
        AcceptOutcome::SizeMismatch => status::PAGE_SIZE_MISMATCH,
        AcceptOutcome::Shared => {
            record(Violation::AcceptShared, gpa);
            status::EPT_WALK_FAILED
        }
        AcceptOutcome::NotRam => {
            record(Violation::AcceptNotRam, gpa);
            status::OPERAND_ADDR_RANGE_ERROR | status::OPERAND_RCX
        }
    };
}

/// The direct-map address of `len` bytes at `gpa`, if they are private,
/// accepted RAM aligned to `align`; else a violation.
fn private_buffer(gpa: u64, len: u64, align: u64, shared_bit: u64) -> Option<usize> {
    let range = PhysRange { start: gpa, end: gpa.checked_add(len)? };
    let ok = gpa & shared_bit == 0
        && gpa.is_multiple_of(align)
        && PAGES.first_not_private(range).is_none()
        && framework::mm::is_direct_mapped(range);
    if !ok {
        record(Violation::BadBuffer, gpa);
        return None;
    }
    Some(framework::mm::paddr_to_vaddr(gpa))
}

fn rtmr_extend(frame: &mut TrapFrame, shared_bit: u64) {
    let index = frame.rdx as usize;
    if index >= abi::RTMR_COUNT {
        frame.rax = status::OPERAND_INVALID | status::OPERAND_RDX;
        return;
    }
    let Some(vaddr) = private_buffer(frame.rcx, abi::RTMR_DIGEST_SIZE as u64, abi::RTMR_DIGEST_ALIGN, shared_bit) else {
        frame.rax = status::OPERAND_INVALID | status::OPERAND_RCX;
        return;
    };
    let mut digest = [0u8; 48];
    // SAFETY: 48 bytes of private, accepted, direct-mapped RAM (checked);
    // the module reads guest memory the guest named for this call.
    unsafe { core::ptr::copy_nonoverlapping(vaddr as *const u8, digest.as_mut_ptr(), 48) };
    if let Some(state) = STATE.get() {
        let mut m = state.measurements.lock();
        m.rtmr[index] = measure::extend(&m.rtmr[index], &digest);
    }
    frame.rax = status::SUCCESS;
}

fn report(frame: &mut TrapFrame, shared_bit: u64) {
    if frame.r8 != 0 {
        frame.rax = status::OPERAND_INVALID | status::OPERAND_R8; // subtype 0 only
        return;
    }
    let Some(out) = private_buffer(frame.rcx, abi::TDREPORT_SIZE as u64, abi::TDREPORT_ALIGN, shared_bit) else {
        frame.rax = status::OPERAND_INVALID | status::OPERAND_RCX;
        return;
    };
    let Some(data) = private_buffer(frame.rdx, abi::REPORTDATA_SIZE as u64, abi::REPORTDATA_ALIGN, shared_bit) else {
        frame.rax = status::OPERAND_INVALID | status::OPERAND_RDX;
        return;
    };
    let mut report_data = [0u8; 64];
    // SAFETY: checked private RAM, as in `rtmr_extend`.
    unsafe { core::ptr::copy_nonoverlapping(data as *const u8, report_data.as_mut_ptr(), 64) };
    let Some(state) = STATE.get() else { return };
    let measurements = state.measurements.lock().clone();
    let report = measure::build_report(&measurements, &report_data);
    // SAFETY: 1024 bytes of checked private RAM the guest handed to
    // TDG.MR.REPORT for the module to write.
    unsafe { core::ptr::copy_nonoverlapping(report.as_ptr(), out as *mut u8, report.len()) };
    frame.rax = status::SUCCESS;
}
