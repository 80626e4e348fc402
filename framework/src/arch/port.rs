//! Port I/O. Only the framework owns ports: a [`Port`] is created by the
//! module that owns the device (the serial console, the exit device), never
//! handed to services with an arbitrary number.
//!
//! On TDX/SNP these accessors will go through the tee layer (TDVMCALL /
//! GHCB IOIO) instead of `in`/`out`.

/// An I/O port whose owner has checked that accessing it has no effect on
/// memory safety (true for the legacy devices the framework drives).
#[derive(Clone, Copy, Debug)]
pub struct Port(u16);

impl Port {
    /// # Safety
    /// Reading or writing `port` must not break memory safety (e.g. it must
    /// not program a DMA engine).
    pub const unsafe fn new(port: u16) -> Self {
        Self(port)
    }

    pub fn write_u8(self, value: u8) {
        // SAFETY: `Port::new`'s contract: this port is harmless to access.
        unsafe { core::arch::asm!("out dx, al", in("dx") self.0, in("al") value, options(nomem, nostack)) }
    }

    pub fn write_u32(self, value: u32) {
        // SAFETY: as for `write_u8`.
        unsafe { core::arch::asm!("out dx, eax", in("dx") self.0, in("eax") value, options(nomem, nostack)) }
    }

    pub fn read_u8(self) -> u8 {
        let value: u8;
        // SAFETY: as for `write_u8`.
        unsafe { core::arch::asm!("in al, dx", in("dx") self.0, out("al") value, options(nomem, nostack)) }
        value
    }
}
