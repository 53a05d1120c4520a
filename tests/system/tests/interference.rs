//! Freedom from interference under attack: `tests/systems/interference.toml`.
//!
//! Every attack a partition can make on time and space runs in its own
//! window (`tests/partitions/test-attacks`), each right before a window of
//! the stopwatch (`tests/partitions/test-stopwatch`), which measures from
//! inside how late its window starts and how much of it it loses. The suite
//! asserts, for every attack, that the victim's window starts within the
//! documented bound and that its usable time drops by no more than that
//! bound, and that every attack that reaches for another partition's state
//! (its timer, its interrupts, its exclusive monitor, its memory through
//! cache maintenance) is refused or confined.

mod common;

use bulkhead_system_tests::WINDOW_START_BOUND_TICKS;
use bulkhead_system_tests::log::{Record, field, kind, partition_output, records};
use bulkhead_system_tests::qemu::Output;
use std::sync::OnceLock;

/// Frames to run: enough for three restarts of the 224 KiB attacker (one
/// every 24 frames: about 8 of its 20 us windows for the kernel's restore,
/// 12 for its own start-up code, which zeroes its `.bss` again) and seven
/// stopwatch reports.
const FRAMES: u32 = 80;

/// One run, shared by the tests of this file (80 frames of a 2 ms schedule).
fn run() -> &'static Output {
    static OUTPUT: OnceLock<Output> = OnceLock::new();
    OUTPUT.get_or_init(|| common::boot("interference", FRAMES))
}

/// The name of the partition whose window comes right before each of the
/// stopwatch's windows, in the stopwatch's order.
fn attackers() -> Vec<String> {
    let system = common::description("interference");
    let schedule = &system.schedules[0];
    let name =
        |window: &bulkhead_sysgen::model::Window| window.partition.map_or("idle", |p| &system.partitions[p].name);
    let windows = &schedule.windows;
    (0..windows.len())
        .filter(|&n| name(&windows[n]) == "stopwatch")
        .map(|n| name(&windows[(n + windows.len() - 1) % windows.len()]).to_owned())
        .collect()
}

/// A stopwatch report: the worst start delay and the worst time taken from
/// one window, per stopwatch window, in ticks.
struct Report {
    frames: u64,
    delay: Vec<u64>,
    taken: Vec<u64>,
}

fn numbers(list: &str) -> Vec<u64> {
    list.split(',').map(|n| n.parse().expect("a number")).collect()
}

fn stopwatch_reports(output: &Output) -> Vec<Report> {
    partition_output(&output.lines, "stopwatch")
        .filter(|text| text.starts_with("stopwatch frames="))
        .map(|text| Report {
            frames: field(text, "frames").and_then(|f| f.parse().ok()).expect("frames"),
            delay: numbers(field(text, "delay").expect("delay")),
            taken: numbers(field(text, "taken").expect("taken")),
        })
        .collect()
}

#[test]
fn every_window_starts_on_schedule_under_attack() {
    let system = common::description("interference");
    common::assert_windows_on_schedule(&system, &run().lines, FRAMES);
}

#[test]
fn after_every_attack_the_victim_starts_within_the_bound_and_keeps_its_time() {
    let output = run();
    let attackers = attackers();
    let reports = stopwatch_reports(output);
    assert!(reports.len() >= 4, "the stopwatch reported {} times", reports.len());
    // One tick of slack: the stopwatch reads time to within one tick.
    let bound = WINDOW_START_BOUND_TICKS + 1;
    for report in &reports {
        assert_eq!(report.delay.len(), attackers.len(), "one figure per stopwatch window");
        for (position, attacker) in attackers.iter().enumerate() {
            let (delay, taken) = (report.delay[position], report.taken[position]);
            assert!(
                delay <= bound,
                "after {attacker}, the stopwatch's window started {delay} ticks late (bound {bound}), frames up to {}",
                report.frames
            );
            assert!(
                delay + taken <= bound,
                "after {attacker}, the stopwatch lost {delay} ticks at its start and {taken} inside its window: \
                 more than the bound ({bound})"
            );
        }
    }
    // The attacks happened (or the figures would prove nothing).
    let lines = &output.lines;
    assert!(
        records(lines, kind::CONSOLE_DROPPED).any(|r| r.subject == Some("atk-console")),
        "the console flood never filled its ring"
    );
    let storms = partition_output(lines, "atk-irq").filter_map(|t| field(t, "uart-taken")?.parse::<u64>().ok()).max();
    assert!(storms.is_some_and(|n| n >= 2_000), "the UART interrupt storm did not happen: {storms:?}");
    // The stopwatch's canary, in the middle of its data, never changed.
    assert!(!partition_output(lines, "stopwatch").any(|t| t.contains("CORRUPTED")));
}

#[test]
fn a_fault_or_stop_with_the_virtual_timer_armed_takes_nobody_elses_timer() {
    let lines = &run().lines;
    // Finding 1: the attacker arms its virtual timer, masks interrupts and
    // faults, every frame; the ticker's timer keeps firing on time.
    let armed: Vec<u64> = partition_output(lines, "atk-timer-fault")
        .filter_map(|t| t.strip_prefix("armed activation=")?.parse().ok())
        .collect();
    assert_eq!(armed, (0..FRAMES as u64).collect::<Vec<_>>(), "armed and faulted in every frame");
    assert!(partition_output(lines, "atk-timer-stop").any(|t| t == "armed, stopping"));
    let ticks: Vec<(u64, u64)> = partition_output(lines, "ticker")
        .filter_map(|t| Some((field(t, "ticks")?.parse().ok()?, field(t, "elapsed-ticks")?.parse().ok()?)))
        .collect();
    assert!(ticks.len() >= 5, "the ticker reported {} times", ticks.len());
    // One tick per 625 ticks of its own time, none lost.
    for (count, elapsed) in ticks {
        let expected = elapsed / 625;
        assert!(count + 1 >= expected && count <= expected, "ticker: {count} ticks in {elapsed} ticks of time");
    }
}

#[test]
fn a_large_restart_in_a_tiny_window_is_correct_and_confined_to_its_windows() {
    let lines = &run().lines;
    let restored: Vec<&str> = partition_output(lines, "atk-restart").filter(|t| t.starts_with("restored")).collect();
    assert!(restored.len() >= 3, "only {} restarts of the 224 KiB image completed: {restored:?}", restored.len());
    for (activation, line) in restored.iter().enumerate() {
        assert_eq!(*line, format!("restored activation={activation} bss=zero data=pristine"));
    }
    // The restore runs in its own 20 us windows only: the stopwatch after it
    // is checked above; here, its faults are in its windows.
    common::assert_faults_inside_own_windows(lines);
}

#[test]
fn an_exclusive_monitor_never_survives_a_switch() {
    let lines: Vec<&str> = partition_output(&run().lines, "atk-exclusive").collect();
    assert!(lines.len() >= 10, "{lines:?}");
    for line in lines {
        assert_eq!(line, "exclusive across-switch strex=1 within-window strex=0");
    }
}

#[test]
fn cache_maintenance_reaches_only_the_partitions_own_lines() {
    let lines = &run().lines;
    let cache: Vec<&str> = partition_output(lines, "atk-cache").collect();
    assert!(!cache.iter().any(|t| t.contains("ESCAPED")), "{cache:?}");
    for activation in 0..3 {
        assert!(cache.contains(&format!("cache own-maintenance ok activation={activation}").as_str()), "{cache:?}");
    }
    // The foreign invalidate and the clean of kernel data each ended in a
    // fault, and nothing else of it did.
    let faults: Vec<Record> = records(lines, kind::FAULT).filter(|r| r.subject == Some("atk-cache")).collect();
    assert_eq!(faults.len(), 2, "{faults:?}");
    assert!(faults.iter().all(|r| r.field("class") == Some("trapped-cp15")), "{faults:?}");
}

#[test]
fn a_restart_resets_the_virtual_gic() {
    let lines = &run().lines;
    let vgic: Vec<&str> = partition_output(lines, "vgic-reset").collect();
    assert_eq!(vgic.first().copied(), Some("vgic-reset busy activation=0 acknowledged=Some(64)"));
    assert!(
        vgic.contains(
            &"vgic-reset enabled=0x0 pending=0x0 timer-enabled=0x0 pmr=0x0 hppir=1023 cntv-ctl=0x0 delivered=0"
        ),
        "after the restart its interrupt controller was not as at reset: {vgic:?}"
    );
    // CBAR (c15, trapped by HSTR.T15) reads as the distributor's base.
    let cbar = vgic.iter().find_map(|t| Some((field(t, "cbar")?, field(t, "gicd")?))).expect("a CBAR report");
    assert_eq!(cbar.0, cbar.1, "CBAR is emulated as the GIC distributor's base");
    assert_ne!(cbar.0, "0x00000000");
}

#[test]
fn bad_hypercalls_get_error_codes_and_never_fault() {
    let lines = &run().lines;
    assert_eq!(records(lines, kind::FAULT).filter(|r| r.subject == Some("atk-hypercalls")).count(), 0);
    assert_eq!(records(lines, kind::FAULT).filter(|r| r.subject == Some("atk-console")).count(), 0);
    assert_eq!(records(lines, kind::FAULT).filter(|r| r.subject == Some("atk-irq")).count(), 0);
    assert_eq!(records(lines, kind::FAULT).filter(|r| r.subject == Some("atk-exclusive")).count(), 0);
}
