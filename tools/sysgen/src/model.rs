//! The validated system: the second parsing stage's result.
//!
//! Everything here has been checked (see [`crate::validate`]): names are
//! unique and resolved to indexes, regions are placed, aligned, inside board
//! memory and non-overlapping, MPU budgets hold, durations are whole ticks
//! and windows fit their major frame. Emitters can trust it without checking
//! again.

use bulkhead_kernel_core::tables::{HealthDesc, KERNEL_REGION_SLOTS};
use bulkhead_mpu::{El1Access, El2Access, MemoryType, Region, Shareability};
use std::fmt;
use std::path::{Path, PathBuf};

/// A board.
#[derive(Clone, Debug)]
pub struct Board {
    /// Name.
    pub name: String,
    /// Its `board.toml`.
    pub file: PathBuf,
    /// Cores.
    pub cores: u32,
    /// The cluster's `MPIDR` affinity (`Aff2.Aff1`, bits 8..23 in place;
    /// `Aff0` is 0): its cores' `MPIDR` are this plus the core number.
    pub cluster_affinity: u32,
    /// `CNTFRQ`.
    pub timer_hz: u32,
    /// EL2 MPU regions.
    pub el2_mpu_regions: u32,
    /// EL1 MPU regions.
    pub el1_mpu_regions: u32,
    /// D16-D31 present.
    pub fpu_d32: bool,
    /// Memories.
    pub memories: Vec<Memory>,
    /// Devices.
    pub devices: Vec<Device>,
    /// GIC frames.
    pub gic: Gic,
}

/// A board memory.
#[derive(Clone, Debug)]
pub struct Memory {
    /// Name.
    pub name: String,
    /// First byte.
    pub base: u64,
    /// Size.
    pub size: u64,
    /// Flash (code) or RAM.
    pub flash: bool,
}

/// A board device.
#[derive(Clone, Debug)]
pub struct Device {
    /// Name.
    pub name: String,
    /// Register frame.
    pub base: u32,
    /// Frame size.
    pub size: u32,
    /// Interrupt ids.
    pub interrupts: Vec<u32>,
    /// Its edge-triggered SPIs (the board's `edge_triggered`): a subset of
    /// `interrupts`; the others are level-sensitive.
    pub edge_triggered: Vec<u32>,
    /// For people.
    pub description: String,
    /// What it does to the whole chip, for a device no partition may have
    /// (the board's `chip_wide`).
    pub chip_wide: Option<String>,
    /// Each core sees its own instance at the same address (the board's
    /// `per_core`): given to a partition, it means the instance of the
    /// partition's core.
    pub per_core: bool,
    /// For a UART, its serial port number (the board's `serial`): what
    /// `cargo xtask run` and the system tests connect it as. For a per-core
    /// UART, core 0's instance's ([`Device::serial_on`] has every core's).
    pub serial: Option<u8>,
    /// For a per-core UART whose board entry lists a port per core
    /// (`serial = [0, 1]`), those ports, indexed by core; empty otherwise.
    pub core_serials: Vec<u8>,
}

impl Device {
    /// The serial port of the instance `core` sees: a shared device's one
    /// port whatever the core; for a per-core device, that core's entry of
    /// its list, or with a single port (`serial = 0`) core 0's only.
    pub fn serial_on(&self, core: u32) -> Option<u8> {
        if !self.per_core {
            self.serial
        } else if !self.core_serials.is_empty() {
            self.core_serials.get(core as usize).copied()
        } else if core == 0 {
            self.serial
        } else {
            None
        }
    }
}

/// GIC frames.
#[derive(Clone, Debug)]
pub struct Gic {
    /// Distributor base.
    pub distributor: u32,
    /// First redistributor (core 0's).
    pub redistributor: u32,
    /// Distance between the redistributors of consecutive cores.
    pub redistributor_stride: u32,
    /// Interrupt ids.
    pub interrupts: u32,
    /// First byte of the region covering all frames.
    pub region_base: u32,
    /// Size of that region.
    pub region_size: u32,
}

impl Gic {
    /// The redistributor of `core`.
    pub fn redistributor_of(&self, core: u32) -> u32 {
        self.redistributor + core * self.redistributor_stride
    }
}

/// The kernel's place.
#[derive(Clone, Debug)]
pub struct Kernel {
    /// Code region.
    pub code: Span,
    /// Data region.
    pub data: Span,
    /// Stack per core.
    pub stack_size: u32,
    /// Console device index.
    pub console: usize,
    /// The driver that serves the console.
    pub console_driver: ConsoleDriver,
    /// Interrupts it keeps.
    pub interrupts: Vec<u32>,
    /// The EL2 MPU regions it keeps, in slot order.
    pub mpu_regions: [Region; KERNEL_REGION_SLOTS],
}

/// The kernel console's driver, the board's `console_driver`: which type
/// of `boards/` the kernel's tables name as `ConsoleDriver`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsoleDriver {
    /// The Arm CMSDK APB UART (`cmsdk_uart::console::CmsdkConsole`).
    CmsdkUart,
    /// The NXP LINFlexD (`nxp_s32z2::linflexd::LinflexdConsole`).
    NxpLinflexd {
        /// Module clock, Hz.
        clock_hz: u32,
        /// Rate.
        baud: u32,
    },
}

impl ConsoleDriver {
    /// The Rust type the kernel's tables name as `ConsoleDriver`.
    pub fn rust_type(self) -> String {
        match self {
            ConsoleDriver::CmsdkUart => "::cmsdk_uart::console::CmsdkConsole".to_owned(),
            ConsoleDriver::NxpLinflexd { clock_hz, baud } => {
                format!("::nxp_s32z2::linflexd::LinflexdConsole<{clock_hz}, {baud}>")
            }
        }
    }
}

/// A placed address range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub base: u32,
    /// Size (non-zero, multiple of 64).
    pub size: u32,
}

impl Span {
    /// Last byte.
    pub fn limit(&self) -> u32 {
        self.base + (self.size - 1)
    }

    /// Whether the spans share a byte.
    pub fn overlaps(&self, other: &Span) -> bool {
        self.base <= other.limit() && other.base <= self.limit()
    }

    /// Whether `address` is inside.
    pub fn contains(&self, address: u64) -> bool {
        address >= self.base as u64 && address <= self.limit() as u64
    }
}

/// What a partition may do in a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// May read.
    pub read: bool,
    /// May write.
    pub write: bool,
    /// May execute.
    pub execute: bool,
}

impl Access {
    /// Parses `r`, `rw`, `rx`, `rwx`.
    pub fn parse(text: &str) -> Option<Access> {
        Some(match text {
            "r" => Access { read: true, write: false, execute: false },
            "rw" => Access { read: true, write: true, execute: false },
            "rx" => Access { read: true, write: false, execute: true },
            "rwx" => Access { read: true, write: true, execute: true },
            _ => return None,
        })
    }

    /// As written.
    pub fn name(&self) -> &'static str {
        match (self.write, self.execute) {
            (false, false) => "r",
            (true, false) => "rw",
            (false, true) => "rx",
            (true, true) => "rwx",
        }
    }
}

/// Why a partition has a region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// Its code and read-only data, and the load image of `.data`.
    Code,
    /// Its `.data`, `.bss` and stacks.
    Data,
    /// A further private region.
    Private,
    /// A `[[shared]]` region or a channel's window (index into
    /// [`System::shared`]).
    Shared(usize),
    /// A board device (index into [`Board::devices`]).
    Device(usize),
    /// The shared window of a VIRTIO link (index into [`System::virtio`]).
    Virtio(usize),
}

/// One region of a partition.
#[derive(Clone, Debug)]
pub struct PartitionRegion {
    /// Name (the device's or shared region's name for those).
    pub name: String,
    /// Why.
    pub kind: RegionKind,
    /// Where.
    pub span: Span,
    /// What the partition may do.
    pub access: Access,
    /// Memory type.
    pub memory_type: MemoryType,
    /// `OuterShareable` for memory partitions on different cores map (a
    /// `[[shared]]` region or VIRTIO window), `NonShareable` otherwise. The
    /// Cortex-R52's L1 data caches are not coherent between cores, and it
    /// does not cache Normal memory marked shareable: so marked, two cores
    /// see each other's writes without cache maintenance.
    pub shareability: Shareability,
    /// A private writable region marked `noinit`: a warm restart keeps its
    /// contents, a cold one clears it. False for every other region.
    pub noinit: bool,
}

impl PartitionRegion {
    /// The EL2 MPU region for it.
    pub fn mpu_region(&self) -> Region {
        Region {
            base: self.span.base,
            limit: self.span.limit(),
            el1: if self.access.write { El1Access::ReadWrite } else { El1Access::ReadOnly },
            el2: if self.access.write { El2Access::ReadWrite } else { El2Access::ReadOnly },
            executable: self.access.execute,
            memory: self.memory_type,
            shareability: self.shareability,
        }
    }
}

/// A partition.
#[derive(Clone, Debug)]
pub struct Partition {
    /// Name.
    pub name: String,
    /// Where its image comes from.
    pub image: ImageSource,
    /// What the health monitor does about each error, its watchdog and its
    /// restart limit: `fault_policy` and `[partition.health]`.
    pub health: HealthDesc,
    /// Main stack.
    pub stack_size: u32,
    /// Each exception-mode stack.
    pub exception_stack_size: u32,
    /// Regions, code first, data second.
    pub regions: Vec<PartitionRegion>,
    /// Interrupt ids (devices', explicit ones, for a channel reader the SGIs
    /// of the channels that notify it, and for a `[monitor]` with `notify`
    /// its notify SGI, after those; the virtual timer, which every
    /// partition owns, is not listed). SGIs and PPIs are those of its core;
    /// its SGIs are virtual only (the kernel raises them, nothing routes
    /// them).
    pub interrupts: Vec<u32>,
    /// The core it runs on: its `core`, else that of the schedule its
    /// windows are in.
    pub core: u32,
    /// EL2 MPU regions after merging adjacent compatible ones.
    pub mpu_regions: Vec<Region>,
}

/// Where a partition's image comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageSource {
    /// A binary crate of the workspace, which `cargo xtask build` builds
    /// with cargo against the partition's generated `memory.x`.
    Crate(String),
    /// An ELF file made by another toolchain.
    Elf {
        /// The file: the path written in the description, joined to the
        /// description's directory ([`System::directory`]).
        path: PathBuf,
        /// A shell command that makes the file, run in the description's
        /// directory before the file is read.
        build: Option<String>,
    },
}

impl fmt::Display for ImageSource {
    /// The crate's name, or the ELF's path.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageSource::Crate(name) => formatter.write_str(name),
            ImageSource::Elf { path, .. } => write!(formatter, "{}", path.display()),
        }
    }
}

impl Partition {
    /// The code region.
    pub fn code(&self) -> &PartitionRegion {
        &self.regions[0]
    }

    /// The data region.
    pub fn data(&self) -> &PartitionRegion {
        &self.regions[1]
    }
}

/// A `[[shared]]` region, or the window of a `[[channel]]` (a channel is a
/// shared region of its name that its writer maps `rw` and each reader `r`).
#[derive(Clone, Debug)]
pub struct SharedRegion {
    /// Name.
    pub name: String,
    /// Where.
    pub span: Span,
    /// The channel (index into [`System::channels`]) whose window it is;
    /// `None` for a `[[shared]]` region.
    pub channel: Option<usize>,
}

/// How a channel carries messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    /// The latest message, overwritten by the next.
    Sampling,
    /// A queue of messages per reader.
    Queuing {
        /// Messages each reader's queue holds.
        depth: u32,
    },
}

impl ChannelKind {
    /// As written.
    pub fn name(&self) -> &'static str {
        match self {
            ChannelKind::Sampling => "sampling",
            ChannelKind::Queuing { .. } => "queuing",
        }
    }
}

/// One reader of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelReader {
    /// The partition.
    pub partition: usize,
    /// The SGI (0..=15) the writer's `PortNotify` raises in it, when the
    /// channel notifies; also in the reader's [`Partition::interrupts`].
    pub notify: Option<u32>,
}

/// A `[[channel]]`. Its id (the ABI's handle) is its index in
/// [`System::channels`]: description order.
#[derive(Clone, Debug)]
pub struct Channel {
    /// Name.
    pub name: String,
    /// Sampling or queuing.
    pub kind: ChannelKind,
    /// Largest message in bytes.
    pub message_size: u32,
    /// Sampling only: a message older than this many counter ticks is
    /// stale; `None` when not given (and for queuing).
    pub refresh: Option<u64>,
    /// Whether the readers get a notify SGI.
    pub notify: bool,
    /// The writer.
    pub writer: usize,
    /// The readers, in the description's order (a reader's position is its
    /// index in the protocol).
    pub readers: Vec<ChannelReader>,
    /// The window's region (its size rounded up to the MPU's 64 bytes).
    pub window: Span,
    /// Bytes of the window the protocol uses (`bulkhead_ports::layout`), at
    /// most `window.size`.
    pub size: u32,
    /// The window's entry in [`System::shared`].
    pub shared: usize,
}

/// Where a vring goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VringPlacement {
    /// Offset in the window, or `None` when the driver places it.
    pub offset: Option<u32>,
    /// Entries.
    pub num: u16,
    /// Alignment.
    pub align: u32,
}

/// What an rpmsg service does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    /// A console to the partition.
    Tty,
    /// Sends every message back.
    Echo,
}

impl ServiceKind {
    /// As written.
    pub fn name(&self) -> &'static str {
        match self {
            ServiceKind::Tty => "tty",
            ServiceKind::Echo => "echo",
        }
    }
}

/// An rpmsg service of a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    /// What it does.
    pub kind: ServiceKind,
    /// Name announced.
    pub name: String,
    /// Endpoint address.
    pub address: u32,
}

/// Mailbox hardware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailboxDriver {
    /// One byte per doorbell over a UART (the simulation stand-in).
    Uart,
    /// NXP S32Z/S32E Message Receiving Unit.
    NxpMru,
    /// Arm MHUv2 doorbell.
    ArmMhuv2,
}

impl MailboxDriver {
    /// As written.
    pub fn name(&self) -> &'static str {
        match self {
            MailboxDriver::Uart => "uart",
            MailboxDriver::NxpMru => "nxp-mru",
            MailboxDriver::ArmMhuv2 => "arm-mhuv2",
        }
    }
}

/// The doorbells of a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mailbox {
    /// Hardware.
    pub driver: MailboxDriver,
    /// Device that rings the partition (index into [`Board::devices`]).
    pub device: usize,
    /// Device the partition rings the other side through.
    pub send_device: usize,
    /// Channel.
    pub channel: u32,
    /// Interrupt that rings the partition.
    pub interrupt: u32,
}

/// A VIRTIO rpmsg link.
#[derive(Clone, Debug)]
pub struct VirtioLink {
    /// Name.
    pub name: String,
    /// The partition that is the device.
    pub partition: usize,
    /// The window, as the island sees it.
    pub window: Span,
    /// The window's first byte as the other processor sees it.
    pub remote_base: u64,
    /// Offset of the resource table in the window.
    pub table: u32,
    /// vring 0 (device to driver) and vring 1 (driver to device).
    pub vrings: [VringPlacement; 2],
    /// Offset of the first byte left for the driver's buffers (and rings,
    /// when it places them).
    pub pool: u32,
    /// Services.
    pub services: Vec<Service>,
    /// Doorbells.
    pub mailbox: Mailbox,
    /// A demo build (`demo = true`): the tty offers `crash`.
    pub demo: bool,
}

/// One window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Owner, `None` for idle.
    pub partition: Option<usize>,
    /// Start in ticks from the frame start.
    pub offset: u64,
    /// Length in ticks.
    pub duration: u64,
}

/// A core's schedule.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Core.
    pub core: u32,
    /// Major frame in ticks.
    pub major_frame: u64,
    /// Windows tiling the frame (an idle window fills any rest).
    pub windows: Vec<Window>,
}

/// The `[monitor]`: the partition that reads every core's error log and
/// may restart, halt or resume the others.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Monitor {
    /// The partition (index into [`System::partitions`]).
    pub partition: usize,
    /// The SGI raised in it when a partition's action is `monitor`
    /// (`notify = true`); also in its [`Partition::interrupts`], numbered
    /// after the notify SGIs of its channels.
    pub notify: Option<u32>,
}

/// A validated system.
#[derive(Clone, Debug)]
pub struct System {
    /// The description file.
    pub file: PathBuf,
    /// Name.
    pub name: String,
    /// Board.
    pub board: Board,
    /// Kernel.
    pub kernel: Kernel,
    /// Partitions; index = id. Numbered core by core: core 0's in
    /// description order, then core 1's, ...
    pub partitions: Vec<Partition>,
    /// Shared regions: the `[[shared]]` ones, then the channels' windows.
    pub shared: Vec<SharedRegion>,
    /// Channels; index = channel id.
    pub channels: Vec<Channel>,
    /// VIRTIO links.
    pub virtio: Vec<VirtioLink>,
    /// Schedules, one per core used, in description order. A core without
    /// one stays parked.
    pub schedules: Vec<Schedule>,
    /// Window tracing on.
    pub trace_windows: bool,
    /// Interrupt tracing on.
    pub trace_interrupts: bool,
    /// The `[monitor]` partition, if any.
    pub monitor: Option<Monitor>,
    /// Things that are allowed but worth saying.
    pub warnings: Vec<String>,
}

impl System {
    /// The SPIs some partition owns that the board says are edge-triggered,
    /// sorted: the kernel configures them so at boot, every other owned SPI
    /// level-sensitive.
    pub fn edge_spis(&self) -> Vec<u16> {
        let mut spis: Vec<u16> = self
            .board
            .devices
            .iter()
            .flat_map(|device| device.edge_triggered.iter().copied())
            .filter(|intid| self.partitions.iter().any(|p| p.interrupts.contains(intid)))
            .map(|intid| intid as u16)
            .collect();
        spis.sort_unstable();
        spis.dedup();
        spis
    }

    /// The directory of the description, which paths in it are relative to.
    pub fn directory(&self) -> &Path {
        description_directory(&self.file)
    }

    /// The schedule of `core`; `None` for a parked core.
    pub fn schedule(&self, core: u32) -> Option<&Schedule> {
        self.schedules.iter().find(|schedule| schedule.core == core)
    }

    /// Whether cores share one console device (a device that is not
    /// `per_core` and more than one core scheduled): each core's kernel
    /// then takes the device for one whole line at a time.
    pub fn console_shared(&self) -> bool {
        let scheduled = (0..self.board.cores).filter(|core| self.schedule(*core).is_some()).count();
        !self.board.devices[self.kernel.console].per_core && scheduled > 1
    }

    /// The serial port of the kernel console of `core`: with a per-core
    /// console device each scheduled core logs on its own instance (on the
    /// AN536 core 0's uart0 is port 0, core 1's port 1); with a shared one
    /// all on its one port ([`System::console_shared`]). `None` for a
    /// parked core, or a console without a serial port.
    pub fn console_serial(&self, core: u32) -> Option<u8> {
        self.schedule(core)?;
        self.board.devices[self.kernel.console].serial_on(core)
    }

    /// The serial port of device `device` (an index into [`Board::devices`])
    /// as partition `partition` sees it: its core's instance's for a
    /// per-core device.
    pub fn partition_serial(&self, partition: usize, device: usize) -> Option<u8> {
        self.board.devices[device].serial_on(self.partitions[partition].core)
    }

    /// The partitions of `core`'s ids: a range, since ids are numbered core
    /// by core.
    pub fn core_partitions(&self, core: u32) -> std::ops::Range<usize> {
        let first = self.partitions.iter().take_while(|p| p.core < core).count();
        let count = self.partitions[first..].iter().take_while(|p| p.core == core).count();
        first..first + count
    }
}

/// The directory of the description at `file` (`.` for a file named
/// without one).
pub fn description_directory(file: &Path) -> &Path {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uart(per_core: bool, serial: Option<u8>, core_serials: Vec<u8>) -> Device {
        Device {
            name: "uart".into(),
            base: 0xE7C0_0000,
            size: 0x1000,
            interrupts: vec![],
            edge_triggered: Vec::new(),
            description: String::new(),
            chip_wide: None,
            per_core,
            serial,
            core_serials,
        }
    }

    #[test]
    fn a_per_core_uart_has_each_cores_serial_port() {
        let listed = uart(true, Some(0), vec![0, 1]);
        assert_eq!((listed.serial_on(0), listed.serial_on(1), listed.serial_on(2)), (Some(0), Some(1), None));
        // A single port is core 0's only.
        let single = uart(true, Some(3), vec![]);
        assert_eq!((single.serial_on(0), single.serial_on(1)), (Some(3), None));
        // A shared UART is the same port from every core.
        let shared = uart(false, Some(4), vec![]);
        assert_eq!((shared.serial_on(0), shared.serial_on(1)), (Some(4), Some(4)));
        assert_eq!(uart(false, None, vec![]).serial_on(0), None);
    }
}
