/*
 * Application-processor start-up code. The BSP copies the bytes between
 * umbra_ap_trampoline_start and _end to a page P below 1 MiB, patches the
 * tr_* parameters and sends INIT-SIPI-SIPI with vector P >> 12. The AP
 * starts here in real mode with CS = P >> 4, IP = 0, climbs to long mode on
 * page tables the BSP built at P + 0x1000 (identity map of the first 2 MiB
 * + the kernel's upper half) and jumps to the Rust entry in the higher half.
 * Only data is read from this section in place; it runs from the copy.
 */
    .section .rodata.ap_trampoline, "a"
    .code16
    .global umbra_ap_trampoline_start
umbra_ap_trampoline_start:
    cli
    cld
    movw    %cs, %ax
    movw    %ax, %ds
    xorl    %ebx, %ebx
    movw    %cs, %bx
    shll    $4, %ebx                        /* %ebx = P, kept to the end */
    lgdtl   (tr_gdt_ptr - umbra_ap_trampoline_start)
    movl    %cr0, %eax
    orl     $1, %eax
    movl    %eax, %cr0
    ljmpl   *(tr_far32 - umbra_ap_trampoline_start)

    .code32
tr_protected32:
    movl    $0x10, %eax
    movl    %eax, %ds
    movl    %eax, %es
    movl    %eax, %ss
    movl    %cr4, %eax
    orl     $0x20, %eax                     /* PAE */
    movl    %eax, %cr4
    movl    (tr_cr3 - umbra_ap_trampoline_start)(%ebx), %eax
    movl    %eax, %cr3
    movl    $0xc0000080, %ecx               /* EFER: the BSP's LME/NXE/SCE bits */
    rdmsr
    orl     (tr_efer - umbra_ap_trampoline_start)(%ebx), %eax
    wrmsr
    movl    %cr0, %eax
    orl     $0x80010001, %eax               /* PG | WP | PE */
    movl    %eax, %cr0
    ljmpl   *(tr_far64 - umbra_ap_trampoline_start)(%ebx)

    .code64
tr_long64:
    movl    $0x10, %eax
    movl    %eax, %ds
    movl    %eax, %es
    movl    %eax, %ss
    movq    (tr_stack - umbra_ap_trampoline_start)(%rbx), %rsp
    movq    (tr_argument - umbra_ap_trampoline_start)(%rbx), %rdi
    movq    (tr_entry - umbra_ap_trampoline_start)(%rbx), %rax
    xorl    %ebp, %ebp
    jmpq    *%rax

    /*
     * 64-bit entry, for the ACPI multiprocessor wake-up mailbox (TDX): the
     * firmware jumps here in long mode on an identity map of this page,
     * interrupts off, with no usable stack. Same end state as above.
     */
    .global umbra_ap_tr_start64
umbra_ap_tr_start64:
    cli
    leaq    umbra_ap_trampoline_start(%rip), %rbx   /* P: this copy's base */
    lgdt    (tr_gdt_ptr64 - umbra_ap_trampoline_start)(%rbx)
    movl    (tr_cr3 - umbra_ap_trampoline_start)(%rbx), %eax
    movq    %rax, %cr3
    movq    (tr_stack - umbra_ap_trampoline_start)(%rbx), %rsp
    movl    $0xc0000080, %ecx
    rdmsr
    orl     (tr_efer - umbra_ap_trampoline_start)(%rbx), %eax
    wrmsr
    leaq    (tr_long64 - umbra_ap_trampoline_start)(%rbx), %rax
    pushq   $0x08
    pushq   %rax
    lretq

    .balign 8
tr_gdt:
    .quad   0
    .quad   0x00af9a000000ffff              /* 0x08: 64-bit code */
    .quad   0x00cf92000000ffff              /* 0x10: data */
    .quad   0x00cf9a000000ffff              /* 0x18: 32-bit code */
tr_gdt_end:
    .global umbra_ap_tr_gdt_ptr
umbra_ap_tr_gdt_ptr:
tr_gdt_ptr:
    .word   tr_gdt_end - tr_gdt - 1
    .long   tr_gdt - umbra_ap_trampoline_start      /* + P, patched */
    .balign 8
    .global umbra_ap_tr_gdt_ptr64
umbra_ap_tr_gdt_ptr64:
tr_gdt_ptr64:
    .word   tr_gdt_end - tr_gdt - 1
    .quad   tr_gdt - umbra_ap_trampoline_start      /* + P, patched */
    .balign 8
    .global umbra_ap_tr_params
umbra_ap_tr_params:
tr_far32:
    .long   tr_protected32 - umbra_ap_trampoline_start  /* + P, patched */
    .word   0x18
    .word   0
tr_far64:
    .long   tr_long64 - umbra_ap_trampoline_start       /* + P, patched */
    .word   0x08
    .word   0
tr_cr3:
    .long   0
tr_efer:
    .long   0
tr_stack:
    .quad   0
tr_argument:
    .quad   0
tr_entry:
    .quad   0
    .global umbra_ap_trampoline_end
umbra_ap_trampoline_end:
