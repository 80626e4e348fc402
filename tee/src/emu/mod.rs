//! The TEE emulator (TDX): a strict software TDX module and host below
//! the instruction layer, for test builds (cargo feature `emulation`) on
//! machines without TDX. Selected by `umbra.tee_emu=tdx`; refused when
//! real TDX or SEV-SNP is detected ([`crate::init`]).
//!
//! QEMU TCG raises #UD for TDCALL; the #UD hook ([`decode`]) recognises
//! it and emulates the leaf on the trap frame ([`module`], TDVMCALL in
//! [`host`]), then resumes after the instruction. The rest of the kernel
//! runs its real TDX code path.
//!
//! | module | owns |
//! |---|---|
//! | [`decode`] | recognising TDCALL at RIP |
//! | [`module`] | the TDCALL leaves (accept, reports, RTMR, VP.INFO) |
//! | [`host`] | TDVMCALL: port I/O, MSR, CPUID, HLT, MapGPA, GetQuote |
//! | [`pages`] | per-page state: unaccepted / private / shared |
//! | [`measure`] | MRTD, RTMRs, TDREPORT and its MAC |
//! | [`firmware`] | the memory map TDVF would report (unaccepted RAM) |
//! | [`firmware_log`] | the events TDVF would measure into RTMR0/RTMR1 (the firmware part of the CCEL) |
//! | [`quote_service`] | the host's quote service: quote v4 under TEST keys |
//! | [`mailbox`] | the firmware's AP wake-up mailbox and park loop |
//! | [`hostile`] | hostile mode: the host lies in its answers |
//! | [`ve`] | synthetic #VE with matching VE info, on request of a test |
//!
//! Strictness: every misuse a real TDX module or host would punish (or
//! that would corrupt a real TD later) is a *violation*: counted per kind,
//! logged, answered with the real error status, never fatal, so tests can
//! provoke and check them ([`violations`]).
//!
//! Must never: be compiled into a release image, or run on real TDX/SNP.

pub mod decode;
pub mod firmware;
pub mod firmware_log;
mod host;
pub mod hostile;
pub mod mailbox;
pub mod measure;
mod module;
pub mod pages;
pub mod quote_service;
pub mod ve;
pub mod snp;

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use boot::{BootInfo, PhysRange};
use framework::arch::trap::{ExceptionHook, TrapFrame};
use framework::mm::{AcceptError, MemoryAcceptor};

pub use host::{device_bus_address, device_dma, DmaRefused, TEST_DEVICE_GPA};
use measure::Measurements;
use pages::PageMap;

/// Guest-physical memory the emulator can track: 64 GiB of RAM (two
/// bitmaps of 2 MiB in .bss, test builds only).
const TRACKED_PAGES: usize = (64 << 30) / 4096;
static PAGES: PageMap<{ TRACKED_PAGES / 64 }> = PageMap::new();

/// Serialises page-state changes (reads are lock-free).
static CHANGE_LOCK: spin::Mutex<()> = spin::Mutex::new(());

/// GPA width the emulated TD reports.
pub const GPAW: u8 = 48;

struct EmulatedTd {
    gpaw: u8,
    measurements: spin::Mutex<Measurements>,
    /// The #UD hook that was installed before ours (non-TDCALL #UDs go there).
    previous_ud_hook: Option<ExceptionHook>,
}

static STATE: spin::Once<EmulatedTd> = spin::Once::new();
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// What the emulator did since boot.
pub struct Stats {
    pub tdcalls: AtomicU64,
    pub vmcalls: AtomicU64,
    /// Successful TDG.MEM.PAGE.ACCEPT calls and the 4 KiB pages they covered.
    pub accept_calls: AtomicU64,
    pub accepted_pages: AtomicU64,
}

pub static STATS: Stats = Stats {
    tdcalls: AtomicU64::new(0),
    vmcalls: AtomicU64::new(0),
    accept_calls: AtomicU64::new(0),
    accepted_pages: AtomicU64::new(0),
};

/// Kinds of misuse the emulator catches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// TDG.MEM.PAGE.ACCEPT of an accepted page.
    DoubleAccept,
    /// Accept of a page that is shared (no MapGPA to private first).
    AcceptShared,
    /// Accept of an address that is not the TD's RAM.
    AcceptNotRam,
    /// The frame allocator handed out a page that is not private+accepted.
    UnacceptedInUse,
    /// A report / RTMR buffer misaligned, shared, unaccepted or not RAM.
    BadBuffer,
    /// A TDVMCALL hid its own argument registers from the host.
    HiddenOperands,
    /// MapGPA of an address that is not the TD's RAM.
    MapGpaNotRam,
    /// GetQuote on a buffer that is not (all) shared.
    QuoteBufferNotShared,
    /// An MMIO TDVMCALL aimed at the TD's RAM.
    MmioToRam,
    /// A device (the host) reached a private page: private memory was
    /// handed out for DMA. Fatal on real hardware (the device reads
    /// ciphertext or garbage; worse, the guest thinks it shared data).
    DmaFromPrivate,
}

const VIOLATION_KINDS: usize = 10;

impl Violation {
    fn index(self) -> usize {
        self as usize
    }
    pub fn description(self) -> &'static str {
        match self {
            Violation::DoubleAccept => "page accepted twice",
            Violation::AcceptShared => "accept of a shared page",
            Violation::AcceptNotRam => "accept of an address outside the TD's RAM",
            Violation::UnacceptedInUse => "frame handed out without being accepted",
            Violation::BadBuffer => "TDCALL buffer misaligned or not private accepted RAM",
            Violation::HiddenOperands => "TDVMCALL hides its argument registers",
            Violation::MapGpaNotRam => "MapGPA outside the TD's RAM",
            Violation::QuoteBufferNotShared => "GetQuote buffer not shared",
            Violation::MmioToRam => "MMIO TDVMCALL to the TD's RAM",
            Violation::DmaFromPrivate => "FATAL: device DMA from a private page",
        }
    }
}

static VIOLATIONS: [AtomicU64; VIOLATION_KINDS] = [const { AtomicU64::new(0) }; VIOLATION_KINDS];
/// Violations logged at most (each is counted regardless).
const VIOLATION_LOG_LIMIT: u64 = 32;

/// Count and log one violation. Callers hold no emulator lock (logging
/// may itself go through the emulator: console port I/O).
fn record(kind: Violation, address: u64) {
    let count = VIOLATIONS[kind.index()].fetch_add(1, Ordering::Relaxed) + 1;
    if violations() <= VIOLATION_LOG_LIMIT {
        log::error!("tdx-emu: violation #{} of this kind: {} at {:#x}", count, kind.description(), address);
    }
}

/// Violations of `kind` since boot.
pub fn violation_count(kind: Violation) -> u64 {
    VIOLATIONS[kind.index()].load(Ordering::Relaxed)
}

/// All violations since boot.
pub fn violations() -> u64 {
    VIOLATIONS.iter().map(|v| v.load(Ordering::Relaxed)).sum()
}

/// Is the emulator installed?
pub fn active() -> bool {
    ACTIVE.load(Ordering::Acquire)
}

/// The emulator's view of the page at `gpa`.
pub fn page_state(gpa: u64) -> Option<pages::PageState> {
    PAGES.state(gpa)
}

/// Bytes (unaccepted, private, shared) the emulated TD has now.
pub fn memory_totals() -> (u64, u64, u64) {
    PAGES.totals()
}

/// The emulated TD's MRTD and RTMRs now.
pub fn measurements() -> Option<(measure::Sha384Digest, [measure::Sha384Digest; 4])> {
    STATE.get().map(|s| {
        let m = s.measurements.lock();
        (m.mrtd, m.rtmr)
    })
}

static FIRMWARE_EVENTS: spin::Once<[firmware_log::FirmwareEvent; firmware_log::EVENT_COUNT]> = spin::Once::new();

/// What the emulated firmware measured into the RTMRs before the kernel
/// started (empty before [`install`]).
pub fn firmware_events() -> &'static [firmware_log::FirmwareEvent] {
    FIRMWARE_EVENTS.get().map_or(&[], |events| &events[..])
}

/// Check a TDREPORT against the emulator's MAC key (what TDG.MR.VERIFYREPORT
/// does on hardware): tampering with any field shows up here.
pub fn verify_report(report: &[u8; 1024]) -> Result<(), measure::ReportMismatch> {
    let key = STATE.get().map(|s| s.measurements.lock().key).ok_or(measure::ReportMismatch::Mac)?;
    measure::verify_report(&key, report)
}

static BOOT_INFO: spin::Once<&'static BootInfo> = spin::Once::new();

/// The boot information the emulated firmware handed over.
fn boot_info() -> Option<&'static BootInfo> {
    BOOT_INFO.get().copied()
}

/// Install the emulator: amend the memory map (firmware's part), set up
/// page tracking and measurements, take over #UD. Once, on the boot CPU,
/// after the trap tables and before mm. Returns the amended boot info.
pub fn install(boot: &'static BootInfo) -> &'static BootInfo {
    // Built in place: a BootInfo is ~17 KiB, too big to move around on the
    // 64 KiB boot stack. The guard is leaked: the map never changes again.
    static AMENDED: spin::Mutex<BootInfo> = spin::Mutex::new(BootInfo::new(boot::Firmware::Bios));
    let Some(mut guard) = AMENDED.try_lock() else {
        panic!("tdx-emu: installed twice");
    };
    firmware::amend(boot, &mut guard, firmware::ACCEPTED_BY_FIRMWARE);
    let amended: &'static BootInfo = spin::mutex::MutexGuard::leak(guard);
    BOOT_INFO.call_once(|| amended);
    let mut ram = [PhysRange::default(); pages::MAX_REGIONS];
    let count = firmware::ram_ranges(amended, &mut ram);
    if PAGES.init(&ram[..count]).is_err() {
        panic!("tdx-emu: more RAM than the emulator tracks (64 GiB, {} regions)", pages::MAX_REGIONS);
    }
    for region in amended.memory_map().iter().filter(|r| firmware::is_ram(r.kind) && r.kind != boot::RegionKind::Unaccepted) {
        let start = region.range.start.div_ceil(pages::PAGE) * pages::PAGE;
        let end = region.range.end & !(pages::PAGE - 1);
        if start < end {
            let _ = PAGES.mark_accepted(PhysRange { start, end });
        }
    }
    // The firmware's measurements (RTMR0, RTMR1) happen before the kernel
    // runs: the RTMRs start with them, and the kernel's log copies them.
    let firmware_events = FIRMWARE_EVENTS.call_once(|| firmware_log::events(amended));
    let measurements = Measurements {
        mrtd: measure_kernel_image(),
        rtmr: firmware_log::replay(firmware_events),
        key: measure::derive_key(&entropy()),
    };
    let previous_ud_hook = framework::arch::trap::set_invalid_opcode_hook(invalid_opcode);
    STATE.call_once(|| EmulatedTd { gpaw: GPAW, measurements: spin::Mutex::new(measurements), previous_ud_hook });
    ACTIVE.store(true, Ordering::Release);
    amended
}

/// The #UD hook: TDCALL from kernel mode is emulated; anything else goes
/// to the previous hook (or is fatal).
fn invalid_opcode(frame: &mut TrapFrame) -> bool {
    if !frame.from_user() && decode::is_tdcall(frame.rip) {
        module::tdcall(frame);
        frame.rip += decode::TDCALL_LEN;
        return true;
    }
    if ve::raise_if_armed(frame) {
        return true;
    }
    match STATE.get().and_then(|s| s.previous_ud_hook) {
        Some(previous) => previous(frame),
        None => false,
    }
}

/// MRTD: SHA-384 over the kernel's text and read-only data as loaded (what
/// TDH.MR.EXTEND would have measured at build time; these bytes never
/// change at run time).
fn measure_kernel_image() -> measure::Sha384Digest {
    extern "C" {
        static __text_start: u8;
        static __data_start: u8;
    }
    let start = core::ptr::addr_of!(__text_start) as usize;
    let end = core::ptr::addr_of!(__data_start) as usize;
    // SAFETY: [__text_start, __data_start) is the kernel's text, rodata and
    // ktest table (kernel/linker.ld), mapped and never written.
    let image = unsafe { core::slice::from_raw_parts(start as *const u8, end - start) };
    measure::sha384(&[image])
}

/// Per-boot entropy for the MAC key: RDRAND when the CPU has it, mixed
/// with the TSC.
fn entropy() -> [u8; 64] {
    let mut out = [0u8; 64];
    let has_rdrand = framework::arch::cpuid::raw(1, 0).ecx & (1 << 30) != 0;
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut value = framework::arch::rdtsc().rotate_left(i as u32 * 7);
        if has_rdrand {
            let mut random = 0u64;
            // SAFETY: CPUID says RDRAND exists; it only writes the output.
            if unsafe { core::arch::x86_64::_rdrand64_step(&mut random) } == 1 {
                value ^= random;
            }
        }
        chunk.copy_from_slice(&value.to_le_bytes());
    }
    out
}

/// mm's acceptor under emulation: the real TDX acceptor, plus the check
/// that every frame mm hands out is private and accepted.
pub struct CheckingAcceptor(pub &'static dyn MemoryAcceptor);

impl MemoryAcceptor for CheckingAcceptor {
    fn accept(&self, range: PhysRange) -> Result<(), AcceptError> {
        self.0.accept(range)
    }

    fn check_handed_out(&self, range: PhysRange) {
        if let Some(gpa) = PAGES.first_not_private(range) {
            record(Violation::UnacceptedInUse, gpa);
        }
    }
}
