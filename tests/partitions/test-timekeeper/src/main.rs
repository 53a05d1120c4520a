//! Test partition: virtual time as a guest sees it.
//!
//! Reads `CNTVCT` in a tight loop forever, never yielding, so it is
//! preempted at the end of every one of its windows. If its time did not
//! stand still while other partitions run, two consecutive reads across a
//! window boundary would differ by the length of everyone else's windows.
//! Every 500 us of its own time it prints the largest step it has seen
//! between two consecutive reads, and the partition time the kernel reports
//! by hypercall right after, which must agree with the register.
//!
//! Output: `vtime ticks=T max-step=S hvc-ticks=H`.

#![no_std]
#![no_main]

use aarch32_cpu::register::{CntVct, Cntfrq, SysRegRead, SysRegRead64};
use bulkhead_sdk::{entry, hypercall, println};

fn virtual_count() -> u64 {
    <CntVct as SysRegRead64>::read_raw()
}

#[entry]
fn main() -> ! {
    let period = Cntfrq::read_raw() as u64 / 2000;
    let mut previous = virtual_count();
    let mut max_step = 0;
    let mut next_report = previous + period;
    loop {
        let now = virtual_count();
        max_step = max_step.max(now - previous);
        previous = now;
        if now >= next_report {
            let reported = hypercall::partition_time().ticks;
            println!("vtime ticks={now} max-step={max_step} hvc-ticks={reported}");
            next_report += period;
            previous = virtual_count();
        }
    }
}
