//! A C guest from GCC: `tests/systems/c-guest.toml` (and its baseline,
//! `c-guest-baseline.toml`, where a Rust partition has the C guest's window).
//!
//! `partitions/demo-c` is built by `arm-none-eabi-gcc -O2` with no special
//! flags, as a prebuilt ELF linked against the generated `memory.ld` and
//! `c-partition.ld`, with its own start-up code, EL1 MPU, GIC set-up through
//! MMIO and system registers, a 1 kHz virtual-timer tick and three
//! activities at different rates. It reports on its own UART (uart4):
//!
//! `demo-c report ticks=T fast=F medium=M slow=S fpu-checks=C fpu-errors=E elapsed=N spurious=0`
//!
//! The rules checked: every activity ran exactly `T / period` times; the
//! tick follows partition time (`elapsed / ticks-per-tick` is `T`, or `T + 1`
//! with a tick due but not yet taken); all 32 D registers held their
//! pattern across windows of a neighbour that fills them with its own; and
//! its neighbours' window starts and the time they get are within the
//! documented bound and no worse than with a Rust partition in its place
//! (the baseline), to within the stopwatch's one-tick resolution.

mod common;

use bulkhead_system_tests::log::{Record, field, kind, partition_output, records};
use bulkhead_system_tests::qemu::{Output, Run};
use bulkhead_system_tests::{WINDOW_START_BOUND_TICKS, kernel_image};

const FRAMES: u32 = 120;
/// The guest's UART.
const UART: u8 = 4;
/// Activity periods in ticks, as in partitions/demo-c/main.c.
const PERIODS: [(&str, u64); 3] = [("fast", 1), ("medium", 3), ("slow", 7)];
/// Counter ticks per guest tick (1 kHz at the board's 62.5 MHz).
const COUNTS_PER_TICK: u64 = 62_500;

fn boot(name: &str) -> Output {
    let output = Run::new(kernel_image(name)).frames(FRAMES).capture_uart(UART).run().expect("QEMU runs");
    assert_eq!(output.status, Some(0), "QEMU exit status");
    let done = output.lines.iter().filter_map(|l| Record::parse(l)).find(|r| r.kind == kind::FRAMES_DONE);
    assert_eq!(done.and_then(|r| r.number("count")), Some(FRAMES as u64), "frames done");
    output
}

fn number(text: &str, key: &str) -> u64 {
    field(text, key).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no {key} in {text:?}"))
}

#[test]
fn a_gcc_built_guest_runs_its_activities_exactly_in_partition_time() {
    let output = boot("c-guest");
    let lines = &output.lines;
    let faults: Vec<Record> = records(lines, kind::FAULT).collect();
    assert!(faults.is_empty(), "the C guest faulted: {faults:?}");
    assert!(
        partition_output(lines, "c-guest").any(|t| t == "demo-c: C guest running, reports on its own UART"),
        "its console line through bulkhead.h's ConsoleWrite wrapper"
    );
    let uart = output.uarts.get(&UART).expect("uart4 captured");
    assert!(uart.iter().any(|l| l.starts_with("demo-c: c-guest gic-arch=3 timer-hz=62500000")), "{uart:?}");
    let reports: Vec<&String> = uart.iter().filter(|l| l.starts_with("demo-c report ")).collect();
    // 120 frames give it 120 ms of partition time: two reports (every 50
    // ticks), the FPU check every 20 ticks.
    assert!(reports.len() >= 2, "reports: {uart:?}");
    for report in &reports {
        let ticks = number(report, "ticks");
        for (activity, period) in PERIODS {
            assert_eq!(
                number(report, activity),
                ticks / period,
                "{activity} ran exactly ticks/{period} times: {report}"
            );
        }
        let elapsed = number(report, "elapsed");
        let due = elapsed / COUNTS_PER_TICK;
        assert!(due == ticks || due == ticks + 1, "{ticks} ticks in {elapsed} counts of partition time: {report}");
        assert_eq!(number(report, "spurious"), 0, "{report}");
        assert_eq!(number(report, "fpu-errors"), 0, "D registers changed across switches: {report}");
    }
    let last = reports.last().unwrap();
    assert!(number(last, "fpu-checks") >= 3, "the FPU check ran: {last}");
    // The neighbour that fills every register kept its own.
    let context: Vec<&str> = partition_output(lines, "context-a").collect();
    assert!(context.iter().any(|t| t.starts_with("context ok")), "{context:?}");
    assert!(!context.iter().any(|t| t.contains("CORRUPTED")), "{context:?}");
}

#[test]
fn the_c_guest_changes_nothing_for_its_neighbours() {
    let with = boot("c-guest");
    let without = boot("c-guest-baseline");
    for (output, name) in [(&with, "c-guest"), (&without, "c-guest-baseline")] {
        common::assert_windows_on_schedule(&common::description(name), &output.lines, FRAMES);
    }
    // The stopwatch: its worst start delay and worst time taken per window,
    // every ten frames.
    let stopwatch = |output: &Output| -> Vec<(u64, u64)> {
        partition_output(&output.lines, "stopwatch")
            .filter(|t| t.starts_with("stopwatch frames="))
            .map(|t| {
                let first = |key: &str| field(t, key).and_then(|v| v.split(',').next()?.parse().ok()).expect(key);
                (first("delay"), first("taken"))
            })
            .collect()
    };
    let (measured, baseline) = (stopwatch(&with), stopwatch(&without));
    assert!(measured.len() >= 10 && measured.len() == baseline.len(), "{measured:?} vs {baseline:?}");
    let bound = WINDOW_START_BOUND_TICKS + 1;
    for ((delay, taken), (base_delay, base_taken)) in measured.iter().zip(&baseline) {
        assert!(delay + taken <= bound, "after the C guest the stopwatch lost {delay}+{taken} ticks (bound {bound})");
        // No later, and no more time taken, than after a Rust partition in
        // its place, to within the stopwatch's resolution (one tick each).
        assert!(
            *delay <= base_delay + 1 && *taken <= base_taken + 1,
            "the stopwatch's start delay/time taken after the C guest ({delay}/{taken} ticks) is worse than after \
             the Rust stand-in ({base_delay}/{base_taken})"
        );
    }
    // context-a made the same progress in both.
    let rounds =
        |output: &Output| partition_output(&output.lines, "context-a").filter(|t| t.starts_with("context ok")).count();
    assert_eq!(rounds(&with), rounds(&without), "context-a's rounds with and without the C guest");
}
