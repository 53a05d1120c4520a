//! The simulated hardware between QEMU and the host-side driver: QEMU's DDR
//! in a shared file (`memory-backend-file,share=on`) mapped here, and the
//! doorbells as single bytes over the UNIX socket QEMU connects the
//! island's mailbox UART to.

use anyhow::{Context, Result, bail};
use bulkhead_virtio::window::MmioWindow;
use memmap2::MmapMut;
use std::fs::OpenOptions;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::LinkConfig;

/// The link's window in QEMU's DDR file, mapped.
pub struct SharedWindow {
    // Keeps the mapping alive for `window`.
    _map: MmapMut,
    window: Option<MmioWindow>,
}

impl SharedWindow {
    /// Maps the window of `config` from the DDR backing file at `path`.
    pub fn open(path: &Path, config: &LinkConfig) -> Result<SharedWindow> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .with_context(|| format!("opening QEMU's shared memory {}", path.display()))?;
        let length = file.metadata()?.len();
        if config.file_offset + config.size as u64 > length {
            bail!(
                "the window ({:#x} bytes at {:#x}) is beyond the end of {} ({length:#x} bytes)",
                config.size,
                config.file_offset,
                path.display()
            );
        }
        // SAFETY: the file is QEMU's guest memory, shared on purpose; this
        // program reaches it only through the volatile window below.
        let mut map =
            unsafe { memmap2::MmapOptions::new().offset(config.file_offset).len(config.size as usize).map_mut(&file) }
                .with_context(|| format!("mapping {}", path.display()))?;
        // SAFETY: the mapping is `size` bytes, page-aligned, lives as long as
        // the window (both are in this struct) and is used only through it.
        let window = unsafe { MmioWindow::new(map.as_mut_ptr(), config.size) };
        Ok(SharedWindow { _map: map, window: Some(window) })
    }

    /// Another view of the same window, for a second thread of the
    /// simulated Cortex-A (the race mode's field flipper): two views of
    /// shared memory are what two processors have; every access through
    /// either is volatile.
    pub fn second_view(&mut self) -> MmioWindow {
        // SAFETY: the mapping lives as long as `self` (the caller keeps it
        // alive while the view is used); concurrent volatile accesses to
        // memory QEMU also writes are the protocol itself.
        unsafe { MmioWindow::new(self._map.as_mut_ptr(), self._map.len() as u32) }
    }

    /// The window (once; give it back with [`SharedWindow::put`]).
    pub fn take(&mut self) -> Option<MmioWindow> {
        self.window.take()
    }

    /// Gives the window back.
    pub fn put(&mut self, window: MmioWindow) {
        self.window = Some(window);
    }
}

/// The doorbell both ways, as a driver uses it: ring the device, wait for
/// it to ring back.
pub trait Doorbell {
    /// Rings the device.
    fn ring(&mut self) -> Result<()>;
    /// Waits up to `timeout` for the device to ring; whether it rang.
    fn wait(&mut self, timeout: Duration) -> Result<bool>;
}

impl Doorbell for SocketDoorbell {
    fn ring(&mut self) -> Result<()> {
        SocketDoorbell::ring(self)
    }

    fn wait(&mut self, timeout: Duration) -> Result<bool> {
        SocketDoorbell::wait(self, timeout)
    }
}

/// Doorbells over QEMU's UART socket.
pub struct SocketDoorbell {
    stream: UnixStream,
}

impl SocketDoorbell {
    /// Connects to the socket QEMU listens on, waiting up to `timeout` for it
    /// to appear.
    pub fn connect(path: &Path, timeout: Duration) -> Result<SocketDoorbell> {
        let deadline = Instant::now() + timeout;
        loop {
            match UnixStream::connect(path) {
                Ok(stream) => return Ok(SocketDoorbell { stream }),
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                Err(error) => return Err(error).with_context(|| format!("connecting to {}", path.display())),
            }
        }
    }

    /// Rings the island.
    pub fn ring(&mut self) -> Result<()> {
        self.stream.write_all(b"!").context("ringing the island")
    }

    /// Waits up to `timeout` for the island to ring; drains every ring that
    /// came. Whether it rang.
    pub fn wait(&mut self, timeout: Duration) -> Result<bool> {
        let mut buffer = [0u8; 256];
        self.stream.set_read_timeout(Some(timeout.max(Duration::from_micros(1))))?;
        let rang = match self.stream.read(&mut buffer) {
            Ok(0) => bail!("QEMU closed the doorbell socket"),
            Ok(_) => true,
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
            Err(error) => return Err(error.into()),
        };
        if rang {
            self.stream.set_nonblocking(true)?;
            loop {
                match self.stream.read(&mut buffer) {
                    Ok(n) if n > 0 => continue,
                    _ => break,
                }
            }
            self.stream.set_nonblocking(false)?;
        }
        Ok(rang)
    }
}
