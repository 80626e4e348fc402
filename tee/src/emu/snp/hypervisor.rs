//! The emulated hypervisor behind VMGEXIT: the GHCB MSR protocol and the
//! GHCB exits (CPUID, IOIO, MSR, page state change, guest requests),
//! strict the way KVM is (registered GHCB, valid bits present) and about
//! the RMP (a GHCB or message page that is not shared, a page made shared
//! while still validated).
//!
//! Owns: reading the guest's request from the GHCB MSR or page, and
//! writing the answer. Must never: log from the IOIO path (the console
//! itself goes through it).

use core::sync::atomic::Ordering;

use framework::cpu_local::MAX_CPUS;

use super::{guest_ptr, hostile, record, SnpViolation, GHCB_MSR, REGISTERED, STATS};
use crate::emu::pages::{PageState, PAGE};
use crate::emu::{CHANGE_LOCK, PAGES};
use crate::native;
use crate::platform::IoSize;
use crate::snp::abi::{
    exit, ioio, msg, msr_proto::*, GUEST_REQ_VMM_ERR_INVALID_LEN, GUEST_REQ_VMM_ERR_SHIFT, PSC_MAX_ENTRIES, PSC_OP_PRIVATE,
    PSC_OP_SHARED,
};
use crate::snp::ghcb::layout;
use crate::snp::psc::{Entry, HEADER_SIZE};

/// Entries one PSC exit processes (fewer than a full request, so the
/// guest's loop over `cur_entry` runs).
const PSC_ENTRIES_PER_EXIT: u16 = 64;
/// GHCB error codes (SW_EXITINFO1 = 2, code in SW_EXITINFO2).
const GHCB_ERR_MISSING_INPUT: u64 = 4;
const GHCB_ERR_INVALID_INPUT: u64 = 5;
const GHCB_ERR_INVALID_EVENT: u64 = 6;

/// The VM's exit status when the guest asks to be terminated (the one a
/// kernel panic gives).
pub const TERMINATED_STATUS: u8 = 125;

/// The C-bit position the emulated platform reports.
pub const C_BIT: u64 = 51;

fn cpu() -> usize {
    framework::cpu_local::this_cpu().index.min(MAX_CPUS - 1)
}

/// Serve the VMGEXIT of this CPU.
pub(super) fn vmgexit() {
    STATS.vmgexits.fetch_add(1, Ordering::Relaxed);
    let cpu = cpu();
    let value = GHCB_MSR[cpu].load(Ordering::Acquire);
    if value & INFO_MASK != 0 {
        let mut response = msr_protocol(cpu, value);
        if hostile::active() && !matches!(value & INFO_MASK, REG_GPA_REQ | TERM_REQ) {
            response = hostile_msr_response(response);
        }
        GHCB_MSR[cpu].store(response, Ordering::Release);
    } else {
        ghcb_exit(cpu, value);
    }
}

/// An adversarial MSR-protocol answer.
fn hostile_msr_response(response: u64) -> u64 {
    hostile::ANSWERS.fetch_add(1, Ordering::Relaxed);
    match hostile::next() % 5 {
        0 => hostile::boundary_or_random(),
        1 => (response & !INFO_MASK) | (hostile::next() & INFO_MASK),
        2 => response ^ (1 << (hostile::next() % 64)),
        3 => response & INFO_MASK,
        _ => (hostile::boundary_or_random() & !INFO_MASK) | (response & INFO_MASK),
    }
}

/// Make a served GHCB exit's answer adversarial.
fn hostile_ghcb(ghcb: &GhcbView, code: u64) {
    hostile::ANSWERS.fetch_add(1, Ordering::Relaxed);
    match hostile::next() % 7 {
        0 => ghcb.clear_valid(),
        1 => {
            for offset in [layout::RAX, layout::RBX, layout::RCX, layout::RDX] {
                ghcb.output(offset, hostile::boundary_or_random());
            }
        }
        2 => ghcb.write(layout::SW_EXIT_INFO_1, hostile::boundary_or_random()),
        3 => {
            ghcb.write(layout::SW_EXIT_INFO_1, 2);
            ghcb.write(layout::SW_EXIT_INFO_2, hostile::boundary_or_random());
        }
        4 if code == exit::PSC => {
            // SAFETY: the PSC header at the start of the checked GHCB's
            // shared buffer.
            unsafe { (ghcb.0.add(layout::SHARED_BUFFER) as *mut u64).write_volatile(hostile::boundary_or_random()) };
        }
        5 => ghcb.write(layout::SW_EXIT_INFO_2, hostile::boundary_or_random()),
        _ => {
            ghcb.write(layout::VALID_BITMAP, u64::MAX);
            ghcb.write(layout::VALID_BITMAP + 8, u64::MAX);
        }
    }
}

fn msr_protocol(cpu: usize, request: u64) -> u64 {
    match request & INFO_MASK {
        SEV_INFO_REQ => (PROTOCOL_VERSION << 48) | (PROTOCOL_VERSION << 32) | (C_BIT << 24) | SEV_INFO_RESP,
        HV_FT_REQ => (HV_FT_SNP << 12) | HV_FT_RESP,
        REG_GPA_REQ => {
            let gfn = request >> 12;
            REGISTERED[cpu].store(gfn << 12, Ordering::Release);
            (gfn << 12) | REG_GPA_RESP
        }
        PSC_REQ => {
            let gpa = ((request >> 12) & ((1 << 40) - 1)) << 12;
            let op = (request >> 52) & 0xf;
            match change_state(gpa, 1, op) {
                Ok(()) => PSC_RESP,
                Err(()) => (1 << 63) | PSC_RESP,
            }
        }
        CPUID_REQ => {
            let r = framework::arch::cpuid::raw((request >> 32) as u32, 0);
            let value = [r.eax, r.ebx, r.ecx, r.edx][((request >> 30) & 3) as usize];
            (u64::from(value) << 32) | CPUID_RESP
        }
        TERM_REQ => {
            // A hypervisor ends a guest that asks to be terminated. Not a
            // panic of the guest (ktest would catch that as a failed test):
            // the VM stops here, with a panic's status.
            framework::println!(
                "snp-emu: the guest asked to be terminated: reason set {}, code {}{}",
                (request >> 12) & 0xf,
                (request >> 16) & 0xff,
                if (request >> 12) & 0xf == TERM_SET_LINUX && (request >> 16) & 0xff == TERM_PVALIDATE {
                    " (PVALIDATE failure)"
                } else {
                    ""
                }
            );
            framework::power::exit(TERMINATED_STATUS)
        }
        _ => {
            record(SnpViolation::BadGhcb, request);
            0
        }
    }
}

/// PSC of `pages` pages at `gpa` in the RMP, strictly.
fn change_state(gpa: u64, pages: u64, op: u64) -> Result<(), ()> {
    let range = boot::PhysRange { start: gpa, end: gpa + pages * PAGE };
    if !PAGES.is_ram(range) {
        record(SnpViolation::PscNotRam, gpa);
        return Err(());
    }
    let validated = match op {
        PSC_OP_SHARED => (0..pages).find(|i| PAGES.state(gpa + i * PAGE) == Some(PageState::Private)),
        PSC_OP_PRIVATE => None,
        _ => return Err(()),
    };
    {
        let _serialised = CHANGE_LOCK.lock();
        PAGES.map_gpa(gpa, pages, op == PSC_OP_SHARED).map_err(|_| ())?;
    }
    if let Some(i) = validated {
        // Linux rescinds the validation before making a page shared; one
        // that skips it would find the page validated again later.
        record(SnpViolation::SharedWhileValidated, gpa + i * PAGE);
    }
    Ok(())
}

/// Read/write helpers on the GHCB page (direct map or kernel image).
#[derive(Clone, Copy)]
struct GhcbView(*mut u8);

impl GhcbView {
    fn read(&self, offset: usize) -> u64 {
        // SAFETY: offset < 4096 - 8 (constants); the page is guest RAM the
        // guest registered as its GHCB and made shared (checked).
        unsafe { (self.0.add(offset) as *const u64).read_volatile() }
    }
    fn write(&self, offset: usize, value: u64) {
        // SAFETY: as in `read`.
        unsafe { (self.0.add(offset) as *mut u64).write_volatile(value) }
    }
    fn valid(&self, offset: usize) -> bool {
        let (byte, bit) = layout::valid_bit(offset);
        // SAFETY: as in `read`.
        unsafe { self.0.add(byte).read_volatile() & bit != 0 }
    }
    fn input(&self, offset: usize) -> Option<u64> {
        self.valid(offset).then(|| self.read(offset))
    }
    /// An output register: value and valid bit (as KVM's sync-to-GHCB).
    fn output(&self, offset: usize, value: u64) {
        self.write(offset, value);
        let (byte, bit) = layout::valid_bit(offset);
        // SAFETY: as in `read`.
        unsafe {
            let p = self.0.add(byte);
            p.write_volatile(p.read_volatile() | bit);
        }
    }
    fn clear_valid(&self) {
        self.write(layout::VALID_BITMAP, 0);
        self.write(layout::VALID_BITMAP + 8, 0);
    }
    fn error(&self, code: u64) {
        self.write(layout::SW_EXIT_INFO_1, 2);
        self.write(layout::SW_EXIT_INFO_2, code);
    }
}

fn ghcb_exit(cpu: usize, gpa: u64) {
    if gpa != REGISTERED[cpu].load(Ordering::Acquire) || gpa == 0 {
        // KVM terminates such a guest; the emulator counts and ignores.
        record(SnpViolation::GhcbNotRegistered, gpa);
        return;
    }
    if PAGES.state(gpa) != Some(PageState::Shared) {
        record(SnpViolation::GhcbNotShared, gpa);
        return;
    }
    let Some(base) = guest_ptr(gpa, layout::SIZE as u64) else {
        record(SnpViolation::GhcbNotShared, gpa);
        return;
    };
    let ghcb = GhcbView(base);
    // Port I/O may come from the console (lock held): no logging below.
    let ioio = ghcb.read(layout::SW_EXIT_CODE) == exit::IOIO;
    super::IN_IOIO[cpu].store(ioio, Ordering::Relaxed);
    ghcb_request(&ghcb, gpa);
    super::IN_IOIO[cpu].store(false, Ordering::Relaxed);
}

fn ghcb_request(ghcb: &GhcbView, gpa: u64) {
    let ghcb = *ghcb;
    let (Some(code), Some(info1), Some(info2)) =
        (ghcb.input(layout::SW_EXIT_CODE), ghcb.input(layout::SW_EXIT_INFO_1), ghcb.input(layout::SW_EXIT_INFO_2))
    else {
        record(SnpViolation::BadGhcb, gpa);
        ghcb.error(GHCB_ERR_MISSING_INPUT);
        return;
    };
    let inputs = [layout::RAX, layout::RBX, layout::RCX, layout::RDX, layout::SW_SCRATCH].map(|o| ghcb.input(o));
    let [rax, rbx, rcx, rdx, scratch] = inputs;
    ghcb.clear_valid();
    ghcb.write(layout::SW_EXIT_INFO_1, 0);
    ghcb.write(layout::SW_EXIT_INFO_2, 0);
    serve(&ghcb, gpa, code, info1, info2, [rax, rbx, rcx, rdx, scratch]);
    if hostile::active() && !(code == exit::IOIO && hostile::spared_port((info1 >> ioio::PORT_SHIFT) as u16)) {
        hostile_ghcb(&ghcb, code);
    }
}

/// Serve one exit whose inputs were read (RAX, RCX, RDX, SW_SCRATCH).
fn serve(ghcb: &GhcbView, gpa: u64, code: u64, info1: u64, info2: u64, inputs: [Option<u64>; 5]) {
    let [rax, rbx, rcx, rdx, scratch] = inputs;
    let ghcb = *ghcb;
    match code {
        exit::CPUID => {
            let Some(leaf) = rax else { return missing(&ghcb) };
            let r = framework::arch::cpuid::raw(leaf as u32, rcx.unwrap_or(0) as u32);
            for (offset, value) in [(layout::RAX, r.eax), (layout::RBX, r.ebx), (layout::RCX, r.ecx), (layout::RDX, r.edx)] {
                ghcb.output(offset, u64::from(value));
            }
        }
        exit::IOIO => {
            let port = (info1 >> ioio::PORT_SHIFT) as u16;
            let size = match info1 & (ioio::SZ8 | ioio::SZ16 | ioio::SZ32) {
                ioio::SZ8 => IoSize::Byte,
                ioio::SZ16 => IoSize::Word,
                ioio::SZ32 => IoSize::Dword,
                _ => return ghcb.error(GHCB_ERR_INVALID_INPUT),
            };
            if info1 & (ioio::STRING | ioio::REP) != 0 {
                return ghcb.error(GHCB_ERR_INVALID_INPUT);
            }
            if info1 & ioio::TYPE_IN != 0 {
                // SAFETY: the guest kernel's own port access (its Port
                // contract holds), performed natively by the host.
                let value = unsafe { native::port_in(port, size) };
                ghcb.output(layout::RAX, u64::from(value));
            } else {
                let Some(value) = rax else { return missing(&ghcb) };
                // SAFETY: as above.
                unsafe { native::port_out(port, size, value as u32) };
            }
        }
        exit::MSR => {
            let Some(msr) = rcx.filter(|&m| m <= u64::from(u32::MAX)) else { return missing(&ghcb) };
            if info1 == 0 {
                // SAFETY: the guest's own rdmsr, served natively; a #GP
                // becomes an injected #GP.
                match unsafe { native::rdmsr_checked(msr as u32) } {
                    Some(value) => {
                        ghcb.output(layout::RAX, value & 0xffff_ffff);
                        ghcb.output(layout::RDX, value >> 32);
                    }
                    None => inject_gp(&ghcb),
                }
            } else {
                let (Some(low), Some(high)) = (rax, rdx) else { return missing(&ghcb) };
                let value = (high << 32) | (low & 0xffff_ffff);
                // SAFETY: as for the read.
                if !unsafe { native::wrmsr_checked(msr as u32, value) } {
                    inject_gp(&ghcb);
                }
            }
        }
        exit::PSC => psc(&ghcb, gpa, scratch),
        exit::GUEST_REQUEST => guest_request(&ghcb, info1, info2),
        exit::EXT_GUEST_REQUEST => ext_guest_request(&ghcb, info1, info2, rax, rbx),
        _ => ghcb.error(GHCB_ERR_INVALID_EVENT),
    }
}

fn missing(ghcb: &GhcbView) {
    record(SnpViolation::BadGhcb, 0);
    ghcb.error(GHCB_ERR_MISSING_INPUT);
}

/// SW_EXITINFO1 = 1 with an event to inject: #GP (vector 13, type 3
/// exception, error code valid, valid).
fn inject_gp(ghcb: &GhcbView) {
    ghcb.write(layout::SW_EXIT_INFO_1, 1);
    ghcb.write(layout::SW_EXIT_INFO_2, 13 | (3 << 8) | (1 << 11) | (1 << 31));
}

fn psc(ghcb: &GhcbView, ghcb_gpa: u64, scratch: Option<u64>) {
    // The descriptor must be the GHCB's own shared buffer.
    if scratch != Some(ghcb_gpa + layout::SHARED_BUFFER as u64) {
        record(SnpViolation::BadGhcb, scratch.unwrap_or(0));
        return ghcb.error(GHCB_ERR_INVALID_INPUT);
    }
    // SAFETY: the shared buffer of the checked GHCB page.
    let buffer = unsafe { ghcb.0.add(layout::SHARED_BUFFER) };
    // SAFETY: as above; the header is the first 8 bytes.
    let header = unsafe { (buffer as *const u64).read_volatile() };
    let (cur, end) = ((header & 0xffff) as u16, ((header >> 16) & 0xffff) as u16);
    if header >> 32 != 0 || usize::from(end) >= PSC_MAX_ENTRIES || cur > end {
        ghcb.write(layout::SW_EXIT_INFO_2, (1 << 32) | 1); // VMGEXIT_PSC_ERROR_INVALID_HDR
        return;
    }
    let stop = end.min(cur.saturating_add(PSC_ENTRIES_PER_EXIT - 1));
    let mut at = cur;
    while at <= stop {
        // SAFETY: entry `at` < 253 lies inside the shared buffer.
        let raw = unsafe { (buffer.add(HEADER_SIZE + usize::from(at) * 8) as *const u64).read_volatile() };
        let entry = Entry::decode(raw);
        let pages = if entry.huge { 512 } else { 1 };
        let gpa = entry.gfn << 12;
        if entry.reserved || entry.cur_page != 0 || !gpa.is_multiple_of(pages * PAGE) || change_state(gpa, pages, entry.op).is_err() {
            ghcb.write(layout::SW_EXIT_INFO_2, (1 << 32) | 2); // VMGEXIT_PSC_ERROR_INVALID_ENTRY
            break;
        }
        at += 1;
    }
    let header = (header & !0xffff) | u64::from(at);
    // SAFETY: as above.
    unsafe { (buffer as *mut u64).write_volatile(header) };
}

fn shared_page(gpa: u64) -> Option<*mut u8> {
    if !gpa.is_multiple_of(PAGE) || PAGES.state(gpa) != Some(PageState::Shared) {
        record(SnpViolation::MessagePageNotShared, gpa);
        return None;
    }
    guest_ptr(gpa, PAGE)
}

fn guest_request(ghcb: &GhcbView, request_gpa: u64, response_gpa: u64) {
    let (Some(request), Some(response)) = (shared_page(request_gpa), shared_page(response_gpa)) else {
        ghcb.write(layout::SW_EXIT_INFO_2, u64::from(crate::snp::abi::FW_ERR_INVALID_PARAM));
        return;
    };
    let mut scratch = super::psp::SCRATCH.lock();
    // SAFETY: a shared guest page (checked), copied out once.
    unsafe { core::ptr::copy_nonoverlapping(request, scratch.request.as_mut_ptr(), msg::PAGE_SIZE) };
    match super::psp::guest_request(&mut scratch) {
        Ok(()) => {
            // SAFETY: a shared guest page (checked) the guest named for the answer.
            unsafe { core::ptr::copy_nonoverlapping(scratch.response.as_ptr(), response, msg::PAGE_SIZE) };
        }
        Err(firmware_error) => ghcb.write(layout::SW_EXIT_INFO_2, u64::from(firmware_error)),
    }
}

/// The certificate table this host hands out with extended guest
/// requests: the verifier's TEST chain (VCEK, ASK, ARK from
/// `verifier/test-roots/snp-vcek-ask-ark.pem`, built into a GHCB
/// certificate table by tee/build.rs). Not AMD's: it certifies nothing.
pub const TEST_CERT_TABLE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/snp_test_cert_table.bin"));

/// NAE 0x8000_0012 (GHCB spec, "SNP Extended Guest Request"): RAX = GPA
/// of the guest's shared certificate buffer, RBX = its pages. Too few
/// pages: SW_EXITINFO2 = VMM error INVALID_LEN, RBX = pages needed, and
/// the request does not reach the PSP. Otherwise the table is written and
/// the request is served like a plain one.
fn ext_guest_request(ghcb: &GhcbView, request_gpa: u64, response_gpa: u64, data_gpa: Option<u64>, npages: Option<u64>) {
    use crate::snp::abi::FW_ERR_INVALID_PARAM;
    let (Some(data_gpa), Some(npages)) = (data_gpa, npages) else { return missing(ghcb) };
    let needed = (TEST_CERT_TABLE.len() as u64).div_ceil(PAGE);
    if npages < needed {
        ghcb.write(layout::SW_EXIT_INFO_2, GUEST_REQ_VMM_ERR_INVALID_LEN << GUEST_REQ_VMM_ERR_SHIFT);
        ghcb.output(layout::RBX, needed);
        return;
    }
    let shared = data_gpa.is_multiple_of(PAGE)
        && npages <= 1 << 20
        && (0..npages).all(|i| PAGES.state(data_gpa + i * PAGE) == Some(PageState::Shared));
    let Some(data) = guest_ptr(data_gpa, npages * PAGE).filter(|_| shared) else {
        record(SnpViolation::MessagePageNotShared, data_gpa);
        ghcb.write(layout::SW_EXIT_INFO_2, u64::from(FW_ERR_INVALID_PARAM));
        return;
    };
    // SAFETY: `npages` shared guest pages (checked) the guest named for
    // the table, which fits (checked against `needed`).
    unsafe { core::ptr::copy_nonoverlapping(TEST_CERT_TABLE.as_ptr(), data, TEST_CERT_TABLE.len()) };
    guest_request(ghcb, request_gpa, response_gpa);
}
