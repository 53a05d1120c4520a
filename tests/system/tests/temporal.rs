//! Temporal isolation: `tests/systems/temporal.toml` over more than 100 major
//! frames, with a partition spinning with interrupts masked, one faulting on
//! every activation and one halted after its first fault.

mod common;

use bulkhead_system_tests::log::{field, partition_output};

const FRAMES: u32 = 120;

#[test]
fn every_window_starts_on_its_scheduled_tick() {
    let system = common::description("temporal");
    let output = common::boot("temporal", FRAMES);
    common::assert_windows_on_schedule(&system, &output.lines, FRAMES);
}

#[test]
fn misbehaving_partitions_do_not_disturb_the_others() {
    let output = common::boot("temporal", FRAMES);
    let lines = &output.lines;

    // The spinner announced itself once and was preempted in every frame anyway.
    let spinner: Vec<&str> = partition_output(lines, "spinner").collect();
    assert_eq!(spinner, ["spinner: closing my priority mask, masking interrupts and spinning forever"]);

    // Faults happen only inside the faulting partition's own windows.
    common::assert_faults_inside_own_windows(lines);

    // The timekeeper's time only advanced in its own windows: no step between
    // two consecutive reads of CNTVCT ever included another partition's window
    // (each is 15625 ticks long), and it got exactly its share of time.
    let reports: Vec<(u64, u64, u64)> = partition_output(lines, "timekeeper")
        .filter_map(|text| {
            Some((
                field(text, "ticks")?.parse().ok()?,
                field(text, "max-step")?.parse().ok()?,
                field(text, "hvc-ticks")?.parse().ok()?,
            ))
        })
        .collect();
    assert!(reports.len() > 50, "timekeeper reported {} times", reports.len());
    // The step across a switch is the kernel's boundary work counted in the
    // partition's time (measured: 105 ticks with the window trace on).
    for (ticks, max_step, hvc_ticks) in &reports {
        assert!(*max_step < 256, "virtual time jumped by {max_step} ticks across a switch");
        assert!(
            hvc_ticks >= ticks && hvc_ticks - ticks < 64,
            "hypercall time {hvc_ticks} disagrees with CNTVCT {ticks}"
        );
    }
    let window_ticks = 15_625u64;
    let last = reports.last().unwrap().0;
    let own_windows = last / window_ticks;
    assert!(
        (FRAMES as u64 - 3..=FRAMES as u64).contains(&own_windows),
        "after {FRAMES} frames the timekeeper saw {last} ticks = {own_windows} windows of its own"
    );
}
