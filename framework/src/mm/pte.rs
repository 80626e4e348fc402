//! x86-64 page-table entries (4-level paging) and the access rights the
//! rest of the kernel speaks in ([`Perms`]).
//!
//! Owns: the bit layout of an entry, including the software bits the
//! framework keeps in the "available" bits 9-11:
//! - [`Pte::SW_WRITE`]: the mapping is writable as far as its owner is
//!   concerned. The hardware W bit is set only when writing is also safe
//!   right now: a private page whose frame is shared (after fork) is
//!   copy-on-write, so W stays clear until the fault handler copies it.
//! - [`Pte::SW_SHARED`]: a shared mapping (writes go to the one frame
//!   everybody maps; fork does not make it copy-on-write).
//! - [`Pte::SW_EXEC`]: executable as far as the owner is concerned (the
//!   NX bit says the same, except on a CPU without NX, where nothing can
//!   be made non-executable).
//!
//! Pure logic: unit-tested on the host.

use core::ops::{BitOr, BitOrAssign};

/// Access rights of a user mapping. Readable is implied by being mapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Perms(u8);

impl Perms {
    pub const READ: Perms = Perms(0);
    pub const WRITE: Perms = Perms(1 << 0);
    pub const EXEC: Perms = Perms(1 << 1);
    /// A shared mapping (MAP_SHARED): fork keeps writes going to one frame.
    pub const SHARED: Perms = Perms(1 << 2);
    pub const RW: Perms = Perms(Self::WRITE.0);
    pub const RX: Perms = Perms(Self::EXEC.0);
    pub const RWX: Perms = Perms(Self::WRITE.0 | Self::EXEC.0);

    pub const fn contains(self, other: Perms) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn without(self, other: Perms) -> Perms {
        Perms(self.0 & !other.0)
    }
}

impl BitOr for Perms {
    type Output = Perms;
    fn bitor(self, rhs: Perms) -> Perms {
        Perms(self.0 | rhs.0)
    }
}

impl BitOrAssign for Perms {
    fn bitor_assign(&mut self, rhs: Perms) {
        self.0 |= rhs.0;
    }
}

/// One 64-bit page-table entry.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Pte(pub u64);

impl Pte {
    pub const PRESENT: u64 = 1 << 0;
    pub const WRITABLE: u64 = 1 << 1;
    pub const USER: u64 = 1 << 2;
    pub const ACCESSED: u64 = 1 << 5;
    pub const DIRTY: u64 = 1 << 6;
    /// In a PDPT or PD entry: maps a 1 GiB or 2 MiB page.
    pub const HUGE: u64 = 1 << 7;
    pub const GLOBAL: u64 = 1 << 8;
    pub const SW_WRITE: u64 = 1 << 9;
    pub const SW_SHARED: u64 = 1 << 10;
    pub const SW_EXEC: u64 = 1 << 11;
    pub const NO_EXECUTE: u64 = 1 << 63;
    /// Physical address bits of a 4 KiB page or a table.
    pub const ADDR_MASK: u64 = 0x000f_ffff_ffff_f000;

    pub const fn empty() -> Self {
        Pte(0)
    }
    pub const fn is_present(self) -> bool {
        self.0 & Self::PRESENT != 0
    }
    pub const fn is_huge(self) -> bool {
        self.0 & Self::HUGE != 0
    }
    pub const fn is_writable(self) -> bool {
        self.0 & Self::WRITABLE != 0
    }
    pub const fn is_user(self) -> bool {
        self.0 & Self::USER != 0
    }
    pub const fn is_executable(self) -> bool {
        self.0 & Self::NO_EXECUTE == 0
    }
    /// The frame or table this entry points to.
    pub const fn paddr(self) -> u64 {
        self.0 & Self::ADDR_MASK
    }
    pub const fn flags(self) -> u64 {
        self.0 & !Self::ADDR_MASK
    }

    /// An entry pointing at a lower-level table of a user address space:
    /// rights are decided at the leaf, so the table allows everything.
    pub const fn user_table(table: u64) -> Self {
        Pte((table & Self::ADDR_MASK) | Self::PRESENT | Self::WRITABLE | Self::USER)
    }

    /// A 4 KiB user leaf for `frame` with `perms`. `exclusive` says whether
    /// nobody else holds the frame (so a private writable page may be
    /// writable in hardware now). `nx` is the no-execute bit to use (0 when
    /// the CPU has none).
    pub const fn user_leaf(frame: u64, perms: Perms, exclusive: bool, nx: u64) -> Self {
        let mut bits = (frame & Self::ADDR_MASK) | Self::PRESENT | Self::USER;
        bits |= Self::leaf_rights(perms, exclusive, nx);
        Pte(bits)
    }

    /// Rights bits (hardware and software) for a user leaf.
    const fn leaf_rights(perms: Perms, exclusive: bool, nx: u64) -> u64 {
        let mut bits = 0;
        if perms.contains(Perms::SHARED) {
            bits |= Self::SW_SHARED;
        }
        if perms.contains(Perms::WRITE) {
            bits |= Self::SW_WRITE;
            if exclusive || perms.contains(Perms::SHARED) {
                bits |= Self::WRITABLE;
            }
        }
        if perms.contains(Perms::EXEC) {
            bits |= Self::SW_EXEC;
        } else {
            bits |= nx;
        }
        bits
    }

    /// This user leaf with its rights replaced.
    pub const fn with_rights(self, perms: Perms, exclusive: bool, nx: u64) -> Self {
        let keep = self.0 & !(Self::WRITABLE | Self::SW_WRITE | Self::SW_SHARED | Self::SW_EXEC | Self::NO_EXECUTE);
        Pte(keep | Self::leaf_rights(perms, exclusive, nx))
    }

    /// The rights of a user leaf as its owner sees them.
    pub const fn perms(self) -> Perms {
        let mut perms = Perms::READ;
        if self.0 & Self::SW_WRITE != 0 {
            perms = Perms(perms.0 | Perms::WRITE.0);
        }
        if self.0 & Self::SW_EXEC != 0 {
            perms = Perms(perms.0 | Perms::EXEC.0);
        }
        if self.0 & Self::SW_SHARED != 0 {
            perms = Perms(perms.0 | Perms::SHARED.0);
        }
        perms
    }

    /// Writable for its owner but not in hardware: the next write faults
    /// and is resolved by copying (or by taking the frame when it is no
    /// longer shared).
    pub const fn is_copy_on_write(self) -> bool {
        self.is_present() && self.0 & Self::SW_WRITE != 0 && self.0 & Self::WRITABLE == 0
    }
}

impl core::fmt::Debug for Pte {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Pte({:#x})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NX: u64 = Pte::NO_EXECUTE;

    #[test]
    fn private_writable_page_is_writable_only_when_exclusive() {
        let pte = Pte::user_leaf(0x1234_5000, Perms::RW, true, NX);
        assert!(pte.is_present() && pte.is_user() && pte.is_writable() && !pte.is_executable());
        assert_eq!(pte.paddr(), 0x1234_5000);
        assert_eq!(pte.perms(), Perms::RW);
        assert!(!pte.is_copy_on_write());
        let shared = Pte::user_leaf(0x1234_5000, Perms::RW, false, NX);
        assert!(!shared.is_writable());
        assert!(shared.is_copy_on_write());
        assert_eq!(shared.perms(), Perms::RW);
    }

    #[test]
    fn shared_mappings_stay_writable() {
        let pte = Pte::user_leaf(0x1000, Perms::RW | Perms::SHARED, false, NX);
        assert!(pte.is_writable());
        assert!(!pte.is_copy_on_write());
        assert_eq!(pte.perms(), Perms::RW | Perms::SHARED);
    }

    #[test]
    fn rights_change_keeps_address_and_hardware_bits() {
        let pte = Pte(Pte::user_leaf(0x7000, Perms::RWX, true, NX).0 | Pte::ACCESSED | Pte::DIRTY);
        let ro = pte.with_rights(Perms::READ, true, NX);
        assert_eq!(ro.paddr(), 0x7000);
        assert!(!ro.is_writable() && !ro.is_executable() && ro.is_user());
        assert_eq!(ro.0 & (Pte::ACCESSED | Pte::DIRTY), Pte::ACCESSED | Pte::DIRTY);
        assert_eq!(ro.perms(), Perms::READ);
        // Without NX support, nothing sets bit 63.
        let no_nx = pte.with_rights(Perms::READ, true, 0);
        assert!(no_nx.is_executable());
        assert_eq!(no_nx.perms(), Perms::READ);
        assert_eq!(no_nx.with_rights(Perms::RX, true, 0).perms(), Perms::RX);
    }
}
