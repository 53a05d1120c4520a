//! Helpers shared by the system tests.

#![allow(dead_code, reason = "each test file uses a different subset")]

use bulkhead_system_tests::log::{Record, kind, window_starts};
use bulkhead_system_tests::qemu::{Output, Run};
use bulkhead_system_tests::{kernel_image, workspace};

/// Boots system `name` for `frames` major frames and checks the run ended
/// cleanly: QEMU exit 0, the kernel reported the frames, no kernel panic.
pub fn boot(name: &str, frames: u32) -> Output {
    boot_cores(name, frames, 1)
}

/// [`boot`] for a system on `cores` cores (`-smp`): every core's console
/// is checked the same way.
pub fn boot_cores(name: &str, frames: u32, cores: u8) -> Output {
    let output = Run::new(kernel_image(name)).cores(cores).frames(frames).run().expect("QEMU runs");
    for core in 0..cores {
        let lines = output.console(core);
        let panics: Vec<&String> = lines.iter().filter(|l| l.starts_with("@kernel-panic")).collect();
        assert!(panics.is_empty(), "core {core}'s kernel panicked: {panics:?}");
        let done = lines.iter().filter_map(|l| Record::parse(l)).find(|r| r.kind == kind::FRAMES_DONE);
        assert_eq!(
            done.and_then(|r| r.number("count")),
            Some(frames as u64),
            "core {core} did not complete {frames} frames; last lines:\n{}",
            lines[lines.len().saturating_sub(20)..].join("\n")
        );
        assert_eq!(done.and_then(|r| r.number("core")), Some(core as u64), "core {core}'s console is its own");
    }
    assert_eq!(output.status, Some(0), "QEMU exit status");
    output
}

/// The validated description of the demo system `name`
/// (`partitions/systems/NAME.toml`).
pub fn demo_description(name: &str) -> bulkhead_sysgen::System {
    let root = workspace();
    bulkhead_sysgen::load(&root.join("partitions/systems").join(format!("{name}.toml")), &root.join("boards"))
        .unwrap_or_else(|problems| panic!("{problems}"))
}

/// The validated description of test system `name`.
pub fn description(name: &str) -> bulkhead_sysgen::System {
    let root = workspace();
    bulkhead_sysgen::load(&root.join("tests/systems").join(format!("{name}.toml")), &root.join("boards"))
        .unwrap_or_else(|problems| panic!("{problems}"))
}

/// Kernel entry latency allowed between a window's scheduled tick and the
/// tick the kernel observes on entry: the documented bound on the kernel
/// path a boundary can wait for (`KERNEL_PATH_BOUND_TICKS`, 50 ticks). Seen:
/// 0 after an idle window or a faulted partition, 1 when a running partition
/// (even one spinning with interrupts masked) is preempted, more when a
/// boundary falls inside a hypercall or a trapped access.
pub const MAX_ENTRY_TICKS: u64 = bulkhead_system_tests::KERNEL_PATH_BOUND_TICKS;

/// Checks the traced window starts of a run of `frames` frames against the
/// schedule of `system`: every window of every frame traced once, in order,
/// with its owner, scheduled at exactly `epoch + frame * major_frame +
/// offset`, and observed no more than [`MAX_ENTRY_TICKS`] later.
pub fn assert_windows_on_schedule(system: &bulkhead_sysgen::System, lines: &[String], frames: u32) {
    let schedule = &system.schedules[0];
    let starts = window_starts(lines);
    let per_frame = schedule.windows.len() as u64;
    // The boundary that completes the last frame ends the run, so frames
    // 0..frames are complete.
    let complete: Vec<_> = starts.iter().filter(|s| s.frame < frames as u64).collect();
    assert_eq!(complete.len() as u64, frames as u64 * per_frame, "one trace line per window per frame");
    let epoch = complete[0].scheduled;
    for (position, start) in complete.iter().enumerate() {
        let (frame, index) = (position as u64 / per_frame, position as u64 % per_frame);
        assert_eq!((start.frame, start.index), (frame, index), "windows in schedule order");
        let window = &schedule.windows[index as usize];
        let owner = window.partition.map_or("idle", |p| system.partitions[p].name.as_str());
        assert_eq!(start.owner, owner);
        assert_eq!(
            start.scheduled,
            epoch + frame * schedule.major_frame + window.offset,
            "frame {frame} window {index}: the schedule must not drift"
        );
        let late = start.observed.checked_sub(start.scheduled).expect("a window never starts early");
        assert!(late <= MAX_ENTRY_TICKS, "frame {frame} window {index} ({owner}) started {late} ticks late");
    }
}

/// Checks that every fault record names the owner of the window it appears in.
pub fn assert_faults_inside_own_windows(lines: &[String]) {
    let mut current_owner = String::new();
    for line in lines {
        let Some(record) = Record::parse(line) else { continue };
        match record.kind {
            kind::WINDOW => current_owner = record.field("owner").unwrap_or_default().to_owned(),
            kind::FAULT => {
                assert_eq!(record.subject, Some(current_owner.as_str()), "fault outside the owner's window: {line}")
            }
            _ => {}
        }
    }
}
