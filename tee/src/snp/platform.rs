//! [`SnpPlatform`]: the [`Platform`] of an SEV-SNP guest, built on the
//! GHCB (port I/O, MSRs, CPUID, guest requests), page state changes and
//! PVALIDATE (acceptance and private<->shared conversion).
//!
//! Owns: the platform and mm's acceptor on SNP, the port-I/O hook.

use core::sync::atomic::{AtomicU64, Ordering};

use boot::PhysRange;
use framework::arch::port::PortAccess;
use framework::mm::{AcceptError, MemoryAcceptor};

use super::abi::{exit, ioio, msr_proto, PSC_OP_PRIVATE, PSC_OP_SHARED, SEV_STATUS_SNP};
use super::ghcb::{layout, with_ghcb};
use super::{ghcb, guest_request, msr_protocol, psc, pvalidate};
use crate::platform::{CpuidResult, IoSize, Platform, PlatformKind, TeeError, TeeReport};

const PAGE: u64 = 4096;

/// An SEV-SNP guest, as probed at boot.
pub struct SnpPlatform {
    /// SEV_STATUS as read at boot.
    pub sev_status: u64,
    /// C-bit position (SEV_INFO).
    pub c_bit: u8,
    /// Hypervisor features (GHCB protocol 2).
    pub hv_features: u64,
    /// Served by the TEE emulator (set only by a build with it).
    pub emulated: bool,
}

impl SnpPlatform {
    /// Check SEV_STATUS, negotiate the GHCB protocol (MSR protocol) and
    /// learn where the kernel lives (its .bss holds the GHCBs) and where
    /// the secrets page is (if firmware said).
    pub fn probe(
        emulated: bool,
        kernel_phys: u64,
        secrets_gpa: Option<u64>,
        cpuid_table: Option<&[u8; super::cpuid_table::TABLE_SIZE]>,
    ) -> Result<Self, TeeError> {
        ghcb::set_kernel_phys(kernel_phys);
        let sev_status = super::instr::read_sev_status();
        if sev_status & SEV_STATUS_SNP == 0 {
            return Err(TeeError::BadResponse("SEV_STATUS: SNP not active"));
        }
        let info = msr_protocol::sev_info()?;
        let hv_features = msr_protocol::hv_features()?;
        if hv_features & msr_proto::HV_FT_SNP == 0 {
            msr_protocol::terminate(msr_proto::TERM_SET_GEN, 2);
        }
        if let Some(bytes) = cpuid_table {
            if !super::cpuid_table::install(bytes) {
                return Err(TeeError::BadResponse("CPUID table: more than 64 entries"));
            }
            // The C-bit the hypervisor announced must be the one the
            // firmware validated (Linux checks the same).
            let validated = super::cpuid_table::table().and_then(|t| t.lookup(super::abi::CPUID_SEV_LEAF, 0));
            if validated.is_some_and(|r| r.ebx & 0x3f != u32::from(info.c_bit)) {
                return Err(TeeError::BadResponse("SEV_INFO C-bit differs from the CPUID table's"));
            }
        }
        if let Some(gpa) = secrets_gpa {
            guest_request::set_secrets_page(gpa);
        }
        Ok(Self { sev_status, c_bit: info.c_bit, hv_features, emulated })
    }

    fn check_range(&self, range: PhysRange) -> Result<(), TeeError> {
        if !range.start.is_multiple_of(PAGE) || !range.end.is_multiple_of(PAGE) || range.is_empty() || range.end >> self.c_bit != 0 {
            return Err(TeeError::InvalidArgument("range not page-aligned, empty or beyond the C-bit"));
        }
        if !framework::mm::is_direct_mapped(range) {
            return Err(TeeError::InvalidArgument("range outside the direct map"));
        }
        Ok(())
    }

    /// Validate `range` (PSC to private first), or rescind then PSC to
    /// shared: the orders Linux uses.
    ///
    /// # Safety
    /// The caller owns the range and nothing references it.
    unsafe fn set_state(&self, range: PhysRange, private: bool) -> Result<(), TeeError> {
        self.check_range(range)?;
        let vaddr = framework::mm::paddr_to_vaddr(range.start) as u64;
        let pages = range.len() / PAGE;
        if private {
            psc::change(range, PSC_OP_PRIVATE)?;
            // SAFETY: forwarded to the caller.
            unsafe { pvalidate::pvalidate_or_terminate(vaddr, range.start, pages, true) };
        } else {
            // SAFETY: forwarded to the caller.
            unsafe { pvalidate::pvalidate_or_terminate(vaddr, range.start, pages, false) };
            psc::change(range, PSC_OP_SHARED)?;
        }
        Ok(())
    }

    /// Zero `range` (direct-mapped, checked by the caller).
    ///
    /// # Safety
    /// The caller owns the range; it is validated (private) memory.
    unsafe fn zero(range: PhysRange) {
        // SAFETY: forwarded to the caller.
        unsafe { core::ptr::write_bytes(framework::mm::paddr_to_vaddr(range.start) as *mut u8, 0, range.len() as usize) };
    }
}

fn ioio_info(port: u16, size: IoSize, read: bool) -> u64 {
    let size_bit = match size {
        IoSize::Byte => ioio::SZ8,
        IoSize::Word => ioio::SZ16,
        IoSize::Dword => ioio::SZ32,
    };
    (u64::from(port) << ioio::PORT_SHIFT) | size_bit | ioio::A16 | if read { ioio::TYPE_IN } else { 0 }
}

/// `in` through the GHCB (IOIO NAE).
pub fn io_read(port: u16, size: IoSize) -> Result<u32, TeeError> {
    with_ghcb(|ghcb| {
        // SAFETY: an IOIO exit writes only the GHCB.
        unsafe { ghcb.call(exit::IOIO, ioio_info(port, size, true), 0) }?;
        let rax = ghcb.get(layout::RAX).ok_or(TeeError::BadResponse("IOIO: RAX not valid"))?;
        Ok(rax as u32 & size.mask())
    })?
}

/// `out` through the GHCB.
pub fn io_write(port: u16, size: IoSize, value: u32) -> Result<(), TeeError> {
    with_ghcb(|ghcb| {
        ghcb.set(layout::RAX, u64::from(value & size.mask()));
        // SAFETY: as in `io_read`.
        unsafe { ghcb.call(exit::IOIO, ioio_info(port, size, false), 0) }
    })?
}

/// `rdmsr` through the GHCB (MSR NAE).
pub fn rdmsr(msr: u32) -> Result<u64, TeeError> {
    with_ghcb(|ghcb| {
        ghcb.set(layout::RCX, u64::from(msr));
        // SAFETY: an MSR exit writes only the GHCB.
        unsafe { ghcb.call(exit::MSR, 0, 0) }?;
        let (Some(rax), Some(rdx)) = (ghcb.get(layout::RAX), ghcb.get(layout::RDX)) else {
            return Err(TeeError::BadResponse("MSR: RAX/RDX not valid"));
        };
        Ok(((rdx & 0xffff_ffff) << 32) | (rax & 0xffff_ffff))
    })?
}

/// `wrmsr` through the GHCB.
pub fn wrmsr(msr: u32, value: u64) -> Result<(), TeeError> {
    with_ghcb(|ghcb| {
        ghcb.set(layout::RCX, u64::from(msr));
        ghcb.set(layout::RAX, value & 0xffff_ffff);
        ghcb.set(layout::RDX, value >> 32);
        // SAFETY: as in `rdmsr`.
        unsafe { ghcb.call(exit::MSR, 1, 0) }
    })?
}

/// CPUID: the firmware-validated table where it has the leaf (zeros for
/// a leaf in its ranges it lacks), else the hypervisor through the GHCB
/// (a hint, never trusted for memory safety).
pub fn cpuid(leaf: u32, subleaf: u32) -> Result<CpuidResult, TeeError> {
    if let Some(table) = super::cpuid_table::table() {
        if let Some(result) = table.lookup(leaf, subleaf) {
            return Ok(result);
        }
        if table.covers(leaf) {
            return Ok(CpuidResult::default());
        }
    }
    with_ghcb(|ghcb| {
        ghcb.set(layout::RAX, u64::from(leaf));
        ghcb.set(layout::RCX, u64::from(subleaf));
        // XCR0 only matters for leaf 0xD; x87 state is always enabled.
        ghcb.set(layout::XCR0, 1);
        // SAFETY: a CPUID exit writes only the GHCB.
        unsafe { ghcb.call(exit::CPUID, 0, 0) }?;
        match (ghcb.get(layout::RAX), ghcb.get(layout::RBX), ghcb.get(layout::RCX), ghcb.get(layout::RDX)) {
            (Some(a), Some(b), Some(c), Some(d)) => Ok(CpuidResult { eax: a as u32, ebx: b as u32, ecx: c as u32, edx: d as u32 }),
            _ => Err(TeeError::BadResponse("CPUID: registers not valid")),
        }
    })?
}

impl Platform for SnpPlatform {
    fn kind(&self) -> PlatformKind {
        PlatformKind::SevSnp
    }

    fn emulated(&self) -> bool {
        self.emulated
    }

    unsafe fn accept_memory(&self, range: PhysRange) -> Result<(), TeeError> {
        // SAFETY: forwarded to the caller.
        unsafe { self.set_state(range, true) }
    }

    unsafe fn convert_to_shared(&self, range: PhysRange) -> Result<(), TeeError> {
        self.check_range(range)?;
        // Nothing private may leak: zero while the page is still private.
        // SAFETY: the caller owns the range; it is direct-mapped (checked).
        unsafe { Self::zero(range) };
        // SAFETY: forwarded to the caller.
        unsafe { self.set_state(range, false) }
    }

    unsafe fn convert_to_private(&self, range: PhysRange) -> Result<(), TeeError> {
        // SAFETY: forwarded to the caller.
        unsafe { self.set_state(range, true) }?;
        // A freshly validated page holds whatever the hypervisor left
        // (ciphertext garbage on hardware): zero it.
        // SAFETY: owned by the caller, validated and direct-mapped.
        unsafe { Self::zero(range) };
        Ok(())
    }

    unsafe fn port_read(&self, port: u16, size: IoSize) -> Result<u32, TeeError> {
        io_read(port, size)
    }

    unsafe fn port_write(&self, port: u16, size: IoSize, value: u32) -> Result<(), TeeError> {
        io_write(port, size, value)
    }

    unsafe fn msr_read(&self, msr: u32) -> Result<u64, TeeError> {
        rdmsr(msr)
    }

    unsafe fn msr_write(&self, msr: u32, value: u64) -> Result<(), TeeError> {
        wrmsr(msr, value)
    }

    fn cpuid(&self, leaf: u32, subleaf: u32) -> Result<CpuidResult, TeeError> {
        cpuid(leaf, subleaf)
    }

    fn halt(&self) {
        // HLT is an automatic exit under SEV-ES/SNP (no #VC): native.
        framework::arch::halt();
    }

    fn extend_measurement(&self, _index: usize, _digest: &[u8; 48]) -> Result<(), TeeError> {
        // SNP has no runtime measurement registers (a vTPM behind an SVSM
        // would provide them).
        Err(TeeError::Unsupported)
    }

    fn report(&self, report_data: &[u8; 64]) -> Result<TeeReport, TeeError> {
        guest_request::get_report(report_data).map(|r| TeeReport::SevSnp(alloc::boxed::Box::new(r)))
    }
}

/// Port accesses the host refused (reads then see all-ones).
static PORT_IO_FAILURES: AtomicU64 = AtomicU64::new(0);

/// Port accesses that failed since boot.
pub fn port_io_failures() -> u64 {
    PORT_IO_FAILURES.load(Ordering::Relaxed)
}

/// framework's port-I/O hook on SNP: every `in`/`out` becomes a GHCB IOIO
/// exit (a native one would raise #VC).
pub(crate) fn port_io_through_ghcb(access: &mut PortAccess) -> bool {
    let Some(size) = IoSize::from_bytes(access.size) else {
        return false;
    };
    let result = if access.write {
        io_write(access.port, size, access.value)
    } else {
        io_read(access.port, size).map(|value| access.value = value)
    };
    if result.is_err() {
        PORT_IO_FAILURES.fetch_add(1, Ordering::Relaxed);
        if !access.write {
            access.value = size.mask();
        }
    }
    true
}

/// mm's acceptor on SNP: PSC to private, then PVALIDATE (2 MiB where
/// aligned).
pub struct SnpAcceptor(pub &'static SnpPlatform);

impl MemoryAcceptor for SnpAcceptor {
    fn accept(&self, range: PhysRange) -> Result<(), AcceptError> {
        // SAFETY: mm's contract: the range is never handed out before
        // `accept` returned Ok, so nothing uses it.
        unsafe { self.0.accept_memory(range) }.map_err(|error| {
            log::error!("snp: accepting [{:#x}-{:#x}) failed: {}", range.start, range.end, error);
            AcceptError
        })
    }
}
