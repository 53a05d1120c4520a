//! Demo partition: the neighbour from hell.
//!
//! Announces itself, closes its GIC priority mask (`ICC_PMR` = 0), masks IRQ
//! and FIQ, and spins forever without ever calling the kernel. The hyp timer
//! still ends each of its windows on time (physical interrupts go to EL2
//! whatever EL1 masks, and its `ICC_PMR` is its virtual interface's), so the
//! other partitions start exactly when the schedule says.

#![no_std]
#![no_main]

use bulkhead_sdk::{entry, println};

#[entry]
fn main() -> ! {
    println!("spinner: closing my priority mask, masking interrupts and spinning forever");
    // SAFETY: masking this partition's own interrupts is its business; the
    // kernel's timer is a physical interrupt routed to EL2 regardless, and
    // ICC_PMR at EL1 is the virtual CPU interface's priority mask.
    unsafe {
        core::arch::asm!("mcr p15, 0, {zero}, c4, c6, 0", zero = in(reg) 0u32, options(nomem, nostack));
        core::arch::asm!("cpsid if", options(nomem, nostack));
    }
    let mut spins: u32 = 0;
    loop {
        spins = core::hint::black_box(spins.wrapping_add(1));
    }
}
