//! Native instructions the platforms need where no host is in between:
//! port I/O and MSR accesses that turn a #GP into an error instead of a
//! kernel crash (exception-fixup table). Used by the "none" platform, SNP
//! detection and the TEE emulator's host side.
//!
//! Owns: those few `asm!` blocks. Must never: be used for a port or MSR on
//! TDX/SNP, where they would trap to the host (#VE/#VC).

use crate::platform::IoSize;

/// `in` of `size` bytes from `port`.
///
/// # Safety
/// Reading the port must not break memory safety (see
/// `framework::arch::port::Port::new`).
pub unsafe fn port_in(port: u16, size: IoSize) -> u32 {
    let value: u32;
    // SAFETY: forwarded to the caller; `in` touches only the named registers.
    unsafe {
        match size {
            IoSize::Byte => {
                let byte: u8;
                core::arch::asm!("in al, dx", in("dx") port, out("al") byte, options(nomem, nostack, preserves_flags));
                value = u32::from(byte);
            }
            IoSize::Word => {
                let word: u16;
                core::arch::asm!("in ax, dx", in("dx") port, out("ax") word, options(nomem, nostack, preserves_flags));
                value = u32::from(word);
            }
            IoSize::Dword => {
                core::arch::asm!("in eax, dx", in("dx") port, out("eax") value, options(nomem, nostack, preserves_flags));
            }
        }
    }
    value
}

/// `out` of the low `size` bytes of `value` to `port`.
///
/// # Safety
/// As for [`port_in`].
pub unsafe fn port_out(port: u16, size: IoSize, value: u32) {
    // SAFETY: forwarded to the caller.
    unsafe {
        match size {
            IoSize::Byte => {
                core::arch::asm!("out dx, al", in("dx") port, in("al") value as u8, options(nomem, nostack, preserves_flags))
            }
            IoSize::Word => {
                core::arch::asm!("out dx, ax", in("dx") port, in("ax") value as u16, options(nomem, nostack, preserves_flags))
            }
            IoSize::Dword => {
                core::arch::asm!("out dx, eax", in("dx") port, in("eax") value, options(nomem, nostack, preserves_flags))
            }
        }
    }
}

/// `rdmsr`, or `None` if the CPU raised #GP (no such MSR).
///
/// # Safety
/// Reading `msr` must have no side effect the kernel relies on not
/// happening.
pub unsafe fn rdmsr_checked(msr: u32) -> Option<u64> {
    let (low, high): (u32, u32);
    let failed: u32;
    // SAFETY: forwarded to the caller; a #GP at label 2 continues at label
    // 3 through the fixup table with all registers as they were.
    unsafe {
        core::arch::asm!(
            "xor {failed:e}, {failed:e}",
            "2: rdmsr",
            "jmp 4f",
            "3: mov {failed:e}, 1",
            "xor eax, eax",
            "xor edx, edx",
            "4:",
            framework::ex_table_entry!("2b", "3b"),
            failed = out(reg) failed,
            in("ecx") msr,
            out("eax") low,
            out("edx") high,
            options(nomem, nostack),
        );
    }
    (failed == 0).then_some((u64::from(high) << 32) | u64::from(low))
}

/// `wrmsr`; false if the CPU raised #GP.
///
/// # Safety
/// The MSR must exist or fault, and `value` must keep every invariant the
/// kernel relies on.
pub unsafe fn wrmsr_checked(msr: u32, value: u64) -> bool {
    let failed: u32;
    // SAFETY: forwarded to the caller; the fixup as in `rdmsr_checked`.
    unsafe {
        core::arch::asm!(
            "xor {failed:e}, {failed:e}",
            "2: wrmsr",
            "jmp 4f",
            "3: mov {failed:e}, 1",
            "4:",
            framework::ex_table_entry!("2b", "3b"),
            failed = out(reg) failed,
            in("ecx") msr,
            in("eax") value as u32,
            in("edx") (value >> 32) as u32,
            options(nostack),
        );
    }
    failed == 0
}
