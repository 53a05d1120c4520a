//! `[[schedule]]`: each core's major frame and windows.
//!
//! Owns the checks of every schedule and their messages: its core (one the
//! board has, one schedule each, only core 0 so far), a major frame and
//! window durations that are whole, non-zero numbers of timer ticks, windows
//! that fit the frame, each window's partition (known, on the schedule's
//! core), and every partition having a window. It converts durations to
//! ticks and fills the rest of each frame with an idle window.
//!
//! It must never reorder, merge or stretch the windows as written: the
//! schedule runs exactly as described.

use super::{Checker, PartitionNames};
use crate::model::*;
use crate::raw;
use bulkhead_kernel_core::schedule::ticks_from_nanos;

/// Checks every schedule and returns them in ticks.
pub(super) fn build(
    checker: &mut Checker,
    file: &raw::SystemFile,
    board: &Board,
    names: &PartitionNames,
    partitions: &[Partition],
) -> Vec<Schedule> {
    let hz = board.timer_hz;
    let mut schedules = Vec::new();
    let mut has_window = vec![false; file.partitions.len()];
    // Without partitions there is nothing to schedule; that was reported.
    if file.schedule.is_empty() && !file.partitions.is_empty() {
        checker.problem("schedule", "the system has no [[schedule]]", None);
    }
    for (number, schedule) in file.schedule.iter().enumerate() {
        let raw = schedule.get_ref();
        let key = format!("schedule[{number}]");
        let core = raw.core.as_ref().map_or(0, |c| *c.get_ref());
        if let Some(core_value) = &raw.core {
            if core >= board.cores {
                checker.at(
                    format!("{key}.core"),
                    core_value,
                    format!("board `{}` has {} cores", board.name, board.cores),
                );
            } else if core != 0 {
                checker.at(format!("{key}.core"), core_value, "only core 0 runs a schedule so far");
            }
        }
        if schedules.iter().any(|s: &Schedule| s.core == core) {
            checker.at(format!("{key}.core"), schedule, format!("core {core} already has a schedule"));
        }
        let frame_nanos = raw.major_frame.get_ref().0;
        let Some(major_frame) = ticks_from_nanos(frame_nanos, hz).filter(|ticks| *ticks > 0) else {
            checker.at(
                format!("{key}.major_frame"),
                &raw.major_frame,
                format!("{frame_nanos} ns is not a whole, non-zero number of timer ticks at {hz} Hz"),
            );
            // Its windows still give their partitions a window.
            for window in &raw.windows {
                if let Some(&index) = names.accepted.get(window.get_ref().partition.get_ref()) {
                    has_window[index] = true;
                }
            }
            continue;
        };
        if raw.windows.is_empty() {
            checker.at(format!("{key}.windows"), schedule, "a schedule needs at least one window");
        }
        let mut windows = Vec::new();
        let mut offset = 0u64;
        for (w, window) in raw.windows.iter().enumerate() {
            let wkey = format!("{key}.windows[{w}]");
            let owner = window.get_ref().partition.get_ref();
            let partition = names.resolve(checker, format!("{wkey}.partition"), &window.get_ref().partition);
            if let Some(index) = partition {
                has_window[index] = true;
                // Only between cores that are both accepted: a rejected core was reported already.
                if core_in_use(core, board)
                    && partitions.get(index).is_some_and(|p| core_in_use(p.core, board) && p.core != core)
                {
                    checker.at(
                        format!("{wkey}.partition"),
                        &window.get_ref().partition,
                        format!("partition `{owner}` runs on another core"),
                    );
                }
            }
            let nanos = window.get_ref().duration.get_ref().0;
            let Some(duration) = ticks_from_nanos(nanos, hz).filter(|ticks| *ticks > 0) else {
                checker.at(
                    format!("{wkey}.duration"),
                    &window.get_ref().duration,
                    format!("{nanos} ns is not a whole, non-zero number of timer ticks at {hz} Hz"),
                );
                continue;
            };
            let end = offset + duration;
            if end > major_frame {
                checker.at(
                    format!("{wkey}.duration"),
                    &window.get_ref().duration,
                    format!(
                        "windows overrun the major frame: this one ends at {} but the frame is {}",
                        format_nanos(end * 1_000_000_000 / hz as u64),
                        format_nanos(frame_nanos)
                    ),
                );
            }
            windows.push(Window { partition, offset, duration });
            offset = end;
        }
        if offset < major_frame {
            windows.push(Window { partition: None, offset, duration: major_frame - offset });
        }
        schedules.push(Schedule { core, major_frame, windows });
    }
    for (index, partition) in file.partitions.iter().enumerate() {
        let name = partition.get_ref().name.get_ref();
        // Partitions with a rejected or duplicate name were reported at their name.
        if !has_window[index] && !file.schedule.is_empty() && names.accepted.get(name) == Some(&index) {
            checker.at(
                format!("partition.{name}"),
                &partition.get_ref().name,
                format!("partition `{name}` has no window in any schedule"),
            );
        }
    }
    schedules
}

/// Whether partitions and schedules may use `core` so far: one the board has,
/// and only core 0 yet (the checks above say which).
fn core_in_use(core: u32, board: &Board) -> bool {
    core < board.cores && core == 0
}

fn format_nanos(nanos: u64) -> String {
    if nanos.is_multiple_of(1_000_000) {
        format!("{}ms", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!("{}us", nanos / 1_000)
    } else {
        format!("{nanos}ns")
    }
}
