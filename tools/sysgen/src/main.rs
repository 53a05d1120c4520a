//! `bulkhead-sysgen`: the generator's command line.
//!
//! ```text
//! bulkhead-sysgen check  SYSTEM.toml [--boards DIR]          validate, print the memory map
//! bulkhead-sysgen partitions SYSTEM.toml --out DIR           write each partition's generated files,
//!                                                            run each prebuilt image's `build`
//! bulkhead-sysgen kernel SYSTEM.toml --images DIR --out DIR  check linked images, write kernel tables
//! bulkhead-sysgen abi-header [--out FILE]                    write (or print) the C hypercall header
//! ```
//!
//! `partitions` writes, under `DIR/<partition>/`, `memory.x`, `partition.x`
//! and `layout.rs` for Rust partitions and `memory.ld`, `c-partition.ld`,
//! `partition.h` and `bulkhead.h` for other toolchains, plus `DIR/bulkhead.h`,
//! then runs each prebuilt image's `build` command.
//! `--images DIR` holds one ELF per partition whose image is a crate, named
//! `<partition>.elf`; a prebuilt image is read from its `elf` path.

use bulkhead_sysgen::prebuilt::Prebuilt;
use bulkhead_sysgen::{Problem, emit, image, load};
use clap::{Parser, Subcommand};
use miette::Report;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(version, about = "Validate a Bulkhead system description and generate its tables")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate the description and print its memory map and schedule.
    Check {
        /// The system description.
        system: PathBuf,
        /// Directory of board descriptions.
        #[arg(long, default_value = "boards")]
        boards: PathBuf,
    },
    /// Write every partition's linker scripts, layout and C headers under
    /// OUT/<partition>/, and OUT/bulkhead.h, then run the `build` command of
    /// each prebuilt image.
    Partitions {
        /// The system description.
        system: PathBuf,
        /// Directory of board descriptions.
        #[arg(long, default_value = "boards")]
        boards: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check the linked partition images and write the kernel's tables.
    Kernel {
        /// The system description.
        system: PathBuf,
        /// Directory of board descriptions.
        #[arg(long, default_value = "boards")]
        boards: PathBuf,
        /// Directory holding <partition>.elf for every partition built from a crate.
        #[arg(long)]
        images: PathBuf,
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write bulkhead.h, the hypercall ABI for C (printed when no --out).
    AbiHeader {
        /// The file to write (the checked-in copy is kernel/abi/include/bulkhead.h).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

fn load_or_report(system: &Path, boards: &Path) -> Result<bulkhead_sysgen::System, ExitCode> {
    load(system, boards).map_err(|problems| {
        for problem in problems.0 {
            eprintln!("{:?}", Report::new(problem));
        }
        ExitCode::FAILURE
    })
}

fn report(problem: Problem) -> ExitCode {
    eprintln!("{:?}", Report::new(problem));
    ExitCode::FAILURE
}

fn run(cli: Cli) -> Result<(), ExitCode> {
    let io = |error: std::io::Error| {
        eprintln!("error: {error}");
        ExitCode::FAILURE
    };
    match cli.command {
        Command::Check { system, boards } => {
            let system = load_or_report(&system, &boards)?;
            for warning in &system.warnings {
                eprintln!("warning: {warning}");
            }
            print!("{}", emit::memory_map(&system));
            Ok(())
        }
        Command::Partitions { system, boards, out } => {
            let system = load_or_report(&system, &boards)?;
            emit::write_partitions(&system, &out).map_err(io)?;
            for partition in &system.partitions {
                if let Some(prebuilt) = Prebuilt::of(partition) {
                    prebuilt.build(&system, &out.join(&partition.name)).map_err(report)?;
                }
            }
            Ok(())
        }
        Command::AbiHeader { out } => {
            let header = emit::foreign::bulkhead_h();
            match out {
                Some(path) => std::fs::write(path, header).map_err(io),
                None => {
                    print!("{header}");
                    Ok(())
                }
            }
        }
        Command::Kernel { system, boards, images, out } => {
            let system = load_or_report(&system, &boards)?;
            let mut linked = Vec::new();
            for partition in &system.partitions {
                let (path, bytes) = match Prebuilt::of(partition) {
                    Some(prebuilt) => (prebuilt.path.to_owned(), prebuilt.read(&system).map_err(report)?),
                    None => {
                        let path = images.join(format!("{}.elf", partition.name));
                        let bytes = std::fs::read(&path).map_err(io)?;
                        (path, bytes)
                    }
                };
                linked.push(image::inspect(&path, &bytes, partition).map_err(report)?);
            }
            emit::write_kernel(&system, &linked, &out).map_err(io)
        }
    }
}
