/*
 * Trap entry: every IDT vector lands here (framework/src/arch/trap.rs).
 *
 * umbra_trap_stubs holds one 16-byte stub per vector 0..=255 (the IDT
 * points at umbra_trap_stubs + 16 * vector). A stub pushes a zero error
 * code where the CPU pushes none, then the vector, and jumps to the common
 * path, which
 *   - does swapgs if the trap came from CPL 3 (saved CS RPL != 0), so the
 *     kernel GS base is live in the kernel, and again on the way back;
 *   - pushes the general-purpose registers: with the CPU's part this is a
 *     struct TrapFrame (low to high address: rax rbx rcx rdx rsi rdi rbp
 *     r8..r15, vector, error_code, rip cs rflags rsp ss);
 *   - clears RFLAGS.AC (clac, when the CPU has SMAP): an interrupt gate
 *     keeps AC, so a trap from user mode or from inside a user-memory copy
 *     must not run its handler with SMAP switched off;
 *   - from user mode (except NMI, #DF and #MC, which arrive on their own
 *     IST stacks): jumps to umbra_user_exit (framework/src/user/entry.rs),
 *     which hands the frame to user::execute's loop; the frame then lies
 *     right below the stack pointer user mode was entered with (TSS.RSP0);
 *   - pushes a frame record (interrupted rip, rbp) so frame-pointer
 *     backtraces walk from the handler into the interrupted code;
 *   - calls the Rust dispatcher with %rdi = &mut TrapFrame on a 16-byte
 *     aligned stack (CPU frame 40 + error 8 + vector 8 + 15 GPRs 120 +
 *     record 16 = 192 bytes below the 16-aligned point the CPU starts at),
 *     direction flag clear, interrupts off (all gates are interrupt gates);
 *   - restores everything (the dispatcher may have changed the frame: a
 *     fixup moves rip, an emulator sets registers) and returns with iretq.
 *
 * Known limit (for when per-CPU data uses GS): an NMI or machine check
 * that hits kernel code between the return path's swapgs and iretq sees a
 * kernel CS with the user GS base. Linux's "paranoid entry" reads
 * IA32_GS_BASE instead for those vectors; do the same before the NMI path
 * touches per-CPU data.
 */
    .section .text.umbra_trap, "ax"
    .balign 16
    .global umbra_trap_stubs
    .type   umbra_trap_stubs, @function
umbra_trap_stubs:
    .set    vector, 0
    .rept   256
    .balign 16
    /* Vectors with a CPU error code: #DF #TS #NP #SS #GP #PF #AC #CP #VC #SX */
    .if (vector == 8) || (vector == 10) || (vector == 11) || (vector == 12) || (vector == 13) || (vector == 14) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
    .else
    pushq   $0
    .endif
    pushq   $vector
    jmp     umbra_trap_common
    .set    vector, vector + 1
    .endr
    .balign 16
    .global umbra_trap_stubs_end
umbra_trap_stubs_end:
    .size   umbra_trap_stubs, umbra_trap_stubs_end - umbra_trap_stubs

    .type   umbra_trap_common, @function
umbra_trap_common:
    testb   $3, 24(%rsp)                /* saved CS: vector, error, rip, cs */
    jz      1f
    swapgs
1:  pushq   %r15
    pushq   %r14
    pushq   %r13
    pushq   %r12
    pushq   %r11
    pushq   %r10
    pushq   %r9
    pushq   %r8
    pushq   %rbp
    pushq   %rdi
    pushq   %rsi
    pushq   %rdx
    pushq   %rcx
    pushq   %rbx
    pushq   %rax
    /* All registers are saved: rax is free until the restore. */
    cmpb    $0, {smap}(%rip)
    je      3f
    clac
3:  testb   $3, 144(%rsp)               /* TrapFrame.cs */
    jz      4f
    movq    120(%rsp), %rax             /* TrapFrame.vector */
    cmpq    $2, %rax                    /* NMI */
    je      4f
    cmpq    $8, %rax                    /* #DF */
    je      4f
    cmpq    $18, %rax                   /* #MC */
    je      4f
    jmp     umbra_user_exit
4:  pushq   136(%rsp)                   /* frame record: saved rip ... */
    pushq   %rbp                        /* ... and rbp */
    movq    %rsp, %rbp
    leaq    16(%rsp), %rdi
    cld
    call    {dispatch}
    .global umbra_trap_return_site
umbra_trap_return_site:
    addq    $16, %rsp
    popq    %rax
    popq    %rbx
    popq    %rcx
    popq    %rdx
    popq    %rsi
    popq    %rdi
    popq    %rbp
    popq    %r8
    popq    %r9
    popq    %r10
    popq    %r11
    popq    %r12
    popq    %r13
    popq    %r14
    popq    %r15
    testb   $3, 24(%rsp)
    jz      2f
    swapgs
2:  addq    $16, %rsp                   /* vector, error code */
    iretq
    .size   umbra_trap_common, . - umbra_trap_common
