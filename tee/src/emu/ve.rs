//! Synthetic #VE: under TCG, CPUID, port I/O, MSRs, HLT and MMIO execute
//! natively and never raise #VE, so the emulator raises it on request to
//! exercise the guest's real #VE handler. A test *arms* a #VE on its CPU,
//! then executes `ud2` immediately followed by the instruction:
//!
//! ```text
//!     emu::ve::arm(VeRequest::Cpuid);   // interrupts off
//!     ud2; cpuid
//! ```
//!
//! The #UD hook sees the armed `ud2`, steps over it, records the VE info
//! a TDX module would (exit reason, qualification, GLA/GPA, instruction
//! length from its own decoding of the instruction) and delivers vector
//! 20 on the same frame, now pointing at the instruction. TDG.VP.VEINFO.GET
//! returns that info once. If the guest's handler does not emulate and
//! step over the instruction, the #VE is fatal, as on hardware.
//!
//! Owns: the per-CPU armed request and VE info. Must never: turn a `ud2`
//! that was not armed on this CPU into a #VE.

use framework::arch::trap::TrapFrame;
use framework::cpu_local::MAX_CPUS;

use crate::tdx::abi::vmcall as reason;

/// The #VE a test asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VeRequest {
    /// CPUID, HLT, RDMSR, WRMSR or port I/O: the reason and qualification
    /// follow from the instruction after the `ud2`.
    Instruction,
    /// An EPT violation on shared `gpa` (shared bit included), accessed at
    /// linear address `gla`.
    Mmio { gpa: u64, gla: u64 },
}

/// What TDG.VP.VEINFO.GET returns (RCX, RDX, R8, R9, R10).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VeInfoRegs {
    pub exit_reason: u64,
    pub qualification: u64,
    pub gla: u64,
    pub gpa: u64,
    pub instr_len_info: u64,
}

static ARMED: [spin::Mutex<Option<VeRequest>>; MAX_CPUS] = [const { spin::Mutex::new(None) }; MAX_CPUS];
static VE_INFO: [spin::Mutex<Option<VeInfoRegs>>; MAX_CPUS] = [const { spin::Mutex::new(None) }; MAX_CPUS];

fn cpu() -> usize {
    framework::cpu_local::this_cpu().index
}

/// Arm one #VE for the next `ud2` this CPU executes (the caller keeps
/// interrupts off until then).
pub fn arm(request: VeRequest) {
    *ARMED[cpu()].lock() = Some(request);
}

/// TDG.VP.VEINFO.GET: the pending info, consumed.
pub(super) fn take_info() -> Option<VeInfoRegs> {
    VE_INFO[cpu()].lock().take()
}

const UD2: [u8; 2] = [0x0f, 0x0b];

/// From the #UD hook: if this is an armed `ud2`, raise the #VE and return
/// true.
pub(super) fn raise_if_armed(frame: &mut TrapFrame) -> bool {
    if frame.from_user() || super::decode::bytes::<2>(frame.rip) != Some(UD2) {
        return false;
    }
    let Some(request) = ARMED[cpu()].lock().take() else {
        return false;
    };
    let rip = frame.rip + 2;
    let info = match request {
        VeRequest::Mmio { gpa, gla } => {
            VeInfoRegs { exit_reason: reason::MMIO, qualification: 0, gla, gpa, instr_len_info: 0 }
        }
        VeRequest::Instruction => match super::decode::bytes::<3>(rip).and_then(|b| instruction_info(b, frame.rdx)) {
            Some(info) => info,
            None => panic!("tdx-emu: a #VE was armed, but the instruction at {:#x} does not cause one", rip),
        },
    };
    frame.rip = rip;
    *VE_INFO[cpu()].lock() = Some(info);
    framework::arch::trap::deliver_exception(frame, framework::arch::trap::VIRTUALIZATION_EXCEPTION);
    true
}

/// The VE info a TDX module reports for the instruction starting with
/// `b` (DX holds the port of `in`/`out` with a DX operand).
fn instruction_info(b: [u8; 3], dx: u64) -> Option<VeInfoRegs> {
    let simple = |exit_reason, len| Some(VeInfoRegs { exit_reason, instr_len_info: len, ..Default::default() });
    // Port I/O: qualification = size-1 | IN << 3 | port << 16.
    let io = |size: u64, input: bool, port: u64, len: u64| {
        Some(VeInfoRegs {
            exit_reason: reason::IO,
            qualification: (size - 1) | (u64::from(input) << 3) | (port << 16),
            instr_len_info: len,
            ..Default::default()
        })
    };
    let port_dx = dx & 0xffff;
    match b {
        [0x0f, 0xa2, _] => simple(reason::CPUID, 2),
        [0xf4, _, _] => simple(reason::HLT, 1),
        [0x0f, 0x32, _] => simple(reason::RDMSR, 2),
        [0x0f, 0x30, _] => simple(reason::WRMSR, 2),
        [0xe4, port, _] => io(1, true, port.into(), 2),
        [0xe5, port, _] => io(4, true, port.into(), 2),
        [0xe6, port, _] => io(1, false, port.into(), 2),
        [0xe7, port, _] => io(4, false, port.into(), 2),
        [0xec, _, _] => io(1, true, port_dx, 1),
        [0xed, _, _] => io(4, true, port_dx, 1),
        [0xee, _, _] => io(1, false, port_dx, 1),
        [0xef, _, _] => io(4, false, port_dx, 1),
        [0x66, 0xe5, port] => io(2, true, port.into(), 3),
        [0x66, 0xe7, port] => io(2, false, port.into(), 3),
        [0x66, 0xed, _] => io(2, true, port_dx, 2),
        [0x66, 0xef, _] => io(2, false, port_dx, 2),
        _ => None,
    }
}

/// Set this CPU's VE info directly (tests that hand the #VE handler a
/// crafted frame).
pub fn set_info(info: VeInfoRegs) {
    *VE_INFO[cpu()].lock() = Some(info);
}

/// Clear this CPU's VE info.
pub fn set_info_none() {
    *VE_INFO[cpu()].lock() = None;
}
