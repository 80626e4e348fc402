//! Read-only access to control registers and RFLAGS, for trap handling and
//! reports. Writing them belongs to their owners (paging: the memory
//! manager; CR4 features: whoever enables them).

macro_rules! read_control_register {
    ($name:ident, $register:literal) => {
        #[doc = concat!("Read ", $register, ".")]
        pub fn $name() -> u64 {
            let value: u64;
            // SAFETY: reading a control register at CPL 0 has no effect.
            unsafe {
                core::arch::asm!(concat!("mov {}, ", $register), out(reg) value, options(nomem, nostack, preserves_flags))
            };
            value
        }
    };
}

read_control_register!(cr0, "cr0");
read_control_register!(cr2, "cr2");
read_control_register!(cr3, "cr3");
read_control_register!(cr4, "cr4");

/// RFLAGS.IF: maskable interrupts are enabled.
pub const RFLAGS_IF: u64 = 1 << 9;

/// Read RFLAGS.
pub fn rflags() -> u64 {
    let value: u64;
    // SAFETY: pushfq/pop only moves RFLAGS through the stack.
    unsafe { core::arch::asm!("pushfq", "pop {}", out(reg) value, options(nomem, preserves_flags)) };
    value
}

/// The current frame pointer (RBP).
#[inline(always)]
pub fn rbp() -> u64 {
    let value: u64;
    // SAFETY: copying a register has no effect.
    unsafe { core::arch::asm!("mov {}, rbp", out(reg) value, options(nomem, nostack, preserves_flags)) };
    value
}
