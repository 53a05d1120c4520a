//! Small CPU operations the rest of the kernel needs: syndromes, waiting,
//! the per-core stack pointer.

use aarch32_cpu::register::{Hdfar, Hifar, Hsr, Htpidr, Mpidr, SysRegRead, SysRegWrite};

/// This core's number in the tables: `MPIDR.Aff0` (the reset entry lets
/// only the board's cluster's cores run the image, `smp::_start`).
#[inline]
pub fn core_number() -> u32 {
    Mpidr::read_raw() & 0xFF
}

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

/// Records the address of this core's kernel state in `HTPIDR`, where the
/// entry assembly finds it (and, in its first word, the kernel stack top).
pub fn set_kernel_state(address: usize) {
    // SAFETY: HTPIDR is a scratch register only the kernel reads.
    unsafe { Htpidr::write_raw(address as u32) };
}

/// Waits for an interrupt to become pending. IRQs stay masked at EL2; `WFI`
/// wakes on a pending interrupt regardless, and the caller acknowledges it.
///
/// The instruction after the `WFI` has one address, `bulkhead_wfi_woke`,
/// which `cargo xtask bench` watches: after a wake by the window timer,
/// simulated time there is exactly the boundary's tick.
#[inline]
pub fn wait_for_interrupt() {
    // SAFETY: the routine waits and returns; WFI has no architectural effect
    // besides waiting, and it touches no register but `lr`'s use for return.
    unsafe { bulkhead_wfi() };
}

core::arch::global_asm!(
    r#"
    .section .text.bulkhead_wfi,"ax",%progbits
    .arm
    .global bulkhead_wfi
    .type bulkhead_wfi, %function
bulkhead_wfi:
    dsb     sy
    wfi
    .global bulkhead_wfi_woke
bulkhead_wfi_woke:
    bx      lr
    .size bulkhead_wfi, . - bulkhead_wfi
    "#
);

unsafe extern "C" {
    fn bulkhead_wfi();
}
