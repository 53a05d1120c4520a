//! Hypercall argument validation: `tests/systems/hypercalls.toml`.

mod common;

use bulkhead_system_tests::log::{field, kind, partition_output, records};

#[test]
fn bad_hypercall_arguments_get_error_codes_and_never_fault_the_kernel() {
    let output = common::boot("hypercalls", 4);
    let lines = &output.lines;
    let checks: Vec<&str> = partition_output(lines, "hypercalls").filter(|t| t.starts_with("check ")).collect();
    for check in &checks {
        assert_eq!(field(check, "expect"), field(check, "got"), "{check}");
    }
    let names: Vec<&str> = checks.iter().filter_map(|c| field(c, "name")).collect();
    for required in [
        "neighbour-data",
        "neighbour-vault",
        "kernel-data",
        "kernel-code",
        "gic",
        "own-device",
        "runs-off-own-data",
        "wraps-around",
        "longer-than-limit",
        "unknown-call",
        "foreign-hvc-immediate",
        "system-clock",
    ] {
        assert!(names.contains(&required), "missing check {required}: {names:?}");
    }
    let output_lines: Vec<&str> = partition_output(lines, "hypercalls").collect();
    assert!(output_lines.contains(&"done checks=20 failures=0"), "{output_lines:?}");
    // The good writes printed their text; the refused ones printed nothing.
    assert!(output_lines.contains(&"ok-data") && output_lines.contains(&"ok-rodata"));
    assert_eq!(output_lines.len(), checks.len() + 3, "only check lines, the two good writes and `done`");
    assert_eq!(records(lines, kind::FAULT).count(), 0, "no hypercall argument may fault");
    // The neighbour kept running after every refused access.
    let neighbour = partition_output(lines, "neighbour").filter(|t| t.starts_with("canaries ok")).count();
    assert!(neighbour >= 4, "neighbour checks: {neighbour}");
}
