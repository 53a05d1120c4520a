//! Virtual interrupts: `tests/systems/interrupts.toml`.
//!
//! `irq-owner` owns the dual timer and arms it to fire in `irq-intruder`'s
//! window; `irq-intruder` attacks `irq-owner`'s interrupt through the
//! distributor and watches its own CPU interface; `irq-burst` raises ten
//! interrupts at once behind a closed priority mask.

mod common;

use bulkhead_system_tests::log::{Record, field, kind, partition_output, records, window_starts};

const FRAMES: u32 = 8;

/// Boundary work between a window's scheduled tick and the kernel listing a
/// queued interrupt, with the window and interrupt traces printing: measured
/// 158 ticks (about 2500 instructions, most of it printing the trace).
const MAX_LISTING_TICKS: u64 = 400;

#[test]
fn an_interrupt_for_a_switched_out_partition_waits_for_its_next_window() {
    let output = common::boot("interrupts", FRAMES);
    let lines = &output.lines;
    let starts = window_starts(lines);
    let owner_of = |tick: u64| starts.iter().rev().find(|s| s.scheduled <= tick).map(|s| s.owner.as_str());

    let arrivals: Vec<Record> = records(lines, kind::IRQ).filter(|r| r.subject == Some("irq-owner")).collect();
    assert!(arrivals.len() >= 5, "the owner's timer fired {} times", arrivals.len());
    for arrival in &arrivals {
        let observed = arrival.number("observed").unwrap();
        assert_ne!(owner_of(observed), Some("irq-owner"), "the test means the timer to fire in someone else's window");
        assert_eq!(arrival.field("state"), Some("queued"), "not delivered while its owner is switched out");
    }
    // Each queued interrupt is listed while the kernel starts the owner's next
    // window: the `@virq` record is the first record after that `@window`.
    for (position, line) in lines.iter().enumerate() {
        let Some(window) =
            Record::parse(line).filter(|r| r.kind == kind::WINDOW && r.field("owner") == Some("irq-owner"))
        else {
            continue;
        };
        let scheduled = window.number("scheduled").unwrap();
        let queued_before = arrivals.iter().any(|a| a.number("observed").unwrap() < scheduled)
            && records(&lines[..position], kind::VIRQ).count()
                < arrivals.iter().filter(|a| a.number("observed").unwrap() < scheduled).count();
        if !queued_before {
            continue;
        }
        let next =
            lines[position + 1..].iter().find_map(|l| Record::parse(l)).expect("a record after the window start");
        assert_eq!(
            (next.kind, next.subject, next.number("intid")),
            (kind::VIRQ, Some("irq-owner"), Some(33)),
            "{line}"
        );
        let late = next.number("tick").unwrap() - scheduled;
        assert!(late <= MAX_LISTING_TICKS, "listed {late} ticks into the window");
    }
    // The owner received each one exactly once, at the start of its window.
    let rounds: Vec<&str> = partition_output(lines, "irq-owner").filter(|t| t.starts_with("round=")).collect();
    assert!(rounds.len() >= 5);
    for round in &rounds {
        assert_eq!(field(round, "received"), Some("[33]"), "{round}");
    }
    // The partition whose window it was never saw it.
    assert!(!partition_output(lines, "irq-intruder").any(|t| t.starts_with("UNEXPECTED")));
}

#[test]
fn a_partition_cannot_enable_pend_reprioritise_or_ack_another_partitions_interrupt() {
    let output = common::boot("interrupts", FRAMES);
    let lines = &output.lines;
    let intruder: Vec<&str> = partition_output(lines, "irq-intruder").collect();
    assert!(
        intruder.contains(&"intruder reads enabled=0x0 priority=0x0"),
        "reads of another's interrupt are zero: {intruder:?}"
    );
    assert!(intruder.iter().any(|t| t.starts_with("intruder still sees nothing")));
    assert!(!intruder.iter().any(|t| t.starts_with("UNEXPECTED")), "{intruder:?}");
    // The writes were ignored and logged: enable, disable, pend, priority.
    let ignored: Vec<u64> = records(lines, kind::VGIC_IGNORED)
        .filter(|r| r.subject == Some("irq-intruder") && r.field("frame") == Some("gicd"))
        .filter_map(|r| r.number("offset"))
        .collect();
    for offset in [0x104, 0x184, 0x204, 0x421] {
        assert!(ignored.contains(&offset), "no log of the write at {offset:#x}: {ignored:x?}");
    }
    // The owner's interrupt kept its configuration and kept working.
    let rounds: Vec<&str> = partition_output(lines, "irq-owner").filter(|t| t.starts_with("round=")).collect();
    assert!(rounds.len() >= 5);
    for round in rounds {
        assert!(round.ends_with("received=[33] priority=0x40 enabled=1"), "{round}");
    }
}

#[test]
fn more_pending_interrupts_than_list_registers_arrive_once_each_in_priority_order() {
    let output = common::boot("interrupts", FRAMES);
    let burst: Vec<&str> = partition_output(&output.lines, "irq-burst").collect();
    let report = burst.iter().find(|t| t.starts_with("burst ")).expect("burst report");
    assert_eq!(field(report, "before-unmask"), Some("0"), "nothing delivered through a closed priority mask");
    // Priorities of INTIDs 100..109, as the partition sets them.
    let priorities = [0x50, 0x10, 0x90, 0x30, 0x70, 0x20, 0x80, 0x40, 0x60, 0x00];
    let mut expected: Vec<(u8, u16)> = priorities.iter().enumerate().map(|(i, p)| (*p as u8, 100 + i as u16)).collect();
    expected.sort();
    let expected: Vec<String> = expected.iter().map(|(_, id)| id.to_string()).collect();
    assert_eq!(field(report, "order"), Some(expected.join(",").as_str()), "{report}");
}
