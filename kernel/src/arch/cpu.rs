//! Small CPU operations the rest of the kernel needs: syndromes, waiting,
//! the per-core stack pointer.

use aarch32_cpu::register::{Hdfar, Hifar, Hsr, Htpidr, SysRegRead, SysRegWrite};

/// `HSR` of the exception being handled.
#[inline]
pub fn syndrome() -> u32 {
    Hsr::read_raw()
}

/// `HDFAR`: the address of the data abort being handled.
#[inline]
pub fn data_fault_address() -> u32 {
    Hdfar::read_raw()
}

/// `HIFAR`: the address of the prefetch abort being handled.
#[inline]
pub fn instruction_fault_address() -> u32 {
    Hifar::read_raw()
}

/// Records the top of this core's kernel stack in `HTPIDR`, where the entry
/// assembly finds it.
pub fn set_kernel_stack_top(top: usize) {
    // SAFETY: HTPIDR is a scratch register only the kernel reads.
    unsafe { Htpidr::write_raw(top as u32) };
}

/// Waits for an interrupt to become pending. IRQs stay masked at EL2; `WFI`
/// wakes on a pending interrupt regardless, and the caller acknowledges it.
#[inline]
pub fn wait_for_interrupt() {
    // SAFETY: WFI has no architectural effect besides waiting.
    unsafe { core::arch::asm!("dsb sy", "wfi", options(nomem, nostack, preserves_flags)) };
}
