//! A board file the hardware contradicts: `tests/systems/board-mismatch.toml`
//! on `tests/systems/boards/an536-wrong-mpu` (12 EL1 MPU regions claimed;
//! the AN536's MPUIR reports 16).
//!
//! The rule checked: each core compares the facts the kernel's isolation
//! rests on (EL2 and EL1 MPU regions, FP registers, counter frequency;
//! `kernel_core::board_check`) with its identification registers before it
//! runs anything, and stops with a record naming the fact and both values.
//! Four EL1 regions the switch did not know of would carry one partition's
//! mappings into the next.

mod common;

use bulkhead_system_tests::kernel_image;
use bulkhead_system_tests::log::{Record, kind};
use bulkhead_system_tests::qemu::Run;

#[test]
fn a_board_file_the_hardware_contradicts_stops_the_kernel_at_boot() {
    let output = Run::new(kernel_image("board-mismatch")).frames(4).run().expect("QEMU runs");
    let lines = &output.lines;
    let panics: Vec<Record> =
        lines.iter().filter_map(|l| Record::parse(l)).filter(|r| r.kind == kind::KERNEL_PANIC).collect();
    let [panic] = panics.as_slice() else { panic!("one kernel panic expected:\n{}", lines.join("\n")) };
    assert_eq!(panic.field("reason"), Some("board-mismatch"), "{panic:?}");
    assert_eq!(panic.field("fact"), Some("el1-mpu-regions"));
    assert_eq!(panic.number("board"), Some(12));
    assert_eq!(panic.number("hardware"), Some(16));
    assert_eq!(panic.number("core"), Some(0));
    for record in lines.iter().filter_map(|l| Record::parse(l)) {
        assert!(![kind::WINDOW, kind::FRAMES_DONE, kind::BOOT].contains(&record.kind), "nothing ran: {record:?}");
    }
    assert!(lines.iter().all(|l| !l.starts_with("[clock]")), "the partition never ran:\n{}", lines.join("\n"));
    assert_ne!(output.status, Some(0), "the run fails");
}
