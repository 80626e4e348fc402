//! Umbra's TEE layer: everything specific to a confidential platform (Intel
//! TDX, AMD SEV-SNP, or none) behind one interface that the framework and
//! attestation call. Modelled on COCONUT-SVSM's `SvsmPlatform`.
//!
//! Must never: trust a value the host returns (TDVMCALL / GHCB results,
//! shared buffers) before validating it; make private memory host-visible
//! except through an explicit, zeroing conversion.
//!
//! So far only platform detection by CPUID exists; the TDX and SEV-SNP
//! implementations and the TEE emulation are the TEE-layer issue's work.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

/// The confidential platform the kernel runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Platform {
    /// A plain VM (KVM or TCG) or bare metal: no memory encryption.
    None,
    /// An Intel TDX trust domain.
    Tdx,
    /// An AMD SEV-SNP guest.
    SevSnp,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Platform::None => "none",
            Platform::Tdx => "tdx",
            Platform::SevSnp => "sev-snp",
        }
    }
}

/// CPUID leaf 0x21's vendor string in a TD: EBX, EDX, ECX = "IntelTDX    ".
const TDX_CPUID_SIGNATURE: [u32; 3] = [0x6574_6e49, 0x5844_546c, 0x2020_2020];

/// Detect the platform from CPUID alone (no MSR reads that could fault).
/// SEV-SNP needs the SEV_STATUS MSR, read once CPUID 0x8000001F says the
/// memory-encryption leaf exists; that check arrives with the SNP code.
pub fn detect() -> Platform {
    #[cfg(target_arch = "x86_64")]
    {
        use core::arch::x86_64::__cpuid_count;
        // CPUID is unprivileged and side-effect free (it can #VE in a TD,
        // where the TDX module answers leaf 0x21 itself).
        let max_leaf = __cpuid_count(0, 0).eax;
        if max_leaf >= 0x21 {
            let leaf = __cpuid_count(0x21, 0);
            if [leaf.ebx, leaf.edx, leaf.ecx] == TDX_CPUID_SIGNATURE {
                return Platform::Tdx;
            }
        }
    }
    Platform::None
}
