//! Robustness: `tests/systems/chaos.toml`. A partition executes
//! pseudo-random instruction words and hypercalls at EL1, is restarted after
//! every fault, and must neither stop the kernel nor move anyone's window.

mod common;

use bulkhead_system_tests::log::{field, kind, partition_output, records};
use std::collections::BTreeSet;

#[test]
fn random_instructions_at_el1_never_stop_the_kernel_or_move_a_window() {
    let frames = 300;
    let system = common::description("chaos");
    // `boot` already requires every frame to complete and no kernel panic.
    let output = common::boot("chaos", frames);
    let lines = &output.lines;

    common::assert_windows_on_schedule(&system, lines, frames);
    common::assert_faults_inside_own_windows(lines);

    // The chaos partition was restarted with a fresh seed again and again.
    let activations: Vec<u64> =
        partition_output(lines, "chaos").filter_map(|t| field(t, "activation")?.parse().ok()).collect();
    assert!(activations.len() >= 250, "only {} activations in {frames} frames", activations.len());
    assert!(activations.windows(2).all(|w| w[1] == w[0] + 1), "activations in order, none lost");

    // What the random code ran into, all contained: stage-2 aborts, trapped
    // coprocessor accesses, and EL1 exceptions whose vector fetch faults.
    let classes: BTreeSet<&str> =
        records(lines, kind::FAULT).filter(|r| r.subject == Some("chaos")).filter_map(|r| r.field("class")).collect();
    for expected in ["stage2-data-abort", "stage2-prefetch-abort", "trapped-cp15"] {
        assert!(classes.contains(expected), "no {expected} among {classes:?}");
    }

    // The neighbour never noticed.
    let victim: Vec<&str> = partition_output(lines, "victim").collect();
    assert!(victim.iter().all(|t| t.starts_with("canaries ok")), "victim: {victim:?}");
    assert!(victim.len() >= frames as usize - 1, "victim ran {} times", victim.len());
}
