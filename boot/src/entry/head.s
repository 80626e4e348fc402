/*
 * First instructions of the protected-mode payload, for every way in:
 *
 *  - startup_32 (payload offset 0, hdr.code32_start): the Linux 32-bit boot
 *    protocol. Flat 32-bit segments, paging off, %esi = struct boot_params.
 *    Loaders put the payload at 1 MiB; we run at KERNEL_PHYS (16 MiB, where
 *    Linux runs too, clear of the firmware areas below 8 MiB that TDVF and
 *    SNP OVMF use), so we first copy ourselves there.
 *  - efi_pe_entry (the PE/COFF entry point): UEFI LoadImage/StartImage, as
 *    OVMF, TDVF and SNP OVMF start a kernel. Long mode, UEFI's identity map,
 *    MS ABI with %rcx = image handle, %rdx = system table. The image is
 *    wherever the firmware put it, so this code is position independent
 *    until it has copied the payload to KERNEL_PHYS.
 *
 * Both end in 64-bit Rust code of the higher half (boot::legacy_main or
 * boot::efi::efi_main) on the boot stack, with early_pml4 loaded: an identity
 * map of low memory (ours for the legacy path, UEFI's for the EFI path) and
 * the kernel image at KERNEL_VMA_OFFSET + physical.
 */
    .set    KERNEL_PHYS, 0x1000000
    .set    BP_SCRATCH, 0x1e4
    .set    MSR_EFER, 0xc0000080
    .set    EFER_LME, 1 << 8
    .set    EFER_NXE, 1 << 11
    .set    CR4_PAE, 1 << 5
    .set    CR4_LA57, 1 << 12
    .set    CR0_PE_PG, 0x80000001
    .set    EFI_LOADER_CODE, 1
    .set    EFI_ALLOCATE_ADDRESS, 2
    .set    EFI_UNSUPPORTED, 0x8000000000000003
    .set    ST_BOOT_SERVICES, 0x60
    .set    BS_ALLOCATE_PAGES, 0x28

    .section .boot.head, "ax"
    .code32
    .global startup_32
startup_32:
    cld
    cli
    /* A stack of one word in boot_params' scratch field, for call/pop. */
    leal    (BP_SCRATCH + 4)(%esi), %esp
    call    1f
1:  popl    %ebp
    subl    $(1b - startup_32), %ebp          /* %ebp = where we run */
    cmpl    $KERNEL_PHYS, %ebp
    je      2f
    /* Copy the payload to KERNEL_PHYS, backwards when the ranges overlap
       with the destination above. */
    movl    %esi, %edx
    movl    %ebp, %esi
    movl    $KERNEL_PHYS, %edi
    movl    $__payload_file_size, %ecx
    cmpl    %esi, %edi
    jb      3f
    leal    -1(%esi, %ecx), %esi
    leal    -1(%edi, %ecx), %edi
    std
3:  rep movsb
    cld
    movl    %edx, %esi
2:  movl    $relocated32, %eax
    jmp     *%eax

    .section .boot.text, "ax"
    .code32
relocated32:
    /* %esi (boot_params) is preserved up to the 64-bit call below. */

    /* Long mode is required; NX is used when present. */
    movl    $0x80000000, %eax
    cpuid
    cmpl    $0x80000001, %eax
    jb      no_long_mode
    movl    $0x80000001, %eax
    cpuid
    testl   $(1 << 29), %edx
    jz      no_long_mode
    movl    %edx, %ebp                        /* CPUID 0x80000001 EDX */

    /* Zero .bss (the boot stack lives there: nothing is on it yet). */
    movl    $__bss_start_phys, %edi
    movl    $__bss_size, %ecx
    xorl    %eax, %eax
    rep stosb

    movl    %cr4, %eax
    orl     $CR4_PAE, %eax
    movl    %eax, %cr4
    movl    $early_pml4, %eax
    movl    %eax, %cr3
    movl    $MSR_EFER, %ecx
    rdmsr
    orl     $EFER_LME, %eax
    testl   $(1 << 20), %ebp
    jz      4f
    orl     $EFER_NXE, %eax
4:  wrmsr
    movl    %cr0, %eax
    orl     $CR0_PE_PG, %eax
    movl    %eax, %cr0
    lgdt    boot_gdt_ptr
    ljmpl   $0x08, $long_mode_legacy

no_long_mode:
    movl    $no_long_mode_msg, %esi
5:  lodsb
    testb   %al, %al
    jz      6f
    movw    $0x3f8, %dx
    outb    %al, %dx
    jmp     5b
6:  hlt
    jmp     6b

    .code64
long_mode_legacy:
    movl    $0x10, %eax
    movl    %eax, %ds
    movl    %eax, %es
    movl    %eax, %ss
    xorl    %eax, %eax
    movl    %eax, %fs
    movl    %eax, %gs
    movabsq $__boot_stack_top, %rsp
    movl    %esi, %edi                        /* boot_params, zero-extended */
    movabsq $umbra_boot_legacy_main, %rax
    callq   *%rax
7:  hlt
    jmp     7b

/* ---------------------------------------------------------------- EFI */
/*
 * The firmware may already use KERNEL_PHYS (OVMF does), so under EFI the
 * payload runs at any 2 MiB-aligned physical base P ("phys_base"): this code
 * and efi_relocated are position independent, and the higher-half mapping
 * is rebuilt at run time to send KERNEL_VMA_OFFSET + KERNEL_PHYS to P. The
 * higher-half code never depends on P (it is linked at its virtual address).
 */
    .set    MIB2, 0x200000
    .set    EFI_ALLOCATE_ANY_PAGES, 0

    .section .boot.head, "ax"
    .code64
    .global efi_pe_entry
efi_pe_entry:
    /* Callee-saved registers of the MS ABI, restored if we return. */
    pushq   %rbx
    pushq   %rbp
    pushq   %rdi
    pushq   %rsi
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    movq    %rcx, %r12                        /* image handle */
    movq    %rdx, %r13                        /* system table */
    subq    $0x38, %rsp                       /* shadow space + out param, 16-aligned */
    movq    ST_BOOT_SERVICES(%r13), %rbx

    /* First choice: KERNEL_PHYS, where Linux runs too. */
    movq    $KERNEL_PHYS, %rax
    movq    %rax, 0x30(%rsp)
    movl    $EFI_ALLOCATE_ADDRESS, %ecx
    movl    $EFI_LOADER_CODE, %edx
    movl    $__kernel_pages, %r8d
    leaq    0x30(%rsp), %r9
    callq   *BS_ALLOCATE_PAGES(%rbx)
    testq   %rax, %rax
    jz      1f
    /* Else anywhere, with 2 MiB of slack to align the base. */
    movl    $EFI_ALLOCATE_ANY_PAGES, %ecx
    movl    $EFI_LOADER_CODE, %edx
    movl    $__kernel_pages, %r8d
    addl    $(MIB2 / 4096), %r8d
    leaq    0x30(%rsp), %r9
    callq   *BS_ALLOCATE_PAGES(%rbx)
    testq   %rax, %rax
    jnz     efi_fail
1:
    movq    0x30(%rsp), %rbp
    addq    $(MIB2 - 1), %rbp
    andq    $~(MIB2 - 1), %rbp                /* %rbp = P */

    leaq    startup_32(%rip), %rsi
    movq    %rbp, %rdi
    movl    $__payload_file_size, %ecx
    rep movsb
    leaq    (efi_relocated - startup_32)(%rbp), %rax
    jmpq    *%rax

efi_fail:
    addq    $0x38, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rsi
    popq    %rdi
    popq    %rbp
    popq    %rbx
    retq

    /* Same section as efi_pe_entry, so the offset above is a constant. */
efi_relocated:
    /* Running in the copy at P. Zero .bss. */
    leaq    __bss_offset(%rbp), %rdi
    movl    $__bss_size, %ecx
    xorl    %eax, %eax
    rep stosb

    /* 5-level paging is not supported yet. */
    movq    %cr4, %rax
    testq   $CR4_LA57, %rax
    jz      2f
    movq    $EFI_UNSUPPORTED, %rax
    jmp     efi_fail
2:
    /* early_pml4 = UEFI's lower half (identity map, still needed for boot
       services) + our higher half: KERNEL_VMA_OFFSET + KERNEL_PHYS + x -> P + x. */
    movq    %cr3, %r15
    movq    %r15, %rsi
    movabsq $0x000ffffffffff000, %rax
    andq    %rax, %rsi
    leaq    early_pml4(%rip), %rdi
    movl    $256, %ecx
    rep movsq
    leaq    early_pml4(%rip), %rdi
    leaq    early_pdpt_high(%rip), %rax
    orq     $0x3, %rax
    movq    %rax, 511 * 8(%rdi)
    leaq    early_pdpt_high(%rip), %rdi
    leaq    early_pd_high(%rip), %rax
    orq     $0x3, %rax
    movq    %rax, 510 * 8(%rdi)
    /* PD entry i maps phys P - KERNEL_PHYS + i * 2 MiB (not present below 0). */
    leaq    early_pd_high(%rip), %rdi
    movq    %rbp, %rax
    subq    $KERNEL_PHYS, %rax
    xorl    %ecx, %ecx
3:  xorl    %edx, %edx
    testq   %rax, %rax
    js      4f
    leaq    0x183(%rax), %rdx
4:  movq    %rdx, (%rdi, %rcx, 8)
    addq    $MIB2, %rax
    incl    %ecx
    cmpl    $512, %ecx
    jb      3b
    leaq    early_pml4(%rip), %rax
    movq    %rax, %cr3

    movq    %rsp, %r14
    movabsq $__boot_stack_top, %rsp
    movq    %r12, %rdi
    movq    %r13, %rsi
    movq    %rbp, %rdx
    movabsq $umbra_boot_efi_main, %rax
    callq   *%rax
    /* Only on failure, with an EFI status in %rax: give the firmware back
       its page tables and stack. */
    movq    %r15, %cr3
    movq    %r14, %rsp
    jmp     efi_fail

/* ------------------------------------------------ shared boot data */
    .section .boot.data, "aw"
    .balign 16
boot_gdt:
    .quad   0
    .quad   0x00af9a000000ffff                /* 0x08: 64-bit kernel code */
    .quad   0x00cf92000000ffff                /* 0x10: kernel data */
boot_gdt_end:
    .global boot_gdt_ptr
boot_gdt_ptr:
    .word   boot_gdt_end - boot_gdt - 1
    .quad   boot_gdt
no_long_mode_msg:
    .asciz  "Umbra: this CPU has no long mode (x86-64); cannot boot.\r\n"

/*
 * Early page tables, fully built at link time: identity map of the first
 * 4 GiB and the kernel image at 0xffffffff80000000 + phys (first 1 GiB), all
 * with 2 MiB pages. The framework replaces them with its own.
 */
    .section .boot.pagetables, "aw"
    .balign 4096
    .global early_pml4
early_pml4:
    .quad   early_pdpt_low + 0x3
    .fill   510, 8, 0
    .quad   early_pdpt_high + 0x3
early_pdpt_low:
    .quad   early_pd_low + 0x0000 + 0x3
    .quad   early_pd_low + 0x1000 + 0x3
    .quad   early_pd_low + 0x2000 + 0x3
    .quad   early_pd_low + 0x3000 + 0x3
    .fill   508, 8, 0
early_pdpt_high:
    .fill   510, 8, 0
    .quad   early_pd_high + 0x3
    .quad   0
early_pd_low:
    .set    i, 0
    .rept   2048
    .quad   (i << 21) | 0x83
    .set    i, i + 1
    .endr
early_pd_high:
    .set    i, 0
    .rept   512
    .quad   (i << 21) | 0x183
    .set    i, i + 1
    .endr
