//! `bulkhead-amp`: the Cortex-A side of a Bulkhead VIRTIO link, pointed at
//! a QEMU that is already running (`cargo xtask console` starts both).

use anyhow::{Context, Result};
use bulkhead_amp_host::LinkConfig;
use bulkhead_amp_host::driver::Personality;
use bulkhead_amp_host::host::{Host, console, echo, hostile, race};
use bulkhead_amp_host::hostile::{Case, Flipper, RaceField};
use bulkhead_amp_host::link::{SharedWindow, SocketDoorbell};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "The Cortex-A side of a Bulkhead VIRTIO rpmsg link, over QEMU's shared DDR")]
struct Cli {
    /// The system description.
    #[arg(long)]
    system: PathBuf,
    /// Boards directory.
    #[arg(long, default_value = "boards")]
    boards: PathBuf,
    /// Link name (default: the first).
    #[arg(long)]
    link: Option<String>,
    /// QEMU's DDR backing file.
    #[arg(long)]
    shared_memory: PathBuf,
    /// The UNIX socket QEMU serves the doorbell UART on.
    #[arg(long)]
    doorbell: PathBuf,
    /// Whose driver to behave as: `bulkhead` (ours), `linux`
    /// (`virtio_rpmsg_bus` over remoteproc) or `openamp` (OpenAMP's host);
    /// see docs/virtio-link.md, "Driver personalities". The hostile and race
    /// modes reset the link the `bulkhead` way.
    #[arg(long, default_value = "bulkhead", value_parser = parse_personality)]
    personality: Personality,
    #[command(subcommand)]
    command: Command,
}

fn parse_personality(name: &str) -> Result<Personality, String> {
    Personality::from_name(name).ok_or_else(|| {
        format!("no personality `{name}`; the personalities are: {}", Personality::ALL.map(|p| p.name()).join(", "))
    })
}

#[derive(Subcommand)]
enum Command {
    /// An interactive terminal on the island's tty service.
    Console,
    /// Echo messages through the island's echo service and check them.
    Echo {
        /// Messages to send.
        #[arg(long, default_value_t = 10_000)]
        count: usize,
    },
    /// Break the rules one way (or every way), check the island refuses,
    /// then reset the link and check it works again.
    Hostile {
        /// The case, as in the island's log (`avail-index-jump`, ...), or
        /// `all`.
        #[arg(long, default_value = "all")]
        case: String,
    },
    /// Race mode: one transmit buffer in flight, a second thread rewriting
    /// one of its fields while the island works on it; every round must be
    /// echoed intact or refused.
    Race {
        /// The field: `len` (the header's), `addr` or `desc-len` (the
        /// descriptor's), or `all`.
        #[arg(long, default_value = "len")]
        field: String,
        /// Rounds per field.
        #[arg(long, default_value_t = 1207)]
        rounds: u32,
    },
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let system = bulkhead_sysgen::load(&cli.system, &cli.boards).map_err(|problems| anyhow::anyhow!("{problems}"))?;
    let config = LinkConfig::from_system(&system, cli.link.as_deref())?;
    let mut shared = SharedWindow::open(&cli.shared_memory, &config)?;
    let doorbell = SocketDoorbell::connect(&cli.doorbell, Duration::from_secs(30))?;
    let flipper_view = shared.second_view();
    let window = shared.take().context("window")?;
    let mut host = Host::attach_as(window, config, doorbell, cli.personality)?;
    match cli.command {
        Command::Console => console(&mut host, &mut std::io::stdin().lock(), &mut std::io::stdout(), &mut || {}),
        Command::Echo { count } => echo(&mut host, count).map(|report| println!("{report}")),
        Command::Hostile { case } => {
            let cases: Vec<Case> = Case::ALL.into_iter().filter(|c| case == "all" || c.reason() == case).collect();
            if cases.is_empty() {
                anyhow::bail!("no case `{case}`; the cases are: all, {}", Case::ALL.map(|c| c.reason()).join(", "));
            }
            for case in cases {
                println!("{}: {}", case.reason(), hostile(&mut host, case)?);
            }
            Ok(())
        }
        Command::Race { field, rounds } => {
            let fields: Vec<RaceField> =
                RaceField::ALL.into_iter().filter(|f| field == "all" || f.name() == field).collect();
            if fields.is_empty() {
                anyhow::bail!(
                    "no field `{field}`; the fields are: all, {}",
                    RaceField::ALL.map(|f| f.name()).join(", ")
                );
            }
            let flipper = Flipper::new(flipper_view);
            let mut clean = true;
            for field in fields {
                let report = race(&mut host, &flipper, field, rounds)?;
                println!("{}: {report}", field.name());
                clean &= report.empty == 0 && report.wrong == 0;
            }
            if !clean {
                anyhow::bail!("some echoes came back empty or different");
            }
            Ok(())
        }
    }
}
