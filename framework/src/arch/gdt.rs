//! The global descriptor table and task-state segment of each CPU.
//!
//! Owns: segment selectors, the TSS (RSP0 for user->kernel entry, IST
//! stacks for double fault, NMI and machine check) and loading them.
//!
//! Layout, fixed by SYSCALL/SYSRET (STAR[47:32] = 0x08 gives kernel CS/SS
//! 0x08/0x10; STAR[63:48] = 0x10 gives user SS 0x10+8 = 0x1b and user CS
//! 0x10+16 = 0x23):
//!
//! | selector | descriptor            |
//! |----------|-----------------------|
//! | 0x00     | null                  |
//! | 0x08     | kernel code, 64-bit   |
//! | 0x10     | kernel data           |
//! | 0x18     | user data (0x1b, RPL 3) |
//! | 0x20     | user code, 64-bit (0x23, RPL 3) |
//! | 0x28     | TSS (16 bytes)        |
//!
//! Each CPU needs its own [`CpuTables`] (the TSS descriptor turns "busy"
//! when loaded) and its own [`IstStacks`]. The boot CPU's live in statics;
//! the lead's SMP code creates one pair per application processor and
//! calls [`CpuTables::load`] on that CPU. No per-CPU (GS) storage is needed:
//! [`set_kernel_stack`] finds this CPU's TSS through its GDT register.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

pub const KERNEL_CS: u16 = 0x08;
pub const KERNEL_SS: u16 = 0x10;
pub const USER_SS: u16 = 0x18 | 3;
pub const USER_CS: u16 = 0x20 | 3;
pub const TSS_SELECTOR: u16 = 0x28;

/// IA32_STAR's selector fields for SYSCALL/SYSRET with this layout
/// (bits 47:32 kernel CS, bits 63:48 user base; the low 32 bits are unused
/// in long mode).
pub const STAR: u64 = ((KERNEL_SS as u64 & !3) << 48) | ((KERNEL_CS as u64) << 32);

/// Interrupt stack table slots (1-based, as IDT gates name them).
pub const IST_DOUBLE_FAULT: u8 = 1;
pub const IST_NMI: u8 = 2;
pub const IST_MACHINE_CHECK: u8 = 3;
const IST_COUNT: usize = 3;

/// Size of each IST stack.
pub const IST_STACK_SIZE: usize = 16 * 1024;
const GUARD_SIZE: usize = 4096;
/// Written at the top of each guard page; a changed value means the stack
/// above it overflowed.
const GUARD_CANARY: u64 = 0x5354_4b5f_4755_4152; // "STK_GUAR"

const GDT_ENTRIES: usize = 7;
// Access bytes have "accessed" set so the CPU never writes the GDT.
const KERNEL_CODE: u64 = 0x00af_9b00_0000_ffff; // P, DPL0, code, L=1
const KERNEL_DATA: u64 = 0x00cf_9300_0000_ffff; // P, DPL0, data, writable
const USER_DATA: u64 = 0x00cf_f300_0000_ffff; // P, DPL3, data, writable
const USER_CODE: u64 = 0x00af_fb00_0000_ffff; // P, DPL3, code, L=1
const TSS_TYPE_AVAILABLE: u64 = 0x9;

/// The 64-bit task-state segment (Intel SDM vol. 3, 8.7).
#[repr(C, packed(4))]
struct TaskStateSegment {
    reserved0: u32,
    /// Stack pointers loaded on entry from CPL 3 (only RSP0 is used).
    rsp: [u64; 3],
    reserved1: u64,
    /// Interrupt stack table, IST1..IST7.
    ist: [u64; 7],
    reserved2: u64,
    reserved3: u16,
    /// Offset of the I/O permission bitmap; = size of the TSS: no bitmap,
    /// so CPL 3 never gets port access.
    iomap_base: u16,
}
const TSS_SIZE: usize = core::mem::size_of::<TaskStateSegment>();
const _: () = assert!(TSS_SIZE == 104);

/// One CPU's GDT and TSS.
#[repr(C, align(64))]
pub struct CpuTables {
    // First field: `current()` finds the CpuTables from the GDT base.
    gdt: UnsafeCell<[u64; GDT_ENTRIES]>,
    tss: UnsafeCell<TaskStateSegment>,
    ist_stacks: UnsafeCell<Option<&'static IstStacks>>,
    loaded: AtomicBool,
}

// SAFETY: the cells are written only by `load` (once, guarded by `loaded`)
// and by `set_kernel_stack` on the CPU that loaded these tables, which is
// the only CPU that uses them; other CPUs never touch them.
unsafe impl Sync for CpuTables {}

impl CpuTables {
    pub const fn new() -> Self {
        Self {
            gdt: UnsafeCell::new([0; GDT_ENTRIES]),
            tss: UnsafeCell::new(TaskStateSegment {
                reserved0: 0,
                rsp: [0; 3],
                reserved1: 0,
                ist: [0; 7],
                reserved2: 0,
                reserved3: 0,
                iomap_base: TSS_SIZE as u16,
            }),
            ist_stacks: UnsafeCell::new(None),
            loaded: AtomicBool::new(false),
        }
    }

    /// Fill in these tables for the calling CPU and load them: GDT, code and
    /// data segments, task register. Call once per CPU, before anything
    /// sets the GS base (segment reloads may clear it).
    ///
    /// Panics if these tables or these stacks were already loaded (by any
    /// CPU): two CPUs must never share a TSS or an IST stack.
    pub fn load(&'static self, stacks: &'static IstStacks) {
        assert!(!self.loaded.swap(true, Ordering::AcqRel), "CpuTables loaded twice");
        assert!(!stacks.in_use.swap(true, Ordering::AcqRel), "IstStacks given to two CPUs");
        let tss_base = self.tss.get() as u64;
        let tss_limit = (TSS_SIZE - 1) as u64;
        let tss_low = (tss_limit & 0xffff)
            | ((tss_base & 0xff_ffff) << 16)
            | (TSS_TYPE_AVAILABLE << 40)
            | (1 << 47)
            | ((tss_limit >> 16 & 0xf) << 48)
            | ((tss_base >> 24 & 0xff) << 56);
        let tss_high = tss_base >> 32;
        let tops = stacks.prepare();
        // SAFETY: `loaded` was false, so no CPU has loaded these tables and
        // nothing else holds a reference into the cells.
        unsafe {
            *self.gdt.get() = [0, KERNEL_CODE, KERNEL_DATA, USER_DATA, USER_CODE, tss_low, tss_high];
            let mut ist = [0; 7];
            ist[..IST_COUNT].copy_from_slice(&tops);
            (*self.tss.get()).ist = ist;
            *self.ist_stacks.get() = Some(stacks);
        }
        let pointer = DescriptorTablePointer {
            limit: (GDT_ENTRIES * 8 - 1) as u16,
            base: self.gdt.get() as u64,
        };
        // SAFETY: the GDT lives in `'static` memory and has the layout above: 0x08 is 64-bit code like the boot GDT's, 0x10 flat data, so
        // reloading CS (far return to the next instruction) and DS/ES/SS keeps the running code's view of memory; 0x28 is an available
        // TSS of this struct, which `ltr` marks busy. FS/GS are left alone.
        unsafe {
            core::arch::asm!(
                "lgdt [{pointer}]",
                "push {cs}",
                "lea {tmp}, [rip + 2f]",
                "push {tmp}",
                "retfq",
                "2:",
                "mov {tmp:e}, {ss}",
                "mov ds, {tmp:e}",
                "mov es, {tmp:e}",
                "mov ss, {tmp:e}",
                "mov {tmp:e}, {tr}",
                "ltr {tmp:x}",
                pointer = in(reg) &pointer,
                cs = const KERNEL_CS,
                ss = const KERNEL_SS,
                tr = const TSS_SELECTOR,
                tmp = out(reg) _,
            );
        }
    }

    /// The IST stacks these tables point at.
    fn ist_stacks(&self) -> Option<&'static IstStacks> {
        // SAFETY: written once in `load` before `loaded` is visible to the
        // CPU that calls this through `current()`.
        unsafe { *self.ist_stacks.get() }
    }
}

impl Default for CpuTables {
    fn default() -> Self {
        Self::new()
    }
}

#[repr(C, packed)]
struct DescriptorTablePointer {
    limit: u16,
    base: u64,
}

/// One IST stack with a guard page below it.
#[repr(C, align(4096))]
struct IstStack {
    /// Never used by the stack. Its last word holds a canary; once the
    /// kernel has 4 KiB page tables the page can be unmapped (see
    /// [`IstStacks::guard_pages`]) to turn an overflow into a fault.
    guard: UnsafeCell<[u8; GUARD_SIZE]>,
    stack: UnsafeCell<[u8; IST_STACK_SIZE]>,
}

/// The IST stacks of one CPU: double fault, NMI, machine check.
///
/// All zeroes is a valid value (allocate it zeroed rather than building
/// 60 KiB on a stack).
#[repr(C, align(4096))]
pub struct IstStacks {
    stacks: [IstStack; IST_COUNT],
    in_use: AtomicBool,
}

// SAFETY: the stacks are only written by the CPU (on IST entries of the one
// CPU whose TSS points here) and by `prepare` before that TSS is loaded.
unsafe impl Sync for IstStacks {}

impl IstStacks {
    pub const fn new() -> Self {
        Self {
            stacks: [const {
                IstStack { guard: UnsafeCell::new([0; GUARD_SIZE]), stack: UnsafeCell::new([0; IST_STACK_SIZE]) }
            }; IST_COUNT],
            in_use: AtomicBool::new(false),
        }
    }

    /// Write the canaries; return the stack tops for IST1..IST3.
    fn prepare(&self) -> [u64; IST_COUNT] {
        let mut tops = [0; IST_COUNT];
        for (top, stack) in tops.iter_mut().zip(&self.stacks) {
            let canary = stack.guard.get() as usize + GUARD_SIZE - 8;
            // SAFETY: the canary word is inside the guard array, which only
            // this function writes, before the TSS using it is loaded.
            unsafe { (canary as *mut u64).write_volatile(GUARD_CANARY) };
            // 16-byte aligned (the CPU aligns IST stacks anyway).
            *top = (stack.stack.get() as u64 + IST_STACK_SIZE as u64) & !0xf;
        }
        tops
    }

    /// The guard pages (virtual address ranges) to unmap once the kernel
    /// page tables map the kernel with 4 KiB pages.
    pub fn guard_pages(&self) -> [core::ops::Range<usize>; IST_COUNT] {
        core::array::from_fn(|i| {
            let start = self.stacks[i].guard.get() as usize;
            start..start + GUARD_SIZE
        })
    }

    /// Which IST stacks (1-based slot numbers) have a damaged canary: their
    /// stack overflowed into the guard page. Reads go through the fault
    /// fixup, so an unmapped guard page just counts as intact.
    pub fn overflowed(&self) -> [bool; IST_COUNT] {
        core::array::from_fn(|i| {
            let canary = self.stacks[i].guard.get() as u64 + GUARD_SIZE as u64 - 8;
            matches!(super::extable::probe_read_u64(canary), Ok(value) if value != GUARD_CANARY)
        })
    }

    /// The stack range of IST slot `slot` (1-based).
    pub fn stack_range(&self, slot: u8) -> Option<core::ops::Range<u64>> {
        let stack = self.stacks.get(usize::from(slot).checked_sub(1)?)?;
        let start = stack.stack.get() as u64;
        Some(start..start + IST_STACK_SIZE as u64)
    }
}

impl Default for IstStacks {
    fn default() -> Self {
        Self::new()
    }
}

static BSP_TABLES: CpuTables = CpuTables::new();
static BSP_IST_STACKS: IstStacks = IstStacks::new();

/// Load the boot CPU's GDT and TSS.
pub fn init_bsp() {
    BSP_TABLES.load(&BSP_IST_STACKS);
}

/// The tables of the calling CPU, if it has loaded any.
fn current() -> Option<&'static CpuTables> {
    let mut pointer = DescriptorTablePointer { limit: 0, base: 0 };
    let task_register: u16;
    // SAFETY: `sgdt` stores 10 bytes into `pointer`; `str` reads the task
    // register. Neither changes any state.
    unsafe {
        core::arch::asm!("sgdt [{}]", in(reg) &mut pointer, options(nostack, preserves_flags));
        core::arch::asm!("str {:x}", out(reg) task_register, options(nomem, nostack, preserves_flags));
    }
    if task_register != TSS_SELECTOR {
        return None; // still on the boot GDT, which has no TSS
    }
    let base = pointer.base;
    // SAFETY: the task register is only ever loaded by `CpuTables::load`,
    // which also loads the GDT that is the first field of a `'static`
    // CpuTables (repr(C)); nothing else runs `lgdt` after it.
    Some(unsafe { &*(base as *const CpuTables) })
}

/// Set the stack the CPU switches to when an interrupt or exception comes
/// from user mode (TSS.RSP0) on the calling CPU. The scheduler sets it to
/// the top of the next task's kernel stack on every switch.
///
/// Panics if this CPU has not loaded its tables.
pub fn set_kernel_stack(top: u64) {
    let tables = current().expect("set_kernel_stack before gdt::init");
    let tss = tables.tss.get();
    // SAFETY: only this CPU uses these tables, and the CPU reads RSP0 only
    // when it takes a trap from user mode, on an instruction boundary: it
    // never sees half of this (possibly unaligned, packed-field) store.
    unsafe { core::ptr::addr_of_mut!((*tss).rsp[0]).write_unaligned(top) };
}

/// Address of the calling CPU's TSS.RSP0 field, for the user-mode entry
/// code, which stores the kernel stack pointer there itself on every entry
/// to user mode (see `crate::user`).
pub(crate) fn kernel_stack_slot() -> Option<u64> {
    let tss = current()?.tss.get();
    // SAFETY: only computes an address inside this CPU's 'static TSS.
    Some(unsafe { core::ptr::addr_of_mut!((*tss).rsp[0]) } as u64)
}

/// TSS.RSP0 of the calling CPU.
pub fn kernel_stack() -> Option<u64> {
    let tss = current()?.tss.get();
    // SAFETY: as in `set_kernel_stack`; a read of this CPU's own TSS.
    Some(unsafe { core::ptr::addr_of!((*tss).rsp[0]).read_unaligned() })
}

/// The calling CPU's IST stacks.
pub fn current_ist_stacks() -> Option<&'static IstStacks> {
    current()?.ist_stacks()
}

/// Guard pages of the boot CPU's IST stacks (for the memory manager).
pub fn bsp_guard_pages() -> [core::ops::Range<usize>; IST_COUNT] {
    BSP_IST_STACKS.guard_pages()
}

mod tests {
    use super::*;
    use crate::ktest;

    fn selectors() -> (u16, u16, u16, u16, u16) {
        let (cs, ds, es, ss, tr): (u16, u16, u16, u16, u16);
        // SAFETY: reading segment registers and the task register has no
        // effect.
        unsafe {
            core::arch::asm!(
                "mov {0:x}, cs", "mov {1:x}, ds", "mov {2:x}, es", "mov {3:x}, ss", "str {4:x}",
                out(reg) cs, out(reg) ds, out(reg) es, out(reg) ss, out(reg) tr,
                options(nomem, nostack, preserves_flags)
            );
        }
        (cs, ds, es, ss, tr)
    }

    #[ktest]
    fn segments_and_task_register_are_ours() {
        let (cs, ds, es, ss, tr) = selectors();
        assert_eq!((cs, ss, tr), (KERNEL_CS, KERNEL_SS, TSS_SELECTOR));
        // 64-bit mode ignores DS/ES; IRETQ to user mode nulls them (a
        // DPL-0 selector is not valid at CPL 3) and nothing reloads them.
        assert!([KERNEL_SS, 0].contains(&ds) && [KERNEL_SS, 0].contains(&es), "ds {:#x} es {:#x}", ds, es);
        assert_eq!(STAR, 0x0010_0008_0000_0000);
        let tables = current().expect("tables loaded");
        assert!(core::ptr::eq(tables, &BSP_TABLES));
        // SAFETY: reading this CPU's own GDT, which nothing writes after load.
        let gdt = unsafe { *tables.gdt.get() };
        assert_eq!(gdt[1..5], [KERNEL_CODE, KERNEL_DATA, USER_DATA, USER_CODE]);
        assert_eq!(gdt[5] >> 40 & 0xf, 0xb, "ltr marks the TSS descriptor busy");
        assert_eq!(USER_CS, 0x23);
        assert_eq!(USER_SS, 0x1b);
    }

    #[ktest]
    fn kernel_stack_round_trips_and_ist_is_set() {
        let previous = kernel_stack().expect("tables loaded");
        set_kernel_stack(0xffff_ffff_8123_4560);
        assert_eq!(kernel_stack(), Some(0xffff_ffff_8123_4560));
        set_kernel_stack(previous);
        let stacks = current_ist_stacks().expect("IST stacks");
        assert_eq!(stacks.overflowed(), [false; IST_COUNT]);
        // SAFETY: reading this CPU's own TSS.
        let ist = unsafe { core::ptr::addr_of!((*BSP_TABLES.tss.get()).ist).read_unaligned() };
        for slot in [IST_DOUBLE_FAULT, IST_NMI, IST_MACHINE_CHECK] {
            let range = stacks.stack_range(slot).expect("slot exists");
            assert_eq!(ist[usize::from(slot) - 1], range.end & !0xf);
        }
        assert!(stacks.stack_range(4).is_none());
    }
}
