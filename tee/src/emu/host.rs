//! The emulated host (VMM) behind TDVMCALL: it serves port I/O, MSRs,
//! CPUID natively (it *is* the host), tracks MapGPA conversions in the
//! page map, answers GetQuote through its quoting enclave
//! ([`super::quote_service`]), and
//! checks the GHCI register convention the way the TDX module would.
//!
//! Owns: the TDVMCALL side of the emulator. Must never: log from the port
//! I/O path (the console's own output goes through it).

use framework::arch::trap::TrapFrame;

use super::pages::{PageState, PAGE};
use super::{record, Violation, PAGES, STATS};
use crate::native;
use crate::platform::IoSize;
use crate::tdx::abi::{status, vmcall, vmcall_status, VMCALL_EXPOSE_R10_R15, VMCALL_NEVER_EXPOSED};
use crate::tdx::quote::{self, QuoteStatus};

/// The quote-ready vector (bits 7:0) and the APIC id to send it to
/// (above), from SetupEventNotifyInterrupt; 0 = none.
static NOTIFY: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// MSRs this host says do not exist (KVM's paravirtual range: this host
/// is not KVM). TCG answers 0 for any unknown MSR instead of #GP, so
/// without this no refusal would ever reach the guest.
const NO_SUCH_MSR: core::ops::RangeInclusive<u64> = 0x4b56_4d00..=0x4b56_4dff;

/// Pages one MapGPA converts before answering "retry" (so the guest's
/// retry loop runs).
const MAP_GPA_PAGES_PER_CALL: u64 = 512;

/// Emulate TDG.VP.VMCALL on `frame` (RAX = module status, R10 = host
/// status, outputs in R11..R15).
pub(super) fn vmcall(frame: &mut TrapFrame, shared_bit: u64) {
    STATS.vmcalls.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    if frame.rcx & VMCALL_NEVER_EXPOSED != 0 || frame.rcx >> 16 != 0 {
        frame.rax = status::OPERAND_INVALID | status::OPERAND_RCX;
        return;
    }
    frame.rax = status::SUCCESS;
    if frame.rcx & VMCALL_EXPOSE_R10_R15 != VMCALL_EXPOSE_R10_R15 {
        // The host would not see the call's own arguments.
        frame.r10 = vmcall_status::INVALID_OPERAND;
        record(Violation::HiddenOperands, frame.rcx);
        return;
    }
    if frame.r10 != 0 {
        frame.r10 = vmcall_status::INVALID_OPERAND; // vendor-specific calls: none
        return;
    }
    let (function, port) = (frame.r11, frame.r14);
    frame.r10 = match frame.r11 {
        vmcall::IO => io(frame),
        vmcall::RDMSR => {
            // SAFETY: the guest kernel asked for this MSR on its own CPU,
            // exactly as if it executed rdmsr; a #GP becomes an error.
            match unsafe { native::rdmsr_checked(frame.r12 as u32) } {
                Some(value) if frame.r12 <= u64::from(u32::MAX) && !NO_SUCH_MSR.contains(&frame.r12) => {
                    frame.r11 = value;
                    vmcall_status::SUCCESS
                }
                _ => vmcall_status::INVALID_OPERAND,
            }
        }
        vmcall::WRMSR => {
            // SAFETY: as for RDMSR: the guest's own wrmsr, served natively.
            if frame.r12 <= u64::from(u32::MAX) && !NO_SUCH_MSR.contains(&frame.r12) && unsafe { native::wrmsr_checked(frame.r12 as u32, frame.r13) } {
                vmcall_status::SUCCESS
            } else {
                vmcall_status::INVALID_OPERAND
            }
        }
        vmcall::CPUID => {
            let r = framework::arch::cpuid::raw(frame.r12 as u32, frame.r13 as u32);
            (frame.r12, frame.r13, frame.r14, frame.r15) = (r.eax.into(), r.ebx.into(), r.ecx.into(), r.edx.into());
            vmcall_status::SUCCESS
        }
        // A spurious wake-up: the guest loops on its condition anyway.
        vmcall::HLT => vmcall_status::SUCCESS,
        vmcall::GET_TD_VM_CALL_INFO => {
            (frame.r11, frame.r12, frame.r13, frame.r14) = (0, 0, 0, 0);
            vmcall_status::SUCCESS
        }
        vmcall::MMIO => mmio(frame, shared_bit),
        vmcall::MAP_GPA => map_gpa(frame, shared_bit),
        vmcall::GET_QUOTE => get_quote(frame, shared_bit),
        vmcall::SETUP_EVENT_NOTIFY_INTERRUPT => {
            if (32..=255).contains(&frame.r12) {
                let target = u64::from(framework::arch::apic::id());
                NOTIFY.store(frame.r12 | (target << 8), core::sync::atomic::Ordering::Release);
                vmcall_status::SUCCESS
            } else {
                vmcall_status::INVALID_OPERAND
            }
        }
        vmcall::REPORT_FATAL_ERROR => panic!("tdx-emu: the TD reported a fatal error (code {:#x})", frame.r12),
        _ => vmcall_status::INVALID_OPERAND,
    };
    super::hostile::tamper_vmcall(frame, function, port);
}

fn io(frame: &mut TrapFrame) -> u64 {
    let (Some(size), Ok(port)) = (IoSize::from_bytes(frame.r12 as u8).filter(|_| frame.r12 <= 4), u16::try_from(frame.r14)) else {
        return vmcall_status::INVALID_OPERAND;
    };
    match frame.r13 {
        // SAFETY: the guest kernel's own port access (its Port contract
        // holds), performed natively by the emulated host.
        0 => frame.r11 = u64::from(unsafe { native::port_in(port, size) }),
        // SAFETY: as above.
        1 => unsafe { native::port_out(port, size, frame.r15 as u32) },
        _ => return vmcall_status::INVALID_OPERAND,
    }
    vmcall_status::SUCCESS
}

/// The emulated host's one MMIO device: a page of scratch registers at
/// this GPA (outside RAM, inside the PCI hole, where no QEMU device sits),
/// so a test can write and read back through the #VE MMIO path.
pub const TEST_DEVICE_GPA: u64 = 0xfeb0_0000;
static TEST_DEVICE: [core::sync::atomic::AtomicU8; PAGE as usize] =
    [const { core::sync::atomic::AtomicU8::new(0) }; PAGE as usize];

fn mmio(frame: &mut TrapFrame, shared_bit: u64) -> u64 {
    let (size, write, gpa) = (frame.r12, frame.r13, frame.r14 & !shared_bit);
    if !matches!(size, 1 | 2 | 4 | 8) || write > 1 || frame.r14 & shared_bit == 0 {
        return vmcall_status::INVALID_OPERAND;
    }
    if PAGES.is_ram(boot::PhysRange { start: gpa, end: gpa + size }) {
        record(Violation::MmioToRam, gpa);
        return vmcall_status::INVALID_OPERAND;
    }
    let Some(offset) = gpa.checked_sub(TEST_DEVICE_GPA).filter(|&o| o + size <= PAGE) else {
        return vmcall_status::INVALID_OPERAND; // no device there
    };
    let bytes = &TEST_DEVICE[offset as usize..(offset + size) as usize];
    if write == 1 {
        for (i, byte) in bytes.iter().enumerate() {
            byte.store((frame.r15 >> (8 * i)) as u8, core::sync::atomic::Ordering::Relaxed);
        }
    } else {
        frame.r11 = bytes.iter().enumerate().fold(0, |value, (i, byte)| {
            value | u64::from(byte.load(core::sync::atomic::Ordering::Relaxed)) << (8 * i)
        });
    }
    vmcall_status::SUCCESS
}

fn map_gpa(frame: &mut TrapFrame, shared_bit: u64) -> u64 {
    let to_shared = frame.r12 & shared_bit != 0;
    let gpa = frame.r12 & !shared_bit;
    let len = frame.r13;
    if !gpa.is_multiple_of(PAGE) || !len.is_multiple_of(PAGE) || len == 0 || gpa.checked_add(len).is_none_or(|end| end > shared_bit) {
        return vmcall_status::ALIGN_ERROR;
    }
    let pages = (len / PAGE).min(MAP_GPA_PAGES_PER_CALL);
    let result = {
        let _serialised = super::CHANGE_LOCK.lock();
        PAGES.map_gpa(gpa, pages, to_shared)
    };
    if result.is_err() {
        record(Violation::MapGpaNotRam, gpa);
        return vmcall_status::INVALID_OPERAND;
    }
    if pages * PAGE < len {
        frame.r11 = (gpa + pages * PAGE) | if to_shared { shared_bit } else { 0 };
        return vmcall_status::RETRY;
    }
    vmcall_status::SUCCESS
}

fn get_quote(frame: &mut TrapFrame, shared_bit: u64) -> u64 {
    let gpa = frame.r12 & !shared_bit;
    let len = frame.r13;
    if frame.r12 & shared_bit == 0 || !gpa.is_multiple_of(PAGE) || len < quote::HEADER_SIZE as u64 || len > quote::MAX_BUFFER as u64 {
        return vmcall_status::INVALID_OPERAND;
    }
    let all_shared = (0..len.div_ceil(PAGE)).all(|i| PAGES.state(gpa + i * PAGE) == Some(PageState::Shared));
    if !all_shared || !framework::mm::is_direct_mapped(boot::PhysRange { start: gpa, end: gpa + len }) {
        record(Violation::QuoteBufferNotShared, gpa);
        return vmcall_status::INVALID_OPERAND;
    }
    // The quote service answers at once (a real one takes seconds; the
    // guest polls either way).
    let buffer = SharedBuffer { vaddr: framework::mm::paddr_to_vaddr(gpa), len: len as usize };
    let (status, out) = serve_quote(&buffer);
    let out_len = out.as_ref().map_or(0, |quote| quote.len());
    if let Some(quote) = out {
        buffer.write(quote::HEADER_SIZE, &quote);
    }
    buffer.write(20, &(out_len as u32).to_le_bytes());
    buffer.write(8, &status.to_le_bytes()); // status last: it releases the guest
    super::hostile::tamper_quote_buffer(buffer.len, &|offset, bytes| buffer.write(offset, bytes));
    // Tell the vCPU that asked for notifications (delivered once the
    // guest takes interrupts again).
    let notify = NOTIFY.load(core::sync::atomic::Ordering::Acquire);
    if notify != 0 {
        framework::arch::apic::send_ipi((notify >> 8) as u32, notify as u8);
    }
    vmcall_status::SUCCESS
}

/// The guest's shared quote buffer as the host sees it (the emulated host
/// reads and writes it through the direct map; the guest never holds a
/// reference into it).
struct SharedBuffer {
    vaddr: usize,
    len: usize,
}

impl SharedBuffer {
    fn read(&self, offset: usize, out: &mut [u8]) {
        if offset + out.len() <= self.len {
            // SAFETY: inside the shared buffer (checked: shared RAM of the
            // TD, direct-mapped); shared memory holds no Rust object.
            unsafe { core::ptr::copy_nonoverlapping((self.vaddr + offset) as *const u8, out.as_mut_ptr(), out.len()) };
        }
    }
    fn write(&self, offset: usize, data: &[u8]) {
        if offset + data.len() <= self.len {
            // SAFETY: as in `read`.
            unsafe { core::ptr::copy_nonoverlapping(data.as_ptr(), (self.vaddr + offset) as *mut u8, data.len()) };
        }
    }
}

/// Read the request, ask the quoting enclave: (status, quote).
fn serve_quote(buffer: &SharedBuffer) -> (u64, Option<alloc::vec::Vec<u8>>) {
    let mut header = [0u8; quote::HEADER_SIZE];
    buffer.read(0, &mut header);
    let version = u64::from_le_bytes(header[0..8].try_into().unwrap_or_default());
    let in_len = u32::from_le_bytes(header[16..20].try_into().unwrap_or_default()) as usize;
    if version != quote::VERSION || in_len != 1024 || quote::HEADER_SIZE + in_len > buffer.len {
        return (QuoteStatus::ERROR, None);
    }
    let mut report = [0u8; 1024];
    buffer.read(quote::HEADER_SIZE, &mut report);
    match super::quote_service::quote(&report) {
        Ok(q) if quote::HEADER_SIZE + q.len() <= buffer.len => (QuoteStatus::SUCCESS, Some(q)),
        _ => (QuoteStatus::ERROR, None),
    }
}

/// A device access the emulator refused, with the first offending page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DmaRefused(pub u64);

/// The emulated host's devices touching guest memory (DMA) at `address`
/// as a device sees it (TDX: the shared GPA), for `len` bytes. A real
/// device can only reach shared pages; one that reaches a private page
/// means private memory was handed to the host: recorded as the fatal
/// [`Violation::DmaFromPrivate`] and refused.
pub fn device_dma(address: u64, len: u64) -> Result<(), DmaRefused> {
    let Some(state) = super::STATE.get() else { return Err(DmaRefused(address)) };
    let shared_bit = 1u64 << (state.gpaw - 1);
    let gpa = address & !shared_bit;
    let end = gpa.checked_add(len).filter(|_| len > 0).ok_or(DmaRefused(address))?;
    let first_bad = if address & shared_bit == 0 {
        Some(gpa)
    } else {
        (gpa & !(PAGE - 1)..end).step_by(PAGE as usize).find(|&page| PAGES.state(page) != Some(PageState::Shared))
    };
    match first_bad {
        None => Ok(()),
        Some(page) => {
            record(Violation::DmaFromPrivate, page);
            Err(DmaRefused(page))
        }
    }
}

/// The address a (real, non-TD) QEMU device must be given for the shared
/// buffer at device address `address` of `len` bytes: checked with
/// [`device_dma`] (a private page is a recorded violation and refused),
/// then without the shared bit, which QEMU outside a TD does not know.
pub fn device_bus_address(address: u64, len: u64) -> Option<u64> {
    device_dma(address, len).ok()?;
    let gpaw = super::STATE.get()?.gpaw;
    Some(address & !(1u64 << (gpaw - 1)))
}
