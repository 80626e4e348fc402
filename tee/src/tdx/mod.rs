//! Intel TDX guest support: the TDCALL/TDVMCALL primitives and the
//! [`TdxPlatform`] built on them.
//!
//! | module | owns |
//! |---|---|
//! | [`abi`] | leaf numbers, TDVMCALL sub-functions, status codes |
//! | [`tdcall`] | the one TDCALL `asm!` |
//! | [`calls`] | TDG.VP.INFO, TDG.MEM.PAGE.ACCEPT, TDG.MR.RTMR.EXTEND, TDG.MR.REPORT |
//! | [`vmcall`] | TDVMCALL: port I/O, MSR, CPUID, HLT, MapGPA, GetQuote (host answers validated) |
//! | [`report`] | the TDREPORT layout |
//! | [`quote`] | the GetQuote buffer header, the quote v4 layout |
//! | [`quoting`] | GetQuote with a shared buffer, polling with a timeout |
//! | [`ve`] | the #VE handler: CPUID, port I/O, MSR, HLT, MMIO through TDVMCALL |
//! | [`insn`] | decoding the instruction behind an MMIO #VE |
//! | [`mailbox`] | AP wake-up through the ACPI multiprocessor wake-up mailbox |
//!
//! Must never: expose to the host a register other than R10..R15, or use
//! a host answer unchecked.


pub mod abi;
#[cfg(target_os = "none")]
pub mod calls;
pub mod insn;
#[cfg(target_os = "none")]
pub mod mailbox;
pub mod quote;
#[cfg(target_os = "none")]
pub mod quoting;
pub mod report;
#[cfg(target_os = "none")]
pub mod tdcall;
#[cfg(target_os = "none")]
pub mod ve;
#[cfg(target_os = "none")]
pub mod vmcall;

pub use report::TdReport;

#[cfg(target_os = "none")]
pub use platform::{TdxAcceptor, TdxPlatform, EMULATED_SHARED_PTE_BIT};

#[cfg(target_os = "none")]
mod platform {
    use core::sync::atomic::{AtomicU64, Ordering};

    use boot::PhysRange;
    use framework::arch::port::PortAccess;
    use framework::mm::{AcceptError, MemoryAcceptor};

    use super::calls::{self, PageLevel, VpInfo};
    use super::vmcall;
    use crate::platform::{CpuidResult, IoSize, Platform, PlatformKind, TeeError, TeeReport};

    /// A TDX trust domain, described by TDG.VP.INFO at boot.
    pub struct TdxPlatform {
        pub info: VpInfo,
        /// Served by the TEE emulator (set only by a build with it).
        pub emulated: bool,
    }

    const PAGE: u64 = 4096;
    const HUGE: u64 = 2 << 20;

    /// Under the emulator, shared mappings carry PTE bit 52 (ignored by the
    /// MMU) instead of the GPAW shared bit: TCG has no TDX aliasing of
    /// GPA bit 47, where that bit would address memory that does not
    /// exist. The emulator checks for this stand-in where a real TD would
    /// fault without the real bit.
    pub const EMULATED_SHARED_PTE_BIT: u64 = 1 << 52;

    impl TdxPlatform {
        /// Ask the TDX module about this TD (TDG.VP.INFO).
        pub fn probe(emulated: bool) -> Result<Self, TeeError> {
            Ok(Self { info: calls::vp_info()?, emulated })
        }

        pub fn shared_bit(&self) -> u64 {
            self.info.shared_bit()
        }

        fn check_range(&self, range: PhysRange) -> Result<(), TeeError> {
            if !range.start.is_multiple_of(PAGE) || !range.end.is_multiple_of(PAGE) || range.is_empty() || range.end > self.shared_bit() {
                return Err(TeeError::InvalidArgument("range not page-aligned, empty or beyond GPAW"));
            }
            Ok(())
        }
    }

    impl Platform for TdxPlatform {
        fn kind(&self) -> PlatformKind {
            PlatformKind::Tdx
        }

        fn emulated(&self) -> bool {
            self.emulated
        }

        unsafe fn accept_memory(&self, range: PhysRange) -> Result<(), TeeError> {
            self.check_range(range)?;
            let mut gpa = range.start;
            while gpa < range.end {
                if gpa.is_multiple_of(HUGE) && range.end - gpa >= HUGE {
                    // SAFETY: the caller guarantees the range is unused.
                    match unsafe { calls::accept_page(gpa, PageLevel::Size2M) } {
                        Ok(()) => {
                            gpa += HUGE;
                            continue;
                        }
                        // Mapped with smaller pages: accept them one by one.
                        Err(TeeError::Module(status))
                            if super::abi::status::code(status) == super::abi::status::PAGE_SIZE_MISMATCH => {}
                        Err(error) => return Err(error),
                    }
                }
                // SAFETY: as above.
                unsafe { calls::accept_page(gpa, PageLevel::Size4K) }?;
                gpa += PAGE;
            }
            Ok(())
        }

        unsafe fn convert_to_shared(&self, range: PhysRange) -> Result<(), TeeError> {
            self.check_range(range)?;
            if !framework::mm::is_direct_mapped(range) {
                return Err(TeeError::InvalidArgument("range outside the direct map"));
            }
            // Nothing private may leak: zero while the page is still private.
            // SAFETY: the caller owns the range and nothing references it;
            // it is direct-mapped (checked above).
            unsafe {
                core::ptr::write_bytes(
                    framework::mm::paddr_to_vaddr(range.start) as *mut u8,
                    0,
                    range.len() as usize,
                )
            };
            vmcall::map_gpa(range.start, range.len(), true, self.shared_bit())
        }

        unsafe fn convert_to_private(&self, range: PhysRange) -> Result<(), TeeError> {
            self.check_range(range)?;
            vmcall::map_gpa(range.start, range.len(), false, self.shared_bit())?;
            // SAFETY: forwarded: the caller owns the range, unused.
            unsafe { self.accept_memory(range) }
        }

        fn shared_pte_bits(&self) -> u64 {
            if self.emulated {
                EMULATED_SHARED_PTE_BIT
            } else {
                self.shared_bit()
            }
        }

        fn shared_address_bits(&self) -> u64 {
            self.shared_bit()
        }

        unsafe fn port_read(&self, port: u16, size: IoSize) -> Result<u32, TeeError> {
            vmcall::io_read(port, size)
        }

        unsafe fn port_write(&self, port: u16, size: IoSize, value: u32) -> Result<(), TeeError> {
            vmcall::io_write(port, size, value)
        }

        unsafe fn msr_read(&self, msr: u32) -> Result<u64, TeeError> {
            vmcall::rdmsr(msr)
        }

        unsafe fn msr_write(&self, msr: u32, value: u64) -> Result<(), TeeError> {
            vmcall::wrmsr(msr, value)
        }

        fn cpuid(&self, leaf: u32, subleaf: u32) -> Result<CpuidResult, TeeError> {
            vmcall::cpuid(leaf, subleaf)
        }

        fn halt(&self) {
            let interrupts_blocked = !framework::arch::irq::is_local_enabled();
            let _ = vmcall::hlt(interrupts_blocked);
        }

        fn extend_measurement(&self, index: usize, digest: &[u8; 48]) -> Result<(), TeeError> {
            calls::extend_rtmr(index, digest)
        }

        fn report(&self, report_data: &[u8; 64]) -> Result<TeeReport, TeeError> {
            calls::report(report_data).map(TeeReport::Tdx)
        }
    }

    /// Port accesses the host refused (reads then see all-ones).
    static PORT_IO_FAILURES: AtomicU64 = AtomicU64::new(0);

    /// Port accesses that failed since boot (the port hook cannot log:
    /// the console itself goes through it).
    pub fn port_io_failures() -> u64 {
        PORT_IO_FAILURES.load(Ordering::Relaxed)
    }

    /// framework's port-I/O hook on TDX: every `in`/`out` becomes a
    /// TDVMCALL (a native one would raise #VE).
    pub(crate) fn port_io_through_host(access: &mut PortAccess) -> bool {
        let Some(size) = IoSize::from_bytes(access.size) else {
            return false;
        };
        let result = if access.write {
            vmcall::io_write(access.port, size, access.value)
        } else {
            vmcall::io_read(access.port, size).map(|value| access.value = value)
        };
        if result.is_err() {
            PORT_IO_FAILURES.fetch_add(1, Ordering::Relaxed);
            if !access.write {
                access.value = size.mask();
            }
        }
        true
    }

    /// mm's acceptor on TDX: TDG.MEM.PAGE.ACCEPT, 2 MiB pages where aligned.
    pub struct TdxAcceptor(pub &'static TdxPlatform);

    impl MemoryAcceptor for TdxAcceptor {
        fn accept(&self, range: PhysRange) -> Result<(), AcceptError> {
            // SAFETY: mm's contract: the range is never handed out before
            // `accept` returned Ok, so nothing uses it.
            unsafe { self.0.accept_memory(range) }.map_err(|error| {
                log::error!("tdx: accepting [{:#x}-{:#x}) failed: {}", range.start, range.end, error);
                AcceptError
            })
        }
    }
}

#[cfg(target_os = "none")]
pub use platform::port_io_failures;
#[cfg(target_os = "none")]
pub(crate) use platform::port_io_through_host;
