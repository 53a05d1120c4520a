//! `cargo xtask bench`: exact instruction counts and sizes.
//!
//! Boots `tests/systems/bench.toml` (two partitions with 8 EL2 regions and a
//! full EL1 MPU each, switching every 100 us and looping on the minimal
//! hypercall) under `-icount shift=0` with the `bulkhead-insn-plugin` TCG
//! plugin, which reports the exact number of instructions executed before
//! chosen addresses and at every entry to and exit from the kernel's code.
//! From those events:
//!
//! - `partition_switch_insns`: from the first instruction of the IRQ vector
//!   (hyp timer) to the first instruction of the next partition (worst case
//!   over all switches);
//! - `hvc_roundtrip_insns`: from the `hvc` of the minimal hypercall
//!   (`PartitionId`) to the first instruction after it, back at EL1 (median;
//!   calls interrupted by a window boundary are left out);
//! - `longest_hypercall_insns`: the longest kernel path a partition can ask
//!   for (`ConsoleWrite` of 128 bytes), which bounds how long a window
//!   boundary that falls during a hypercall waits;
//! - `boot_insns`: from reset to the first partition instruction.
//!
//! Sizes come from the kernel ELF. Figures are reported and compared with
//! targets; the bench never fails on a figure. Output: a table on stdout and
//! `target/bench/summary.json`.

use crate::{setup, system};
use anyhow::{Context, Result, bail};
use bulkhead_insn_plugin::{Event, parse_events};
use bulkhead_system_tests::qemu::{Run, symbol_address};
use object::{Object, ObjectSection};
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// Offset of the IRQ entry in the Hyp vector table.
const IRQ_VECTOR_OFFSET: u64 = 0x18;
/// Major frames to run.
const FRAMES: u32 = 50;

struct Metric {
    key: &'static str,
    value: u64,
    target: Option<u64>,
    unit: &'static str,
    note: String,
}

fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values[values.len() / 2]
}

/// Runs the bench.
pub fn run(root: &Path) -> Result<()> {
    let toolchain = setup::toolchain(root)?;
    setup::qemu()?;
    let built = system::build(root, &toolchain, &root.join("tests/systems/bench.toml"))?;
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["build", "--quiet", "--release", "-p", "bulkhead-insn-plugin"])
        .status()?;
    if !status.success() {
        bail!("building the instruction-count plugin failed");
    }
    let plugin = root.join("target/release/libbulkhead_insn_plugin.so");
    let out_dir = root.join("target/bench");
    std::fs::create_dir_all(&out_dir)?;
    let events_path = out_dir.join("events.txt");

    let kernel = &built.kernel;
    let kernel_code = &built.system.kernel.code;
    let vectors = symbol_address(kernel, "_vector_table")?;
    let irq_vector = vectors + IRQ_VECTOR_OFFSET;
    let probe = root.join("target/bulkhead/bench/partitions/probe-a.elf");
    let hvc = symbol_address(&probe, "bench_hvc")?;
    let hvc_return = symbol_address(&probe, "bench_hvc_return")?;
    let console = symbol_address(&probe, "bench_console")?;
    let console_return = symbol_address(&probe, "bench_console_return")?;
    let plugin_argument = format!(
        "{},out={},pc={irq_vector:#x},pc={hvc:#x},pc={hvc_return:#x},pc={console:#x},pc={console_return:#x},range={:#x}-{:#x}",
        plugin.display(),
        events_path.display(),
        kernel_code.base,
        kernel_code.base as u64 + kernel_code.size as u64
    );
    let output = Run::new(kernel).frames(FRAMES).plugin(plugin_argument).run()?;
    if output.status != Some(0) {
        bail!("the bench run failed:\n{}", output.lines.join("\n"));
    }
    let events = parse_events(&std::fs::read_to_string(&events_path)?).map_err(anyhow::Error::msg)?;

    // Boot: reset to the first instruction outside the kernel.
    let boot = events
        .iter()
        .find_map(|event| match event {
            Event::Leave { count, .. } => Some(*count),
            _ => None,
        })
        .context("execution never left the kernel")?;

    // Switches: IRQ vector entry to the next exit from the kernel.
    let mut switches = Vec::new();
    let mut irq_entered = None;
    // Hypercalls: `hvc` to the instruction after it, with no IRQ in between.
    let mut hypercalls = Vec::new();
    let mut hvc_at = None;
    let mut console_writes = Vec::new();
    let mut console_at = None;
    for event in &events {
        match *event {
            // The IRQ vector is watched as a pc, not as a range entry: a
            // boundary that falls during a hypercall is taken straight after
            // the kernel's `eret`, without execution ever leaving the kernel.
            Event::Pc { count, addr } if addr as u64 == irq_vector => {
                irq_entered = Some(count);
                hvc_at = None;
                console_at = None;
            }
            Event::Leave { count, .. } => {
                if let Some(start) = irq_entered.take() {
                    switches.push(count - start);
                }
            }
            Event::Pc { count, addr } if addr as u64 == hvc => hvc_at = Some(count),
            Event::Pc { count, addr } if addr as u64 == hvc_return => {
                if let Some(start) = hvc_at.take() {
                    hypercalls.push(count - start);
                }
            }
            Event::Pc { count, addr } if addr as u64 == console => console_at = Some(count),
            Event::Pc { count, addr } if addr as u64 == console_return => {
                if let Some(start) = console_at.take() {
                    console_writes.push(count - start);
                }
            }
            _ => {}
        }
    }
    if switches.len() < 10 || hypercalls.len() < 10 || console_writes.is_empty() {
        bail!(
            "too few samples: {} switches, {} hypercalls, {} console writes",
            switches.len(),
            hypercalls.len(),
            console_writes.len()
        );
    }
    let console_max = *console_writes.iter().max().unwrap();
    let switch_max = *switches.iter().max().unwrap();
    let switch_min = *switches.iter().min().unwrap();
    let hvc_min = *hypercalls.iter().min().unwrap();
    let hvc_max = *hypercalls.iter().max().unwrap();
    let hvc_median = median(&mut hypercalls.clone());

    // Sizes.
    let bytes = std::fs::read(kernel)?;
    let elf = object::File::parse(&*bytes)?;
    let size = |name: &str| elf.section_by_name(name).map_or(0, |s| s.size());
    let text = size(".vector_table") + size(".text");
    let data_bss = size(".data") + size(".bss") + size(".uninit");

    let metrics = [
        Metric {
            key: "partition_switch_insns",
            value: switch_max,
            target: Some(800),
            unit: "instructions",
            note: format!(
                "worst of {} switches (best {switch_min}); 8 EL2 regions, 16 EL1 regions each",
                switches.len()
            ),
        },
        Metric {
            key: "hvc_roundtrip_insns",
            value: hvc_median,
            target: Some(120),
            unit: "instructions",
            note: format!("median of {} PartitionId calls (min {hvc_min}, max {hvc_max})", hypercalls.len()),
        },
        Metric {
            key: "longest_hypercall_insns",
            value: console_max,
            target: None,
            unit: "instructions",
            note: format!(
                "ConsoleWrite of 128 bytes, worst of {}: the most a window boundary can wait for the kernel",
                console_writes.len()
            ),
        },
        Metric {
            key: "boot_insns",
            value: boot,
            target: Some(50_000),
            unit: "instructions",
            note: "reset to the first partition instruction".into(),
        },
        Metric {
            key: "kernel_text_bytes",
            value: text,
            target: Some(24 * 1024),
            unit: "bytes",
            note: "vector table + .text".into(),
        },
        Metric {
            key: "kernel_rodata_bytes",
            value: size(".rodata"),
            target: None,
            unit: "bytes",
            note: "tables, strings".into(),
        },
        Metric {
            key: "kernel_data_bss_bytes",
            value: data_bss,
            target: None,
            unit: "bytes",
            note: ".data + .bss + .uninit for 2 partitions".into(),
        },
        Metric {
            key: "kernel_stack_bytes",
            value: size(".stacks"),
            target: None,
            unit: "bytes",
            note: "Hyp stack, one core".into(),
        },
    ];

    println!("{:<24} {:>10} {:>10}  ", "metric", "value", "target");
    for metric in &metrics {
        let target = metric.target.map_or("-".to_owned(), |t| format!("<= {t}"));
        let verdict = match metric.target {
            Some(t) if metric.value <= t => "meets target",
            Some(_) => "OVER TARGET",
            None => "",
        };
        println!(
            "{:<24} {:>10} {:>10}  {verdict:<12} {} ({})",
            metric.key, metric.value, target, metric.unit, metric.note
        );
    }
    let mut summary = serde_json::Map::new();
    for metric in &metrics {
        summary.insert(metric.key.into(), json!(metric.value));
    }
    summary.insert(
        "details".into(),
        json!(
            metrics
                .iter()
                .map(|m| (
                    m.key.to_owned(),
                    json!({ "value": m.value, "target": m.target, "unit": m.unit, "note": m.note })
                ))
                .collect::<serde_json::Map<_, _>>()
        ),
    );
    summary.insert(
        "method".into(),
        json!({
            "simulator": "qemu-system-arm -M mps3-an536 -icount shift=0,sleep=off",
            "counter": "bulkhead-insn-plugin (exact executed-instruction counts)",
            "system": "tests/systems/bench.toml",
            "frames": FRAMES,
            "switch_samples": switches,
        }),
    );
    let path = out_dir.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)? + "\n")?;
    println!("wrote {}", path.display());
    Ok(())
}
