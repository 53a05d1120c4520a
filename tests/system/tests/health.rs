//! The health monitor (`tests/systems/health.toml`): each action, the
//! restart limit, warm and cold restarts, watchdogs, a port overflow, vGIC
//! misuse, the monitor partition reading both cores' error logs and
//! controlling partitions on both cores, and everyone else refused.
//!
//! What each partition does is in `tests/partitions/test-health`.

mod common;

use bulkhead_system_tests::log::{Record, field, kind, partition_output, records};
use bulkhead_system_tests::qemu::Output;
use std::sync::OnceLock;

const FRAMES: u32 = 40;

fn run() -> &'static Output {
    static RUN: OnceLock<Output> = OnceLock::new();
    RUN.get_or_init(|| common::boot_cores("health", FRAMES, 2))
}

/// What partition `name` printed, on core `core`'s console.
fn output(core: u8, name: &'static str) -> Vec<&'static str> {
    partition_output(run().console(core), name).collect()
}

/// The `@health` records about `name`, on core `core`'s console, as
/// `(error, action)`.
fn health(core: u8, name: &str) -> Vec<(String, String)> {
    records(run().console(core), kind::HEALTH)
        .filter(|r| r.subject == Some(name))
        .map(|r| (r.field("error").unwrap().to_owned(), r.field("action").unwrap().to_owned()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// Index of the first console line of core `core` matching `wanted`.
fn line_index(core: u8, wanted: impl Fn(&str) -> bool) -> Option<usize> {
    run().console(core).iter().position(|line| wanted(line))
}

#[test]
fn the_restart_limit_turns_the_third_restart_into_a_halt() {
    // crasher faults in every life; `restart-cold` at most twice in 1000
    // frames, then the limit's action, `halt`.
    let lives: Vec<&str> = output(0, "crasher");
    assert_eq!(lives, ["crasher life=0", "crasher life=1", "crasher life=2"]);
    assert_eq!(
        health(0, "crasher"),
        pairs(&[("fault", "restart-cold"), ("fault", "restart-cold"), ("fault", "halt"), ("restart-limit", "halt")])
    );
    let halted: Vec<Record> =
        records(run().console(0), kind::HALTED).filter(|r| r.subject == Some("crasher")).collect();
    assert_eq!(halted.len(), 1);
    assert_eq!(halted[0].field("reason"), Some("restart-limit"));
    // Each fault names the policy it got.
    let policies: Vec<&str> = records(run().console(0), kind::FAULT)
        .filter(|r| r.subject == Some("crasher"))
        .map(|r| r.field("policy").unwrap())
        .collect();
    assert_eq!(policies, ["restart-cold", "restart-cold", "halt"]);
}

#[test]
fn a_warm_restart_keeps_noinit_and_a_cold_one_clears_it() {
    // Two faults with warm restarts: the noinit region counts lives, the
    // plain region starts at zero each time; then the monitor's cold
    // restart clears the noinit region too.
    let lives: Vec<&str> = output(0, "keeper");
    assert_eq!(
        lives,
        [
            "keeper life=0 noinit=0 plain=0",
            "keeper life=1 noinit=1 plain=0",
            "keeper life=2 noinit=2 plain=0",
            "keeper life=3 noinit=0 plain=0",
        ]
    );
    assert_eq!(health(0, "keeper"), pairs(&[("fault", "restart"), ("fault", "restart")]));
    let controls: Vec<Record> =
        records(run().console(0), kind::CONTROL).filter(|r| r.subject == Some("keeper")).collect();
    assert_eq!(controls.len(), 1);
    assert_eq!((controls[0].field("op"), controls[0].field("by")), (Some("restart-cold"), Some("hm")));
    assert!(output(0, "hm").contains(&"hm cold keeper=ok"));
}

#[test]
fn a_watchdog_with_action_log_records_each_expiry_and_the_partition_runs_on() {
    // dog kicks in windows 1-3 and from 9 on, not in 4-8; its deadline
    // (300 us of partition time, windows of 200 us) passes at the starts
    // of windows 5, 7 and 9, and each time it is logged and runs on.
    assert_eq!(health(0, "dog"), pairs(&[("watchdog", "log"), ("watchdog", "log"), ("watchdog", "log")]));
    let lines = run().console(0);
    let expiries: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| Record::parse(line).is_some_and(|r| r.kind == kind::HEALTH && r.subject == Some("dog")))
        .map(|(index, _)| index)
        .collect();
    for (expiry, window) in expiries.iter().zip([5, 7, 9]) {
        let before = line_index(0, |line| line.ends_with(&format!("dog window={}", window - 1))).unwrap();
        let after = line_index(0, |line| line.ends_with(&format!("dog window={window}"))).unwrap();
        assert!(before < *expiry && *expiry < after, "expiry before window {window}");
    }
    let windows = output(0, "dog").len();
    assert!(windows >= FRAMES as usize - 2, "dog ran on: {windows} windows");
}

#[test]
fn the_monitor_resumes_a_suspended_partition_on_the_other_core_and_restarts_it() {
    // remote (core 1) misses its watchdog (400 us, windows of 300 us) in
    // its first two windows: suspended before its third, the monitor (core
    // 0) is told, reads the entry from core 1's log and resumes it, and it
    // carries on where it was (window 2 of life 0); five monitor windows
    // later the monitor restarts it (life 1), which misses its first two
    // windows' kicks again.
    let remote: Vec<&str> = output(1, "remote");
    assert_eq!(
        &remote[..4],
        ["remote window=0 life=0", "remote window=1 life=0", "remote window=2 life=0", "remote window=3 life=0"]
    );
    let first_life_1 = remote.iter().position(|t| *t == "remote window=0 life=1").expect("a restart by the monitor");
    assert_eq!(
        &remote[first_life_1..first_life_1 + 3],
        ["remote window=0 life=1", "remote window=1 life=1", "remote window=2 life=1"]
    );
    // Each suspension falls between its windows 1 and 2, and the resume
    // before window 2.
    let lines = run().console(1);
    let first =
        |text: &str| lines.iter().position(|line| line.ends_with(text)).unwrap_or_else(|| panic!("no `{text}`"));
    let suspensions: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| Record::parse(line).is_some_and(|r| r.kind == kind::HEALTH && r.subject == Some("remote")))
        .map(|(index, _)| index)
        .collect();
    let resumes: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, line)| {
            Record::parse(line).is_some_and(|r| r.kind == kind::CONTROL && r.field("op") == Some("resume"))
        })
        .map(|(index, _)| index)
        .collect();
    assert_eq!((suspensions.len(), resumes.len()), (2, 2));
    for (life, (suspended, resumed)) in suspensions.iter().zip(&resumes).enumerate() {
        let window1 = first(&format!("remote window=1 life={life}"));
        let window2 = first(&format!("remote window=2 life={life}"));
        assert!(window1 < *suspended && suspended < resumed && *resumed < window2, "life {life}");
    }
    assert_eq!(health(1, "remote"), pairs(&[("watchdog", "monitor"), ("watchdog", "monitor")]));
    let controls: Vec<(String, String)> = records(run().console(1), kind::CONTROL)
        .filter(|r| r.subject == Some("remote"))
        .map(|r| (r.field("op").unwrap().to_owned(), r.field("by").unwrap().to_owned()))
        .collect();
    assert_eq!(controls, pairs(&[("resume", "hm"), ("restart", "hm"), ("resume", "hm")]));
    let hm = output(0, "hm");
    assert_eq!(hm.iter().filter(|t| **t == "hm resume remote=ok").count(), 2, "{hm:?}");
    assert_eq!(hm.iter().filter(|t| **t == "hm restart remote=ok").count(), 1, "{hm:?}");
    // The monitor saw both suspensions in core 1's log, after its notify
    // interrupt for them.
    let seen: Vec<&&str> =
        hm.iter().filter(|t| t.starts_with("hm log core=1 ") && t.contains("who=remote kind=watchdog")).collect();
    assert_eq!(seen.len(), 2, "{hm:?}");
    for (index, text) in seen.iter().enumerate() {
        assert_eq!(field(text, "action"), Some("monitor"));
        let notified: usize = field(text, "notified").unwrap().parse().unwrap();
        assert!(notified > index, "the entry was read before its notify: {text}");
    }
}

#[test]
fn the_monitor_reads_every_error_of_both_cores_and_its_log_survives_restarts() {
    let hm = output(0, "hm");
    let logged = |core: u8| -> Vec<(String, String, String)> {
        hm.iter()
            .filter(|t| t.starts_with(&format!("hm log core={core} ")))
            .map(|t| {
                (field(t, "who").unwrap().into(), field(t, "kind").unwrap().into(), field(t, "action").unwrap().into())
            })
            .collect()
    };
    // Every @health record of a core is an entry the monitor read, in order.
    for core in 0..2u8 {
        let records: Vec<(String, String, String)> = records(run().console(core), kind::HEALTH)
            .map(|r| (r.subject.unwrap().into(), r.field("error").unwrap().into(), r.field("action").unwrap().into()))
            .collect();
        let read = logged(core);
        assert!(!records.is_empty());
        assert!(
            read.len() <= records.len() && records[..read.len()] == read[..],
            "core {core}: {read:?} vs {records:?}"
        );
        // All but those of the last frame or two were read.
        assert!(read.len() + 2 >= records.len(), "core {core}: {read:?} vs {records:?}");
    }
    // The entries are numbered from 1 per core, none missed.
    for core in 0..2u8 {
        let numbers: Vec<u64> = hm
            .iter()
            .filter(|t| t.starts_with(&format!("hm log core={core} ")))
            .map(|t| field(t, "n").unwrap().parse().unwrap())
            .collect();
        assert_eq!(numbers, (1..=numbers.len() as u64).collect::<Vec<_>>(), "core {core}");
    }
    assert!(!hm.iter().any(|t| t.starts_with("hm lost")), "{hm:?}");
}

#[test]
fn the_monitors_own_mistakes_are_refused() {
    let hm = output(0, "hm");
    let checks = hm.iter().find(|t| t.starts_with("hm checks ")).expect("the monitor's checks");
    for (key, expected) in [
        ("resume", "bad-argument"),
        ("self", "bad-argument"),
        ("unknown", "bad-argument"),
        ("op", "bad-argument"),
        ("core", "bad-argument"),
        ("buf", "bad-address"),
    ] {
        assert_eq!(field(checks, key), Some(expected), "{key} in `{checks}`");
    }
}

#[test]
fn an_unprivileged_partition_is_refused_and_its_gic_misuse_halts_it() {
    let rogue = output(1, "rogue");
    assert!(!rogue.iter().any(|t| t.contains("ESCAPED")), "{rogue:?}");
    let calls = rogue.iter().find(|t| t.starts_with("rogue log=")).expect("rogue's calls");
    for (key, expected) in [
        ("log", "denied"),
        ("control", "denied"),
        ("kick", "denied"),
        ("report", "bad-argument"),
        ("overflow", "denied"),
    ] {
        assert_eq!(field(calls, key), Some(expected), "{key} in `{calls}`");
    }
    // Its fault_policy is restart, but vgic-misuse is mapped to halt.
    assert_eq!(health(1, "rogue"), pairs(&[("vgic-misuse", "halt")]));
    let halted: Vec<Record> = records(run().console(1), kind::HALTED).filter(|r| r.subject == Some("rogue")).collect();
    assert_eq!(halted.len(), 1);
    // Nobody else was touched by rogue's calls: keeper was not halted.
    assert!(!records(run().console(0), kind::HALTED).any(|r| r.subject == Some("keeper")));
}

#[test]
fn a_port_overflow_is_reported_once_per_run_of_overflows() {
    let flood = output(0, "flood");
    assert_eq!(flood, ["flood sent=4 full=6 overflows=6"]);
    assert_eq!(health(0, "flood"), pairs(&[("port-overflow", "log")]));
}

/// Prints both consoles (`cargo test --test health -- --ignored --nocapture`).
#[test]
#[ignore]
fn print_consoles() {
    for core in 0..2 {
        for line in run().console(core) {
            println!("[core {core}] {line}");
        }
    }
}
