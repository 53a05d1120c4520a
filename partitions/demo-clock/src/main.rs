//! Demo partition: a clock that only ticks while it runs.
//!
//! Reads the virtual counter directly (`CNTVCT`, as any guest would) and
//! prints every half millisecond of it. Its time advances only inside its own
//! windows, so its lines are evenly spaced in partition time even though the
//! other partitions hold the CPU most of each major frame.

#![no_std]
#![no_main]

use aarch32_cpu::register::{CntVct, Cntfrq, SysRegRead, SysRegRead64};
use bulkhead_sdk::{entry, println};

#[entry]
fn main() -> ! {
    let hz = Cntfrq::read_raw() as u64;
    let step = hz / 2000;
    println!("clock: partition time runs at {hz} Hz and stops outside my windows");
    let mut next = 0;
    loop {
        let now = <CntVct as SysRegRead64>::read_raw();
        if now >= next {
            let micros = now * 1_000_000 / hz;
            println!("clock: {}.{:03} ms of partition time", micros / 1000, micros % 1000);
            next = (now / step + 1) * step;
        }
    }
}
