//! Spatial isolation: the attack matrix of `tests/systems/isolation.toml`.
//!
//! The expected matrix is computed here from the system description, not
//! taken from the attacker's own list, so a partition that skipped targets
//! would fail the test.

mod common;

use bulkhead_sysgen::model::RegionKind;
use bulkhead_system_tests::log::{Record, kind, partition_line};
use std::collections::BTreeSet;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Target {
    op: String,
    owner: String,
    region: String,
    address: u64,
}

fn probe(base: u32, size: u32) -> u64 {
    (base + ((size / 2) & !3)) as u64
}

/// Every (op, owner, region, address) an attacker must try.
fn expected_targets(system: &bulkhead_sysgen::System, attacker: &str) -> BTreeSet<Target> {
    let mut regions: Vec<(String, String, u32, u32)> = Vec::new();
    for partition in system.partitions.iter().filter(|p| p.name != attacker) {
        for region in &partition.regions {
            regions.push((partition.name.clone(), region.name.clone(), region.span.base, region.span.size));
        }
    }
    let kernel = &system.kernel;
    let console = &system.board.devices[kernel.console];
    let gic = &system.board.gic;
    regions.push(("kernel".into(), "kernel-code".into(), kernel.code.base, kernel.code.size));
    regions.push(("kernel".into(), "kernel-data".into(), kernel.data.base, kernel.data.size));
    regions.push(("kernel".into(), console.name.clone(), console.base, console.size));
    regions.push(("kernel".into(), "gic".into(), gic.region_base, gic.region_size));
    for (index, device) in system.board.devices.iter().enumerate() {
        let owned = index == kernel.console
            || system.partitions.iter().any(|p| p.regions.iter().any(|r| r.kind == RegionKind::Device(index)));
        if !owned {
            regions.push(("nobody".into(), device.name.clone(), device.base, device.size));
        }
    }
    let mut targets = BTreeSet::new();
    for (owner, region, base, size) in regions {
        for op in ["read", "write", "execute"] {
            targets.insert(Target {
                op: op.into(),
                owner: owner.clone(),
                region: region.clone(),
                address: probe(base, size),
            });
        }
    }
    targets
}

/// Instructions that must trap, with the exception classes acceptable for
/// each. SMC and EL2 registers are UNDEFINED at EL1 on a core without EL3
/// (QEMU's Cortex-R52), which the SDK reports as an EL1 undefined fault.
/// Generating an SGI traps because `HCR.IMO` is set.
///
/// The c15 registers trap through `HSTR.T15` (reads of `CBAR` are emulated
/// instead and return the GIC's base, `interference.rs` checks it). A debug communications channel write may be
/// reported as undefined: QEMU does not route that one trap to EL2 (QEMU
/// issue #2986); either way it never reaches the channel.
const INSTRUCTIONS: [(&str, &[&str]); 18] = [
    ("cntp-tval-write", &["trapped-cp15"]),
    ("cntp-ctl-write", &["trapped-cp15"]),
    ("actlr-write", &["trapped-cp15"]),
    ("atcm-region-write", &["trapped-cp15"]),
    ("pmcr-read", &["trapped-cp15"]),
    ("dbgdscr-read", &["trapped-cp14"]),
    ("smc", &["trapped-smc", "el1-undefined"]),
    ("hcr-read", &["el1-undefined"]),
    ("sgi-write", &["trapped-cp15-64"]),
    ("cpuactlr-read", &["trapped-cp15-64"]),
    ("periphpregionr-read", &["trapped-cp15"]),
    ("flashifregionr-read", &["trapped-cp15"]),
    ("buildoptr-read", &["trapped-cp15"]),
    ("cbar-write", &["trapped-cp15"]),
    ("dbgdtrtx-write", &["trapped-cp14", "el1-undefined"]),
    ("dbgdidr-read", &["trapped-cp14"]),
    ("pmccntr-read", &["trapped-cp15"]),
    ("pmcntenset-write", &["trapped-cp15"]),
];

fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.split(' ').find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn every_access_outside_a_partition_traps_and_leaves_victims_unchanged() {
    let system = common::description("isolation");
    let output = common::boot("isolation", 80);
    let lines = &output.lines;
    for attacker in ["attacker-a", "attacker-b"] {
        check_attacker(&system, lines, attacker);
    }
    check_victim(lines, "victim");
}

/// The same matrix with one attacker and one victim on each core
/// (`isolation-smp.toml`): each attacker tries the other core's partitions
/// too, and everything it does is handled, and logged, by its own core.
#[test]
fn across_cores_every_access_outside_a_partition_traps_on_its_own_core() {
    let system = common::description("isolation-smp");
    let output = common::boot_cores("isolation-smp", 80, 2);
    for (core, attacker, victim) in [(0, "attacker-a", "victim"), (1, "attacker-b", "victim-c1")] {
        let lines = output.console(core);
        check_attacker(&system, lines, attacker);
        check_victim(lines, victim);
        let other = output.console(1 - core);
        assert!(
            !other.iter().any(|l| partition_line(l).is_some_and(|(w, _)| w == attacker)
                || Record::parse(l).is_some_and(|r| r.subject == Some(attacker))),
            "{attacker}'s attempts or faults appear on the other core's console"
        );
    }
}

/// Checks attacker `attacker`'s run on `lines` (its core's console): every
/// target the description implies was tried, once, and faulted as it must.
fn check_attacker(system: &bulkhead_sysgen::System, lines: &[String], attacker: &str) {
    {
        let expected = expected_targets(&system, attacker);
        let mut attempted = BTreeSet::new();
        let mut instructions = BTreeSet::new();
        for (position, line) in lines.iter().enumerate() {
            let Some((who, text)) = partition_line(line) else { continue };
            if who != attacker {
                continue;
            }
            assert!(!text.starts_with("ESCAPED"), "{attacker}: an access did not trap: {text}");
            if !text.starts_with("attempt ") {
                continue;
            }
            // The next kernel record about this attacker must be its fault.
            // (The `@restart` of the previous attempt's fault may come after
            // this line: a record waiting behind one about no partition, like
            // a core's `@core-ring`, is printed in idle time, which a
            // partition's own line may overtake; see `kernel_core::console`.)
            let fault = lines[position + 1..]
                .iter()
                .filter_map(|l| Record::parse(l))
                .find(|r| r.subject == Some(attacker) && r.kind != kind::RESTART)
                .unwrap_or_else(|| panic!("{attacker}: no kernel record after `{text}`"));
            assert_eq!(fault.kind, kind::FAULT, "{attacker}: `{text}` was followed by {fault:?}");
            let op = field(text, "op").expect("op");
            let class = fault.field("class").expect("class");
            if op == "instruction" {
                let name = field(text, "name").expect("name");
                let (_, classes) = INSTRUCTIONS.iter().find(|(n, _)| *n == name).expect("known instruction");
                assert!(classes.contains(&class), "{attacker}: {name} gave class {class}");
                instructions.insert(name.to_owned());
                continue;
            }
            let target = Target {
                op: op.into(),
                owner: field(text, "owner").expect("owner").into(),
                region: field(text, "region").expect("region").into(),
                address: u64::from_str_radix(field(text, "address").expect("address").trim_start_matches("0x"), 16)
                    .unwrap(),
            };
            assert_eq!(fault.number("address"), Some(target.address), "{attacker}: fault address for {target:?}");
            let hsr = fault.number("hsr").expect("hsr") as u32;
            match op {
                "execute" => assert_eq!(class, "stage2-prefetch-abort", "{target:?}"),
                _ => {
                    assert_eq!(class, "stage2-data-abort", "{target:?}");
                    assert_eq!(hsr & (1 << 6) != 0, op == "write", "{target:?}: HSR.WnR");
                }
            }
            assert!(attempted.insert(target.clone()), "{attacker}: {target:?} attempted twice");
        }
        let missing: Vec<_> = expected.difference(&attempted).collect();
        let unexpected: Vec<_> = attempted.difference(&expected).collect();
        assert!(missing.is_empty(), "{attacker} never tried: {missing:#?}");
        assert!(unexpected.is_empty(), "{attacker} tried targets the description does not explain: {unexpected:#?}");
        assert_eq!(instructions.len(), INSTRUCTIONS.len(), "{attacker}: instructions tried: {instructions:?}");
        let own: Vec<&str> =
            lines.iter().filter_map(|l| partition_line(l)).filter(|(w, _)| *w == attacker).map(|(_, t)| t).collect();
        assert!(own.contains(&"own-access ok"), "{attacker}: its own memory and device must stay usable");
        let total = expected.len() + INSTRUCTIONS.len();
        assert!(own.contains(&format!("done attempts={total}").as_str()), "{attacker}: expected {total} attempts");
    }
}

/// The victim `name` checked its canaries in every window and never saw a
/// change.
fn check_victim(lines: &[String], name: &str) {
    let victim: Vec<&str> =
        lines.iter().filter_map(|l| partition_line(l)).filter(|(w, _)| *w == name).map(|(_, t)| t).collect();
    assert!(victim.iter().all(|t| t.starts_with("canaries ok")), "{name}: {victim:?}");
    assert!(victim.len() >= 59, "{name} ran in every frame: {} checks", victim.len());
}
