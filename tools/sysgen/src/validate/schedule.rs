//! `[[schedule]]`: each core's major frame and windows, and the core each
//! partition runs on.
//!
//! Owns the checks of every schedule and their messages: its core (one the
//! board has, one schedule each), a major frame and window durations that
//! are whole, non-zero numbers of timer ticks, windows that fit the frame,
//! each window's partition (known), and every partition having a window. It
//! converts durations to ticks and fills the rest of each frame with an idle
//! window. A core without a schedule stays parked.
//!
//! It also decides each partition's core ([`partition_cores`]): its `core`
//! key if given, else the core of the schedule its windows are in; and
//! checks that a partition's windows are all in one core's schedule and
//! agree with its `core`.
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
        if let Some(core_value) = &raw.core
            && core >= board.cores
        {
            checker.at(format!("{key}.core"), core_value, format!("board `{}` has {} cores", board.name, board.cores));
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
            let partition = names.resolve(checker, format!("{wkey}.partition"), &window.get_ref().partition);
            if let Some(index) = partition {
                has_window[index] = true;
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

/// The core of each partition of `file`, by description index: its `core`
/// if given, else the core of the schedule its windows are in, else 0 (a
/// partition without a window is reported by [`build`]). Reports windows of
/// one partition in the schedules of two cores, a `core` the board does not
/// have, and a `core` that disagrees with the schedule of its windows.
pub(super) fn partition_cores(
    checker: &mut Checker,
    file: &raw::SystemFile,
    board: &Board,
    names: &PartitionNames,
) -> Vec<u32> {
    // The core of each partition's first window, with it.
    let mut windows_core: Vec<Option<u32>> = vec![None; file.partitions.len()];
    for (number, schedule) in file.schedule.iter().enumerate() {
        let core = schedule.get_ref().core.as_ref().map_or(0, |c| *c.get_ref());
        // A core the board lacks was reported by `build`.
        if core >= board.cores {
            continue;
        }
        for (w, window) in schedule.get_ref().windows.iter().enumerate() {
            let name = window.get_ref().partition.get_ref();
            // Unknown names are reported by `build`.
            let Some(&index) = names.accepted.get(name) else { continue };
            match windows_core[index] {
                None => windows_core[index] = Some(core),
                Some(first) if first != core => checker.at(
                    format!("schedule[{number}].windows[{w}].partition"),
                    &window.get_ref().partition,
                    format!(
                        "partition `{name}` has windows on cores {} and {}; a partition runs on one core",
                        first.min(core),
                        first.max(core)
                    ),
                ),
                Some(_) => {}
            }
        }
    }
    let mut cores = Vec::new();
    for (index, partition) in file.partitions.iter().enumerate() {
        let raw = partition.get_ref();
        let pname = raw.name.get_ref();
        let stated = raw.core.as_ref().map(|c| *c.get_ref());
        if let (Some(core), Some(value)) = (stated, &raw.core) {
            if core >= board.cores {
                checker.at(
                    format!("partition.{pname}.core"),
                    value,
                    format!("board `{}` has {} cores", board.name, board.cores),
                );
            } else if let Some(windows) = windows_core[index]
                && windows != core
            {
                checker.at(
                    format!("partition.{pname}.core"),
                    value,
                    format!(
                        "partition `{pname}` is stated to run on core {core} but its windows are in the schedule of core {windows}"
                    ),
                );
            }
        }
        let core = stated.filter(|core| *core < board.cores).or(windows_core[index]).unwrap_or(0);
        cores.push(core);
    }
    cores
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
