//! Port I/O. Only the framework owns ports: a [`Port`] is created by the
//! module that owns the device (the serial console, the exit device), never
//! handed to services with an arbitrary number.
//!
//! On TDX/SNP `in`/`out` would trap to the host through #VE/#VC; instead
//! the tee layer installs a [port-I/O hook](set_port_io_hook) at boot and
//! every access goes to the host as a TDVMCALL / GHCB IOIO call (as
//! Linux's paravirt port I/O does), which the TEE emulator also serves.

use super::hook::FnSlot;

/// One port access, as the [port-I/O hook](set_port_io_hook) sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortAccess {
    pub port: u16,
    /// 1, 2 or 4 bytes.
    pub size: u8,
    pub write: bool,
    /// The value to write, or (set by the hook) the value read, in the low
    /// `size` bytes.
    pub value: u32,
}

/// Performs a port access on the framework's behalf; returns false to let
/// the framework execute `in`/`out` itself. Runs in any context (traps,
/// the panic path): must not block or allocate.
pub type PortIoHook = fn(&mut PortAccess) -> bool;

static PORT_IO_HOOK: FnSlot<PortIoHook> = FnSlot::empty();

/// Route every port access through `hook` (the tee layer's, on TDX/SNP).
pub fn set_port_io_hook(hook: PortIoHook) -> Option<PortIoHook> {
    PORT_IO_HOOK.replace(Some(hook))
}

/// Give port access to the hook, if one is installed and takes it.
fn hooked(port: u16, size: u8, write: bool, value: u32) -> Option<u32> {
    let hook = PORT_IO_HOOK.get()?;
    let mut access = PortAccess { port, size, write, value };
    hook(&mut access).then_some(access.value)
}

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
        if hooked(self.0, 1, true, u32::from(value)).is_some() {
            return;
        }
        // SAFETY: `Port::new`'s contract: this port is harmless to access.
        unsafe { core::arch::asm!("out dx, al", in("dx") self.0, in("al") value, options(nomem, nostack)) }
    }

    pub fn write_u32(self, value: u32) {
        if hooked(self.0, 4, true, value).is_some() {
            return;
        }
        // SAFETY: as for `write_u8`.
        unsafe { core::arch::asm!("out dx, eax", in("dx") self.0, in("eax") value, options(nomem, nostack)) }
    }

    pub fn read_u8(self) -> u8 {
        if let Some(value) = hooked(self.0, 1, false, 0) {
            return value as u8;
        }
        let value: u8;
        // SAFETY: as for `write_u8`.
        unsafe { core::arch::asm!("in al, dx", in("dx") self.0, out("al") value, options(nomem, nostack)) }
        value
    }

    pub fn read_u32(self) -> u32 {
        if let Some(value) = hooked(self.0, 4, false, 0) {
            return value;
        }
        let value: u32;
        // SAFETY: as for `write_u8`.
        unsafe { core::arch::asm!("in eax, dx", in("dx") self.0, out("eax") value, options(nomem, nostack)) }
        value
    }
}
