//! The shape of the kernel's build-time tables.
//!
//! `bulkhead-sysgen` turns a system description into one `static SYSTEM:
//! SystemDesc` of these types, which the kernel `include!`s. The tables are
//! immutable, live in flash, and are complete: the kernel never parses or
//! allocates anything at run time. Each entry documents the description element
//! it came from in the generated source.
//!
//! Every property the kernel relies on (windows tile the major frame, region
//! counts fit the MPU) is asserted by [`SystemDesc::check`], which the generated
//! code evaluates in a `const` so a violated invariant fails the build.

use bulkhead_mpu::EncodedRegion;

/// Index of a partition in [`SystemDesc::partitions`]; also its id in the ABI.
pub type PartitionId = u8;

/// Number of EL2 MPU regions the kernel keeps enabled at all times, in the
/// lowest slots. Partition regions use the slots above.
pub const KERNEL_REGION_SLOTS: usize = 4;

/// Upper bound of EL2 MPU regions on any supported board.
pub const MAX_EL2_REGIONS: usize = 16;

/// Upper bound of regions one partition may have: what the MPU leaves after
/// the kernel's slots.
pub const MAX_PARTITION_REGIONS: usize = MAX_EL2_REGIONS - KERNEL_REGION_SLOTS;

pub use bulkhead_abi::health::{ERROR_KINDS, ErrorKind, HealthAction};

/// "Restart at most `restarts` times within `frames` major frames".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartLimit {
    /// Restarts allowed in the window (1 ..= `health::MAX_RESTART_LIMIT`).
    pub restarts: u8,
    /// The window, in major frames of the partition's core (at least 1).
    pub frames: u32,
}

/// A partition's health-monitor configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthDesc {
    /// The action for each [`ErrorKind`], indexed by its number.
    pub actions: [HealthAction; ERROR_KINDS],
    /// Watchdog deadline in ticks of partition time; 0: no watchdog.
    pub watchdog: u64,
    /// The restart limit, if any: a restart past it is a `restart-limit`
    /// error.
    pub restart_limit: Option<RestartLimit>,
}

impl HealthDesc {
    /// The action for `kind`.
    pub const fn action(&self, kind: ErrorKind) -> HealthAction {
        self.actions[kind as usize]
    }

    /// A configuration with `action` for every stopping error, `log` for
    /// the others, `halt` at the (absent) restart limit and no watchdog:
    /// what a description with only `fault_policy` gets.
    pub const fn uniform(action: HealthAction) -> HealthDesc {
        let mut actions = [action; ERROR_KINDS];
        actions[ErrorKind::Watchdog as usize] = action;
        actions[ErrorKind::PortOverflow as usize] = HealthAction::Log;
        actions[ErrorKind::RestartLimit as usize] = HealthAction::Halt;
        HealthDesc { actions, watchdog: 0, restart_limit: None }
    }

    /// The rules the kernel relies on: `log` only for errors a partition
    /// can go on after, `halt` or `monitor` at the restart limit, `monitor`
    /// only with a monitor, a restart limit of 1 ..= 16 restarts in at
    /// least one frame.
    pub const fn check(&self, has_monitor: bool) -> bool {
        let mut k = 0;
        while k < ERROR_KINDS {
            let kind = ErrorKind::ALL[k];
            let action = self.actions[k];
            if matches!(action, HealthAction::Log) && !kind.can_continue() {
                return false;
            }
            if matches!(action, HealthAction::Monitor) && !has_monitor {
                return false;
            }
            k += 1;
        }
        if !matches!(self.action(ErrorKind::RestartLimit), HealthAction::Halt | HealthAction::Monitor) {
            return false;
        }
        match self.restart_limit {
            Some(limit) => {
                limit.restarts >= 1 && limit.restarts <= crate::health::MAX_RESTART_LIMIT && limit.frames >= 1
            }
            None => true,
        }
    }
}

/// A private RAM range a restart clears (zeroes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClearRange {
    /// First byte (word-aligned).
    pub base: u32,
    /// Bytes (a multiple of 4).
    pub size: u32,
    /// A warm restart keeps it (a `noinit` region, or the stacks of the
    /// data region): only a cold restart clears it.
    pub keep_warm: bool,
}

/// A byte range a partition may name in a hypercall, with what the kernel may
/// do there on its behalf. Devices are never grants: the kernel does not read
/// or write a device because a partition asked it to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryGrant {
    /// First byte.
    pub base: u32,
    /// Last byte, inclusive.
    pub limit: u32,
    /// The partition may read it.
    pub read: bool,
    /// The partition may write it.
    pub write: bool,
    /// The partition may execute it.
    pub execute: bool,
}

/// Initial contents of a partition's RAM, restored at boot and on restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImageInit {
    /// Where `.data` lives at run time (first byte).
    pub data_start: u32,
    /// One past the last byte of `.data`.
    pub data_end: u32,
    /// Where the pristine copy of `.data` lives in the partition's code region.
    pub data_load: u32,
    /// First byte of `.bss`.
    pub bss_start: u32,
    /// One past the last byte of `.bss`.
    pub bss_end: u32,
}

/// One block of 32 interrupt ids (a word of the GIC's one-bit-per-interrupt
/// registers: `ISENABLER<word>`, `ICPENDR<word>`, ...) and which of its SPIs
/// a partition owns. The kernel masks, unmasks and quiesces a partition's
/// SPIs a word at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpiWord {
    /// Word index: interrupt ids `32 * word ..= 32 * word + 31`.
    pub word: u8,
    /// Bit n: the partition owns interrupt `32 * word + n`.
    pub owned: u32,
    /// The slot (index in the partition's sorted `interrupts`) of the
    /// lowest of them: the word's interrupts hold consecutive slots from
    /// here, in bit order, which lets the virtual GIC turn a register word
    /// into slot bits without a search.
    pub first_slot: u8,
}

impl SpiWord {
    /// The SPI words of a sorted interrupt list, in word order (what
    /// `bulkhead-sysgen` emits and [`SystemDesc::check`] accepts).
    pub fn of(interrupts: &[u16]) -> impl Iterator<Item = SpiWord> + '_ {
        let mut at = 0;
        core::iter::from_fn(move || {
            while interrupts.get(at).is_some_and(|intid| *intid < 32) {
                at += 1;
            }
            let first = *interrupts.get(at)?;
            let word = first / 32;
            let mut owned = 0u32;
            let first_slot = at as u8;
            while let Some(&intid) = interrupts.get(at).filter(|intid| **intid / 32 == word) {
                owned |= 1 << (intid % 32);
                at += 1;
            }
            Some(SpiWord { word: word as u8, owned, first_slot })
        })
    }
}

/// One partition, as the system description and its linked image define it.
#[derive(Clone, Copy, Debug)]
pub struct PartitionDesc {
    /// Name from the description, used in every log line about it.
    pub name: &'static str,
    /// Entry point (ELF entry of its image).
    pub entry: u32,
    /// Stack pointer at entry: the top of its data region.
    pub initial_sp: u32,
    /// EL2 MPU regions, loaded into the slots above the kernel's while it runs.
    pub regions: &'static [EncodedRegion],
    /// Memory a hypercall may name (code, data, extra and shared regions).
    pub grants: &'static [MemoryGrant],
    /// Interrupt ids the partition owns, sorted: its devices', its explicit
    /// ones, and the virtual timer's. An interrupt's position here is its
    /// *slot*, the index of its state in the partition's virtual GIC.
    pub interrupts: &'static [u16],
    /// The slot of the virtual timer (PPI 27) in `interrupts`.
    pub timer_slot: u8,
    /// Its SPIs (the interrupts of `interrupts` from 32 on), by word, in
    /// increasing word order.
    pub spis: &'static [SpiWord],
    /// RAM contents to restore.
    pub init: ImageInit,
    /// What the health monitor does about each error.
    pub health: HealthDesc,
    /// Private RAM a restart clears beyond `.bss`, in address order.
    pub clears: &'static [ClearRange],
    /// The core it runs on (it never runs on another): an index of
    /// [`SystemDesc::cores`].
    pub core: u8,
}

/// The kind of an inter-partition channel (`[[channel]]` in the description;
/// the protocols are `bulkhead-ports`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelKind {
    /// The latest value, single writer, many readers.
    Sampling,
    /// A FIFO of messages: one ring of `depth` slots per reader.
    Queuing {
        /// Slots per reader's ring.
        depth: u32,
    },
}

/// One reader of a channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelReader {
    /// Who reads.
    pub partition: PartitionId,
    /// The virtual interrupt (an SGI, 0..=15, in the reader's
    /// `interrupts`) the writer's `PortNotify` raises in it, if the channel
    /// notifies.
    pub notify: Option<u16>,
    /// The position of `notify` in the reader's `interrupts` (its slot in
    /// the reader's virtual GIC), so raising it needs no search; 0 when
    /// the channel does not notify.
    pub slot: u8,
}

/// One channel: a memory window the writer maps read/write and each reader
/// read-only (both through ordinary regions in their [`PartitionDesc`]s).
/// The kernel needs it for three things only: zeroing the window at boot,
/// `QueueAck` (writing a reader's `consumed` count, which the reader cannot)
/// and `PortNotify`.
#[derive(Clone, Copy, Debug)]
pub struct ChannelDesc {
    /// Name from the description.
    pub name: &'static str,
    /// Sampling or queuing.
    pub kind: ChannelKind,
    /// Largest message in bytes.
    pub message_size: u32,
    /// First byte of the window.
    pub base: u32,
    /// Its size in bytes (what the protocol needs, at most the region's).
    pub size: u32,
    /// Who writes.
    pub writer: PartitionId,
    /// Who reads, in the description's order: a reader's position here is
    /// its index in the protocol (its ring, for queuing).
    pub readers: &'static [ChannelReader],
}

/// One window of the cyclic schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowDesc {
    /// Who runs; `None` for an idle gap (the rest of the major frame).
    pub partition: Option<PartitionId>,
    /// Start, in counter ticks from the start of the major frame.
    pub offset: u64,
    /// Length in counter ticks.
    pub duration: u64,
}

/// The cyclic schedule of one core.
#[derive(Clone, Copy, Debug)]
pub struct ScheduleDesc {
    /// Length of the major frame in counter ticks.
    pub major_frame: u64,
    /// Windows in order. They tile the frame exactly: the generator adds an
    /// idle window for any time the description leaves unassigned.
    pub windows: &'static [WindowDesc],
}

/// One core: its schedule, the partitions pinned to it and where its
/// interrupts go.
///
/// Partition ids are numbered core by core, so a core's partitions are the
/// ids `first_partition..first_partition + partition_count`: each core's
/// kernel keeps the run-time state of exactly those, in one array indexed
/// by `id - first_partition`, and never touches anyone else's.
#[derive(Clone, Copy, Debug)]
pub struct CoreDesc {
    /// Its cyclic schedule; `None` for a core the system does not use,
    /// which stays parked.
    pub schedule: Option<ScheduleDesc>,
    /// Its first partition's id.
    pub first_partition: PartitionId,
    /// How many partitions it runs.
    pub partition_count: u8,
    /// Route of each interrupt id as this core sees it
    /// ([`InterruptRoute::NONE`] for the kernel's, nobody's and other
    /// cores' partitions'). SGIs and PPIs are the core's own; an SPI is in
    /// the table of the one core it is routed to. The virtual timer is not
    /// here: every partition has its own ([`PartitionDesc::timer_slot`]).
    pub interrupt_routes: &'static [InterruptRoute],
}

impl CoreDesc {
    /// A parked core: no schedule, no partitions, no interrupts.
    pub const PARKED: CoreDesc =
        CoreDesc { schedule: None, first_partition: 0, partition_count: 0, interrupt_routes: &[] };

    /// Whether partition `id` is one of this core's.
    pub const fn runs(&self, id: PartitionId) -> bool {
        (id as usize) >= self.first_partition as usize
            && (id as usize) < self.first_partition as usize + self.partition_count as usize
    }
}

/// What the kernel reports beyond faults and partition output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceFlags {
    /// Log every window start with its scheduled and observed tick.
    pub windows: bool,
    /// Log every partition interrupt: arrival at EL2 and delivery.
    pub interrupts: bool,
}

/// Owner value in an [`InterruptRoute`] for interrupts no partition owns.
pub const NO_OWNER: u8 = u8::MAX;

/// Where a physical interrupt goes: the partition that owns it and its slot
/// there (its position in [`PartitionDesc::interrupts`]), so delivering it
/// needs no search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterruptRoute {
    /// Owning partition, or [`NO_OWNER`].
    pub owner: u8,
    /// Slot in the owner's interrupt list.
    pub slot: u8,
}

impl InterruptRoute {
    /// The route of an interrupt no partition owns (the kernel's or nobody's).
    pub const NONE: InterruptRoute = InterruptRoute { owner: NO_OWNER, slot: 0 };

    /// The owner and slot, if a partition owns the interrupt.
    pub const fn target(self) -> Option<(PartitionId, usize)> {
        if self.owner == NO_OWNER { None } else { Some((self.owner, self.slot as usize)) }
    }
}

/// Board facts the kernel needs at run time.
#[derive(Clone, Copy, Debug)]
pub struct BoardDesc {
    /// Name of the board (`boards/<name>/board.toml`).
    pub name: &'static str,
    /// Base of the kernel console UART (CMSDK APB UART).
    pub console_base: usize,
    /// Base of the GIC distributor.
    pub gicd_base: usize,
    /// Base of the first GIC redistributor.
    pub gicr_base: usize,
    /// Number of cores (and redistributors).
    pub cores: usize,
    /// The cluster's `MPIDR` affinity (`Aff2.Aff1`, bits 8..23 in place):
    /// core `n` of the table is the core whose `MPIDR` affinity is this
    /// plus `n`. A core of another cluster never runs this image.
    pub cluster_affinity: u32,
    /// EL2 MPU regions the tables may use (`board.toml`; checked against
    /// `HMPUIR` at boot, `board_check`).
    pub el2_mpu_regions: u8,
    /// EL1 MPU regions (checked against `MPUIR` at boot).
    pub el1_mpu_regions: u8,
}

impl BoardDesc {
    /// The table's core number of the core whose `MPIDR` is `mpidr`, if it
    /// is one of this image's cores (this cluster, `Aff0 < cores`): the
    /// rule the kernel's reset entry (`_start` in its `smp` module) carries
    /// out in assembly before any core touches memory.
    pub const fn core_of(&self, mpidr: u32) -> Option<usize> {
        let core = (mpidr & 0xFF) as usize;
        if mpidr & CLUSTER_AFFINITY_MASK == self.cluster_affinity && core < self.cores { Some(core) } else { None }
    }

    /// Core `core`'s affinity as `GICD_IROUTER` takes it (`Aff2.Aff1.Aff0`
    /// in bits 0..23, `Aff3` 0).
    pub const fn irouter_affinity(&self, core: usize) -> u64 {
        (self.cluster_affinity | (core as u32 & 0xFF)) as u64
    }

    /// The `ICC_SGI1R` value that raises SGI `intid` on core `core` alone:
    /// `TargetList` bit `Aff0`, `Aff1` in bits 16..23, `INTID` in 24..27,
    /// `Aff2` in 32..39, `IRM` 0.
    pub const fn sgi1r(&self, intid: u16, core: usize) -> u64 {
        let aff1 = ((self.cluster_affinity >> 8) & 0xFF) as u64;
        let aff2 = ((self.cluster_affinity >> 16) & 0xFF) as u64;
        (aff2 << 32) | (((intid & 0xF) as u64) << 24) | (aff1 << 16) | (1u64 << (core & 0xF))
    }
}

/// `MPIDR`'s cluster bits: `Aff1` and `Aff2`.
pub const CLUSTER_AFFINITY_MASK: u32 = 0x00FF_FF00;

/// The whole system, as the kernel sees it.
#[derive(Clone, Copy, Debug)]
pub struct SystemDesc {
    /// Name of the system description.
    pub name: &'static str,
    /// Board facts.
    pub board: BoardDesc,
    /// Generic timer frequency in Hz (`CNTFRQ`), from the board.
    pub timer_hz: u32,
    /// Regions the kernel keeps enabled in slots `0..KERNEL_REGION_SLOTS`.
    pub kernel_regions: [EncodedRegion; KERNEL_REGION_SLOTS],
    /// Partitions, indexed by [`PartitionId`], core by core.
    pub partitions: &'static [PartitionDesc],
    /// Every core of the board, indexed by core number (`MPIDR.Aff0`).
    pub cores: &'static [CoreDesc],
    /// Inter-partition channels, indexed by channel id (the ABI's handle).
    pub channels: &'static [ChannelDesc],
    /// Trace output.
    pub trace: TraceFlags,
    /// The monitor partition, if the description grants one.
    pub monitor: Option<MonitorDesc>,
    /// The owned SPIs the board says are edge-triggered (sorted). Core 0
    /// configures them so at boot and every other owned SPI level-sensitive;
    /// no partition ever changes a physical trigger (a `GICD_ICFGR` word
    /// holds 16 SPIs, possibly of partitions on different cores, and has no
    /// set/clear form: a read-modify-write from one core could undo the
    /// other's). A partition's virtual distributor reads these back after
    /// reset and keeps what the partition writes.
    pub edge_spis: &'static [u16],
}

/// The monitor partition: it reads every core's error log and may
/// restart, halt or resume other partitions (the privileged hypercalls).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonitorDesc {
    /// Who.
    pub partition: PartitionId,
    /// The virtual interrupt (an SGI it owns) raised in it when a
    /// partition's action is `monitor`, if any.
    pub notify: Option<u16>,
}

/// A broken table invariant, named for the compile-time error message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableError {
    /// No partitions.
    NoPartitions,
    /// More partitions than a [`PartitionId`] can name.
    TooManyPartitions,
    /// A partition has more regions than the MPU slots left for it.
    TooManyRegions,
    /// A region slot is not enabled.
    DisabledRegion,
    /// A window names a partition that does not exist.
    UnknownPartition,
    /// Windows do not tile the major frame.
    WindowsDoNotTile,
    /// A window of zero length.
    EmptyWindow,
    /// A partition has no window.
    PartitionWithoutWindow,
    /// The `.data`/`.bss` ranges are inverted or not word-aligned.
    BadImageInit,
    /// A partition's interrupt list is unsorted, too long, or disagrees with
    /// the owner table.
    BadInterrupts,
    /// The cores' partition ranges do not number the partitions core by
    /// core, a partition's `core` disagrees with them, or a core with
    /// partitions has no schedule.
    BadCores,
    /// No core has a schedule, or more cores than the board has.
    NoCores,
    /// A channel names an unknown partition, has no reader, a reader twice
    /// or the writer as a reader, a window smaller than its protocol needs,
    /// or a notify interrupt that is not an SGI its reader owns.
    BadChannel,
    /// A partition's health configuration breaks [`HealthDesc::check`], a
    /// clear range is unaligned, or the monitor is unknown or its notify
    /// is not an SGI it owns.
    BadHealth,
}

impl TableError {
    /// Message for `const` panics.
    pub const fn reason(self) -> &'static str {
        match self {
            TableError::NoPartitions => "system has no partitions",
            TableError::TooManyPartitions => "more than 255 partitions",
            TableError::TooManyRegions => "partition has more regions than MPU slots",
            TableError::DisabledRegion => "partition region slot not enabled",
            TableError::UnknownPartition => "window names an unknown partition, or one of another core",
            TableError::WindowsDoNotTile => "windows do not tile the major frame",
            TableError::EmptyWindow => "window of zero length",
            TableError::PartitionWithoutWindow => "partition has no window",
            TableError::BadImageInit => "partition .data/.bss range inverted or not word-aligned",
            TableError::BadInterrupts => {
                "partition interrupts unsorted, too many, without the virtual timer, or not matching the route table; or edge SPIs unsorted"
            }
            TableError::BadCores => {
                "partition ids not numbered core by core, a partition's core disagreeing, or a core with partitions but no schedule"
            }
            TableError::NoCores => "no core has a schedule, or more cores than the board",
            TableError::BadChannel => {
                "channel with an unknown partition, no reader, a repeated reader, a window too small, or a bad notify interrupt"
            }
            TableError::BadHealth => {
                "health: log for a stopping error, a bad restart limit, monitor without a monitor, an unaligned clear range, or a bad monitor"
            }
        }
    }
}

impl SystemDesc {
    /// Checks every invariant the kernel relies on.
    pub const fn check(&self) -> Result<(), TableError> {
        let partitions = self.partitions;
        if partitions.is_empty() {
            return Err(TableError::NoPartitions);
        }
        if partitions.len() > PartitionId::MAX as usize {
            return Err(TableError::TooManyPartitions);
        }
        if let Err(error) = self.check_cores() {
            return Err(error);
        }
        let mut p = 0;
        while p < partitions.len() {
            let desc = &partitions[p];
            let routes = self.cores[desc.core as usize].interrupt_routes;
            if desc.regions.len() > MAX_PARTITION_REGIONS {
                return Err(TableError::TooManyRegions);
            }
            let mut r = 0;
            while r < desc.regions.len() {
                if !desc.regions[r].is_enabled() {
                    return Err(TableError::DisabledRegion);
                }
                r += 1;
            }
            let interrupts = desc.interrupts;
            if interrupts.len() > crate::vgic::MAX_OWNED {
                return Err(TableError::BadInterrupts);
            }
            let mut i = 0;
            while i < interrupts.len() {
                let intid = interrupts[i];
                let sorted = i == 0 || interrupts[i - 1] < intid;
                let routed = if intid == crate::vgic::VIRTUAL_TIMER {
                    desc.timer_slot as usize == i
                } else if intid < crate::vgic::FIRST_PPI {
                    // An SGI a partition owns is virtual only: the kernel
                    // raises it (a channel's notify); nothing routes it.
                    true
                } else {
                    (intid as usize) < routes.len() && {
                        let route = routes[intid as usize];
                        route.owner as usize == p && route.slot as usize == i
                    }
                };
                if !sorted || !routed {
                    return Err(TableError::BadInterrupts);
                }
                i += 1;
            }
            let timer = desc.timer_slot as usize;
            if timer >= interrupts.len() || interrupts[timer] != crate::vgic::VIRTUAL_TIMER {
                return Err(TableError::BadInterrupts);
            }
            // `spis` holds exactly the SPIs of `interrupts`, word by word.
            let mut spi_count = 0;
            let mut w = 0;
            while w < desc.spis.len() {
                let word = desc.spis[w];
                if word.owned == 0 || word.word == 0 || (w > 0 && desc.spis[w - 1].word >= word.word) {
                    return Err(TableError::BadInterrupts);
                }
                // Its first slot holds its lowest interrupt.
                let lowest = word.word as u16 * 32 + word.owned.trailing_zeros() as u16;
                let slot = word.first_slot as usize;
                if slot >= interrupts.len() || interrupts[slot] != lowest {
                    return Err(TableError::BadInterrupts);
                }
                let mut bit = 0;
                while bit < 32 {
                    if word.owned & (1 << bit) != 0 {
                        let intid = word.word as u16 * 32 + bit;
                        let mut found = false;
                        let mut k = 0;
                        while k < interrupts.len() {
                            found |= interrupts[k] == intid;
                            k += 1;
                        }
                        if !found {
                            return Err(TableError::BadInterrupts);
                        }
                        spi_count += 1;
                    }
                    bit += 1;
                }
                w += 1;
            }
            let mut k = 0;
            while k < interrupts.len() {
                if interrupts[k] >= crate::vgic::FIRST_SPI {
                    spi_count -= 1;
                }
                k += 1;
            }
            if spi_count != 0 {
                return Err(TableError::BadInterrupts);
            }
            let init = &desc.init;
            let words = init.data_start | init.data_end | init.data_load | init.bss_start | init.bss_end;
            if init.data_end < init.data_start || init.bss_end < init.bss_start || !words.is_multiple_of(4) {
                return Err(TableError::BadImageInit);
            }
            p += 1;
        }
        let mut c = 0;
        while c < self.cores.len() {
            if let Err(error) = self.check_schedule(c) {
                return Err(error);
            }
            c += 1;
        }
        if let Err(error) = self.check_channels() {
            return Err(error);
        }
        self.check_health()
    }

    /// The health configuration: every partition's [`HealthDesc::check`],
    /// word-aligned clear ranges, and a monitor that exists, with a notify
    /// SGI it owns.
    const fn check_health(&self) -> Result<(), TableError> {
        let has_monitor = self.monitor.is_some();
        if let Some(monitor) = self.monitor {
            if monitor.partition as usize >= self.partitions.len() {
                return Err(TableError::BadHealth);
            }
            if let Some(intid) = monitor.notify {
                let owned = self.partitions[monitor.partition as usize].interrupts;
                let mut found = false;
                let mut k = 0;
                while k < owned.len() {
                    found |= owned[k] == intid;
                    k += 1;
                }
                if intid >= crate::vgic::FIRST_PPI || !found {
                    return Err(TableError::BadHealth);
                }
            }
        }
        let mut p = 0;
        while p < self.partitions.len() {
            let desc = &self.partitions[p];
            if !desc.health.check(has_monitor) {
                return Err(TableError::BadHealth);
            }
            let mut c = 0;
            while c < desc.clears.len() {
                let clear = desc.clears[c];
                if !(clear.base | clear.size).is_multiple_of(4) || clear.base.checked_add(clear.size).is_none() {
                    return Err(TableError::BadHealth);
                }
                c += 1;
            }
            p += 1;
        }
        let mut e = 0;
        while e < self.edge_spis.len() {
            if self.edge_spis[e] < crate::vgic::FIRST_SPI || (e > 0 && self.edge_spis[e - 1] >= self.edge_spis[e]) {
                return Err(TableError::BadInterrupts);
            }
            e += 1;
        }
        Ok(())
    }

    /// The channels: known partitions, at least one reader, no reader twice
    /// nor the writer among them, a window as large as the protocol's
    /// layout, and each notify an SGI its reader owns.
    const fn check_channels(&self) -> Result<(), TableError> {
        let mut c = 0;
        while c < self.channels.len() {
            let channel = &self.channels[c];
            let readers = channel.readers;
            let needed = match channel.kind {
                ChannelKind::Sampling => {
                    match bulkhead_ports::layout::check_sampling(channel.message_size, readers.len() as u32) {
                        Ok(()) => bulkhead_ports::layout::sampling_window_size(channel.message_size),
                        Err(_) => return Err(TableError::BadChannel),
                    }
                }
                ChannelKind::Queuing { depth } => {
                    match bulkhead_ports::layout::check_queuing(channel.message_size, depth, readers.len() as u32) {
                        Ok(()) => bulkhead_ports::layout::queuing_window_size(
                            channel.message_size,
                            depth,
                            readers.len() as u32,
                        ),
                        Err(_) => return Err(TableError::BadChannel),
                    }
                }
            };
            if channel.size < needed || channel.writer as usize >= self.partitions.len() {
                return Err(TableError::BadChannel);
            }
            let mut r = 0;
            while r < readers.len() {
                let reader = readers[r];
                if reader.partition as usize >= self.partitions.len() || reader.partition == channel.writer {
                    return Err(TableError::BadChannel);
                }
                let mut q = 0;
                while q < r {
                    if readers[q].partition == reader.partition {
                        return Err(TableError::BadChannel);
                    }
                    q += 1;
                }
                if let Some(intid) = reader.notify {
                    let owned = self.partitions[reader.partition as usize].interrupts;
                    let mut found = false;
                    let mut k = 0;
                    while k < owned.len() {
                        found |= owned[k] == intid;
                        k += 1;
                    }
                    let slot = reader.slot as usize;
                    if intid >= crate::vgic::FIRST_PPI || !found || slot >= owned.len() || owned[slot] != intid {
                        return Err(TableError::BadChannel);
                    }
                }
                r += 1;
            }
            c += 1;
        }
        Ok(())
    }

    /// The cores: at least one scheduled, no more than the board has, their
    /// partition ranges numbering the partitions core by core, each
    /// partition's `core` naming the range it is in, and every route of a
    /// core naming one of that core's partitions.
    const fn check_cores(&self) -> Result<(), TableError> {
        let cores = self.cores;
        if cores.is_empty() || cores.len() > self.board.cores {
            return Err(TableError::NoCores);
        }
        let mut scheduled = false;
        let mut next = 0usize;
        let mut c = 0;
        while c < cores.len() {
            let core = &cores[c];
            scheduled |= core.schedule.is_some();
            if core.partition_count != 0 && (core.schedule.is_none() || core.first_partition as usize != next) {
                return Err(TableError::BadCores);
            }
            next += core.partition_count as usize;
            let mut p = core.first_partition as usize;
            while p < core.first_partition as usize + core.partition_count as usize {
                if p >= self.partitions.len() || self.partitions[p].core as usize != c {
                    return Err(TableError::BadCores);
                }
                p += 1;
            }
            let mut i = 0;
            while i < core.interrupt_routes.len() {
                let owner = core.interrupt_routes[i].owner;
                if owner != NO_OWNER && !core.runs(owner) {
                    return Err(TableError::BadInterrupts);
                }
                i += 1;
            }
            c += 1;
        }
        if !scheduled {
            return Err(TableError::NoCores);
        }
        if next != self.partitions.len() {
            return Err(TableError::BadCores);
        }
        Ok(())
    }

    /// Core `c`'s schedule: windows that tile its frame, each naming one of
    /// its partitions or none, and a window for each of its partitions.
    const fn check_schedule(&self, c: usize) -> Result<(), TableError> {
        let core = &self.cores[c];
        let Some(schedule) = &core.schedule else { return Ok(()) };
        let windows = schedule.windows;
        let mut next_offset = 0u64;
        let mut w = 0;
        while w < windows.len() {
            let window = &windows[w];
            if window.duration == 0 {
                return Err(TableError::EmptyWindow);
            }
            if window.offset != next_offset {
                return Err(TableError::WindowsDoNotTile);
            }
            if let Some(id) = window.partition
                && !core.runs(id)
            {
                return Err(TableError::UnknownPartition);
            }
            next_offset = window.offset + window.duration;
            w += 1;
        }
        if windows.is_empty() || next_offset != schedule.major_frame {
            return Err(TableError::WindowsDoNotTile);
        }
        let mut p = core.first_partition as usize;
        while p < core.first_partition as usize + core.partition_count as usize {
            let mut has_window = false;
            let mut w = 0;
            while w < windows.len() {
                if let Some(id) = windows[w].partition
                    && id as usize == p
                {
                    has_window = true;
                }
                w += 1;
            }
            if !has_window {
                return Err(TableError::PartitionWithoutWindow);
            }
            p += 1;
        }
        Ok(())
    }

    /// [`SystemDesc::check`] for a `const` item: fails compilation on error.
    pub const fn assert_valid(&self) {
        if let Err(error) = self.check() {
            panic!("{}", error.reason());
        }
    }

    /// The partition with this id, if any.
    pub fn partition(&self, id: PartitionId) -> Option<&'static PartitionDesc> {
        self.partitions.get(id as usize)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const NO_INIT: ImageInit =
        ImageInit { data_start: 0, data_end: 0, data_load: 0, bss_start: 0, bss_end: 0 };

    pub(crate) const fn partition(name: &'static str) -> PartitionDesc {
        PartitionDesc {
            name,
            entry: 0x0810_0000,
            initial_sp: 0x1001_0000,
            regions: &[],
            grants: &[],
            interrupts: &[crate::vgic::VIRTUAL_TIMER],
            timer_slot: 0,
            spis: &[],
            init: NO_INIT,
            health: HealthDesc::uniform(HealthAction::Halt),
            clears: &[],
            core: 0,
        }
    }

    pub(crate) const TWO: [PartitionDesc; 2] = [partition("a"), partition("b")];

    /// Core 0 running partitions 0 and 1 with this schedule and routes.
    pub(crate) const fn core(
        windows: &'static [WindowDesc],
        major_frame: u64,
        interrupt_routes: &'static [InterruptRoute],
    ) -> CoreDesc {
        CoreDesc {
            schedule: Some(ScheduleDesc { major_frame, windows }),
            first_partition: 0,
            partition_count: 2,
            interrupt_routes,
        }
    }

    /// A system of partitions `a` and `b` on core 0 of a 2-core board.
    pub(crate) const fn system(cores: &'static [CoreDesc]) -> SystemDesc {
        SystemDesc {
            name: "test",
            board: BoardDesc {
                name: "test",
                console_base: 0,
                gicd_base: 0,
                gicr_base: 0,
                cores: 2,
                cluster_affinity: 0,
                el2_mpu_regions: 16,
                el1_mpu_regions: 16,
            },
            timer_hz: 62_500_000,
            kernel_regions: [EncodedRegion::DISABLED; KERNEL_REGION_SLOTS],
            partitions: &TWO,
            cores,
            channels: &[],
            trace: TraceFlags { windows: false, interrupts: false },
            monitor: None,
            edge_spis: &[],
        }
    }

    const fn w(partition: Option<PartitionId>, offset: u64, duration: u64) -> WindowDesc {
        WindowDesc { partition, offset, duration }
    }

    /// The system of [`system`] with core 0 running `windows`.
    macro_rules! on_core0 {
        ($windows:ident, $frame:expr) => {{
            static CORES: [CoreDesc; 1] = [core(&$windows, $frame, &[])];
            system(&CORES)
        }};
    }

    fn board(cores: usize, cluster_affinity: u32) -> BoardDesc {
        BoardDesc {
            name: "b",
            console_base: 0,
            gicd_base: 0,
            gicr_base: 0,
            cores,
            cluster_affinity,
            el2_mpu_regions: 16,
            el1_mpu_regions: 16,
        }
    }

    #[test]
    fn only_this_clusters_cores_are_numbered() {
        // AN536: one cluster, affinity 0; MPIDR has M (bit 31) set.
        let an536 = board(2, 0);
        assert_eq!(an536.core_of(0x8000_0000), Some(0));
        assert_eq!(an536.core_of(0x8000_0001), Some(1));
        assert_eq!(an536.core_of(0x8000_0002), None, "beyond the board's cores");
        assert_eq!(an536.core_of(0x8000_0100), None, "cluster 1 is not this image's");
        // Stellar cluster 1 (Aff1 = 1), Versal Gen 2 cluster C (Aff1 = 2),
        // and an Aff2 cluster: core numbers are Aff0 within the cluster.
        let cluster1 = board(2, 0x100);
        assert_eq!(cluster1.core_of(0x8000_0100), Some(0));
        assert_eq!(cluster1.core_of(0x8000_0101), Some(1));
        assert_eq!(cluster1.core_of(0x8000_0000), None, "cluster 0's core 0 must not run cluster 1's image");
        assert_eq!(cluster1.core_of(0x8001_0100), None, "Aff2 differs");
        let aff2 = board(4, 0x0003_0200);
        assert_eq!(aff2.core_of(0xC003_0203), Some(3));
        assert_eq!(aff2.core_of(0xC003_0204), None);
    }

    #[test]
    fn interrupts_and_sgis_name_the_cluster() {
        let board = board(4, 0x0003_0200);
        assert_eq!(board.irouter_affinity(1), 0x0003_0201);
        // ICC_SGI1R: Aff2 [39:32], INTID [27:24], Aff1 [23:16], TargetList [15:0].
        assert_eq!(board.sgi1r(0, 3), 0x0000_0003_0002_0008);
        assert_eq!(board.sgi1r(5, 0), 0x0000_0003_0502_0001);
        let an536 = self::board(2, 0);
        assert_eq!(an536.sgi1r(0, 1), 0b10);
        assert_eq!(an536.irouter_affinity(1), 1);
    }

    #[test]
    fn a_tiling_schedule_is_valid() {
        const WINDOWS: [WindowDesc; 3] = [w(Some(0), 0, 100), w(Some(1), 100, 50), w(None, 150, 50)];
        const CORES: [CoreDesc; 1] = [core(&WINDOWS, 200, &[])];
        const SYSTEM: SystemDesc = system(&CORES);
        const _: () = SYSTEM.assert_valid();
        assert_eq!(SYSTEM.check(), Ok(()));
    }

    #[test]
    fn gaps_overlaps_and_overruns_are_caught() {
        static GAP: [WindowDesc; 2] = [w(Some(0), 0, 100), w(Some(1), 110, 90)];
        assert_eq!(on_core0!(GAP, 200).check(), Err(TableError::WindowsDoNotTile));
        static OVERLAP: [WindowDesc; 2] = [w(Some(0), 0, 100), w(Some(1), 90, 110)];
        assert_eq!(on_core0!(OVERLAP, 200).check(), Err(TableError::WindowsDoNotTile));
        static OVERRUN: [WindowDesc; 2] = [w(Some(0), 0, 100), w(Some(1), 100, 150)];
        assert_eq!(on_core0!(OVERRUN, 200).check(), Err(TableError::WindowsDoNotTile));
        static EMPTY: [WindowDesc; 2] = [w(Some(0), 0, 200), w(Some(1), 200, 0)];
        assert_eq!(on_core0!(EMPTY, 200).check(), Err(TableError::EmptyWindow));
    }

    #[test]
    fn every_partition_needs_a_window_and_windows_need_partitions() {
        static ONLY_A: [WindowDesc; 1] = [w(Some(0), 0, 200)];
        assert_eq!(on_core0!(ONLY_A, 200).check(), Err(TableError::PartitionWithoutWindow));
        static UNKNOWN: [WindowDesc; 2] = [w(Some(0), 0, 100), w(Some(2), 100, 100)];
        assert_eq!(on_core0!(UNKNOWN, 200).check(), Err(TableError::UnknownPartition));
    }

    #[test]
    fn interrupt_routes_must_name_the_owner_and_slot() {
        static WINDOWS: [WindowDesc; 2] = [w(Some(0), 0, 100), w(Some(1), 100, 100)];
        const NONE: InterruptRoute = InterruptRoute::NONE;
        // Partition b owns SPIs 33 and 40 (slots 1 and 2, after the timer).
        static B: [u16; 3] = [crate::vgic::VIRTUAL_TIMER, 33, 40];
        static B_SPIS: [SpiWord; 2] =
            [SpiWord { word: 1, owned: 1 << 1, first_slot: 1 }, SpiWord { word: 1, owned: 1 << 8, first_slot: 2 }];
        static B_SPIS_ONE_WORD: [SpiWord; 1] = [SpiWord { word: 1, owned: (1 << 1) | (1 << 8), first_slot: 1 }];
        static PARTITIONS: [PartitionDesc; 2] =
            [partition("a"), PartitionDesc { interrupts: &B, timer_slot: 0, spis: &B_SPIS_ONE_WORD, ..partition("b") }];
        static ROUTES: [InterruptRoute; 41] = {
            let mut routes = [NONE; 41];
            routes[33] = InterruptRoute { owner: 1, slot: 1 };
            routes[40] = InterruptRoute { owner: 1, slot: 2 };
            routes
        };
        static CORES: [CoreDesc; 1] = [core(&WINDOWS, 200, &ROUTES)];
        let good = SystemDesc { partitions: &PARTITIONS, ..system(&CORES) };
        assert_eq!(good.check(), Ok(()));
        // The SPI words must name exactly the owned SPIs, each word once.
        static SPLIT_WORD: [PartitionDesc; 2] =
            [partition("a"), PartitionDesc { interrupts: &B, timer_slot: 0, spis: &B_SPIS, ..partition("b") }];
        assert_eq!(SystemDesc { partitions: &SPLIT_WORD, ..good }.check(), Err(TableError::BadInterrupts));
        static MISSING_SPI: [SpiWord; 1] = [SpiWord { word: 1, owned: 1 << 1, first_slot: 1 }];
        static MISSING: [PartitionDesc; 2] =
            [partition("a"), PartitionDesc { interrupts: &B, timer_slot: 0, spis: &MISSING_SPI, ..partition("b") }];
        assert_eq!(SystemDesc { partitions: &MISSING, ..good }.check(), Err(TableError::BadInterrupts));
        static EXTRA_SPI: [SpiWord; 1] = [SpiWord { word: 1, owned: (1 << 1) | (1 << 8) | (1 << 9), first_slot: 1 }];
        static EXTRA: [PartitionDesc; 2] =
            [partition("a"), PartitionDesc { interrupts: &B, timer_slot: 0, spis: &EXTRA_SPI, ..partition("b") }];
        assert_eq!(SystemDesc { partitions: &EXTRA, ..good }.check(), Err(TableError::BadInterrupts));
        static WRONG_FIRST_SLOT_SPI: [SpiWord; 1] = [SpiWord { word: 1, owned: (1 << 1) | (1 << 8), first_slot: 2 }];
        static WRONG_FIRST_SLOT: [PartitionDesc; 2] = [
            partition("a"),
            PartitionDesc { interrupts: &B, timer_slot: 0, spis: &WRONG_FIRST_SLOT_SPI, ..partition("b") },
        ];
        assert_eq!(SystemDesc { partitions: &WRONG_FIRST_SLOT, ..good }.check(), Err(TableError::BadInterrupts));
        assert_eq!(SpiWord::of(&B).collect::<std::vec::Vec<_>>(), B_SPIS_ONE_WORD, "what the generator emits");
        assert_eq!(ROUTES[40].target(), Some((1, 2)));
        assert_eq!(ROUTES[39].target(), None);

        static WRONG_SLOT: [InterruptRoute; 41] = {
            let mut routes = ROUTES;
            routes[40].slot = 1;
            routes
        };
        static WRONG_SLOT_CORES: [CoreDesc; 1] = [core(&WINDOWS, 200, &WRONG_SLOT)];
        let wrong_slot = SystemDesc { cores: &WRONG_SLOT_CORES, ..good };
        assert_eq!(wrong_slot.check(), Err(TableError::BadInterrupts));
        static WRONG_OWNER: [InterruptRoute; 41] = {
            let mut routes = ROUTES;
            routes[33].owner = 0;
            routes
        };
        static WRONG_OWNER_CORES: [CoreDesc; 1] = [core(&WINDOWS, 200, &WRONG_OWNER)];
        assert_eq!(SystemDesc { cores: &WRONG_OWNER_CORES, ..good }.check(), Err(TableError::BadInterrupts));
        static NO_TIMER: [PartitionDesc; 2] = [
            partition("a"),
            PartitionDesc { interrupts: &[33, 40], timer_slot: 0, spis: &B_SPIS_ONE_WORD, ..partition("b") },
        ];
        static SHIFTED: [InterruptRoute; 41] = {
            let mut routes = ROUTES;
            routes[33].slot = 0;
            routes[40].slot = 1;
            routes
        };
        static SHIFTED_CORES: [CoreDesc; 1] = [core(&WINDOWS, 200, &SHIFTED)];
        let no_timer = SystemDesc { partitions: &NO_TIMER, cores: &SHIFTED_CORES, ..good };
        assert_eq!(no_timer.check(), Err(TableError::BadInterrupts));
        // Edge-triggered SPIs: sorted, SPIs only.
        assert_eq!(SystemDesc { edge_spis: &[33, 40], ..good }.check(), Ok(()));
        assert_eq!(SystemDesc { edge_spis: &[40, 33], ..good }.check(), Err(TableError::BadInterrupts));
        assert_eq!(SystemDesc { edge_spis: &[40, 40], ..good }.check(), Err(TableError::BadInterrupts));
        assert_eq!(SystemDesc { edge_spis: &[27], ..good }.check(), Err(TableError::BadInterrupts));
    }

    #[test]
    fn partitions_are_numbered_core_by_core_and_run_only_on_their_core() {
        static A_ON_0: [WindowDesc; 1] = [w(Some(0), 0, 100)];
        static B_ON_1: [WindowDesc; 1] = [w(Some(1), 0, 100)];
        static B_ON_0: [WindowDesc; 2] = [w(Some(0), 0, 50), w(Some(1), 50, 50)];
        static SPLIT: [PartitionDesc; 2] = [partition("a"), PartitionDesc { core: 1, ..partition("b") }];
        const fn on(first: u8, windows: &'static [WindowDesc]) -> CoreDesc {
            CoreDesc { first_partition: first, partition_count: 1, ..core(windows, 100, &[]) }
        }
        static TWO_CORES: [CoreDesc; 2] = [on(0, &A_ON_0), on(1, &B_ON_1)];
        let good = SystemDesc { partitions: &SPLIT, ..system(&TWO_CORES) };
        assert_eq!(good.check(), Ok(()));
        assert!(TWO_CORES[1].runs(1) && !TWO_CORES[1].runs(0));
        // A window of core 0 naming core 1's partition.
        static CROSSED: [CoreDesc; 2] = [CoreDesc { partition_count: 1, ..core(&B_ON_0, 100, &[]) }, on(1, &B_ON_1)];
        assert_eq!(SystemDesc { cores: &CROSSED, ..good }.check(), Err(TableError::UnknownPartition));
        // Ranges that do not follow each other, or disagree with `core`.
        static GAPPED: [CoreDesc; 2] = [on(0, &A_ON_0), CoreDesc { first_partition: 2, ..on(1, &B_ON_1) }];
        assert_eq!(SystemDesc { cores: &GAPPED, ..good }.check(), Err(TableError::BadCores));
        static SAME_CORE: [PartitionDesc; 2] = [partition("a"), partition("b")];
        assert_eq!(SystemDesc { partitions: &SAME_CORE, ..good }.check(), Err(TableError::BadCores));
        // A core with partitions but no schedule; no scheduled core at all.
        static UNSCHEDULED: [CoreDesc; 2] = [on(0, &A_ON_0), CoreDesc { schedule: None, ..on(1, &B_ON_1) }];
        assert_eq!(SystemDesc { cores: &UNSCHEDULED, ..good }.check(), Err(TableError::BadCores));
        static NONE_SCHEDULED: [CoreDesc; 1] = [CoreDesc::PARKED];
        assert_eq!(
            SystemDesc { cores: &NONE_SCHEDULED, partitions: &[], ..good }.check(),
            Err(TableError::NoPartitions)
        );
        // A core parked while another runs everything is fine.
        static PARKED_SECOND: [CoreDesc; 2] = [core(&B_ON_0, 100, &[]), CoreDesc::PARKED];
        assert_eq!(SystemDesc { cores: &PARKED_SECOND, ..system(&PARKED_SECOND) }.check(), Ok(()));
        // More cores than the board has.
        static THREE: [CoreDesc; 3] = [core(&B_ON_0, 100, &[]), CoreDesc::PARKED, CoreDesc::PARKED];
        assert_eq!(system(&THREE).check(), Err(TableError::NoCores));
        // A core's route naming another core's partition.
        static ROUTES_TO_B: [InterruptRoute; 41] = {
            let mut routes = [InterruptRoute::NONE; 41];
            routes[40] = InterruptRoute { owner: 1, slot: 1 };
            routes
        };
        static MISROUTED: [CoreDesc; 2] =
            [CoreDesc { interrupt_routes: &ROUTES_TO_B, ..on(0, &A_ON_0) }, on(1, &B_ON_1)];
        assert_eq!(SystemDesc { cores: &MISROUTED, ..good }.check(), Err(TableError::BadInterrupts));
    }
}
