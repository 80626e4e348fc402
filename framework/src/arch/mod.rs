//! x86-64 specifics: the CPU, trap and time core.
//!
//! | module       | owns |
//! |--------------|------|
//! | [`cpuid`], [`msr`], [`registers`] | feature queries, MSR and control-register access |
//! | [`gdt`]      | GDT, TSS (RSP0, IST stacks), segment selectors |
//! | [`idt`]      | the interrupt descriptor table |
//! | [`trap`]     | `TrapFrame`, the trap dispatcher, exception policy and hooks |
//! | [`extable`]  | the exception-fixup table, `probe_read_u64` |
//! | [`backtrace`], `report` | frame-pointer backtraces, the fatal-exception report |
//! | [`irq`]      | interrupt handler registration, the local interrupt flag |
//! | [`pic`]      | remapping and masking the legacy 8259s |
//! | [`apic`]     | the local APIC in x2APIC mode, EOI, IPIs |
//! | [`pit`], [`tsc`] | TSC frequency, the monotonic clock |
//! | [`timer`]    | the periodic tick |
//! | [`rtc`]      | the CMOS clock, wall time |
//! | [`rng`]      | RDSEED/RDRAND: hardware randomness, self-tested |
//!
//! [`init_bsp`] brings it up on the boot CPU in that order.
//!
//! Application processors (later): `CpuTables::load` with their own
//! tables and IST stacks, `idt::load`, `apic::init_this_cpu`, then
//! `irq::enable_local`.
pub mod apic;
pub mod backtrace;
pub mod cpuid;
pub mod extable;
pub mod gdt;
pub mod hook;
pub mod idt;
#[cfg(target_os = "none")]
pub mod ioapic;
pub mod irq;
pub mod msr;
pub mod pic;
pub mod pit;
pub mod port;
pub mod registers;
mod report;
pub mod rng;
pub mod rtc;
pub mod timer;
pub mod trap;
pub mod tsc;

/// Stop this CPU until the next interrupt (forever if interrupts are off).
pub fn halt() {
    // SAFETY: `hlt` only waits; it has no memory effects.
    unsafe { core::arch::asm!("hlt", options(nomem, nostack)) }
}

/// Busy-wait hint for spin loops.
pub fn spin_hint() {
    core::hint::spin_loop();
}

/// Read the time-stamp counter.
pub fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` reads a counter; it is always allowed at CPL 0.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Options for the CPU core from the kernel command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuOptions {
    /// `umbra.hz=N`: tick rate.
    pub hz: u32,
    /// `umbra.timer=periodic|deadline|off`: `None` = best available;
    /// `Some(None)` = no timer.
    pub timer_mode: Option<Option<timer::TimerMode>>,
    /// How far to trust CPUID's TSC frequency (set by the platform: TDX
    /// trusts the TDX module's leaf 0x15).
    pub tsc_policy: tsc::TscPolicy,
}

impl Default for CpuOptions {
    fn default() -> Self {
        Self { hz: timer::DEFAULT_HZ, timer_mode: None, tsc_policy: tsc::TscPolicy::CrossCheck }
    }
}

impl CpuOptions {
    pub fn from_cmdline(cmdline: &str) -> Self {
        let mut options = Self::default();
        for word in cmdline.split_ascii_whitespace() {
            if let Some(value) = word.strip_prefix("umbra.hz=") {
                match value.parse() {
                    Ok(hz) if timer::HZ_RANGE.contains(&hz) => options.hz = hz,
                    _ => log::warn!("umbra.hz={}: not a rate in {:?}; using {}", value, timer::HZ_RANGE, options.hz),
                }
            } else if let Some(value) = word.strip_prefix("umbra.timer=") {
                options.timer_mode = match value {
                    "periodic" => Some(Some(timer::TimerMode::Periodic)),
                    "deadline" => Some(Some(timer::TimerMode::TscDeadline)),
                    "off" => Some(None),
                    _ => {
                        log::warn!("umbra.timer={}: expected periodic, deadline or off", value);
                        options.timer_mode
                    }
                };
            }
        }
        options
    }
}

/// Bring up the boot CPU: [`init_traps_bsp`] then [`init_devices_bsp`].
/// Interrupts stay off: the caller enables them ([`irq::enable_local`])
/// when it is ready.
pub fn init_bsp(options: CpuOptions) {
    init_traps_bsp();
    init_devices_bsp(options);
}

/// Phase 1: GDT/TSS (IST stacks) and IDT. From here on every exception
/// reaches a handler and the fixup table works. Executes no CPUID, port
/// I/O or MSR access, so under TDX/SNP the tee layer can install its #VE /
/// #VC hooks ([`trap::set_exception_hook`]) before phase 2 needs them.
pub fn init_traps_bsp() {
    gdt::init_bsp();
    idt::load();
}

/// Phase 2: PIC (remapped, masked), TSC and monotonic clock, x2APIC,
/// timer, wall clock. Without x2APIC the kernel continues with no timer
/// and no IPIs (logged as an error). Panics only if the CPU has no usable
/// TSC.
pub fn init_devices_bsp(options: CpuOptions) {
    pic::remap_and_mask();
    let tsc = tsc::init(options.tsc_policy);
    crate::println!(
        "tsc: {}.{:03} MHz from {:?} (CPUID 0x15: {}, PIT: {}){}",
        tsc.hz / 1_000_000,
        tsc.hz / 1_000 % 1_000,
        tsc.source,
        MaybeHz(tsc.cpuid_hz),
        MaybeHz(tsc.pit_hz),
        if tsc.invariant { "" } else { ", not invariant" }
    );
    match apic::init() {
        Ok(()) => start_timer(options),
        Err(error) => log::error!(
            "apic: {}: continuing without timer interrupts or IPIs (TDX guests always have x2APIC)",
            error
        ),
    }
    match rtc::init() {
        Ok(now) => crate::println!(
            "time: wall clock at boot {} (unix {})",
            now,
            now.unix_seconds().unwrap_or(0)
        ),
        Err(error) => log::warn!("rtc: {:?}: wall clock starts at the Unix epoch", error),
    }
    log::debug!("extable: {} fixup entries", extable::len());
}

fn start_timer(options: CpuOptions) {
    let mode = match options.timer_mode {
        Some(None) => {
            log::warn!("timer: off (umbra.timer=off)");
            return;
        }
        Some(mode) => mode,
        None => None,
    };
    match timer::init(options.hz, mode) {
        Ok(info) => match info.apic_hz {
            Some(apic_hz) => log::info!("timer: {} Hz, {:?} mode, APIC timer {} kHz (/16)", info.hz, info.mode, apic_hz / 1000),
            None => log::info!("timer: {} Hz, {:?} mode", info.hz, info.mode),
        },
        Err(error) => log::error!("timer: {:?}: no timer interrupts", error),
    }
}

/// `Option<Hz>` for the boot log.
struct MaybeHz(Option<u64>);

impl core::fmt::Display for MaybeHz {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            Some(hz) => write!(f, "{} Hz", hz),
            None => f.write_str("none"),
        }
    }
}
