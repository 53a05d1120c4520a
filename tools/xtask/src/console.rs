//! `cargo xtask console`: boot an AMP system in QEMU and be its Cortex-A.
//!
//! QEMU's DDR goes into a file under `/dev/shm` that this process maps, and
//! the island's doorbell UART onto a socket this process connects to; then
//! `bulkhead-amp-host` attaches as the rpmsg driver and the terminal talks
//! to the island's `rpmsg-tty`. What the island logs on the kernel console
//! (its link events, faults, restarts) is shown between commands.
//! `--echo N` runs the scripted echo test instead; `--personality` picks
//! whose driver the Cortex-A behaves as.

use crate::{setup, system};
use anyhow::Result;
use bulkhead_amp_host::LinkConfig;
use bulkhead_amp_host::driver::Personality;
use bulkhead_amp_host::host::{console, echo};
use bulkhead_system_tests::amp::Amp;
use bulkhead_system_tests::qemu::Run;
use std::path::Path;
use std::time::Duration;

/// Runs the console (or, with `echo`, the scripted echo test).
pub fn run(root: &Path, description: &Path, echo_count: Option<usize>, personality: Personality) -> Result<()> {
    let toolchain = setup::toolchain(root)?;
    setup::qemu()?;
    let built = system::build(root, &toolchain, description)?;
    let config = LinkConfig::from_system(&built.system, None)?;
    eprintln!(
        "link `{}`: {} KiB window at {:#010x} (the Cortex-A's {:#x}), doorbells on uart{}",
        config.name,
        config.size / 1024,
        config.local_base,
        config.remote_base,
        config.doorbell_uart
    );
    let run = Run::new(&built.kernel).frames(u32::MAX).timeout(Duration::from_secs(u64::MAX / 4));
    let mut amp = Amp::boot_as(run, config, "console", Duration::from_secs(60), personality)?;
    let mut shown = 0;
    let mut show_island_log = || {
        let lines = amp.session.drain();
        for line in &lines[shown..] {
            if line.starts_with("[island]") || ["@fault", "@restart", "@halted"].iter().any(|k| line.starts_with(k)) {
                eprintln!("  {line}");
            }
        }
        shown = lines.len();
    };
    show_island_log();
    match echo_count {
        Some(count) => {
            println!("{}", echo(&mut amp.host, count)?);
            show_island_log();
            Ok(())
        }
        None => console(&mut amp.host, &mut std::io::stdin().lock(), &mut std::io::stdout(), &mut show_island_log),
    }
}
