//! The GHCB (Guest-Hypervisor Communication Block): one 4 KiB page per
//! CPU, shared with the hypervisor, through which the guest asks for what
//! it cannot do itself (port I/O, MSRs, CPUID, page state changes, guest
//! requests to the PSP).
//!
//! The page is host-writable at any time: it is only ever accessed with
//! volatile byte-offset reads and writes, never through a Rust reference
//! to its contents, and a register the guest reads back counts only when
//! the host marked it valid in the valid bitmap.
//!
//! Owns: the layout ([`layout`], pure) and, on the kernel target, the
//! per-CPU pages, their conversion to shared and registration (MSR
//! protocol), and [`with_ghcb`], the one way to use this CPU's GHCB.

/// Byte offsets in the GHCB (GHCB spec 56421, table "GHCB layout"; Linux
/// `struct ghcb_save_area`). A register's valid bit is its offset / 8.
pub mod layout {
    pub const RAX: usize = 0x1f8;
    pub const RCX: usize = 0x308;
    pub const RDX: usize = 0x310;
    pub const RBX: usize = 0x318;
    pub const SW_EXIT_CODE: usize = 0x390;
    pub const SW_EXIT_INFO_1: usize = 0x398;
    pub const SW_EXIT_INFO_2: usize = 0x3a0;
    pub const SW_SCRATCH: usize = 0x3a8;
    pub const XCR0: usize = 0x3e8;
    pub const VALID_BITMAP: usize = 0x3f0;
    pub const VALID_BITMAP_LEN: usize = 16;
    pub const SHARED_BUFFER: usize = 0x800;
    pub const SHARED_BUFFER_SIZE: usize = 2032;
    pub const PROTOCOL_VERSION: usize = 0xffa;
    pub const GHCB_USAGE: usize = 0xffc;
    pub const SIZE: usize = 4096;

    /// (byte in the valid bitmap, bit mask) of the field at `offset`.
    pub const fn valid_bit(offset: usize) -> (usize, u8) {
        (VALID_BITMAP + offset / 8 / 8, 1 << ((offset / 8) % 8))
    }
}

#[cfg(target_os = "none")]
pub use kernel::*;

#[cfg(target_os = "none")]
mod kernel {
    use core::cell::UnsafeCell;
    use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

    use framework::cpu_local::MAX_CPUS;

    use super::layout;
    use crate::platform::TeeError;
    use crate::snp::abi::msr_proto::PROTOCOL_VERSION;
    use crate::snp::{instr, msr_protocol, pvalidate};

    /// One GHCB-sized, page-aligned page.
    #[repr(C, align(4096))]
    pub struct Page(UnsafeCell<[u8; 4096]>);

    // SAFETY: the pages are only accessed through raw pointers with
    // volatile accesses by the CPU that owns them (with interrupts off),
    // and by the hypervisor; no reference to the contents is ever made.
    unsafe impl Sync for Page {}

    impl Page {
        const fn new() -> Self {
            Self(UnsafeCell::new([0; 4096]))
        }
        fn base(&self) -> *mut u8 {
            self.0.get().cast()
        }
    }

    /// The GHCB of each CPU (shared once set up) and a private copy of it
    /// for a nested use (an NMI or exception while the GHCB is in use).
    static GHCBS: [Page; MAX_CPUS] = [const { Page::new() }; MAX_CPUS];
    static BACKUPS: [Page; MAX_CPUS] = [const { Page::new() }; MAX_CPUS];
    /// Set once CPU n's GHCB is shared and registered.
    static READY: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
    /// Set while CPU n sets its GHCB up, and for good if that failed (a
    /// nested or later use then fails instead of converting the page
    /// twice, which would be fatal).
    static SETTING_UP: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];
    /// How deep CPU n's GHCB use is nested.
    static DEPTH: [AtomicU8; MAX_CPUS] = [const { AtomicU8::new(0) }; MAX_CPUS];

    /// Physical address of the kernel image's first byte (the GHCB pages
    /// live in its .bss). Set by [`set_kernel_phys`] before any use.
    static KERNEL_PHYS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

    /// Where the loader put the kernel (`BootInfo::kernel.start`): needed
    /// before mm knows it, to name the GHCB pages by GPA.
    pub fn set_kernel_phys(start: u64) {
        KERNEL_PHYS.store(start, Ordering::Relaxed);
    }

    /// GPA of a kernel-image address.
    pub fn image_gpa(vaddr: usize) -> u64 {
        (vaddr - framework::mm::kernel_space::KERNEL_BASE_VADDR) as u64 + KERNEL_PHYS.load(Ordering::Relaxed)
    }

    /// This CPU's GHCB, borrowed with interrupts off.
    pub struct Ghcb {
        base: *mut u8,
        gpa: u64,
    }

    impl Ghcb {
        fn write_u64(&self, offset: usize, value: u64) {
            // SAFETY: `offset + 8 <= 4096` for every caller (constants or
            // checked); the page is ours for the borrow; volatile because
            // the hypervisor shares it.
            unsafe { (self.base.add(offset) as *mut u64).write_volatile(value) }
        }
        fn read_u64(&self, offset: usize) -> u64 {
            // SAFETY: as in `write_u64`.
            unsafe { (self.base.add(offset) as *const u64).read_volatile() }
        }
        fn set_valid(&self, offset: usize) {
            let (byte, bit) = layout::valid_bit(offset);
            // SAFETY: inside the valid bitmap of our page.
            unsafe {
                let p = self.base.add(byte);
                p.write_volatile(p.read_volatile() | bit);
            }
        }
        fn is_valid(&self, offset: usize) -> bool {
            let (byte, bit) = layout::valid_bit(offset);
            // SAFETY: as above.
            unsafe { self.base.add(byte).read_volatile() & bit != 0 }
        }

        /// Zero the save area (valid bitmap included): nothing of an
        /// earlier call leaks into this one.
        pub fn clear(&self) {
            for offset in (0..layout::SHARED_BUFFER).step_by(8) {
                self.write_u64(offset, 0);
            }
        }

        /// Set a register field and mark it valid.
        pub fn set(&self, offset: usize, value: u64) {
            self.write_u64(offset, value);
            self.set_valid(offset);
        }

        /// A field the hypervisor returned, if it marked it valid.
        pub fn get(&self, offset: usize) -> Option<u64> {
            self.is_valid(offset).then(|| self.read_u64(offset))
        }

        /// SW_EXITINFO2, which the hypervisor always writes.
        pub fn exit_info_2(&self) -> u64 {
            self.read_u64(layout::SW_EXIT_INFO_2)
        }

        /// GPA of the shared buffer (for SW_SCRATCH).
        pub fn shared_buffer_gpa(&self) -> u64 {
            self.gpa + layout::SHARED_BUFFER as u64
        }

        /// Copy `bytes` into the shared buffer at `offset`.
        pub fn write_buffer(&self, offset: usize, bytes: &[u8]) -> Result<(), TeeError> {
            if offset.checked_add(bytes.len()).is_none_or(|end| end > layout::SHARED_BUFFER_SIZE) {
                return Err(TeeError::InvalidArgument("beyond the GHCB shared buffer"));
            }
            for (i, &byte) in bytes.iter().enumerate() {
                // SAFETY: inside the shared buffer (checked above).
                unsafe { self.base.add(layout::SHARED_BUFFER + offset + i).write_volatile(byte) };
            }
            Ok(())
        }

        /// Copy out of the shared buffer at `offset` (host-controlled
        /// bytes: validate after copying).
        pub fn read_buffer(&self, offset: usize, out: &mut [u8]) -> Result<(), TeeError> {
            if offset.checked_add(out.len()).is_none_or(|end| end > layout::SHARED_BUFFER_SIZE) {
                return Err(TeeError::InvalidArgument("beyond the GHCB shared buffer"));
            }
            for (i, byte) in out.iter_mut().enumerate() {
                // SAFETY: as in `write_buffer`.
                *byte = unsafe { self.base.add(layout::SHARED_BUFFER + offset + i).read_volatile() };
            }
            Ok(())
        }

        /// One non-automatic exit: the fields set so far plus the exit
        /// code and infos; Ok if the hypervisor reports success
        /// (SW_EXITINFO1[31:0] = 0).
        ///
        /// # Safety
        /// The request must not make the hypervisor write guest memory the
        /// caller does not own (everything it may write is shared).
        pub unsafe fn call(&self, exit_code: u64, info1: u64, info2: u64) -> Result<(), TeeError> {
            self.set(layout::SW_EXIT_CODE, exit_code);
            self.set(layout::SW_EXIT_INFO_1, info1);
            self.set(layout::SW_EXIT_INFO_2, info2);
            // SAFETY: inside our page.
            unsafe {
                (self.base.add(layout::PROTOCOL_VERSION) as *mut u16).write_volatile(PROTOCOL_VERSION as u16);
                (self.base.add(layout::GHCB_USAGE) as *mut u32).write_volatile(0);
            }
            // SAFETY: the MSR names our GHCB, which is shared and holds
            // only this request; forwarded to the caller for its effects.
            unsafe {
                instr::write_ghcb_msr(self.gpa);
                instr::vmgexit();
            }
            match self.read_u64(layout::SW_EXIT_INFO_1) as u32 {
                0 => Ok(()),
                _ => Err(TeeError::Host(self.read_u64(layout::SW_EXIT_INFO_1) & 0xffff_ffff)),
            }
        }
    }

    /// Convert CPU `cpu`'s GHCB page to shared and register it (MSR
    /// protocol: the GHCB cannot be used for its own set-up).
    fn set_up(cpu: usize) -> Result<(), TeeError> {
        let page = &GHCBS[cpu];
        let vaddr = page.base() as usize;
        let gpa = image_gpa(vaddr);
        // Private -> shared: rescind the validation, then the RMP change,
        // the order Linux uses (the page holds nothing yet).
        // SAFETY: the page is this CPU's GHCB, unused until READY.
        unsafe { pvalidate::pvalidate_or_terminate(vaddr as u64, gpa, 1, false) };
        msr_protocol::page_state_change(gpa, crate::snp::abi::PSC_OP_SHARED)?;
        msr_protocol::register_ghcb(gpa)?;
        Ok(())
    }

    /// Run `f` with this CPU's GHCB (cleared), interrupts off. A nested
    /// use (NMI, exception) saves the outer request in a private copy and
    /// puts it back afterwards, as Linux does.
    pub fn with_ghcb<R>(f: impl FnOnce(&Ghcb) -> R) -> Result<R, TeeError> {
        let _irq = framework::arch::irq::disable_local();
        let cpu = framework::cpu_local::this_cpu().index;
        if cpu >= MAX_CPUS {
            return Err(TeeError::InvalidArgument("CPU index"));
        }
        if !READY[cpu].load(Ordering::Acquire) {
            if SETTING_UP[cpu].swap(true, Ordering::AcqRel) {
                return Err(TeeError::Unsupported);
            }
            // A failed set-up is not retried (the page may be half
            // converted): this CPU's GHCB calls fail from then on.
            set_up(cpu)?;
            READY[cpu].store(true, Ordering::Release);
            SETTING_UP[cpu].store(false, Ordering::Release);
        }
        let page = &GHCBS[cpu];
        let ghcb = Ghcb { base: page.base(), gpa: image_gpa(page.base() as usize) };
        let nested = DEPTH[cpu].fetch_add(1, Ordering::Acquire) > 0;
        if nested {
            // SAFETY: both pages belong to this CPU, interrupts are off,
            // and the outer user waits for us; the copy is private memory.
            unsafe { core::ptr::copy_nonoverlapping(page.base(), BACKUPS[cpu].base(), layout::SIZE) };
        }
        ghcb.clear();
        let result = f(&ghcb);
        ghcb.clear();
        if nested {
            // SAFETY: as above, the other way round.
            unsafe { core::ptr::copy_nonoverlapping(BACKUPS[cpu].base(), page.base(), layout::SIZE) };
        }
        DEPTH[cpu].fetch_sub(1, Ordering::Release);
        Ok(result)
    }

    /// Can this CPU use its GHCB (set up, or settable: the kernel image
    /// location is known)? Before that only the MSR protocol works.
    pub fn ready() -> bool {
        KERNEL_PHYS.load(Ordering::Relaxed) != 0
    }

    /// GPA of CPU `cpu`'s GHCB (for tests and the emulator's checks).
    pub fn gpa_of(cpu: usize) -> Option<u64> {
        GHCBS.get(cpu).map(|page| image_gpa(page.base() as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::layout::*;

    #[test]
    fn valid_bits_match_linux() {
        // GHCB spec: RAX is qword 63 of the save area, RCX 97, RBX 99,
        // SW_EXITCODE 114, XCR0 125.
        assert_eq!(valid_bit(RAX), (VALID_BITMAP + 7, 1 << 7));
        assert_eq!(valid_bit(RCX), (VALID_BITMAP + 12, 1 << 1));
        assert_eq!(valid_bit(RBX), (VALID_BITMAP + 12, 1 << 3));
        assert_eq!(valid_bit(SW_EXIT_CODE), (VALID_BITMAP + 14, 1 << 2));
        assert_eq!(valid_bit(XCR0), (VALID_BITMAP + 15, 1 << 5));
        assert_eq!(SHARED_BUFFER + SHARED_BUFFER_SIZE, 0xff0);
    }
}
