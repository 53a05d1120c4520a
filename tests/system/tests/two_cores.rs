//! Both cores at once: `tests/systems/interference-smp.toml` under `-smp 2`.
//!
//! The whole adversarial suite of `interference.toml` runs on core 0 and, as
//! copies named `NAME-c1`, on core 1, in windows aligned tick for tick. The
//! tests check that both cores start their frames at one epoch and keep
//! every window on schedule (boundaries observed within the two-core bound
//! while both cores are under attack), that the attacks happened on both
//! cores, that restarts and faults on one core stay on that core's console
//! and leave the other's timing alone, and that nothing one core's
//! partitions do reaches the other core's.
//!
//! QEMU runs the two cores in turns on one virtual clock; the pacer (core 0,
//! `tests/partitions/test-pacer`) keeps the turns short. The bounds are the
//! single-core ones as two busy cores in QEMU can show them
//! ([`bulkhead_system_tests::two_core_ticks`]). The stopwatches' figures are
//! not checked here: from inside a partition, the other core's turns look
//! like lateness and time taken, which on silicon they are not.

mod common;

use bulkhead_system_tests::log::{Record, field, kind, partition_output, records, window_starts};
use bulkhead_system_tests::qemu::Output;
use bulkhead_system_tests::{KERNEL_PATH_BOUND_INSNS, two_core_ticks};
use std::sync::OnceLock;

/// Frames to run: twice the single-core suite's 80, since two busy cores
/// in QEMU each run at about half speed (at least two restarts of each
/// 224 KiB attacker, fifteen stopwatch reports per core).
const FRAMES: u32 = 160;

const SYSTEM: &str = "interference-smp";

/// One run, shared by the tests of this file.
fn run() -> &'static Output {
    static OUTPUT: OnceLock<Output> = OnceLock::new();
    OUTPUT.get_or_init(|| common::boot_cores(SYSTEM, FRAMES, 2))
}

/// The partitions core `core` runs, by name.
fn names_on(system: &bulkhead_sysgen::System, core: u32) -> Vec<String> {
    system.partitions.iter().filter(|p| p.core == core).map(|p| p.name.clone()).collect()
}

#[test]
fn both_cores_start_at_one_epoch_and_keep_every_window_on_schedule() {
    let system = common::description(SYSTEM);
    let output = run();
    let bound = two_core_ticks(KERNEL_PATH_BOUND_INSNS);
    let mut epochs = Vec::new();
    for core in 0..2u8 {
        let schedule = system.schedule(core as u32).expect("both cores have a schedule");
        let starts = window_starts(output.console(core));
        let per_frame = schedule.windows.len() as u64;
        let complete: Vec<_> = starts.iter().filter(|s| s.frame < FRAMES as u64).collect();
        assert_eq!(complete.len() as u64, FRAMES as u64 * per_frame, "core {core}: one trace line per window");
        let epoch = complete[0].scheduled;
        epochs.push(epoch);
        for (position, start) in complete.iter().enumerate() {
            let (frame, index) = (position as u64 / per_frame, position as u64 % per_frame);
            assert_eq!((start.frame, start.index), (frame, index), "core {core}: windows in schedule order");
            let window = &schedule.windows[index as usize];
            let owner = window.partition.map_or("idle", |p| system.partitions[p].name.as_str());
            assert_eq!(start.owner, owner, "core {core} frame {frame} window {index}");
            assert_eq!(
                start.scheduled,
                epoch + frame * schedule.major_frame + window.offset,
                "core {core} frame {frame} window {index}: the schedule must not drift"
            );
            let late = start.observed.checked_sub(start.scheduled).expect("a window never starts early");
            // Frame 0's first window starts before the pacer has run: QEMU's
            // turns are still long then (docs/architecture.md, QEMU and two
            // cores).
            if frame > 0 {
                assert!(
                    late <= bound,
                    "core {core} frame {frame} window {index} ({owner}) observed {late} ticks late (bound {bound})"
                );
            }
        }
    }
    assert_eq!(epochs[0], epochs[1], "both cores' frames start at one epoch");
    // The link check: core 0 rings core 1's kernel once, after its first
    // frame; core 1 takes it in its frame 1 (or 2, if the ring lands on the
    // boundary), and core 0 never rings itself.
    let rings: Vec<u64> = records(output.console(1), kind::CORE_RING).filter_map(|r| r.number("frame")).collect();
    assert!(rings.len() == 1 && (1..=2).contains(&rings[0]), "core 1's rings: {rings:?}");
    assert_eq!(records(output.console(0), kind::CORE_RING).count(), 0, "core 0 is rung by nobody");
}

/// How many times partition `name` reported on `lines`.
fn stopwatch_reports(lines: &[String], name: &str) -> usize {
    partition_output(lines, name).filter(|text| text.starts_with("stopwatch frames=")).count()
}

/// Both cores' stopwatches run and report every 10 frames. Their start
/// delays are not asserted here: measured from inside a partition, a start
/// includes the other core's QEMU turn, and on core 0 those turns reach half
/// a window even with the pacer running, for a reason not found yet
/// (docs/architecture.md, QEMU and two cores); the kernel-observed boundaries above are the two-core check, and
/// the partition-visible bound is checked per core by `interference.rs`.
#[test]
fn both_cores_stopwatches_run_and_keep_their_canaries() {
    let output = run();
    for (core, name) in [(0u8, "stopwatch"), (1, "stopwatch-c1")] {
        let reports = stopwatch_reports(output.console(core), name);
        assert!(reports >= 7, "{name} (core {core}) reported {reports} times");
    }
}

#[test]
fn the_attacks_happen_on_both_cores_and_stay_on_their_core() {
    let system = common::description(SYSTEM);
    let output = run();
    for core in 0..2u8 {
        let lines = output.console(core);
        let suffix = if core == 0 { "" } else { "-c1" };
        let name = |base: &str| format!("{base}{suffix}");
        // Every record and line on a core's console is about its own
        // partitions: a fault, restart or flood on one core is the other's
        // business in no way.
        let own = names_on(&system, core as u32);
        for line in lines {
            if let Some(record) = Record::parse(line)
                && let Some(subject) = record.subject
                && record.kind != kind::WINDOW
            {
                assert!(own.iter().any(|n| n == subject), "core {core}'s console names {subject}: {line}");
            }
        }
        assert!(
            records(lines, kind::CONSOLE_DROPPED).any(|r| r.subject == Some(name("atk-console").as_str())),
            "core {core}: the console flood never filled its ring"
        );
        let storms =
            partition_output(lines, &name("atk-irq")).filter_map(|t| field(t, "uart-taken")?.parse::<u64>().ok()).max();
        assert!(storms.is_some_and(|n| n >= 2_000), "core {core}: the interrupt storm did not happen: {storms:?}");
        let armed =
            partition_output(lines, &name("atk-timer-fault")).filter(|t| t.starts_with("armed activation=")).count();
        // At about half speed the restarted attacker needs up to two of its
        // windows to restart and arm again: at least every other frame.
        assert!(armed >= FRAMES as usize / 2, "core {core}: the timer attacker armed and faulted {armed} times");
        // Two busy cores in QEMU each run at about half speed, so the big
        // restart (every ~24 frames on one core) comes about half as often.
        let restarts =
            records(lines, kind::RESTART).filter(|r| r.subject == Some(name("atk-restart").as_str())).count();
        assert!(restarts >= 2, "core {core}: the big restart happened {restarts} times");
        // The ticker keeps every tick of its virtual timer.
        let ticks: Vec<(u64, u64)> = partition_output(lines, &name("ticker"))
            .filter_map(|t| Some((field(t, "ticks")?.parse().ok()?, field(t, "elapsed-ticks")?.parse().ok()?)))
            .collect();
        assert!(ticks.len() >= 5, "core {core}: the ticker reported {} times", ticks.len());
        for (count, elapsed) in ticks {
            let expected = elapsed / 625;
            assert!(count + 1 >= expected && count <= expected, "core {core} ticker: {count} ticks in {elapsed}");
        }
        assert!(!partition_output(lines, &name("stopwatch")).any(|t| t.contains("CORRUPTED")));
        assert!(!lines.iter().any(|l| l.contains("ESCAPED")), "core {core}: an attack escaped");
    }
}

/// A partition on core 1 writes core 0's redistributor every window
/// (disables its PPIs, the window timer among them, pends its SGIs, puts it
/// to sleep): every access is ignored and logged, and core 0's schedule goes
/// on (checked to the tick by the test above, on the same run).
#[test]
fn a_partition_cannot_reach_the_other_cores_redistributor() {
    let lines = run().console(1);
    let ignored = records(lines, kind::VGIC_IGNORED)
        .filter(|r| r.subject == Some("atk-other-gicr") && r.field("frame") == Some("other-gicr"))
        .count();
    assert!(ignored >= 4, "core 1's writes to core 0's redistributor were not trapped and ignored ({ignored} logged)");
    let rounds =
        partition_output(lines, "atk-other-gicr").filter_map(|t| field(t, "rounds")?.parse::<u64>().ok()).max();
    assert!(rounds.is_some_and(|n| n >= 128), "the attack did not run in every window: {rounds:?}");
    assert!(!run().console(0).iter().any(|l| l.contains("atk-other-gicr")), "core 0's console names core 1's attacker");
}
