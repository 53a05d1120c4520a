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

/// Both cores' kernels on one console UART, each core's console flooded by
/// a partition (`tests/systems/shared-console.toml`): every line that
/// arrives is one whole line of one core (a kernel record that parses, with its core's
/// fields, or a partition's line), and both cores' logs are complete.
#[test]
fn cores_sharing_one_console_write_whole_lines() {
    const FRAMES: u32 = 40;
    let output =
        Run::new(kernel_image("shared-console")).cores(2).capture_uart(2).frames(FRAMES).run().expect("QEMU runs");
    let lines = output.uarts.get(&2).map_or(&[][..], Vec::as_slice);
    assert_eq!(output.status, Some(0), "QEMU exit status; last lines:\n{}", tail(lines));
    let partitions = ["clock", "atk-console", "clock-c1", "atk-console-c1", "pacer"];
    let mut done = [false; 2];
    let mut windows = [0u32; 2];
    let mut partition_lines = [0u32; 5];
    for line in lines {
        if line.starts_with('@') {
            let record = Record::parse(line).unwrap_or_else(|| panic!("a kernel line cut or mixed: {line:?}"));
            assert_eq!(line.matches('@').count(), 1, "two records in one line: {line:?}");
            if record.kind == kind::FRAMES_DONE {
                let core = record.number("core").expect("core=") as usize;
                assert_eq!(record.number("count"), Some(FRAMES as u64), "{line}");
                done[core] = true;
            }
            if record.kind == kind::WINDOW {
                let owner = record.field("owner").expect("owner=");
                if owner != "pacer" {
                    windows[owner.ends_with("-c1") as usize] += 1;
                }
            }
        } else {
            let (name, text) = line
                .strip_prefix('[')
                .and_then(|rest| rest.split_once("] "))
                .unwrap_or_else(|| panic!("neither a record nor a partition line (cut or mixed): {line:?}"));
            let index = partitions.iter().position(|p| *p == name).unwrap_or_else(|| panic!("{line:?}"));
            // The flood's text is random bytes; another line's start inside
            // it is not.
            for other in ["@window", "@frames-done", "@boot", "[clock", "[atk-console", "[pacer"] {
                assert!(!text.contains(other), "another line inside: {line:?}");
            }
            partition_lines[index] += 1;
        }
    }
    assert_eq!(done, [true, true], "both cores finished their run:\n{}", tail(lines));
    // Every window start is traced, or counted among its core's dropped
    // console events (`console-dropped`): none is lost unreported.
    for (core, traced) in windows.iter().enumerate() {
        let dropped = lines
            .iter()
            .filter_map(|l| Record::parse(l))
            .find(|r| r.kind == kind::FRAMES_DONE && r.number("core") == Some(core as u64))
            .and_then(|r| r.number("console-dropped"))
            .expect("console-dropped=");
        assert!(*traced as u64 + dropped >= 2 * FRAMES as u64, "core {core}: {traced} windows, {dropped} dropped");
    }
    assert!(partition_lines[..4].iter().all(|n| *n > 0), "every partition's lines arrived: {partition_lines:?}");
}

fn tail(lines: &[String]) -> String {
    lines[lines.len().saturating_sub(20)..].join("\n")
}
