//! The exception-fixup table (Linux's `__ex_table`): pairs of (address of
//! an instruction that may fault, address to continue at instead). When a
//! #PF (after the page-fault hook declined) or a #GP hits in kernel mode at
//! a listed instruction, the trap handler moves RIP to the fixup address
//! instead of panicking; all other registers are as at the fault. This is
//! how user-memory copies return EFAULT instead of crashing the kernel.
//!
//! Add an entry from `asm!`/`global_asm!` with [`ex_table_entry!`]:
//!
//! ```ignore
//! asm!(
//!     "2: rep movsb",
//!     ex_table_entry!("2b", "3f"),
//!     ...
//! ```
//!
//! The section is `__ex_table` (a C identifier, so the linker provides
//! `__start___ex_table`/`__stop___ex_table` without a linker-script rule);
//! entries are retained (`R` flag) even under `--gc-sections`. The table is
//! small and unsorted; lookup is a linear scan of a fault path.
//!
//! Also owns [`probe_read_u64`], the first user of the table.

/// An `.pushsection __ex_table` fragment for `asm!`: `$insn` may fault,
/// continue at `$fixup` (assembler label expressions such as `"2b"`).
#[macro_export]
macro_rules! ex_table_entry {
    ($insn:literal, $fixup:literal) => {
        concat!(
            ".pushsection __ex_table, \"aR\"\n",
            ".balign 8\n",
            ".quad ", $insn, ", ", $fixup, "\n",
            ".popsection\n"
        )
    };
}

/// One table entry (as `ex_table_entry!` lays it out).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
struct ExTableEntry {
    instruction: u64,
    fixup: u64,
}

#[cfg(target_os = "none")]
fn table() -> &'static [ExTableEntry] {
    extern "C" {
        static __start___ex_table: ExTableEntry;
        static __stop___ex_table: ExTableEntry;
    }
    // SAFETY: the linker defines both symbols around the `__ex_table`
    // output section, which holds only 16-byte, 8-aligned entries written
    // by `ex_table_entry!`; the section is never written at run time.
    unsafe {
        let start = core::ptr::addr_of!(__start___ex_table);
        let end = core::ptr::addr_of!(__stop___ex_table);
        let count = (end as usize - start as usize) / core::mem::size_of::<ExTableEntry>();
        core::slice::from_raw_parts(start, count)
    }
}

#[cfg(not(target_os = "none"))]
fn table() -> &'static [ExTableEntry] {
    &[]
}

/// Where to continue after a fault at `rip`, if `rip` is a listed
/// instruction.
pub fn fixup_for(rip: u64) -> Option<u64> {
    table().iter().find(|entry| entry.instruction == rip).map(|entry| entry.fixup)
}

/// Number of entries (for the boot log and tests).
pub fn len() -> usize {
    table().len()
}

/// A kernel-mode access faulted (#PF not resolved by the page-fault hook,
/// or #GP, e.g. a non-canonical address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault;

impl core::fmt::Display for Fault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("bad address")
    }
}

/// Read 8 bytes at virtual address `addr`, or `Err(Fault)` if the read
/// faults (unmapped, non-canonical, reserved bits...). Never faults the
/// kernel. Misaligned addresses are allowed (a read across a page boundary
/// fails if either page is bad).
///
/// The value read is a snapshot of whatever is there: use it for
/// diagnostics (backtraces, canaries), never as a reference into memory.
/// A read of an MMIO mapping has that device's read side effects; the
/// boot identity map still maps low MMIO, the kernel's own page tables
/// map MMIO only for the drivers that own it.
pub fn probe_read_u64(addr: u64) -> Result<u64, Fault> {
    let value: u64;
    let failed: u32;
    // SAFETY: one 8-byte read whose result is an integer, never a reference, so it cannot break aliasing or validity;
    // if it faults, the trap handler finds the ex_table entry and continues at label 3, which reports the failure
    // with all other registers intact.
    unsafe {
        core::arch::asm!(
            "xor {failed:e}, {failed:e}",
            "2: mov {value}, qword ptr [{addr}]",
            "jmp 4f",
            "3: mov {failed:e}, 1",
            "xor {value:e}, {value:e}",
            "4:",
            crate::ex_table_entry!("2b", "3b"),
            addr = in(reg) addr,
            value = out(reg) value,
            failed = out(reg) failed,
            options(nostack, readonly),
        );
    }
    if failed == 0 {
        Ok(value)
    } else {
        Err(Fault)
    }
}

mod tests {
    use super::*;
    use crate::ktest;

    /// A kernel address no page table maps: PML4 slot 511, PDPT slot 509,
    /// just below the kernel image window at 0xffffffff80000000 (the boot
    /// tables map only PDPT slot 510 there; the kernel tables will keep it
    /// a hole).
    pub(crate) const UNMAPPED_KERNEL_ADDRESS: u64 = 0xffff_ffff_7fff_f000;
    /// Not canonical: a read raises #GP, not #PF.
    pub(crate) const NON_CANONICAL_ADDRESS: u64 = 0x8000_0000_0000_0000;

    static PATTERN: u64 = 0x0123_4567_89ab_cdef;

    #[ktest]
    fn table_has_the_probe_entry() {
        assert!(len() >= 1, "__ex_table is empty: entries were dropped by the linker");
        assert!(fixup_for(0).is_none());
        for entry in table() {
            assert!(entry.instruction >= 0xffff_ffff_8000_0000, "{:x?}", entry);
            assert!(entry.fixup >= 0xffff_ffff_8000_0000, "{:x?}", entry);
        }
    }

    #[ktest]
    fn probe_reads_mapped_memory() {
        let addr = core::ptr::addr_of!(PATTERN) as u64;
        assert_eq!(probe_read_u64(addr), Ok(0x0123_4567_89ab_cdef));
        // Misaligned read inside mapped memory.
        assert_eq!(probe_read_u64(addr + 1).map(|v| v & 0xff), Ok(0xcd));
    }

    #[ktest]
    fn probe_fails_cleanly_on_unmapped_and_non_canonical_addresses() {
        use crate::arch::trap::{fixup_count, GENERAL_PROTECTION, PAGE_FAULT};
        let pf_before = fixup_count(PAGE_FAULT);
        assert_eq!(probe_read_u64(UNMAPPED_KERNEL_ADDRESS), Err(Fault));
        assert_eq!(fixup_count(PAGE_FAULT), pf_before + 1, "the #PF went through the fixup");
        let gp_before = fixup_count(GENERAL_PROTECTION);
        assert_eq!(probe_read_u64(NON_CANONICAL_ADDRESS), Err(Fault));
        assert_eq!(fixup_count(GENERAL_PROTECTION), gp_before + 1, "the #GP went through the fixup");
        // A user-half address: unmapped under the legacy boot tables, maybe
        // mapped by UEFI's identity map; either way the probe must return.
        let _ = probe_read_u64(0x0000_7000_0000_0000);
    }
}
