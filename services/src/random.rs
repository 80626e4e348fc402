//! The kernel's random-number generator: what `getrandom(2)`,
//! `/dev/urandom` and the exec-time `AT_RANDOM` bytes read.
//!
//! Owns: one ChaCha20 stream (`rand_chacha`) whose 256-bit key is a
//! SHA-256 over the previous key's output and new seed material
//! ([`seed`]): mixing, never replacing, so weak material (the
//! host-influenced TSC) added later cannot undo strong material (RDSEED)
//! added earlier. The kernel seeds it at boot from RDSEED/RDRAND mixed
//! with TSC jitter (kernel/src/entropy.rs) and installs a reseed source
//! ([`set_reseed_source`]) the generator draws fresh hardware material
//! from every [`RESEED_INTERVAL_NS`] or [`RESEED_BYTES`] of output, as
//! Linux's crng reseeds every minute. After every request the key is
//! replaced by stream output ("fast key erasure"), so a later look at the
//! state does not reveal bytes already handed out.
//!
//! Must never: hand out bytes before it was seeded (callers get an error,
//! never zeros).

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::return_errno_with_message;
use crate::sync::Mutex;

/// Reseed from the reseed source at least this often (Linux: 60 s) ...
pub const RESEED_INTERVAL_NS: u64 = 60_000_000_000;
/// ... or after this much output.
pub const RESEED_BYTES: u64 = 1 << 20;

/// `getrandom(2)` flags (include/uapi/linux/random.h).
pub const GRND_NONBLOCK: u32 = 0x1;
pub const GRND_RANDOM: u32 = 0x2;
pub const GRND_INSECURE: u32 = 0x4;

/// Whether Linux accepts these `getrandom` flags: no unknown bits, and not
/// `GRND_RANDOM` with `GRND_INSECURE` (else EINVAL).
pub fn flags_valid(flags: u32) -> bool {
    flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) == 0
        && flags & (GRND_RANDOM | GRND_INSECURE) != (GRND_RANDOM | GRND_INSECURE)
}

/// Fresh material for a reseed (hardware randomness when the CPU has it);
/// `None` when there is none to add.
pub type ReseedSource = fn() -> Option<[u8; 32]>;

struct Generator {
    rng: ChaCha20Rng,
    bytes_since_reseed: u64,
    last_reseed_ns: u64,
}

static RNG: Mutex<Option<Generator>> = Mutex::new(None);
static RESEED_SOURCE: Mutex<Option<ReseedSource>> = Mutex::new(None);

fn now_ns() -> u64 {
    framework::arch::tsc::monotonic_ns()
}

/// The new key: SHA-256 over a label, 32 bytes of the old stream (if any)
/// and every piece of `material` with its length.
fn mix(old: Option<&mut ChaCha20Rng>, material: &[&[u8]]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"umbra random v1");
    if let Some(rng) = old {
        let mut previous = [0u8; 32];
        rng.fill_bytes(&mut previous);
        hash.update(previous);
    }
    for piece in material {
        hash.update((piece.len() as u64).to_le_bytes());
        hash.update(piece);
    }
    hash.finalize().into()
}

/// Key the generator from `material`, or mix `material` into its key when
/// it already runs.
pub fn seed(material: &[&[u8]]) {
    let mut guard = RNG.lock();
    let key = mix(guard.as_mut().map(|g| &mut g.rng), material);
    *guard = Some(Generator { rng: ChaCha20Rng::from_seed(key), bytes_since_reseed: 0, last_reseed_ns: now_ns() });
}

/// Where periodic reseeds take their material from.
pub fn set_reseed_source(source: ReseedSource) {
    *RESEED_SOURCE.lock() = Some(source);
}

pub fn is_seeded() -> bool {
    RNG.lock().is_some()
}

/// Fill `buf` with random bytes; `EAGAIN` before the first [`seed`]
/// (as `getrandom(GRND_NONBLOCK)` before the pool is ready).
pub fn try_fill(buf: &mut [u8]) -> Result<()> {
    let source = *RESEED_SOURCE.lock();
    let mut guard = RNG.lock();
    let Some(generator) = guard.as_mut() else {
        return_errno_with_message!(EAGAIN, "random generator not seeded yet");
    };
    let now = now_ns();
    if generator.bytes_since_reseed >= RESEED_BYTES || now.wrapping_sub(generator.last_reseed_ns) >= RESEED_INTERVAL_NS {
        if let Some(fresh) = source.and_then(|source| source()) {
            let key = mix(Some(&mut generator.rng), &[&fresh]);
            generator.rng = ChaCha20Rng::from_seed(key);
        }
        generator.bytes_since_reseed = 0;
        generator.last_reseed_ns = now;
    }
    generator.rng.fill_bytes(buf);
    generator.bytes_since_reseed = generator.bytes_since_reseed.saturating_add(buf.len() as u64);
    // Fast key erasure: the key that produced `buf` is gone.
    let mut next = [0u8; 32];
    generator.rng.fill_bytes(&mut next);
    generator.rng = ChaCha20Rng::from_seed(next);
    Ok(())
}

/// Fill `buf` with random bytes, for `devfs::set_entropy_source`, which
/// the kernel installs only after seeding. Panics if unseeded: handing out
/// predictable bytes silently would be worse.
pub fn fill(buf: &mut [u8]) {
    if try_fill(buf).is_err() {
        panic!("random: read before the generator was seeded");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_output_differs_and_reseed_mixes() {
        seed(&[&[7; 32]]);
        let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
        fill(&mut a);
        fill(&mut b);
        assert_ne!(a, b);
        assert!(a.iter().any(|&x| x != 0));
        // Reseeding with the same material twice does not repeat output.
        seed(&[&[1; 32]]);
        fill(&mut a);
        seed(&[&[1; 32]]);
        fill(&mut b);
        assert_ne!(a, b);
        assert!(is_seeded());
    }

    #[test]
    fn getrandom_flags_as_linux() {
        for good in [0, GRND_NONBLOCK, GRND_RANDOM, GRND_INSECURE, GRND_NONBLOCK | GRND_RANDOM, GRND_NONBLOCK | GRND_INSECURE] {
            assert!(flags_valid(good), "{good:#x}");
        }
        for bad in [GRND_RANDOM | GRND_INSECURE, 0x8, 0x10, u32::MAX, 0x8000_0000] {
            assert!(!flags_valid(bad), "{bad:#x}");
        }
    }

    #[test]
    fn mixing_depends_on_every_piece_and_its_boundaries() {
        let k = |m: &[&[u8]]| mix(None, m);
        assert_ne!(k(&[b"ab", b"c"]), k(&[b"a", b"bc"]));
        assert_ne!(k(&[b"ab"]), k(&[b"ac"]));
        assert_eq!(k(&[b"ab"]), k(&[b"ab"]));
        // With a previous stream the key also depends on it.
        let mut one = ChaCha20Rng::from_seed([1; 32]);
        let mut two = ChaCha20Rng::from_seed([2; 32]);
        assert_ne!(mix(Some(&mut one), &[b"x"]), mix(Some(&mut two), &[b"x"]));
    }

    #[test]
    fn reseeds_from_the_source_after_enough_output() {
        fn source() -> Option<[u8; 32]> {
            SOURCE_CALLS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
            Some([9; 32])
        }
        static SOURCE_CALLS: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);
        seed(&[&[3; 32]]);
        set_reseed_source(source);
        let mut big = alloc::vec![0u8; RESEED_BYTES as usize];
        fill(&mut big);
        let mut small = [0u8; 16];
        fill(&mut small);
        assert!(SOURCE_CALLS.load(core::sync::atomic::Ordering::Relaxed) >= 1);
    }
}
