//! The #VC handler (vector 29): under SEV-ES/SNP, CPUID, RDMSR/WRMSR and
//! IN/OUT executed natively trap to the guest itself, with the exit code
//! as error code. The handler decodes the instruction at RIP, asks the
//! hypervisor through the GHCB (or, before this CPU's GHCB exists, the
//! MSR protocol, which serves CPUID only) and resumes after it, as
//! Linux's `vc_handle_exitcode` does. This is what lets platform
//! detection execute CPUID on a real SNP guest.
//!
//! Owns: decoding those few instructions. Must never: handle a #VC from
//! user mode (not decoded yet: refused, and the process gets the signal)
//! or an instruction it did not decode completely.

use framework::arch::extable::probe_read_u64;
use framework::arch::trap::TrapFrame;

use super::abi::exit;
use crate::platform::IoSize;

/// Install the handler (harmless where #VC never happens).
pub fn install() {
    let _ = framework::arch::trap::set_exception_hook(29, Some(handle));
}

fn bytes_at(rip: u64) -> Option<[u8; 4]> {
    let base = rip & !7;
    let offset = (rip - base) as usize;
    let mut window = [0u8; 16];
    window[..8].copy_from_slice(&probe_read_u64(base).ok()?.to_le_bytes());
    if offset + 4 > 8 {
        window[8..].copy_from_slice(&probe_read_u64(base.checked_add(8)?).ok()?.to_le_bytes());
    }
    window[offset..offset + 4].try_into().ok()
}

/// A decoded IN/OUT: port, width, direction, length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortInstruction {
    /// `None`: the port is in DX.
    pub immediate_port: Option<u8>,
    pub size: IoSize,
    pub is_in: bool,
    pub len: u64,
}

/// Decode IN/OUT (`E4`-`E7` with an 8-bit port, `EC`-`EF` with DX, an
/// optional `66` operand-size prefix); string forms are not handled.
pub fn decode_port(bytes: [u8; 4]) -> Option<PortInstruction> {
    let (prefixed, op, rest) = match bytes[0] {
        0x66 => (true, bytes[1], &bytes[2..]),
        _ => (false, bytes[0], &bytes[1..]),
    };
    let wide = op & 1 != 0;
    let size = match (wide, prefixed) {
        (false, false) => IoSize::Byte,
        (true, true) => IoSize::Word,
        (true, false) => IoSize::Dword,
        (false, true) => return None,
    };
    let prefix_len = u64::from(prefixed);
    match op {
        0xe4..=0xe7 => Some(PortInstruction { immediate_port: Some(rest[0]), size, is_in: op < 0xe6, len: prefix_len + 2 }),
        0xec..=0xef => Some(PortInstruction { immediate_port: None, size, is_in: op < 0xee, len: prefix_len + 1 }),
        _ => None,
    }
}

/// The #VC hook: true if the instruction was emulated.
pub fn handle(frame: &mut TrapFrame) -> bool {
    if frame.from_user() {
        return false;
    }
    let Some(bytes) = bytes_at(frame.rip) else { return false };
    match frame.error_code {
        exit::CPUID if bytes[..2] == [0x0f, 0xa2] => {
            let Some(r) = cpuid(frame.rax as u32, frame.rcx as u32) else { return false };
            (frame.rax, frame.rbx, frame.rcx, frame.rdx) = (r.eax.into(), r.ebx.into(), r.ecx.into(), r.edx.into());
            frame.rip += 2;
            true
        }
        exit::MSR if bytes[..2] == [0x0f, 0x32] => match super::rdmsr(frame.rcx as u32) {
            Ok(value) => {
                (frame.rax, frame.rdx) = (value & 0xffff_ffff, value >> 32);
                frame.rip += 2;
                true
            }
            Err(_) => false,
        },
        exit::MSR if bytes[..2] == [0x0f, 0x30] => {
            let value = (frame.rdx << 32) | (frame.rax & 0xffff_ffff);
            if super::wrmsr(frame.rcx as u32, value).is_err() {
                return false;
            }
            frame.rip += 2;
            true
        }
        exit::IOIO => {
            let Some(io) = decode_port(bytes) else { return false };
            let port = io.immediate_port.map_or(frame.rdx as u16, u16::from);
            if io.is_in {
                let Ok(value) = super::io_read(port, io.size) else { return false };
                let mask = u64::from(io.size.mask());
                // 32-bit results zero the upper half of RAX; 8/16-bit
                // ones keep the rest, as the instruction does.
                frame.rax = if io.size == IoSize::Dword { u64::from(value) } else { (frame.rax & !mask) | u64::from(value) };
            } else if super::io_write(port, io.size, frame.rax as u32 & io.size.mask()).is_err() {
                return false;
            }
            frame.rip += io.len;
            true
        }
        _ => false,
    }
}

/// CPUID through this CPU's GHCB, or the MSR protocol before it exists
/// (subleaf 0 only, as Linux's early handler).
fn cpuid(leaf: u32, subleaf: u32) -> Option<crate::platform::CpuidResult> {
    if super::ghcb::ready() || super::cpuid_table::table().is_some() {
        return super::cpuid(leaf, subleaf).ok();
    }
    let reg = |r| super::msr_protocol::cpuid(leaf, r).ok();
    Some(crate::platform::CpuidResult { eax: reg(0)?, ebx: reg(1)?, ecx: reg(2)?, edx: reg(3)? })
}
