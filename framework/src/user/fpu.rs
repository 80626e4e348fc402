//! User x87/SSE/AVX state: enabling it per CPU, the save area each
//! [`UserContext`](super::UserContext) owns, and moving it in and out of
//! the CPU.
//!
//! The kernel is built soft-float and never executes an x87/SSE/AVX
//! instruction, so the registers hold user state only, and only user code
//! or [`FpuState::load`] changes them. Policy (why not "save on context
//! switch"): the state is saved into the context on *every* exit from user
//! mode (XSAVEOPT, which skips components that are unchanged since the
//! last XRSTOR from the same area or still in their initial state, so the
//! common syscall costs little), which keeps the context authoritative at
//! all times: `fork` clones it, signal delivery reads it, migration to
//! another CPU needs nothing, and the scheduler has no FPU hook at all.
//! The expensive half, XRSTOR, is skipped on entry when this CPU's
//! registers still hold exactly this context's state: each save or load
//! stamps the context and the CPU with a tag unique to that (CPU, moment);
//! only an equal tag means equal contents. Contexts whose state was
//! replaced ([`FpuState::set_bytes`]) or cloned carry tag 0, which never
//! matches.
//!
//! Formats: XSAVE standard (non-compacted) format with the components in
//! [`enabled_features`] (x87 | SSE, plus AVX where CPUID offers it); a
//! 512-byte FXSAVE image on CPUs without XSAVE.

use alloc::boxed::Box;
use alloc::vec;

use super::InvalidFpuState;

/// XCR0 / XSTATE_BV component bits.
pub const XFEATURE_X87: u64 = 1 << 0;
pub const XFEATURE_SSE: u64 = 1 << 1;
pub const XFEATURE_AVX: u64 = 1 << 2;

/// Size of the legacy (FXSAVE) region.
const LEGACY_SIZE: usize = 512;
/// Legacy region + XSAVE header.
const XSAVE_MIN_SIZE: usize = 576;
/// Largest save area accepted from CPUID (the host answers CPUID under
/// TEEs: a silly size must not make every context huge).
const MAX_AREA_SIZE: usize = 4096;
/// Offsets in the legacy region and header.
const FCW_OFFSET: usize = 0;
const MXCSR_OFFSET: usize = 24;
#[cfg(target_os = "none")]
const MXCSR_MASK_OFFSET: usize = 28;
const XSTATE_BV_OFFSET: usize = 512;
/// Initial control values (as after FNINIT / at reset).
const FCW_INIT: u16 = 0x037f;
pub const MXCSR_INIT: u32 = 0x1f80;
/// MXCSR bits a CPU without DAZ supports (Intel SDM vol. 1, 11.6.6).
const MXCSR_MASK_DEFAULT: u32 = 0xffbf;

/// What this machine's CPUs offer for user FPU state. Computed once from
/// CPUID; all CPUs are assumed alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FpuConfig {
    /// XSAVE/XRSTOR are used (else FXSAVE/FXRSTOR).
    pub xsave: bool,
    /// XSAVEOPT is used for saving.
    pub xsaveopt: bool,
    /// XCR0: the components enabled for user code.
    pub features: u64,
    /// Bytes of one save area.
    pub area_size: usize,
}

static CONFIG: spin::Once<FpuConfig> = spin::Once::new();
/// MXCSR bits the CPU supports (from FXSAVE's MXCSR_MASK at CPU init).
static MXCSR_MASK: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(MXCSR_MASK_DEFAULT);

/// The FPU configuration (detected on first use).
pub fn config() -> &'static FpuConfig {
    CONFIG.call_once(detect)
}

/// The XCR0 components user code gets.
pub fn enabled_features() -> u64 {
    config().features
}

fn detect() -> FpuConfig {
    use crate::arch::cpuid::leaf;
    let basic = leaf(1, 0).unwrap_or_default();
    let has_xsave = basic.ecx & (1 << 26) != 0;
    let has_avx = basic.ecx & (1 << 28) != 0;
    let legacy = FpuConfig { xsave: false, xsaveopt: false, features: XFEATURE_X87 | XFEATURE_SSE, area_size: LEGACY_SIZE };
    if !has_xsave {
        return legacy;
    }
    let Some(xsave_leaf) = leaf(0xd, 0) else { return legacy };
    let supported = u64::from(xsave_leaf.eax) | (u64::from(xsave_leaf.edx) << 32);
    if supported & (XFEATURE_X87 | XFEATURE_SSE) != XFEATURE_X87 | XFEATURE_SSE {
        return legacy;
    }
    let mut features = XFEATURE_X87 | XFEATURE_SSE;
    let mut end = XSAVE_MIN_SIZE;
    if has_avx && supported & XFEATURE_AVX != 0 {
        let avx = leaf(0xd, 2).unwrap_or_default();
        // The AVX component's place is architectural (offset 576, 256 bytes);
        // anything else means CPUID is not to be believed.
        if avx.ebx == 576 && avx.eax == 256 {
            features |= XFEATURE_AVX;
            end = end.max((avx.ebx + avx.eax) as usize);
        } else {
            log::warn!("fpu: CPUID reports the AVX state at {}+{}: AVX not enabled", avx.ebx, avx.eax);
        }
    }
    let xsaveopt = leaf(0xd, 1).is_some_and(|l| l.eax & 1 != 0);
    FpuConfig { xsave: true, xsaveopt, features, area_size: end.next_multiple_of(64).min(MAX_AREA_SIZE) }
}

/// One 64-byte, 64-aligned piece of a save area (XSAVE needs 64-byte
/// alignment, FXSAVE 16).
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Chunk([u8; 64]);

/// A user FPU state: a save area in the format of [`config`].
pub(crate) struct FpuState {
    area: Box<[Chunk]>,
    /// Which save or load last made the CPU registers equal to `area`
    /// (0: unknown; see the module documentation).
    #[cfg_attr(not(target_os = "none"), allow(dead_code))]
    tag: u64,
}

impl Clone for FpuState {
    fn clone(&self) -> Self {
        Self { area: self.area.clone(), tag: 0 }
    }
}

impl FpuState {
    /// The initial state: FCW 0x37f, MXCSR 0x1f80, everything else zero;
    /// XSTATE_BV 0 (every component in its initial configuration).
    pub(crate) fn new() -> Self {
        let size = config().area_size;
        let mut state = Self { area: vec![Chunk([0; 64]); size.div_ceil(64)].into_boxed_slice(), tag: 0 };
        let bytes = state.bytes_mut();
        bytes[FCW_OFFSET..FCW_OFFSET + 2].copy_from_slice(&FCW_INIT.to_le_bytes());
        bytes[MXCSR_OFFSET..MXCSR_OFFSET + 4].copy_from_slice(&MXCSR_INIT.to_le_bytes());
        state
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        // SAFETY: `Chunk` is repr(C) around [u8; 64]: no padding, size 64,
        // every byte initialised; the slice covers exactly the chunks.
        unsafe { core::slice::from_raw_parts(self.area.as_ptr().cast::<u8>(), self.area.len() * 64) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, and `&mut self` makes the access exclusive.
        unsafe { core::slice::from_raw_parts_mut(self.area.as_mut_ptr().cast::<u8>(), self.area.len() * 64) }
    }

    /// Replace the state with `image` after checking that XRSTOR/FXRSTOR
    /// will accept it (see `UserContext::set_fpu_state`).
    pub(crate) fn set_bytes(&mut self, image: &[u8]) -> Result<(), InvalidFpuState> {
        let config = config();
        if image.len() < LEGACY_SIZE || image.len() > self.bytes().len() {
            return Err(InvalidFpuState::BadLength);
        }
        let mxcsr = u32::from_le_bytes(image[MXCSR_OFFSET..MXCSR_OFFSET + 4].try_into().unwrap_or_default());
        if mxcsr & !MXCSR_MASK.load(core::sync::atomic::Ordering::Relaxed) != 0 {
            return Err(InvalidFpuState::ReservedMxcsrBits);
        }
        let has_header = config.xsave && image.len() >= XSAVE_MIN_SIZE;
        if has_header {
            let header = &image[XSTATE_BV_OFFSET..XSAVE_MIN_SIZE];
            let xstate_bv = u64::from_le_bytes(header[..8].try_into().unwrap_or_default());
            // XCOMP_BV (standard format: 0) and the reserved bytes.
            if xstate_bv & !config.features != 0 || header[8..].iter().any(|&b| b != 0) {
                return Err(InvalidFpuState::BadHeader);
            }
        }
        let bytes = self.bytes_mut();
        bytes[..image.len()].copy_from_slice(image);
        bytes[image.len()..].fill(0);
        if config.xsave && !has_header {
            // A legacy image: take its x87/SSE state, extended components
            // initial.
            bytes[XSTATE_BV_OFFSET..XSTATE_BV_OFFSET + 8].copy_from_slice(&(XFEATURE_X87 | XFEATURE_SSE).to_le_bytes());
        }
        self.tag = 0;
        Ok(())
    }
}

#[cfg(target_os = "none")]
pub(crate) use hw::init_this_cpu;
#[cfg(target_os = "none")]
pub use hw::{mxcsr_mask, restore_faults};

#[cfg(target_os = "none")]
mod hw {
    use core::arch::asm;
    use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

    use super::{config, Chunk, FpuState, MXCSR_MASK, MXCSR_MASK_DEFAULT, MXCSR_MASK_OFFSET};
    use crate::cpu_local::MAX_CPUS;

    const CR0_MP: u64 = 1 << 1;
    const CR0_EM: u64 = 1 << 2;
    const CR0_TS: u64 = 1 << 3;
    const CR0_NE: u64 = 1 << 5;
    const CR4_OSFXSR: u64 = 1 << 9;
    const CR4_OSXMMEXCPT: u64 = 1 << 10;
    const CR4_OSXSAVE: u64 = 1 << 18;

    /// Per CPU: the tag of the state its registers hold.
    static LOADED: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
    /// Per CPU: the last tag handed out.
    static SEQUENCE: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
    /// Restores that faulted (a bad image got past `set_bytes`).
    static RESTORE_FAULTS: AtomicU64 = AtomicU64::new(0);
    static MASK_READ: AtomicBool = AtomicBool::new(false);

    /// A fresh tag for `cpu`: CPU index + 1 in the top byte, a per-CPU
    /// sequence number below (2^56 saves per CPU before a repeat).
    fn next_tag(cpu: usize) -> u64 {
        let sequence = SEQUENCE[cpu].fetch_add(1, Ordering::Relaxed) + 1;
        ((cpu as u64 + 1) << 56) | (sequence & ((1 << 56) - 1))
    }

    /// Enable x87/SSE (CR0, CR4.OSFXSR/OSXMMEXCPT) and, with XSAVE,
    /// CR4.OSXSAVE and XCR0 on the calling CPU; load the initial state.
    pub fn init_this_cpu() {
        let config = config();
        // SAFETY: the kernel is soft-float and never uses these registers, so enabling them (and choosing which
        // components XSAVE manages) changes nothing the kernel relies on; EM/TS clear makes FPU instructions execute
        // instead of trapping with #NM.
        unsafe {
            let cr0 = crate::arch::registers::cr0();
            asm!("mov cr0, {}", in(reg) (cr0 | CR0_MP | CR0_NE) & !(CR0_EM | CR0_TS), options(nostack, preserves_flags));
            let mut cr4 = crate::arch::registers::cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
            if config.xsave {
                cr4 |= CR4_OSXSAVE;
            }
            asm!("mov cr4, {}", in(reg) cr4, options(nostack, preserves_flags));
            if config.xsave {
                // XCR0 bits 0 (x87, must be 1) and 1/2 (SSE/AVX), as CPUID
                // leaf 0xd sub-leaf 0 reported them supported.
                asm!(
                    "xsetbv",
                    in("ecx") 0,
                    in("eax") config.features as u32,
                    in("edx") (config.features >> 32) as u32,
                    options(nomem, nostack, preserves_flags)
                );
            }
        }
        if !MASK_READ.swap(true, Ordering::AcqRel) {
            let mut scratch = [Chunk([0; 64]); 8];
            // SAFETY: FXSAVE writes 512 bytes to a 16-aligned buffer; the
            // scratch is 512 bytes, 64-aligned, ours.
            unsafe { asm!("fxsave64 [{}]", in(reg) scratch.as_mut_ptr(), options(nostack, preserves_flags)) };
            let mask_bytes = &scratch[MXCSR_MASK_OFFSET / 64].0[MXCSR_MASK_OFFSET % 64..MXCSR_MASK_OFFSET % 64 + 4];
            let mask = u32::from_le_bytes(mask_bytes.try_into().unwrap_or_default());
            MXCSR_MASK.store(if mask == 0 { MXCSR_MASK_DEFAULT } else { mask }, Ordering::Relaxed);
        }
        // Start from a defined state (nobody's: tag 0 on this CPU).
        let mut initial = FpuState::new();
        initial.load(crate::cpu_local::this_cpu().index);
        LOADED[crate::cpu_local::this_cpu().index].store(0, Ordering::Relaxed);
    }

    /// MXCSR bits this CPU supports.
    pub fn mxcsr_mask() -> u32 {
        MXCSR_MASK.load(Ordering::Relaxed)
    }

    impl FpuState {
        /// Put this state into the registers of CPU `cpu` (the calling
        /// CPU; interrupts off) unless they hold it already.
        pub(crate) fn load(&mut self, cpu: usize) {
            if self.tag != 0 && LOADED[cpu].load(Ordering::Relaxed) == self.tag {
                return;
            }
            if !restore(self.area.as_ptr() as u64) {
                RESTORE_FAULTS.fetch_add(1, Ordering::Relaxed);
                log::warn!("fpu: the saved user FPU state could not be loaded; reset to the initial state");
                *self = FpuState::new();
                // The initial state always loads.
                restore(self.area.as_ptr() as u64);
            }
            if self.tag == 0 {
                self.tag = next_tag(cpu);
            }
            LOADED[cpu].store(self.tag, Ordering::Relaxed);
        }

        /// Save the registers of CPU `cpu` (the calling CPU; interrupts
        /// off) into this state.
        pub(crate) fn save(&mut self, cpu: usize) {
            let config = config();
            let area = self.area.as_mut_ptr() as u64;
            // SAFETY: `area` is this state's own buffer: 64-byte aligned and `area_size` long, which is what XSAVE needs for the
            // features in XCR0 (FXSAVE: 512 bytes); it writes nothing else. The instructions exist (CPUID, checked by `config`) and CR4
            // enables them (`init_this_cpu` ran on every CPU that runs user code).
            unsafe {
                let (low, high) = (config.features as u32, (config.features >> 32) as u32);
                if config.xsaveopt {
                    asm!("xsaveopt64 [{}]", in(reg) area, in("eax") low, in("edx") high, options(nostack, preserves_flags));
                } else if config.xsave {
                    asm!("xsave64 [{}]", in(reg) area, in("eax") low, in("edx") high, options(nostack, preserves_flags));
                } else {
                    asm!("fxsave64 [{}]", in(reg) area, options(nostack, preserves_flags));
                }
            }
            self.tag = next_tag(cpu);
            LOADED[cpu].store(self.tag, Ordering::Relaxed);
        }
    }

    /// XRSTOR/FXRSTOR from `area`; false if it faulted (#GP on a bad
    /// image: the registers are then unchanged or partly loaded).
    fn restore(area: u64) -> bool {
        let config = config();
        let (low, high) = (config.features as u32, (config.features >> 32) as u32);
        let failed: u32;
        // SAFETY: `area` is a save area of `config.area_size` bytes, aligned to 64, that only reads; the restore only
        // changes the user FPU registers, which the kernel does not use. A #GP (bad image) continues at label 3
        // through the exception table.
        unsafe {
            if config.xsave {
                asm!(
                    "xor {failed:e}, {failed:e}",
                    "2: xrstor64 [{area}]",
                    "jmp 4f",
                    "3: mov {failed:e}, 1",
                    "4:",
                    crate::ex_table_entry!("2b", "3b"),
                    area = in(reg) area,
                    failed = out(reg) failed,
                    in("eax") low,
                    in("edx") high,
                    options(nostack, readonly),
                );
            } else {
                asm!(
                    "xor {failed:e}, {failed:e}",
                    "2: fxrstor64 [{area}]",
                    "jmp 4f",
                    "3: mov {failed:e}, 1",
                    "4:",
                    crate::ex_table_entry!("2b", "3b"),
                    area = in(reg) area,
                    failed = out(reg) failed,
                    options(nostack, readonly),
                );
            }
        }
        failed == 0
    }

    /// Restores that faulted since boot.
    pub fn restore_faults() -> u64 {
        RESTORE_FAULTS.load(Ordering::Relaxed)
    }
}
