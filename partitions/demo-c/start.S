/*
 * demo-c start-up: what any bare-metal Cortex-R52 C program has, nothing
 * Bulkhead-specific except where the stacks and memory come from (the
 * generated memory.ld and partition.h).
 *
 * The kernel enters at _start in SVC mode, A32, IRQ/FIQ masked, EL1 MPU and
 * caches off, sp at the top of the data region, r0 = partition id,
 * r1 = restart count, r2 = ABI version (docs/hypercalls.md).
 */
    .syntax unified
    .arch armv8-r
    .fpu neon-fp-armv8
    .arm

    .section .vectors, "ax", %progbits
    .global vectors
    .p2align 5
vectors:
    ldr     pc, =_start
    ldr     pc, =undefined_entry
    ldr     pc, =svc_entry
    ldr     pc, =prefetch_abort_entry
    ldr     pc, =data_abort_entry
    b       .
    ldr     pc, =irq_entry
    ldr     pc, =fiq_entry
    .ltorg

    .section .text.start, "ax", %progbits
    .global _start
    .type _start, %function
_start:
    /* Keep what the kernel passed for main(). */
    mov     r4, r0
    mov     r5, r1
    mov     r6, r2

    /* One stack per mode, where the linker script put them (sizes from
       the system description); main runs in System mode on the largest. */
    cps     #0x12               /* IRQ */
    ldr     sp, =__irq_stack_top
    cps     #0x11               /* FIQ */
    ldr     sp, =__fiq_stack_top
    cps     #0x17               /* abort */
    ldr     sp, =__abt_stack_top
    cps     #0x1b               /* undefined */
    ldr     sp, =__und_stack_top
    cps     #0x13               /* SVC */
    ldr     sp, =__svc_stack_top

    /* Vectors. */
    ldr     r0, =vectors
    mcr     p15, 0, r0, c12, c0, 0      /* VBAR */

    /* FPU and Advanced SIMD: CPACR cp10/cp11 full access, then FPEXC.EN. */
    mrc     p15, 0, r0, c1, c0, 2
    orr     r0, r0, #(0xf << 20)
    mcr     p15, 0, r0, c1, c0, 2
    isb
    mov     r0, #0x40000000
    vmsr    fpexc, r0

    /* .data from its load image in code, .bss zeroed: the kernel did the
       same before entry (and does on a restart), a C runtime does it anyway. */
    ldr     r0, =__data_start
    ldr     r1, =__data_end
    ldr     r2, =__data_load
1:  cmp     r0, r1
    ldrlo   r3, [r2], #4
    strlo   r3, [r0], #4
    blo     1b
    ldr     r0, =__bss_start
    ldr     r1, =__bss_end
    mov     r3, #0
2:  cmp     r0, r1
    strlo   r3, [r0], #4
    blo     2b

    /* The EL1 MPU (regions from the generated layout), then caches. */
    bl      mpu_enable

    cps     #0x1f               /* System: main's mode */
    ldr     sp, =__sys_stack_top
    mov     r0, r4
    mov     r1, r5
    mov     r2, r6
    bl      main
    b       .
    .size _start, . - _start

/*
 * IRQ: the C handler may use any caller-saved register, VFP ones included
 * (GCC's interrupt attribute saves none of those), so they are saved here,
 * as an RTOS port's IRQ entry does.
 */
    .global irq_entry
    .type irq_entry, %function
irq_entry:
    sub     lr, lr, #4
    push    {r0-r3, r12, lr}
    vpush   {d0-d7}
    vpush   {d16-d31}
    vmrs    r0, fpscr
    push    {r0, r1}
    bl      irq_handler
    pop     {r0, r1}
    vmsr    fpscr, r0
    vpop    {d16-d31}
    vpop    {d0-d7}
    pop     {r0-r3, r12, lr}
    movs    pc, lr
    .size irq_entry, . - irq_entry

/* Anything else is a bug in this guest: report it to the kernel, which
   applies the partition's fault policy (bulkhead_report_fault). */
    .macro fatal name, kind, lr_adjust
    .global \name
    .type \name, %function
\name:
    sub     r4, lr, #\lr_adjust
    mov     r0, #\kind
    mov     r1, r4
    bl      fatal_exception
    b       .
    .size \name, . - \name
    .endm
    fatal undefined_entry, 1, 4
    fatal prefetch_abort_entry, 2, 4
    fatal data_abort_entry, 3, 8
    fatal svc_entry, 4, 0
    fatal fiq_entry, 4, 4
