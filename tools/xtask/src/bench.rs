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
//! - `longest_hypercall_insns`: the longest hypercall, `ConsoleWrite` of 128
//!   bytes, which also prints the caller's own waiting lines while they fit
//!   in its window (its own time: a boundary stops it within 8 bytes, see
//!   `window_start_delay_insns`);
//! - `boot_insns`: from reset to the first partition instruction.
//!
//! A second run boots `tests/systems/bench-irq.toml` (one partition driving
//! the virtual timer and six SPIs through the virtual GIC, see
//! `tests/partitions/bench-irq`):
//!
//! - `virq_latency_insns`: from the first instruction of the kernel's IRQ
//!   vector (the physical virtual-timer interrupt, taken while its owner
//!   runs) to the first instruction of the partition's IRQ vector (worst
//!   case; entries that are window boundaries, and the deliberate bursts of
//!   six interrupts at once, are left out);
//! - `virq_eoi_insns`: from the guest's `ICC_EOIR1` write to its next
//!   instruction (worst case: an EOI that empties the list registers while
//!   interrupts are queued costs a maintenance interrupt and a refill;
//!   EOIs interrupted by a window boundary are left out);
//! - `gicd_trap_insns`: one trapped and emulated `GICD_I[CS]ENABLER` store, from
//!   the store to the instruction after it (worst case without an interrupt
//!   in between).
//!
//! A third run boots `tests/systems/interference.toml`, the adversarial
//! suite (`tests/system/tests/interference.rs` says what each attack does),
//! and times every window start to the instruction (see [`interference`]
//! for how counts become times):
//!
//! - `window_start_delay_insns`: from a window's scheduled boundary to the
//!   first instruction of its owner, worst over the victim's windows, each
//!   right after one attack (the documented bound: 1,500);
//! - `window_start_delay_any_insns`: the same over every window, attackers'
//!   own included (informative: a partition whose own interrupts were left
//!   pending gets them delivered first, in its own time);
//! - `restart_cost_insns`: kernel instructions per KiB a restart restores,
//!   spent in the restarting partition's own windows;
//! - `restart_step_worst_insns`: the longest stretch of a restart without a
//!   look at the window timer.
//!
//! A fourth run boots `tests/systems/bench-virtio.toml` (virtio.toml's link
//! with the island holding 95% of the frame) with QEMU's DDR in a shared
//! file and drives the island's echo service from this process, one message
//! per doorbell, as the Cortex-A would (`bulkhead-amp-host`):
//!
//! - `rpmsg_echo_insns`: from the kernel's IRQ vector (the doorbell's
//!   interrupt) to the island's ring back, for a 64-byte message: the
//!   R52's whole cost of receiving and echoing it, doorbells included
//!   (the worst sample: an interrupt inside an echo cuts its sample short,
//!   so medians mislead; deliveries delayed to a window start are left out);
//! - `rpmsg_echo_496_insns`: the same for the largest message;
//! - `rpmsg_echo_msgs_per_s`: 64-byte echoes per second at one instruction
//!   per nanosecond with the island alone on the core (informative);
//! - `linux_echo_roundtrip_us`: the mean round trip of 64-byte echoes from
//!   a Linux process through `rpmsg_char`, Debian's Linux on a second QEMU
//!   driving the AMP demo's island (`cargo xtask linux`; informative: the
//!   two QEMUs are not deterministic together).
//!
//! A fifth run boots `tests/systems/bench-smp.toml` on two cores (two probes
//! per core and the pacer) with the plugin counting every core's
//! instructions in one count (`vcpu=all`: QEMU 10 does not attribute every
//! instruction to the core that ran it, see the plugin), and a sixth
//! `tests/systems/bench-core1.toml`:
//!
//! - `partition_switch_insns_core1`: `partition_switch_insns` on core 1,
//!   from `tests/systems/bench-core1.toml` (the same probes on core 1, core
//!   0 asleep, so every counted instruction is core 1's);
//! - `boot_ns_two_cores`: reset to the later core's first window, in virtual
//!   nanoseconds (both cores' instructions and the epoch margin);
//! - `cross_core_sgi_insns`: core 0's kernel ringing core 1's (SGI 0, the
//!   link check after the first frame): the instructions to raise it plus
//!   those from core 1's IRQ vector to its handler. QEMU runs the cores in
//!   turns, so core 1 takes the SGI at its next turn; that wait is the
//!   simulator's and is left out (said in the note).
//!
//! A seventh and eighth run boot `tests/systems/bench-ports.toml` and
//! `bench-notify.toml` (`tests/partitions/bench-ports`) and time channel
//! operations from each exported function to its marker:
//!
//! - `sampling_write_insns`, `sampling_read_insns`, `queuing_send_insns`:
//!   one 64-byte value or message (the SDK's ports, dating and ageing
//!   included);
//! - `ipc_notify_insns`: the writer's `PortNotify` on core 0 to the first
//!   instruction of the reader's interrupt handler on core 1 (both cores'
//!   instructions; samples with a window boundary left out);
//! - `ipc_send_notify_insns`: the same from the queuing send before it.
//!
//! Sizes come from the kernel ELF. Figures are reported and compared with
//! targets; the bench never fails on a figure. Output: a table on stdout and
//! `target/bench/summary.json`.

use crate::{setup, system};
use anyhow::{Context, Result, bail};
use bulkhead_insn_plugin::{Config, Event, parse_events};
use bulkhead_system_tests::qemu::{Output, Run, symbol_address};
use object::{Object, ObjectSection, ObjectSymbol};
use serde_json::json;
use std::ops::Range;
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

    let kernel = &built.kernel;
    let vectors = symbol_address(kernel, "_vector_table")?;
    let irq_vector = vectors + IRQ_VECTOR_OFFSET;
    let probe = root.join("target/bulkhead/bench/partitions/probe-a.elf");
    let hvc = symbol_address(&probe, "bench_hvc")?;
    let hvc_return = symbol_address(&probe, "bench_hvc_return")?;
    let console = symbol_address(&probe, "bench_console")?;
    let console_return = symbol_address(&probe, "bench_console_return")?;
    let events = traced_run(
        &plugin,
        &out_dir.join("events.txt"),
        &built,
        FRAMES,
        &[irq_vector, hvc, hvc_return, console, console_return],
    )?;

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

    let virq = virtual_interrupts(root, &toolchain, &plugin, &out_dir)?;
    let attacks = interference(root, &toolchain, &plugin, &out_dir)?;
    let rpmsg = rpmsg_echo(root, &toolchain, &plugin, &out_dir)?;
    let cores = two_cores(root, &toolchain, &plugin, &out_dir)?;
    let ports = ports(root, &toolchain, &plugin, &out_dir)?;
    let linux_echo = crate::linux::echo_roundtrip_us(root, &toolchain)?;

    // Sizes.
    let bytes = std::fs::read(kernel)?;
    let elf = object::File::parse(&*bytes)?;
    let size = |name: &str| elf.section_by_name(name).map_or(0, |s| s.size());
    let text = size(".vector_table") + size(".text");
    let data_bss = size(".data") + size(".bss") + size(".uninit");

    let mut metrics = vec![
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
                "ConsoleWrite of 128 bytes, its own lines printed, worst of {}: the caller's time (a boundary stops it within 8 bytes)",
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
            key: "partition_switch_insns_core1",
            value: cores.core1_switch.0,
            target: Some(800),
            unit: "instructions",
            note: format!(
                "the same probes on core 1, core 0 asleep (bench-core1.toml): worst of {} switches (best {}); \
                 with both cores busy QEMU's plugin cannot tell the cores' instructions apart",
                cores.core1_switch.2, cores.core1_switch.1
            ),
        },
        Metric {
            key: "boot_ns_two_cores",
            value: cores.first_window_ns.iter().copied().max().unwrap_or(0),
            target: Some(100_000),
            unit: "ns",
            note: format!(
                "reset to the later core's first window (both start at the epoch): core 0 {} ns, core 1 {} ns of virtual time, \
                 both cores' instructions and the 20 us epoch margin included",
                cores.first_window_ns[0], cores.first_window_ns[1]
            ),
        },
        Metric {
            key: "cross_core_sgi_insns",
            value: cores.ring,
            target: Some(1_000),
            unit: "instructions",
            note: "core 0's kernel ringing core 1's (SGI 0) to core 1's handler: both cores' instructions in between, \
                   QEMU's turns included (with the pacer a turn is at most ~500)"
                .into(),
        },
        Metric {
            key: "sampling_write_insns",
            value: ports.sampling_write.worst,
            target: Some(150),
            unit: "instructions",
            note: format!("64-byte value dated by SystemTime, {} (bench-ports.toml)", ports.sampling_write.describe()),
        },
        Metric {
            key: "sampling_read_insns",
            value: ports.sampling_read.worst,
            target: Some(150),
            unit: "instructions",
            note: format!("64-byte value and its age (one SystemTime), {}", ports.sampling_read.describe()),
        },
        Metric {
            key: "queuing_send_insns",
            value: ports.queue_send.worst,
            target: Some(150),
            unit: "instructions",
            note: format!("64-byte message to one reader, {}", ports.queue_send.describe()),
        },
        Metric {
            key: "ipc_notify_insns",
            value: ports.notify.worst,
            target: Some(400),
            unit: "instructions",
            note: format!(
                "the writer's PortNotify on core 0 (its call) to the first instruction of the reader's interrupt handler on \
                 core 1, both cores' instructions, both otherwise idle (bench-notify.toml), {}, samples with a window \
                 boundary left out; Bao's cross-VM notify on this board: 820",
                ports.notify.describe()
            ),
        },
        Metric {
            key: "ipc_send_notify_insns",
            value: ports.send_notify.worst,
            target: None,
            unit: "instructions",
            note: format!(
                "a 64-byte queuing send and its PortNotify on core 0 to the reader's handler on core 1, {}",
                ports.send_notify.describe()
            ),
        },
        Metric {
            key: "virq_latency_insns",
            value: virq.latency_max,
            target: Some(160),
            unit: "instructions",
            note: format!(
                "physical virtual-timer interrupt at the kernel's IRQ vector to the guest's IRQ vector, worst of {} (best {}); Bao on this board: 183",
                virq.latency_samples, virq.latency_min
            ),
        },
        Metric {
            key: "virq_eoi_insns",
            value: virq.eoi_max,
            target: None,
            unit: "instructions",
            note: format!(
                "guest ICC_EOIR1 write to its next instruction, worst of {} (median {}): the worst includes a maintenance interrupt and list-register refill",
                virq.eoi_samples, virq.eoi_median
            ),
        },
        Metric {
            key: "gicd_trap_insns",
            value: virq.gicd_max,
            target: Some(600),
            unit: "instructions",
            note: format!(
                "one trapped and emulated GICD_ICENABLER or GICD_ISENABLER store that changes the physical distributor, worst of {} (best {}); Bao on this board: 853",
                virq.gicd_samples, virq.gicd_min
            ),
        },
        Metric {
            key: "window_start_delay_insns",
            value: attacks.victim_worst,
            target: Some(1500),
            unit: "instructions",
            note: format!(
                "scheduled boundary to the victim's first instruction, worst over every attack (after {}); per attack: {}; aim 1000",
                attacks.victim_worst_after,
                attacks.per_attack.iter().map(|(a, d)| format!("{a} {d}")).collect::<Vec<_>>().join(", ")
            ),
        },
        Metric {
            key: "window_start_delay_any_insns",
            value: attacks.any_worst,
            target: None,
            unit: "instructions",
            note: format!(
                "the same over all {} windows, attackers' own included (worst: {}, whose own interrupts, left pending, are delivered first)",
                attacks.samples, attacks.any_worst_owner
            ),
        },
        Metric {
            key: "restart_cost_insns",
            value: attacks.restore_step_median * 1024 / RESTORE_STEP_BYTES,
            target: None,
            unit: "instructions/KiB",
            note: format!(
                "kernel instructions per KiB of .data/.bss restored, in the restarting partition's windows (median of {} steps of {RESTORE_STEP_BYTES} bytes)",
                attacks.restore_steps
            ),
        },
        Metric {
            key: "restart_step_worst_insns",
            value: attacks.restore_step_worst,
            target: Some(800),
            unit: "instructions",
            note: "the longest a restart keeps the kernel from looking at the window timer (its first step resets the context and the virtual GIC)".into(),
        },
        Metric {
            key: "rpmsg_echo_insns",
            value: rpmsg.max_64,
            target: Some(1500),
            unit: "instructions",
            note: format!(
                "64-byte message: doorbell interrupt at EL2 to the island's doorbell back, worst of {} (median {}, min \
                 {}: samples cut short by another interrupt inside the echo)",
                rpmsg.samples_64, rpmsg.echo_64, rpmsg.min_64
            ),
        },
        Metric {
            key: "rpmsg_echo_496_insns",
            value: rpmsg.echo_496_max,
            target: None,
            unit: "instructions",
            note: format!(
                "496-byte message, the largest: worst of {} (median {})",
                rpmsg.samples_496, rpmsg.echo_496
            ),
        },
        Metric {
            key: "rpmsg_echo_msgs_per_s",
            value: 1_000_000_000 / rpmsg.max_64.max(1),
            target: None,
            unit: "messages/s",
            note: "64-byte echoes at 1 instruction/ns with the island alone on the core (simulated, informative)"
                .into(),
        },
        Metric {
            key: "linux_echo_roundtrip_us",
            value: linux_echo.as_ref().map_or(0, |(us, _)| *us),
            target: None,
            unit: "us",
            note: match &linux_echo {
                Ok((_, note)) => format!(
                    "{note}; Linux on QEMU virt with -icount sleep=on beside the island, whose window is 5 of every \
                     10 ms: simulated time, informative, not deterministic"
                ),
                Err(_) => String::new(),
            },
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
    // A figure that could not be measured is left out, and said.
    if let Err(reason) = &linux_echo {
        eprintln!("linux_echo_roundtrip_us: not measured: the Linux guest cannot be built here ({reason})");
        metrics.retain(|metric| metric.key != "linux_echo_roundtrip_us");
    }

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
            "systems": ["tests/systems/bench.toml", "tests/systems/bench-irq.toml", "tests/systems/interference.toml", "tests/systems/bench-virtio.toml", "tests/systems/bench-smp.toml", "tests/systems/bench-core1.toml", "tests/systems/bench-ports.toml", "tests/systems/bench-notify.toml"],
            "frames": FRAMES,
            "switch_samples": switches,
        }),
    );
    let path = out_dir.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)? + "\n")?;
    println!("wrote {}", path.display());
    Ok(())
}

/// Boots `built` for `frames` frames with the instruction-count plugin
/// watching `pcs` and the kernel's code range, and returns its events.
fn traced_run(
    plugin: &Path,
    events_path: &Path,
    built: &system::Built,
    frames: u32,
    pcs: &[u64],
) -> Result<Vec<Event>> {
    Ok(traced_run_on(plugin, events_path, built, frames, pcs, 1)?.1)
}

/// [`traced_run`] on `cores` cores, returning the run's output too. With
/// more than one core the plugin counts every core's instructions in one
/// count (`vcpu=all`: per-core counts are not trusted under `-smp`, see the
/// plugin).
fn traced_run_on(
    plugin: &Path,
    events_path: &Path,
    built: &system::Built,
    frames: u32,
    pcs: &[u64],
    cores: u8,
) -> Result<(Output, Vec<Event>)> {
    let mut config = plugin_config(events_path, built, pcs, None);
    if cores > 1 {
        config.vcpu = bulkhead_insn_plugin::ALL_VCPUS;
    }
    let output = Run::new(&built.kernel).cores(cores).frames(frames).plugin(config.plugin_arg(plugin)).run()?;
    if output.status != Some(0) {
        let consoles: Vec<String> = (0..cores).map(|core| output.console(core).join("\n")).collect();
        bail!("the bench run of {} failed:\n{}", built.system.name, consoles.join("\n"));
    }
    let events = parse_events(&std::fs::read_to_string(events_path)?).map_err(anyhow::Error::msg)?;
    Ok((output, events))
}

/// The count at the first execution of `addr` among `events`.
fn first_pc(events: &[Event], addr: u64) -> Option<u64> {
    events.iter().find_map(|event| match *event {
        Event::Pc { count, addr: at } if at as u64 == addr => Some(count),
        _ => None,
    })
}

/// The plugin's configuration: events to `events_path`, the given `pcs`
/// watched, the kernel's code as range 0, and `profile`d instructions.
#[allow(clippy::single_range_in_vec_init, reason = "a list of watched ranges that has one, the kernel's code")]
fn plugin_config(events_path: &Path, built: &system::Built, pcs: &[u64], profile: Option<Range<u32>>) -> Config {
    let kernel_code = &built.system.kernel.code;
    Config {
        out: events_path.to_owned(),
        // Every watched address is in the 32-bit space (symbols of 32-bit ELFs).
        pcs: pcs.iter().map(|pc| *pc as u32).collect(),
        ranges: vec![kernel_code.base..kernel_code.base + kernel_code.size],
        profile,
        vcpu: 0,
    }
}

/// Figures from the `bench-irq` run.
struct VirtualInterrupts {
    latency_max: u64,
    latency_min: u64,
    latency_samples: usize,
    eoi_max: u64,
    eoi_median: u64,
    eoi_samples: usize,
    gicd_max: u64,
    gicd_min: u64,
    gicd_samples: usize,
}

/// Frames of the `bench-irq` run (1 ms each).
const IRQ_FRAMES: u32 = 20;

/// Runs `tests/systems/bench-irq.toml` and measures virtual interrupts.
fn virtual_interrupts(
    root: &Path,
    toolchain: &setup::Toolchain,
    plugin: &Path,
    out_dir: &Path,
) -> Result<VirtualInterrupts> {
    let built = system::build(root, toolchain, &root.join("tests/systems/bench-irq.toml"))?;
    let kernel = &built.kernel;
    let irq_vector = symbol_address(kernel, "_vector_table")? + IRQ_VECTOR_OFFSET;
    let start_window = kernel_function(kernel, "6Kernel12start_window")?;
    let probe = root.join("target/bulkhead/bench-irq/partitions/irq-probe.elf");
    let guest_irq_vector = symbol_address(&probe, "_vector_table")? + IRQ_VECTOR_OFFSET;
    let eoi = symbol_address(&probe, "bench_eoi")?;
    let eoi_return = symbol_address(&probe, "bench_eoi_return")?;
    let gicd = symbol_address(&probe, "bench_gicd_write")?;
    let gicd_return = symbol_address(&probe, "bench_gicd_write_return")?;
    let burst = symbol_address(&probe, "bench_burst")?;
    let burst_done = symbol_address(&probe, "bench_burst_done")?;
    let events = traced_run(
        plugin,
        &out_dir.join("events-irq.txt"),
        &built,
        IRQ_FRAMES,
        &[irq_vector, start_window, guest_irq_vector, eoi, eoi_return, gicd, gicd_return, burst, burst_done],
    )?;

    let (mut latencies, mut eois, mut gicd_writes) = (Vec::new(), Vec::new(), Vec::new());
    // Open intervals: the kernel's IRQ entry (cleared by any other watched
    // guest instruction or by a window boundary), an EOI, a GICD store.
    let (mut irq_at, mut eoi_at, mut gicd_at) = (None, None, None);
    // Between a burst's store and its end, deliveries are of six at once.
    let mut in_burst = false;
    for event in &events {
        let Event::Pc { count, addr } = *event else { continue };
        let addr = addr as u64;
        if addr == irq_vector {
            irq_at = (!in_burst).then_some(count);
            // An interrupt during the store is not the store's cost.
            gicd_at = None;
        } else if addr == start_window {
            // A window boundary is not part of any of these paths.
            irq_at = None;
            eoi_at = None;
            gicd_at = None;
        } else if addr == guest_irq_vector {
            if let Some(start) = irq_at.take() {
                latencies.push(count - start);
            }
        } else {
            // Any other watched guest instruction: the kernel entry before
            // it (a maintenance interrupt after an EOI) delivered nothing.
            irq_at = None;
            if addr == burst {
                in_burst = true;
            } else if addr == burst_done {
                in_burst = false;
            } else if addr == eoi {
                eoi_at = Some(count);
            } else if addr == eoi_return {
                if let Some(start) = eoi_at.take() {
                    eois.push(count - start);
                }
            } else if addr == gicd {
                gicd_at = Some(count);
            } else if addr == gicd_return
                && let Some(start) = gicd_at.take()
            {
                gicd_writes.push(count - start);
            }
        }
    }
    if latencies.len() < 10 || eois.len() < 10 || gicd_writes.len() < 10 {
        bail!(
            "too few samples in the bench-irq run: {} deliveries, {} EOIs, {} GICD writes",
            latencies.len(),
            eois.len(),
            gicd_writes.len()
        );
    }
    Ok(VirtualInterrupts {
        latency_max: *latencies.iter().max().unwrap(),
        latency_min: *latencies.iter().min().unwrap(),
        latency_samples: latencies.len(),
        eoi_max: *eois.iter().max().unwrap(),
        eoi_median: median(&mut eois.clone()),
        eoi_samples: eois.len(),
        gicd_max: *gicd_writes.iter().max().unwrap(),
        gicd_min: *gicd_writes.iter().min().unwrap(),
        gicd_samples: gicd_writes.len(),
    })
}

/// The address of the kernel function whose (mangled) name ends with
/// `suffix`; exactly one must match.
fn kernel_function(kernel: &Path, suffix: &str) -> Result<u64> {
    let bytes = std::fs::read(kernel)?;
    let file = object::File::parse(&*bytes)?;
    let mut matches = file.symbols().filter(|symbol| symbol.name().is_ok_and(|name| name.ends_with(suffix)));
    match (matches.next(), matches.next()) {
        (Some(symbol), None) => Ok(symbol.address()),
        (None, _) => bail!("no kernel function *{suffix} in {} (inlined?)", kernel.display()),
        _ => bail!("more than one kernel function *{suffix} in {}", kernel.display()),
    }
}

/// Figures from the two-core run (`tests/systems/bench-smp.toml`).
struct TwoCores {
    /// Each core's first window start as the kernel observed it, in
    /// nanoseconds of virtual time from reset.
    first_window_ns: [u64; 2],
    /// Instructions of both cores from core 0's `gic::ring` to core 1's
    /// `Kernel::rung`.
    ring: u64,
    /// Core 1's switches, alone on the simulator (`bench-core1.toml`):
    /// worst, best, count.
    core1_switch: (u64, u64, usize),
}

/// Boots `tests/systems/bench-smp.toml` on two cores with the plugin
/// counting every core's instructions in one count (`vcpu=all`: under
/// `-icount`, virtual nanoseconds while a core runs; per-core counts are
/// not trusted under `-smp`, see the plugin's documentation), and measures
/// the cores' boot (each core's first window, from its `@window` line) and
/// the cores' doorbell: the link check in which core 0's kernel rings core
/// 1's after its first frame (`gic::ring` to `Kernel::rung`, both cores'
/// instructions in between, QEMU's turns included).
fn two_cores(root: &Path, toolchain: &setup::Toolchain, plugin: &Path, out_dir: &Path) -> Result<TwoCores> {
    let built = system::build(root, toolchain, &root.join("tests/systems/bench-smp.toml"))?;
    let ring = kernel_function(&built.kernel, "3gic4ring")?;
    let rung = kernel_function(&built.kernel, "6Kernel4rung")?;
    let (output, events) =
        traced_run_on(plugin, &out_dir.join("events-two-cores.txt"), &built, FRAMES, &[ring, rung], 2)?;
    let (Some(rang), Some(taken)) = (first_pc(&events, ring), first_pc(&events, rung)) else {
        bail!("the cores' link check was not seen")
    };
    let mut first_window_ns = [0; 2];
    for core in 0..2u8 {
        let start = bulkhead_system_tests::log::window_starts(output.console(core))
            .into_iter()
            .next()
            .with_context(|| format!("core {core} traced no window"))?;
        first_window_ns[core as usize] = start.observed * 1_000_000_000 / built.system.board.timer_hz as u64;
    }
    Ok(TwoCores {
        first_window_ns,
        ring: taken.saturating_sub(rang),
        core1_switch: core1_switches(root, toolchain, plugin, out_dir)?,
    })
}

/// Core 1's partition switches: `tests/systems/bench-core1.toml` runs
/// bench.toml's probes on core 1 with core 0 asleep after boot, so every
/// instruction the plugin counts (`vcpu=all`) after the epoch is core 1's;
/// measured as `partition_switch_insns` is on core 0.
fn core1_switches(
    root: &Path,
    toolchain: &setup::Toolchain,
    plugin: &Path,
    out_dir: &Path,
) -> Result<(u64, u64, usize)> {
    let built = system::build(root, toolchain, &root.join("tests/systems/bench-core1.toml"))?;
    let irq_vector = symbol_address(&built.kernel, "_vector_table")? + IRQ_VECTOR_OFFSET;
    let (_, events) = traced_run_on(plugin, &out_dir.join("events-core1.txt"), &built, FRAMES, &[irq_vector], 2)?;
    let mut switches = Vec::new();
    let mut irq_at = None;
    for event in &events {
        match *event {
            Event::Pc { count, addr } if addr as u64 == irq_vector => irq_at = Some(count),
            Event::Leave { count, .. } => {
                if let Some(start) = irq_at.take() {
                    switches.push(count - start);
                }
            }
            _ => {}
        }
    }
    let (Some(worst), Some(best)) = (switches.iter().max(), switches.iter().min()) else {
        bail!("core 1 switched no partition")
    };
    Ok((*worst, *best, switches.len()))
}

/// One timed operation: worst, median and best of its samples.
struct Timed {
    worst: u64,
    median: u64,
    best: u64,
    samples: usize,
}

impl Timed {
    fn of(mut samples: Vec<u64>, what: &str) -> Result<Timed> {
        let (Some(worst), Some(best)) = (samples.iter().max().copied(), samples.iter().min().copied()) else {
            bail!("no sample of {what}")
        };
        Ok(Timed { worst, best, samples: samples.len(), median: median(&mut samples) })
    }

    fn describe(&self) -> String {
        format!("worst of {} (median {}, best {})", self.samples, self.median, self.best)
    }
}

/// Figures of the channel runs.
struct Ports {
    sampling_write: Timed,
    sampling_read: Timed,
    queue_send: Timed,
    notify: Timed,
    send_notify: Timed,
}

/// [`spans`], leaving out those in which `exclude` ran.
fn spans_without(events: &[Event], from: u64, to: u64, exclude: u64) -> Vec<u64> {
    let mut spans = Vec::new();
    let mut start = None;
    for event in events {
        let Event::Pc { count, addr } = *event else { continue };
        let addr = addr as u64;
        if addr == from {
            start = Some(count);
        } else if addr == exclude {
            start = None;
        } else if addr == to
            && let Some(start) = start.take()
        {
            spans.push(count - start);
        }
    }
    spans
}

/// Every pair (a count at `from`, the next count at `to`) of `events`: the
/// instructions from one to the other.
fn spans(events: &[Event], from: u64, to: u64) -> Vec<u64> {
    let mut spans = Vec::new();
    let mut start = None;
    for event in events {
        let Event::Pc { count, addr } = *event else { continue };
        let addr = addr as u64;
        if addr == from {
            start = Some(count);
        } else if addr == to
            && let Some(start) = start.take()
        {
            spans.push(count - start);
        }
    }
    spans
}

/// The channel operations (`tests/systems/bench-ports.toml`) and a notify
/// across cores (`tests/systems/bench-notify.toml`), timed from each
/// operation's exported function to its marker in
/// `tests/partitions/bench-ports`.
fn ports(root: &Path, toolchain: &setup::Toolchain, plugin: &Path, out_dir: &Path) -> Result<Ports> {
    let built = system::build(root, toolchain, &root.join("tests/systems/bench-ports.toml"))?;
    let writer = root.join("target/bulkhead/bench-ports/partitions/bench-writer.elf");
    let reader = root.join("target/bulkhead/bench-ports/partitions/bench-reader.elf");
    let pcs = [
        symbol_address(&writer, "bench_sampling_write")?,
        symbol_address(&writer, "bench_sampling_write_done")?,
        symbol_address(&writer, "bench_queue_send")?,
        symbol_address(&writer, "bench_queue_send_done")?,
        symbol_address(&reader, "bench_sampling_read")?,
        symbol_address(&reader, "bench_sampling_read_done")?,
    ];
    let (_, events) = traced_run_on(plugin, &out_dir.join("events-ports.txt"), &built, FRAMES, &pcs, 1)?;
    let sampling_write = Timed::of(spans(&events, pcs[0], pcs[1]), "a sampling write")?;
    let queue_send = Timed::of(spans(&events, pcs[2], pcs[3]), "a queuing send")?;
    let sampling_read = Timed::of(spans(&events, pcs[4], pcs[5]), "a sampling read")?;

    let built = system::build(root, toolchain, &root.join("tests/systems/bench-notify.toml"))?;
    let writer = root.join("target/bulkhead/bench-notify/partitions/notify-writer.elf");
    let reader = root.join("target/bulkhead/bench-notify/partitions/notify-reader.elf");
    let pcs = [
        symbol_address(&writer, "bench_ipc_send")?,
        symbol_address(&writer, "bench_notify")?,
        symbol_address(&reader, "bench_notified")?,
        kernel_function(&built.kernel, "6Kernel12start_window")?,
    ];
    let (_, events) = traced_run_on(plugin, &out_dir.join("events-notify.txt"), &built, FRAMES, &pcs, 2)?;
    // A window boundary on either core inside a notify is not part of it.
    let notify = Timed::of(spans_without(&events, pcs[1], pcs[2], pcs[3]), "a notify across cores")?;
    let send_notify = Timed::of(spans_without(&events, pcs[0], pcs[2], pcs[3]), "a send and notify across cores")?;
    Ok(Ports { sampling_write, sampling_read, queue_send, notify, send_notify })
}

/// Figures from the adversarial run (`tests/systems/interference.toml`).
struct Interference {
    /// Worst start delay of a victim (stopwatch) window, and the attack
    /// before it.
    victim_worst: u64,
    victim_worst_after: String,
    /// Worst per attack: (attacker, delay), in schedule order.
    per_attack: Vec<(String, u64)>,
    /// Windows measured.
    samples: usize,
    /// Worst start delay of any window whose owner was not restoring,
    /// whatever delayed it (its own pending interrupts included), and whose.
    any_worst: u64,
    any_worst_owner: String,
    /// Median instructions per restore step, and the bytes a step restores.
    restore_step_median: u64,
    /// Worst instructions from one restore step's start to the next's (the
    /// longest the kernel goes without looking at the window timer while
    /// restoring), and the number of steps seen.
    restore_step_worst: u64,
    restore_steps: usize,
}

/// Frames of the adversarial run (2 ms each).
const INTERFERENCE_FRAMES: u32 = 40;
/// Bytes per restore step (`RESTORE_STEP_BYTES` in the kernel).
const RESTORE_STEP_BYTES: u64 = 256;
/// Instructions per counter tick under `-icount shift=0` on the AN536.
const INSNS_PER_TICK: u64 = 16;

/// Runs the attack suite and times every window start.
///
/// Where the kernel observes a boundary it reads the physical counter, and
/// the instruction after that read carries a global label
/// (`bulkhead_boundary_observed`); the `@window` trace prints the tick read
/// (`observed`) beside the scheduled one. Under `-icount shift=0` one
/// instruction is one nanosecond, a sixteenth of a tick, while the kernel
/// runs, so the delay from the scheduled boundary to the incoming
/// partition's first instruction (the first executed outside the kernel) is
/// `16 * (observed - scheduled)` plus the instructions from the label to
/// that first instruction, plus the part of a tick the read did not see:
/// at most 16 (reported as 16, so every figure is an upper bound, exact to
/// one tick). Counting instructions across a partition's window instead
/// would not work: QEMU's virtual clock and the count part ways there (a
/// partition's trapped instructions, cache maintenance).
fn interference(root: &Path, toolchain: &setup::Toolchain, plugin: &Path, out_dir: &Path) -> Result<Interference> {
    let built = system::build(root, toolchain, &root.join("tests/systems/interference.toml"))?;
    let kernel = &built.kernel;
    let observed = symbol_address(kernel, "bulkhead_boundary_observed")?;
    let trace_window = kernel_function(kernel, "6Kernel12trace_window")?;
    let restore_step = kernel_function(kernel, "6Kernel12restore_step")?;
    let events_path = out_dir.join("events-interference.txt");
    let argument =
        plugin_config(&events_path, &built, &[observed, trace_window, restore_step], None).plugin_arg(plugin);
    let output = Run::new(kernel).frames(INTERFERENCE_FRAMES).plugin(argument).run()?;
    if output.status != Some(0) {
        bail!("the interference run failed:\n{}", output.lines.join("\n"));
    }
    let windows = bulkhead_system_tests::log::window_starts(&output.lines);
    let events = parse_events(&std::fs::read_to_string(&events_path)?).map_err(anyhow::Error::msg)?;

    // The attack before each stopwatch window, from the schedule.
    let schedule = &built.system.schedules[0];
    let owner =
        |index: usize| schedule.windows[index].partition.map_or("idle", |p| built.system.partitions[p].name.as_str());
    let per_frame = schedule.windows.len();
    let before = |index: usize| owner((index + per_frame - 1) % per_frame).to_owned();

    // Every `trace_window` is one `@window` record, in order; the first (at
    // boot) has no boundary read before it. The boundary being measured:
    // (record, count at the label); and whether a restore ran since (its
    // partition's first instruction then comes after its restore).
    let (mut next, mut read_at, mut open) = (0usize, None::<u64>, None::<(usize, u64)>);
    let mut restoring = false;
    let mut delays: Vec<(usize, u64)> = Vec::new();
    let (mut steps, mut step_at) = (Vec::new(), None::<u64>);
    for event in &events {
        match *event {
            Event::Pc { count, addr } if addr as u64 == observed => read_at = Some(count),
            Event::Pc { addr, .. } if addr as u64 == trace_window => {
                step_at = None;
                restoring = false;
                open = read_at.take().map(|at| (next, at));
                next += 1;
            }
            Event::Pc { count, addr } if addr as u64 == restore_step => {
                restoring = true;
                if let Some(previous) = step_at.replace(count) {
                    steps.push(count - previous);
                }
            }
            Event::Leave { count, .. } => {
                step_at = None;
                if let Some((record, at)) = open.take()
                    && !restoring
                    && let Some(window) = windows.get(record)
                {
                    let late = window.observed.saturating_sub(window.scheduled);
                    delays.push((record, late * INSNS_PER_TICK + (count - at) + INSNS_PER_TICK));
                }
            }
            _ => {}
        }
    }
    let mut per_attack: Vec<(String, u64)> = Vec::new();
    let (mut any_worst, mut any_worst_owner) = (0, String::new());
    for &(window, delay) in &delays {
        let index = windows[window].index as usize;
        if delay > any_worst {
            any_worst = delay;
            any_worst_owner = windows[window].owner.clone();
        }
        if windows[window].owner != "stopwatch" {
            continue;
        }
        let attacker = before(index);
        match per_attack.iter_mut().find(|(name, _)| *name == attacker) {
            Some((_, worst)) => *worst = (*worst).max(delay),
            None => per_attack.push((attacker, delay)),
        }
    }
    let Some((victim_worst_after, victim_worst)) = per_attack.iter().max_by_key(|(_, d)| *d).cloned() else {
        bail!("no victim window was measured ({} windows, {} events)", windows.len(), events.len());
    };
    if steps.len() < 100 {
        bail!("only {} restore steps seen in the interference run", steps.len());
    }
    Ok(Interference {
        victim_worst,
        victim_worst_after,
        per_attack,
        samples: delays.len(),
        any_worst,
        any_worst_owner,
        restore_step_median: median(&mut steps.clone()),
        restore_step_worst: *steps.iter().max().unwrap_or(&0),
        restore_steps: steps.len(),
    })
}

/// Figures from the rpmsg echo run.
struct RpmsgFigures {
    echo_64: u64,
    echo_496_max: u64,
    min_64: u64,
    max_64: u64,
    samples_64: usize,
    echo_496: u64,
    samples_496: usize,
}

/// Round trips per message size.
const RPMSG_ROUNDS: usize = 400;

/// Boots the virtio system with the plugin and echoes messages one at a
/// time through the island, as the Cortex-A would.
fn rpmsg_echo(root: &Path, toolchain: &setup::Toolchain, plugin: &Path, out_dir: &Path) -> Result<RpmsgFigures> {
    use bulkhead_amp_host::LinkConfig;
    use bulkhead_amp_host::driver::Received;
    use bulkhead_amp_host::host::{ECHO, ME};
    use bulkhead_system_tests::amp::Amp;
    use std::time::{Duration, Instant};

    let description = root.join("tests/systems/bench-virtio.toml");
    let built = system::build(root, toolchain, &description)?;
    let config = LinkConfig::from_system(&built.system, None)?;
    let kernel = &built.kernel;
    let irq_vector = symbol_address(kernel, "_vector_table")? + IRQ_VECTOR_OFFSET;
    let start_window = kernel_function(kernel, "6Kernel12start_window")?;
    let island = root.join("target/bulkhead/bench-virtio/partitions/island.elf");
    let rang = symbol_address(&island, "island_rang")?;
    let events_path = out_dir.join("events-rpmsg.txt");
    // BULKHEAD_BENCH_PROFILE=1 also counts every instruction of the kernel
    // and the island (target/bench/events-rpmsg.txt.profile).
    let profile = std::env::var_os("BULKHEAD_BENCH_PROFILE").map(|_| {
        let island_code = built.system.partitions[0].code().span;
        built.system.kernel.code.base..island_code.base + island_code.size
    });
    let argument = plugin_config(&events_path, &built, &[irq_vector, start_window, rang], profile).plugin_arg(plugin);
    // Idle time in host time: the island waits in its windows between echoes,
    // and each doorbell should find it there (see bench-virtio.toml).
    let run = Run::new(kernel).frames(u32::MAX).timeout(Duration::from_secs(600)).plugin(argument).idle_in_host_time();
    let patience = Duration::from_secs(60);
    let mut amp = Amp::boot(run, config, "bench", patience)?;
    let host = &mut amp.host;
    let echo = host.service(ECHO)?;
    // Settle: the island handles the announcements' buffers first.
    host.doorbell.ring()?;
    std::thread::sleep(Duration::from_millis(200));
    while host.doorbell.wait(Duration::from_millis(50))? {}
    for size in [64usize, 496] {
        for round in 0..RPMSG_ROUNDS {
            let payload = vec![round as u8; size];
            // One message per doorbell, and no ring after taking the reply:
            // each of the island's rings answers exactly one message.
            host.driver().send(ME, echo, &payload).map_err(anyhow::Error::msg)?;
            host.doorbell.ring()?;
            let deadline = Instant::now() + patience;
            let mut rang = false;
            let reply = loop {
                if let Some(Received::Message { payload, .. }) =
                    host.driver().receive().map_err(anyhow::Error::msg)?.pop()
                {
                    break payload;
                }
                if Instant::now() > deadline {
                    bail!("no echo for message {round} of {size} bytes");
                }
                rang |= host.doorbell.wait(Duration::from_millis(20))?;
            };
            // The island publishes the reply, then rings. Seeing the reply
            // first and sending the next message at once would put that
            // message's doorbell inside this one's processing, and the
            // sample would start there (the ~235-instruction medians seen
            // on a busy host): wait for the ring.
            while !rang && Instant::now() < deadline {
                rang = host.doorbell.wait(Duration::from_millis(20))?;
            }
            if !rang {
                bail!("the island never rang after echoing message {round} of {size} bytes");
            }
            if reply != payload {
                bail!("message {round} of {size} bytes came back different");
            }
        }
    }
    // Stopping QEMU in order lets the plugin write its events.
    amp.terminate();
    let events = parse_events(&std::fs::read_to_string(&events_path)?).map_err(anyhow::Error::msg)?;

    // One ring by the island per echo, after those for the announcements:
    // the last 2 x ROUNDS rings are the 64-byte series then the 496-byte
    // one. Each ring's sample runs from the last IRQ entry before it,
    // unless a window started in between (then it is left out). An
    // interrupt taken inside an echo (the island's UART raises more than the
    // doorbell's) cuts that sample short: the median is often such a
    // fragment (about 235), so the figure reported is the worst sample, the
    // whole path.
    let mut rings: Vec<Option<u64>> = Vec::new();
    let mut irq_at = None;
    for event in &events {
        let Event::Pc { count, addr } = *event else { continue };
        let addr = addr as u64;
        if addr == irq_vector {
            irq_at = Some(count);
        } else if addr == start_window {
            irq_at = None;
        } else if addr == rang {
            rings.push(irq_at.take().map(|start| count - start));
        }
    }
    if rings.len() < 2 * RPMSG_ROUNDS {
        bail!("the island rang {} times for {} echoes", rings.len(), 2 * RPMSG_ROUNDS);
    }
    let series = &rings[rings.len() - 2 * RPMSG_ROUNDS..];
    let small: Vec<u64> = series[..RPMSG_ROUNDS].iter().flatten().copied().collect();
    let large: Vec<u64> = series[RPMSG_ROUNDS..].iter().flatten().copied().collect();
    // A figure from a handful of samples would still be a true worst of
    // those, and is reported with its count; none at all is an error.
    if small.is_empty() || large.is_empty() {
        bail!("no echo sample outside window starts: {} and {} of {RPMSG_ROUNDS}", small.len(), large.len());
    }
    Ok(RpmsgFigures {
        echo_496_max: *large.iter().max().unwrap_or(&0),
        echo_64: median(&mut small.clone()),
        min_64: *small.iter().min().unwrap_or(&0),
        max_64: *small.iter().max().unwrap_or(&0),
        samples_64: small.len(),
        echo_496: median(&mut large.clone()),
        samples_496: large.len(),
    })
}
