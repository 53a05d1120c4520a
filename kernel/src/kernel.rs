//! The kernel proper: partitions' run-time state and every decision taken on
//! an entry from EL1.
//!
//! There are exactly two ways in: [`bulkhead_trap_from_el1`] (hypercalls,
//! stage-2 aborts, trapped instructions) and [`bulkhead_irq_from_el1`] (the
//! window timer). Both return the trap frame of the partition to resume; if
//! no partition may run (idle window, halted owner, yielded rest of window),
//! the kernel waits at EL2 with interrupts masked until the next window
//! boundary, so nothing runs outside its window.
//!
//! The kernel owns: which window is current ([`Cursor`]), which partition's
//! EL1 state and EL2 regions are loaded, each partition's status, restart
//! count, virtual clock and console line. It must never allocate, never wait
//! on a partition, and never panic on anything a partition does.

use crate::arch::context::{self, El1Context, TrapFrame};
use crate::arch::gic::{self, Gic};
use crate::arch::{cpu, entry, mpu, timer, traps, vgic as virtual_interface};
use crate::boot_params::{self, Options};
use crate::console::Console;
use crate::partition_memory::{self, UserBytes};
use crate::tables::{PARTITION_COUNT, SYSTEM};
use aarch32_cpu::register::{Sctlr, SysRegRead};
use bulkhead_abi::{self as abi, Call, El1Exception};
use bulkhead_kernel_core::line::LineBuffer;
use bulkhead_kernel_core::log::kind;
use bulkhead_kernel_core::schedule::Cursor;
use bulkhead_kernel_core::syndrome::{DataAbort, ExceptionClass, Transfer, hvc_immediate};
use bulkhead_kernel_core::tables::{FaultPolicy, PartitionDesc, PartitionId};
use bulkhead_kernel_core::vgic::{self, Access, Effect, FIRST_SPI, Frame, GicFacts, LrState, VIRTUAL_TIMER, Vgic};
use bulkhead_kernel_core::vtime::VirtualClock;
use core::cell::UnsafeCell;

/// Where a partition stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// Runs in its windows.
    Ready,
    /// Faulted with the `restart` policy: restored at its next window start.
    RestartPending,
    /// Never runs again; its windows stay idle.
    Halted,
}

/// Run-time state of one partition (its description is in flash).
struct Partition {
    context: El1Context,
    status: Status,
    restarts: u32,
    clock: VirtualClock,
    line: LineBuffer,
    /// Its interrupt controller as it sees it.
    vgic: Vgic,
    /// Ignored GIC accesses logged in the current window.
    ignored_logged: u8,
    /// Ignored GIC accesses not logged yet (reported with the next one).
    ignored_unlogged: u32,
}

/// Ignored GIC accesses logged per window. A guest's GIC set-up may touch
/// every interrupt; the rest are counted and reported with the next logged
/// one. Logging happens in the offender's own window, never at a boundary.
const IGNORED_LOG_LIMIT: u8 = 4;

impl Partition {
    const fn new() -> Partition {
        Partition {
            context: El1Context::zeroed(),
            status: Status::Ready,
            restarts: 0,
            clock: VirtualClock::new(),
            line: LineBuffer::new(),
            vgic: Vgic::new(),
            ignored_logged: 0,
            ignored_unlogged: 0,
        }
    }
}

/// All mutable kernel state of core 0.
pub struct Kernel {
    partitions: [Partition; PARTITION_COUNT],
    cursor: Cursor,
    /// The partition whose EL1 state and EL2 regions are in the CPU.
    loaded: Option<PartitionId>,
    /// Whether `loaded` may run for the rest of the current window.
    runnable: bool,
    /// EL1 `SCTLR` as the core came out of reset, given to every partition at
    /// its entry.
    reset_sctlr: u32,
    options: Options,
    /// What the virtual GICs report about the physical GIC.
    gic_facts: GicFacts,
}

/// The kernel's single instance, in `.bss`.
struct KernelCell(UnsafeCell<Kernel>);

// SAFETY: there is one core, and the kernel is only entered through `boot`
// (once, before any exception can be taken) and the two exception entry
// points, which never nest because the kernel runs with IRQ and FIQ masked.
unsafe impl Sync for KernelCell {}

static KERNEL: KernelCell = KernelCell(UnsafeCell::new(Kernel {
    partitions: [const { Partition::new() }; PARTITION_COUNT],
    cursor: Cursor::start(0),
    loaded: None,
    runnable: false,
    reset_sctlr: 0,
    options: Options { stop_after_frames: None, semihosting_exit: false },
    gic_facts: GicFacts { gicd_typer: 0, gicd_iidr: 0, pidr2: 0, gicr_iidr: 0, affinity: 0 },
}));

/// The GIC frame and offset of `address`, if it is in the distributor or a
/// redistributor.
fn gic_frame(address: usize) -> Option<(Frame, usize)> {
    const REDISTRIBUTOR_STRIDE: usize = 0x2_0000;
    let board = &SYSTEM.board;
    let frame_size = vgic::FRAME_SIZE as usize;
    if (board.gicd_base..board.gicd_base + frame_size).contains(&address) {
        return Some((Frame::Distributor, address - board.gicd_base));
    }
    if !(board.gicr_base..board.gicr_base + board.cores * REDISTRIBUTOR_STRIDE).contains(&address) {
        return None;
    }
    let relative = address - board.gicr_base;
    let within = relative % REDISTRIBUTOR_STRIDE;
    Some(match (relative / REDISTRIBUTOR_STRIDE, within >= frame_size) {
        (0, false) => (Frame::Redistributor, within),
        (0, true) => (Frame::RedistributorSgi, within - frame_size),
        _ => (Frame::OtherRedistributor, within),
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

/// Removes `intid` from the loaded partition's list registers.
fn unlist(intid: u16) {
    let mut lrs = virtual_interface::read_list_registers();
    let mut mask = 0;
    for (index, lr) in lrs.iter_mut().enumerate() {
        if lr.state() != LrState::Invalid && lr.intid() == intid {
            *lr = vgic::ListRegister(0);
            mask |= 1 << index;
        }
    }
    virtual_interface::write_list_registers(&lrs, mask);
}

/// The physical GIC (a handle on the board's frames; the kernel state stays
/// all zeros at reset, so it lives in `.bss`).
fn gic() -> Gic {
    Gic::new(SYSTEM.board.gicd_base, SYSTEM.board.gicr_base)
}

/// The kernel console.
fn console() -> Console {
    // SAFETY: the console base is the board's kernel UART, mapped by the
    // kernel's device region and written only by the kernel, which never runs
    // twice at once.
    unsafe { Console::new(SYSTEM.board.console_base) }
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

/// Starts the system: called once by the runtime's reset code on core 0.
pub fn boot() -> ! {
    unsafe extern "C" {
        static _hyp_stack_high_end: u8;
    }
    cpu::set_kernel_stack_top(&raw const _hyp_stack_high_end as usize);
    // SAFETY: boot runs once, before any exception can enter the kernel.
    let kernel = unsafe { KERNEL.get() };
    kernel.options = boot_params::read();
    kernel.reset_sctlr = Sctlr::read_raw();
    console().init();
    mpu::init(&SYSTEM.kernel_regions);
    traps::init();
    if !gic().init(SYSTEM.interrupt_routes) {
        crate::panic::stop_with("gic-init-failed", 0, 0, 0);
    }
    kernel.gic_facts = gic().facts();
    let frame = kernel.start();
    // SAFETY: `start` loaded the first partition (or idled until one could
    // run) and HTPIDR holds the stack top.
    unsafe { entry::enter_first(frame) }
}

/// Entry from the Hyp trap vector.
#[unsafe(no_mangle)]
extern "C" fn bulkhead_trap_from_el1(_frame: *mut TrapFrame) -> *mut TrapFrame {
    // SAFETY: an exception entry point; see `KernelCell`.
    let kernel = unsafe { KERNEL.get() };
    kernel.on_trap();
    kernel.next_frame()
}

/// Entry from the IRQ vector.
#[unsafe(no_mangle)]
extern "C" fn bulkhead_irq_from_el1(_frame: *mut TrapFrame) -> *mut TrapFrame {
    // SAFETY: an exception entry point; see `KernelCell`.
    let kernel = unsafe { KERNEL.get() };
    kernel.service_interrupts();
    kernel.next_frame()
}

impl Kernel {
    /// Prints the system, initialises every partition and starts window 0.
    fn start(&mut self) -> *mut TrapFrame {
        let schedule = &SYSTEM.schedule;
        console()
            .record(kind::BOOT)
            .text("system", SYSTEM.name)
            .text("board", SYSTEM.board.name)
            .dec("partitions", SYSTEM.partitions.len() as u64)
            .dec("timer-hz", SYSTEM.timer_hz as u64)
            .dec("frame-ticks", schedule.major_frame)
            .dec("windows", schedule.windows.len() as u64)
            .end();
        for (id, desc) in SYSTEM.partitions.iter().enumerate() {
            console()
                .record(kind::PARTITION)
                .word(desc.name)
                .dec("id", id as u64)
                .hex("entry", desc.entry)
                .dec("regions", desc.regions.len() as u64)
                .text("policy", desc.fault_policy.name())
                .end();
            mpu::load_partition(desc.regions);
            self.reset_partition(id as PartitionId);
        }
        mpu::load_partition(&[]);
        let now = timer::now();
        self.cursor = Cursor::start(now);
        timer::set_deadline(self.cursor.window_end(schedule));
        self.trace_window(now);
        self.start_window(now);
        self.next_frame()
    }

    /// The frame to return to EL1 with; waits at EL2 for the next window
    /// boundary until some partition may run.
    fn next_frame(&mut self) -> *mut TrapFrame {
        loop {
            if self.runnable
                && let Some(partition) = self.loaded.and_then(|id| self.partitions.get_mut(id as usize))
            {
                return &mut partition.context.frame;
            }
            cpu::wait_for_interrupt();
            self.service_interrupts();
        }
    }

    /// Acknowledges and handles every pending interrupt.
    fn service_interrupts(&mut self) {
        while let Some(intid) = gic::acknowledge() {
            match intid {
                gic::HYP_TIMER => {
                    self.window_boundary();
                    gic::end(intid);
                }
                gic::MAINTENANCE => {
                    if let Some(id) = self.loaded {
                        self.refill_list_registers(id);
                    }
                    gic::end(intid);
                }
                // The virtual timer that fired is the loaded partition's: the
                // kernel silences every other one while switched out.
                VIRTUAL_TIMER => match self.loaded.and_then(|id| Some((id, SYSTEM.partition(id)?.timer_slot))) {
                    Some((id, slot)) => {
                        gic::drop_priority(intid);
                        self.deliver(id, slot as usize, intid);
                    }
                    None => gic::end(intid),
                },
                _ => match SYSTEM.interrupt_routes.get(intid as usize).and_then(|route| route.target()) {
                    Some((owner, slot)) => {
                        gic::drop_priority(intid);
                        self.deliver(owner, slot, intid);
                    }
                    None => gic::end(intid),
                },
            }
        }
    }

    /// A physical interrupt of partition `id` arrived (acknowledged, priority
    /// dropped, still active), `slot` in its interrupt list: list it now if
    /// the partition's interface is loaded, otherwise queue it for its next
    /// window.
    fn deliver(&mut self, id: PartitionId, slot: usize, intid: u16) {
        let Some(desc) = SYSTEM.partition(id) else { return };
        let Some(partition) = self.partitions.get_mut(id as usize) else { return };
        if partition.status != Status::Ready {
            // Halted, or faulted and waiting for its restart: nobody to
            // deliver to; the restart resets the interrupt anyway.
            gic().quiesce(intid);
            return;
        }
        partition.vgic.queue_slot(slot, true);
        let loaded = self.loaded == Some(id);
        if SYSTEM.trace.interrupts {
            console()
                .record(kind::IRQ)
                .word(desc.name)
                .dec("intid", intid as u64)
                .dec("observed", timer::now())
                .text("state", if loaded { "listed" } else { "queued" })
                .end();
        }
        if loaded {
            // The common case, one interrupt and an empty list register,
            // takes the fast path; anything else is refill's to order.
            let empty = virtual_interface::empty_list_registers();
            match partition.vgic.list_directly(slot, intid, empty, virtual_interface::listed_intid) {
                Some((register, lr)) => virtual_interface::write_list_register(register, lr),
                None => self.refill_list_registers(id),
            }
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
        let now = timer::now();
        let schedule = &SYSTEM.schedule;
        self.switch_out(now);
        if self.cursor.advance(schedule) {
            self.frame_completed();
        }
        timer::set_deadline(self.cursor.window_end(schedule));
        self.trace_window(now);
        self.start_window(now);
    }

    /// Saves the loaded partition, if any, and removes its regions.
    fn switch_out(&mut self, now: u64) {
        self.runnable = false;
        let Some(partition) = self.loaded.take().and_then(|id| self.partitions.get_mut(id as usize)) else {
            return;
        };
        context::save(&mut partition.context);
        virtual_interface::save(&mut partition.vgic);
        // The virtual timer PPI is the core's, not the partition's: if this
        // partition has not ended its last tick yet, keep that for its return
        // and free the PPI for the next partition's timer.
        partition.vgic.timer_active = gic().is_active(VIRTUAL_TIMER);
        if partition.vgic.timer_active {
            gic().clear_active(VIRTUAL_TIMER);
        }
        partition.clock.switch_out(now);
        mpu::load_partition(&[]);
    }

    /// Loads the owner of the current window, restarting it first if needed.
    ///
    /// Never inlined: `cargo xtask bench` watches its first instruction to
    /// tell window boundaries from other interrupts.
    #[inline(never)]
    fn start_window(&mut self, now: u64) {
        let Some(id) = self.cursor.owner(&SYSTEM.schedule) else { return };
        let Some(desc) = SYSTEM.partition(id) else { return };
        let Some(partition) = self.partitions.get_mut(id as usize) else { return };
        if partition.status == Status::Halted {
            return;
        }
        mpu::load_partition(desc.regions);
        if partition.status == Status::RestartPending {
            partition.restarts += 1;
            let restarts = partition.restarts;
            console().record(kind::RESTART).word(desc.name).dec("count", restarts as u64).end();
            self.reset_partition(id);
        }
        let Some(partition) = self.partitions.get_mut(id as usize) else { return };
        partition.ignored_logged = 0;
        context::restore(&partition.context);
        if partition.vgic.timer_active {
            gic().set_active(VIRTUAL_TIMER);
        }
        virtual_interface::restore(&partition.vgic);
        timer::set_virtual_offset(partition.clock.switch_in(now));
        self.loaded = Some(id);
        self.runnable = true;
        let queued = partition.vgic.has_queued();
        if queued {
            if SYSTEM.trace.interrupts {
                self.trace_listed(id);
            }
            self.refill_list_registers(id);
        } else {
            virtual_interface::enable(false);
        }
    }

    /// Logs the interrupts about to be listed for partition `id` at the
    /// start of its window (those that arrived while it was switched out).
    fn trace_listed(&self, id: PartitionId) {
        let (Some(desc), Some(partition)) = (SYSTEM.partition(id), self.partitions.get(id as usize)) else { return };
        let now = timer::now();
        for (index, intid) in desc.interrupts.iter().enumerate() {
            if partition.vgic.is_queued(index) && partition.vgic.is_enabled(index) {
                console().record(kind::VIRQ).word(desc.name).dec("intid", *intid as u64).dec("tick", now).end();
            }
        }
    }

    /// Puts partition `id` back in its initial state. Its regions must be loaded.
    fn reset_partition(&mut self, id: PartitionId) {
        let (Some(desc), Some(partition)) = (SYSTEM.partition(id), self.partitions.get_mut(id as usize)) else {
            return;
        };
        partition_memory::restore_image(&desc.init);
        partition.context = El1Context::at_entry(desc.entry, desc.initial_sp, self.reset_sctlr, id, partition.restarts);
        partition.line.clear();
        partition.status = Status::Ready;
    }

    /// A major frame ended; stops the run if that was the last one asked for.
    fn frame_completed(&mut self) {
        let done = self.cursor.frame();
        if self.options.stop_after_frames == Some(done) {
            let dropped = crate::drivers::cmsdk_uart::dropped();
            console().record(kind::FRAMES_DONE).dec("count", done).dec("console-dropped", dropped as u64).end();
            crate::panic::stop(self.options, true);
        }
    }

    fn trace_window(&mut self, observed: u64) {
        if !SYSTEM.trace.windows {
            return;
        }
        let schedule = &SYSTEM.schedule;
        let owner = self.cursor.owner(schedule).and_then(|id| SYSTEM.partition(id)).map_or("idle", |desc| desc.name);
        console()
            .record(kind::WINDOW)
            .dec("frame", self.cursor.frame())
            .dec("index", self.cursor.window_index() as u64)
            .text("owner", owner)
            .dec("scheduled", self.cursor.window_start(schedule))
            .dec("observed", observed)
            .end();
    }

    /// A synchronous exception from the running partition.
    fn on_trap(&mut self) {
        let Some(id) = self.loaded else {
            crate::panic::stop_with("trap-without-partition", 0, cpu::syndrome(), 0);
        };
        let hsr = cpu::syndrome();
        match ExceptionClass::of(hsr) {
            ExceptionClass::Hvc => self.hypercall(id, hsr),
            ExceptionClass::DataAbortLower if self.emulate_gic_access(id, hsr, cpu::data_fault_address()) => {}
            class => {
                let address = match class {
                    ExceptionClass::DataAbortLower => cpu::data_fault_address(),
                    ExceptionClass::PrefetchAbortLower => cpu::instruction_fault_address(),
                    _ => self.partitions.get(id as usize).map_or(0, |p| p.context.frame.elr),
                };
                self.fault(id, class.name(), ("hsr", hsr), address)
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
                self.runnable = false;
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
                        console().partition_bytes(desc.name, &mut partition.line, bytes.bytes());
                        frame.r[1] = length;
                    })
                }
            }
            Some(Call::StopSelf) => {
                let code = frame.r[1];
                partition.status = Status::Halted;
                self.runnable = false;
                for intid in desc.interrupts.iter().copied().filter(|intid| *intid >= FIRST_SPI) {
                    gic().quiesce(intid);
                }
                console().record(kind::HALTED).word(desc.name).text("reason", "stop").dec("code", code as u64).end();
                Ok(())
            }
            Some(Call::ReportFault) => {
                let kind = El1Exception::from_number(frame.r[1]).unwrap_or(El1Exception::Unexpected);
                let (address, status) = (frame.r[2], frame.r[3]);
                self.fault(id, kind.name(), ("status", status), address);
                Ok(())
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

    /// A stage-2 data abort in the GIC's frames: emulates the partition's view
    /// of its distributor and redistributor. Returns `false` when the access
    /// is not one the kernel emulates (outside the frames, a register it
    /// cannot address, a refused size or alignment, or no syndrome and not an
    /// `LDRD`/`STRD`), and the partition's fault policy applies.
    fn emulate_gic_access(&mut self, id: PartitionId, hsr: u32, address: u32) -> bool {
        let Some((frame, offset)) = gic_frame(address as usize) else { return false };
        let abort = DataAbort::decode(hsr);
        let (Some(desc), Some(partition)) = (SYSTEM.partition(id), self.partitions.get(id as usize)) else {
            return false;
        };
        // The transfers to emulate: (register, size in bytes, offset), whether
        // they are loads, and the base register's new value for writeback.
        let (load, transfers, sign_extend, writeback) = if abort.valid {
            // Registers beyond r12 are banked per mode and not in the trap frame.
            if abort.register > 12 {
                return false;
            }
            (!abort.write, [Some((abort.register, abort.size, offset)), None], abort.sign_extend, None)
        } else {
            // No syndrome (writeback forms, LDRD/STRD): decode the instruction,
            // read from the partition's own memory.
            let registers = &partition.context.frame.r;
            let pc = partition.context.frame.elr;
            let thumb = partition.context.frame.spsr & (1 << 5) != 0;
            let Some(transfer) = read_instruction(desc, pc, thumb)
                .and_then(|word| Transfer::decode(word, thumb, |n| registers.get(n as usize).copied().unwrap_or(0)))
            else {
                return false;
            };
            let second = transfer.second.map(|register| (register, 4, offset + 4));
            (
                transfer.load,
                [Some((transfer.first, transfer.size, offset)), second],
                transfer.sign_extend,
                transfer.writeback,
            )
        };
        let mut ignored = false;
        for (register, size, offset) in transfers.into_iter().flatten() {
            let Some(partition) = self.partitions.get_mut(id as usize) else { return false };
            let Some(&current) = partition.context.frame.r.get(register as usize) else { return false };
            let size_mask = if size >= 4 { u32::MAX } else { (1 << (size * 8)) - 1 };
            let write = (!load).then_some(current & size_mask);
            let access = Access { frame, offset: offset as u32, size, write };
            let Ok(outcome) = vgic::emulate(&mut partition.vgic, desc.interrupts, &self.gic_facts, access) else {
                return false;
            };
            if load && let Some(slot) = partition.context.frame.r.get_mut(register as usize) {
                let sign_bit = 1u32 << (size as u32 * 8 - 1);
                let extend = sign_extend && size < 4 && outcome.value & sign_bit != 0;
                *slot = if extend { outcome.value | !size_mask } else { outcome.value };
            }
            ignored |= outcome.ignored;
            for effect in outcome.effects.iter() {
                self.apply_gic_effect(id, effect);
            }
        }
        let Some(partition) = self.partitions.get_mut(id as usize) else { return false };
        if let Some((base, value)) = writeback
            && let Some(slot) = partition.context.frame.r.get_mut(base as usize)
        {
            *slot = value;
        }
        // Resume after the access: 4 bytes, or 2 for a 16-bit Thumb instruction
        // (decoded instructions are always 32-bit).
        partition.context.frame.elr += if hsr & (1 << 25) != 0 || !abort.valid { 4 } else { 2 };
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
            console()
                .record(kind::VGIC_IGNORED)
                .word(desc.name)
                .text("frame", frame_name)
                .hex("offset", offset as u32)
                .text("access", if load { "read" } else { "write" })
                .dec("unlogged-before", partition.ignored_unlogged as u64)
                .end();
            partition.ignored_unlogged = 0;
        }
        true
    }

    fn apply_gic_effect(&mut self, id: PartitionId, effect: Effect) {
        match effect {
            Effect::Enable(intid) => gic().enable(intid),
            Effect::Disable(intid) => gic().disable(intid),
            Effect::SetPending(intid) => gic().set_pending(intid),
            Effect::ClearPending(intid) => gic().clear_pending(intid),
            Effect::Deactivate(intid) => gic().clear_active(intid),
            Effect::Trigger(intid, edge) => gic().set_trigger(intid, edge),
            Effect::Unlist(intid) => unlist(intid),
            Effect::Refill => self.refill_list_registers(id),
        }
    }

    /// The partition did something only a fault explains: log it (its class,
    /// the syndrome the hardware or the partition gave, the address) and
    /// apply the partition's policy.
    fn fault(&mut self, id: PartitionId, class: &str, syndrome: (&str, u32), address: u32) {
        let Some(desc) = SYSTEM.partition(id) else { return };
        let Some(partition) = self.partitions.get_mut(id as usize) else { return };
        console()
            .record(kind::FAULT)
            .word(desc.name)
            .text("class", class)
            .hex(syndrome.0, syndrome.1)
            .hex("address", address)
            .hex("pc", partition.context.frame.elr)
            .text("policy", desc.fault_policy.name())
            .end();
        self.runnable = false;
        for intid in desc.interrupts.iter().copied().filter(|intid| *intid >= FIRST_SPI) {
            gic().quiesce(intid);
        }
        match desc.fault_policy {
            FaultPolicy::Halt => {
                partition.status = Status::Halted;
                console().record(kind::HALTED).word(desc.name).text("reason", "fault").end();
            }
            FaultPolicy::Restart => partition.status = Status::RestartPending,
        }
    }
}
