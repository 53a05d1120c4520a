//! Fault policies: `restart` brings a partition back pristine at its next
//! window, every time; `halt` stops it for good.

mod common;

use bulkhead_system_tests::log::{Record, field, kind, partition_output, records};

#[test]
fn a_partition_faulting_on_every_activation_restarts_and_makes_progress() {
    let frames = 40;
    let output = common::boot("temporal", frames);
    let lines = &output.lines;
    let faulter: Vec<&str> = partition_output(lines, "faulter").collect();
    assert!(!faulter.iter().any(|t| t.contains("ESCAPED") || t.contains("DIRTY")), "{faulter:?}");

    // One activation per frame, in order, each complete: checked its memory,
    // did all its work, then faulted.
    let activations: Vec<u64> = faulter
        .iter()
        .filter(|t| t.starts_with("activation="))
        .map(|t| field(t, "activation").unwrap().parse().unwrap())
        .collect();
    assert_eq!(activations, (0..frames as u64).collect::<Vec<_>>());
    for activation in &activations {
        let own: Vec<&&str> =
            faulter.iter().filter(|t| field(t, "activation") == Some(&activation.to_string())).collect();
        assert_eq!(
            own.iter().map(|t| t.split(' ').next().unwrap()).collect::<Vec<_>>(),
            [
                "activation=".to_owned() + &activation.to_string(),
                "progress".into(),
                "progress".into(),
                "progress".into(),
                "faulting".into()
            ]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
            "activation {activation}: {own:?}"
        );
        assert!(own[0].ends_with("data=pristine bss=zero"), "activation {activation}: {}", own[0]);
    }

    // The kernel logged each fault with the forbidden address, and each
    // restart with its count.
    let faults: Vec<Record> = records(lines, kind::FAULT).filter(|r| r.subject == Some("faulter")).collect();
    assert_eq!(faults.len(), frames as usize);
    assert!(faults.iter().all(|r| r.field("class") == Some("stage2-data-abort") && r.number("address") == Some(0x100)));
    let restarts: Vec<u64> = records(lines, kind::RESTART)
        .filter(|r| r.subject == Some("faulter"))
        .map(|r| r.number("count").unwrap())
        .collect();
    assert_eq!(restarts, (1..frames as u64).collect::<Vec<_>>());
}

#[test]
fn a_halted_partition_never_runs_again_and_its_windows_stay_idle() {
    let output = common::boot("temporal", 20);
    let lines = &output.lines;
    let halted: Vec<Record> = records(lines, kind::HALTED).filter(|r| r.subject == Some("halter")).collect();
    assert_eq!(halted.len(), 1);
    assert_eq!(halted[0].field("reason"), Some("fault"));
    let halted_at = lines.iter().position(|l| l.starts_with("@halted halter")).unwrap();
    assert!(
        !lines[halted_at..].iter().any(|l| l.starts_with("[halter]")),
        "the halted partition printed after it was halted"
    );
    assert_eq!(records(lines, kind::FAULT).filter(|r| r.subject == Some("halter")).count(), 1);
    assert_eq!(records(lines, kind::RESTART).filter(|r| r.subject == Some("halter")).count(), 0);
    // Its windows are still traced at their scheduled ticks (the temporal
    // test checks the ticks); here: still there, frame after frame.
    let halter_windows = records(lines, kind::WINDOW).filter(|r| r.field("owner") == Some("halter")).count();
    assert_eq!(halter_windows, 20, "halter's window is traced in every one of the 20 frames");
}
