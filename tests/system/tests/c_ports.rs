//! Ports between a C partition and Rust ones (`tests/systems/c-ports.toml`):
//! `c-ports` (`tests/partitions/c-ports`, GCC -O2) uses only `bulkhead.h`'s
//! port functions; its peers are `tests/partitions/test-ports` over the
//! Rust SDK. Both directions, sampling and queuing, through windows the EL2
//! MPU maps read/write into the writer and read-only into the readers, on
//! one core and across the two.
//!
//! Each side counts what it gets, checking every byte of every value and
//! message against the sender's pattern; the tests assert on those counts.

mod common;

use bulkhead_system_tests::log::{field, partition_output};
use bulkhead_system_tests::qemu::Output;
use std::sync::OnceLock;

/// Frames: 120 ms.
const FRAMES: u32 = 120;

fn run() -> &'static Output {
    static RUN: OnceLock<Output> = OnceLock::new();
    RUN.get_or_init(|| common::boot_cores("c-ports", FRAMES, 2))
}

fn number(text: &str, key: &str) -> u64 {
    field(text, key).unwrap_or_else(|| panic!("no {key}= in `{text}`")).parse().expect("a number")
}

/// The last line of partition `who` on core `core` starting with `prefix`.
fn last(core: u8, who: &str, prefix: &str) -> String {
    partition_output(run().console(core), who)
        .filter(|text| text.starts_with(prefix))
        .last()
        .unwrap_or_else(|| panic!("{who} printed no `{prefix}` line"))
        .to_owned()
}

#[test]
fn the_c_partition_opens_its_ports_from_partition_h() {
    let lines: Vec<&str> = partition_output(run().console(0), "c-ports").collect();
    assert!(lines.contains(&"c-ports open"), "{lines:?}");
}

#[test]
fn a_c_reader_gets_whole_values_from_a_rust_writer() {
    let sensor = last(0, "sensor", "sensor ");
    let written = number(&sensor, "written");
    assert!(written > 10_000, "the sensor wrote only {written} values: `{sensor}`");
    // Every window, right after the sensor was preempted somewhere in a
    // write: the last complete value, whole, never an older one.
    let reader = last(0, "c-ports", "c-reader ");
    assert_eq!(number(&reader, "torn"), 0, "{reader}");
    assert_eq!(number(&reader, "bad"), 0, "{reader}");
    assert_eq!(number(&reader, "stale"), 0, "{reader}");
    assert!(number(&reader, "reads") >= u64::from(FRAMES) - 8, "{reader}");
    assert!(number(&reader, "last") > 0 && number(&reader, "last") <= written + 1_000_000, "{reader}");
    println!("c-ports: {reader}\nsensor: {sensor}");
}

#[test]
fn a_c_receiver_gets_every_message_from_a_rust_sender_in_order() {
    let queue = last(0, "c-ports", "c-queue ");
    assert_eq!(number(&queue, "missed"), 0, "{queue}");
    assert_eq!(number(&queue, "overflows"), 0, "{queue}");
    assert_eq!(number(&queue, "bad"), 0, "{queue}");
    assert!(number(&queue, "events") >= 2 * u64::from(FRAMES) - 16, "{queue}");
}

#[test]
fn rust_readers_get_whole_values_from_a_c_writer_on_both_cores() {
    let writer = last(0, "c-ports", "c-writer ");
    let written = number(&writer, "written");
    assert!(written > 10_000, "the C writer wrote only {written} values: `{writer}`");
    // Same core, right after the C writer's window ended in a write.
    let control = last(0, "c-control", "reader c-control ");
    assert_eq!(number(&control, "torn"), 0, "{control}");
    assert!(number(&control, "reads") >= u64::from(FRAMES) - 8, "{control}");
    assert!(number(&control, "last") > 0, "{control}");
    // The other core, reading all through the C writer's window.
    let logger = last(1, "c-logger", "reader c-logger ");
    assert_eq!(number(&logger, "torn"), 0, "{logger}");
    assert!(number(&logger, "reads") > 10_000, "{logger}");
    assert!(number(&logger, "last") > 0, "{logger}");
    println!("c-writer: {writer}\nc-control: {control}\nc-logger: {logger}");
}

#[test]
fn a_c_sender_queues_to_rust_receivers_and_counts_their_overflows() {
    // c-control drains every window: every message, in order.
    let control = last(0, "c-control", "queue c-control ");
    assert_eq!(number(&control, "missed"), 0, "{control}");
    assert_eq!(number(&control, "overflows"), 0, "{control}");
    assert_eq!(number(&control, "bad"), 0, "{control}");
    assert!(number(&control, "events") >= 2 * u64::from(FRAMES) - 16, "{control}");
    // c-logger takes one of two per window: its ring fills, the C sender
    // sees Full and counts each message it missed in its overflows.
    let logger = last(1, "c-logger", "queue c-logger ");
    let (missed, overflows) = (number(&logger, "missed"), number(&logger, "overflows"));
    assert!(missed > 0, "c-logger's queue never overflowed: {logger}");
    assert!(missed <= overflows && overflows - missed <= 8, "{logger}");
    assert_eq!(number(&logger, "bad"), 0, "{logger}");
    let writer = last(0, "c-ports", "c-writer ");
    assert!(number(&writer, "full") > 0, "the C sender never saw a full queue: {writer}");
}

#[test]
fn a_c_writers_notify_reaches_the_reader_on_the_other_core() {
    let writer = last(0, "c-ports", "c-writer ");
    assert_eq!(number(&writer, "notify"), 0, "PortNotify from C: {writer}");
    let notifies = number(&writer, "events") / 2;
    let logger = last(1, "c-logger", "queue c-logger ");
    let notified = number(&logger, "notified");
    assert!(notified >= notifies / 2, "{logger} for {notifies} notifies");
    assert!(notified <= notifies + 4, "{logger} for {notifies} notifies");
}
