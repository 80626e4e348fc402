//! AMD SEV-SNP guest support: the GHCB protocol (MSR protocol and GHCB
//! page), PVALIDATE and page state changes, SNP guest messages to the PSP,
//! and the [`SnpPlatform`] built on them. Modelled on Linux's
//! `arch/x86/coco/sev` and COCONUT-SVSM; there is no no_std crate for it.
//!
//! | module | owns |
//! |---|---|
//! | [`abi`] | MSRs, MSR-protocol codes, exit codes, message and report layout |
//! | [`instr`] | the VMGEXIT / PVALIDATE `asm!` and the GHCB MSR |
//! | [`msr_protocol`] | SEV_INFO, HV features, GHCB registration, 1-page PSC, terminate |
//! | [`ghcb`] | the GHCB layout and the per-CPU shared GHCB pages |
//! | [`cpuid_table`] | the firmware-validated CPUID table |
//! | [`pvalidate`] | PVALIDATE over ranges: 2 MiB with 4 KiB fallback, fatal on failure |
//! | [`psc`] | page state change through the GHCB |
//! | [`message`] | sealing/opening guest messages (AES-256-GCM) |
//! | [`guest_request`] | the channel to the PSP: reports, derived keys, sequence numbers |
//! | [`report`] | the attestation report layout |
//! | `platform` | [`SnpPlatform`], its acceptor and port-I/O hook |
//! | `vc` | the #VC handler: CPUID, MSR and IN/OUT executed natively |
//!
//! Must never: hand the hypervisor a private page, use a GHCB value the
//! hypervisor did not mark valid, go on after a failed PVALIDATE, reuse a
//! message sequence number.
//!
//! Not here yet: the C-bit in page tables (framework maps everything
//! without it, so on real hardware every access would be to shared
//! memory: real SNP does not boot yet), #VC for MMIO and string I/O and
//! from user mode, the CC blob (where real firmware puts the secrets page
//! and the CPUID table) (secrets page GPA on real
//! hardware), AP creation.

pub mod abi;
pub mod cpuid_table;
#[cfg(target_os = "none")]
pub mod guest_request;
pub mod ghcb;
#[cfg(target_os = "none")]
pub mod instr;
pub mod message;
#[cfg(target_os = "none")]
pub mod msr_protocol;
#[cfg(target_os = "none")]
mod platform;
pub mod psc;
#[cfg(target_os = "none")]
pub mod pvalidate;
pub mod report;
#[cfg(target_os = "none")]
pub mod vc;
#[cfg(target_os = "none")]
mod tests;

pub use report::SnpReport;

#[cfg(target_os = "none")]
pub use guest_request::{get_derived_key, get_ext_report, get_report, KeyRequest};
#[cfg(target_os = "none")]
pub(crate) use platform::port_io_through_ghcb;
#[cfg(target_os = "none")]
pub use platform::{cpuid, io_read, io_write, port_io_failures, rdmsr, wrmsr, SnpAcceptor, SnpPlatform};
