//! Sampling and queuing ports (`tests/systems/ports.toml`), within a core and
//! across cores, under preemption at every point of the writer, against a
//! rogue reader.
//!
//! What each partition does is in `tests/partitions/test-ports`; the
//! figures each test asserts on are counted by the readers themselves,
//! checking every byte of every value and message they get.

mod common;

use bulkhead_system_tests::log::{Record, field, kind, partition_output};
use bulkhead_system_tests::qemu::Output;
use std::sync::OnceLock;

/// Frames: 120 ms of the sensor writing, about 2 million values.
const FRAMES: u32 = 120;

fn run() -> &'static Output {
    static RUN: OnceLock<Output> = OnceLock::new();
    RUN.get_or_init(|| common::boot_cores("ports", FRAMES, 2))
}

fn number(text: &str, key: &str) -> u64 {
    field(text, key).unwrap_or_else(|| panic!("no {key}= in `{text}`")).parse().expect("a number")
}

/// The sensor's last report, on core 0's console.
fn last_sensor() -> &'static str {
    partition_output(run().console(0), "sensor")
        .filter(|t| t.starts_with("sensor "))
        .last()
        .expect("the sensor reports")
}

/// The last `reader` line of `reader`, on core `core`'s console.
fn last_tally(core: u8, reader: &str) -> String {
    last_line(core, reader, "reader")
}

/// The last `queue` line of `reader`.
fn last_queue(core: u8, reader: &str) -> String {
    last_line(core, reader, "queue")
}

fn last_line(core: u8, reader: &str, what: &str) -> String {
    let lines = run().console(core);
    let prefix = format!("{what} {reader} ");
    partition_output(lines, reader)
        .filter(|text| text.starts_with(&prefix))
        .last()
        .unwrap_or_else(|| panic!("{reader} printed no tally"))
        .to_owned()
}

#[test]
fn no_reader_ever_sees_a_torn_value() {
    let sensor = last_sensor();
    let written = number(sensor, "written");
    assert!(written > 20_000, "the sensor wrote only {written} values: `{sensor}`");
    for (core, reader) in [(0, "control"), (1, "logger")] {
        let tally = last_tally(core, reader);
        assert_eq!(number(&tally, "torn"), 0, "{reader}: {tally}");
        let queue = last_queue(core, reader);
        assert_eq!(number(&queue, "bad"), 0, "{reader}: {queue}");
        assert!(number(&tally, "last") > 0 && number(&tally, "last") <= written + 1_000_000, "{reader}: {tally}");
    }
    // Same core: every read comes right after the sensor's window ended
    // somewhere in a write, and finds the last complete value.
    let control = last_tally(0, "control");
    assert!(number(&control, "reads") >= u64::from(FRAMES) - 2, "control read every window: {control}");
    // Across cores: the logger reads all through the writer's window; each
    // read got a whole value or knew it raced (and raced reads must happen,
    // or this test did not race anything).
    let logger = last_tally(1, "logger");
    assert!(number(&logger, "reads") > 10_000, "{logger}");
    println!("control: {control}\nlogger: {logger}\nsensor: {sensor}");
}

#[test]
fn a_reader_keeps_every_message_unless_its_queue_was_full() {
    // control drains its queue every window: it gets every message, in
    // order, none twice, none torn (a gap or a repeat counts as `bad`).
    let control = last_queue(0, "control");
    assert_eq!(number(&control, "missed"), 0, "{control}");
    assert_eq!(number(&control, "overflows"), 0, "{control}");
    assert!(number(&control, "events") >= 2 * u64::from(FRAMES) - 4, "{control}");
    // logger takes one per window of two sent: its queue overflows, and
    // every message it missed is counted in its overflows (never more
    // missed than counted, checked at each message; at the end at most
    // the messages missed since its last take are not yet seen as a gap).
    let logger = last_queue(1, "logger");
    let (missed, overflows) = (number(&logger, "missed"), number(&logger, "overflows"));
    assert!(missed > 0, "the logger's queue never overflowed: {logger}");
    assert!(missed <= overflows && overflows - missed <= 8, "{logger}");
    assert_eq!(number(&logger, "bad"), 0, "{logger}");
}

#[test]
fn notify_reaches_the_reader_on_the_other_core() {
    let logger = last_queue(1, "logger");
    let notified = number(&logger, "notified");
    // The sensor notifies once per two messages it queues; a ring in flight
    // may collect several notifies into one interrupt, and none is invented.
    let sensor = last_sensor();
    let notifies = number(sensor, "events") / 2;
    assert!(notified >= notifies / 2, "{logger} for {notifies} notifies");
    assert!(notified <= notifies + 4, "{logger} for {notifies} notifies");
}

#[test]
fn a_rogue_reader_is_refused_and_cannot_write() {
    let lines = run().console(0);
    let rogue: Vec<&str> = partition_output(lines, "rogue").collect();
    assert!(!rogue.iter().any(|t| t.contains("ESCAPED")), "{rogue:?}");
    let tries: Vec<&&str> = rogue.iter().filter(|t| t.starts_with("rogue restarts=")).collect();
    assert!(tries.len() > 20, "{rogue:?}");
    for text in &tries {
        for (key, expected) in [("ack-too-far", "bad-argument"), ("ack-nothing", "bad-argument")] {
            assert_eq!(field(text, key), Some(expected), "{key} in `{text}`");
        }
    }
    let calls: Vec<&&str> = rogue.iter().filter(|t| t.starts_with("calls ")).collect();
    assert!(calls.len() > 20, "{rogue:?}");
    for text in &calls {
        for (key, expected) in [
            ("ack-sampling", "denied"),
            ("ack-unknown", "bad-argument"),
            ("notify-events", "denied"),
            ("notify-speed", "denied"),
            ("notify-unknown", "bad-argument"),
        ] {
            assert_eq!(field(text, key), Some(expected), "{key} in `{text}`");
        }
    }
    // Its store into `speed` faults at the EL2 MPU at the window's base, and
    // it is restarted.
    let system = common::description("ports");
    let speed = system.channels.iter().find(|c| c.name == "speed").expect("speed");
    let faults: Vec<Record> = lines
        .iter()
        .filter_map(|l| Record::parse(l))
        .filter(|r| r.kind == kind::FAULT && r.subject == Some("rogue"))
        .collect();
    assert!(faults.len() >= 5, "{faults:?}");
    for fault in &faults {
        assert_eq!(fault.field("class"), Some("stage2-data-abort"), "{fault:?}");
        assert_eq!(fault.number("address"), Some(u64::from(speed.window.base)), "{fault:?}");
    }
    let restarts = lines
        .iter()
        .filter_map(|l| Record::parse(l))
        .filter(|r| r.kind == kind::RESTART && r.subject == Some("rogue"))
        .count();
    assert!(restarts >= faults.len() - 1, "rogue restarted {restarts} times for {} faults", faults.len());
    // Its queue stays full and the others do not notice (above); its
    // overflow count grows.
    let last = tries.last().expect("a try");
    assert!(number(last, "overflows") > 10, "{last}");
    assert_eq!(number(last, "pending"), 4, "{last}");
}

#[test]
#[ignore = "debugging aid: prints both consoles"]
fn print_consoles() {
    for core in 0..2 {
        for line in run().console(core) {
            println!("[core {core}] {line}");
        }
    }
}
