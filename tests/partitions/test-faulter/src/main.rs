//! Test partition: faults on every activation, after doing some work.
//!
//! Each activation checks that the kernel restored its RAM (an initialised
//! static holds its initial value, a zero-initialised one is zero), works
//! through three steps, dirties both statics, and writes to an address it
//! was not given. With the `restart` policy the kernel restores and resumes
//! it at its next window, so it makes the same progress every time; with
//! `halt` it never runs again.
//!
//! Output: `activation=K data=pristine|DIRTY bss=zero|DIRTY`,
//! `progress activation=K step=S`, `faulting activation=K`.

#![no_std]
#![no_main]

use bulkhead_sdk::{entry, hypercall, println};
use core::sync::atomic::{AtomicU32, Ordering};

static INITIALISED: AtomicU32 = AtomicU32::new(0x1234_5678);
static ZEROED: AtomicU32 = AtomicU32::new(0);

/// An address in no region of this partition (ATCM, which nobody is given).
const FORBIDDEN: u32 = 0x0000_0100;

fn busy(iterations: u32) -> u32 {
    (0..iterations).fold(0u32, |acc, i| core::hint::black_box(acc.wrapping_mul(31).wrapping_add(i)))
}

#[entry]
fn main() -> ! {
    let activation = hypercall::identity().restarts;
    let data = if INITIALISED.load(Ordering::Relaxed) == 0x1234_5678 { "pristine" } else { "DIRTY" };
    let bss = if ZEROED.load(Ordering::Relaxed) == 0 { "zero" } else { "DIRTY" };
    println!("activation={activation} data={data} bss={bss}");
    for step in 1..=3 {
        busy(2_000);
        println!("progress activation={activation} step={step}");
    }
    INITIALISED.store(0xDEAD_DEAD, Ordering::Relaxed);
    ZEROED.store(activation + 1, Ordering::Relaxed);
    println!("faulting activation={activation}");
    // SAFETY: deliberately unsound: the address is not this partition's and
    // the store must fault at stage 2.
    unsafe { core::ptr::write_volatile(FORBIDDEN as *mut u32, activation) };
    println!("ESCAPED activation={activation}");
    hypercall::stop(1)
}
