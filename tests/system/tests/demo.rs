//! The demo of `partitions/systems/demo.toml`, as `cargo xtask run --frames`
//! shows it.

mod common;

use bulkhead_system_tests::log::{field, partition_output};

#[test]
fn the_demo_partitions_interleave_by_the_schedule() {
    let output = common::boot("demo", 5);
    let lines = &output.lines;
    assert!(lines[0].starts_with("@boot system=demo"), "{}", lines[0]);

    // The spinner prints once, then masks interrupts and never prints again.
    assert_eq!(partition_output(lines, "spinner").count(), 1);

    // The clock's time advances 2 ms per frame (its window), whatever the
    // others do: 5 frames give lines up to 9.5 ms and no further.
    let clock: Vec<&str> = partition_output(lines, "clock").collect();
    let last = clock.last().expect("clock output");
    assert_eq!(*last, "clock: 9.500 ms of partition time", "{clock:?}");

    // The counter reports every millisecond of its own time: 4 per frame.
    let counter = partition_output(lines, "counter").filter(|t| t.contains("primes below")).count();
    assert_eq!(counter, 20, "counter reports");

    // The partitions take turns: clock, counter, spinner, in every frame.
    let order: Vec<&str> = lines
        .iter()
        .filter_map(|l| bulkhead_system_tests::log::partition_line(l))
        .map(|(who, _)| who)
        .fold(Vec::new(), |mut runs, who| {
            if runs.last() != Some(&who) {
                runs.push(who);
            }
            runs
        });
    assert_eq!(&order[..4], ["clock", "counter", "spinner", "clock"]);
    let _ = field;
}
