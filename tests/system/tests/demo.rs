//! The demo of `partitions/systems/demo.toml`, as `cargo xtask run --frames`
//! shows it.

mod common;

use bulkhead_system_tests::log::{field, kind, partition_line, partition_output, records};
use bulkhead_system_tests::qemu::Run;
use std::io::{Read, Write};
use std::time::Duration;

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

    // The counter reports every millisecond of its own time: 2 per frame.
    let counter = partition_output(lines, "counter").filter(|t| t.contains("primes below")).count();
    assert_eq!(counter, 10, "counter reports");

    // The C guest (GCC, -O2) started; it reports on uart4 (c_guest.rs).
    assert!(partition_output(lines, "c").any(|t| t.starts_with("demo-c: C guest running")));
    assert!(records(lines, kind::FAULT).next().is_none(), "no partition faulted");

    // The partitions take turns in schedule order, in every frame.
    let order: Vec<&str> =
        lines.iter().filter_map(|l| partition_line(l)).map(|(who, _)| who).fold(Vec::new(), |mut runs, who| {
            if runs.last() != Some(&who) {
                runs.push(who);
            }
            runs
        });
    assert_eq!(&order[..7], ["clock", "counter", "spinner", "embassy", "echo", "c", "clock"]);
}

/// The embassy executor, unmodified, sleeps on partition time: in 20 frames
/// it has 40 ms of it, so its 1 ms task wakes about 40 times, its 2.5 ms task
/// about 16 times and its 7 ms task 5 times, each within a few microseconds
/// of its deadline even though the partition is switched out 80% of the time.
#[test]
fn embassy_tasks_wake_on_partition_time() {
    let output = common::boot("demo", 20);
    let wakes: Vec<(&str, u64, u64, u64)> = partition_output(&output.lines, "embassy")
        .filter(|text| text.starts_with("task="))
        .map(|text| {
            let number = |key| field(text, key).and_then(|v| v.parse().ok()).expect("numeric field");
            (field(text, "task").expect("task"), number("wake"), number("period-us"), number("late-us"))
        })
        .collect();
    for (task, period_us, expected) in [("fast", 1_000, 39..=40), ("medium", 2_500, 15..=16), ("slow", 7_000, 5..=5)] {
        let mine: Vec<_> = wakes.iter().filter(|w| w.0 == task).collect();
        assert!(expected.contains(&(mine.len() as u64)), "{task}: {} wakes in 40 ms: {mine:?}", mine.len());
        for (index, wake) in mine.iter().enumerate() {
            assert_eq!(wake.1, index as u64 + 1, "{task}: wakes counted in order");
            assert_eq!(wake.2, period_us);
            assert!(wake.3 <= 50, "{task} wake {} was {} us late", wake.1, wake.3);
        }
    }
}

/// Bytes sent to `uart2` reach only the echo partition, through its receive
/// interrupt, and come back unchanged; the partition reports the line.
///
/// Paced by the guest: the bytes go out once the partition says it is
/// ready, and the test waits for all of them to come back and for the
/// report, however slow the host is.
#[test]
fn echo_partition_answers_on_its_own_uart() {
    let sent = b"hello bulkhead\n";
    let patience = Duration::from_secs(120);
    let run = Run::new(bulkhead_system_tests::kernel_image("demo")).serve_uart(2);
    let mut session = run.start().expect("QEMU starts");
    session.wait_for("echo: type into uart2", patience).expect("the echo partition starts");
    let mut uart2 = session.uart(2, patience).expect("uart2");
    uart2.write_all(sent).expect("send");
    let mut back = vec![0u8; sent.len()];
    if let Err(error) = uart2.read_exact(&mut back) {
        let lines = session.drain().to_vec();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        panic!("not every byte came back ({error}); back so far {back:?}; console:\n{tail}");
    }
    let report = session.wait_for("echo: line", patience).expect("the partition reports the line");
    let lines = session.stop().lines;
    assert_eq!(back, sent, "uart2 echoed {:?}", String::from_utf8_lossy(&back));
    assert!(report.ends_with("echo: line \"hello bulkhead\" (14 bytes, 15 echoed so far)"), "{report}");
    assert_eq!(partition_output(&lines, "echo").filter(|t| t.starts_with("echo: line")).count(), 1);
}

/// The demo on both cores (`partitions/systems/demo-2core.toml`): each
/// partition runs on its own core and logs on that core's console, core 0's
/// partitions keep exactly the progress they have on one core, and the
/// echo partition on core 1 answers on uart2 through its receive interrupt,
/// routed to core 1.
#[test]
fn the_demo_on_two_cores_runs_each_partition_on_its_own_core() {
    let output = common::boot_cores("demo-2core", 5, 2);
    let core0 = output.console(0);
    let core1 = output.console(1);
    for (lines, own, others) in [
        (core0, ["clock", "counter", "spinner"], ["embassy", "echo", "c"]),
        (core1, ["embassy", "echo", "c"], ["clock", "counter", "spinner"]),
    ] {
        for name in own {
            assert!(partition_output(lines, name).next().is_some(), "{name} printed nothing on its core's console");
        }
        for name in others {
            assert!(partition_output(lines, name).next().is_none(), "{name} printed on the other core's console");
        }
        assert!(records(lines, kind::FAULT).next().is_none(), "no partition faulted");
    }
    // Core 0's clock and counter progress exactly as on one core: 2 ms of
    // partition time per frame.
    let clock: Vec<&str> = partition_output(core0, "clock").collect();
    assert_eq!(clock.last().copied(), Some("clock: 9.500 ms of partition time"), "{clock:?}");
    assert_eq!(partition_output(core0, "spinner").count(), 1);
    assert!(partition_output(core1, "c").any(|t| t.starts_with("demo-c: C guest running")));
    assert!(partition_output(core1, "embassy").any(|t| t.starts_with("task=fast wake=")), "embassy's tasks woke");

    let sent = b"hello core 1\n";
    let patience = Duration::from_secs(120);
    let run = Run::new(bulkhead_system_tests::kernel_image("demo-2core")).cores(2).console_on(1).serve_uart(2);
    let mut session = run.start().expect("QEMU starts");
    session.wait_for("echo: type into uart2", patience).expect("the echo partition starts on core 1");
    let mut uart2 = session.uart(2, patience).expect("uart2");
    uart2.write_all(sent).expect("send");
    let mut back = vec![0u8; sent.len()];
    uart2.read_exact(&mut back).expect("every byte comes back");
    let report = session.wait_for("echo: line", patience).expect("the partition reports the line");
    assert_eq!(back, sent);
    assert!(report.contains("echo: line \"hello core 1\""), "{report}");
}
