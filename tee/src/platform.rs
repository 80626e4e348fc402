//! The platform interface: every difference between "no TEE", Intel TDX
//! and AMD SEV-SNP is a method of [`Platform`]; callers never branch on the
//! platform (COCONUT-SVSM's `SvsmPlatform`).
//!
//! Owns: the trait, its error type, and the trivial platform ("none"). Must never: decide which
//! platform runs (that is [`crate::init`]).

use boot::PhysRange;

/// Which confidential platform this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlatformKind {
    /// A plain VM (KVM or TCG) or bare metal: no memory encryption.
    None,
    /// An Intel TDX trust domain.
    Tdx,
    /// An AMD SEV-SNP guest.
    SevSnp,
}

impl PlatformKind {
    pub fn name(self) -> &'static str {
        match self {
            PlatformKind::None => "none",
            PlatformKind::Tdx => "tdx",
            PlatformKind::SevSnp => "sev-snp",
        }
    }
}

/// Width of one port access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoSize {
    Byte = 1,
    Word = 2,
    Dword = 4,
}

impl IoSize {
    pub fn from_bytes(bytes: u8) -> Option<Self> {
        match bytes {
            1 => Some(IoSize::Byte),
            2 => Some(IoSize::Word),
            4 => Some(IoSize::Dword),
            _ => None,
        }
    }
    pub fn bytes(self) -> u8 {
        self as u8
    }
    /// The bits a value of this width may have set.
    pub fn mask(self) -> u32 {
        match self {
            IoSize::Byte => 0xff,
            IoSize::Word => 0xffff,
            IoSize::Dword => u32::MAX,
        }
    }
}

/// The four registers one CPUID leaf returns (from the host on a TEE:
/// hints only, never trusted for memory safety).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuidResult {
    pub eax: u32,
    pub ebx: u32,
    pub ecx: u32,
    pub edx: u32,
}

/// Why a platform operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TeeError {
    /// This platform has no such operation (a report without a TEE).
    Unsupported,
    /// The caller's argument is out of range (index, alignment, size).
    InvalidArgument(&'static str),
    /// The TDX module refused, with its full status.
    Module(u64),
    /// The page was accepted before (TDX_PAGE_ALREADY_ACCEPTED).
    AlreadyAccepted,
    /// The host refused a request, with its status.
    Host(u64),
    /// An answer from the host (or the module) failed validation.
    BadResponse(&'static str),
}

impl core::fmt::Display for TeeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            TeeError::Unsupported => f.write_str("not supported on this platform"),
            TeeError::InvalidArgument(why) => write!(f, "invalid argument: {}", why),
            TeeError::Module(status) => write!(f, "TDX module status {:#018x}", status),
            TeeError::AlreadyAccepted => f.write_str("page already accepted"),
            TeeError::Host(status) => write!(f, "host refused (status {:#x})", status),
            TeeError::BadResponse(why) => write!(f, "invalid answer from the host: {}", why),
        }
    }
}

/// A hardware-signed (MACed) report of the running guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TeeReport {
    Tdx(crate::tdx::TdReport),
    /// An SNP attestation report signed by the PSP (boxed: 1184 bytes).
    SevSnp(alloc::boxed::Box<crate::snp::SnpReport>),
}

/// One confidential platform (or none). All methods may be called from any
/// CPU, with interrupts on or off; none allocates except `report` and
/// `extend_measurement` (aligned buffers the TDX module reads).
pub trait Platform: Sync {
    fn kind(&self) -> PlatformKind;

    /// Served by the TEE emulator rather than hardware.
    fn emulated(&self) -> bool {
        false
    }

    /// Accept `range` (page-aligned) before its first use.
    ///
    /// # Safety
    /// Nothing uses or references the range: accepting zeroes it.
    unsafe fn accept_memory(&self, range: PhysRange) -> Result<(), TeeError>;

    /// Make `range` (page-aligned) shared with the host; its contents are
    /// zeroed first. Mapping it with the shared bit (and flushing the old
    /// private translation) is the caller's job, as is never placing a
    /// secret or a Rust object in it afterwards.
    ///
    /// # Safety
    /// The caller owns the range and nothing else references it.
    unsafe fn convert_to_shared(&self, range: PhysRange) -> Result<(), TeeError>;

    /// Take `range` back from the host and accept it again (zeroed).
    ///
    /// # Safety
    /// As for [`convert_to_shared`](Platform::convert_to_shared); the
    /// caller has removed every shared mapping of the range.
    unsafe fn convert_to_private(&self, range: PhysRange) -> Result<(), TeeError>;

    /// Bits a PTE mapping shared memory carries (TDX: the GPAW shared
    /// bit; none where shared means "C-bit clear" or nothing is hidden).
    fn shared_pte_bits(&self) -> u64 {
        0
    }

    /// Bits of the address the host and its devices use for shared memory
    /// (TDX: the shared bit).
    fn shared_address_bits(&self) -> u64 {
        0
    }

    /// Read a port.
    ///
    /// # Safety
    /// As `framework::arch::port::Port::new`: the access must not break
    /// memory safety (e.g. program a DMA engine).
    unsafe fn port_read(&self, port: u16, size: IoSize) -> Result<u32, TeeError>;

    /// Write a port.
    ///
    /// # Safety
    /// As for [`port_read`](Platform::port_read).
    unsafe fn port_write(&self, port: u16, size: IoSize, value: u32) -> Result<(), TeeError>;

    /// Read an MSR (through the host where the platform requires it).
    ///
    /// # Safety
    /// Reading `msr` must have no side effect the kernel relies on not
    /// happening.
    unsafe fn msr_read(&self, msr: u32) -> Result<u64, TeeError>;

    /// Write an MSR.
    ///
    /// # Safety
    /// The value must keep every invariant the kernel relies on.
    unsafe fn msr_write(&self, msr: u32, value: u64) -> Result<(), TeeError>;

    /// CPUID as the platform answers it (the host, under TDX).
    fn cpuid(&self, leaf: u32, subleaf: u32) -> Result<CpuidResult, TeeError>;

    /// Wait for an interrupt (may return at once: callers loop).
    fn halt(&self);

    /// Extend measurement register `index` (TDX: RTMR 0..=3) with a
    /// SHA-384 digest.
    fn extend_measurement(&self, index: usize, digest: &[u8; 48]) -> Result<(), TeeError>;

    /// A report binding `report_data` to the current measurements.
    fn report(&self, report_data: &[u8; 64]) -> Result<TeeReport, TeeError>;
}

/// No TEE: native instructions, nothing to accept or convert.
pub struct NoTee;

#[cfg(target_os = "none")]
impl Platform for NoTee {
    fn kind(&self) -> PlatformKind {
        PlatformKind::None
    }
    unsafe fn accept_memory(&self, _range: PhysRange) -> Result<(), TeeError> {
        Ok(())
    }
    unsafe fn convert_to_shared(&self, _range: PhysRange) -> Result<(), TeeError> {
        Ok(())
    }
    unsafe fn convert_to_private(&self, _range: PhysRange) -> Result<(), TeeError> {
        Ok(())
    }
    unsafe fn port_read(&self, port: u16, size: IoSize) -> Result<u32, TeeError> {
        // SAFETY: forwarded to the caller.
        Ok(unsafe { crate::native::port_in(port, size) })
    }
    unsafe fn port_write(&self, port: u16, size: IoSize, value: u32) -> Result<(), TeeError> {
        // SAFETY: forwarded to the caller.
        unsafe { crate::native::port_out(port, size, value) };
        Ok(())
    }
    unsafe fn msr_read(&self, msr: u32) -> Result<u64, TeeError> {
        // SAFETY: forwarded to the caller; a missing MSR is a #GP the
        // helper's fixup turns into `None`.
        unsafe { crate::native::rdmsr_checked(msr) }.ok_or(TeeError::InvalidArgument("no such MSR"))
    }
    unsafe fn msr_write(&self, msr: u32, value: u64) -> Result<(), TeeError> {
        // SAFETY: forwarded to the caller.
        if unsafe { crate::native::wrmsr_checked(msr, value) } {
            Ok(())
        } else {
            Err(TeeError::InvalidArgument("MSR write refused (#GP)"))
        }
    }
    fn cpuid(&self, leaf: u32, subleaf: u32) -> Result<CpuidResult, TeeError> {
        let r = framework::arch::cpuid::raw(leaf, subleaf);
        Ok(CpuidResult { eax: r.eax, ebx: r.ebx, ecx: r.ecx, edx: r.edx })
    }
    fn halt(&self) {
        framework::arch::halt();
    }
    fn extend_measurement(&self, _index: usize, _digest: &[u8; 48]) -> Result<(), TeeError> {
        Err(TeeError::Unsupported)
    }
    fn report(&self, _report_data: &[u8; 64]) -> Result<TeeReport, TeeError> {
        Err(TeeError::Unsupported)
    }
}
