/*
 * c-ports start-up: the kernel enters at _start in SVC mode, A32, IRQ/FIQ
 * masked, with .data copied and .bss zeroed and sp at the top of the data
 * region (docs/hypercalls.md). This turns on the FPU (GCC may use it at
 * -O2), points the vectors at fatal handlers and runs main in System mode.
 */
    .syntax unified
    .arch armv8-r
    .fpu neon-fp-armv8
    .arm

    .section .vectors, "ax", %progbits
    .global vectors
    .p2align 5
vectors:
    b       _start
    b       undefined_entry
    b       svc_entry
    b       prefetch_abort_entry
    b       data_abort_entry
    b       .
    b       irq_entry
    b       fiq_entry

    .section .text.start, "ax", %progbits
    .global _start
    .type _start, %function
_start:
    ldr     r4, =vectors
    mcr     p15, 0, r4, c12, c0, 0      /* VBAR */
    /* FPU and Advanced SIMD: CPACR cp10/cp11 full access, then FPEXC.EN. */
    mrc     p15, 0, r4, c1, c0, 2
    orr     r4, r4, #(0xf << 20)
    mcr     p15, 0, r4, c1, c0, 2
    isb
    mov     r4, #0x40000000
    vmsr    fpexc, r4
    cps     #0x1f                       /* System */
    ldr     sp, =__sys_stack_top
    bl      main
    b       .
    .size _start, . - _start

/* Anything else is a bug here: ReportFault (hvc), which applies the fault policy. */
    .macro fatal name, kind, lr_adjust
    .type \name, %function
\name:
    sub     r2, lr, #\lr_adjust
    mov     r1, #\kind
    mov     r3, #0
    mov     r0, #5                      /* BULKHEAD_CALL_REPORT_FAULT */
    hvc     #0
    b       .
    .size \name, . - \name
    .endm
    fatal undefined_entry, 1, 4
    fatal prefetch_abort_entry, 2, 4
    fatal data_abort_entry, 3, 8
    fatal svc_entry, 4, 0
    fatal irq_entry, 4, 4
    fatal fiq_entry, 4, 4
