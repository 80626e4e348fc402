//! The CPU's random-number instructions, RDSEED and RDRAND: the entropy
//! the kernel's generator (`services::random`) is keyed from.
//!
//! Why these: in a TDX or SEV-SNP guest they run on the CPU itself (not
//! intercepted by the host), so they are the one entropy source the host
//! cannot see or steer. RDSEED returns conditioned output of the hardware
//! noise source (full entropy, may run dry: retried); RDRAND returns the
//! output of a hardware DRBG reseeded from it (rarely fails).
//!
//! Both are used only when CPUID says they exist (RDRAND: CPUID.1:ECX[30],
//! RDSEED: CPUID.7.0:EBX[18]) and a boot-time self-test passes: some CPUs
//! (AMD family 15h/16h after resume, Zen 2 with old microcode) set CF and
//! return the same value every time, which Linux also checks for. Outside
//! a TEE the hypervisor can hide the CPUID bits; [`status`] says what was
//! found so the caller can warn and fall back.

use core::sync::atomic::{AtomicU8, Ordering};

use super::cpuid;

/// RDSEED may fail while the noise source refills: try this often (with a
/// pause in between) before giving up on one value.
const RDSEED_RETRIES: u32 = 100;
/// Intel's guidance for RDRAND: ten failures in a row mean a broken unit.
const RDRAND_RETRIES: u32 = 10;

/// What the CPU offers, after CPUID and the self-test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub rdseed: bool,
    pub rdrand: bool,
}

impl Status {
    /// Neither instruction is usable.
    pub fn none(&self) -> bool {
        !self.rdseed && !self.rdrand
    }
}

const UNKNOWN: u8 = 0xff;
const RDSEED_OK: u8 = 1;
const RDRAND_OK: u8 = 2;
static STATUS: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Which instructions are usable (detected and self-tested once).
pub fn status() -> Status {
    let mut bits = STATUS.load(Ordering::Acquire);
    if bits == UNKNOWN {
        bits = detect();
        STATUS.store(bits, Ordering::Release);
    }
    Status { rdseed: bits & RDSEED_OK != 0, rdrand: bits & RDRAND_OK != 0 }
}

fn detect() -> u8 {
    let mut bits = 0;
    let leaf1 = cpuid::leaf(1, 0).unwrap_or_default();
    let leaf7 = cpuid::leaf(7, 0).unwrap_or_default();
    if leaf1.ecx & (1 << 30) != 0 {
        if self_test(raw_rdrand) {
            bits |= RDRAND_OK;
        } else {
            log::error!("rng: RDRAND is advertised but returns constant or no values: not used");
        }
    }
    if leaf7.ebx & (1 << 18) != 0 {
        if self_test(raw_rdseed) {
            bits |= RDSEED_OK;
        } else {
            log::error!("rng: RDSEED is advertised but returns constant or no values: not used");
        }
    }
    bits
}

/// Eight draws must succeed and not all be equal (a stuck unit returns
/// the same word, often all ones, with CF set).
fn self_test(draw: fn() -> Option<u64>) -> bool {
    let mut values = [0u64; 8];
    for value in values.iter_mut() {
        match retry(draw, RDSEED_RETRIES) {
            Some(v) => *value = v,
            None => return false,
        }
    }
    values.iter().any(|&v| v != values[0])
}

fn retry(draw: fn() -> Option<u64>, attempts: u32) -> Option<u64> {
    for _ in 0..attempts {
        if let Some(v) = draw() {
            return Some(v);
        }
        core::hint::spin_loop();
    }
    None
}

fn raw_rdrand() -> Option<u64> {
    let mut value = 0u64;
    // SAFETY: only called after CPUID.1:ECX[30] said RDRAND exists (by
    // `detect`, or by `rdrand64` after `status`); it writes only `value`.
    let ok = unsafe { core::arch::x86_64::_rdrand64_step(&mut value) };
    (ok == 1).then_some(value)
}

fn raw_rdseed() -> Option<u64> {
    let mut value = 0u64;
    // SAFETY: only called after CPUID.7.0:EBX[18] said RDSEED exists (by
    // `detect`, or by `rdseed64` after `status`); it writes only `value`.
    let ok = unsafe { core::arch::x86_64::_rdseed64_step(&mut value) };
    (ok == 1).then_some(value)
}

/// One RDSEED word, or `None` when the CPU has no usable RDSEED or the
/// noise source stayed empty through the retries.
pub fn rdseed64() -> Option<u64> {
    if !status().rdseed {
        return None;
    }
    retry(raw_rdseed, RDSEED_RETRIES)
}

/// One RDRAND word, or `None` when the CPU has no usable RDRAND or it
/// failed ten times in a row.
pub fn rdrand64() -> Option<u64> {
    if !status().rdrand {
        return None;
    }
    retry(raw_rdrand, RDRAND_RETRIES)
}

/// How [`fill`] got its bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FillReport {
    /// Words from RDSEED.
    pub rdseed_words: usize,
    /// Words from RDRAND (where RDSEED was absent or ran dry).
    pub rdrand_words: usize,
}

impl FillReport {
    /// Every word came from the hardware.
    pub fn complete(&self, len: usize) -> bool {
        (self.rdseed_words + self.rdrand_words) * 8 >= len
    }
}

/// Fill `buf` with hardware randomness, word by word: RDSEED first, RDRAND
/// where RDSEED fails. Words neither gives stay as they were (the report
/// says how many came from the hardware).
pub fn fill(buf: &mut [u8]) -> FillReport {
    let mut report = FillReport::default();
    for chunk in buf.chunks_mut(8) {
        let word = if let Some(v) = rdseed64() {
            report.rdseed_words += 1;
            v
        } else if let Some(v) = rdrand64() {
            report.rdrand_words += 1;
            v
        } else {
            continue;
        };
        chunk.copy_from_slice(&word.to_le_bytes()[..chunk.len()]);
    }
    report
}

mod tests {
    use crate::ktest;

    #[ktest]
    fn hardware_words_differ_when_present() {
        let status = super::status();
        if status.rdrand {
            let (a, b) = (super::rdrand64(), super::rdrand64());
            assert!(a.is_some() && b.is_some());
            assert_ne!(a, b);
        }
        if status.rdseed {
            let (a, b) = (super::rdseed64(), super::rdseed64());
            assert!(a.is_some() && b.is_some());
            assert_ne!(a, b);
        }
        let mut buf = [0u8; 37];
        let report = super::fill(&mut buf);
        assert_eq!(report.complete(buf.len()), !status.none());
        if !status.none() {
            assert!(buf.iter().any(|&b| b != 0));
        }
    }
}
