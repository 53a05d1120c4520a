//! `cargo xtask`: the one entry point for building, running, testing and
//! benchmarking Bulkhead.
//!
//! ```text
//! cargo xtask run [--system FILE] [--frames N] [--input UART] [--uart-log DIR]
//!                                                build and boot a system in QEMU (default: the demo),
//!                                                showing every partition UART
//! cargo xtask test                               every host and QEMU test
//! cargo xtask bench                              instruction counts and sizes, target/bench/summary.json
//! cargo xtask console [--system FILE] [--echo N] [--personality P]  boot an AMP system; be its Cortex-A (rpmsg-tty terminal)
//! cargo xtask linux [--system FILE] [--test basic|resets]
//!                                                boot the island and Debian's Linux as its Cortex-A
//!                                                (Linux's own rpmsg stack; a shell, or the test steps)
//! cargo xtask fuzz [--seconds N]                 fuzz the VIRTIO device side (cargo fuzz)
//! cargo xtask build [--system FILE | --all]      build without running
//! cargo xtask check FILE [--emit DIR]            validate a system description [write what C guests need]
//! cargo xtask audit KERNEL.elf                   check a built kernel image
//! cargo xtask setup                              install what the above need
//! ```
//!
//! Every command does its own set-up first (see `setup`).

mod bench;
mod checks;
mod console;
mod linux;
mod setup;
mod system;
mod test;

use anyhow::{Context, Result, bail};
use bulkhead_system_tests::qemu::{Run, Source};
use bulkhead_system_tests::uarts::Uarts;
use clap::{Parser, Subcommand};
use std::io::Write;
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
        /// The partition UART what you type goes to (`none` for none).
        /// Default: uart2 if a partition has it, else the first shown.
        #[arg(long, value_name = "UART")]
        input: Option<String>,
        /// Also write each partition UART's lines to DIR/<uart>.log.
        #[arg(long, value_name = "DIR")]
        uart_log: Option<PathBuf>,
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
        /// Whose driver the Cortex-A behaves as: bulkhead, linux or openamp
        /// (docs/virtio-link.md, "Driver personalities").
        #[arg(long, default_value = "bulkhead")]
        personality: String,
    },
    /// Boot an AMP system's island and Debian's stock arm64 Linux as its
    /// Cortex-A, in two QEMUs; Linux's console is the terminal.
    Linux {
        /// System description (default: partitions/systems/amp.toml).
        #[arg(long)]
        system: Option<PathBuf>,
        /// Instead of a shell: run these test steps (basic or resets).
        #[arg(long)]
        test: Option<String>,
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
        /// Also write every partition's linker scripts and headers under
        /// DIR/<partition>/ (memory.ld, c-partition.ld, partition.h,
        /// bulkhead.h, memory.x, layout.rs) and DIR/bulkhead.h, building
        /// nothing.
        #[arg(long, value_name = "DIR")]
        emit: Option<PathBuf>,
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
        Command::Check { system, emit } => {
            let system = system::load(&root, &system)?;
            print!("{}", bulkhead_sysgen::emit::memory_map(&system));
            if let Some(dir) = emit {
                bulkhead_sysgen::emit::write_partitions(&system, &dir)
                    .with_context(|| format!("writing the generated files to {}", dir.display()))?;
                eprintln!(
                    "wrote {}/<partition>/{{memory.ld,c-partition.ld,partition.h,bulkhead.h,memory.x,layout.rs}} for {} partitions",
                    dir.display(),
                    system.partitions.len()
                );
            }
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
        Command::Run { system, frames, input, uart_log } => {
            let description = description(system);
            // A wrong --input is refused before anything is built.
            if let Ok(system) = bulkhead_sysgen::load(&description, &root.join("boards")) {
                Uarts::of(&system, input.as_deref())?;
            }
            let toolchain = setup::toolchain(&root)?;
            setup::qemu()?;
            let built = system::build(&root, &toolchain, &description)?;
            print!("{}", bulkhead_sysgen::emit::memory_map(&built.system));
            let uarts = Uarts::of(&built.system, input.as_deref())?;
            let mut logs = UartLogs::create(&uarts, uart_log.as_deref())?;
            eprintln!("{}{}", uarts.announcement(), logs.announcement());
            let mut run = uarts.connect(Run::new(&built.kernel).timeout(std::time::Duration::from_secs(u64::MAX / 4)));
            if let Some(frames) = frames {
                run = run.frames(frames);
            }
            let mut echo = |source: Source, line: &str| {
                println!("{}", uarts.line(source, line));
                logs.write(source, line);
            };
            let output = run.run_with(Some(&mut echo))?;
            logs.finish()?;
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
        Command::Linux { system, test } => {
            linux::run(&root, &system.unwrap_or_else(|| root.join("partitions/systems/amp.toml")), test.as_deref())
        }
        Command::Console { system, echo, personality } => {
            let Some(personality) = bulkhead_amp_host::driver::Personality::from_name(&personality) else {
                anyhow::bail!("no personality `{personality}`; the personalities are: bulkhead, linux, openamp");
            };
            console::run(&root, &system.unwrap_or_else(|| root.join("partitions/systems/amp.toml")), echo, personality)
        }
    }
}

/// `cargo xtask run --uart-log DIR`: each shown UART's lines, as they come,
/// in DIR/<uart>.log.
struct UartLogs {
    /// (serial port, path, file).
    files: Vec<(u8, PathBuf, std::fs::File)>,
    /// The first write that failed.
    error: Option<anyhow::Error>,
}

impl UartLogs {
    fn create(uarts: &Uarts, directory: Option<&std::path::Path>) -> Result<UartLogs> {
        let mut files = Vec::new();
        if let Some(directory) = directory {
            std::fs::create_dir_all(directory)
                .with_context(|| format!("--uart-log: creating {}", directory.display()))?;
            for uart in &uarts.shown {
                let path = directory.join(format!("{}.log", uart.device));
                let file =
                    std::fs::File::create(&path).with_context(|| format!("--uart-log: creating {}", path.display()))?;
                files.push((uart.serial, path, file));
            }
        }
        Ok(UartLogs { files, error: None })
    }

    fn announcement(&self) -> String {
        let paths: Vec<String> = self.files.iter().map(|(_, path, _)| path.display().to_string()).collect();
        if paths.is_empty() { String::new() } else { format!("; each also written to {}", paths.join(", ")) }
    }

    fn write(&mut self, source: Source, line: &str) {
        let Source::Uart(serial) = source else { return };
        if let Some((_, path, file)) = self.files.iter_mut().find(|(n, _, _)| *n == serial)
            && let Err(error) = writeln!(file, "{line}")
            && self.error.is_none()
        {
            self.error = Some(anyhow::anyhow!("--uart-log: writing {}: {error}", path.display()));
        }
    }

    fn finish(self) -> Result<()> {
        self.error.map_or(Ok(()), Err)
    }
}
