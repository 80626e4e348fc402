//! The kernel's random-number generator: what `getrandom(2)`,
//! `/dev/urandom` and the exec-time `AT_RANDOM` bytes read.
//!
//! Owns: one ChaCha20 stream keyed from a 32-byte seed the kernel supplies
//! ([`seed`]); reseeding mixes the new seed into the key instead of
//! replacing it, so a weak later seed cannot undo a strong earlier one.
//!
//! INTERIM: the target design keys it from RDSEED/RDRAND (through a
//! framework entropy API that does not exist yet); today the kernel seeds
//! it from TSC readings, which are guessable. Nothing security-relevant
//! (attestation nonces, keys) may rely on it until that lands.
//!
//! Must never: hand out bytes before it was seeded (callers get an error,
//! never zeros).

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::error::Result;
use crate::return_errno_with_message;
use crate::sync::Mutex;

static RNG: Mutex<Option<ChaCha20Rng>> = Mutex::new(None);

/// Key the generator, or mix `material` into its key when it already
/// runs: new key = old output XOR `material`.
pub fn seed(material: [u8; 32]) {
    let mut rng = RNG.lock();
    let key = match rng.as_mut() {
        Some(current) => {
            let mut key = [0u8; 32];
            current.fill_bytes(&mut key);
            for (k, m) in key.iter_mut().zip(material) {
                *k ^= m;
            }
            key
        }
        None => material,
    };
    *rng = Some(ChaCha20Rng::from_seed(key));
}

pub fn is_seeded() -> bool {
    RNG.lock().is_some()
}

/// Fill `buf` with random bytes; `EAGAIN` before the first [`seed`]
/// (as `getrandom(GRND_NONBLOCK)` before the pool is ready).
pub fn try_fill(buf: &mut [u8]) -> Result<()> {
    match RNG.lock().as_mut() {
        Some(rng) => {
            rng.fill_bytes(buf);
            Ok(())
        }
        None => return_errno_with_message!(EAGAIN, "random generator not seeded yet"),
    }
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
        seed([7; 32]);
        let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
        fill(&mut a);
        fill(&mut b);
        assert_ne!(a, b);
        assert!(a.iter().any(|&x| x != 0));
        // Reseeding with the same material twice does not repeat output.
        seed([1; 32]);
        fill(&mut a);
        seed([1; 32]);
        fill(&mut b);
        assert_ne!(a, b);
        assert!(is_seeded());
    }
}
