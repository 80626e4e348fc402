//! The #VE (virtualization exception, vector 20) handler: the TDX module
//! raises #VE for instructions the host must emulate (CPUID leaves it
//! does not answer, port I/O, some MSRs, HLT, and loads/stores to shared
//! GPAs the host has not mapped: MMIO). The handler reads the reason with
//! TDG.VP.VEINFO.GET, asks the host through TDVMCALL and resumes after the
//! instruction, as Linux's `arch/x86/coco/tdx/tdx.c` does.
//!
//! Trust: VEINFO comes from the TDX module (trusted, still range-checked);
//! everything the host answers is masked to the instruction's width, and
//! a host refusal never kills the kernel: the instruction completes as on
//! an absent device (reads all-ones or zero, writes dropped; MSRs take
//! their fixup if they have one) and the refusal is logged. The
//! length of an MMIO instruction comes from our own decoder ([`insn`]),
//! never from anyone else. From user mode only CPUID is emulated (as
//! Linux); everything else stays unresolved and becomes a signal.
//!
//! Owns: the dispatch and the register effects. Must never: emulate an
//! access to a private GPA (a #VE there means the host removed a private
//! page: fatal, not emulated), or loop on an instruction it cannot decode.
//!
//! [`insn`]: super::insn

use core::sync::atomic::{AtomicU64, Ordering};

use framework::arch::trap::TrapFrame;

use super::abi::vmcall as reason;
use super::calls::{self, VeInfo};
use super::insn::{self, MmioOp};
use super::vmcall;
use crate::platform::IoSize;

/// The TD's shared bit (set once when the handler is installed).
static SHARED_BIT: AtomicU64 = AtomicU64::new(0);

/// #VEs handled and refused since boot.
pub static HANDLED: AtomicU64 = AtomicU64::new(0);
pub static REFUSED: AtomicU64 = AtomicU64::new(0);

/// Install the handler for vector 20.
pub fn install(shared_bit: u64) {
    SHARED_BIT.store(shared_bit, Ordering::Relaxed);
    let _ = framework::arch::trap::set_exception_hook(framework::arch::trap::VIRTUALIZATION_EXCEPTION, Some(handle));
}

/// CPUID leaves the host may answer (the hypervisor range): everything
/// else reads as zeros, as on Linux, so the host cannot feign features.
pub const HOST_CPUID_LEAVES: core::ops::RangeInclusive<u32> = 0x4000_0000..=0x4fff_ffff;

/// The #VE exception hook.
pub fn handle(frame: &mut TrapFrame) -> bool {
    let info = match calls::ve_info() {
        Ok(info) => info,
        Err(error) => {
            log::error!("tdx: #VE at {:#x} without VE info: {}", frame.rip, error);
            REFUSED.fetch_add(1, Ordering::Relaxed);
            return false;
        }
    };
    let handled = if frame.from_user() {
        info.exit_reason == reason::CPUID as u32 && emulate(frame, &info).is_ok()
    } else {
        match emulate(frame, &info) {
            Ok(()) => true,
            Err(why) => {
                log::error!("tdx: #VE (exit reason {}) at {:#x} not emulated: {}", info.exit_reason, frame.rip, why);
                false
            }
        }
    };
    if handled {
        HANDLED.fetch_add(1, Ordering::Relaxed);
    } else {
        REFUSED.fetch_add(1, Ordering::Relaxed);
    }
    handled
}

/// Emulate the instruction `info` describes and advance RIP past it.
fn emulate(frame: &mut TrapFrame, info: &VeInfo) -> Result<(), &'static str> {
    let exit_reason = u64::from(info.exit_reason);
    if exit_reason == reason::MMIO {
        return mmio(frame, info);
    }
    // Instruction-caused #VEs carry their length (1..=15 on any CPU).
    let len = u64::from(info.instr_len);
    if !(1..=insn::MAX_LEN as u64).contains(&len) {
        return Err("instruction length outside 1..=15");
    }
    match exit_reason {
        reason::CPUID => {
            let (leaf, subleaf) = (frame.rax as u32, frame.rcx as u32);
            let r = if HOST_CPUID_LEAVES.contains(&leaf) {
                vmcall::cpuid(leaf, subleaf).unwrap_or_else(|error| {
                    refused("CPUID", error);
                    crate::platform::CpuidResult::default()
                })
            } else {
                crate::platform::CpuidResult::default()
            };
            (frame.rax, frame.rbx, frame.rcx, frame.rdx) = (r.eax.into(), r.ebx.into(), r.ecx.into(), r.edx.into());
        }
        reason::HLT => {
            let interrupts_blocked = frame.rflags & (1 << 9) == 0;
            // A refused HLT is a spurious wake-up: callers loop.
            if let Err(error) = vmcall::hlt(interrupts_blocked) {
                refused("HLT", error);
            }
        }
        reason::RDMSR => match vmcall::rdmsr(frame.rcx as u32) {
            Ok(value) => (frame.rax, frame.rdx) = (value & 0xffff_ffff, value >> 32),
            // The host says no such MSR: the #GP the instruction would
            // have raised, i.e. its fixup if it has one; else it reads 0
            // (Linux: "unchecked MSR access error", and on).
            Err(error) => {
                if general_protection(frame) {
                    return Ok(());
                }
                refused("RDMSR", error);
                (frame.rax, frame.rdx) = (0, 0);
            }
        },
        reason::WRMSR => {
            let value = (frame.rdx << 32) | (frame.rax & 0xffff_ffff);
            if let Err(error) = vmcall::wrmsr(frame.rcx as u32, value) {
                if general_protection(frame) {
                    return Ok(());
                }
                refused("WRMSR", error); // dropped
            }
        }
        reason::IO => port_io(frame, info.exit_qualification)?,
        _ => return Err("exit reason not emulated"),
    }
    frame.rip += len;
    Ok(())
}

/// The instruction faulted (#GP): continue at its fixup, if it has one
/// (true).
fn general_protection(frame: &mut TrapFrame) -> bool {
    match framework::arch::extable::fixup_for(frame.rip) {
        Some(fixup) => {
            frame.rip = fixup;
            true
        }
        None => false,
    }
}

/// The host refused what the instruction asked: logged (rate-limited),
/// and the instruction completes with a harmless result.
fn refused(what: &str, error: crate::platform::TeeError) {
    let status = match error {
        crate::platform::TeeError::Host(status) | crate::platform::TeeError::Module(status) => status,
        _ => 0,
    };
    crate::rejected::reject(what, status);
}

/// Port I/O exit qualification (Intel SDM, "Exit Qualification for I/O
/// Instructions"): size - 1 in bits 2:0, IN in bit 3, string in bit 4,
/// port in bits 31:16.
fn port_io(frame: &mut TrapFrame, qualification: u64) -> Result<(), &'static str> {
    let size = IoSize::from_bytes((qualification & 7) as u8 + 1).ok_or("bad I/O size")?;
    if qualification & (1 << 4) != 0 {
        return Err("string port I/O");
    }
    let port = (qualification >> 16) as u16;
    if qualification & (1 << 3) != 0 {
        let value = vmcall::io_read(port, size).unwrap_or_else(|error| {
            refused("port read", error);
            size.mask()
        });
        frame.rax = insn::write_gpr(frame.rax, insn::Gpr { index: 0, high_byte: false }, size.bytes(), u64::from(value));
    } else {
        // A refused write is dropped, as a write to an absent port is.
        if let Err(error) = vmcall::io_write(port, size, frame.rax as u32 & size.mask()) {
            refused("port write", error);
        }
    }
    Ok(())
}

/// The kernel-text bytes at `rip` (up to 15; fewer where a page ends
/// unreadable).
fn instruction_bytes(rip: u64) -> ([u8; 16], usize) {
    let mut bytes = [0u8; 16];
    let base = rip & !7;
    let skip = (rip - base) as usize;
    let mut window = [0u8; 24];
    let mut have = 0usize;
    for (i, chunk) in window.chunks_mut(8).enumerate() {
        let Some(addr) = base.checked_add(8 * i as u64) else { break };
        match framework::arch::extable::probe_read_u64(addr) {
            Ok(word) => chunk.copy_from_slice(&word.to_le_bytes()),
            Err(_) => break,
        }
        have += 8;
    }
    let available = have.saturating_sub(skip).min(insn::MAX_LEN);
    bytes[..available].copy_from_slice(&window[skip..skip + available]);
    (bytes, available)
}

fn mmio(frame: &mut TrapFrame, info: &VeInfo) -> Result<(), &'static str> {
    let shared_bit = SHARED_BIT.load(Ordering::Relaxed);
    if frame.from_user() {
        return Err("MMIO from user mode");
    }
    if shared_bit == 0 || info.gpa & shared_bit == 0 {
        return Err("EPT violation on a private GPA (the host removed a private page?)");
    }
    let (bytes, available) = instruction_bytes(frame.rip);
    let decoded = insn::decode(&bytes[..available]).map_err(|_| "MMIO instruction not emulated")?;
    let size = u64::from(decoded.size);
    // MMIO is naturally aligned: an access split across pages is refused
    // (as Linux does) rather than half-emulated.
    if info.gla / 4096 != (info.gla + size - 1) / 4096 || info.gpa / 4096 != (info.gpa + size - 1) / 4096 {
        return Err("MMIO access crosses a page");
    }
    match decoded.op {
        MmioOp::StoreReg(gpr) => {
            let value = insn::read_gpr(gpr_value(frame, gpr.index), gpr, decoded.size);
            if let Err(error) = vmcall::mmio_write(info.gpa, decoded.size, value, shared_bit) {
                refused("MMIO write", error); // dropped, as to an absent device
            }
        }
        MmioOp::StoreImm(value) => {
            if let Err(error) = vmcall::mmio_write(info.gpa, decoded.size, value, shared_bit) {
                refused("MMIO write", error);
            }
        }
        MmioOp::Load { dest, dest_size } => {
            // A refused read reads as all-ones, as from an absent device.
            let value = vmcall::mmio_read(info.gpa, decoded.size, shared_bit).unwrap_or_else(|error| {
                refused("MMIO read", error);
                insn::mask(decoded.size)
            });
            let register = gpr_mut(frame, dest.index);
            *register = insn::write_gpr(*register, dest, dest_size, value);
        }
    }
    frame.rip += u64::from(decoded.len);
    Ok(())
}

fn gpr_value(frame: &mut TrapFrame, index: u8) -> u64 {
    *gpr_mut(frame, index)
}

/// The saved register with encoding `index` (0..=15).
fn gpr_mut(frame: &mut TrapFrame, index: u8) -> &mut u64 {
    match index & 15 {
        0 => &mut frame.rax,
        1 => &mut frame.rcx,
        2 => &mut frame.rdx,
        3 => &mut frame.rbx,
        4 => &mut frame.rsp,
        5 => &mut frame.rbp,
        6 => &mut frame.rsi,
        7 => &mut frame.rdi,
        8 => &mut frame.r8,
        9 => &mut frame.r9,
        10 => &mut frame.r10,
        11 => &mut frame.r11,
        12 => &mut frame.r12,
        13 => &mut frame.r13,
        14 => &mut frame.r14,
        _ => &mut frame.r15,
    }
}
