//! Helpers shared by the system tests.

#![allow(dead_code, reason = "each test file uses a different subset")]

use bulkhead_system_tests::log::{Record, kind};
use bulkhead_system_tests::qemu::{Output, Run};
use bulkhead_system_tests::{kernel_image, workspace};

/// Boots system `name` for `frames` major frames and checks the run ended
/// cleanly: QEMU exit 0, the kernel reported the frames, no kernel panic.
pub fn boot(name: &str, frames: u32) -> Output {
    let output = Run::new(kernel_image(name)).frames(frames).run().expect("QEMU runs");
    let panics: Vec<&String> = output.lines.iter().filter(|l| l.starts_with("@kernel-panic")).collect();
    assert!(panics.is_empty(), "kernel panicked: {panics:?}");
    let done = output.lines.iter().filter_map(|l| Record::parse(l)).find(|r| r.kind == kind::FRAMES_DONE);
    assert_eq!(
        done.and_then(|r| r.number("count")),
        Some(frames as u64),
        "the run did not complete {frames} frames; last lines:\n{}",
        output.lines[output.lines.len().saturating_sub(20)..].join("\n")
    );
    assert_eq!(output.status, Some(0), "QEMU exit status");
    output
}

/// The validated description of test system `name`.
pub fn description(name: &str) -> bulkhead_sysgen::System {
    let root = workspace();
    bulkhead_sysgen::load(&root.join("tests/systems").join(format!("{name}.toml")), &root.join("boards"))
        .unwrap_or_else(|problems| panic!("{problems}"))
}
