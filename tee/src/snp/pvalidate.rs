//! PVALIDATE over ranges, with Linux's policy: 2 MiB where aligned,
//! falling back to 4 KiB pages when the RMP holds the range as small pages
//! (FAIL_SIZEMISMATCH); any other failure, and above all "no change"
//! (the page was already validated, or already rescinded), is fatal: a
//! page validated twice means the hypervisor may have swapped it under
//! us, so the guest terminates rather than go on.
//!
//! Owns: that policy.

use super::abi::msr_proto::{TERM_PVALIDATE, TERM_SET_LINUX};
use super::abi::pvalidate::*;
use super::instr;

const PAGE: u64 = 4096;
const HUGE: u64 = 2 << 20;

/// PVALIDATE one page; the raw return code (see [`instr::pvalidate`]).
///
/// # Safety
/// As [`instr::pvalidate`].
pub unsafe fn pvalidate_page(vaddr: u64, huge: bool, validate: bool) -> u32 {
    // SAFETY: forwarded to the caller.
    unsafe { instr::pvalidate(vaddr, if huge { SIZE_2M } else { SIZE_4K }, validate) }
}

/// A PVALIDATE that must not fail: log what happened and terminate the
/// guest through the hypervisor.
fn fatal(vaddr: u64, gpa: u64, huge: bool, validate: bool, rc: u32) -> ! {
    let what = match rc {
        FAIL_NOUPDATE if validate => "no change: the page was already validated (double validation)",
        FAIL_NOUPDATE => "no change: the page was not validated",
        FAIL_INPUT => "FAIL_INPUT",
        FAIL_PERMISSION => "FAIL_PERMISSION",
        FAIL_SIZEMISMATCH => "FAIL_SIZEMISMATCH",
        _ => "unknown return code",
    };
    log::error!(
        "snp: fatal: PVALIDATE({}, {}) of {:#x} (GPA {:#x}) failed: {} ({}); terminating the guest",
        if validate { "validate" } else { "rescind" },
        if huge { "2M" } else { "4K" },
        vaddr,
        gpa,
        what,
        rc
    );
    super::msr_protocol::terminate(TERM_SET_LINUX, TERM_PVALIDATE)
}

/// Validate (or rescind) `pages` 4 KiB pages at `vaddr` (GPA `gpa`, for
/// the failure report); terminates the guest on any failure but a size
/// mismatch, which retries with 4 KiB pages.
///
/// # Safety
/// As [`instr::pvalidate`], for the whole range.
pub unsafe fn pvalidate_or_terminate(vaddr: u64, gpa: u64, pages: u64, validate: bool) {
    let end = vaddr + pages * PAGE;
    let mut at = vaddr;
    while at < end {
        if at.is_multiple_of(HUGE) && (gpa + (at - vaddr)).is_multiple_of(HUGE) && end - at >= HUGE {
            // SAFETY: forwarded to the caller.
            match unsafe { pvalidate_page(at, true, validate) } {
                SUCCESS => {
                    at += HUGE;
                    continue;
                }
                FAIL_SIZEMISMATCH => {
                    for small in (at..at + HUGE).step_by(PAGE as usize) {
                        // SAFETY: as above.
                        match unsafe { pvalidate_page(small, false, validate) } {
                            SUCCESS => {}
                            rc => fatal(small, gpa + (small - vaddr), false, validate, rc),
                        }
                    }
                    at += HUGE;
                    continue;
                }
                rc => fatal(at, gpa + (at - vaddr), true, validate, rc),
            }
        }
        // SAFETY: as above.
        match unsafe { pvalidate_page(at, false, validate) } {
            SUCCESS => at += PAGE,
            rc => fatal(at, gpa + (at - vaddr), false, validate, rc),
        }
    }
}
