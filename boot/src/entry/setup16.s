/*
 * Real-mode setup code of the bzImage (Linux boot protocol 2.15, 16-bit entry).
 *
 * A legacy boot loader (QEMU's linuxboot option ROM under SeaBIOS, GRUB's
 * `linux16`, ...) loads the setup sectors at some segment S and jumps to
 * S+0x20:0, the jump at file offset 0x200 that the image builder writes, which
 * lands here at file offset 0x26c. DS = ES = SS = S.
 *
 * Layout of the setup area (offsets from its start, = bzImage file offsets):
 *   0x0000-0x01f0  boot sector: MZ/PE headers (image builder)
 *   0x01f1-0x026b  setup header (image builder; the loader fills some fields)
 *   0x026c-0x0fff  this code
 *   0x1000-0x1fff  the zero page (struct boot_params) we fill and hand on
 *   0x2000-0x2fff  real-mode stack
 * The section's addresses equal file offsets (see kernel/linker.ld), so once
 * CS is rebased to S a label's value is its offset in the segment.
 */
    .section .setup, "ax"
    .code16
    .global umbra_setup16
umbra_setup16:
    cli
    cld
    movw    %ds, %ax
    movw    %ax, %es
    movw    %ax, %ss
    movl    $0x3000, %esp
    /* Rebase CS onto S so labels are segment offsets. */
    pushw   %ds
    pushw   $1f
    lretw
1:
    /* boot_params.hdr = the header the loader filled in (0x1f1..0x26b). */
    movw    $0x1f1, %si
    movw    $(0x1000 + 0x1f1), %di
    movw    $(0x26c - 0x1f1), %cx
    rep movsb

    /* BIOS memory map, INT 15h AX=E820h, into boot_params.e820_table. */
    xorl    %ebx, %ebx
    xorw    %bp, %bp
    movw    $(0x1000 + 0x2d0), %di
2:
    movl    $0xe820, %eax
    movl    $0x534d4150, %edx          /* "SMAP" */
    movl    $20, %ecx
    int     $0x15
    jc      3f
    cmpl    $0x534d4150, %eax
    jne     3f
    addw    $20, %di
    incw    %bp
    cmpw    $128, %bp                  /* E820_MAX_ENTRIES_ZEROPAGE */
    jae     3f
    testl   %ebx, %ebx
    jnz     2b
3:
    movw    %bp, %ax
    movb    %al, (0x1000 + 0x1e8)      /* boot_params.e820_entries */

    /* Fast A20 gate (QEMU and SeaBIOS usually have it on already). */
    inb     $0x92, %al
    orb     $0x02, %al
    andb    $0xfe, %al
    outb    %al, $0x92

    /* Linear base of the setup area: fix up the GDT pointer and the far
       jump target, which are only known at run time. */
    xorl    %ebx, %ebx
    movw    %ds, %bx
    shll    $4, %ebx
    leal    gdt16(%ebx), %eax
    movl    %eax, (gdt16_ptr + 2)
    leal    protected32(%ebx), %eax
    movl    %eax, (protected32_ptr)

    lgdtl   gdt16_ptr
    movl    %cr0, %eax
    orl     $1, %eax
    movl    %eax, %cr0
    ljmpl   *protected32_ptr

    .code32
protected32:
    movl    $0x18, %eax                /* __BOOT_DS */
    movl    %eax, %ds
    movl    %eax, %es
    movl    %eax, %ss
    movl    %eax, %fs
    movl    %eax, %gs
    leal    0x3000(%ebx), %esp
    leal    0x1000(%ebx), %esi         /* %esi = boot_params, as the 32-bit protocol wants */
    jmpl    *0x214(%esi)               /* hdr.code32_start */

    .balign 8
gdt16:
    .quad   0                          /* null */
    .quad   0                          /* unused */
    .quad   0x00cf9a000000ffff         /* 0x10 __BOOT_CS: flat 32-bit code */
    .quad   0x00cf92000000ffff         /* 0x18 __BOOT_DS: flat data */
gdt16_end:
gdt16_ptr:
    .word   gdt16_end - gdt16 - 1
    .long   0
protected32_ptr:
    .long   0
    .word   0x10
    .global umbra_setup16_end
umbra_setup16_end:
