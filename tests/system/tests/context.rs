//! EL1 context integrity: `tests/systems/context.toml`.
//!
//! Two partitions keep every register the kernel switches (general, banked,
//! D0-D31, FPSCR, EL1 system registers, the EL1 MPU, the virtual timer
//! compare value) loaded with their own patterns while being switched in and
//! out every 100 us, and check them after each round. A register the kernel
//! forgot to save or restore shows up as the other partition's pattern.

mod common;

use bulkhead_system_tests::log::partition_output;

#[test]
fn every_switched_register_survives_other_partitions_running() {
    let frames = 30;
    let output = common::boot("context", frames);
    for partition in ["context-a", "context-b"] {
        let lines: Vec<&str> = partition_output(&output.lines, partition).collect();
        let corrupted: Vec<&&str> = lines.iter().filter(|l| !l.starts_with("context ok")).collect();
        assert!(corrupted.is_empty(), "{partition}: {corrupted:#?}");
        // Each round spins through about three of its 100 us windows, so
        // every round crossed at least two switches.
        assert!(lines.len() >= 8, "{partition} completed only {} rounds in {frames} frames", lines.len());
    }
}
