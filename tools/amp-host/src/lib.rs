//! The Cortex-A side of a VIRTIO rpmsg link, for simulation and tests.
//!
//! - [`driver`]: an rpmsg *driver* over a shared window, doing what Linux's
//!   remoteproc and `virtio_rpmsg_bus` do: read the resource table, take
//!   the features, place the rings if asked, post a pool of 512-byte
//!   buffers, set `DRIVER_OK`, exchange messages and handle the name
//!   service; and, for tests, break every rule on purpose ([`hostile`]);
//!   it behaves as ours, Linux's or OpenAMP's driver
//!   ([`driver::Personality`]: kicks, buffer reuse, used length, reset);
//! - [`link`]: the simulated hardware: QEMU's DDR as a shared file and the
//!   doorbell as one byte over a UNIX socket;
//! - [`host`]: a driver and its doorbell, with the loops its users need;
//! - [`LinkConfig`]: where things are, from the system description.
//!
//! The island must also work with independent implementations (Linux,
//! OpenAMP); this one follows their published layouts, not the island's
//! code, and exists to drive tests and the `cargo xtask console` demo.

pub mod driver;
pub mod host;
pub mod hostile;
pub mod link;

use anyhow::{Context, Result, bail};

/// Where a link's pieces are, as the driver needs them.
#[derive(Clone, Debug)]
pub struct LinkConfig {
    /// Link name.
    pub name: String,
    /// The window's first byte as the island sees it (ring addresses in the
    /// resource table are in this space).
    pub local_base: u32,
    /// The window's first byte as the driver sees it (descriptor addresses).
    pub remote_base: u64,
    /// Window size.
    pub size: u32,
    /// Offset of the resource table.
    pub table: u32,
    /// Offset of the first byte the driver may use for buffers (and rings).
    pub pool: u32,
    /// Offset of the window in QEMU's DDR backing file.
    pub file_offset: u64,
    /// The serial port (the board's `serial` of the mailbox UART, QEMU's
    /// `-serial` order) carrying the doorbells.
    pub doorbell_uart: u8,
    /// How many services the island announces.
    pub services: usize,
}

/// The first RAM of the board that QEMU backs with the shared file.
pub const SHARED_MEMORY: &str = "ddr";

impl LinkConfig {
    /// The configuration of link `name` (the first link when `None`) of a
    /// validated system.
    pub fn from_system(system: &bulkhead_sysgen::System, name: Option<&str>) -> Result<LinkConfig> {
        let link = match name {
            Some(name) => system.virtio.iter().find(|l| l.name == name),
            None => system.virtio.first(),
        }
        .with_context(|| format!("system `{}` has no VIRTIO link {}", system.name, name.unwrap_or("")))?;
        let ddr = system
            .board
            .memories
            .iter()
            .find(|m| m.name == SHARED_MEMORY)
            .with_context(|| format!("board `{}` has no `{SHARED_MEMORY}` memory", system.board.name))?;
        let Some(file_offset) = (link.window.base as u64).checked_sub(ddr.base) else {
            bail!("link `{}`: the window is not in `{SHARED_MEMORY}`, which the simulation shares", link.name);
        };
        let mailbox_device = &system.board.devices[link.mailbox.device];
        let Some(uart) = mailbox_device.serial else {
            bail!(
                "link `{}`: the simulated doorbell needs a UART (a board device with a `serial` port), not `{}`",
                link.name,
                mailbox_device.name
            );
        };
        Ok(LinkConfig {
            name: link.name.clone(),
            local_base: link.window.base,
            remote_base: link.remote_base,
            size: link.window.size,
            table: link.table,
            pool: link.pool,
            file_offset,
            doorbell_uart: uart,
            services: link.services.len(),
        })
    }
}
