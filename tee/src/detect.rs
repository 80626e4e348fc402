//! Which confidential platform the hardware says this is (CPUID, and the
//! SEV_STATUS MSR once CPUID says it exists), and what the boot option
//! asks of the emulator. The only place that reads `umbra.tee_emu=`.
//!
//! Owns: detection. Must never: execute an instruction that would #VE/#VC
//! before the platform is known (CPUID leaf 0x21 is answered by the TDX
//! module itself; SEV_STATUS is read with a #GP fixup).

#[cfg(target_os = "none")]
use crate::platform::PlatformKind;

/// CPUID leaf 0x21's vendor string in a TD: EBX, EDX, ECX = "IntelTDX    ".
pub const TDX_CPUID_SIGNATURE: [u32; 3] = [0x6574_6e49, 0x5844_546c, 0x2020_2020];
/// AMD's SEV_STATUS MSR and its "SNP active" bit.
pub const SEV_STATUS_MSR: u32 = 0xc001_0131;
pub const SEV_STATUS_SNP: u64 = 1 << 2;

/// The platform the CPU reports.
#[cfg(target_os = "none")]
pub fn hardware() -> PlatformKind {
    let max_leaf = framework::arch::cpuid::raw(0, 0).eax;
    if max_leaf >= 0x21 {
        let leaf = framework::arch::cpuid::raw(0x21, 0);
        if [leaf.ebx, leaf.edx, leaf.ecx] == TDX_CPUID_SIGNATURE {
            return PlatformKind::Tdx;
        }
    }
    let max_extended = framework::arch::cpuid::raw(0x8000_0000, 0).eax;
    if max_extended >= 0x8000_001f && framework::arch::cpuid::raw(0x8000_001f, 0).eax & (1 << 1) != 0 {
        // SAFETY: SEV_STATUS is read-only and side-effect free; on a CPU
        // that lies about it the #GP becomes `None`.
        if unsafe { crate::native::rdmsr_checked(SEV_STATUS_MSR) }.is_some_and(|s| s & SEV_STATUS_SNP != 0) {
            return PlatformKind::SevSnp;
        }
    }
    PlatformKind::None
}

/// What `umbra.tee_emu=` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmulationRequest<'a> {
    Tdx,
    Snp,
    Unknown(&'a str),
}

/// The emulation the command line asks for, if any (last one wins).
/// Options after a comma (`umbra.tee_emu=tdx,hostile`) are read by
/// [`emulation_hostile`].
pub fn emulation_request(cmdline: &str) -> Option<EmulationRequest<'_>> {
    emulation_value(cmdline).map(|value| value.split(',').next().unwrap_or(value)).map(|value| match value {
        "tdx" => EmulationRequest::Tdx,
        "snp" => EmulationRequest::Snp,
        other => EmulationRequest::Unknown(other),
    })
}

fn emulation_value(cmdline: &str) -> Option<&str> {
    cmdline.split_ascii_whitespace().filter_map(|word| word.strip_prefix("umbra.tee_emu=")).next_back()
}

/// Does `umbra.tee_emu=` ask for hostile mode (`...,hostile`)?
pub fn emulation_hostile(cmdline: &str) -> bool {
    emulation_value(cmdline).is_some_and(|value| value.split(',').skip(1).any(|option| option == "hostile"))
}
