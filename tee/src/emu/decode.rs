//! Recognising TDCALL at the #UD's RIP. QEMU TCG raises #UD for
//! `66 0F 01 CC` (and `ud2`, which [`super::ve`] arms to raise a
//! synthetic #VE); nothing else is emulated here (VMGEXIT / PVALIDATE come
//! with the SNP emulator).
//!
//! Owns: reading the instruction bytes without faulting (the RIP could be
//! anywhere in kernel space).

use framework::arch::extable::probe_read_u64;

/// TDCALL's encoding and length.
pub const TDCALL: [u8; 4] = [0x66, 0x0f, 0x01, 0xcc];
pub const TDCALL_LEN: u64 = 4;

/// The `N` (at most 8) bytes at `rip`, read with aligned 8-byte probes
/// (a fault gives `None`).
pub fn bytes<const N: usize>(rip: u64) -> Option<[u8; N]> {
    let base = rip & !7;
    let offset = (rip - base) as usize;
    let mut window = [0u8; 16];
    window[..8].copy_from_slice(&probe_read_u64(base).ok()?.to_le_bytes());
    if offset + N > 8 {
        window[8..].copy_from_slice(&probe_read_u64(base.checked_add(8)?).ok()?.to_le_bytes());
    }
    window.get(offset..offset + N)?.try_into().ok()
}

/// Is the instruction at `rip` a TDCALL?
pub fn is_tdcall(rip: u64) -> bool {
    bytes::<4>(rip) == Some(TDCALL)
}
