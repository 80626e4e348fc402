//! The panic handler: message and location on the console, then a failure
//! status to the host (or the failing test reported, inside `ktest`).

use core::panic::PanicInfo;

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    // SAFETY: clearing IF only stops interrupt delivery on this CPU.
    unsafe { core::arch::asm!("cli", options(nomem, nostack)) };
    crate::console::force_unlock();
    if crate::ktest::fail_current(info) {
        crate::power::exit(1);
    }
    crate::println!("\nkernel panic: {}", info.message());
    if let Some(location) = info.location() {
        crate::println!("  at {}:{}:{}", location.file(), location.line(), location.column());
    }
    crate::arch::backtrace::print_current();
    crate::power::exit_panic()
}
