//! Exception entry and exit: the only way into and out of the kernel.
//!
//! This module owns the Hyp vectors the runtime's vector table branches to
//! (`_asm_*_handler`, replacing aarch32-rt's trampolines, which keep state on
//! the kernel stack and so cannot switch partitions) and the path back to EL1.
//!
//! # The trap frame trick
//!
//! While a partition runs, `SP_hyp` points just past the [`TrapFrame`] at the
//! start of that partition's saved context. An exception from EL1 therefore
//! stores the partition's general registers, `LR_usr`, `ELR_hyp` and
//! `SPSR_hyp` straight into its own context with two `stmdb`, then moves to
//! the kernel stack and calls Rust with the frame's address. Rust returns the
//! frame of the partition to resume (the same one after a hypercall, another
//! after a window switch), and [`resume`] reloads it, points `SP_hyp` past it
//! for the next entry, and `eret`s. Nothing of a partition ever stays on the
//! kernel stack, so switching partitions is choosing which frame to return.
//!
//! Exceptions taken *in* Hyp mode (vectors 0x04..0x10 and FIQ) are kernel
//! bugs: they go to [`crate::panic::hyp_exception`], which logs and stops.
//!
//! Invariants the assembly relies on, established by [`crate::kernel`]:
//! - the kernel runs with IRQ and FIQ masked, so entries never nest;
//! - `HTPIDR` holds the address of this core's kernel state, whose first
//!   word is the top of this core's kernel stack ([`crate::kernel`]'s
//!   `Kernel::stack_top`); the handlers get that address as their second
//!   argument, so no entry looks its core up;
//! - the frame Rust returns lies in kernel memory and holds an `SPSR` for EL1.

use super::context::TrapFrame;

core::arch::global_asm!(
    r#"
    .section .text.bulkhead_entry,"ax",%progbits
    .arm
    .p2align 5

    // Saves the interrupted partition's registers into its own trap frame
    // (SP_hyp points just past it), switches to the kernel stack and calls
    // `handler` with the frame and this core's kernel state; resumes the
    // frame the handler returns.
    .macro from_el1 handler
    stmdb   sp!, {{r0-r12, lr}}
    mrs     r0, elr_hyp
    mrs     r1, spsr_hyp
    stmdb   sp!, {{r0, r1}}
    mov     r0, sp
    mrc     p15, 4, r1, c13, c0, 2      // HTPIDR: this core's kernel state
    ldr     sp, [r1]                    // its first word: the kernel stack top
    bl      \handler
    b       bulkhead_resume
    .endm

    // Hyp trap (vector 0x14): HVC, stage-2 aborts and trapped instructions
    // from EL1.
    .global _asm_hvc_handler
    .type _asm_hvc_handler, %function
_asm_hvc_handler:
    from_el1 bulkhead_trap_from_el1
    .size _asm_hvc_handler, . - _asm_hvc_handler

    // IRQ (vector 0x18). The kernel never unmasks IRQs at EL2, so these
    // always come from EL1.
    .global _asm_irq_handler
    .type _asm_irq_handler, %function
_asm_irq_handler:
    from_el1 bulkhead_irq_from_el1
    .size _asm_irq_handler, . - _asm_irq_handler

    // Back to EL1 with the frame in r0.
    .global bulkhead_resume
    .type bulkhead_resume, %function
bulkhead_resume:
    ldmia   r0!, {{r1, r2}}
    msr     elr_hyp, r1
    msr     spsr_hyp, r2
    add     sp, r0, #{frame_rest}       // SP_hyp = end of the frame
    ldmia   r0, {{r0-r12, lr}}
    eret
    .size bulkhead_resume, . - bulkhead_resume

    // Exceptions taken in Hyp mode: kernel bugs.
    .global _asm_undefined_handler
_asm_undefined_handler:
    mov     r0, #1
    b       bulkhead_hyp_exception
    .global _asm_svc_handler
_asm_svc_handler:
    mov     r0, #2
    b       bulkhead_hyp_exception
    .global _asm_prefetch_abort_handler
_asm_prefetch_abort_handler:
    mov     r0, #3
    b       bulkhead_hyp_exception
    .global _asm_data_abort_handler
_asm_data_abort_handler:
    mov     r0, #4
    b       bulkhead_hyp_exception
    .global _asm_fiq_handler
_asm_fiq_handler:
    mov     r0, #5
    b       bulkhead_hyp_exception
bulkhead_hyp_exception:
    mrs     r1, elr_hyp
    mrc     p15, 4, r2, c5, c2, 0       // HSR
    mrc     p15, 4, r3, c6, c0, 0       // HDFAR
    mrc     p15, 4, r12, c13, c0, 2     // this core's kernel state (or 0 before boot set it)
    cmp     r12, #0
    ldrne   sp, [r12]                   // its kernel stack top
    bl      bulkhead_hyp_exception_rust
    b       .
    "#,
    frame_rest = const core::mem::size_of::<TrapFrame>() - 8,
);

unsafe extern "C" {
    /// Restores the partition whose frame is `frame` and returns to EL1.
    fn bulkhead_resume(frame: *mut TrapFrame) -> !;
}

/// Enters EL1 for the first time, with the frame of the first partition.
///
/// # Safety
///
/// `frame` must be the frame of a partition whose EL1 state and EL2 MPU
/// regions are loaded, and `HTPIDR` must hold this core's kernel state
/// (`cpu::set_kernel_state`). The call
/// abandons the current stack.
pub unsafe fn enter_first(frame: *mut TrapFrame) -> ! {
    // SAFETY: the caller guarantees the frame and CPU state are ready.
    unsafe { bulkhead_resume(frame) }
}
