//! `bulkhead-amp`: the Cortex-A side of a Bulkhead VIRTIO link in
//! simulation. `cargo xtask console` runs it; it can also be pointed at a
//! running QEMU by hand.

use anyhow::{Context, Result, bail};
use bulkhead_amp_host::LinkConfig;
use bulkhead_amp_host::driver::{Driver, Received};
use bulkhead_amp_host::link::{SharedWindow, SocketDoorbell};
use clap::{Parser, Subcommand};
use std::io::{BufRead, Write};
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
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// An interactive terminal on the island's tty service.
    Console,
    /// Echo messages through the island's echo service and check them.
    Echo {
        /// Messages to send.
        #[arg(long, default_value_t = 1000)]
        count: u32,
    },
}

/// How long to wait for the island at most, in real time.
const PATIENCE: Duration = Duration::from_secs(30);

fn main() -> Result<()> {
    let cli = Cli::parse();
    let system = bulkhead_sysgen::load(&cli.system, &cli.boards).map_err(|problems| anyhow::anyhow!("{problems}"))?;
    let config = LinkConfig::from_system(&system, cli.link.as_deref())?;
    let mut shared = SharedWindow::open(&cli.shared_memory, &config)?;
    let mut doorbell = SocketDoorbell::connect(&cli.doorbell, PATIENCE)?;
    let window = shared.take().context("window")?;
    let mut driver = Driver::attach(window, config).map_err(anyhow::Error::msg)?;
    doorbell.ring()?;
    let services = wait_for_services(&mut driver, &mut doorbell, 2)?;
    match cli.command {
        Command::Console => console(&mut driver, &mut doorbell, services.tty),
        Command::Echo { count } => {
            let echo = services.echo.context("the island announced no echo service")?;
            let mut sent = 0;
            while sent < count {
                let payload: Vec<u8> = (0..(1 + sent % 496)).map(|i| (i + sent) as u8).collect();
                driver.send(1024, echo, &payload).map_err(anyhow::Error::msg)?;
                doorbell.ring()?;
                let reply = wait_for_message(&mut driver, &mut doorbell)?;
                if reply != payload {
                    bail!("message {sent}: the echo differs");
                }
                sent += 1;
            }
            println!("{count} messages echoed and checked");
            Ok(())
        }
    }
}

struct Services {
    tty: Option<u32>,
    echo: Option<u32>,
}

fn wait_for_services(
    driver: &mut Driver<bulkhead_virtio::window::MmioWindow>,
    doorbell: &mut SocketDoorbell,
    expected: usize,
) -> Result<Services> {
    let deadline = std::time::Instant::now() + PATIENCE;
    while driver.services.len() < expected {
        if std::time::Instant::now() > deadline {
            bail!("the island announced {:?} only", driver.services);
        }
        doorbell.wait(Duration::from_millis(100))?;
        if !driver.receive().map_err(anyhow::Error::msg)?.is_empty() {
            doorbell.ring()?;
        }
    }
    Ok(Services {
        tty: driver.services.get("rpmsg-tty").copied(),
        echo: driver.services.get("rpmsg-client-sample").copied(),
    })
}

fn wait_for_message(
    driver: &mut Driver<bulkhead_virtio::window::MmioWindow>,
    doorbell: &mut SocketDoorbell,
) -> Result<Vec<u8>> {
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        for received in driver.receive().map_err(anyhow::Error::msg)? {
            if let Received::Message { payload, .. } = received {
                doorbell.ring()?;
                return Ok(payload);
            }
        }
        if std::time::Instant::now() > deadline {
            bail!("no reply from the island");
        }
        doorbell.wait(Duration::from_millis(50))?;
    }
}

fn console(
    driver: &mut Driver<bulkhead_virtio::window::MmioWindow>,
    doorbell: &mut SocketDoorbell,
    tty: Option<u32>,
) -> Result<()> {
    let tty = tty.context("the island announced no tty service")?;
    println!("connected to the island's rpmsg-tty (endpoint {tty}); type help, Ctrl-D to leave");
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line?;
        driver.send(1024, tty, format!("{line}\n").as_bytes()).map_err(anyhow::Error::msg)?;
        doorbell.ring()?;
        let reply = wait_for_message(driver, doorbell)?;
        print!("{}", String::from_utf8_lossy(&reply).replace("\r\n", "\n"));
        std::io::stdout().flush()?;
    }
    Ok(())
}
