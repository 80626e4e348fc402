//! CPUID: the one place the framework executes `cpuid`, and the features
//! the CPU/trap/time core asks for.
//!
//! Threat model: under TDX part of these leaves is passed through from the
//! host VMM (the TDX module fixes others, e.g. leaf 0x15); under SEV-SNP the
//! hypervisor answers (checked against the SNP CPUID page once the tee layer
//! exists; today a `cpuid` under SNP would raise #VC). So every value read
//! here is a hint: callers validate ranges and fall back, and nothing that
//! memory safety depends on is taken from CPUID alone.

/// The four registers one CPUID leaf returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidResult {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

/// Execute `cpuid` for `leaf`/`subleaf`, without checking the leaf exists.
pub fn raw(leaf: u32, subleaf: u32) -> CpuidResult {
    let r = core::arch::x86_64::__cpuid_count(leaf, subleaf);
    CpuidResult { eax: r.eax, ebx: r.ebx, ecx: r.ecx, edx: r.edx }
}

/// A leaf, if the CPU reports it in range (basic leaves below 0x8000_0000,
/// extended ones above). Out-of-range leaves return data of the highest
/// basic leaf on Intel, which must not be mistaken for an answer.
pub fn leaf(leaf: u32, subleaf: u32) -> Option<CpuidResult> {
    let max = if leaf >= 0x8000_0000 { raw(0x8000_0000, 0).eax } else { raw(0, 0).eax };
    (leaf <= max).then(|| raw(leaf, subleaf))
}

/// The features the CPU/trap/time core uses.
#[derive(Clone, Copy, Debug, Default)]
pub struct Features {
    /// CPUID.1:EDX[4]: `rdtsc` exists.
    pub tsc: bool,
    /// CPUID.1:EDX[9]: an on-chip local APIC.
    pub apic: bool,
    /// CPUID.1:ECX[21]: the local APIC supports x2APIC (MSR) mode.
    pub x2apic: bool,
    /// CPUID.1:ECX[24]: the local APIC timer has TSC-deadline mode.
    pub tsc_deadline: bool,
    /// CPUID.8000_0007:EDX[8]: the TSC runs at a constant rate in all
    /// P/C-states (and, in a VM, the hypervisor promises the same).
    pub invariant_tsc: bool,
    /// CPUID.0:EAX: highest basic leaf.
    pub max_basic_leaf: u32,
}

/// Read the features the CPU/trap/time core uses.
pub fn features() -> Features {
    let max_basic_leaf = raw(0, 0).eax;
    let basic = leaf(1, 0).unwrap_or_default();
    let power = leaf(0x8000_0007, 0).unwrap_or_default();
    Features {
        tsc: basic.edx & (1 << 4) != 0,
        apic: basic.edx & (1 << 9) != 0,
        x2apic: basic.ecx & (1 << 21) != 0,
        tsc_deadline: basic.ecx & (1 << 24) != 0,
        invariant_tsc: power.edx & (1 << 8) != 0,
        max_basic_leaf,
    }
}

mod tests {
    use crate::ktest;

    #[ktest]
    fn leaf_zero_is_in_range_and_vendor_is_ascii() {
        let zero = super::leaf(0, 0).expect("leaf 0 always exists");
        assert!(zero.eax >= 1, "every x86-64 CPU has leaf 1");
        for register in [zero.ebx, zero.edx, zero.ecx] {
            assert!(register.to_le_bytes().iter().all(u8::is_ascii_graphic), "vendor string {:#x}", register);
        }
        assert!(super::leaf(zero.eax + 1, 0).is_none(), "a leaf above the maximum must be refused");
    }

    #[ktest]
    fn features_include_tsc_and_apic() {
        let features = super::features();
        assert!(features.tsc && features.apic, "{:?}", features);
    }
}
