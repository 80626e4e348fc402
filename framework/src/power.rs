//! Ending the VM with a status the host can read.
//!
//! Protocol with the run front-end (frontend/src/status.rs):
//! - the kernel writes exactly one line to the status channel, QEMU's
//!   `isa-debugcon` on port 0xe9: `UMBRA-EXIT <n>\n` (n = 0..=255, the guest
//!   command's status) or `UMBRA-PANIC\n`;
//! - then writes 0 (exit) or 1 (panic) to QEMU's `isa-debug-exit` at port
//!   0xf4, which ends QEMU with status 1 or 3.
//!
//! Without those devices (a real TDX/SNP host) the writes go nowhere and the
//! CPU halts.

use crate::arch::port::Port;

// SAFETY: debugcon only records bytes on the host side.
const STATUS_CHANNEL: Port = unsafe { Port::new(0xe9) };
// SAFETY: isa-debug-exit only ends the VM.
const DEBUG_EXIT: Port = unsafe { Port::new(0xf4) };

fn write_status_line(line: &[u8]) {
    for &byte in line {
        STATUS_CHANNEL.write_u8(byte);
    }
}

fn stop() -> ! {
    loop {
        // SAFETY: clearing IF only stops interrupt delivery on this CPU.
        unsafe { core::arch::asm!("cli", options(nomem, nostack)) };
        crate::arch::halt();
    }
}

/// Power off, reporting `status` as the guest command's exit status.
pub fn exit(status: u8) -> ! {
    let mut digits = [0u8; 3];
    let mut first = digits.len();
    let mut rest = status;
    loop {
        first -= 1;
        digits[first] = b'0' + rest % 10;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    write_status_line(b"UMBRA-EXIT ");
    write_status_line(&digits[first..]);
    write_status_line(b"\n");
    DEBUG_EXIT.write_u32(0);
    stop()
}

/// Power off after a kernel panic.
#[cfg_attr(not(target_os = "none"), allow(dead_code))]
pub(crate) fn exit_panic() -> ! {
    write_status_line(b"UMBRA-PANIC\n");
    DEBUG_EXIT.write_u32(1);
    stop()
}
