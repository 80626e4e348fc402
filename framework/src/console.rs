//! The serial console: COM1 (16550 UART at 0x3f8), 115200 8N1.
//!
//! Output is polled (the UART FIFO is drained fast enough under QEMU and
//! keeps working in panic context); input is polled by the readers.

use crate::arch::port::Port;
use spin::Mutex;

const COM1: u16 = 0x3f8;
const LSR_DATA_READY: u8 = 1 << 0;
const LSR_THR_EMPTY: u8 = 1 << 5;

struct Uart {
    data: Port,
    interrupt_enable: Port,
    fifo_control: Port,
    line_control: Port,
    modem_control: Port,
    line_status: Port,
}

impl Uart {
    const fn com1() -> Self {
        // SAFETY: COM1's registers only move bytes in and out of the UART.
        unsafe {
            Self {
                data: Port::new(COM1),
                interrupt_enable: Port::new(COM1 + 1),
                fifo_control: Port::new(COM1 + 2),
                line_control: Port::new(COM1 + 3),
                modem_control: Port::new(COM1 + 4),
                line_status: Port::new(COM1 + 5),
            }
        }
    }

    fn init(&self) {
        self.interrupt_enable.write_u8(0x00);
        self.line_control.write_u8(0x80); // DLAB: divisor follows
        self.data.write_u8(0x01); // divisor 1 = 115200 baud
        self.interrupt_enable.write_u8(0x00);
        self.line_control.write_u8(0x03); // 8N1
        self.fifo_control.write_u8(0xc7); // FIFOs on, cleared, 14-byte threshold
        self.modem_control.write_u8(0x0b); // DTR, RTS, OUT2
    }

    fn write_byte(&self, byte: u8) {
        // Bounded wait: a missing or wedged UART must not hang the kernel.
        for _ in 0..100_000 {
            if self.line_status.read_u8() & LSR_THR_EMPTY != 0 {
                break;
            }
            crate::arch::spin_hint();
        }
        self.data.write_u8(byte);
    }

    fn try_read_byte(&self) -> Option<u8> {
        (self.line_status.read_u8() & LSR_DATA_READY != 0).then(|| self.data.read_u8())
    }
}

static CONSOLE: Mutex<Uart> = Mutex::new(Uart::com1());

/// Program the UART. Called once at boot.
pub fn init() {
    CONSOLE.lock().init();
}

/// Write bytes to the console, turning `\n` into `\r\n` as a terminal wants.
pub fn write_bytes(bytes: &[u8]) {
    // Interrupts off while the lock is held: an interrupt handler that logs
    // must not spin on a lock its own CPU holds.
    let _irq = crate::arch::irq::disable_local();
    let uart = CONSOLE.lock();
    for &byte in bytes {
        if byte == b'\n' {
            uart.write_byte(b'\r');
        }
        uart.write_byte(byte);
    }
}

/// Write bytes exactly as given (no newline translation).
pub fn write_raw(bytes: &[u8]) {
    let _irq = crate::arch::irq::disable_local();
    let uart = CONSOLE.lock();
    for &byte in bytes {
        uart.write_byte(byte);
    }
}

/// A byte from the console, if one is waiting.
pub fn try_read_byte() -> Option<u8> {
    let _irq = crate::arch::irq::disable_local();
    CONSOLE.lock().try_read_byte()
}

/// Is the console lock held (by any CPU)? For NMI handlers, which cannot
/// be masked and must not wait for a lock the interrupted code may hold.
pub(crate) fn is_busy() -> bool {
    CONSOLE.is_locked()
}

/// Wait for a byte from the console.
pub fn read_byte() -> u8 {
    loop {
        if let Some(byte) = try_read_byte() {
            return byte;
        }
        crate::arch::spin_hint();
    }
}

/// Take the console even if a panicking CPU held its lock.
pub(crate) fn force_unlock() {
    if CONSOLE.is_locked() {
        // SAFETY: only used by the panic path, after which nothing else runs
        // on this (single) CPU; the UART state stays consistent byte by byte.
        unsafe { CONSOLE.force_unlock() };
    }
}

/// `core::fmt` adapter for the console.
pub struct ConsoleWriter;

impl core::fmt::Write for ConsoleWriter {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        write_bytes(s.as_bytes());
        Ok(())
    }
}

/// Print to the console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        let _ = ::core::fmt::Write::write_fmt(&mut $crate::console::ConsoleWriter, format_args!($($arg)*));
    }};
}

/// Print a line to the console.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {{
        $crate::print!("{}\n", format_args!($($arg)*));
    }};
}
