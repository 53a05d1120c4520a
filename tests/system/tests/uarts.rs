//! Every UART given to a partition is visible: to `cargo xtask run` (the
//! `bulkhead_system_tests::uarts` path it takes) and to a system test.
//! System `tests/systems/uarts.toml`: an echo partition on uart3 and two
//! writers, on uart4 and uart5, whose lines are cut by window switches.

mod common;

use bulkhead_system_tests::kernel_image;
use bulkhead_system_tests::log::{Record, kind};
use bulkhead_system_tests::qemu::{Output, Run};
use bulkhead_system_tests::uarts::{PartitionUart, Uarts};
use bulkhead_system_tests::workspace;
use std::time::Duration;

/// Frames for both writers to finish: each writes 20 lines of about 60
/// bytes at one byte per 120 ticks of its time, about 12 of its 200 us
/// windows.
const FRAMES: u32 = 20;

/// What the writer on `device` (partition `name`) sends, in order.
fn expected(device: &str, name: &str) -> Vec<String> {
    (1..=20).map(|line| format!("{device} line {line}/20 from {name}: abcdefghijklmnopqrstuvwxyz")).collect()
}

fn demo_system(name: &str) -> bulkhead_sysgen::System {
    let root = workspace();
    bulkhead_sysgen::load(&root.join("partitions/systems").join(format!("{name}.toml")), &root.join("boards"))
        .unwrap_or_else(|problems| panic!("{problems}"))
}

/// The run completed its frames and both writers said they were done.
fn assert_complete(output: &Output) {
    let done = output.lines.iter().filter_map(|l| Record::parse(l)).find(|r| r.kind == kind::FRAMES_DONE);
    assert_eq!(done.and_then(|r| r.number("count")), Some(FRAMES as u64), "frames done");
    assert_eq!(output.status, Some(0), "QEMU exit status");
    for (name, device) in [("writer-a", "uart4"), ("writer-b", "uart5")] {
        let line = format!("[{name}] writer: done, 20 lines on {device}");
        assert!(output.lines.contains(&line), "{name} did not finish in {FRAMES} frames: no `{line}`");
    }
}

#[test]
fn the_partition_uarts_are_found_and_typing_goes_to_the_chosen_one() {
    let system = common::description("uarts");
    let uart = |device: &str, serial, partition: &str| PartitionUart {
        device: device.into(),
        serial,
        partition: partition.into(),
    };
    let uarts = Uarts::of(&system, None).expect("uarts");
    assert_eq!(uarts.shown, [uart("uart3", 3, "echo"), uart("uart4", 4, "writer-a"), uart("uart5", 5, "writer-b")]);
    assert_eq!(uarts.input, Some(0), "no uart2: typing goes to the first shown");
    assert_eq!(
        uarts.announcement(),
        "partition UARTs shown, each line after its name in brackets: uart3 (partition `echo`), uart4 (partition \
         `writer-a`), uart5 (partition `writer-b`); what you type goes to uart3 (choose with --input \
         uart3|uart4|uart5|none)"
    );
    assert_eq!(Uarts::of(&system, Some("uart5")).expect("uart5").input, Some(2));
    assert_eq!(Uarts::of(&system, Some("none")).expect("none").input, None);
    for refused in ["uart2", "uart0", "dualtimer", "UART3"] {
        let error = Uarts::of(&system, Some(refused)).expect_err(refused).to_string();
        assert_eq!(
            error,
            format!(
                "--input {refused}: `{refused}` is not a UART of a partition of system `uarts`; choose one of: \
                 uart3, uart4, uart5, none"
            )
        );
    }

    // The demo: uart2, to which typing goes, as before, and the C guest's
    // uart4.
    let demo = Uarts::of(&demo_system("demo"), None).expect("demo");
    assert_eq!(demo.shown, [uart("uart2", 2, "echo"), uart("uart4", 4, "c")]);
    assert_eq!(demo.input, Some(0));

    // The AMP demo's uart3 carries doorbells: not shown, and said so.
    let amp_system = demo_system("amp");
    let amp = Uarts::of(&amp_system, None).expect("amp");
    assert!(amp.shown.is_empty() && amp.input.is_none(), "{amp:?}");
    assert_eq!(amp.doorbells, [("uart3".to_owned(), "linux".to_owned())]);
    assert!(amp.announcement().contains("uart3 is not shown: it carries the doorbells of VIRTIO link `linux`"));
    let error = Uarts::of(&amp_system, Some("uart3")).expect_err("doorbells").to_string();
    assert!(error.contains("`uart3` carries the doorbells of VIRTIO link `linux`"), "{error}");
}

/// What `cargo xtask run` prints: the lines each writer sends on its UART
/// arrive whole, in order, after the UART's name, although window switches
/// cut many of them and the other writer and the console print between
/// their bytes; and only those.
#[test]
fn cargo_xtask_run_shows_uart4_and_uart5_line_by_line() {
    let uarts = Uarts::of(&common::description("uarts"), None).expect("uarts");
    let run = uarts.connect(Run::new(kernel_image("uarts")).frames(FRAMES));
    let mut printed = Vec::new();
    let output = run.run_with(Some(&mut |source, line| printed.push(uarts.line(source, line)))).expect("QEMU runs");
    assert_complete(&output);
    for (device, name) in [("uart4", "writer-a"), ("uart5", "writer-b")] {
        let prefix = format!("[{device}] ");
        let shown: Vec<&str> = printed.iter().filter_map(|line| line.strip_prefix(&prefix)).collect();
        assert_eq!(shown, expected(device, name), "what cargo xtask run shows of {device}");
    }
    let echoed: Vec<&String> = printed.iter().filter(|line| line.starts_with("[uart3] ")).collect();
    assert!(echoed.is_empty(), "nothing was typed, yet uart3 showed {echoed:?}");
    // Everything else printed is the console, line for line.
    let console: Vec<&String> = printed.iter().filter(|line| !line.starts_with("[uart")).collect();
    assert_eq!(console, output.lines.iter().collect::<Vec<_>>());
}

/// A system test reads any UART: here uart5 alone, with ports 1 to 4 left
/// unconnected before it.
#[test]
fn a_system_test_reads_uart5_alone() {
    let output = Run::new(kernel_image("uarts")).frames(FRAMES).capture_uart(5).run().expect("QEMU runs");
    assert_complete(&output);
    assert_eq!(output.uarts.keys().copied().collect::<Vec<_>>(), [5], "only uart5 is captured");
    assert_eq!(output.uarts[&5], expected("uart5", "writer-b"));
}

/// What is typed reaches the UART `--input` chooses, uart3 here, through
/// its partition; a session reads the others while it runs.
#[test]
fn typing_reaches_the_chosen_uart3_and_a_session_reads_uart4() {
    let patience = Duration::from_secs(120);
    let uarts = Uarts::of(&common::description("uarts"), Some("uart3")).expect("uarts");
    let mut session = uarts.connect(Run::new(kernel_image("uarts"))).start().expect("QEMU starts");
    session.wait_for("echo: type into uart3", patience).expect("the echo partition starts");
    session.send_uart(3, b"typed into uart3\n").expect("send");
    let echoed = session.wait_for_uart(3, "typed", patience).expect("uart3 echoes");
    let report = session.wait_for("echo: line", patience).expect("the echo partition reports the line");
    session.wait_for_uart(4, "line 20/20", patience).expect("writer-a's last line");
    let output = session.stop();
    assert_eq!(echoed, "typed into uart3");
    assert!(report.ends_with("echo: line \"typed into uart3\" (16 bytes, 17 echoed so far)"), "{report}");
    assert_eq!(output.uarts[&3], ["typed into uart3"]);
    assert_eq!(output.uarts[&4], expected("uart4", "writer-a"));
}

/// QEMU's serial ports go in order, so a captured uart4 needs ports 1 to 3
/// given (as null here, or as a served socket), and a captured port holds
/// the guest until the run is connected (`wait=on`), so its first byte is
/// never lost to the host being slow; a served one does not.
#[test]
fn captured_uarts_hold_the_guest_and_earlier_ports_are_filled() {
    let run = Run::new("bulkhead.elf").capture_uart(4).serve_uart(2);
    let command = run.command().expect("a command line");
    let arguments: Vec<String> = command.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
    let serial: Vec<&str> =
        arguments.windows(2).filter(|pair| pair[0] == "-serial").map(|pair| pair[1].as_str()).collect();
    let socket = |n| run.uart_socket(n).display().to_string();
    assert_eq!(
        serial,
        [
            "stdio".to_owned(),
            "null".to_owned(),
            format!("unix:{},server=on,wait=off", socket(2)),
            "null".to_owned(),
            format!("unix:{},server=on,wait=on", socket(4)),
        ]
    );
    let error = Run::new("bulkhead.elf").capture_uart(0).command().expect_err("uart0 is the console").to_string();
    assert!(error.contains("uart0 (serial port 0) is the kernel console"), "{error}");
    let error = Run::new("bulkhead.elf").capture_uart(3).serve_uart(3).command().expect_err("both").to_string();
    assert!(error.contains("uart3 cannot be both served"), "{error}");
}
