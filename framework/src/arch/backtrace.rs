//! Frame-pointer backtraces (the kernel is built with
//! `-C force-frame-pointers=yes`): each frame record is (saved rbp, return
//! address). Symbols are not available at run time, so only raw return
//! addresses are printed; map them with
//! `addr2line -f -e target/x86_64-unknown-none/release/umbra-kernel ADDR...`.
//!
//! The walk cannot fault again: every read goes through
//! [`probe_read_u64`](super::extable::probe_read_u64), frame pointers must
//! be 8-aligned kernel addresses that move up the stack by at most
//! [`MAX_FRAME_SIZE`] (except across a trap record, where the stack may
//! switch to an IST stack and back), return addresses must lie in the
//! kernel image window, and at most [`MAX_FRAMES`] frames are walked.

use super::extable::probe_read_u64;

pub const MAX_FRAMES: usize = 48;
/// Largest distance between two frame records on one stack.
pub const MAX_FRAME_SIZE: u64 = 256 * 1024;
/// Where the kernel image (text) is mapped: the `-mcmodel=kernel` window.
const KERNEL_IMAGE_START: u64 = 0xffff_ffff_8000_0000;
/// Start of the kernel half of the address space.
const KERNEL_HALF_START: u64 = 0xffff_8000_0000_0000;

/// Call `visit(depth, return_address)` for each frame, starting with
/// `rip` itself (depth 0) and then the records chained from `rbp`.
pub fn walk(rip: u64, rbp: u64, mut visit: impl FnMut(usize, u64)) {
    visit(0, rip);
    let mut frame = rbp;
    let mut may_switch_stack = false;
    for depth in 1..MAX_FRAMES {
        if frame < KERNEL_HALF_START || !frame.is_multiple_of(8) {
            return;
        }
        let (Ok(next), Ok(return_address)) = (probe_read_u64(frame), probe_read_u64(frame.wrapping_add(8))) else {
            return;
        };
        if return_address < KERNEL_IMAGE_START {
            return;
        }
        visit(depth, return_address);
        // The dispatcher's caller is the trap entry: the record after it
        // belongs to the trapped context, possibly on another stack.
        let switching = may_switch_stack;
        may_switch_stack = return_address == super::trap::return_site();
        let moves_up = next > frame && next - frame <= MAX_FRAME_SIZE;
        if !(moves_up || (switching && next != frame)) {
            return;
        }
        frame = next;
    }
}

/// Print a backtrace from `rip`/`rbp` on the console (one line per frame).
pub fn print(rip: u64, rbp: u64) {
    crate::println!("backtrace (return addresses; addr2line -f -e umbra-kernel ADDR):");
    walk(rip, rbp, |depth, address| crate::println!("  #{:<2} {:#018x}", depth, address));
}

/// Print the backtrace of the caller.
#[inline(never)]
pub fn print_current() {
    let rbp = super::registers::rbp();
    // Depth 0 is this function's own return address.
    match probe_read_u64(rbp.wrapping_add(8)) {
        Ok(return_address) => print(return_address, probe_read_u64(rbp).unwrap_or(0)),
        Err(_) => crate::println!("backtrace: no frame record"),
    }
}

mod tests {
    use crate::ktest;

    #[inline(never)]
    fn depth_three(out: &mut [u64; 8]) -> usize {
        let mut count = 0;
        let rbp = super::super::registers::rbp();
        super::walk(0xffff_ffff_8100_0000, rbp, |depth, address| {
            if depth < out.len() {
                out[depth] = address;
                count = depth + 1;
            }
        });
        core::hint::black_box(count)
    }

    #[inline(never)]
    fn depth_two(out: &mut [u64; 8]) -> usize {
        core::hint::black_box(depth_three(out))
    }

    #[ktest]
    fn walks_nested_frames_within_bounds() {
        let mut out = [0u64; 8];
        let count = depth_two(&mut out);
        assert!(count >= 3, "only {} frames", count);
        assert_eq!(out[0], 0xffff_ffff_8100_0000);
        // Frame 1 returns into depth_two, frame 2 into this test.
        let here = walks_nested_frames_within_bounds as fn() as usize as u64;
        let two = depth_two as fn(&mut [u64; 8]) -> usize as usize as u64;
        assert!(out[1] > two && out[1] < two + 0x400, "{:#x} not in depth_two at {:#x}", out[1], two);
        assert!(out[2] > here && out[2] < here + 0x1000, "{:#x} not in the test at {:#x}", out[2], here);
    }

    #[ktest]
    fn corrupt_chains_stop_without_faulting() {
        for rbp in [0, 8, 0xffff_ffff_7fff_f000, 0x8000_0000_0000_0000, 0xffff_ffff_ffff_fff8, 0xffff_8000_0000_0003] {
            let mut frames = 0;
            super::walk(1, rbp, |_, _| frames += 1);
            assert_eq!(frames, 1, "rbp {:#x}", rbp);
        }
        // A record pointing at itself must not loop.
        let record: [u64; 2] = [0, 0xffff_ffff_8100_0000];
        let mut cyclic = record;
        cyclic[0] = core::ptr::addr_of!(cyclic) as u64;
        let mut frames = 0;
        super::walk(1, core::ptr::addr_of!(cyclic) as u64, |_, _| frames += 1);
        assert_eq!(frames, 2, "self-referencing record walked {} frames", frames);
        core::hint::black_box(record);
    }
}
