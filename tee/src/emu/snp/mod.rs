//! The TEE emulator's SEV-SNP half: a strict software GHCB hypervisor,
//! RMP and PSP below the instruction layer, for test builds (cargo
//! feature `emulation`) on machines without SNP. Selected by
//! `umbra.tee_emu=snp`; refused on real TDX/SNP ([`crate::init`]).
//!
//! QEMU TCG raises #UD for VMGEXIT and PVALIDATE: the #UD hook decodes
//! them at RIP and emulates them on the trap frame, so the kernel runs its
//! real SNP code ([`crate::snp`]). TCG reads the SEV MSRs (SEV_STATUS,
//! the GHCB MSR) as 0 and drops writes without a fault, so those reach
//! the emulator through `snp::instr`'s emulation slot instead.
//!
//! | module | owns |
//! |---|---|
//! | [`hypervisor`] | the MSR protocol and GHCB exits (IOIO, MSR, CPUID, PSC, guest requests) |
//! | `psp` | guest messages: VMPCKs, sequence numbers, reports, derived keys |
//! | [`attest`] | launch digest, report assembly, the TEST signing key, key derivation |
//! | [`hostile`] | hostile mode: adversarial hypervisor answers for robustness tests |
//!
//! It shares the page map with the TDX emulator (`super::PAGES`: for SNP
//! "accepted" means validated, "shared" hypervisor-owned) and the memory
//! map firmware reports (RAM above 256 MiB unvalidated).
//!
//! Strictness: double validation answers "no change" (CF = 1), which the
//! guest must treat as fatal; everything else a real platform would
//! punish is a *violation*, counted and logged ([`violation_count`]).
//!
//! Must never: be compiled into a release image, or run on real TDX/SNP.

pub mod attest;
pub mod hostile;
pub mod hypervisor;
mod psp;

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use boot::{BootInfo, PhysRange};
use framework::arch::extable::probe_read_u64;
use framework::arch::trap::{ExceptionHook, TrapFrame};
use framework::cpu_local::MAX_CPUS;

use super::firmware;
use super::pages::{self, AcceptOutcome, RescindOutcome, PAGE};
use super::{CHANGE_LOCK, PAGES};
use crate::platform::CpuidResult;
use crate::snp::cpuid_table;
use crate::snp::abi::{pvalidate as pv, secrets, CPUID_SEV_EAX_SNP, CPUID_SEV_LEAF, MSR_GHCB, MSR_SEV_STATUS, SEV_STATUS_ES, SEV_STATUS_SEV, SEV_STATUS_SNP};

/// Instruction encodings this emulator decodes.
pub const VMGEXIT: [u8; 4] = [0xf3, 0x0f, 0x01, 0xd9];
pub const PVALIDATE: [u8; 4] = [0xf2, 0x0f, 0x01, 0xff];

/// Bytes the emulator writes into a freshly validated page: on hardware
/// it holds whatever ciphertext was there, never zeros to rely on.
pub const VALIDATED_FILL: u8 = 0xa5;

/// The emulated guest's firmware-provided secrets page (its .bss: the
/// kernel never allocates it).
#[repr(C, align(4096))]
struct SecretsPage(UnsafeCell<[u8; 4096]>);
// SAFETY: written once by `install` before the guest can know its GPA,
// then only by the guest kernel through raw pointers (volatile).
unsafe impl Sync for SecretsPage {}
static SECRETS: SecretsPage = SecretsPage(UnsafeCell::new([0; 4096]));

pub(super) struct EmulatedSnp {
    kernel: PhysRange,
    vmpck: [[u8; 32]; secrets::VMPCK_COUNT],
    /// Last sequence number the PSP used per VMPCK (the next request
    /// must carry this + 1).
    psp_seqno: [AtomicU64; secrets::VMPCK_COUNT],
    report_context: attest::ReportContext,
    signing_key: p384::ecdsa::SigningKey,
    previous_ud_hook: Option<ExceptionHook>,
}

pub(super) static STATE: spin::Once<EmulatedSnp> = spin::Once::new();
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// `umbra.snp_emu_fatal_tests` on the command line: in-kernel tests that
/// end the guest (double validation) may run. Without it `ktest
/// --ignored` skips them, so a whole ignored run still reports.
static FATAL_TESTS: AtomicBool = AtomicBool::new(false);

/// Boot option that allows the fatal in-kernel tests.
pub const FATAL_TESTS_OPTION: &str = "umbra.snp_emu_fatal_tests";
/// The GHCB MSR of each CPU, and the GHCB GPA it registered.
static GHCB_MSR: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static REGISTERED: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// What the emulator did since boot.
pub struct Stats {
    pub vmgexits: AtomicU64,
    pub pvalidates: AtomicU64,
    /// 4 KiB pages validated by PVALIDATE.
    pub validated_pages: AtomicU64,
    pub reports: AtomicU64,
}

pub static STATS: Stats = Stats {
    vmgexits: AtomicU64::new(0),
    pvalidates: AtomicU64::new(0),
    validated_pages: AtomicU64::new(0),
    reports: AtomicU64::new(0),
};

/// Kinds of misuse the SNP emulator catches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnpViolation {
    /// PVALIDATE of a validated page (answered "no change").
    DoubleValidate,
    /// PVALIDATE rescind of a page that is not validated.
    RescindUnvalidated,
    /// PVALIDATE of a hypervisor-owned (shared) page.
    ValidateShared,
    /// PVALIDATE of an address that is not the guest's RAM.
    ValidateNotRam,
    /// PSC to shared of a page still validated (no rescind first).
    SharedWhileValidated,
    /// PSC of an address that is not the guest's RAM.
    PscNotRam,
    /// VMGEXIT with a GHCB GPA that is not the registered one.
    GhcbNotRegistered,
    /// VMGEXIT with a GHCB page that is not shared.
    GhcbNotShared,
    /// A GHCB request missing inputs or with invalid fields.
    BadGhcb,
    /// A guest message with a sequence number already used.
    SeqnoReuse,
    /// A guest message that skips sequence numbers.
    SeqnoSkipped,
    /// A guest message that does not authenticate or parse.
    BadMessage,
    /// A guest-request page that is not shared.
    MessagePageNotShared,
}

const VIOLATION_KINDS: usize = 13;

impl SnpViolation {
    pub fn description(self) -> &'static str {
        match self {
            SnpViolation::DoubleValidate => "page validated twice",
            SnpViolation::RescindUnvalidated => "rescind of a page that is not validated",
            SnpViolation::ValidateShared => "PVALIDATE of a shared (hypervisor) page",
            SnpViolation::ValidateNotRam => "PVALIDATE outside the guest's RAM",
            SnpViolation::SharedWhileValidated => "page made shared while still validated",
            SnpViolation::PscNotRam => "page state change outside the guest's RAM",
            SnpViolation::GhcbNotRegistered => "VMGEXIT with an unregistered GHCB",
            SnpViolation::GhcbNotShared => "VMGEXIT with a GHCB that is not shared",
            SnpViolation::BadGhcb => "GHCB request with missing or invalid fields",
            SnpViolation::SeqnoReuse => "guest message sequence number reused",
            SnpViolation::SeqnoSkipped => "guest message sequence number skipped",
            SnpViolation::BadMessage => "guest message does not authenticate",
            SnpViolation::MessagePageNotShared => "guest request page not shared",
        }
    }
}

static VIOLATIONS: [AtomicU64; VIOLATION_KINDS] = [const { AtomicU64::new(0) }; VIOLATION_KINDS];

/// Set on a CPU while it serves an IOIO exit: the guest may be printing
/// (console lock held), so a violation found then is counted, not logged.
static IN_IOIO: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

/// Count one violation; log the first few (not while serving port I/O:
/// logging itself does port I/O).
fn record(kind: SnpViolation, address: u64) {
    let count = VIOLATIONS[kind as usize].fetch_add(1, Ordering::Relaxed) + 1;
    let cpu = framework::cpu_local::this_cpu().index.min(MAX_CPUS - 1);
    if IN_IOIO[cpu].load(Ordering::Relaxed) {
        return;
    }
    if VIOLATIONS.iter().map(|v| v.load(Ordering::Relaxed)).sum::<u64>() <= 32 {
        log::error!("snp-emu: violation #{} of this kind: {} at {:#x}", count, kind.description(), address);
    }
}

/// Violations of `kind` since boot.
pub fn violation_count(kind: SnpViolation) -> u64 {
    VIOLATIONS[kind as usize].load(Ordering::Relaxed)
}

/// May tests that end the guest run (see [`FATAL_TESTS_OPTION`])?
pub fn fatal_tests_allowed() -> bool {
    FATAL_TESTS.load(Ordering::Relaxed)
}

/// Is the SNP emulator installed?
pub fn active() -> bool {
    ACTIVE.load(Ordering::Acquire)
}

/// The launch measurement the emulated PSP reports.
pub fn launch_measurement() -> Option<[u8; 48]> {
    STATE.get().map(|s| s.report_context.measurement)
}

/// The GPA of the GHCB CPU `cpu` registered (0: none).
pub fn registered_ghcb(cpu: usize) -> u64 {
    REGISTERED.get(cpu).map_or(0, |r| r.load(Ordering::Relaxed))
}

/// The PSP's last sequence number for VMPCK `index`.
pub fn psp_seqno(index: usize) -> Option<u64> {
    STATE.get().and_then(|s| s.psp_seqno.get(index)).map(|n| n.load(Ordering::Relaxed))
}

/// What [`install`] hands to the platform.
pub struct Installed {
    pub boot: &'static BootInfo,
    pub secrets_gpa: u64,
    /// The CPUID table the emulated firmware validated.
    pub cpuid_table: &'static [u8; cpuid_table::TABLE_SIZE],
}

/// The emulated firmware's CPUID table: the CPU's own answers for the
/// standard and extended leaves, with leaf 0x8000_001F saying SEV, SEV-ES
/// and SNP with the C-bit at 51 (TCG's CPU knows nothing of SEV).
fn build_cpuid_table(out: &mut [u8; cpuid_table::TABLE_SIZE]) {
    let mut entries = [cpuid_table::Entry::default(); cpuid_table::MAX_ENTRIES];
    let mut n = 0;
    let mut push = |eax_in: u32, ecx_in: u32, result: CpuidResult| {
        if n < entries.len() {
            entries[n] = cpuid_table::Entry { eax_in, ecx_in, result };
            n += 1;
        }
    };
    let native = |leaf, sub| {
        let r = framework::arch::cpuid::raw(leaf, sub);
        CpuidResult { eax: r.eax, ebx: r.ebx, ecx: r.ecx, edx: r.edx }
    };
    let max_std = native(0, 0).eax.min(0x1f);
    for leaf in 0..=max_std {
        push(leaf, 0, native(leaf, 0));
        if matches!(leaf, 0x7 | 0xd) {
            push(leaf, 1, native(leaf, 1));
        }
    }
    let mut ext = native(0x8000_0000, 0);
    ext.eax = ext.eax.clamp(CPUID_SEV_LEAF, 0x8000_0021);
    push(0x8000_0000, 0, ext);
    for leaf in 0x8000_0001..=ext.eax {
        let mut r = native(leaf, 0);
        if leaf == CPUID_SEV_LEAF {
            r.eax = (1 << 1) | (1 << 3) | CPUID_SEV_EAX_SNP;
            r.ebx = hypervisor::C_BIT as u32 | (1 << 6);
        }
        push(leaf, 0, r);
    }
    cpuid_table::CpuidTable::encode(&entries[..n], out);
}

/// Install the SNP emulator: amend the memory map (firmware's part),
/// track pages, fill the secrets page, measure the kernel, take over #UD
/// and the SEV MSRs. Once, on the boot CPU, after the trap tables and before mm.
pub fn install(boot: &'static BootInfo) -> Installed {
    static AMENDED: spin::Mutex<BootInfo> = spin::Mutex::new(BootInfo::new(boot::Firmware::Bios));
    let Some(mut guard) = AMENDED.try_lock() else {
        panic!("snp-emu: installed twice");
    };
    firmware::amend(boot, &mut guard, firmware::ACCEPTED_BY_FIRMWARE);
    let amended: &'static BootInfo = spin::mutex::MutexGuard::leak(guard);
    let mut ram = [PhysRange::default(); pages::MAX_REGIONS];
    let count = firmware::ram_ranges(amended, &mut ram);
    if PAGES.init(&ram[..count]).is_err() {
        panic!("snp-emu: more RAM than the emulator tracks (64 GiB, {} regions)", pages::MAX_REGIONS);
    }
    for region in amended.memory_map().iter().filter(|r| firmware::is_ram(r.kind) && r.kind != boot::RegionKind::Unaccepted) {
        let start = region.range.start.div_ceil(PAGE) * PAGE;
        let end = region.range.end & !(PAGE - 1);
        if start < end {
            let _ = PAGES.mark_accepted(PhysRange { start, end });
        }
    }
    let entropy = super::entropy();
    let mut vmpck = [[0u8; 32]; secrets::VMPCK_COUNT];
    for (i, key) in vmpck.iter_mut().enumerate() {
        let digest = super::measure::sha384(&[b"umbra snp-emu VMPCK", &[i as u8], &entropy]);
        key.copy_from_slice(&digest[..32]);
    }
    let fms = framework::arch::cpuid::raw(1, 0).eax;
    // SAFETY: the secrets page is not known to anyone yet (its GPA is
    // returned below); this is firmware writing it before the guest runs.
    unsafe {
        let page = SECRETS.0.get().cast::<u8>();
        core::ptr::write_bytes(page, 0, 4096);
        page.add(secrets::VERSION).cast::<u32>().write_volatile(3);
        page.add(secrets::FMS).cast::<u32>().write_volatile(fms);
        for (i, key) in vmpck.iter().enumerate() {
            core::ptr::copy_nonoverlapping(key.as_ptr(), page.add(secrets::VMPCK0 + i * secrets::VMPCK_LEN), 32);
        }
    }
    FATAL_TESTS.store(boot.cmdline().split_ascii_whitespace().any(|w| w == FATAL_TESTS_OPTION), Ordering::Relaxed);
    let kernel = boot.kernel;
    let secrets_gpa = image_gpa(kernel, SECRETS.0.get() as usize);
    let mut report_id = [0u8; 32];
    report_id.copy_from_slice(&super::measure::sha384(&[b"umbra snp-emu report id", &entropy])[..32]);
    let report_context = attest::ReportContext { measurement: measure_kernel(kernel), report_id, cpuid_fms: fms };
    let previous_ud_hook = framework::arch::trap::set_invalid_opcode_hook(invalid_opcode);
    crate::snp::instr::set_sev_msr_emulation(sev_msr);
    STATE.call_once(|| EmulatedSnp {
        kernel,
        vmpck,
        psp_seqno: [const { AtomicU64::new(0) }; secrets::VMPCK_COUNT],
        report_context,
        signing_key: attest::test_signing_key(),
        previous_ud_hook,
    });
    ACTIVE.store(true, Ordering::Release);
    static CPUID_TABLE: spin::Once<[u8; cpuid_table::TABLE_SIZE]> = spin::Once::new();
    let cpuid_table = CPUID_TABLE.call_once(|| {
        let mut table = [0u8; cpuid_table::TABLE_SIZE];
        build_cpuid_table(&mut table);
        table
    });
    Installed { boot: amended, secrets_gpa, cpuid_table }
}

fn image_gpa(kernel: PhysRange, vaddr: usize) -> u64 {
    (vaddr - framework::mm::kernel_space::KERNEL_BASE_VADDR) as u64 + kernel.start
}

/// The launch digest over the kernel's text and read-only data, as the
/// loader placed them (the bytes SNP_LAUNCH_UPDATE would have measured).
fn measure_kernel(kernel: PhysRange) -> [u8; 48] {
    extern "C" {
        static __text_start: u8;
        static __data_start: u8;
    }
    let start = core::ptr::addr_of!(__text_start) as usize;
    let end = core::ptr::addr_of!(__data_start) as usize;
    // SAFETY: [__text_start, __data_start) is the kernel's text, rodata and
    // ktest table (kernel/linker.ld), mapped and never written.
    let image = unsafe { core::slice::from_raw_parts(start as *const u8, end - start) };
    attest::launch_digest(image, image_gpa(kernel, start))
}

/// A pointer to `len` bytes of guest memory at `gpa`: through the kernel
/// image mapping (before mm exists) or the direct map; `None` otherwise.
fn guest_ptr(gpa: u64, len: u64) -> Option<*mut u8> {
    let kernel = STATE.get()?.kernel;
    let end = gpa.checked_add(len)?;
    if kernel.start <= gpa && end <= kernel.end {
        return Some((framework::mm::kernel_space::KERNEL_BASE_VADDR + (gpa - kernel.start) as usize) as *mut u8);
    }
    framework::mm::is_direct_mapped(PhysRange { start: gpa, end }).then(|| framework::mm::paddr_to_vaddr(gpa) as *mut u8)
}

/// The GPA behind a kernel virtual address (what the CPU's page walk
/// does for PVALIDATE): the kernel image or the direct map.
fn vaddr_to_gpa(vaddr: u64) -> Option<u64> {
    let kernel = STATE.get()?.kernel;
    let base = framework::mm::kernel_space::KERNEL_BASE_VADDR as u64;
    if vaddr >= base && vaddr - base < kernel.len() {
        return Some(kernel.start + (vaddr - base));
    }
    framework::mm::kernel_vaddr_to_paddr(vaddr as usize)
}

/// Up to 4 bytes at `rip` (aligned probes: a fault gives `None`).
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

/// #UD: VMGEXIT and PVALIDATE from kernel mode are emulated.
fn invalid_opcode(frame: &mut TrapFrame) -> bool {
    if !frame.from_user() {
        match bytes_at(frame.rip) {
            Some(VMGEXIT) => {
                hypervisor::vmgexit();
                frame.rip += 4;
                return true;
            }
            Some(PVALIDATE) => {
                pvalidate(frame);
                frame.rip += 4;
                return true;
            }
            _ => {}
        }
    }
    match STATE.get().and_then(|s| s.previous_ud_hook) {
        Some(previous) => previous(frame),
        None => false,
    }
}

/// The SEV MSRs of the emulated guest: SEV_STATUS (SEV, SEV-ES, SNP) and
/// each CPU's GHCB MSR.
fn sev_msr(msr: u32, write: Option<u64>) -> u64 {
    let cpu = framework::cpu_local::this_cpu().index.min(MAX_CPUS - 1);
    match (msr, write) {
        (MSR_SEV_STATUS, None) => SEV_STATUS_SEV | SEV_STATUS_ES | SEV_STATUS_SNP,
        (MSR_GHCB, None) => GHCB_MSR[cpu].load(Ordering::Acquire),
        (MSR_GHCB, Some(value)) => {
            GHCB_MSR[cpu].store(value, Ordering::Release);
            value
        }
        _ => 0,
    }
}

const RFLAGS_CF: u64 = 1;

/// Emulate PVALIDATE: RAX = vaddr, ECX = size, EDX = validate; RAX =
/// return code, CF = "no change".
fn pvalidate(frame: &mut TrapFrame) {
    STATS.pvalidates.fetch_add(1, Ordering::Relaxed);
    frame.rflags &= !RFLAGS_CF;
    let vaddr = frame.rax;
    let (size, validate) = (frame.rcx as u32, frame.rdx as u32 & 1 != 0);
    let bytes = match size {
        pv::SIZE_4K => PAGE,
        pv::SIZE_2M => 2 << 20,
        _ => {
            frame.rax = u64::from(pv::FAIL_INPUT);
            return;
        }
    };
    let Some(gpa) = vaddr_to_gpa(vaddr).filter(|gpa| vaddr.is_multiple_of(bytes) && gpa.is_multiple_of(bytes)) else {
        record(SnpViolation::ValidateNotRam, vaddr);
        frame.rax = u64::from(pv::FAIL_INPUT);
        return;
    };
    let pages = bytes / PAGE;
    let (code, no_change, violation) = {
        let _serialised = CHANGE_LOCK.lock();
        if validate {
            match PAGES.accept(gpa, pages) {
                AcceptOutcome::Accepted => (pv::SUCCESS, false, None),
                AcceptOutcome::AlreadyAccepted => (pv::SUCCESS, true, Some(SnpViolation::DoubleValidate)),
                AcceptOutcome::SizeMismatch => (pv::FAIL_SIZEMISMATCH, false, None),
                AcceptOutcome::Shared => (pv::FAIL_INPUT, false, Some(SnpViolation::ValidateShared)),
                AcceptOutcome::NotRam => (pv::FAIL_INPUT, false, Some(SnpViolation::ValidateNotRam)),
            }
        } else {
            match PAGES.rescind(gpa, pages) {
                RescindOutcome::Rescinded => (pv::SUCCESS, false, None),
                RescindOutcome::NotAccepted => (pv::SUCCESS, true, Some(SnpViolation::RescindUnvalidated)),
                RescindOutcome::SizeMismatch => (pv::FAIL_SIZEMISMATCH, false, None),
                RescindOutcome::Shared => (pv::FAIL_INPUT, false, Some(SnpViolation::ValidateShared)),
                RescindOutcome::NotRam => (pv::FAIL_INPUT, false, Some(SnpViolation::ValidateNotRam)),
            }
        }
    };
    if let Some(kind) = violation {
        record(kind, gpa);
    }
    if validate && code == pv::SUCCESS && !no_change {
        STATS.validated_pages.fetch_add(pages, Ordering::Relaxed);
        if let Some(page) = guest_ptr(gpa, bytes) {
            // SAFETY: the page was not validated until now, so no guest
            // data lives in it; it is guest RAM in the direct map or image.
            unsafe { core::ptr::write_bytes(page, VALIDATED_FILL, bytes as usize) };
        }
    }
    frame.rax = u64::from(code);
    if no_change {
        frame.rflags |= RFLAGS_CF;
    }
}
