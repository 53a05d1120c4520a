//! Test partition: the stopwatch, a victim that measures its own window
//! starts and the CPU time it gets, from inside.
//!
//! Partition time (`CNTVCT`) follows the schedule: it reads exactly the
//! partition's budget so far, so the window at position `p` of frame `f`
//! starts at partition time `f * B + prefix[p]` (`B` the partition's ticks
//! per frame, `prefix[p]` the lengths of its windows before `p`; both from
//! `layout::WINDOWS`). The stopwatch reads `CNTVCT` in a tight loop and
//! never enters the kernel while it measures, so:
//!
//! - the first read in a window (it follows a jump across the window's
//!   start), minus the window's start in partition time, is how late the
//!   window started: the time from the scheduled boundary to its first
//!   instruction, to within one tick;
//! - any step between two reads inside a window larger than the loop's own
//!   (at most two ticks) is time taken from it.
//!
//! It keeps, per window position, the worst start delay and the worst total
//! time taken from one window, and every 10 frames prints them (after
//! measuring, in the window it prints in; that window's taken time is not
//! counted, its start is):
//!
//! `stopwatch frames=F delay=D0,D1,... taken=T0,T1,...` (ticks)
//!
//! It also keeps a canary in its data region, the words attackers aim at,
//! and reports `CORRUPTED` if it ever changes.

#![no_std]
#![no_main]

use aarch32_cpu::register::{CntVct, SysRegRead64};
use bulkhead_sdk::{entry, layout, println};
use core::ptr::{read_volatile, write_volatile};

/// Most windows per frame this partition measures.
const MAX_WINDOWS: usize = 16;
/// Steps between two reads up to this many ticks are the loop's own (an
/// iteration is about 20 instructions, so it can span two tick boundaries);
/// the cheapest kernel entry is several times that.
const LOOP_TICKS: u64 = 2;
/// Frames between reports.
const REPORT_EVERY: u64 = 10;
/// The first frame measured (the first is start-up).
const FIRST_FRAME: u64 = 1;

const CANARY: u32 = 0xC0FF_EE11;

fn now() -> u64 {
    <CntVct as SysRegRead64>::read_raw()
}

fn write_list(label: &str, values: &[u64]) {
    let mut console = bulkhead_sdk::console::Console::new();
    let _ = core::fmt::Write::write_str(&mut console, label);
    for (n, value) in values.iter().enumerate() {
        let _ = core::fmt::Write::write_fmt(&mut console, format_args!("{}{value}", if n == 0 { "" } else { "," }));
    }
    drop(console);
}

#[entry]
fn main() -> ! {
    let windows = &layout::WINDOWS[..layout::WINDOWS.len().min(MAX_WINDOWS)];
    let count = windows.len();
    // Partition-time start of each window in a frame, and the budget B.
    let mut prefix = [0u64; MAX_WINDOWS];
    let mut budget = 0;
    for (slot, window) in prefix.iter_mut().zip(windows) {
        *slot = budget;
        budget += window.duration;
    }
    let data = layout::REGIONS.iter().find(|r| r.name == "data").expect("a data region");
    let canary = data.base + ((data.size / 2) & !3);
    // SAFETY: the middle of this partition's own data region, which nothing
    // else in this program uses.
    unsafe { write_volatile(canary as *mut u32, CANARY) };

    let mut worst_delay = [0u64; MAX_WINDOWS];
    let mut worst_taken = [0u64; MAX_WINDOWS];
    // The window being measured: (frame, position), its end in partition
    // time, the time taken from it so far, whether it is counted.
    let start = now();
    let (mut frame, mut position) = (start / budget.max(1), 0usize);
    while position + 1 < count && start >= frame * budget + prefix[position + 1] {
        position += 1;
    }
    let mut end = frame * budget + prefix[position] + windows[position].duration;
    let mut taken = 0u64;
    let mut counted = false;
    let mut previous = start;
    loop {
        let read = now();
        // A switch shows as a jump across the window's end. (The end tick
        // itself can be read before the kernel takes the boundary: its
        // interrupt is taken a few instructions into that tick.)
        if read >= end && read - previous > LOOP_TICKS {
            if counted {
                worst_taken[position] = worst_taken[position].max(taken);
            }
            // The first read in a new window (or several, if one went by
            // without this partition running at all: its delay is then its
            // whole length, and more).
            while read >= end {
                position += 1;
                if position == count {
                    position = 0;
                    frame += 1;
                }
                let window_start = frame * budget + prefix[position];
                end = window_start + windows[position].duration;
                counted = frame >= FIRST_FRAME;
                if counted {
                    worst_delay[position] = worst_delay[position].max(read.saturating_sub(window_start));
                }
            }
            taken = 0;
            if position == 0 && frame > FIRST_FRAME && frame % REPORT_EVERY == 0 {
                // SAFETY: as above.
                let value = unsafe { read_volatile(canary as *const u32) };
                if value != CANARY {
                    println!("CORRUPTED canary address={canary:#010x} value={value:#010x}");
                }
                let mut console = bulkhead_sdk::console::Console::new();
                let _ = core::fmt::Write::write_fmt(&mut console, format_args!("stopwatch frames={frame} "));
                drop(console);
                write_list("delay=", &worst_delay[..count]);
                write_list(" taken=", &worst_taken[..count]);
                println!();
                // The report's own time is not taken from the window.
                counted = false;
            }
        } else if counted && read - previous > LOOP_TICKS {
            // What the loop itself would have taken is not taken from it.
            taken += read - previous - 1;
        }
        previous = read;
    }
}
