//! `cargo xtask`: the one entry point for building, running, testing and
//! benchmarking Bulkhead.
//!
//! ```text
//! cargo xtask run [--system FILE] [--frames N]   build and boot a system in QEMU (default: the demo)
//! cargo xtask test                               every host and QEMU test
//! cargo xtask bench                              instruction counts and sizes, target/bench/summary.json
//! cargo xtask console [--system FILE] [--echo N]  boot an AMP system; be its Cortex-A (rpmsg-tty terminal)
//! cargo xtask fuzz [--seconds N]                 fuzz the VIRTIO device side (cargo fuzz)
//! cargo xtask build [--system FILE | --all]      build without running
//! cargo xtask check FILE                         validate a system description
//! cargo xtask audit KERNEL.elf                   check a built kernel image
//! cargo xtask setup                              install what the above need
//! ```
//!
//! Every command does its own set-up first (see `setup`).

mod bench;
mod checks;
mod console;
mod setup;
mod system;
mod test;

use anyhow::{Result, bail};
use bulkhead_system_tests::qemu::{Run, Source};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "Build, run, test and benchmark Bulkhead")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install and check what building and running need.
    Setup,
    /// Build a system (kernel, partitions, tables).
    Build {
        /// System description (default: partitions/systems/demo.toml).
        #[arg(long)]
        system: Option<PathBuf>,
        /// Build the demo and every test system.
        #[arg(long, conflicts_with = "system")]
        all: bool,
    },
    /// Build a system and boot it in QEMU (Ctrl-C to stop).
    Run {
        /// System description (default: partitions/systems/demo.toml).
        #[arg(long)]
        system: Option<PathBuf>,
        /// Stop after this many major frames and exit with status 0.
        #[arg(long)]
        frames: Option<u32>,
    },
    /// Run every host and QEMU test.
    Test {
        /// Only the system tests whose name contains this.
        filter: Option<String>,
    },
    /// Measure instruction counts and sizes; write target/bench/summary.json.
    Bench,
    /// Boot an AMP system and talk to its island's rpmsg-tty as the Cortex-A.
    Console {
        /// System description (default: partitions/systems/amp.toml).
        #[arg(long)]
        system: Option<PathBuf>,
        /// Instead of a terminal: echo this many messages and check them.
        #[arg(long)]
        echo: Option<usize>,
    },
    /// Fuzz the VIRTIO device side (rings, table, rpmsg) with cargo fuzz.
    Fuzz {
        /// How long.
        #[arg(long, default_value_t = 300)]
        seconds: u32,
    },
    /// Validate a system description and print its memory map.
    Check {
        /// The description.
        system: PathBuf,
    },
    /// Check a built kernel image: no FP/SIMD use outside the context
    /// switch, no panic reachable from a partition.
    Audit {
        /// The kernel ELF (target/bulkhead/<system>/bulkhead.elf).
        kernel: PathBuf,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let root = system::root();
    let description = |path: Option<PathBuf>| path.unwrap_or_else(|| root.join("partitions/systems/demo.toml"));
    match cli.command {
        Command::Setup => {
            setup::toolchain(&root)?;
            setup::qemu()?;
            eprintln!("setup: ready");
            Ok(())
        }
        Command::Check { system } => {
            let system = system::load(&root, &system)?;
            print!("{}", bulkhead_sysgen::emit::memory_map(&system));
            Ok(())
        }
        Command::Build { system, all } => {
            let toolchain = setup::toolchain(&root)?;
            let descriptions = if all { system::all_descriptions(&root)? } else { vec![description(system)] };
            for path in descriptions {
                let built = system::build(&root, &toolchain, &path)?;
                eprintln!("built {} -> {}", built.system.name, built.kernel.display());
            }
            Ok(())
        }
        Command::Run { system, frames } => {
            let toolchain = setup::toolchain(&root)?;
            setup::qemu()?;
            let built = system::build(&root, &toolchain, &description(system))?;
            print!("{}", bulkhead_sysgen::emit::memory_map(&built.system));
            let uart2 = built.system.partitions.iter().any(|p| {
                p.regions.iter().any(|r| matches!(r.kind, bulkhead_sysgen::model::RegionKind::Device(d) if built.system.board.devices[d].name == "uart2"))
            });
            if uart2 {
                eprintln!(
                    "uart2 is a partition's: what you type is sent to it, and what it sends back is shown as [uart2]"
                );
            }
            let mut run = Run::new(&built.kernel).timeout(std::time::Duration::from_secs(u64::MAX / 4));
            if uart2 {
                run = run.input_uart(2);
            }
            if let Some(frames) = frames {
                run = run.frames(frames);
            }
            let mut echo = |source: Source, line: &str| match source {
                Source::Console => println!("{line}"),
                Source::Uart(n) => println!("[uart{n}] {line}"),
            };
            let output = run.run_with(Some(&mut echo))?;
            match (frames, output.status) {
                (Some(_), Some(0)) | (None, _) => Ok(()),
                (Some(frames), status) => bail!("the run did not complete {frames} frames (QEMU status {status:?})"),
            }
        }
        Command::Audit { kernel } => {
            checks::kernel_uses_no_fpu(&kernel)?;
            checks::no_panic_reachable_from_partitions(&kernel)?;
            checks::kernel_state_is_zero_initialised(&kernel)?;
            eprintln!(
                "{}: no FP/SIMD outside the context switch, no panic reachable from EL1, all state zero-initialised",
                kernel.display()
            );
            Ok(())
        }
        Command::Test { filter } => test::all(&root, filter.as_deref()),
        Command::Bench => bench::run(&root),
        Command::Fuzz { seconds } => test::fuzz(&root, seconds),
        Command::Console { system, echo } => {
            console::run(&root, &system.unwrap_or_else(|| root.join("partitions/systems/amp.toml")), echo)
        }
    }
}
