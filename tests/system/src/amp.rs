//! Booting a system with a VIRTIO link and attaching to it as its
//! Cortex-A: QEMU's DDR in a shared file, the doorbell UART on a socket,
//! and `bulkhead-amp-host` as the rpmsg driver. Used by the VIRTIO system
//! tests, `cargo xtask console` and `cargo xtask bench`.

use crate::qemu::{Output, Run, Session};
use anyhow::{Context, Result};
use bulkhead_amp_host::LinkConfig;
use bulkhead_amp_host::driver::Personality;
use bulkhead_amp_host::host::Host;
use bulkhead_amp_host::link::{SharedWindow, SocketDoorbell};
use bulkhead_virtio::window::MmioWindow;
use std::path::PathBuf;
use std::time::Duration;

/// QEMU's DDR backing file size.
pub const DDR_BYTES: u64 = 64 << 20;

/// A running system and the host's side of its link.
pub struct Amp {
    /// QEMU.
    pub session: Session,
    /// The driver and its doorbell.
    pub host: Host<MmioWindow>,
    // Keeps the mapping alive as long as the host uses it.
    _shared: SharedWindow,
}

impl Amp {
    /// Starts `run` with its DDR in `/dev/shm/bulkhead-<tag>-<pid>` and the
    /// doorbell UART of `config` on a socket, waits up to `patience` for the
    /// island to start, and attaches until all its services are announced.
    pub fn boot(run: Run, config: LinkConfig, tag: &str, patience: Duration) -> Result<Amp> {
        Amp::boot_as(run, config, tag, patience, Personality::Bulkhead)
    }

    /// [`Amp::boot`], the host behaving as `personality`'s driver.
    pub fn boot_as(
        run: Run,
        config: LinkConfig,
        tag: &str,
        patience: Duration,
        personality: Personality,
    ) -> Result<Amp> {
        let shm = PathBuf::from(format!("/dev/shm/bulkhead-{tag}-{}", std::process::id()));
        let run = run.shared_ddr(&shm, DDR_BYTES).serve_uart(config.doorbell_uart);
        let socket = run.uart_socket(config.doorbell_uart);
        let mut session = run.start()?;
        session.wait_for("island: device of link", patience).context("the island did not start")?;
        let mut shared = SharedWindow::open(&shm, &config)?;
        let doorbell = SocketDoorbell::connect(&socket, patience)?;
        let window = shared.take().context("window")?;
        let mut host = Host::attach_as(window, config, doorbell, personality)?;
        host.patience = patience;
        Ok(Amp { session, host, _shared: shared })
    }

    /// A second view of the link's window, for another thread of the
    /// simulated Cortex-A (the race mode's flipper).
    pub fn second_view(&mut self) -> MmioWindow {
        self._shared.second_view()
    }

    /// Lets go of the link and asks QEMU to quit in order (so TCG plugins
    /// write their results); returns what it printed.
    pub fn terminate(self) -> Output {
        let Amp { session, host, _shared } = self;
        drop(host);
        session.terminate()
    }
}
