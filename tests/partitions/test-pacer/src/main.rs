//! Test partition, for simulation only: makes QEMU interleave the cores
//! finely, so that two-core timing tests measure the kernel rather than the
//! simulator.
//!
//! QEMU `-icount` runs the cores of `-smp 2` one at a time; a core's turn
//! lasts half the time to the nearest armed timer deadline, so a window
//! boundary that falls during the other core's turn waits for the rest of
//! it (tens of thousands of ticks in a system of 1 ms windows). This
//! partition owns the board's CMSDK dual timer and starts its timer 1
//! counting down, periodic, with its interrupt disabled: QEMU then has a
//! deadline every period, and no turn lasts longer than half of it.
//!
//! It does nothing else: it yields every window. The period (25 timer clocks,
//! 1 us at the AN536's 25 MHz peripheral clock) bounds a turn to about 500
//! instructions. On silicon the cores run at once and nothing like this is
//! needed.
//!
//! Output: `pacer period-clocks=N` once.

#![no_std]
#![no_main]

use bulkhead_sdk::{entry, hypercall, layout, println};

/// Timer 1 registers of the CMSDK APB dual timer.
const LOAD: u32 = 0x00;
const CONTROL: u32 = 0x08;
/// `CONTROL`: enable, periodic, 32-bit counter; interrupt disabled.
const ENABLE_PERIODIC_32BIT: u32 = (1 << 7) | (1 << 6) | (1 << 1);
/// Timer clocks per period.
const PERIOD_CLOCKS: u32 = 25;

#[entry]
fn main() -> ! {
    let timer = layout::DEVICES.iter().find(|d| d.name == "dualtimer").expect("the dual timer is given to the pacer");
    // SAFETY: the dual timer is this partition's own device (its registers
    // are mapped to it alone); these are its documented registers.
    unsafe {
        core::ptr::write_volatile((timer.base + LOAD) as *mut u32, PERIOD_CLOCKS);
        core::ptr::write_volatile((timer.base + CONTROL) as *mut u32, ENABLE_PERIODIC_32BIT);
    }
    println!("pacer period-clocks={PERIOD_CLOCKS}");
    loop {
        hypercall::yield_window();
    }
}
