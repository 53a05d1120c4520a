//! The kernel proper: partitions' run-time state and every decision taken on
//! an entry from EL1.
//!
//! There are exactly two ways in: [`bulkhead_trap_from_el1`] (hypercalls,
//! stage-2 aborts, trapped instructions) and [`bulkhead_irq_from_el1`]
//! (interrupts, among them the window timer). Both return the trap frame of
//! the partition to resume. When no partition may run (an idle window, a
//! halted or yielded owner, the rest of a window after a fault, a restore in
//! progress) the kernel stays at EL2 with interrupts masked in
//! [`Kernel::wait_for_runnable`], doing bounded background work (a restore step, a
//! piece of console output) between looks at the interrupt controller, and
//! waits for an interrupt when there is none.
//!
//! The bound this module keeps: **every path through the kernel is short, or
//! is cut into pieces that check the window timer between them.** A window
//! boundary that falls while the kernel runs waits for at most the longest
//! such piece, whatever any partition does (`docs/architecture.md`, "The
//! bound"). Long work is charged to the partition that caused it: a
//! restart's restore runs in the restarting partition's own windows, its
//! console lines are printed in its own `ConsoleWrite` calls, and anything
//! else only when no partition is due to run.
//!
//! The kernel owns: which window is current ([`Cursor`]), who occupies the
//! CPU ([`Held`]), each partition's status, restart count, virtual
//! clock, virtual GIC and enabled SPIs, and the console queues. It must
//! never allocate, never wait on a partition, never touch a partition's
//! memory outside that partition's windows, and never panic on anything a
//! partition does.

use crate::arch::context::{self, El1Context, TrapFrame};
use crate::arch::gic::{self, Gic};
use crate::arch::guest_registers::TrappedRegisters;
use crate::arch::{cache, cpu, entry, mpu, timer, traps, vgic as virtual_interface};
use crate::boot_params::{self, Options};
use crate::channels;
use crate::console::{Direct, Flush, Uart};
use crate::health;
use crate::partition_memory::{self, UserBytes, UserWords};
use crate::smp;
use crate::tables::{CORE_COUNT, MAX_CORE_PARTITIONS, PARTITION_COUNT, SYSTEM};
use aarch32_cpu::register::{Sctlr, SysRegRead};
use bulkhead_abi::health::ControlOp;
use bulkhead_abi::{self as abi, Call, El1Exception};
use bulkhead_kernel_core::board_check;
use bulkhead_kernel_core::console::{Allowed, Console, Event, MAX_LINE_BYTES};
use bulkhead_kernel_core::health::{self as hm, LOG_ENTRY_WORDS, LogEntry, LogRead, RestartHistory};
use bulkhead_kernel_core::log::kind;
use bulkhead_kernel_core::registers::GuestRegisters;
use bulkhead_kernel_core::restore::Restore;
use bulkhead_kernel_core::schedule::Cursor;
use bulkhead_kernel_core::syndrome::{
    Cp15Access, DataAbort, ExceptionClass, Transfer, advance_it_state, hvc_immediate,
};
use bulkhead_kernel_core::tables::{
    ChannelKind, ChannelReader, ErrorKind, HealthAction, InterruptRoute, PartitionDesc, PartitionId, ScheduleDesc,
};
use bulkhead_kernel_core::vgic::{
    self, Access, BitWrite, Effects, Frame, GicFacts, LrState, MAX_OWNED, VIRTUAL_TIMER, Vgic,
};
use bulkhead_kernel_core::vtime::VirtualClock;
use core::cell::UnsafeCell;

/// Bytes of console output each partition may have waiting.
const CONSOLE_RING_BYTES: usize = 512;
/// Kernel records that may wait to be printed.
const CONSOLE_EVENTS: usize = 64;
/// Bytes a `ConsoleWrite` takes between two looks at the window timer
/// (about 12 instructions each).
const CONSOLE_BYTES_PER_CHECK: u32 = 8;
/// Most bytes of its own lines (and of the kernel's records about it) a
/// partition's `ConsoleWrite` prints: all of them that fit before its
/// window ends. The call then costs at most what it has queued (its ring and
/// the kernel's records about it), in its own time, and never delays the
/// boundary (a line is started only if it fits).
const CONSOLE_DRAIN_BYTES: usize = usize::MAX;
/// Bytes printed per step while the kernel is idle: one whole line, then a
/// look at the interrupt controller.
const IDLE_DRAIN_BYTES: usize = MAX_LINE_BYTES;
/// Counter ticks the kernel reckons per console byte when it decides whether
/// a line still fits before the window boundary (it prints a line only if
/// it does, and then whole). Measured on the AN536 model: about 10
/// instructions per byte, rendering included, which is under one tick (16
/// instructions); two ticks leave a wide margin for a slower core or a
/// faster counter.
const CONSOLE_TICKS_PER_BYTE: u64 = 2;
/// Every list register, as a mask of `ICH_ELRSR`.
const ALL_LIST_REGISTERS: u32 = (1 << vgic::LIST_REGISTERS) - 1;
/// Bytes of RAM restored per step of a restart.
const RESTORE_STEP_BYTES: u32 = 256;

/// `SPSR.T`: the partition runs T32 code (only T32 has `IT` blocks).
const SPSR_THUMB: u32 = 1 << 5;

/// One core's console queues (its partitions' lines and its records).
type ConsoleQueues = Console<MAX_CORE_PARTITIONS, CONSOLE_RING_BYTES, CONSOLE_EVENTS>;

/// Where a partition stands. (`repr(u8)` with `Ready` first: the kernel's
/// initial state is all zeros and lives in `.bss`.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Status {
    /// Runs in its windows.
    Ready,
    /// Faulted with the `restart` policy: its RAM is being restored, a step
    /// at a time, in its own windows; it runs again when that is done.
    /// `reset` counts the reset steps done before the RAM steps (see
    /// [`Kernel::restore_step`]).
    Restoring { progress: Restore, reset: u8 },
    /// Never runs again (unless the monitor restarts it); its windows stay
    /// idle.
    Halted,
    /// Stopped by the health monitor's `monitor` action: its windows stay
    /// idle and its state is kept until the monitor resumes, restarts or
    /// halts it.
    Suspended,
}

/// Run-time state of one partition (its description is in flash).
struct Partition {
    context: El1Context,
    status: Status,
    restarts: u32,
    /// Its restarts by frame, for its restart limit.
    history: RestartHistory,
    /// Partition time of its watchdog's last kick (or of its start).
    kicked: u64,
    clock: VirtualClock,
    /// Its interrupt controller as it sees it.
    vgic: Vgic,
    /// Per word of its description's `spis`: the SPIs it has enabled. They
    /// are enabled physically only during its windows.
    spi_enabled: [u32; MAX_OWNED],
    /// Bit n: word n of `spi_enabled` is not zero (the switch path skips
    /// partitions with none in one test).
    spi_words_enabled: u32,
    /// Ignored GIC accesses logged in the current window.
    ignored_logged: u8,
    /// Ignored GIC accesses not logged yet (reported with the next one).
    ignored_unlogged: u32,
    /// An error whose action took it off the CPU, not yet in the error
    /// log (`Kernel::act`).
    /// (A flag and the error rather than an `Option`: an all-zero
    /// `Partition` is its initial state, which keeps the kernel's state in
    /// `.bss`, and `None` of an `Option` of enums is not all zeros.)
    pending: PendingError,
    has_pending: bool,
    /// Ignored GIC accesses of ended windows that no logged line reported,
    /// and the frame of the first of those windows: logged when the kernel
    /// is next idle (`@vgic-ignored NAME unlogged=N major-frame=F`), never on the
    /// window boundary's path.
    ended_unlogged: (u32, u64),
}

/// Ignored GIC accesses logged per window. A guest's GIC set-up may touch
/// every interrupt; the rest are counted and reported with the next logged
/// one.
const IGNORED_LOG_LIMIT: u8 = 4;

impl Partition {
    const fn new() -> Partition {
        Partition {
            context: El1Context::zeroed(),
            status: Status::Ready,
            restarts: 0,
            history: RestartHistory::new(),
            kicked: 0,
            clock: VirtualClock::new(),
            vgic: Vgic::new(),
            spi_enabled: [0; MAX_OWNED],
            spi_words_enabled: 0,
            ignored_logged: 0,
            ignored_unlogged: 0,
            ended_unlogged: (0, 0),
            pending: PendingError::NONE,
            has_pending: false,
        }
    }
}

/// An error the health monitor acted on, waiting to be logged.
#[derive(Clone, Copy)]
struct PendingError {
    kind: ErrorKind,
    decision: hm::Decision,
    detail: u32,
    detail2: u32,
    /// System time of the error.
    time: u64,
    /// Restarts recorded so far (for a `restart-limit` entry).
    restarts: u32,
}

impl PendingError {
    /// All zeros (a `fault` logged, meaningless until flagged pending).
    const NONE: PendingError = PendingError {
        kind: ErrorKind::Fault,
        decision: hm::Decision { action: HealthAction::Log, limit_reached: false },
        detail: 0,
        detail2: 0,
        time: 0,
        restarts: 0,
    };
}

/// What the CPU holds of the current window's owner (`Kernel::occupant`).
/// A flat byte rather than an enum with data: the hot paths test it on
/// every entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Held {
    /// Nothing: an idle window, a halted owner, or the rest of a window after
    /// its owner faulted or stopped.
    Nothing,
    /// The owner is restarting: its regions are loaded (the kernel restores
    /// its RAM through them), its EL1 state is not.
    Restoring,
    /// The owner's whole state and regions are loaded, but it yielded the
    /// rest of its window.
    Yielded,
    /// The owner's whole state and regions are loaded and it runs.
    Running,
}

/// The run-time state of one core's partitions: ids `first..first +
/// count`. Looked up by partition id; another core's id finds nothing.
///
/// Held as a raw pointer and a count rather than a slice: a null pointer and
/// a zero count are all zeros, so the cores' kernels start in `.bss` (not in
/// `.data`, copied from flash at every boot), and a lookup is one
/// subtraction and one bound check (this is on every kernel entry).
struct CorePartitions {
    first: usize,
    count: usize,
    states: *mut Partition,
}

impl CorePartitions {
    /// No partitions (a core before it starts).
    const NONE: CorePartitions = CorePartitions { first: 0, count: 0, states: core::ptr::null_mut() };

    /// The partitions of `states`, the first with id `first`.
    fn new(first: PartitionId, states: &'static mut [Partition]) -> CorePartitions {
        CorePartitions { first: first as usize, count: states.len(), states: states.as_mut_ptr() }
    }

    #[inline(always)]
    fn get(&self, id: usize) -> Option<&Partition> {
        let index = id.wrapping_sub(self.first);
        // SAFETY: `states` and `count` come from one `&'static mut` slice
        // (`new`) this struct owns, and the index is below the count (so the
        // count is not zero and the pointer is not null); the borrow of
        // `self` keeps the reference unique.
        (index < self.count).then(|| unsafe {
            core::hint::assert_unchecked(!self.states.is_null());
            &*self.states.add(index)
        })
    }

    #[inline(always)]
    fn get_mut(&mut self, id: usize) -> Option<&mut Partition> {
        let index = id.wrapping_sub(self.first);
        // SAFETY: as in `get`, and `&mut self` makes the reference unique.
        (index < self.count).then(|| unsafe {
            core::hint::assert_unchecked(!self.states.is_null());
            &mut *self.states.add(index)
        })
    }

    /// How many there are.
    fn len(&self) -> usize {
        self.count
    }

    /// Each partition with its id.
    fn iter_mut(&mut self) -> impl Iterator<Item = (PartitionId, &mut Partition)> {
        let first = self.first;
        let states: &mut [Partition] = match self.count {
            0 => &mut [],
            // SAFETY: as in `get_mut`, for the whole slice.
            count => unsafe { core::slice::from_raw_parts_mut(self.states, count) },
        };
        states.iter_mut().enumerate().map(move |(index, state)| ((first + index) as PartitionId, state))
    }
}

/// All mutable kernel state of one core. Each core has its own (`KERNELS`)
/// and touches no other's. `repr(C)` with the stack top first: the entry
/// assembly loads it from the address `HTPIDR` holds (`arch::entry`).
#[repr(C)]
pub struct Kernel {
    /// The top of this core's kernel stack (read by the entry assembly).
    stack_top: usize,
    /// Its core number.
    core: usize,
    /// Its schedule (`None` until the core starts; see [`Kernel::schedule`]).
    schedule: Option<&'static ScheduleDesc>,
    /// Where its interrupts go (`None`: nowhere, before the core starts).
    routes: Option<&'static [InterruptRoute]>,
    /// The physical GIC as this core sees it (its own redistributor).
    gic: Gic,
    partitions: CorePartitions,
    /// The trap frame of the occupant while `held` is `Running` (set with
    /// it, in `load`): what every entry returns to, without a lookup.
    running_frame: *mut TrapFrame,
    cursor: Cursor,
    /// The partition `held` is about (meaningless when nothing is held).
    occupant: PartitionId,
    held: Held,
    /// EL1 `SCTLR` as the core came out of reset, given to every partition at
    /// its entry.
    reset_sctlr: u32,
    options: Options,
    /// What the virtual GICs report about the physical GIC.
    gic_facts: GicFacts,
    console: ConsoleQueues,
    /// Some partition's `ended_unlogged` waits to be logged.
    unlogged_pending: bool,
    /// The tick frame 0 started at on every core: system time 0
    /// (`SystemTime`).
    epoch: u64,
    /// Some partition's `pending` error waits to be published.
    errors_pending: bool,
}

/// One core's kernel state.
struct KernelCell(UnsafeCell<Kernel>);

// SAFETY: each cell is used by one core only (`set_up_core` picks the cell
// by the core's own number and puts its address in that core's `HTPIDR`,
// where every exception entry takes it from), and on that core the kernel is only entered
// through `boot`/`boot_secondary` (once, before any exception can be taken)
// and the two exception entry points, which never nest because the kernel
// runs with IRQ and FIQ masked.
unsafe impl Sync for KernelCell {}

/// The run-time state of every partition, in id order: cut at boot into the
/// cores' disjoint ranges, each handed to its core's kernel once.
struct PartitionStates(UnsafeCell<[Partition; PARTITION_COUNT]>);

// SAFETY: only `PartitionStates::take` touches the array, once per core,
// for that core's own range; the ranges are disjoint (the tables' `const`
// check: partitions are numbered core by core).
unsafe impl Sync for PartitionStates {}

static PARTITION_STATES: PartitionStates =
    PartitionStates(UnsafeCell::new([const { Partition::new() }; PARTITION_COUNT]));

impl PartitionStates {
    /// The states of partitions `first..first + count`.
    ///
    /// # Safety
    ///
    /// Once per range, and only for ranges that do not overlap any other
    /// taken.
    unsafe fn take(&self, first: PartitionId, count: u8) -> &'static mut [Partition] {
        let all = self.0.get().cast::<Partition>();
        let (first, count) = (first as usize, count as usize);
        if first + count > PARTITION_COUNT {
            return &mut [];
        }
        // SAFETY: in bounds (checked above), and unaliased by the caller's
        // contract.
        unsafe { core::slice::from_raw_parts_mut(all.add(first), count) }
    }
}

/// What a core's schedule reads as before it starts its own.
static NO_SCHEDULE: ScheduleDesc = ScheduleDesc { major_frame: 1, windows: &[] };

impl KernelCell {
    const fn new() -> KernelCell {
        KernelCell(UnsafeCell::new(Kernel {
            stack_top: 0,
            core: 0,
            schedule: None,
            routes: None,
            gic: Gic::new(0, 0),
            partitions: CorePartitions::NONE,
            running_frame: core::ptr::null_mut(),
            cursor: Cursor::unstarted(),
            occupant: 0,
            held: Held::Nothing,
            reset_sctlr: 0,
            options: Options { stop_after_frames: None, semihosting_exit: false },
            gic_facts: GicFacts { gicd_typer: 0, gicd_iidr: 0, pidr2: 0, gicr_iidr: 0, affinity: 0 },
            console: Console::new(),
            unlogged_pending: false,
            epoch: 0,
            errors_pending: false,
        }))
    }
}

/// The cores' kernels, by core number.
static KERNELS: [KernelCell; CORE_COUNT] = [const { KernelCell::new() }; CORE_COUNT];

/// Core `core`'s kernel, at boot (exception entries get theirs from
/// `HTPIDR`, see `arch::entry`).
///
/// # Safety
///
/// As [`KernelCell::get`], and only on core `core`.
unsafe fn core_kernel(core: usize) -> &'static mut Kernel {
    match KERNELS.get(core) {
        // SAFETY: forwarded to the caller.
        Some(cell) => unsafe { cell.get() },
        None => crate::panic::stop_with("unknown-core", core as u32, 0, 0),
    }
}

/// The GIC frame and offset of `address`, if it is in the distributor or a
/// redistributor.
fn gic_frame(address: usize, core: usize) -> Option<(Frame, usize)> {
    let board = &SYSTEM.board;
    let frame_size = vgic::FRAME_SIZE as usize;
    if (board.gicd_base..board.gicd_base + frame_size).contains(&address) {
        return Some((Frame::Distributor, address - board.gicd_base));
    }
    if !(board.gicr_base..board.gicr_base + board.cores * gic::REDISTRIBUTOR_STRIDE).contains(&address) {
        return None;
    }
    let relative = address - board.gicr_base;
    let within = relative % gic::REDISTRIBUTOR_STRIDE;
    Some(match (relative / gic::REDISTRIBUTOR_STRIDE == core, within >= frame_size) {
        (true, false) => (Frame::Redistributor, within),
        (true, true) => (Frame::RedistributorSgi, within - frame_size),
        (false, _) => (Frame::OtherRedistributor, within),
    })
}

/// The instruction at `pc` of partition `desc` (A32 word, or T32 halfwords
/// with the first in the high half), if its memory holds it.
fn read_instruction(desc: &PartitionDesc, pc: u32, thumb: bool) -> Option<u32> {
    let bytes = UserBytes::readable(desc.grants, pc, 4).ok()?;
    let mut iter = bytes.bytes();
    let mut next = || iter.next().map(u32::from);
    let (b0, b1, b2, b3) = (next()?, next()?, next()?, next()?);
    Some(if thumb { (b1 << 24) | (b0 << 16) | (b3 << 8) | b2 } else { (b3 << 24) | (b2 << 16) | (b1 << 8) | b0 })
}

/// Removes the interrupts of `mask` (bit n: interrupt `base + n`) from the
/// loaded partition's list registers, in one pass.
fn unlist(base: u16, mask: u32) {
    let mut lrs = virtual_interface::read_list_registers();
    let mut written = 0;
    for (index, lr) in lrs.iter_mut().enumerate() {
        let intid = lr.intid();
        let listed =
            lr.state() != LrState::Invalid && intid >= base && intid - base < 32 && mask & (1 << (intid - base)) != 0;
        if listed {
            *lr = vgic::ListRegister(0);
            written |= 1 << index;
        }
    }
    virtual_interface::write_list_registers(&lrs, written);
}

/// The console UART, as the queues' non-waiting output.
fn uart() -> Uart {
    // SAFETY: the console base is the board's kernel UART (each core's own:
    // a per-core device), mapped by the kernel's device region and written
    // only by this core's kernel, which never runs twice at once.
    unsafe { Uart::new(SYSTEM.board.console_base) }
}

/// The console UART for records written at once (boot, end of a run).
fn direct() -> Direct {
    // SAFETY: as in `uart`.
    unsafe { Direct::new(SYSTEM.board.console_base) }
}

/// How many console bytes still fit before `deadline` (the window's end),
/// as the drainer asks: a line is started only if it fits.
fn console_room(deadline: u64) -> impl FnMut() -> usize {
    // None once the boundary is due, whatever the reckoning says: a line
    // never starts after its window has ended.
    move || match timer::boundary_due() {
        true => 0,
        false => (deadline.saturating_sub(timer::now()) / CONSOLE_TICKS_PER_BYTE) as usize,
    }
}

/// A partition's name, for the console.
fn partition_name(id: PartitionId) -> &'static str {
    SYSTEM.partition(id).map_or("?", |desc| desc.name)
}

impl KernelCell {
    /// The kernel state.
    ///
    /// # Safety
    ///
    /// Only from `boot` and the exception entry points (see `Sync` above), and
    /// never twice at once.
    #[allow(clippy::mut_from_ref, reason = "the cell's contract serialises all access")]
    unsafe fn get(&self) -> &mut Kernel {
        // SAFETY: forwarded to the caller.
        unsafe { &mut *self.0.get() }
    }
}

/// Starts the system: called once by the runtime's reset code on core 0,
/// which sets up what the cores share (the distributor) before it releases
/// the others.
pub fn boot() -> ! {
    let options = boot_params::read();
    set_up_core(0);
    if !Gic::init_distributor(&SYSTEM.board, SYSTEM.cores, SYSTEM.edge_spis) {
        crate::panic::stop_with("gic-init-failed", 0, 0, 0);
    }
    smp::release_secondaries();
    run_core(0, options)
}

/// Starts a secondary core: called once by the runtime's reset code on
/// every core but 0, after core 0 released it.
pub fn boot_secondary(core: usize) -> ! {
    if SYSTEM.cores.get(core).is_none_or(|desc| desc.schedule.is_none()) {
        // A core the system does not use: asleep for good, interrupts masked.
        loop {
            cpu::wait_for_interrupt();
        }
    }
    set_up_core(core);
    run_core(core, boot_params::read())
}

/// What every core sets up of its own before it touches its partitions:
/// its stack top, console UART, EL2 MPU and traps.
fn set_up_core(core: usize) {
    unsafe extern "C" {
        static _hyp_stack_high_end: u8;
        static _hyp_stack_size: u8;
    }
    // aarch32-rt gives core n the stack `n` stack sizes below the top.
    let size = &raw const _hyp_stack_size as usize;
    // SAFETY: once per core, on that core, before any exception can enter
    // its kernel.
    let kernel = unsafe { core_kernel(core) };
    kernel.stack_top = &raw const _hyp_stack_high_end as usize - core * size;
    cpu::set_kernel_state(&raw mut *kernel as usize);
    // A console that does not respond shows nothing; the kernel runs on.
    let _ = uart().init();
    let hardware = context::hardware_facts();
    if let Err(mismatch) = board_check::check(&SYSTEM.board, SYSTEM.timer_hz, hardware) {
        crate::panic::board_mismatch(core, mismatch);
    }
    if hardware.cntfrq == 0 {
        context::set_counter_frequency(SYSTEM.timer_hz);
    }
    mpu::init(&SYSTEM.kernel_regions);
    traps::init();
}

/// Sets up core `core`'s interrupt controller and partitions, waits for the
/// common epoch and starts its first window.
fn run_core(core: usize, options: Options) -> ! {
    let Some(desc) = SYSTEM.cores.get(core) else { crate::panic::stop_with("unknown-core", 0, 0, 0) };
    let gic = Gic::new(SYSTEM.board.gicd_base, SYSTEM.board.gicr_base + core * gic::REDISTRIBUTOR_STRIDE);
    if !gic.init_core(desc.interrupt_routes) {
        crate::panic::stop_with("gic-init-failed", core as u32, 0, 0);
    }
    // SAFETY: once per core, before any exception can enter its kernel.
    let kernel = unsafe { core_kernel(core) };
    kernel.core = core;
    kernel.options = options;
    kernel.reset_sctlr = Sctlr::read_raw();
    kernel.gic_facts = gic.facts();
    kernel.gic = gic;
    kernel.routes = Some(desc.interrupt_routes);
    kernel.console = ConsoleQueues::starting_at(desc.first_partition);
    // SAFETY: this core's range, taken once; the ranges are disjoint.
    let states = unsafe { PARTITION_STATES.take(desc.first_partition, desc.partition_count) };
    kernel.partitions = CorePartitions::new(desc.first_partition, states);
    let Some(schedule) = &desc.schedule else {
        // Core 0 of a system that runs only on other cores: it publishes the
        // epoch, then sleeps for good.
        smp::ready_and_wait_for_epoch(core, timer::now);
        loop {
            cpu::wait_for_interrupt();
        }
    };
    kernel.schedule = Some(schedule);
    kernel.set_up_partitions();
    let epoch = smp::ready_and_wait_for_epoch(core, timer::now);
    let frame = kernel.start(epoch);
    // SAFETY: `start` loaded the first partition (or idled until one could
    // run) and HTPIDR holds this core's kernel state (`set_up_core`).
    unsafe { entry::enter_first(frame) }
}

/// Entry from the Hyp trap vector.
#[unsafe(no_mangle)]
extern "C" fn bulkhead_trap_from_el1(_frame: *mut TrapFrame, kernel: *mut Kernel) -> *mut TrapFrame {
    // SAFETY: an exception entry point (see `KernelCell`); `kernel` is what
    // `HTPIDR` holds, this core's cell's state (`set_up_core`).
    let kernel = unsafe { &mut *kernel };
    kernel.on_trap();
    kernel.next_frame()
}

/// Entry from the IRQ vector.
#[unsafe(no_mangle)]
extern "C" fn bulkhead_irq_from_el1(_frame: *mut TrapFrame, kernel: *mut Kernel) -> *mut TrapFrame {
    // SAFETY: as in `bulkhead_trap_from_el1`.
    let kernel = unsafe { &mut *kernel };
    kernel.service_interrupts();
    kernel.next_frame()
}

impl Kernel {
    /// This core's schedule.
    #[inline(always)]
    fn schedule(&self) -> &'static ScheduleDesc {
        self.schedule.unwrap_or(&NO_SCHEDULE)
    }

    /// Prints the system as this core runs it and initialises its
    /// partitions.
    fn set_up_partitions(&mut self) {
        let schedule = self.schedule();
        direct()
            .record(kind::BOOT)
            .text("system", SYSTEM.name)
            .text("board", SYSTEM.board.name)
            .dec("core", self.core as u64)
            .dec("partitions", self.partitions.len() as u64)
            .dec("timer-hz", SYSTEM.timer_hz as u64)
            .dec("frame-ticks", schedule.major_frame)
            .dec("windows", schedule.windows.len() as u64)
            .end();
        let reset_sctlr = self.reset_sctlr;
        for (id, partition) in self.partitions.iter_mut() {
            let Some(desc) = SYSTEM.partition(id) else { continue };
            direct()
                .record(kind::PARTITION)
                .word(desc.name)
                .dec("id", id as u64)
                .hex("entry", desc.entry)
                .dec("regions", desc.regions.len() as u64)
                .text("policy", desc.health.action(ErrorKind::Fault).name())
                .end();
            // At boot nobody's time runs yet: each image is restored in one go.
            mpu::load_partition(desc.regions);
            let mut progress = Restore::start();
            while let Some(step) = progress.next_step(&desc.init, desc.clears, u32::MAX) {
                partition_memory::apply(step);
            }
            partition.context.reset_to_entry(desc.entry, desc.initial_sp, reset_sctlr, id, 0);
            partition.vgic = Vgic::at_reset(desc.interrupts, SYSTEM.edge_spis);
            // Its channels' windows start empty, before anyone runs: every
            // core sets up its partitions before the epoch.
            for channel in SYSTEM.channels.iter().filter(|channel| channel.writer == id) {
                partition_memory::zero_channel_window(channel);
            }
        }
        mpu::load_partition(&[]);
    }

    /// Starts window 0 of the first major frame at `epoch`, the tick every
    /// core starts its schedule at.
    fn start(&mut self, epoch: u64) -> *mut TrapFrame {
        self.epoch = epoch;
        self.cursor = Cursor::start(epoch, self.schedule());
        timer::set_deadline(epoch);
        while timer::now() < epoch {
            cpu::wait_for_interrupt();
        }
        timer::set_deadline(self.cursor.window_end());
        let now = timer::now();
        self.trace_window(now);
        self.start_window(epoch, now);
        self.next_frame()
    }

    /// The frame to return to EL1 with: the running partition's, at once
    /// (the hot path of every hypercall and interrupt), or, when none may
    /// run, whichever becomes runnable after [`Kernel::wait_for_runnable`].
    #[inline(always)]
    fn next_frame(&mut self) -> *mut TrapFrame {
        if self.held == Held::Running {
            return self.running_frame;
        }
        self.wait_for_runnable()
    }

    /// Until some partition may run: does background work a bounded step at
    /// a time, handling any interrupt (a window boundary above all) between
    /// steps, and waits at EL2 when there is nothing to do.
    #[inline(never)]
    fn wait_for_runnable(&mut self) -> *mut TrapFrame {
        loop {
            if self.held == Held::Running {
                return self.running_frame;
            }
            let busy = if self.errors_pending {
                self.publish_pending()
            } else {
                match self.held {
                    Held::Restoring => self.restore_step(self.occupant),
                    Held::Nothing | Held::Yielded | Held::Running => self.drain_idle(),
                }
            };
            if !busy {
                cpu::wait_for_interrupt();
            }
            self.service_interrupts();
        }
    }

    /// Prints a line of whatever waits on the console, if it fits before the
    /// window boundary (the kernel is idle: no partition is due to run).
    /// Returns whether more waits that could be printed now.
    #[inline(never)]
    fn drain_idle(&mut self) -> bool {
        if self.unlogged_pending {
            self.report_unlogged();
        }
        let room = console_room(self.cursor.window_end());
        let drained = self.console.drain(Allowed::Any, IDLE_DRAIN_BYTES, partition_name, &mut uart(), room);
        drained.more && drained.bytes != 0
    }

    /// Acknowledges and handles every pending interrupt.
    fn service_interrupts(&mut self) {
        while let Some(intid) = gic::acknowledge() {
            match intid {
                gic::HYP_TIMER => {
                    self.window_boundary();
                    gic::end(intid);
                }
                gic::KERNEL_SGI => {
                    self.rung();
                    gic::end(intid);
                }
                gic::MAINTENANCE => {
                    if self.loaded() {
                        self.refill_list_registers(self.occupant);
                    }
                    gic::end(intid);
                }
                // The virtual timer is the loaded partition's: every other
                // partition's is switched off with its context.
                VIRTUAL_TIMER => match SYSTEM.partition(self.occupant) {
                    Some(desc) if self.loaded() => {
                        gic::drop_priority(intid);
                        self.list(self.occupant, desc.timer_slot as usize, intid);
                    }
                    // Nobody's: the timer fired as its partition left (the
                    // PPI is every partition's in turn and stays enabled).
                    _ => gic::end(intid),
                },
                _ => match self.routes.and_then(|routes| routes.get(intid as usize)).and_then(|route| route.target()) {
                    Some((owner, slot)) => {
                        gic::drop_priority(intid);
                        if owner == self.occupant && self.loaded() {
                            self.list(owner, slot, intid);
                        } else {
                            self.queue(owner, slot, intid);
                        }
                    }
                    None => gic::end(intid),
                },
            }
        }
    }

    /// Another core's kernel rang this one (SGI 0): raises the notify
    /// interrupts of the channels posted to this core in their readers here
    /// (`channels::take`); a ring with nothing posted is the link check of
    /// the first frame (`frame_completed`) and is recorded.
    /// `cargo xtask bench` watches this function's first instruction.
    #[cold]
    #[inline(never)]
    fn rung(&mut self) {
        let mut posted = false;
        let core = self.core;
        channels::take(core, |id| {
            posted = true;
            if let Some(channel) = SYSTEM.channels.get(id) {
                self.raise_notify(channel.readers);
            }
        });
        if health::take_monitor(core) {
            posted = true;
            self.notify_monitor();
        }
        // The shared console's line, given back by the other core: the idle
        // loop drains again after this.
        posted |= crate::console::take_line_offer(core);
        let (first, count) = (self.partitions.first, self.partitions.len());
        let by = SYSTEM.monitor.map_or(0, |monitor| monitor.partition);
        health::take_requests(core, first, count, |id, op| {
            posted = true;
            // Checked on the monitor's core but resume: a resume of a
            // partition that is not suspended is refused here, silently
            // to the monitor, which sees the outcome in the log.
            let _ = self.control(id as PartitionId, op, by);
        });
        if !posted {
            self.console.record(Event::CoreRing { core: self.core as u8, frame: self.cursor.frame() });
        }
    }

    /// Raises the notify interrupt of each of `readers` that runs on this
    /// core: listed now if it is the one loaded, else queued for its next
    /// window. Halted or restarting readers get nothing (a restart resets
    /// its virtual GIC anyway).
    fn raise_notify(&mut self, readers: &[ChannelReader]) {
        for reader in readers {
            self.raise_notify_one(reader);
        }
    }

    /// [`Kernel::raise_notify`] for one reader.
    #[inline(always)]
    fn raise_notify_one(&mut self, reader: &ChannelReader) {
        let (Some(intid), Some(desc)) = (reader.notify, SYSTEM.partition(reader.partition)) else { return };
        if desc.core as usize != self.core {
            return;
        }
        // The generator placed the SGI at `reader.slot` (the tables' check);
        // one look confirms it, so no slot outside its interrupts is used.
        let slot = reader.slot as usize;
        if desc.interrupts.get(slot) != Some(&intid) {
            return;
        }
        let loaded = self.loaded() && self.occupant == reader.partition;
        let Some(partition) = self.partitions.get_mut(reader.partition as usize) else { return };
        if partition.status != Status::Ready {
            return;
        }
        partition.vgic.queue_slot(slot, false);
        if loaded {
            // Listed at once, as a physical interrupt of its own would
            // be (`list`): one list register written in the common case.
            self.list_queued(reader.partition, slot, intid);
        }
    }

    /// `PortNotify` by `caller` on `channel`: raises the notify interrupt
    /// of its readers on this core, posts it to every other core that has
    /// one and rings each of those once.
    fn notify_channel(&mut self, caller: PartitionId, channel: u32) -> Result<(), abi::Error> {
        let desc = channels::channel(channel)?;
        let readers = channels::notify_targets(caller, desc)?;
        self.raise_notify(readers);
        let mut rung = 0u32;
        for reader in readers.iter().filter(|reader| reader.notify.is_some()) {
            let Some(core) = SYSTEM.partition(reader.partition).map(|p| p.core as usize) else { continue };
            if core != self.core && rung & (1 << core) == 0 {
                rung |= 1 << core;
                if channels::post(core, channel as usize) {
                    gic::ring(&SYSTEM.board, core);
                }
            }
        }
        Ok(())
    }

    /// Whether the occupant's whole state is in the CPU (it runs, or yielded
    /// the rest of its window).
    #[inline(always)]
    fn loaded(&self) -> bool {
        self.held as u8 >= Held::Yielded as u8
    }

    /// A physical interrupt of the loaded partition `id` arrived
    /// (acknowledged, priority dropped, still active), `slot` in its
    /// interrupt list: lists it. A loaded partition is `Ready`.
    #[inline(always)]
    fn list(&mut self, id: PartitionId, slot: usize, intid: u16) {
        let Some(partition) = self.partitions.get_mut(id as usize) else { return };
        partition.vgic.queue_slot(slot, true);
        if SYSTEM.trace.interrupts {
            let observed = timer::now();
            self.console.record(Event::Irq { partition: id, intid, observed, listed: true });
        }
        self.list_queued(id, slot, intid);
    }

    /// Hands the loaded partition `id` its interrupt `intid` (slot `slot`),
    /// just queued in its virtual GIC.
    #[inline(always)]
    fn list_queued(&mut self, id: PartitionId, slot: usize, intid: u16) {
        // The common case, one interrupt and an empty list register, takes
        // the fast path; anything else is refill's to order.
        let empty = virtual_interface::empty_list_registers();
        let Some(partition) = self.partitions.get_mut(id as usize) else { return };
        match partition.vgic.list_directly(slot, intid, empty, virtual_interface::listed_intid) {
            Some((register, lr)) => virtual_interface::write_list_register(register, lr),
            // Every list register in use and none it could displace: it
            // waits (a storm of one partition's interrupts costs a few
            // dozen instructions each, not a refill each).
            None if empty & ALL_LIST_REGISTERS == 0
                && !partition.vgic.can_displace(slot, &virtual_interface::read_list_registers()) =>
            {
                virtual_interface::enable(true);
            }
            None => self.refill_list_registers(id),
        }
    }

    /// A physical interrupt of partition `id`, which is not loaded, arrived
    /// (acknowledged, priority dropped, still active): queues it for its
    /// next window.
    ///
    /// A partition's SPIs are enabled only in its own windows, so this is
    /// one already in flight when its window ended; it stays active (so it
    /// cannot arrive again) until its owner ends it.
    #[cold]
    #[inline(never)]
    fn queue(&mut self, id: PartitionId, slot: usize, intid: u16) {
        let Some(partition) = self.partitions.get_mut(id as usize) else { return };
        if partition.status != Status::Ready {
            // Halted, or restarting (which resets its interrupts anyway):
            // nobody to deliver to. Only this interrupt is deactivated; its
            // owner's SPIs were quiesced when it stopped.
            gic::deactivate(intid);
            return;
        }
        partition.vgic.queue_slot(slot, true);
        if SYSTEM.trace.interrupts {
            let observed = timer::now();
            self.console.record(Event::Irq { partition: id, intid, observed, listed: false });
        }
    }

    /// Moves partition `id`'s queued interrupts into the list registers. Its
    /// virtual interface must be loaded.
    fn refill_list_registers(&mut self, id: PartitionId) {
        let Some(desc) = SYSTEM.partition(id) else { return };
        let Some(partition) = self.partitions.get_mut(id as usize) else { return };
        let mut lrs = virtual_interface::read_list_registers();
        let written = partition.vgic.refill(desc.interrupts, &mut lrs);
        virtual_interface::write_list_registers(&lrs, written);
        virtual_interface::enable(partition.vgic.has_queued());
    }

    /// The hyp timer fired: the current window is over.
    fn window_boundary(&mut self) {
        let now = timer::now_at_boundary();
        let schedule = self.schedule();
        // The scheduled end of this window is the next one's start.
        let boundary = self.cursor.window_end();
        self.switch_out(boundary, now);
        if self.cursor.advance(schedule) {
            self.frame_completed();
        }
        timer::set_deadline(self.cursor.window_end());
        self.trace_window(now);
        self.start_window(boundary, now);
    }

    /// Empties the CPU at the end of a window that was scheduled to end at
    /// `scheduled_end`, observed at `now`.
    #[inline(always)]
    fn switch_out(&mut self, scheduled_end: u64, now: u64) {
        let (id, held) = (self.occupant, core::mem::replace(&mut self.held, Held::Nothing));
        match held {
            Held::Nothing => {}
            Held::Restoring => {
                if let Some(partition) = self.partitions.get_mut(id as usize) {
                    partition.clock.switch_out(scheduled_end, now);
                }
            }
            Held::Yielded | Held::Running => self.unload(id, scheduled_end, now),
        }
    }

    /// Saves partition `id`'s EL1 state and virtual CPU interface, masks its
    /// SPIs and stops its virtual time. Its regions stay in the EL2 MPU: the
    /// caller removes them (`start_window` replaces them with the next
    /// owner's, or with none, before anything else runs).
    #[inline(always)]
    fn unload(&mut self, id: PartitionId, scheduled_end: u64, now: u64) {
        let (Some(desc), Some(partition)) = (SYSTEM.partition(id), self.partitions.get_mut(id as usize)) else {
            return;
        };
        context::save(&mut partition.context);
        virtual_interface::save(&mut partition.vgic);
        // The virtual timer PPI is the core's, not the partition's: if this
        // partition has not ended its last tick yet, keep that for its return
        // and free the PPI for the next partition's timer.
        partition.vgic.timer_active = self.gic.is_active(VIRTUAL_TIMER);
        if partition.vgic.timer_active {
            self.gic.clear_active(VIRTUAL_TIMER);
        }
        // Its SPIs wait, disabled, until its next window: none can reach EL2
        // in another partition's time.
        let mut words = partition.spi_words_enabled;
        while words != 0 {
            let n = words.trailing_zeros() as usize;
            words &= words - 1;
            if let (Some(word), Some(enabled)) = (desc.spis.get(n), partition.spi_enabled.get(n)) {
                self.gic.mask(*word, *enabled);
            }
        }
        partition.clock.switch_out(scheduled_end, now);
        // Ignored GIC accesses past the window's four logged lines are
        // counted, never lost: what the next logged line did not report is
        // reported as the window ends.
        // Ignored GIC accesses past the window's logged lines are counted,
        // never lost: what no logged line reported is set aside here (three
        // stores) and logged when the kernel is next idle.
        if partition.ignored_unlogged != 0 {
            self.set_aside_unlogged(id);
        }
    }

    /// Moves partition `id`'s count of unlogged ignored accesses, as its
    /// window ends, to what `report_unlogged` logs when the kernel is idle.
    #[cold]
    #[inline(never)]
    fn set_aside_unlogged(&mut self, id: PartitionId) {
        let frame_now = self.cursor.frame();
        let Some(partition) = self.partitions.get_mut(id as usize) else { return };
        let (count, frame) = partition.ended_unlogged;
        let first = if count == 0 { frame_now } else { frame };
        partition.ended_unlogged = (count.saturating_add(core::mem::take(&mut partition.ignored_unlogged)), first);
        self.unlogged_pending = true;
    }

    /// Logs the ignored GIC accesses of ended windows that no logged line
    /// reported (`@vgic-ignored NAME unlogged=N major-frame=F`). Called when the
    /// kernel is idle.
    #[cold]
    #[inline(never)]
    fn report_unlogged(&mut self) {
        self.unlogged_pending = false;
        for (id, partition) in self.partitions.iter_mut() {
            let (count, frame) = core::mem::take(&mut partition.ended_unlogged);
            if count != 0 {
                self.console.record(Event::VgicIgnoredUnlogged { partition: id, count, frame });
            }
        }
    }

    /// Starts the current window's owner: loads it, or lets its restore
    /// continue. Either way the EL2 MPU holds exactly the owner's regions
    /// afterwards, or none (an idle window, a halted owner).
    ///
    /// Never inlined: `cargo xtask bench` watches its first instruction to
    /// tell window boundaries from other interrupts.
    #[inline(never)]
    fn start_window(&mut self, scheduled: u64, now: u64) {
        let owner = self.cursor.owner(&self.schedule());
        let (Some(id), Some(desc)) = (owner, owner.and_then(|id| SYSTEM.partition(id))) else {
            mpu::load_partition(&[]);
            return;
        };
        let Some(partition) = self.partitions.get_mut(id as usize) else { return };
        match partition.status {
            Status::Halted | Status::Suspended => mpu::load_partition(&[]),
            Status::Ready => {
                mpu::load_partition(desc.regions);
                // Observed as late as possible: the later the tick, the more
                // room to take back ticks its time got ahead when its last
                // window ended late (see `vtime`).
                // Its watchdog, checked where its time stands: where its last
                // window left it (read before the switch-in moves the
                // offset; nothing at all for a partition without one).
                let deadline = desc.health.watchdog;
                let expired = (deadline != 0)
                    .then(|| partition.clock.stopped_at())
                    .filter(|stopped| hm::watchdog_expired(deadline, partition.kicked, *stopped));
                let offset = partition.clock.switch_in(scheduled, timer::now());
                if let Some(stopped) = expired
                    && !self.watchdog_expired(id, scheduled, stopped)
                {
                    return;
                }
                self.load(id, offset);
            }
            Status::Restoring { .. } => {
                mpu::load_partition(desc.regions);
                partition.clock.switch_in(scheduled, now);
                self.occupant = id;
                self.held = Held::Restoring;
            }
        }
    }

    /// Loads partition `id`'s EL1 state and virtual CPU interface (its
    /// regions are loaded), unmasks its SPIs and hands it what is queued.
    #[inline(always)]
    fn load(&mut self, id: PartitionId, virtual_offset: u64) {
        let (Some(desc), Some(partition)) = (SYSTEM.partition(id), self.partitions.get_mut(id as usize)) else {
            return;
        };
        partition.ignored_logged = 0;
        context::restore(&partition.context);
        if partition.vgic.timer_active {
            self.gic.set_active(VIRTUAL_TIMER);
        }
        virtual_interface::restore(&partition.vgic);
        timer::set_virtual_offset(virtual_offset);
        let mut words = partition.spi_words_enabled;
        while words != 0 {
            let n = words.trailing_zeros() as usize;
            words &= words - 1;
            if let (Some(word), Some(enabled)) = (desc.spis.get(n), partition.spi_enabled.get(n)) {
                self.gic.unmask(*word, *enabled);
            }
        }
        self.occupant = id;
        self.running_frame = &mut partition.context.frame;
        self.held = Held::Running;
        if partition.vgic.has_queued() {
            if SYSTEM.trace.interrupts {
                self.trace_listed(id);
            }
            self.refill_list_registers(id);
        } else {
            virtual_interface::enable(false);
        }
    }

    /// One bounded step of partition `id`'s restart, in its own window:
    /// three reset steps (its EL1 context; its virtual GIC and interrupt
    /// bookkeeping; its console state and the `@restart` record), each a
    /// few hundred instructions, then its RAM a few hundred bytes at a time;
    /// after the last step it is loaded and runs. Returns `true` (there was
    /// work).
    #[cold]
    #[inline(never)]
    fn restore_step(&mut self, id: PartitionId) -> bool {
        let (Some(desc), Some(partition)) = (SYSTEM.partition(id), self.partitions.get_mut(id as usize)) else {
            return false;
        };
        let Status::Restoring { progress, reset } = &mut partition.status else { return false };
        match *reset {
            0 => {
                *reset = 1;
                partition.restarts += 1;
                partition.context.reset_to_entry(desc.entry, desc.initial_sp, self.reset_sctlr, id, partition.restarts);
            }
            1 => {
                *reset = 2;
                // Everything of its interrupt controller, as at reset:
                // enables, priorities, list registers, active priorities,
                // its timer.
                partition.vgic = Vgic::at_reset(desc.interrupts, SYSTEM.edge_spis);
                for enabled in partition.spi_enabled.iter_mut().take(desc.spis.len()) {
                    *enabled = 0;
                }
                partition.spi_words_enabled = 0;
                partition.ignored_unlogged = 0;
            }
            2 => {
                *reset = 3;
                let count = partition.restarts;
                self.console.abandon_partial(id);
                self.console.record(Event::Restart { partition: id, count });
            }
            _ => match progress.next_step(&desc.init, desc.clears, RESTORE_STEP_BYTES) {
                Some(step) => partition_memory::apply(step),
                None => {
                    partition.status = Status::Ready;
                    // Its watchdog starts again with it.
                    partition.kicked = partition.clock.virtual_now(timer::now());
                    let offset = partition.clock.offset();
                    self.load(id, offset);
                }
            },
        }
        true
    }

    /// Records the interrupts about to be listed for partition `id` at the
    /// start of its window.
    #[cold]
    #[inline(never)]
    fn trace_listed(&mut self, id: PartitionId) {
        let (Some(desc), Some(partition)) = (SYSTEM.partition(id), self.partitions.get(id as usize)) else { return };
        let tick = timer::now();
        for (index, intid) in desc.interrupts.iter().enumerate() {
            if partition.vgic.is_queued(index) && partition.vgic.is_enabled(index) {
                self.console.record(Event::Virq { partition: id, intid: *intid, tick });
            }
        }
    }

    /// A major frame ended; stops this core if that was the last one asked
    /// for, after printing everything still queued, and ends the run when
    /// every scheduled core has stopped.
    #[cold]
    #[inline(never)]
    fn frame_completed(&mut self) {
        let done = self.cursor.frame();
        // The link check: after its first frame, core 0 rings every other
        // scheduled core's kernel once (each logs `@core-ring`). A few
        // instructions on this path, once.
        if done == 1 && self.core == 0 {
            for (core, desc) in SYSTEM.cores.iter().enumerate().skip(1) {
                if desc.schedule.is_some() {
                    gic::ring(&SYSTEM.board, core);
                }
            }
        }
        if self.options.stop_after_frames.is_some_and(|frames| frames == done) {
            // SAFETY: as in `uart`; nothing else writes the UART any more.
            let mut flush = unsafe { Flush::new(SYSTEM.board.console_base) };
            while self.console.drain(Allowed::Any, usize::MAX, partition_name, &mut flush, || usize::MAX).more {}
            let dropped = self.console.dropped_total() + crate::console::dropped();
            direct()
                .record(kind::FRAMES_DONE)
                .dec("count", done)
                .dec("console-dropped", dropped as u64)
                .dec("core", self.core as u64)
                .end();
            // Its partitions stop with it (the last window's owner was
            // switched out at this boundary): nothing of them runs again.
            mpu::load_partition(&[]);
            timer::stop();
            gic::mask_all();
            if smp::finished() {
                crate::panic::stop(self.options, true);
            }
            loop {
                cpu::wait_for_interrupt();
            }
        }
    }

    fn trace_window(&mut self, observed: u64) {
        if !SYSTEM.trace.windows {
            return;
        }
        let schedule = self.schedule();
        self.console.record(Event::Window {
            frame: self.cursor.frame(),
            index: self.cursor.window_index() as u16,
            owner: self.cursor.owner(schedule),
            scheduled: self.cursor.window_start(),
            observed,
        });
    }

    /// A synchronous exception from the running partition.
    fn on_trap(&mut self) {
        let id = self.occupant;
        if !matches!(self.held, Held::Running) {
            crate::panic::stop_with("trap-without-partition", 0, cpu::syndrome(), 0);
        }
        let hsr = cpu::syndrome();
        match ExceptionClass::of(hsr) {
            ExceptionClass::Hvc => self.hypercall(id, hsr),
            ExceptionClass::DataAbortLower if self.emulate_gic_access(id, hsr, cpu::data_fault_address()) => {}
            ExceptionClass::Cp15Transfer if self.emulate_cp15(id, hsr) => {}
            class => {
                let (kind, address) = match class {
                    ExceptionClass::DataAbortLower => {
                        let address = cpu::data_fault_address();
                        // In the GIC's frames, but not an access the virtual
                        // GIC emulates.
                        let misuse = gic_frame(address as usize, self.core).is_some();
                        (if misuse { ErrorKind::VgicMisuse } else { ErrorKind::Fault }, address)
                    }
                    ExceptionClass::PrefetchAbortLower => (ErrorKind::Fault, cpu::instruction_fault_address()),
                    _ => (ErrorKind::Undefined, self.partitions.get(id as usize).map_or(0, |p| p.context.frame.elr)),
                };
                self.fault(id, kind, class.name(), ("hsr", hsr), address)
            }
        }
    }

    fn hypercall(&mut self, id: PartitionId, hsr: u32) {
        let Some(desc) = SYSTEM.partition(id) else { return };
        let Some(partition) = self.partitions.get_mut(id as usize) else { return };
        let frame = &mut partition.context.frame;
        let call = if hvc_immediate(hsr) == abi::HVC_IMMEDIATE { Call::from_number(frame.r[0]) } else { None };
        let status: Result<(), abi::Error> = match call {
            Some(Call::Yield) => {
                self.held = Held::Yielded;
                Ok(())
            }
            Some(Call::PartitionTime) => {
                let time = partition.clock.virtual_now(timer::now());
                frame.r[1] = time as u32;
                frame.r[2] = (time >> 32) as u32;
                frame.r[3] = SYSTEM.timer_hz;
                Ok(())
            }
            Some(Call::PartitionId) => {
                frame.r[1] = id as u32;
                frame.r[2] = SYSTEM.partitions.len() as u32;
                frame.r[3] = partition.restarts;
                Ok(())
            }
            Some(Call::ConsoleWrite) => {
                let (address, length) = (frame.r[1], frame.r[2]);
                if length > abi::CONSOLE_WRITE_MAX {
                    Err(abi::Error::TooLong)
                } else {
                    UserBytes::readable(desc.grants, address, length).map(|bytes| {
                        // Bounded by the length, and by the window: a
                        // boundary that falls during the copy ends it (after
                        // at least the first piece), and the caller writes
                        // the rest again in its next window.
                        let mut source = bytes.bytes();
                        let mut accepted = 0;
                        loop {
                            let taken = self.console.feed_some(id, &mut source, CONSOLE_BYTES_PER_CHECK);
                            accepted += taken;
                            if taken < CONSOLE_BYTES_PER_CHECK || timer::boundary_due() {
                                break;
                            }
                        }
                        // Its own lines are printed in its own time, whole,
                        // and only while they fit before its window ends
                        // (not at all once the boundary is due).
                        if !timer::boundary_due() {
                            let room = console_room(self.cursor.window_end());
                            let only = Allowed::Only(id);
                            self.console.drain(only, CONSOLE_DRAIN_BYTES, partition_name, &mut uart(), room);
                        }
                        frame.r[1] = accepted;
                    })
                }
            }
            Some(Call::StopSelf) => {
                let code = frame.r[1];
                frame.r[0] = abi::OK;
                self.retire(id, Status::Halted, "stop", Some(code));
                return;
            }
            Some(Call::ReportFault) => {
                let kind = El1Exception::from_number(frame.r[1]).unwrap_or(El1Exception::Unexpected);
                let (address, status) = (frame.r[2], frame.r[3]);
                self.fault(id, ErrorKind::Reported, kind.name(), ("status", status), address);
                return;
            }
            Some(Call::SystemTime) => {
                let time = timer::now().wrapping_sub(self.epoch);
                frame.r[1] = time as u32;
                frame.r[2] = (time >> 32) as u32;
                frame.r[3] = SYSTEM.timer_hz;
                Ok(())
            }
            Some(Call::SystemEpoch) => {
                frame.r[1] = self.epoch as u32;
                frame.r[2] = (self.epoch >> 32) as u32;
                frame.r[3] = SYSTEM.timer_hz;
                Ok(())
            }
            Some(Call::QueueAck) => {
                let (channel, consumed) = (frame.r[1], frame.r[2]);
                channels::channel(channel).and_then(|channel| channels::ack(id, desc, channel, consumed))
            }
            Some(Call::PortNotify) => {
                let channel = frame.r[1];
                self.notify_channel(id, channel)
            }
            Some(Call::WatchdogKick) => {
                if desc.health.watchdog == 0 {
                    Err(abi::Error::Denied)
                } else {
                    partition.kicked = partition.clock.virtual_now(timer::now());
                    Ok(())
                }
            }
            Some(Call::HealthReport) => {
                let (kind, detail) = (frame.r[1], frame.r[2]);
                match ErrorKind::from_number(kind) {
                    Some(ErrorKind::PortOverflow) => match channels::channel(detail) {
                        Ok(channel) if channel.writer == id && matches!(channel.kind, ChannelKind::Queuing { .. }) => {
                            // The caller goes on only if the action is `log`;
                            // otherwise it has left the CPU and `r0` is
                            // what a resume after `monitor` returns.
                            self.health_error(id, ErrorKind::PortOverflow, detail, 0);
                            Ok(())
                        }
                        Ok(_) => Err(abi::Error::Denied),
                        Err(error) => Err(error),
                    },
                    _ => Err(abi::Error::BadArgument),
                }
            }
            Some(Call::HealthLog) => {
                let (core, number, buffer) = (frame.r[1], frame.r[2], frame.r[3]);
                if !is_monitor(id) {
                    Err(abi::Error::Denied)
                } else if let Some(log) = health::log(core as usize) {
                    frame.r[1] = log.newest();
                    frame.r[2] = log.oldest();
                    UserWords::writable(desc.grants, buffer, LOG_ENTRY_WORDS as u32).and_then(|out| {
                        // A read that races the writer finds the entry being
                        // overwritten by a newer one: it is gone either way.
                        match log.read(number) {
                            LogRead::Entry(entry) => {
                                out.write(&entry.to_words());
                                Ok(())
                            }
                            LogRead::Missing | LogRead::Raced => Err(abi::Error::BadArgument),
                        }
                    })
                } else {
                    frame.r[1] = 0;
                    frame.r[2] = 0;
                    Err(abi::Error::BadArgument)
                }
            }
            Some(Call::PartitionControl) => {
                let (target, op) = (frame.r[1], frame.r[2]);
                self.partition_control(id, target, op)
            }
            None => Err(abi::Error::UnknownCall),
        };
        if let Some(partition) = self.partitions.get_mut(id as usize) {
            partition.context.frame.r[0] = match status {
                Ok(()) => abi::OK,
                Err(error) => error as u32,
            };
        }
    }

    /// A trapped `MCR`/`MRC`: emulates what `arch::traps` traps on purpose
    /// to emulate: cache and TLB maintenance (`arch::cache` says what each
    /// becomes) and reads of `CBAR` (the GIC's base, which a guest may use to
    /// find its interrupt controller). Returns `false` for anything else,
    /// and for maintenance of memory the partition may not use; the
    /// partition's fault policy applies.
    #[cold]
    #[inline(never)]
    fn emulate_cp15(&mut self, id: PartitionId, hsr: u32) -> bool {
        let (Some(desc), Some(partition)) = (SYSTEM.partition(id), self.partitions.get_mut(id as usize)) else {
            return false;
        };
        let access = Cp15Access::decode(hsr);
        let mut registers = TrappedRegisters { frame: &mut partition.context.frame };
        let passed = access.condition_passed(registers.frame.spsr);
        let cbar = access.read && (access.opc1, access.crn, access.crm, access.opc2) == (1, 15, 3, 0);
        if cbar {
            if passed && !registers.write(access.rt, SYSTEM.board.gicd_base as u32) {
                return false;
            }
        } else {
            let Some(operation) = cache::Operation::of(&access) else { return false };
            let Some(value) = registers.read(access.rt) else { return false };
            if passed && !cache::perform(operation, value, desc.grants) {
                return false;
            }
        }
        let frame = &mut partition.context.frame;
        frame.elr += if hsr & (1 << 25) != 0 { 4 } else { 2 };
        if frame.spsr & SPSR_THUMB != 0 {
            frame.spsr = advance_it_state(frame.spsr);
        }
        true
    }

    /// A stage-2 data abort in the GIC's frames: emulates the partition's view
    /// of its distributor and redistributor. Returns `false` when the access
    /// is not one the kernel emulates (outside the frames, a register it
    /// cannot address, a refused size or alignment, or no syndrome and not an
    /// `LDRD`/`STRD`), and the partition's fault policy applies.
    #[inline(never)]
    fn emulate_gic_access(&mut self, id: PartitionId, hsr: u32, address: u32) -> bool {
        let Some((frame, offset)) = gic_frame(address as usize, self.core) else { return false };
        let abort = DataAbort::decode(hsr);
        let (Some(desc), Some(partition)) = (SYSTEM.partition(id), self.partitions.get(id as usize)) else {
            return false;
        };
        // The access: from the syndrome, or (writeback forms, LDRD/STRD, which
        // carry none) decoded from the instruction in the partition's memory.
        let transfer = match Transfer::from_syndrome(&abort) {
            Some(transfer) => transfer,
            None if abort.valid => return false,
            None => {
                let pc = partition.context.frame.elr;
                let thumb = partition.context.frame.spsr & SPSR_THUMB != 0;
                let Some(word) = read_instruction(desc, pc, thumb) else { return false };
                let Some(partition) = self.partitions.get_mut(id as usize) else { return false };
                let registers = TrappedRegisters { frame: &mut partition.context.frame };
                let Some(transfer) = Transfer::decode(word, thumb, |n| registers.read(n).unwrap_or(0)) else {
                    return false;
                };
                transfer
            }
        };
        // `Transfer::complete`, written out so that each access's effects on
        // the physical GIC are applied before the next: register by
        // register, then the base.
        let mut ignored = false;
        for (register, delta) in transfer.accesses().into_iter().flatten() {
            let Some(partition) = self.partitions.get_mut(id as usize) else { return false };
            let mut registers = TrappedRegisters { frame: &mut partition.context.frame };
            let write = if transfer.load {
                None
            } else {
                let Some(value) = registers.read(register) else { return false };
                Some(transfer.stored(value))
            };
            let access = Access { frame, offset: offset as u32 + delta, size: transfer.size, write };
            let Ok(outcome) = vgic::emulate(&mut partition.vgic, desc.interrupts, desc.spis, &self.gic_facts, access)
            else {
                return false;
            };
            if transfer.load && !registers.write(register, transfer.loaded(outcome.value)) {
                return false;
            }
            ignored |= outcome.ignored();
            ignored |= !self.apply_gic_effects(id, &outcome.effects);
        }
        if let Some((base, value)) = transfer.writeback
            && let Some(partition) = self.partitions.get_mut(id as usize)
            && !(TrappedRegisters { frame: &mut partition.context.frame }).write(base, value)
        {
            return false;
        }
        let Some(partition) = self.partitions.get_mut(id as usize) else { return false };
        // Resume after the access: 4 bytes, or 2 for a 16-bit Thumb instruction
        // (decoded instructions are always 32-bit).
        partition.context.frame.elr += if hsr & (1 << 25) != 0 || !abort.valid { 4 } else { 2 };
        if partition.context.frame.spsr & SPSR_THUMB != 0 {
            partition.context.frame.spsr = advance_it_state(partition.context.frame.spsr);
        }
        if ignored && partition.ignored_logged >= IGNORED_LOG_LIMIT {
            partition.ignored_unlogged += 1;
        } else if ignored {
            partition.ignored_logged += 1;
            let frame_name = match frame {
                Frame::Distributor => "gicd",
                Frame::Redistributor => "gicr",
                Frame::RedistributorSgi => "gicr-sgi",
                Frame::OtherRedistributor => "other-gicr",
            };
            let unlogged_before = core::mem::take(&mut partition.ignored_unlogged);
            self.console.record(Event::VgicIgnored {
                partition: id,
                frame: frame_name,
                offset: offset as u32,
                write: !transfer.load,
                unlogged_before,
            });
        }
        true
    }

    /// Applies the physical side of an emulated GIC access by partition
    /// `id`: one list-register pass, one register write, then a refill,
    /// however many interrupts the access named. Returns `false` if the
    /// access changed a trigger (`GICD_ICFGR`), which reaches the virtual
    /// distributor only: the kernel logs it as ignored by the hardware.
    #[inline(always)]
    fn apply_gic_effects(&mut self, id: PartitionId, effects: &Effects) -> bool {
        let plan = effects.plan();
        if plan.unlist != 0 {
            unlist(plan.base, plan.unlist);
        }
        if let Some((register, mask)) = plan.write {
            self.gic.write_bits(register, plan.base, mask);
            // Enables are remembered per word, to be undone and redone at the
            // partition's window ends and starts.
            if let (Some(desc), Some(partition)) = (SYSTEM.partition(id), self.partitions.get_mut(id as usize))
                && let Some(position) = desc.spis.iter().position(|word| word.word as u16 == plan.base / 32)
                && let Some(enabled) = partition.spi_enabled.get_mut(position)
            {
                match register {
                    BitWrite::SetEnable => *enabled |= mask,
                    BitWrite::ClearEnable => *enabled &= !mask,
                    _ => {}
                }
                let bit = 1u32.checked_shl(position as u32).unwrap_or(0);
                if *enabled != 0 {
                    partition.spi_words_enabled |= bit;
                } else {
                    partition.spi_words_enabled &= !bit;
                }
            }
        }
        if plan.refill {
            self.refill_list_registers(id);
        }
        // The physical trigger is the board's (`SystemDesc::edge_spis`); a
        // change the partition wrote stays in its virtual distributor.
        plan.trigger == 0
    }

    /// The partition did something only a fault explains: record it (its
    /// class, the syndrome the hardware or the partition gave, the address)
    /// and let the health monitor act on it as an error of `kind`.
    #[cold]
    #[inline(never)]
    fn fault(
        &mut self,
        id: PartitionId,
        kind: ErrorKind,
        class: &'static str,
        syndrome: (&'static str, u32),
        address: u32,
    ) {
        let pc = self.partitions.get(id as usize).map_or(0, |p| p.context.frame.elr);
        let Some(decision) = self.decide(id, kind) else { return };
        self.console.record(Event::Fault {
            partition: id,
            class,
            syndrome_key: syndrome.0,
            syndrome: syndrome.1,
            address,
            pc,
            policy: decision.action.name(),
        });
        self.act(id, kind, decision, address, pc);
    }

    /// The health monitor's decision on partition `id`'s error of `kind`
    /// (a restart within the limit is recorded in its history).
    fn decide(&mut self, id: PartitionId, kind: ErrorKind) -> Option<hm::Decision> {
        let frame = self.cursor.frame();
        let (Some(desc), Some(partition)) = (SYSTEM.partition(id), self.partitions.get_mut(id as usize)) else {
            return None;
        };
        Some(hm::decide(&desc.health, kind, &mut partition.history, frame))
    }

    /// Partition `id`'s error of `kind` (with two words of detail for the
    /// log): decides the action (its restart limit included), logs it in
    /// this core's error log and on the console, and takes it. Returns the
    /// action; for any but `log` the partition has left the CPU.
    #[cold]
    #[inline(never)]
    fn health_error(&mut self, id: PartitionId, kind: ErrorKind, detail: u32, detail2: u32) -> HealthAction {
        let Some(decision) = self.decide(id, kind) else { return HealthAction::Log };
        self.act(id, kind, decision, detail, detail2)
    }

    /// Takes the action `decision` chose for partition `id`'s error of
    /// `kind`, and logs it. Returns the action.
    ///
    /// A stopping action takes the partition off the CPU first; its log
    /// entry, `@health` record and the monitor's notification are left
    /// pending (a few stores) and published by the next bounded step of
    /// `wait_for_runnable`, which the rest of its window (idle, or its
    /// restore) reaches at once. So a fault that lands on a window boundary
    /// delays the next window by no more than before the health monitor
    /// (`tests/system/tests/two_cores.rs` times it). A `log` action is
    /// published now: the partition goes on, in its own time.
    fn act(
        &mut self,
        id: PartitionId,
        kind: ErrorKind,
        decision: hm::Decision,
        detail: u32,
        detail2: u32,
    ) -> HealthAction {
        let Some(partition) = self.partitions.get_mut(id as usize) else { return decision.action };
        let error = PendingError {
            kind,
            decision,
            detail,
            detail2,
            time: timer::now().wrapping_sub(self.epoch),
            restarts: partition.history.count(),
        };
        let action = decision.action;
        if action == HealthAction::Log {
            self.publish(id, error);
            return action;
        }
        let earlier = core::mem::replace(&mut partition.pending, error);
        if core::mem::replace(&mut partition.has_pending, true) {
            // Never left unpublished until the next error in practice (its
            // windows are idle or its restore until then); if so, in order.
            self.publish(id, earlier);
        }
        self.errors_pending = true;
        let reason = match (decision.limit_reached, kind) {
            (true, _) => ErrorKind::RestartLimit.name(),
            (false, ErrorKind::Watchdog | ErrorKind::PortOverflow) => kind.name(),
            (false, _) => "fault",
        };
        match action {
            HealthAction::Log => {}
            HealthAction::Restart => self.retire(id, restoring(false), reason, None),
            HealthAction::RestartCold => self.retire(id, restoring(true), reason, None),
            HealthAction::Halt => self.retire(id, Status::Halted, reason, None),
            HealthAction::Monitor => self.retire(id, Status::Suspended, reason, None),
        }
        action
    }

    /// Publishes one of this core's pending errors (a bounded step of
    /// `wait_for_runnable`). Returns whether there was one.
    #[cold]
    #[inline(never)]
    fn publish_pending(&mut self) -> bool {
        let found = self.partitions.iter_mut().find(|(_, partition)| partition.has_pending).map(|(id, partition)| {
            partition.has_pending = false;
            (id, partition.pending)
        });
        match found {
            Some((id, error)) => {
                self.publish(id, error);
                true
            }
            None => {
                self.errors_pending = false;
                false
            }
        }
    }

    /// Writes partition `id`'s `error` to this core's error log (and the
    /// restart limit's entry after it, if it was reached), records each on
    /// the console and, for the `monitor` action, tells the monitor (after
    /// the entry is in the log, so the monitor finds it).
    fn publish(&mut self, id: PartitionId, error: PendingError) {
        let action = error.decision.action;
        self.log_error(id, error.kind, action, error.detail, error.detail2, error.time);
        if error.decision.limit_reached {
            self.log_error(id, ErrorKind::RestartLimit, action, error.kind as u32, error.restarts, error.time);
        }
        if action == HealthAction::Monitor {
            self.notify_monitor();
        }
    }

    /// Appends an entry to this core's error log and records it on the
    /// console.
    fn log_error(
        &mut self,
        id: PartitionId,
        kind: ErrorKind,
        action: HealthAction,
        detail: u32,
        detail2: u32,
        time: u64,
    ) {
        let Some(log) = health::log(self.core) else { return };
        let entry = LogEntry {
            number: 0,
            core: self.core as u8,
            partition: id,
            kind: kind as u8,
            action: action as u8,
            detail,
            detail2,
            time,
        };
        let number = log.push(entry);
        self.console.record(Event::Health {
            partition: id,
            kind: kind.name(),
            action: action.name(),
            core: self.core as u8,
            number,
        });
    }

    /// Partition `id`'s watchdog expired, seen as its window starts (its
    /// regions loaded, its clock switched in, its state not loaded): acts
    /// on it in this window's time. Returns whether it may run now (the
    /// action was `log`: its watchdog starts again); otherwise the window
    /// goes on as its new status says (a restart's restore, or idle).
    #[cold]
    #[inline(never)]
    fn watchdog_expired(&mut self, id: PartitionId, scheduled: u64, stopped: u64) -> bool {
        let (deadline, kicked) = match (SYSTEM.partition(id), self.partitions.get(id as usize)) {
            (Some(desc), Some(partition)) => (desc.health.watchdog, partition.kicked),
            _ => return false,
        };
        let action = self.health_error(id, ErrorKind::Watchdog, deadline as u32, kicked as u32);
        let Some(partition) = self.partitions.get_mut(id as usize) else { return false };
        match (action, partition.status) {
            (HealthAction::Log, _) => {
                partition.kicked = stopped;
                true
            }
            (_, Status::Restoring { .. }) => {
                self.occupant = id;
                self.held = Held::Restoring;
                false
            }
            _ => {
                // It does not run in this window: its time stays where it
                // stopped.
                partition.clock.switch_out(scheduled, timer::now());
                mpu::load_partition(&[]);
                false
            }
        }
    }

    /// Raises the monitor's notify interrupt: here if it runs on this
    /// core, else posted to its core, which is rung.
    fn notify_monitor(&mut self) {
        let Some(monitor) = SYSTEM.monitor else { return };
        let Some(desc) = SYSTEM.partition(monitor.partition) else { return };
        if monitor.notify.is_none() {
            return;
        }
        let core = desc.core as usize;
        if core == self.core {
            let Some(intid) = monitor.notify else { return };
            let slot = Vgic::slot(desc.interrupts, intid).unwrap_or(0) as u8;
            self.raise_notify(&[ChannelReader { partition: monitor.partition, notify: monitor.notify, slot }]);
        } else if health::post_monitor(core) {
            gic::ring(&SYSTEM.board, core);
        }
    }

    /// `PartitionControl` by `caller`: only the monitor may, on another
    /// partition; one of this core's is changed now, another core's is
    /// asked for and that core rung.
    fn partition_control(&mut self, caller: PartitionId, target: u32, op: u32) -> Result<(), abi::Error> {
        if !is_monitor(caller) {
            return Err(abi::Error::Denied);
        }
        let op = ControlOp::from_number(op).ok_or(abi::Error::BadArgument)?;
        let target = PartitionId::try_from(target).map_err(|_| abi::Error::BadArgument)?;
        let desc = SYSTEM.partition(target).ok_or(abi::Error::BadArgument)?;
        if target == caller {
            return Err(abi::Error::BadArgument);
        }
        let core = desc.core as usize;
        if core == self.core {
            return self.control(target, op, caller);
        }
        if health::request(core, target as usize, op) {
            gic::ring(&SYSTEM.board, core);
        }
        Ok(())
    }

    /// Applies the monitor's `op` to partition `id` of this core (which is
    /// not the one running, or is taken off the CPU).
    #[cold]
    #[inline(never)]
    fn control(&mut self, id: PartitionId, op: ControlOp, by: PartitionId) -> Result<(), abi::Error> {
        let Some(partition) = self.partitions.get_mut(id as usize) else { return Err(abi::Error::BadArgument) };
        match op {
            ControlOp::Resume => {
                if partition.status != Status::Suspended {
                    return Err(abi::Error::BadArgument);
                }
                partition.status = Status::Ready;
                partition.kicked = partition.clock.stopped_at();
            }
            ControlOp::Halt => self.retire(id, Status::Halted, "monitor", None),
            ControlOp::Restart => self.retire(id, restoring(false), "monitor", None),
            ControlOp::RestartCold => self.retire(id, restoring(true), "monitor", None),
        }
        self.console.record(Event::Control { partition: id, op: op.name(), by });
        Ok(())
    }

    /// The running partition stops for the rest of its window: it leaves the
    /// CPU at once (so nothing of it, its virtual timer least of all, can
    /// fire in anyone's time), its SPIs are put back in their reset state,
    /// and it either halts for good or restarts in its next window.
    #[cold]
    #[inline(never)]
    fn retire(&mut self, id: PartitionId, next: Status, reason: &'static str, code: Option<u32>) {
        let Some(desc) = SYSTEM.partition(id) else { return };
        if self.occupant == id && self.loaded() {
            self.held = Held::Nothing;
            let scheduled_end = self.cursor.window_end();
            self.unload(id, scheduled_end, timer::now());
            mpu::load_partition(&[]);
        } else if self.occupant == id && self.held == Held::Restoring {
            // Stopped (or restarted afresh) in the middle of a restore.
            self.held = Held::Nothing;
            let scheduled_end = self.cursor.window_end();
            if let Some(partition) = self.partitions.get_mut(id as usize) {
                partition.clock.switch_out(scheduled_end, timer::now());
            }
            mpu::load_partition(&[]);
        }
        let Some(partition) = self.partitions.get_mut(id as usize) else { return };
        if next == Status::Suspended {
            // Its state is kept for a resume: its SPIs stay enabled as it
            // left them (masked while it does not run, like any partition
            // out of its window).
            partition.status = next;
            return;
        }
        for word in desc.spis {
            self.gic.quiesce(*word);
        }
        let Some(partition) = self.partitions.get_mut(id as usize) else { return };
        // Only the words it has (a whole-array clear is a 128-byte memset
        // on this path).
        for enabled in partition.spi_enabled.iter_mut().take(desc.spis.len()) {
            *enabled = 0;
        }
        partition.spi_words_enabled = 0;
        partition.status = next;
        if next == Status::Halted {
            self.console.record(Event::Halted { partition: id, reason, code });
        }
    }
}

/// Whether partition `id` is the monitor, the only one granted the
/// privileged health calls.
fn is_monitor(id: PartitionId) -> bool {
    SYSTEM.monitor.is_some_and(|monitor| monitor.partition == id)
}

/// The status of a partition whose restart begins: warm or cold.
const fn restoring(cold: bool) -> Status {
    Status::Restoring { progress: if cold { Restore::start_cold() } else { Restore::start() }, reset: 0 }
}
