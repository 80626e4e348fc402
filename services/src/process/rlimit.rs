//! Resource limits (`getrlimit`/`setrlimit`/`prlimit64`) with Linux's
//! numbers and the defaults a Linux init process starts with.
//!
//! Owns: the table and its rules (soft <= hard, only root raises a hard
//! limit). Enforcement lives with each resource (the fd table applies
//! `RLIMIT_NOFILE`, exec uses `RLIMIT_STACK`, brk `RLIMIT_DATA`).

use crate::error::Result;
use crate::return_errno_with_message;

pub const RLIMIT_CPU: u32 = 0;
pub const RLIMIT_FSIZE: u32 = 1;
pub const RLIMIT_DATA: u32 = 2;
pub const RLIMIT_STACK: u32 = 3;
pub const RLIMIT_CORE: u32 = 4;
pub const RLIMIT_RSS: u32 = 5;
pub const RLIMIT_NPROC: u32 = 6;
pub const RLIMIT_NOFILE: u32 = 7;
pub const RLIMIT_MEMLOCK: u32 = 8;
pub const RLIMIT_AS: u32 = 9;
pub const RLIMIT_LOCKS: u32 = 10;
pub const RLIMIT_SIGPENDING: u32 = 11;
pub const RLIMIT_MSGQUEUE: u32 = 12;
pub const RLIMIT_NICE: u32 = 13;
pub const RLIMIT_RTPRIO: u32 = 14;
pub const RLIMIT_RTTIME: u32 = 15;
pub const RLIM_NLIMITS: u32 = 16;
pub const RLIM_INFINITY: u64 = u64::MAX;

/// One limit: soft (`rlim_cur`) and hard (`rlim_max`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rlimit {
    pub soft: u64,
    pub hard: u64,
}

impl Rlimit {
    pub const fn new(soft: u64, hard: u64) -> Self {
        Rlimit { soft, hard }
    }

    pub fn to_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.soft.to_le_bytes());
        b[8..].copy_from_slice(&self.hard.to_le_bytes());
        b
    }

    pub fn from_bytes(b: &[u8; 16]) -> Self {
        let (soft, hard) = b.split_at(8);
        Rlimit {
            soft: u64::from_le_bytes(soft.try_into().unwrap_or([0; 8])),
            hard: u64::from_le_bytes(hard.try_into().unwrap_or([0; 8])),
        }
    }
}

/// All limits of a process (inherited by fork and kept by exec).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceLimits([Rlimit; RLIM_NLIMITS as usize]);

impl Default for ResourceLimits {
    /// Linux's `INIT_RLIMITS` for x86-64 (with the usual 8 MiB stack,
    /// nofile 1024/4096, memlock 8 MiB, and `RLIMIT_NPROC`/`SIGPENDING`
    /// sized for a small VM).
    fn default() -> Self {
        let inf = Rlimit::new(RLIM_INFINITY, RLIM_INFINITY);
        let mut limits = [inf; RLIM_NLIMITS as usize];
        limits[RLIMIT_STACK as usize] = Rlimit::new(8 << 20, RLIM_INFINITY);
        limits[RLIMIT_CORE as usize] = Rlimit::new(0, RLIM_INFINITY);
        limits[RLIMIT_NPROC as usize] = Rlimit::new(3903, 3903);
        limits[RLIMIT_NOFILE as usize] = Rlimit::new(1024, 4096);
        limits[RLIMIT_MEMLOCK as usize] = Rlimit::new(8 << 20, 8 << 20);
        limits[RLIMIT_SIGPENDING as usize] = Rlimit::new(3903, 3903);
        limits[RLIMIT_MSGQUEUE as usize] = Rlimit::new(819_200, 819_200);
        limits[RLIMIT_NICE as usize] = Rlimit::new(0, 0);
        limits[RLIMIT_RTPRIO as usize] = Rlimit::new(0, 0);
        ResourceLimits(limits)
    }
}

impl ResourceLimits {
    fn index(resource: u32) -> Result<usize> {
        if resource >= RLIM_NLIMITS {
            return_errno_with_message!(EINVAL, "unknown resource");
        }
        Ok(resource as usize)
    }

    pub fn get(&self, resource: u32) -> Result<Rlimit> {
        Ok(self.0[Self::index(resource)?])
    }

    /// The soft limit of a known resource.
    pub fn soft(&self, resource: u32) -> u64 {
        self.0.get(resource as usize).map_or(RLIM_INFINITY, |l| l.soft)
    }

    /// `setrlimit`: EINVAL when soft > hard, EPERM when raising the hard
    /// limit without privilege. Returns the old value.
    pub fn set(&mut self, resource: u32, new: Rlimit, privileged: bool) -> Result<Rlimit> {
        let i = Self::index(resource)?;
        if new.soft > new.hard {
            return_errno_with_message!(EINVAL, "soft limit above hard limit");
        }
        let old = self.0[i];
        if new.hard > old.hard && !privileged {
            return_errno_with_message!(EPERM, "raising a hard limit needs CAP_SYS_RESOURCE");
        }
        if resource == RLIMIT_NOFILE && new.hard > u64::from(crate::fs::fd_table::NR_OPEN) {
            return_errno_with_message!(EPERM, "RLIMIT_NOFILE above nr_open");
        }
        self.0[i] = new;
        Ok(old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_rules() {
        let mut l = ResourceLimits::default();
        assert_eq!(l.get(RLIMIT_STACK).unwrap(), Rlimit::new(8 << 20, RLIM_INFINITY));
        assert_eq!(l.soft(RLIMIT_NOFILE), 1024);
        assert!(l.get(16).is_err());
        assert_eq!(l.set(RLIMIT_NOFILE, Rlimit::new(10, 5), true).unwrap_err().errno(), crate::error::Errno::EINVAL);
        assert_eq!(
            l.set(RLIMIT_NOFILE, Rlimit::new(10, 5000), false).unwrap_err().errno(),
            crate::error::Errno::EPERM
        );
        l.set(RLIMIT_NOFILE, Rlimit::new(10, 20), false).unwrap();
        assert_eq!(l.soft(RLIMIT_NOFILE), 10);
        let r = Rlimit::new(1, 2);
        assert_eq!(Rlimit::from_bytes(&r.to_bytes()), r);
    }
}
