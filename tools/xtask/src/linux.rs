//! `cargo xtask linux`: the AMP system's island in one QEMU, Debian's stock
//! arm64 Linux in another as its Cortex-A, driving it with Linux's own rpmsg
//! stack (see tools/linux-guest/README.md). Linux's console is this
//! terminal (a busybox shell; QEMU's Ctrl-A X quits); what the island logs is
//! shown between.
//! `--test basic|resets` runs those test steps instead and prints them.

use crate::{setup, system};
use anyhow::{Context, Result, bail};
use bulkhead_amp_host::LinkConfig;
use bulkhead_system_tests::linux::{self, Layout, Mode, Pair};
use bulkhead_system_tests::qemu::Run;
use std::path::Path;
use std::time::Duration;

/// Boots the pair.
pub fn run(root: &Path, description: &Path, test: Option<&str>) -> Result<()> {
    let toolchain = setup::toolchain(root)?;
    setup::qemu()?;
    let built = system::build(root, &toolchain, description)?;
    let link = LinkConfig::from_system(&built.system, None)?;
    let guest = match linux::build_guest()? {
        Ok(guest) => guest,
        Err(reason) => bail!("the Linux guest cannot be built here: {reason}"),
    };
    let layout = Layout::of(&link)?;
    eprintln!(
        "link `{}`: window {:#x} (island) = {:#x} (Linux), {} KiB; doorbell uart{} <-> Linux's pci-serial",
        link.name,
        layout.window_da,
        layout.window_phys,
        layout.window_size / 1024,
        link.doorbell_uart
    );
    let mode = match test {
        None => Mode::Shell,
        Some("basic") => Mode::Basic { echoes: 1000 },
        Some("resets") => Mode::Resets { rounds: 3 },
        Some(other) => bail!("--test {other}: basic or resets"),
    };
    let island = Run::new(&built.kernel).frames(u32::MAX).timeout(Duration::from_secs(u64::MAX / 4));
    let mut pair = Pair::boot(island, &link, &guest, &mode, Duration::from_secs(120))?;
    let mut shown = 0;
    let mut show_island = |pair: &mut Pair| {
        let lines = pair.island.drain();
        for line in &lines[shown..] {
            if line.starts_with("[island]") || ["@fault", "@restart", "@halted"].iter().any(|k| line.starts_with(k)) {
                eprint!("  {line}\r\n");
            }
        }
        shown = lines.len();
    };
    match mode {
        Mode::Shell => loop {
            show_island(&mut pair);
            if let Some(status) = pair.try_wait()? {
                eprintln!("Linux's QEMU exited ({status})");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        },
        _ => {
            let done = pair.wait_for_linux("@linux done", Duration::from_secs(1200));
            show_island(&mut pair);
            for line in pair.lines.iter().filter(|l| l.starts_with("@step") || l.starts_with("@dmesg")) {
                println!("{line}");
            }
            let failed = pair.lines.iter().any(|l| l.starts_with("@step") && l.contains(" FAIL"));
            pair.stop();
            match (done, failed) {
                (Some(_), false) => Ok(()),
                (Some(_), true) => bail!("steps failed"),
                (None, _) => bail!("Linux did not finish its steps"),
            }
        }
    }
}

/// `linux_echo_roundtrip_us` for the bench: the mean round trip of 1,000
/// 64-byte echoes from a Linux process through `rpmsg_char` (the basic
/// steps' 64-byte run), with the note to print. `Ok(Err(reason))` when the
/// Linux guest cannot be built here (no packages): the bench says so and
/// goes on.
pub fn echo_roundtrip_us(
    root: &Path,
    toolchain: &setup::Toolchain,
) -> Result<std::result::Result<(u64, String), String>> {
    let built = system::build(root, toolchain, &root.join("partitions/systems/amp.toml"))?;
    let link = LinkConfig::from_system(&built.system, None)?;
    let guest = match linux::build_guest()? {
        Ok(guest) => guest,
        Err(reason) => return Ok(Err(reason)),
    };
    let island = Run::new(&built.kernel).frames(u32::MAX).timeout(Duration::from_secs(u64::MAX / 4));
    let mut pair = Pair::boot(island, &link, &guest, &Mode::Basic { echoes: 100 }, Duration::from_secs(120))?;
    let done = pair.wait_for_linux("@linux done", Duration::from_secs(1200));
    let echo = pair.lines.iter().find(|l| l.starts_with("@step echo ok")).cloned();
    pair.stop();
    let (Some(_), Some(echo)) = (done, echo) else { bail!("the Linux guest's echo step did not complete") };
    let bench = echo.split("64-byte:").nth(1).context("no 64-byte run in the echo step")?;
    let per_message = bench
        .split_whitespace()
        .find_map(|field| field.strip_prefix("per_message_us="))
        .and_then(|value| value.parse::<u64>().ok())
        .context("no per_message_us in the echo step")?;
    Ok(Ok((per_message, format!("1000 64-byte echoes from Linux ({})", bench.trim()))))
}
