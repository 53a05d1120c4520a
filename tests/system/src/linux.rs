//! Linux's own rpmsg stack as the island's Cortex-A: Debian's stock arm64
//! kernel on QEMU `-M virt` and the island on `mps3-an536`, two QEMUs
//! sharing one memory file and a doorbell socket (see
//! `tools/linux-guest/README.md`).
//!
//! The memory: one file backs both Linux's RAM (from its start, guest
//! physical `0x4000_0000` on `virt`) and the island's DDR (from
//! [`Layout::ddr_offset`]), placed so that the island's window appears to
//! Linux at the link's `remote_base`. Linux is told not to use it
//! (`mem=`), and the glue module maps it there. The doorbell: the island's
//! doorbell UART is served on a socket, and Linux's `pci-serial` 16550
//! connects to it.
//!
//! Used by `tests/linux.rs` and `cargo xtask linux`.

use crate::qemu::{Run, Session};
use anyhow::{Context, Result, bail};
use bulkhead_amp_host::LinkConfig;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Where `-M virt` puts RAM.
const VIRT_RAM_BASE: u64 = 0x4000_0000;
/// How much DDR the island's QEMU gets (as [`crate::amp::DDR_BYTES`]).
const ISLAND_DDR_BYTES: u64 = crate::amp::DDR_BYTES;

/// The built guest: Debian's kernel and our initramfs.
#[derive(Clone, Debug)]
pub struct Guest {
    /// `vmlinuz` of `linux-image-6.12.95+deb12-arm64`.
    pub kernel: PathBuf,
    /// busybox, the modules, `/init` and the test steps.
    pub initramfs: PathBuf,
}

/// Where the guest is built and cached.
pub fn guest_dir() -> PathBuf {
    crate::workspace().join("target/linux-guest")
}

/// Builds the guest (`tools/linux-guest/build.sh`: fetches the Debian
/// packages once, builds the modules and the initramfs when their inputs
/// changed). `Ok(Err(reason))` when the packages cannot be fetched here.
pub fn build_guest() -> Result<std::result::Result<Guest, String>> {
    let root = crate::workspace();
    let dir = guest_dir();
    let output = Command::new("sh")
        .arg(root.join("tools/linux-guest/build.sh"))
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::piped())
        .output()
        .context("running tools/linux-guest/build.sh")?;
    let errors = String::from_utf8_lossy(&output.stderr);
    eprint!("{errors}");
    match output.status.code() {
        Some(0) => Ok(Ok(Guest { kernel: dir.join("vmlinuz"), initramfs: dir.join("initramfs.cpio.gz") })),
        Some(3) => {
            let reason = errors.lines().rev().find_map(|l| l.strip_prefix("skip: ")).unwrap_or("packages unavailable");
            Ok(Err(reason.to_owned()))
        }
        _ => bail!("building the Linux guest failed ({})", output.status),
    }
}

/// Where the shared window lies in each machine's memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Offset of the island's DDR in the shared file.
    pub ddr_offset: u64,
    /// Size of the file: Linux's RAM as QEMU sees it.
    pub ram_bytes: u64,
    /// What Linux may use of it (`mem=`): everything below the window.
    pub linux_bytes: u64,
    /// The window as Linux sees it (the link's `remote_base`).
    pub window_phys: u64,
    /// The window as the island sees it.
    pub window_da: u64,
    /// Its size.
    pub window_size: u64,
    /// Where the island's resource table is in it.
    pub table_offset: u64,
}

impl Layout {
    /// The layout for `link`: its window must be in the island's DDR and its
    /// `remote_base` in `virt`'s RAM range, at least 512 MiB above its start
    /// (Linux's own RAM), with the island's whole DDR below 4 GiB.
    pub fn of(link: &LinkConfig) -> Result<Layout> {
        let window_in_ddr = link.file_offset;
        if window_in_ddr + u64::from(link.size) > ISLAND_DDR_BYTES {
            bail!("the link's window is not in the first 64 MiB of the island's DDR");
        }
        let ddr_phys = link.remote_base.checked_sub(window_in_ddr).context("remote_base below the window's offset")?;
        let ddr_offset =
            ddr_phys.checked_sub(VIRT_RAM_BASE).filter(|offset| *offset >= 512 << 20).with_context(|| {
                format!(
                    "remote_base {:#x}: Linux on `virt` needs it at least 512 MiB above RAM at {VIRT_RAM_BASE:#x}",
                    link.remote_base
                )
            })?;
        if ddr_offset % (2 << 20) != 0 {
            bail!("remote_base {:#x} puts the island's DDR at an offset not 2 MiB-aligned", link.remote_base);
        }
        Ok(Layout {
            ddr_offset,
            ram_bytes: ddr_offset + ISLAND_DDR_BYTES,
            linux_bytes: ddr_offset,
            window_phys: link.remote_base,
            window_da: link.local_base.into(),
            window_size: link.size.into(),
            table_offset: link.table.into(),
        })
    }

    /// The kernel command line for the glue's parameters and `mem=`.
    pub fn kernel_args(&self) -> String {
        format!(
            "mem={}M bulkhead_rproc.window_phys={:#x} bulkhead_rproc.window_da={:#x} bulkhead_rproc.window_size={:#x} \
             bulkhead_rproc.table_offset={:#x}",
            self.linux_bytes >> 20,
            self.window_phys,
            self.window_da,
            self.window_size,
            self.table_offset
        )
    }
}

/// What Linux does once it is up.
#[derive(Clone, Debug)]
pub enum Mode {
    /// `bulkhead-tests basic` (channels, tty, sample, echoes, island
    /// restart), then power off.
    Basic {
        /// Echoes of 1..496 bytes through rpmsg_char.
        echoes: u32,
    },
    /// `bulkhead-tests resets`: rounds of unbind+bind, rmmod+modprobe and
    /// remoteproc detach+attach, then power off.
    Resets {
        /// Rounds.
        rounds: u32,
    },
    /// A shell on the console (QEMU's standard input and output).
    Shell,
}

/// The QEMU command line for Linux on `virt`: RAM in `shm`, the doorbell
/// 16550 connected to `doorbell` (the island's served UART).
pub fn linux_command(guest: &Guest, layout: &Layout, shm: &Path, doorbell: &Path, mode: &Mode) -> Command {
    let qemu = std::env::var_os("BULKHEAD_QEMU_AARCH64").unwrap_or_else(|| "qemu-system-aarch64".into());
    let mut command = Command::new(qemu);
    command.args(["-M", "virt,memory-backend=ram", "-cpu", "cortex-a57"]);
    command.arg("-m").arg(format!("{}M", layout.ram_bytes >> 20));
    command.arg("-object").arg(format!(
        "memory-backend-file,id=ram,size={},mem-path={},share=on",
        layout.ram_bytes,
        shm.display()
    ));
    command.args(["-display", "none", "-nic", "none"]);
    // Virtual time from the instruction count while Linux runs, real time
    // while it idles: its timeouts then mean wall-clock time, as the
    // island's QEMU and the test see it.
    command.args(["-icount", "shift=0,sleep=on"]);
    command.arg("-kernel").arg(&guest.kernel).arg("-initrd").arg(&guest.initramfs);
    let mode_args = match mode {
        Mode::Basic { echoes } => format!("bulkhead.mode=basic bulkhead.echoes={echoes}"),
        Mode::Resets { rounds } => format!("bulkhead.mode=resets bulkhead.rounds={rounds}"),
        Mode::Shell => "bulkhead.mode=shell".to_owned(),
    };
    command.arg("-append").arg(format!("console=ttyAMA0 {} {mode_args}", layout.kernel_args()));
    command.arg("-chardev").arg(format!("socket,id=doorbell,path={}", doorbell.display()));
    command.args(["-device", "pci-serial,chardev=doorbell"]);
    match mode {
        Mode::Basic { .. } | Mode::Resets { .. } => command.args(["-monitor", "none", "-serial", "stdio"]),
        Mode::Shell => command.args(["-serial", "mon:stdio"]),
    };
    command
}

/// A child process killed when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The two QEMUs. Dropping it stops both.
pub struct Pair {
    /// The island's QEMU.
    pub island: Session,
    linux: Killed,
    /// Linux's console lines (not in [`Mode::Shell`]).
    receiver: Option<mpsc::Receiver<String>>,
    /// Linux's console lines so far.
    pub lines: Vec<String>,
    stderr: Option<std::process::ChildStderr>,
}

impl Pair {
    /// Starts the island (`island`, a run of a system whose first VIRTIO
    /// link is `link`), waits up to `patience` for its device to start, then
    /// starts Linux. In [`Mode::Shell`] Linux's console is this process's
    /// terminal.
    pub fn boot(island: Run, link: &LinkConfig, guest: &Guest, mode: &Mode, patience: Duration) -> Result<Pair> {
        let layout = Layout::of(link)?;
        let shm = PathBuf::from(format!("/dev/shm/bulkhead-linux-{}", std::process::id()));
        let _ = std::fs::remove_file(&shm);
        let island = island.shared_ddr_at(&shm, ISLAND_DDR_BYTES, layout.ddr_offset).serve_uart(link.doorbell_uart);
        let doorbell = island.uart_socket(link.doorbell_uart);
        let mut session = island.start()?;
        session.wait_for("island: device of link", patience).context("the island did not start")?;
        let mut command = linux_command(guest, &layout, &shm, &doorbell, mode);
        let interactive = matches!(mode, Mode::Shell);
        if interactive {
            command.stdin(Stdio::inherit()).stdout(Stdio::inherit()).stderr(Stdio::inherit());
        } else {
            command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        }
        let mut linux = command.spawn().context("cannot start qemu-system-aarch64 (Debian: qemu-system-arm)")?;
        let mut receiver = None;
        let mut stderr = None;
        if !interactive {
            let stdout = linux.stdout.take().context("no stdout")?;
            stderr = linux.stderr.take();
            let (sender, lines) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).split(b'\n') {
                    let Ok(line) = line else { break };
                    let text = String::from_utf8_lossy(&line).trim_end_matches('\r').to_owned();
                    if sender.send(text).is_err() {
                        break;
                    }
                }
            });
            receiver = Some(lines);
        }
        Ok(Pair { island: session, linux: Killed(linux), receiver, lines: Vec::new(), stderr })
    }

    /// Waits up to `timeout` for a Linux console line containing `what`
    /// and returns it; `None` if Linux exited or the time ran out first.
    pub fn wait_for_linux(&mut self, what: &str, timeout: Duration) -> Option<String> {
        let receiver = self.receiver.as_ref()?;
        let deadline = Instant::now() + timeout;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match receiver.recv_timeout(remaining.max(Duration::from_millis(1))) {
                Ok(line) => {
                    let found = line.contains(what);
                    self.lines.push(line.clone());
                    if found {
                        return Some(line);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(_) => return None,
            }
        }
    }

    /// Linux's QEMU's exit status, if it has exited.
    pub fn try_wait(&mut self) -> Result<Option<std::process::ExitStatus>> {
        Ok(self.linux.0.try_wait()?)
    }

    /// Stops both; returns the island's console lines, and what Linux's
    /// QEMU wrote on its standard error.
    pub fn stop(mut self) -> (Vec<String>, String) {
        let _ = self.linux.0.kill();
        let _ = self.linux.0.wait();
        if let Some(receiver) = &self.receiver {
            while let Ok(line) = receiver.try_recv() {
                self.lines.push(line);
            }
        }
        let mut errors = String::new();
        if let Some(stderr) = self.stderr.as_mut() {
            let _ = stderr.read_to_string(&mut errors);
        }
        (self.island.stop().lines, errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(local_base: u32, remote_base: u64, file_offset: u64) -> LinkConfig {
        LinkConfig {
            name: "linux".into(),
            local_base,
            remote_base,
            size: 1 << 20,
            table: 0,
            pool: 0x4240,
            file_offset,
            doorbell_uart: 3,
            services: 2,
        }
    }

    #[test]
    fn the_amp_window_lands_at_remote_base_in_linux_ram() {
        let layout = Layout::of(&link(0x2000_0000, 0x8000_0000, 0)).unwrap();
        assert_eq!(layout.ddr_offset, 1 << 30);
        assert_eq!(layout.ram_bytes, (1 << 30) + (64 << 20));
        assert_eq!(layout.linux_bytes, 1 << 30);
        assert!(layout.kernel_args().starts_with("mem=1024M bulkhead_rproc.window_phys=0x80000000 "));
    }

    #[test]
    fn a_window_later_in_ddr_moves_the_ddr_down() {
        let layout = Layout::of(&link(0x2020_0000, 0x8000_0000, 0x20_0000)).unwrap();
        assert_eq!(layout.ddr_offset, (1 << 30) - (2 << 20));
        assert_eq!(layout.window_da, 0x2020_0000);
    }

    #[test]
    fn a_remote_base_inside_linux_s_own_ram_is_refused() {
        assert!(Layout::of(&link(0x2000_0000, 0x4800_0000, 0)).is_err());
        assert!(Layout::of(&link(0x2000_0000, 0x8010_0000, 0)).is_err(), "not 2 MiB-aligned");
    }
}
