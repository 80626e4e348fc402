//! The fatal-exception report: what the kernel prints before it panics on
//! an exception nobody handled. Everything a reader needs to find the bug
//! without a debugger: the exception and its decoded error code, CR2,
//! all registers, control registers and a backtrace of raw return
//! addresses (map with addr2line; see [`super::backtrace`]).

use super::trap::{exception_name, TrapFrame, DOUBLE_FAULT, PAGE_FAULT};
use crate::println;

/// Print the report for `frame` (and `cr2` for #PF), then panic.
pub(crate) fn fatal(frame: &TrapFrame, cr2: Option<u64>) -> ! {
    // The trapped code may have held the console lock; it will not run
    // again, and the panic path takes the console the same way.
    crate::console::force_unlock();
    let vector = frame.vector();
    let (mnemonic, name) = exception_name(vector);
    println!();
    println!(
        "==== {} {} (vector {}) in {} mode ====",
        mnemonic,
        name,
        vector,
        if frame.from_user() { "user" } else { "kernel" }
    );
    print_error_code(frame, cr2);
    print_registers(frame);
    if vector == DOUBLE_FAULT {
        println!("a fault while delivering another exception: most often a kernel stack overflow");
        if let Some(stacks) = super::gdt::current_ist_stacks() {
            for (slot, overflowed) in stacks.overflowed().iter().enumerate() {
                if *overflowed {
                    println!("IST{} stack overflowed into its guard page", slot + 1);
                }
            }
        }
    }
    super::backtrace::print(frame.rip, frame.rbp);
    panic!("unhandled {} {} (vector {}) at rip {:#x}", mnemonic, name, vector, frame.rip)
}

fn print_error_code(frame: &TrapFrame, cr2: Option<u64>) {
    let code = frame.error_code;
    match frame.vector() {
        PAGE_FAULT => {
            println!("error code {:?}", super::trap::PageFaultError(code));
            if let Some(address) = cr2 {
                println!("fault address (cr2) {:#018x}", address);
            }
        }
        // #TS #NP #SS #GP: a segment selector error code, 0 if none.
        10..=13 if code != 0 => println!(
            "error code {:#x}: selector index {} in the {}{}",
            code,
            (code >> 3) & 0x1fff,
            if code & 2 != 0 {
                "IDT"
            } else if code & 4 != 0 {
                "LDT"
            } else {
                "GDT"
            },
            if code & 1 != 0 { ", external event" } else { "" }
        ),
        10..=13 => println!("error code 0 (no selector involved)"),
        _ if code != 0 => println!("error code {:#x}", code),
        _ => {}
    }
}

fn print_registers(frame: &TrapFrame) {
    println!("rip {:#018x}  cs {:#06x}  rflags {:#010x}", frame.rip, frame.cs, frame.rflags);
    println!("rsp {:#018x}  ss {:#06x}", frame.rsp, frame.ss);
    let rows = [
        [("rax", frame.rax), ("rbx", frame.rbx), ("rcx", frame.rcx)],
        [("rdx", frame.rdx), ("rsi", frame.rsi), ("rdi", frame.rdi)],
        [("rbp", frame.rbp), ("r8 ", frame.r8), ("r9 ", frame.r9)],
        [("r10", frame.r10), ("r11", frame.r11), ("r12", frame.r12)],
        [("r13", frame.r13), ("r14", frame.r14), ("r15", frame.r15)],
    ];
    for [(a, va), (b, vb), (c, vc)] in rows {
        println!("{} {:#018x}  {} {:#018x}  {} {:#018x}", a, va, b, vb, c, vc);
    }
    println!(
        "cr0 {:#010x}  cr3 {:#018x}  cr4 {:#010x}",
        super::registers::cr0(),
        super::registers::cr3(),
        super::registers::cr4()
    );
}
