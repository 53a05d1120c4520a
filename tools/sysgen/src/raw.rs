//! The description files exactly as written: the first of two parsing stages.
//!
//! These types mirror the TOML, reject unknown keys, and keep the span of
//! every value a later check might complain about. They say nothing about
//! whether the description makes sense; [`crate::validate`] decides that and
//! builds the model. `docs/system-description.md` documents every key.

use crate::units::{Duration, Size};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// A system description (`*.toml` given to `bulkhead-sysgen`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemFile {
    /// `[system]`.
    pub system: SystemHeader,
    /// `[kernel]`, optional.
    #[serde(default)]
    pub kernel: KernelOptions,
    /// `[[partition]]`.
    #[serde(default, rename = "partition")]
    pub partitions: Vec<Spanned<Partition>>,
    /// `[[shared]]`: memory several partitions map.
    #[serde(default)]
    pub shared: Vec<Spanned<Shared>>,
    /// `[[schedule]]`: one per core.
    #[serde(default)]
    pub schedule: Vec<Spanned<Schedule>>,
    /// `[[channel]]`: inter-partition sampling and queuing ports.
    #[serde(default, rename = "channel")]
    pub channels: Vec<Spanned<Channel>>,
    /// `[[virtio]]`: VIRTIO rpmsg links to another processor.
    #[serde(default)]
    pub virtio: Vec<Spanned<Virtio>>,
    /// `[monitor]`: the health-monitor partition, optional.
    pub monitor: Option<Spanned<Monitor>>,
}

/// `[monitor]`: the partition that reads every core's error log and may
/// restart, halt or resume the others.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitor {
    /// The monitor partition.
    pub partition: Spanned<String>,
    /// It gets an SGI when a partition's action is `monitor` (default false).
    pub notify: Option<Spanned<bool>>,
}

/// `[system]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SystemHeader {
    /// Name of the system.
    pub name: Spanned<String>,
    /// Board name, resolved to `boards/<board>/board.toml`.
    pub board: Spanned<String>,
}

/// `[kernel]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelOptions {
    /// What to trace: `"windows"`.
    #[serde(default)]
    pub trace: Vec<Spanned<String>>,
    /// Overrides the board's kernel code region.
    pub code: Option<Spanned<Placement>>,
    /// Overrides the board's kernel data region.
    pub data: Option<Spanned<Placement>>,
    /// Overrides the board's kernel stack size.
    pub stack_size: Option<Spanned<Size>>,
}

/// Where a region goes: a size, optionally a fixed base and a memory.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    /// Fixed first byte; placed automatically when absent.
    pub base: Option<Spanned<u64>>,
    /// Size in bytes.
    pub size: Spanned<Size>,
    /// Board memory to place it in; defaults per use.
    pub memory: Option<Spanned<String>>,
}

/// Fault policies as written.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FaultPolicy {
    /// Never run again.
    Halt,
    /// Restore and resume at the next window.
    Restart,
}

/// `[[partition]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// Unique name.
    pub name: Spanned<String>,
    /// The image: a crate of the workspace, or a prebuilt ELF.
    pub image: Spanned<Image>,
    /// `halt` or `restart`.
    pub fault_policy: Spanned<FaultPolicy>,
    /// Main (System mode) stack.
    pub stack_size: Option<Spanned<Size>>,
    /// Stack for each exception mode (SVC, ABT, UND, IRQ).
    pub exception_stack_size: Option<Spanned<Size>>,
    /// Code and read-only data (flash).
    pub code: Spanned<Placement>,
    /// Data, bss and stacks (RAM).
    pub data: Spanned<Placement>,
    /// Further private regions.
    #[serde(default)]
    pub regions: Vec<Spanned<Region>>,
    /// Board devices given to the partition.
    #[serde(default)]
    pub devices: Vec<Spanned<String>>,
    /// Interrupt ids (INTIDs) given to the partition, beyond its devices'.
    #[serde(default)]
    pub interrupts: Vec<Spanned<u32>>,
    /// Core the partition runs on (default: the core of the schedule its
    /// windows are in).
    pub core: Option<Spanned<u32>>,
    /// `[partition.health]`: the health monitor's actions, watchdog and
    /// restart limit beyond what `fault_policy` gives.
    pub health: Option<Spanned<Health>>,
}

/// `[partition.health]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// Watchdog deadline in partition time.
    pub watchdog: Option<Spanned<Duration>>,
    /// `{ restarts, frames, then? }`.
    pub restart_limit: Option<Spanned<RestartLimit>>,
    /// Error kind name to action name.
    pub actions: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
}

/// `restart_limit = { restarts, frames, then? }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestartLimit {
    /// Restarts allowed within `frames`.
    pub restarts: Spanned<i64>,
    /// The window, in major frames.
    pub frames: Spanned<i64>,
    /// The `restart-limit` action: `halt` (default) or `monitor`.
    pub then: Option<Spanned<String>>,
}

/// `image`: a crate name (`image = "demo-counter"`), or a prebuilt ELF
/// (`image = { elf = "guest.elf", build = "make" }`).
#[derive(Debug)]
pub enum Image {
    /// A binary crate of the workspace.
    Crate(String),
    /// An ELF file built some other way.
    Elf(PrebuiltElf),
}

/// A prebuilt ELF image.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrebuiltElf {
    /// The file, relative to the description's directory.
    pub elf: Spanned<String>,
    /// A shell command that makes it, run in the description's directory
    /// before the file is read.
    pub build: Option<Spanned<String>>,
}

impl<'de> Deserialize<'de> for Image {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Image, D::Error> {
        struct ImageVisitor;

        impl<'de> serde::de::Visitor<'de> for ImageVisitor {
            type Value = Image;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str(r#"a crate name, or a prebuilt ELF as { elf = "PATH", build = "COMMAND" }"#)
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Image, E> {
                Ok(Image::Crate(name.to_owned()))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Image, A::Error> {
                PrebuiltElf::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Image::Elf)
            }
        }

        deserializer.deserialize_any(ImageVisitor)
    }
}

/// A further region of a partition.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Region {
    /// Name, unique within the partition.
    pub name: Spanned<String>,
    /// Fixed first byte.
    pub base: Option<Spanned<u64>>,
    /// Size.
    pub size: Spanned<Size>,
    /// Board memory.
    pub memory: Option<Spanned<String>>,
    /// `r`, `rw`, `rx` or `rwx`.
    pub access: Spanned<String>,
    /// `normal` (default) or `non-cacheable`.
    pub memory_type: Option<Spanned<String>>,
    /// A warm restart keeps its contents; only a cold one clears it
    /// (default false). Writable regions only.
    pub noinit: Option<Spanned<bool>>,
}

/// `[[shared]]`: one region several partitions map.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shared {
    /// Unique name.
    pub name: Spanned<String>,
    /// Fixed first byte.
    pub base: Option<Spanned<u64>>,
    /// Size.
    pub size: Spanned<Size>,
    /// Board memory.
    pub memory: Option<Spanned<String>>,
    /// `partition = "r" | "rw"` for each partition that maps it.
    pub access: BTreeMap<Spanned<String>, Spanned<String>>,
    /// `normal` (default) or `non-cacheable`.
    pub memory_type: Option<Spanned<String>>,
}

/// `[[channel]]`: one writer partition's messages to reader partitions,
/// through one memory window (a shared region the writer maps `rw` and each
/// reader `r`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Channel {
    /// Unique name among channels and `[[shared]]` regions.
    pub name: Spanned<String>,
    /// `"sampling"` or `"queuing"`.
    pub kind: Spanned<String>,
    /// The partition that writes.
    pub writer: Spanned<String>,
    /// The partitions that read, in order: a reader's position is its index
    /// in the protocol.
    pub readers: Spanned<Vec<Spanned<String>>>,
    /// Largest message in bytes.
    pub message_size: Spanned<Size>,
    /// Queuing only: messages each reader's queue holds.
    pub depth: Option<Spanned<u32>>,
    /// Sampling only: age after which a message is stale.
    pub refresh: Option<Spanned<Duration>>,
    /// Readers get a virtual interrupt when the writer calls `PortNotify`
    /// (default false).
    pub notify: Option<Spanned<bool>>,
    /// Fixed first byte of the window.
    pub base: Option<Spanned<u64>>,
    /// Board memory of the window.
    pub memory: Option<Spanned<String>>,
    /// `normal` (default) or `non-cacheable`.
    pub memory_type: Option<Spanned<String>>,
}

/// `[[virtio]]`: one VIRTIO rpmsg link between a partition (the device) and
/// another processor (the driver).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Virtio {
    /// Unique name.
    pub name: Spanned<String>,
    /// The partition that is the device.
    pub partition: Spanned<String>,
    /// The shared window.
    pub window: Spanned<VirtioWindow>,
    /// Offset of the resource table in the window (default 0).
    pub resource_table: Option<Spanned<Size>>,
    /// The two vrings.
    pub vrings: Spanned<Vrings>,
    /// rpmsg services the partition announces.
    #[serde(default)]
    pub services: Vec<Spanned<Service>>,
    /// The doorbells.
    pub mailbox: Spanned<Mailbox>,
    /// A demo build: the tty service offers commands that let the other
    /// processor act on the island itself (`crash`). Default false.
    pub demo: Option<Spanned<bool>>,
}

/// The shared window of a VIRTIO link.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VirtioWindow {
    /// Fixed first byte (as the island sees it).
    pub base: Option<Spanned<u64>>,
    /// Size.
    pub size: Spanned<Size>,
    /// Board memory (one the other processor reaches).
    pub memory: Option<Spanned<String>>,
    /// The window's first byte as the other processor sees it, if different.
    pub remote_base: Option<Spanned<u64>>,
}

/// The vrings of a link.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vrings {
    /// Entries per ring (a power of two).
    pub num: Spanned<u32>,
    /// Alignment of each ring's used part (default 4K).
    pub align: Option<Spanned<Size>>,
    /// `"device"` (default: the generator places them after the table) or
    /// `"driver"` (the driver places them and writes their addresses back).
    pub placement: Option<Spanned<String>>,
}

/// An rpmsg service.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// `"tty"` or `"echo"`.
    pub kind: Spanned<String>,
    /// Name announced (defaults per kind).
    pub name: Option<Spanned<String>>,
    /// Endpoint address (default 1024 + position).
    pub address: Option<Spanned<u32>>,
}

/// The doorbells of a link.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mailbox {
    /// `"uart"`, `"nxp-mru"` or `"arm-mhuv2"`.
    pub driver: Spanned<String>,
    /// The device the partition is rung through (its interrupt).
    pub device: Spanned<String>,
    /// The device the partition rings the other side through (default:
    /// `device`).
    pub send_device: Option<Spanned<String>>,
    /// Channel within the mailbox (default 0).
    pub channel: Option<Spanned<u32>>,
    /// The interrupt that rings the partition (default: the device's first).
    pub interrupt: Option<Spanned<u32>>,
}

/// `[[schedule]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Core this schedule runs on (default 0). A core without a schedule
    /// stays parked.
    pub core: Option<Spanned<u32>>,
    /// Length of the major frame.
    pub major_frame: Spanned<Duration>,
    /// Windows in order.
    pub windows: Vec<Spanned<Window>>,
}

/// One window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Partition that owns it.
    pub partition: Spanned<String>,
    /// Its length.
    pub duration: Spanned<Duration>,
}

/// A board description (`boards/<name>/board.toml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardFile {
    /// `[board]`.
    pub board: BoardHeader,
    /// `[[memory]]`.
    pub memory: Vec<Spanned<Memory>>,
    /// `[kernel]`.
    pub kernel: BoardKernel,
    /// `[gic]`.
    pub gic: Gic,
    /// `[[device]]`.
    #[serde(default)]
    pub device: Vec<Spanned<Device>>,
}

/// `[board]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardHeader {
    /// Board name.
    pub name: Spanned<String>,
    /// One line for people.
    pub description: String,
    /// Number of Cortex-R52 cores.
    pub cores: Spanned<u32>,
    /// The cluster the kernel image runs on: `MPIDR` bits 8..23 (`Aff1`,
    /// and `Aff2` above it), 0 if absent. Cores `0..cores` are `Aff0`.
    pub cluster: Option<Spanned<u32>>,
    /// `CNTFRQ` in Hz.
    pub timer_hz: Spanned<u32>,
    /// EL2 MPU regions (`HMPUIR`).
    pub el2_mpu_regions: Spanned<u32>,
    /// EL1 MPU regions (`MPUIR`).
    pub el1_mpu_regions: Spanned<u32>,
    /// `true` when D16-D31 exist (MVFR0.SIMDReg = 2).
    pub fpu_d32: bool,
}

/// Memory kinds.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MemoryKind {
    /// Non-volatile, executable, read-only at run time.
    Flash,
    /// Read/write memory.
    Ram,
}

/// `[[memory]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    /// Name partitions refer to.
    pub name: Spanned<String>,
    /// First byte.
    pub base: Spanned<u64>,
    /// Size.
    pub size: Spanned<Size>,
    /// `flash` or `ram`.
    pub kind: MemoryKind,
}

/// The board's `[kernel]`: where the kernel lives and what it keeps.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardKernel {
    /// Kernel code region.
    pub code: Spanned<Placement>,
    /// Kernel data region (data, bss, stack).
    pub data: Spanned<Placement>,
    /// Kernel stack per core.
    pub stack_size: Spanned<Size>,
    /// Device the kernel logs on.
    pub console: Spanned<String>,
    /// The driver that serves it: `"cmsdk-uart"` or `"nxp-linflexd"`.
    pub console_driver: Spanned<String>,
    /// The console device's module clock in Hz (`nxp-linflexd`).
    pub console_clock_hz: Option<Spanned<u32>>,
    /// The console's rate in baud (`nxp-linflexd`).
    pub console_baud: Option<Spanned<u32>>,
    /// Interrupt ids the kernel keeps.
    pub interrupts: Vec<Spanned<u32>>,
}

/// `[gic]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gic {
    /// Distributor base.
    pub distributor: Spanned<u64>,
    /// Distributor frame size.
    pub distributor_size: Spanned<Size>,
    /// First redistributor base.
    pub redistributor: Spanned<u64>,
    /// Distance between redistributors (core n's is at `redistributor + n *
    /// redistributor_stride`).
    pub redistributor_stride: Spanned<Size>,
    /// Number of interrupt ids (SGI + PPI + SPI).
    pub interrupts: Spanned<u32>,
}

/// `[[device]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// Name partitions refer to.
    pub name: Spanned<String>,
    /// Register frame base.
    pub base: Spanned<u64>,
    /// Register frame size.
    pub size: Spanned<Size>,
    /// Interrupt ids it raises.
    #[serde(default)]
    pub interrupts: Vec<u32>,
    /// Those of its SPIs whose signal is a pulse (edge-triggered); the
    /// others are level-sensitive. The kernel configures them at boot.
    #[serde(default)]
    pub edge_triggered: Vec<Spanned<u32>>,
    /// One line for people.
    pub description: String,
    /// `true` for per-core devices (each core sees its own at this address).
    #[serde(default)]
    pub per_core: bool,
    /// Set for a device that acts on the whole chip (a watchdog that resets
    /// it, reset, clock or power control): what it can do, in a few words.
    /// Such a device is never given to a partition.
    pub chip_wide: Option<String>,
    /// Set for a UART: its serial port number, the board's UART numbering
    /// (QEMU's `-serial` arguments connect ports 0, 1, 2, ... in order).
    /// A per-core UART may list one per core (`serial = [0, 1]`).
    pub serial: Option<Spanned<Serial>>,
}

/// A device's `serial`: one port, or (for a per-core device) one per core.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Serial {
    /// `serial = 2`: the port (a per-core device's: core 0's).
    One(u8),
    /// `serial = [0, 1]`: the port of each core's instance, by core.
    PerCore(Vec<u8>),
}

impl Serial {
    /// Every port it names.
    pub fn ports(&self) -> Vec<u8> {
        match self {
            Serial::One(port) => vec![*port],
            Serial::PerCore(ports) => ports.clone(),
        }
    }
}
