//! Switching the CPU from one kernel stack to another.
//!
//! A task that is not running keeps its callee-saved registers and RFLAGS on
//! its own stack; [`TaskContext`] remembers only the stack pointer. The
//! first switch to a new task "returns" into [`task_entry_trampoline`].

/// Saved state of a task that is not running.
#[repr(C)]
#[derive(Debug, Default)]
pub struct TaskContext {
    pub rsp: usize,
}

core::arch::global_asm!(
    ".text",
    ".global umbra_context_switch",
    // fn umbra_context_switch(prev: *mut TaskContext, next: *const TaskContext)
    "umbra_context_switch:",
    "push rbp",
    "push rbx",
    "push r12",
    "push r13",
    "push r14",
    "push r15",
    "pushfq",
    "mov [rdi], rsp",
    "mov rsp, [rsi]",
    "popfq",
    "pop r15",
    "pop r14",
    "pop r13",
    "pop r12",
    "pop rbx",
    "pop rbp",
    "ret",
    // First instruction of a new task: the switch "returned" here with
    // rbx = the entry argument; align the stack and call into Rust.
    ".global umbra_task_first_entry",
    "umbra_task_first_entry:",
    "mov rdi, rbx",
    "xor ebp, ebp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym super::task_entry_trampoline,
);

extern "C" {
    fn umbra_context_switch(prev: *mut TaskContext, next: *const TaskContext);
    fn umbra_task_first_entry();
}

/// Words pushed by `umbra_context_switch` below the return address.
const SAVED_WORDS: usize = 7; // rbp rbx r12 r13 r14 r15 rflags

/// Lay out a new stack so that switching to it starts
/// `task_entry_trampoline(argument)` with interrupts off.
///
/// `stack` is the task's whole stack (its end 16-byte aligned).
pub fn new_context(stack: &mut [usize], argument: usize) -> TaskContext {
    let len = stack.len();
    // [.., ret = first_entry, rbp, rbx, r12, r13, r14, r15, rflags] (top down)
    let words = &mut stack[len - (SAVED_WORDS + 2)..];
    words[0] = 0x2; // rflags: IF clear (bit 1 is reserved-one)
    words[1] = 0; // r15
    words[2] = 0; // r14
    words[3] = 0; // r13
    words[4] = 0; // r12
    words[5] = argument; // rbx
    words[6] = 0; // rbp
    words[7] = umbra_task_first_entry as *const () as usize; // return address
    words[8] = 0; // keeps the entry's stack 16-byte aligned after the ret
    TaskContext { rsp: words.as_ptr() as usize }
}

/// Switch from the running task (whose context is saved into `prev`) to
/// the one described by `next`.
///
/// # Safety
/// Interrupts are off; `next` was produced by [`new_context`] or by an
/// earlier switch away from a task that is not running anywhere now, and
/// both contexts stay valid until the switch back.
pub unsafe fn switch(prev: *mut TaskContext, next: *const TaskContext) {
    // SAFETY: forwarded to the caller; the asm saves and restores every
    // callee-saved register the Rust ABI requires.
    unsafe { umbra_context_switch(prev, next) }
}
