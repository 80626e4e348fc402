//! Umbra's TEE layer: everything specific to a confidential platform (Intel
//! TDX, AMD SEV-SNP, or none) behind one interface, [`Platform`], that the
//! framework and attestation call. Modelled on COCONUT-SVSM's
//! `SvsmPlatform`.
//!
//! | module | owns |
//! |---|---|
//! | [`platform`] | the `Platform` trait, `TeeError`, the "none" and "SNP detected" platforms |
//! | [`detect`] | CPUID/MSR detection and the `umbra.tee_emu=` boot option |
//! | [`tdx`] | TDCALL/TDVMCALL primitives and the TDX platform |
//! | [`snp`] | GHCB, PVALIDATE, page state changes, guest messages and the SEV-SNP platform |
//! | [`native`] | port I/O and #GP-safe MSR access where no host is in between |
//! | [`sharing`] | framework's DMA buffers converted through the platform |
//! | [`attest`] | `get_report` / `get_quote` for the attestation layer |
//! | [`rejected`] | the rate-limited log of refused host answers |
//! | `emu` | the TDX and SNP emulators (cargo feature `emulation` only) |
//!
//! [`init`] runs once at boot (framework's platform-setup hook, after the
//! trap tables, before devices and memory): it picks the platform, routes
//! framework's port I/O and memory acceptance through it, and prints one
//! `tee:` line.
//!
//! Must never: trust a value the host returns (TDVMCALL / GHCB results,
//! shared buffers) before validating it; make private memory host-visible
//! except through an explicit, zeroing conversion; run the emulator on a
//! real TDX/SNP guest.
//!
//! Not yet: real SEV-SNP hardware (see [`snp`]).
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

extern crate alloc;
#[cfg(test)]
extern crate std;

#[cfg(target_os = "none")]
pub mod attest;
pub mod detect;
#[cfg(all(feature = "emulation", target_os = "none"))]
pub mod emu;
#[cfg(all(feature = "emulation", not(target_os = "none")))]
#[path = "emu"]
pub mod emu {
    //! The emulator's pure parts, for host tests.
    pub mod firmware;
    pub mod firmware_log;
    pub mod measure;
    pub mod pages;
    pub mod snp {
        //! The SNP emulator's pure part.
        pub mod attest;
    }
}
#[cfg(target_os = "none")]
pub mod native;
pub mod platform;
#[cfg(target_os = "none")]
pub mod rejected;
#[cfg(target_os = "none")]
pub mod sharing;
pub mod snp;
pub mod tdx;
#[cfg(target_os = "none")]
mod tdx_tests;
#[cfg(target_os = "none")]
mod tests;

pub use platform::{CpuidResult, IoSize, Platform, PlatformKind, TeeError, TeeReport};

#[cfg(target_os = "none")]
pub use attest::{get_quote, get_report};
#[cfg(target_os = "none")]
pub use boot_init::{init, platform, TeeBoot};

/// The firmware's part of the measured boot: each event the firmware
/// measured into the RTMRs before the kernel started, in order, as
/// (CC MR index, TCG event type, SHA-384 digest, event data). Under the
/// TDX emulator: its TDVF stand-in ([`emu::firmware_log`]). On real TDX
/// nothing yet (TDVF's own log sits in the ACPI CCEL table, which the
/// kernel does not read yet); elsewhere nothing.
#[cfg(target_os = "none")]
pub fn for_each_firmware_event(mut f: impl FnMut(u32, u32, &[u8; 48], &'static [u8])) {
    #[cfg(feature = "emulation")]
    for event in emu::firmware_events() {
        f(event.mr_index, event.event_type, &event.digest, event.data);
    }
    #[cfg(not(feature = "emulation"))]
    let _ = &mut f;
}

/// The platform chosen at boot ("none" before [`init`]).
#[cfg(target_os = "none")]
pub fn detect() -> PlatformKind {
    platform().kind()
}

#[cfg(target_os = "none")]
mod boot_init {
    use boot::BootInfo;
    use framework::mm::MemoryAcceptor;

    use crate::detect::{self, EmulationRequest};
    use crate::platform::{NoTee, Platform, PlatformKind};
    use crate::snp::{SnpAcceptor, SnpPlatform};
    use crate::tdx::{TdxAcceptor, TdxPlatform};

    /// What [`init`] decided.
    pub struct TeeBoot {
        pub platform: &'static dyn Platform,
        /// The boot information to use from now on (amended by the TEE
        /// emulator acting as firmware; else the loader's).
        pub boot: &'static BootInfo,
    }

    static PLATFORM: spin::Once<&'static dyn Platform> = spin::Once::new();
    static TDX: spin::Once<TdxPlatform> = spin::Once::new();
    static TDX_ACCEPTOR: spin::Once<TdxAcceptor> = spin::Once::new();
    static SNP: spin::Once<SnpPlatform> = spin::Once::new();
    static SNP_ACCEPTOR: spin::Once<SnpAcceptor> = spin::Once::new();

    /// The platform chosen at boot ("none" before [`init`]).
    pub fn platform() -> &'static dyn Platform {
        PLATFORM.get().copied().unwrap_or(&NoTee)
    }

    /// Pick the platform: real TDX (CPUID 0x21 + TDG.VP.INFO), SEV-SNP
    /// (detected, not supported), the TDX emulator (feature `emulation`
    /// and `umbra.tee_emu=tdx`; refused on real TDX/SNP), else none.
    /// Once, on the boot CPU, after the trap tables and before mm; does
    /// not allocate.
    pub fn init(boot: &'static BootInfo) -> TeeBoot {
        if let Some(&platform) = PLATFORM.get() {
            return TeeBoot { platform, boot };
        }
        // Before any CPUID: on SEV-ES/SNP it raises #VC.
        crate::snp::vc::install();
        let hardware = detect::hardware();
        let mut boot = boot;
        let platform: &'static dyn Platform = match (hardware, detect::emulation_request(boot.cmdline())) {
            (PlatformKind::Tdx | PlatformKind::SevSnp, Some(_)) => panic!(
                "tee: umbra.tee_emu= given, but this is a real {} guest: refusing the TEE emulator",
                hardware.name()
            ),
            (_, Some(EmulationRequest::Tdx)) => emulated_tdx(&mut boot),
            (_, Some(EmulationRequest::Snp)) => emulated_snp(&mut boot),
            (_, Some(EmulationRequest::Unknown(value))) => {
                panic!("tee: umbra.tee_emu={}: unknown (expected tdx or snp)", value)
            }
            (PlatformKind::Tdx, None) => tdx(false),
            (PlatformKind::SevSnp, None) => snp(false, boot.kernel.start, None, None),
            (PlatformKind::None, None) => &NoTee,
        };
        PLATFORM.call_once(|| platform);
        if platform.kind() == PlatformKind::Tdx {
            crate::tdx::mailbox::install(boot.rsdp);
        }
        static SHARING: spin::Once<crate::sharing::PlatformSharing> = spin::Once::new();
        framework::mm::dma::set_shared_memory(SHARING.call_once(|| crate::sharing::PlatformSharing(platform)));
        print_boot_line(platform);
        TeeBoot { platform, boot }
    }

    #[cfg(feature = "emulation")]
    fn emulated_tdx(boot: &mut &'static BootInfo) -> &'static dyn Platform {
        *boot = crate::emu::install(boot);
        let platform = tdx(true);
        // The emulated host's devices are QEMU's: check each DMA address
        // against the page states, then give QEMU the plain GPA.
        framework::virtio::hal::set_dma_bus_hook(crate::emu::device_bus_address);
        if detect::emulation_hostile(boot.cmdline()) {
            let seed = framework::arch::rdtsc();
            crate::emu::hostile::enable(seed);
            framework::println!("tee: tdx-emu HOSTILE mode: the emulated host lies in its answers (seed {:#x})", seed);
        }
        platform
    }

    #[cfg(not(feature = "emulation"))]
    fn emulated_tdx(_boot: &mut &'static BootInfo) -> &'static dyn Platform {
        log::warn!("tee: umbra.tee_emu=tdx ignored: this kernel was built without TEE emulation");
        &NoTee
    }

    #[cfg(feature = "emulation")]
    fn emulated_snp(boot: &mut &'static BootInfo) -> &'static dyn Platform {
        let installed = crate::emu::snp::install(boot);
        *boot = installed.boot;
        snp(true, boot.kernel.start, Some(installed.secrets_gpa), Some(installed.cpuid_table))
    }

    #[cfg(not(feature = "emulation"))]
    fn emulated_snp(_boot: &mut &'static BootInfo) -> &'static dyn Platform {
        log::warn!("tee: umbra.tee_emu=snp ignored: this kernel was built without TEE emulation");
        &NoTee
    }

    /// Probe the SNP guest (MSR protocol), route port I/O through the
    /// GHCB and memory acceptance through PSC + PVALIDATE.
    fn snp(
        emulated: bool,
        kernel_phys: u64,
        secrets_gpa: Option<u64>,
        cpuid_table: Option<&[u8; crate::snp::cpuid_table::TABLE_SIZE]>,
    ) -> &'static dyn Platform {
        let snp = SNP.call_once(|| {
            SnpPlatform::probe(emulated, kernel_phys, secrets_gpa, cpuid_table)
                .unwrap_or_else(|error| panic!("tee: SEV-SNP set-up failed: {}", error))
        });
        framework::arch::port::set_port_io_hook(crate::snp::port_io_through_ghcb);
        let acceptor: &'static dyn MemoryAcceptor = SNP_ACCEPTOR.call_once(|| SnpAcceptor(snp));
        #[cfg(feature = "emulation")]
        let acceptor: &'static dyn MemoryAcceptor = if emulated {
            static CHECKING: spin::Once<crate::emu::CheckingAcceptor> = spin::Once::new();
            CHECKING.call_once(|| crate::emu::CheckingAcceptor(acceptor))
        } else {
            acceptor
        };
        framework::mm::set_memory_acceptor(acceptor);
        snp
    }

    /// Probe the TD, route port I/O and memory acceptance through it.
    fn tdx(emulated: bool) -> &'static dyn Platform {
        let tdx = TDX.call_once(|| {
            TdxPlatform::probe(emulated).unwrap_or_else(|error| panic!("tee: TDG.VP.INFO failed: {}", error))
        });
        framework::arch::port::set_port_io_hook(crate::tdx::port_io_through_host);
        crate::tdx::ve::install(tdx.shared_bit());
        let acceptor: &'static dyn MemoryAcceptor = TDX_ACCEPTOR.call_once(|| TdxAcceptor(tdx));
        #[cfg(feature = "emulation")]
        let acceptor: &'static dyn MemoryAcceptor = if emulated {
            static CHECKING: spin::Once<crate::emu::CheckingAcceptor> = spin::Once::new();
            CHECKING.call_once(|| crate::emu::CheckingAcceptor(acceptor))
        } else {
            acceptor
        };
        framework::mm::set_memory_acceptor(acceptor);
        tdx
    }

    fn print_boot_line(platform: &dyn Platform) {
        match platform.kind() {
            PlatformKind::Tdx => {
                let Some(tdx) = TDX.get() else { return };
                #[cfg(feature = "emulation")]
                if tdx.emulated {
                    let (unaccepted, private, _) = crate::emu::memory_totals();
                    let mrtd = crate::emu::measurements().map_or([0; 48], |(mrtd, _)| mrtd);
                    framework::println!(
                        "tee: tdx (emulated: TEE emulator, test only; GPAW {}, {} MiB accepted, {} MiB unaccepted, MRTD {:02x}{:02x}{:02x}{:02x}..)",
                        tdx.info.gpaw,
                        private >> 20,
                        unaccepted >> 20,
                        mrtd[0],
                        mrtd[1],
                        mrtd[2],
                        mrtd[3]
                    );
                    return;
                }
                framework::println!(
                    "tee: tdx (GPAW {}, {} of {} vCPUs, attributes {:#x})",
                    tdx.info.gpaw,
                    tdx.info.num_vcpus,
                    tdx.info.max_vcpus,
                    tdx.info.attributes
                );
            }
            PlatformKind::SevSnp => {
                let Some(snp) = SNP.get() else { return };
                #[cfg(feature = "emulation")]
                if snp.emulated {
                    let (unaccepted, private, shared) = crate::emu::memory_totals();
                    let m = crate::emu::snp::launch_measurement().unwrap_or([0; 48]);
                    framework::println!(
                        "tee: sev-snp (emulated: TEE emulator, test only; C-bit {}, {} MiB validated, {} MiB unvalidated, {} KiB shared, measurement {:02x}{:02x}{:02x}{:02x}..)",
                        snp.c_bit,
                        private >> 20,
                        unaccepted >> 20,
                        shared >> 10,
                        m[0],
                        m[1],
                        m[2],
                        m[3]
                    );
                    return;
                }
                framework::println!("tee: sev-snp (C-bit {}, SEV_STATUS {:#x})", snp.c_bit, snp.sev_status);
            }
            PlatformKind::None => framework::println!("tee: none (no TDX or SEV-SNP detected)"),
        }
    }
}
