//! The user address-space layout of an x86-64 Linux process with address
//! randomisation off (`setarch -R`, `randomize_va_space=0`): the
//! constants and the few formulas Linux uses to place the stack, the mmap
//! area and position-independent executables.
//!
//! Values are those of Linux 6.x with 4-level paging (47-bit user space):
//! arch/x86/include/asm/{page_64_types.h,elf.h,processor.h},
//! arch/x86/mm/mmap.c, fs/exec.c.

/// Size of a base page.
pub const PAGE_SIZE: u64 = 4096;
pub const PAGE_MASK: u64 = !(PAGE_SIZE - 1);

/// One past the highest user address (`TASK_SIZE_MAX`, also
/// `DEFAULT_MAP_WINDOW`): 2^47 minus one guard page.
pub const TASK_SIZE: u64 = (1 << 47) - PAGE_SIZE;

/// Top of the main thread's stack (`STACK_TOP`, without randomisation).
pub const STACK_TOP: u64 = TASK_SIZE;

/// Lowest address a mapping may use (`vm.mmap_min_addr` default on x86).
pub const MMAP_MIN_ADDR: u64 = 65536;

/// Where a PIE program (ET_DYN with PT_INTERP) is loaded:
/// `ELF_ET_DYN_BASE = DEFAULT_MAP_WINDOW / 3 * 2` (0x555555554aaa; the
/// loader then page-aligns it down to 0x555555554000). Static-PIE programs'
/// brk also starts here.
pub const ELF_ET_DYN_BASE: u64 = TASK_SIZE / 3 * 2;

/// Base of the bottom-up (legacy) mmap search, the fallback when top-down
/// finds no room: `PAGE_ALIGN(TASK_SIZE / 3)`.
pub const TASK_UNMAPPED_BASE: u64 = page_align_up_saturating(TASK_SIZE / 3);

/// Gap kept below a grows-down stack mapping (`stack_guard_gap`, 256 pages).
pub const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;

/// Default `RLIMIT_STACK` soft limit (`_STK_LIM`, 8 MiB).
pub const DEFAULT_STACK_RLIMIT: u64 = 8 << 20;

/// Extra room `setup_arg_pages` gives the initial stack below the
/// argument pages (128 KiB), bounded by the stack rlimit.
pub const STACK_EXPAND: u64 = 128 << 10;

/// Smallest and largest gap between stack top and mmap base (mmap.c).
pub const MMAP_MIN_GAP: u64 = 128 << 20;
pub const MMAP_MAX_GAP: u64 = TASK_SIZE / 6 * 5;

/// Default `vm.max_map_count` (USHRT_MAX - 5).
pub const MAX_MAP_COUNT: usize = 65530;

/// Rounds down to a page boundary.
pub const fn page_align_down(addr: u64) -> u64 {
    addr & PAGE_MASK
}

/// Rounds up to a page boundary; `None` on overflow past 2^64.
pub const fn page_align_up(addr: u64) -> Option<u64> {
    match addr.checked_add(PAGE_SIZE - 1) {
        Some(v) => Some(v & PAGE_MASK),
        None => None,
    }
}

const fn page_align_up_saturating(addr: u64) -> u64 {
    match page_align_up(addr) {
        Some(v) => v,
        None => PAGE_MASK,
    }
}

/// Whether `addr` is page aligned.
pub const fn is_page_aligned(addr: u64) -> bool {
    addr & (PAGE_SIZE - 1) == 0
}

/// Top of the top-down mmap area for a stack soft limit `rlim_stack`
/// (bytes; `u64::MAX` for RLIM_INFINITY), as Linux's `mmap_base()` without
/// randomisation: `PAGE_ALIGN(TASK_SIZE - gap)` with
/// `gap = rlim + stack_guard_gap` clamped to [128 MiB, 5/6 TASK_SIZE].
/// With the default 8 MiB limit this is 0x7ffff7fff000.
pub fn mmap_base(rlim_stack: u64) -> u64 {
    let pad = STACK_GUARD_GAP;
    let mut gap = rlim_stack;
    // "Values close to RLIM_INFINITY can overflow."
    if let Some(padded) = gap.checked_add(pad) {
        gap = padded;
    }
    let gap = gap.clamp(MMAP_MIN_GAP, MMAP_MAX_GAP);
    page_align_up_saturating(TASK_SIZE - gap)
}

/// The stack VMA that exec leaves behind, as `setup_arg_pages` +
/// `create_elf_tables` do: the pages holding everything from `sp` up to
/// `stack_top`, extended downwards by `STACK_EXPAND` beyond the pages the
/// argument strings occupy (from `arg_start`), but not beyond the stack
/// rlimit. Returns `[start, end)`, page aligned.
///
/// For a small argv/envp under the default rlimit this is
/// 0x7ffffffde000..0x7ffffffff000, the familiar `[stack]` line.
pub fn initial_stack_vma(stack_top: u64, arg_start: u64, sp: u64, rlim_stack: u64) -> (u64, u64) {
    let end = page_align_down(stack_top);
    let strings_start = page_align_down(arg_start.min(end));
    let stack_size = end - strings_start;
    let rlim = rlim_stack & PAGE_MASK;
    let expand = rlim.min(stack_size.saturating_add(STACK_EXPAND));
    let mut start = end.saturating_sub(expand);
    // The pointer tables below the strings are always covered
    // (find_extend_vma in create_elf_tables).
    start = start.min(page_align_down(sp)).min(strings_start);
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_match_linux_x86_64() {
        assert_eq!(TASK_SIZE, 0x7fff_ffff_f000);
        assert_eq!(STACK_TOP, 0x7fff_ffff_f000);
        assert_eq!(ELF_ET_DYN_BASE, 0x5555_5555_4aaa);
        assert_eq!(page_align_down(ELF_ET_DYN_BASE), 0x5555_5555_4000);
        assert_eq!(TASK_UNMAPPED_BASE, 0x2aaa_aaaa_b000);
        assert_eq!(STACK_GUARD_GAP, 1 << 20);
    }

    #[test]
    fn page_rounding() {
        assert_eq!(page_align_down(0x1fff), 0x1000);
        assert_eq!(page_align_up(0x1001), Some(0x2000));
        assert_eq!(page_align_up(0x2000), Some(0x2000));
        assert_eq!(page_align_up(u64::MAX - 10), None);
        assert!(is_page_aligned(0x5000));
        assert!(!is_page_aligned(0x5001));
    }

    #[test]
    fn mmap_base_default_rlimit() {
        // 8 MiB + 1 MiB guard < 128 MiB minimum gap.
        assert_eq!(mmap_base(DEFAULT_STACK_RLIMIT), 0x7fff_f7ff_f000);
    }

    #[test]
    fn mmap_base_large_and_infinite_rlimit() {
        // 1 GiB stack limit: gap = 1 GiB + 1 MiB.
        assert_eq!(mmap_base(1 << 30), TASK_SIZE - (1 << 30) - (1 << 20));
        // RLIM_INFINITY: overflow guard keeps gap at u64::MAX, then clamped.
        assert_eq!(mmap_base(u64::MAX), page_align_up(TASK_SIZE - MMAP_MAX_GAP).unwrap());
    }

    #[test]
    fn initial_stack_vma_small() {
        let top = STACK_TOP;
        let (s, e) = initial_stack_vma(top, top - 0x300, top - 0x500, DEFAULT_STACK_RLIMIT);
        assert_eq!((s, e), (0x7fff_fffd_e000, 0x7fff_ffff_f000));
    }

    #[test]
    fn initial_stack_vma_bounded_by_rlimit_but_covers_args() {
        let top = STACK_TOP;
        // rlimit of 64 KiB: expansion limited to 64 KiB ...
        let (s, _) = initial_stack_vma(top, top - 0x300, top - 0x500, 64 << 10);
        assert_eq!(s, top - (64 << 10));
        // ... but never above the strings or sp.
        let (s, _) = initial_stack_vma(top, top - 0x30000, top - 0x31000, 64 << 10);
        assert_eq!(s, page_align_down(top - 0x31000));
    }
}
