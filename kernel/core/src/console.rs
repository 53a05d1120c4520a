//! The kernel console's queues, and the one drainer that prints them.
//!
//! Nothing the kernel does on a partition's behalf may take long with
//! interrupts masked, and a line printed to a UART takes long. So the kernel
//! never prints where something happens: it *records* it here, with a few
//! stores (a kernel [`Event`], or a partition's bytes into that partition's
//! [`LineRing`]), and the [`Drainer`] prints what is queued later, a bounded
//! number of bytes at a time, where the time is the right one to spend:
//!
//! - while the kernel waits for the next window boundary (idle windows, the
//!   rest of a window whose owner halted, yielded or faulted): anything, the
//!   oldest first ([`Allowed::Any`]);
//! - in a partition's own `ConsoleWrite`: only that partition's lines and
//!   the kernel's records about it (its window starts, faults, restarts,
//!   interrupts) ([`Allowed::Only`]), so no partition ever pays for
//!   another's output.
//!
//! What holds, and is tested on the host:
//!
//! - Lines are printed whole and never interleave. A line is started only
//!   if the caller says it has room for it (`room`: how many bytes can still
//!   be printed before the window boundary), and is then printed to its end,
//!   so no boundary ever cuts a line and printing never delays a boundary.
//!   Only a full output device stops a line early; the next drain, whoever
//!   pays for it, finishes that line first (at most the device's room per
//!   call, a bounded cost) before it starts anything else.
//! - Each source's lines (the kernel's events, each partition's lines) come
//!   out in the order they were recorded. Idle-time draining takes the
//!   oldest line of all sources first, so the console reads in the order
//!   things happened; a partition's `ConsoleWrite` prints the kernel's
//!   records about it before its own newer lines, when they are next in the
//!   kernel's queue. (So the one reordering left: a partition's lines may
//!   overtake older records about other partitions, or records behind them,
//!   that wait for idle time.)
//! - A full queue never blocks and never prints part of a line: the line (or
//!   event) is dropped, counted, and reported where it was dropped
//!   (`@console-dropped NAME lines=N`, `@events-dropped count=N`).
//! - One [`Console::drain`] call starts no line beyond its budget of bytes.
//!
//! Partition bytes are sanitised as they are recorded: carriage returns are
//! dropped and control bytes other than tab become `?`, so no partition can
//! forge a kernel record (every partition line starts with `[name] `) or a
//! terminal sequence. A line longer than [`LINE_CAPACITY`] is printed in
//! pieces, each but the last ending in `\`.
//!
//! This module never touches a register; the kernel gives it an [`Output`]
//! (the console UART) and the room left before the window boundary.

use crate::fmt::{ByteSink, FixedBuffer};
use crate::log::{MARKER, kind};
use crate::tables::PartitionId;

/// Text bytes of one partition line; longer lines are split.
pub const LINE_CAPACITY: usize = 120;

/// Most bytes of one printed line: a partition line's `[name] ` prefix (a
/// name has at most 24 characters), its text, a `\` and the newline; no
/// kernel record is longer.
pub const MAX_LINE_BYTES: usize = 1 + NAME_BOUND + 2 + LINE_CAPACITY + 2;

/// Where drained bytes go.
pub trait Output {
    /// Takes `byte`, or returns `false` without taking it when the device
    /// cannot take a byte now.
    fn try_put(&mut self, byte: u8) -> bool;
}

/// A kernel record waiting to be printed. Each is spelled as in
/// [`crate::log`] (`@kind subject key=value ...`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A window started (`windows` trace).
    Window {
        /// Major frame.
        frame: u64,
        /// Window index in the frame.
        index: u16,
        /// Owner (`None`: idle).
        owner: Option<PartitionId>,
        /// Scheduled start tick.
        scheduled: u64,
        /// Tick the kernel observed on entry.
        observed: u64,
    },
    /// A partition faulted.
    Fault {
        /// Who.
        partition: PartitionId,
        /// Exception class name.
        class: &'static str,
        /// Name of the syndrome field (`hsr` from hardware, `status` from
        /// the partition's own report).
        syndrome_key: &'static str,
        /// Its value.
        syndrome: u32,
        /// Faulting address.
        address: u32,
        /// Where the partition was.
        pc: u32,
        /// The policy applied (`halt`, `restart`).
        policy: &'static str,
    },
    /// A partition will never run again.
    Halted {
        /// Who.
        partition: PartitionId,
        /// `fault` or `stop`.
        reason: &'static str,
        /// Exit code of a stop.
        code: Option<u32>,
    },
    /// A partition's restart began at the start of its window.
    Restart {
        /// Who.
        partition: PartitionId,
        /// Restarts so far, this one included.
        count: u32,
    },
    /// The health monitor acted on an error of a partition.
    Health {
        /// Who.
        partition: PartitionId,
        /// The error kind's name.
        kind: &'static str,
        /// The action's name.
        action: &'static str,
        /// Where the error log holds it: core and entry number.
        core: u8,
        /// Entry number in that core's log.
        number: u32,
    },
    /// The monitor partition restarted, halted or resumed a partition.
    Control {
        /// The target.
        partition: PartitionId,
        /// The operation's name.
        op: &'static str,
        /// The monitor.
        by: PartitionId,
    },
    /// A partition's interrupt reached EL2 (`interrupts` trace).
    Irq {
        /// Owner.
        partition: PartitionId,
        /// Interrupt id.
        intid: u16,
        /// Tick.
        observed: u64,
        /// Listed at once (`true`) or queued for a list register.
        listed: bool,
    },
    /// Queued interrupts were handed over at a window start (`interrupts`
    /// trace).
    Virq {
        /// Owner.
        partition: PartitionId,
        /// Interrupt id.
        intid: u16,
        /// Tick.
        tick: u64,
    },
    /// A partition touched the GIC for an interrupt it does not own.
    VgicIgnored {
        /// Who.
        partition: PartitionId,
        /// `gicd`, `gicr`, `gicr-sgi` or `other-gicr`.
        frame: &'static str,
        /// Offset in the frame.
        offset: u32,
        /// A write (`true`) or a read.
        write: bool,
        /// Ignored accesses not logged since the last logged one.
        unlogged_before: u32,
    },
    /// This core's kernel took the ring (SGI 0) another core's kernel sent
    /// it: the cores' doorbell works both ways of a link check.
    CoreRing {
        /// This core.
        core: u8,
        /// The major frame it arrived in.
        frame: u64,
    },
    /// Ignored GIC accesses a partition made after the last logged one of
    /// their window, which no logged line reported: their count, so none
    /// goes unreported. Logged when the kernel is next idle.
    VgicIgnoredUnlogged {
        /// Who.
        partition: PartitionId,
        /// Ignored accesses not logged.
        count: u32,
        /// The frame of the (first) window they were made in; normally the
        /// only one (windows of one partition are merged only when the
        /// kernel had no idle time between them).
        frame: u64,
    },
}

impl Event {
    /// The partition the record is about, if any.
    pub const fn subject(&self) -> Option<PartitionId> {
        match *self {
            Event::Window { owner, .. } => owner,
            Event::CoreRing { .. } => None,
            Event::Fault { partition, .. }
            | Event::Halted { partition, .. }
            | Event::Restart { partition, .. }
            | Event::Health { partition, .. }
            | Event::Control { partition, .. }
            | Event::Irq { partition, .. }
            | Event::Virq { partition, .. }
            | Event::VgicIgnored { partition, .. }
            | Event::VgicIgnoredUnlogged { partition, .. } => Some(partition),
        }
    }
}

/// What the drainer may print now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Allowed {
    /// Anything, the oldest first: the kernel is idle.
    Any,
    /// Only this partition's lines: it is paying with its own time.
    Only(PartitionId),
}

/// Whether stamp `a` was given before stamp `b` (stamps wrap; fewer than
/// 2^31 lines are ever waiting).
const fn older(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// Replaces what a partition must not print.
const fn printable(byte: u8) -> u8 {
    if byte == b'\t' || (byte >= 0x20 && byte < 0x7F) { byte } else { b'?' }
}

/// Bytes in front of each committed entry: its length with the continuation
/// flag in bit 7 (or [`DROP_MARKER`]), then its stamp (little-endian).
const HEADER: u32 = 5;
const CONTINUED: u8 = 0x80;
/// The flags byte of an entry that reports dropped lines where they were
/// dropped; its four text bytes are the count (little-endian). No line has
/// this length (it exceeds [`LINE_CAPACITY`]).
const DROP_MARKER: u8 = 0x7F;
const _: () = assert!(LINE_CAPACITY < DROP_MARKER as usize);

/// One partition's output: its committed lines, oldest first, and the line
/// it is writing, assembled in place behind them. `N` must be a power of
/// two.
#[derive(Clone, Debug)]
pub struct LineRing<const N: usize> {
    bytes: [u8; N],
    /// Start of the oldest committed line (its header).
    head: u32,
    /// End of the committed lines: where the line being written starts.
    committed: u32,
    /// End of the line being written (`committed` while it is empty and has
    /// no header reserved yet).
    tail: u32,
    /// Text bytes of the line being written (counted even once it no longer
    /// fits).
    partial: u8,
    /// The line being written did not fit: it is dropped at its end.
    overflow: bool,
    /// Lines dropped and not yet reported.
    dropped: u32,
}

impl<const N: usize> LineRing<N> {
    const MASK: u32 = {
        assert!(N.is_power_of_two() && N >= 2 * (LINE_CAPACITY + HEADER as usize) && N <= 1 << 16);
        N as u32 - 1
    };

    /// An empty ring.
    pub const fn new() -> Self {
        let _ = Self::MASK;
        LineRing { bytes: [0; N], head: 0, committed: 0, tail: 0, partial: 0, overflow: false, dropped: 0 }
    }

    fn free(&self) -> u32 {
        N as u32 - self.tail.wrapping_sub(self.head)
    }

    fn at(&self, index: u32) -> u8 {
        self.bytes.get((index & Self::MASK) as usize).copied().unwrap_or(0)
    }

    fn set(&mut self, index: u32, byte: u8) {
        if let Some(slot) = self.bytes.get_mut((index & Self::MASK) as usize) {
            *slot = byte;
        }
    }

    /// Takes up to `limit` bytes the partition wrote from `bytes`; returns
    /// how many it took. `stamp` numbers committed lines.
    ///
    /// This runs inside `ConsoleWrite` for every byte, so runs of printable
    /// bytes that fit the line being written go straight into the ring with
    /// its position kept in registers; everything else (newlines, control
    /// bytes, a full line or ring) takes [`LineRing::feed`].
    pub fn feed_some(&mut self, bytes: &mut impl Iterator<Item = u8>, limit: u32, stamp: &mut u32) -> u32 {
        let mut taken = 0;
        while taken < limit {
            // Room for printable bytes in the line being written, in place.
            let room = if self.tail == self.committed {
                0
            } else {
                let free = N as u32 - self.tail.wrapping_sub(self.head);
                (LINE_CAPACITY as u32).saturating_sub(self.partial as u32).min(free).min(limit - taken)
            };
            let (mut tail, mut run) = (self.tail, 0);
            let mut other = None;
            while run < room {
                let Some(byte) = bytes.next() else { break };
                if !(0x20..0x7F).contains(&byte) {
                    other = Some(byte);
                    break;
                }
                if let Some(slot) = self.bytes.get_mut((tail & Self::MASK) as usize) {
                    *slot = byte;
                }
                tail = tail.wrapping_add(1);
                run += 1;
            }
            self.tail = tail;
            self.partial += run as u8;
            taken += run;
            let byte = match other {
                Some(byte) => byte,
                // The run ended at its room: one byte the slow way (which
                // commits a full line or starts a new one).
                None if run == room && taken < limit => match bytes.next() {
                    Some(byte) => byte,
                    None => break,
                },
                None => break,
            };
            self.feed(byte, stamp);
            taken += 1;
        }
        taken
    }

    /// Takes one byte the partition wrote; `stamp` numbers committed lines.
    pub fn feed(&mut self, byte: u8, stamp: &mut u32) {
        match byte {
            b'\n' => self.commit(false, stamp),
            b'\r' => {}
            _ => {
                if self.partial as usize >= LINE_CAPACITY {
                    self.commit(true, stamp);
                }
                self.push(printable(byte));
            }
        }
    }

    fn push(&mut self, byte: u8) {
        self.partial = self.partial.saturating_add(1);
        if self.overflow {
            return;
        }
        let needed = if self.tail == self.committed { HEADER + 1 } else { 1 };
        if self.free() < needed {
            self.overflow = true;
            self.tail = self.committed;
            return;
        }
        if self.tail == self.committed {
            self.tail = self.tail.wrapping_add(HEADER);
        }
        self.set(self.tail, byte);
        self.tail = self.tail.wrapping_add(1);
    }

    fn commit(&mut self, continued: bool, stamp: &mut u32) {
        if !self.overflow && self.tail == self.committed {
            // An empty line still needs its header.
            if self.free() < HEADER {
                self.overflow = true;
            } else {
                self.tail = self.tail.wrapping_add(HEADER);
            }
        }
        // Earlier drops are reported in front of this line, where they
        // happened; without room for the report the line is dropped too.
        let marker = if self.dropped != 0 { HEADER + 4 } else { 0 };
        if !self.overflow && self.free() < marker {
            self.overflow = true;
        }
        if self.overflow {
            self.dropped = self.dropped.saturating_add(1);
            self.overflow = false;
            self.tail = self.committed;
            self.partial = 0;
            return;
        }
        if marker != 0 {
            // Shift the line behind the marker (it is short: at most the
            // capacity plus its header).
            let line_end = self.tail;
            let length = line_end.wrapping_sub(self.committed);
            for back in 0..length {
                let from = line_end.wrapping_sub(1 + back);
                let byte = self.at(from);
                self.set(from.wrapping_add(marker), byte);
            }
            let count = core::mem::take(&mut self.dropped);
            self.write_header(self.committed, DROP_MARKER, *stamp);
            for (offset, byte) in count.to_le_bytes().into_iter().enumerate() {
                self.set(self.committed.wrapping_add(HEADER + offset as u32), byte);
            }
            self.committed = self.committed.wrapping_add(marker);
            self.tail = line_end.wrapping_add(marker);
        }
        let flags = self.partial | if continued { CONTINUED } else { 0 };
        self.write_header(self.committed, flags, *stamp);
        *stamp = stamp.wrapping_add(1);
        self.committed = self.tail;
        self.partial = 0;
    }

    fn write_header(&mut self, at: u32, flags: u8, stamp: u32) {
        self.set(at, flags);
        for (offset, byte) in stamp.to_le_bytes().into_iter().enumerate() {
            self.set(at.wrapping_add(1 + offset as u32), byte);
        }
    }

    /// Forgets the line being written (a restart: its writer is gone).
    /// Committed lines stay and are printed.
    pub fn abandon_partial(&mut self) {
        self.tail = self.committed;
        self.partial = 0;
        self.overflow = false;
    }

    /// The oldest committed entry and its stamp.
    fn oldest(&self) -> Option<(Entry, u32)> {
        if self.head == self.committed {
            return None;
        }
        let word = |at: u32| {
            let mut bytes = [0u8; 4];
            for (offset, byte) in bytes.iter_mut().enumerate() {
                *byte = self.at(at.wrapping_add(offset as u32));
            }
            u32::from_le_bytes(bytes)
        };
        let flags = self.at(self.head);
        let stamp = word(self.head.wrapping_add(1));
        let entry = match flags {
            DROP_MARKER => Entry::Dropped(word(self.head.wrapping_add(HEADER))),
            _ => Entry::Line { length: flags & !CONTINUED, continued: flags & CONTINUED != 0 },
        };
        Some((entry, stamp))
    }

    /// The oldest line's text of `length` bytes, as at most two slices (the
    /// ring may wrap inside it).
    fn text_slices(&self, length: u8) -> (&[u8], &[u8]) {
        let start = (self.head.wrapping_add(HEADER) & Self::MASK) as usize;
        let length = length as usize;
        let first = length.min(N - start);
        (self.bytes.get(start..start + first).unwrap_or(&[]), self.bytes.get(..length - first).unwrap_or(&[]))
    }

    /// Forgets the oldest entry, whose text was `length` bytes.
    fn pop(&mut self, length: u8) {
        self.head = self.head.wrapping_add(HEADER + length as u32);
    }

    /// Whether anything waits: a committed line, or a drop to report.
    pub fn has_lines(&self) -> bool {
        self.head != self.committed || self.dropped != 0
    }
}

/// An entry of a [`LineRing`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    /// A line of `length` text bytes.
    Line { length: u8, continued: bool },
    /// This many lines were dropped here.
    Dropped(u32),
}

impl<const N: usize> Default for LineRing<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The kernel's records waiting to be printed, oldest first.
#[derive(Clone, Debug)]
struct EventQueue<const N: usize> {
    /// Stamped records; those outside `head..head + len` are unused.
    slots: [(u32, Record); N],
    /// Index of the oldest.
    head: usize,
    len: usize,
    /// Events dropped (queue full) and not yet reported: the report goes in
    /// front of the next event that fits, or last.
    dropped: u32,
}

impl<const N: usize> EventQueue<N> {
    const fn new() -> Self {
        EventQueue { slots: [(0, Record::EventsDropped { count: 0 }); N], head: 0, len: 0, dropped: 0 }
    }

    #[inline(always)]
    fn push(&mut self, event: Event, stamp: &mut u32) {
        let needed = if self.dropped != 0 { 2 } else { 1 };
        if self.len + needed > N {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        if self.dropped != 0 {
            let count = core::mem::take(&mut self.dropped);
            self.put(Record::EventsDropped { count }, *stamp);
        }
        self.put(Record::Event(event), *stamp);
        *stamp = stamp.wrapping_add(1);
    }

    #[inline(always)]
    fn put(&mut self, record: Record, stamp: u32) {
        let index = (self.head + self.len) % N;
        if let Some(slot) = self.slots.get_mut(index) {
            *slot = (stamp, record);
            self.len += 1;
        }
    }

    fn oldest(&self) -> Option<(u32, &Record)> {
        if self.len == 0 { None } else { self.slots.get(self.head).map(|(stamp, record)| (*stamp, record)) }
    }

    fn pop(&mut self) {
        if self.len > 0 {
            self.head = (self.head + 1) % N;
            self.len -= 1;
        }
    }
}

/// A record as the drainer prints it: a kernel event, or a report of
/// dropped output. (`repr(u8)` with `EventsDropped` first: an empty queue
/// slot, `EventsDropped { count: 0 }`, is all zeros, so a console lives in
/// `.bss`.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Record {
    /// `@events-dropped count=N`, printed before the next event.
    EventsDropped {
        count: u32,
    },
    /// `@console-dropped NAME lines=N`, printed before the partition's next
    /// line.
    Dropped {
        partition: PartitionId,
        lines: u32,
    },
    Event(Event),
}

/// One `key=value` of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    Dec(&'static str, u64),
    Hex(&'static str, u32),
    Text(&'static str, &'static str),
    /// A partition's name, or `idle`.
    Owner(&'static str, Option<PartitionId>),
}

impl Record {
    /// The partition it is about: the one whose time may print it.
    fn subject(&self) -> Option<PartitionId> {
        match *self {
            Record::Event(event) => event.subject(),
            Record::Dropped { partition, .. } => Some(partition),
            Record::EventsDropped { .. } => None,
        }
    }

    /// Its kind and subject.
    #[inline(never)]
    fn head(&self) -> (&'static str, Option<PartitionId>) {
        match *self {
            Record::Dropped { partition, .. } => (kind::CONSOLE_DROPPED, Some(partition)),
            Record::EventsDropped { .. } => (kind::EVENTS_DROPPED, None),
            Record::Event(event) => (
                match event {
                    Event::Window { .. } => kind::WINDOW,
                    Event::Fault { .. } => kind::FAULT,
                    Event::Halted { .. } => kind::HALTED,
                    Event::Restart { .. } => kind::RESTART,
                    Event::Health { .. } => kind::HEALTH,
                    Event::Control { .. } => kind::CONTROL,
                    Event::Irq { .. } => kind::IRQ,
                    Event::Virq { .. } => kind::VIRQ,
                    Event::VgicIgnored { .. } | Event::VgicIgnoredUnlogged { .. } => kind::VGIC_IGNORED,
                    Event::CoreRing { .. } => kind::CORE_RING,
                },
                match event {
                    Event::Window { .. } => None,
                    other => other.subject(),
                },
            ),
        }
    }

    /// Its field `n`, in printing order.
    #[inline(never)]
    fn field(&self, n: u8) -> Option<Field> {
        use Field::*;
        Some(match (*self, n) {
            (Record::Dropped { lines, .. }, 0) => Dec("lines", lines as u64),
            (Record::EventsDropped { count }, 0) => Dec("count", count as u64),
            (Record::Event(Event::Window { frame, index, owner, scheduled, observed }), n) => match n {
                0 => Dec("frame", frame),
                1 => Dec("index", index as u64),
                2 => Owner("owner", owner),
                3 => Dec("scheduled", scheduled),
                4 => Dec("observed", observed),
                _ => return None,
            },
            (Record::Event(Event::Fault { class, syndrome_key, syndrome, address, pc, policy, .. }), n) => match n {
                0 => Text("class", class),
                1 => Hex(syndrome_key, syndrome),
                2 => Hex("address", address),
                3 => Hex("pc", pc),
                4 => Text("policy", policy),
                _ => return None,
            },
            (Record::Event(Event::Halted { reason, code, .. }), n) => match (n, code) {
                (0, _) => Text("reason", reason),
                (1, Some(code)) => Dec("code", code as u64),
                _ => return None,
            },
            (Record::Event(Event::Restart { count, .. }), 0) => Dec("count", count as u64),
            (Record::Event(Event::Health { kind, action, core, number, .. }), n) => match n {
                0 => Text("error", kind),
                1 => Text("action", action),
                2 => Dec("log-core", core as u64),
                3 => Dec("log-entry", number as u64),
                _ => return None,
            },
            (Record::Event(Event::Control { op, by, .. }), n) => match n {
                0 => Text("op", op),
                1 => Owner("by", Some(by)),
                _ => return None,
            },
            (Record::Event(Event::Irq { intid, observed, listed, .. }), n) => match n {
                0 => Dec("intid", intid as u64),
                1 => Dec("observed", observed),
                2 => Text("state", if listed { "listed" } else { "queued" }),
                _ => return None,
            },
            (Record::Event(Event::Virq { intid, tick, .. }), n) => match n {
                0 => Dec("intid", intid as u64),
                1 => Dec("tick", tick),
                _ => return None,
            },
            (Record::Event(Event::VgicIgnored { frame, offset, write, unlogged_before, .. }), n) => match n {
                0 => Text("frame", frame),
                1 => Hex("offset", offset),
                2 => Text("access", if write { "write" } else { "read" }),
                3 => Dec("unlogged-before", unlogged_before as u64),
                _ => return None,
            },
            (Record::Event(Event::VgicIgnoredUnlogged { count, frame, .. }), n) => match n {
                0 => Dec("unlogged", count as u64),
                1 => Dec("major-frame", frame),
                _ => return None,
            },
            (Record::Event(Event::CoreRing { core, frame }), n) => match n {
                0 => Dec("core", core as u64),
                1 => Dec("frame", frame),
                _ => return None,
            },
            _ => return None,
        })
    }
}

/// The console's whole state: the kernel's events, each partition's lines,
/// and the drainer. `P` partitions, `N` bytes of ring each, `E` events.
///
/// One console serves one core: its partitions are the ids `first..first +
/// P` (the cores' ranges, see `tables::CoreDesc`), and the lines of any other
/// id are not taken.
#[derive(Clone, Debug)]
pub struct Console<const P: usize, const N: usize, const E: usize> {
    events: EventQueue<E>,
    lines: [LineRing<N>; P],
    /// The id of `lines[0]`'s partition.
    first: PartitionId,
    /// The next stamp.
    stamp: u32,
    /// The line being printed, rendered, and how much of it is out.
    staged: FixedBuffer<MAX_LINE_BYTES>,
    staged_out: usize,
    /// Whose time may start printing the staged line (until a byte of it is
    /// out, it is admitted like any other line).
    staged_payer: Allowed,
    /// Lines and events dropped since boot (for `@frames-done`).
    dropped_total: u32,
}

/// What a drain did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Drained {
    /// Bytes written to the output.
    pub bytes: usize,
    /// Whether something this mode could print is still waiting.
    pub more: bool,
}

impl<const P: usize, const N: usize, const E: usize> Console<P, N, E> {
    /// An empty console.
    pub const fn new() -> Self {
        Self::starting_at(0)
    }

    /// An empty console for partitions `first..first + P`.
    pub const fn starting_at(first: PartitionId) -> Self {
        Console {
            events: EventQueue::new(),
            lines: [const { LineRing::new() }; P],
            first,
            stamp: 0,
            staged: FixedBuffer::new(),
            staged_out: 0,
            staged_payer: Allowed::Any,
            dropped_total: 0,
        }
    }

    /// Records a kernel event (a handful of stores; never prints). Always
    /// inlined, so the event is built where it is stored rather than copied
    /// there: this runs on the kernel's boundary path when tracing.
    #[inline(always)]
    pub fn record(&mut self, event: Event) {
        let queued = self.events.len;
        self.events.push(event, &mut self.stamp);
        if self.events.len == queued {
            self.dropped_total = self.dropped_total.saturating_add(1);
        }
    }

    /// Records one byte partition `partition` wrote.
    pub fn feed(&mut self, partition: PartitionId, byte: u8) {
        self.feed_some(partition, &mut core::iter::once(byte), 1);
    }

    /// Records up to `limit` bytes partition `partition` wrote, from
    /// `bytes`; returns how many it took (fewer only when `bytes` ran dry).
    pub fn feed_some(&mut self, partition: PartitionId, bytes: &mut impl Iterator<Item = u8>, limit: u32) -> u32 {
        let index = self.ring_index(partition);
        let Some(ring) = self.lines.get_mut(index) else { return 0 };
        let before = ring.dropped;
        let taken = ring.feed_some(bytes, limit, &mut self.stamp);
        // A report of drops is itself reset when printed; count what grew.
        self.dropped_total = self.dropped_total.saturating_add(ring.dropped.saturating_sub(before));
        taken
    }

    /// Forgets the line partition `partition` was writing (it restarts).
    pub fn abandon_partial(&mut self, partition: PartitionId) {
        let index = self.ring_index(partition);
        if let Some(ring) = self.lines.get_mut(index) {
            ring.abandon_partial();
        }
    }

    /// Where partition `id`'s ring is in `lines` (out of range for another
    /// core's partition).
    #[inline(always)]
    const fn ring_index(&self, id: PartitionId) -> usize {
        (id as usize).wrapping_sub(self.first as usize)
    }

    /// Lines and events dropped since boot.
    pub fn dropped_total(&self) -> u32 {
        self.dropped_total
    }

    /// Whether anything at all waits to be printed.
    pub fn is_empty(&self) -> bool {
        self.staged_out == self.staged.as_bytes().len()
            && self.events.len == 0
            && self.events.dropped == 0
            && self.lines.iter().all(|ring| !ring.has_lines())
    }

    /// Prints whole lines of what `allowed` permits to `out`: first the
    /// rest of a line a full device interrupted, then lines that fit both
    /// in what is left of `budget` and in `room()` (the bytes that can still
    /// be printed before the window boundary), stopping when the device is
    /// full. `name(id)` spells partition names.
    pub fn drain<'n>(
        &mut self,
        allowed: Allowed,
        budget: usize,
        name: impl Fn(PartitionId) -> &'n str,
        out: &mut impl Output,
        mut room: impl FnMut() -> usize,
    ) -> Drained {
        let mut bytes = 0;
        // Whether the staged line's room was asked in this call: a line
        // staged (or admitted) here fits; only one started in an earlier
        // call, whose device then filled, must ask again.
        let mut fits = false;
        loop {
            let staged = self.staged.as_bytes().len();
            if self.staged_out == 0 && staged != 0 {
                // Staged but not started (the device was full): admitted
                // like any new line.
                if allowed != Allowed::Any && self.staged_payer != allowed {
                    return Drained { bytes, more: false };
                }
                if staged > budget.saturating_sub(bytes) || staged > room() {
                    return Drained { bytes, more: true };
                }
                fits = true;
            }
            // A line already started goes on only as far as the room allows
            // too: the device may have been full for a while (its reader is
            // slow), and the rest of a line must not run past a boundary.
            let pending = self.staged.as_bytes().get(self.staged_out..).unwrap_or(&[]);
            let allowance = if fits || pending.is_empty() { pending.len() } else { room() };
            let sent = pending.iter().take(allowance).take_while(|byte| out.try_put(**byte)).count();
            self.staged_out += sent;
            bytes += sent;
            if sent < pending.len() {
                return Drained { bytes, more: true };
            }
            let Some(choice) = self.choose(allowed) else { return Drained { bytes, more: false } };
            let length = match choice {
                Choice::Line(_, Some(Entry::Line { length, .. })) => 1 + NAME_BOUND + 2 + length as usize + 2,
                _ => MAX_LINE_BYTES,
            };
            if length > budget.saturating_sub(bytes) || length + LINE_OVERHEAD_BYTES > room() {
                return Drained { bytes, more: true };
            }
            self.stage(choice, &name);
            fits = true;
        }
    }

    /// Renders the line `choice` names into the staging buffer and removes
    /// it from its queue.
    fn stage<'n>(&mut self, choice: Choice, name: &impl Fn(PartitionId) -> &'n str) {
        self.staged_out = 0;
        match choice {
            Choice::Event => {
                // Rendered in place (a record is too big to copy cheaply).
                match self.events.oldest() {
                    Some((_, record)) => {
                        self.staged_payer = render(&mut self.staged, record, name);
                        self.events.pop();
                    }
                    None => {
                        let record = Record::EventsDropped { count: core::mem::take(&mut self.events.dropped) };
                        self.staged_payer = render(&mut self.staged, &record, name);
                    }
                }
            }
            Choice::Line(id, entry) => {
                let index = self.ring_index(id);
                let Some(ring) = self.lines.get_mut(index) else { return };
                let record = match entry {
                    Some(Entry::Line { length, continued }) => {
                        let out = &mut self.staged;
                        out.clear();
                        self.staged_payer = Allowed::Only(id);
                        out.put(b'[');
                        out.put_str(name(id));
                        out.put_str("] ");
                        let (first, second) = ring.text_slices(length);
                        out.put_all(first);
                        out.put_all(second);
                        if continued {
                            out.put(b'\\');
                        }
                        out.put(b'\n');
                        ring.pop(length);
                        return;
                    }
                    Some(Entry::Dropped(lines)) => {
                        ring.pop(4);
                        Record::Dropped { partition: id, lines }
                    }
                    None => Record::Dropped { partition: id, lines: core::mem::take(&mut ring.dropped) },
                };
                self.staged_payer = render(&mut self.staged, &record, name);
            }
        }
    }

    /// Which queue the next line `allowed` permits comes from.
    fn choose(&self, allowed: Allowed) -> Option<Choice> {
        match allowed {
            Allowed::Any => {
                // The source with the oldest waiting entry; a drop with
                // nothing after it to report counts as newest.
                let mut best: Option<(Option<u32>, Choice)> = None;
                let mut consider = |stamp: Option<u32>, choice: Choice| {
                    let better = match (best, stamp) {
                        (None, _) => true,
                        (Some((Some(oldest), _)), Some(stamp)) => older(stamp, oldest),
                        (Some((None, _)), Some(_)) => true,
                        (Some(_), None) => false,
                    };
                    if better {
                        best = Some((stamp, choice));
                    }
                };
                if let Some((stamp, _)) = self.events.oldest() {
                    consider(Some(stamp), Choice::Event);
                } else if self.events.dropped != 0 {
                    consider(None, Choice::Event);
                }
                for (index, ring) in self.lines.iter().enumerate() {
                    let id = self.first.wrapping_add(index as PartitionId);
                    if let Some((entry, stamp)) = ring.oldest() {
                        consider(Some(stamp), Choice::Line(id as PartitionId, Some(entry)));
                    } else if ring.dropped != 0 {
                        consider(None, Choice::Line(id as PartitionId, None));
                    }
                }
                best.map(|(_, choice)| choice)
            }
            Allowed::Only(id) => {
                // The kernel's next record, if it is about this partition
                // and older than its next line.
                let ring = self.lines.get(self.ring_index(id))?;
                let line = ring.oldest();
                if let Some((stamp, record)) = self.events.oldest()
                    && record.subject() == Some(id)
                    && line.is_none_or(|(_, line)| older(stamp, line))
                {
                    Some(Choice::Event)
                } else if ring.has_lines() {
                    Some(Choice::Line(id, line.map(|(entry, _)| entry)))
                } else {
                    None
                }
            }
        }
    }
}

/// Renders `record` into `out` (cleared first); returns whose time may
/// print it.
fn render<'n, const B: usize>(
    out: &mut FixedBuffer<B>,
    record: &Record,
    name: &impl Fn(PartitionId) -> &'n str,
) -> Allowed {
    out.clear();
    let (kind, subject) = record.head();
    out.put(MARKER);
    out.put_str(kind);
    if let Some(id) = subject {
        out.put(b' ');
        out.put_str(name(id));
    }
    let mut n = 0;
    while let Some(field) = record.field(n) {
        out.put(b' ');
        let key = match field {
            Field::Dec(key, _) | Field::Hex(key, _) | Field::Text(key, _) | Field::Owner(key, _) => key,
        };
        out.put_str(key);
        out.put(b'=');
        match field {
            Field::Dec(_, value) => out.put_dec(value),
            Field::Hex(_, value) => out.put_hex(value),
            Field::Text(_, value) => out.put_str(value),
            Field::Owner(_, owner) => out.put_str(owner.map_or("idle", name)),
        }
        n += 1;
    }
    out.put(b'\n');
    record.subject().map_or(Allowed::Any, Allowed::Only)
}

/// Where the next line comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Choice {
    /// The kernel's queue.
    Event,
    /// A partition's ring, and its oldest entry (none: only a drop to
    /// report).
    Line(PartitionId, Option<Entry>),
}

/// The longest a partition name may be (the generator's rule), for sizing
/// a line before it is rendered.
const NAME_BOUND: usize = 24;

/// What choosing, rendering and queue bookkeeping cost per line, reckoned
/// in bytes of output, on top of the line's own bytes, when the room before
/// the boundary is checked.
pub const LINE_OVERHEAD_BYTES: usize = 48;

impl<const P: usize, const N: usize, const E: usize> Default for Console<P, N, E> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::boxed::Box;
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    const NAMES: [&str; 3] = ["alpha", "b", "a-rather-long-name-24chr"];

    fn name(id: PartitionId) -> &'static str {
        NAMES.get(id as usize).copied().unwrap_or("?")
    }

    /// An output device that takes bytes until it is told it is full, and
    /// counts them where a room check can see them.
    #[derive(Default)]
    struct Device {
        bytes: Vec<u8>,
        room: Option<usize>,
        sent: std::rc::Rc<std::cell::Cell<usize>>,
    }

    impl Output for Device {
        fn try_put(&mut self, byte: u8) -> bool {
            match &mut self.room {
                Some(0) => false,
                room => {
                    if let Some(room) = room {
                        *room -= 1;
                    }
                    self.bytes.push(byte);
                    self.sent.set(self.sent.get() + 1);
                    true
                }
            }
        }
    }

    type Small = Console<3, 512, 8>;

    fn drain_all<const P: usize, const N: usize, const E: usize>(console: &mut Console<P, N, E>) -> String {
        let mut device = Device::default();
        while console.drain(Allowed::Any, usize::MAX, name, &mut device, || usize::MAX).more {}
        String::from_utf8(device.bytes).unwrap()
    }

    /// A drain with no budget or room limit.
    fn drain(console: &mut Small, allowed: Allowed, device: &mut Device) -> Drained {
        console.drain(allowed, usize::MAX, name, device, || usize::MAX)
    }

    fn feed(console: &mut Small, id: PartitionId, text: &[u8]) {
        for &byte in text {
            console.feed(id, byte);
        }
    }

    #[test]
    fn a_line_the_device_stalled_goes_on_only_as_far_as_the_room_allows() {
        let mut console = Small::new();
        feed(&mut console, 0, b"a line long enough to stall part way\n");
        // The device takes 5 bytes, then is full (a slow reader).
        let mut device = Device { room: Some(5), ..Device::default() };
        assert!(drain(&mut console, Allowed::Any, &mut device).more);
        assert_eq!(device.bytes.len(), 5);
        // Room again, but the boundary is near: at most what the room says.
        device.room = None;
        let drained = console.drain(Allowed::Any, usize::MAX, name, &mut device, || 7);
        assert!(drained.more);
        assert_eq!(device.bytes.len(), 5 + 7, "no more than the room, even for a started line");
        let drained = console.drain(Allowed::Any, usize::MAX, name, &mut device, || 0);
        assert_eq!((drained.bytes, device.bytes.len()), (0, 12), "nothing once the boundary is due");
        // Then the rest, whole and in order.
        while drain(&mut console, Allowed::Any, &mut device).more {}
        let text = String::from_utf8(device.bytes).unwrap();
        assert!(text.ends_with("a line long enough to stall part way\n"), "{text:?}");
        assert_eq!(text.matches('\n').count(), 1);
    }

    #[test]
    fn lines_come_out_whole_with_their_prefix() {
        let mut console = Small::new();
        feed(&mut console, 0, b"hello ");
        assert_eq!(drain_all(&mut console), "", "an unfinished line waits");
        feed(&mut console, 0, b"world\r\n\n");
        assert_eq!(drain_all(&mut console), "[alpha] hello world\n[alpha] \n");
        assert!(console.is_empty());
    }

    #[test]
    fn kernel_records_are_spelled_as_the_log_parser_reads_them() {
        let mut console = Small::new();
        console.record(Event::Window { frame: 7, index: 1, owner: Some(1), scheduled: 4_437_500, observed: 4_437_501 });
        console.record(Event::Window { frame: 7, index: 2, owner: None, scheduled: 1 << 40, observed: 1 << 40 });
        console.record(Event::Fault {
            partition: 0,
            class: "stage2-data-abort",
            syndrome_key: "hsr",
            syndrome: 0x9380_004c,
            address: 0x1001_2000,
            pc: 0x0802_0628,
            policy: "restart",
        });
        console.record(Event::Halted { partition: 2, reason: "stop", code: Some(3) });
        console.record(Event::Halted { partition: 2, reason: "fault", code: None });
        console.record(Event::Restart { partition: 0, count: 12 });
        console.record(Event::Irq { partition: 1, intid: 33, observed: 99, listed: false });
        console.record(Event::Virq { partition: 1, intid: 33, tick: 100 });
        let text = drain_all(&mut console);
        assert_eq!(
            text,
            "@window frame=7 index=1 owner=b scheduled=4437500 observed=4437501\n\
             @window frame=7 index=2 owner=idle scheduled=1099511627776 observed=1099511627776\n\
             @fault alpha class=stage2-data-abort hsr=0x9380004c address=0x10012000 pc=0x08020628 policy=restart\n\
             @halted a-rather-long-name-24chr reason=stop code=3\n\
             @halted a-rather-long-name-24chr reason=fault\n\
             @restart alpha count=12\n\
             @irq b intid=33 observed=99 state=queued\n\
             @virq b intid=33 tick=100\n"
        );
        let record = crate::log::Record::parse(text.lines().nth(2).unwrap()).unwrap();
        assert_eq!((record.kind, record.subject, record.number("pc")), (kind::FAULT, Some("alpha"), Some(0x0802_0628)));
        let mut console = Small::new();
        console.record(Event::VgicIgnored {
            partition: 1,
            frame: "gicd",
            offset: 0x104,
            write: true,
            unlogged_before: 7,
        });
        console.record(Event::VgicIgnoredUnlogged { partition: 1, count: 3, frame: 9 });
        assert_eq!(
            drain_all(&mut console),
            "@vgic-ignored b frame=gicd offset=0x00000104 access=write unlogged-before=7\n\
             @vgic-ignored b unlogged=3 major-frame=9\n"
        );
    }

    #[test]
    fn control_bytes_cannot_forge_output_and_long_lines_are_split() {
        let mut console = Small::new();
        feed(&mut console, 1, b"\x1b[2Jok\x00\n");
        let long: Vec<u8> = (0..LINE_CAPACITY * 2 + 5).map(|i| b'a' + (i % 26) as u8).collect();
        feed(&mut console, 1, &long);
        feed(&mut console, 1, b"\n");
        let text = drain_all(&mut console);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "[b] ?[2Jok?");
        assert_eq!(lines.len(), 4);
        assert!(lines[1].ends_with('\\') && lines[2].ends_with('\\') && !lines[3].ends_with('\\'));
        let joined: String = lines[1..].iter().map(|l| l.trim_start_matches("[b] ").trim_end_matches('\\')).collect();
        assert_eq!(joined.as_bytes(), long);
    }

    #[test]
    fn sources_come_out_oldest_first_in_idle_time() {
        let mut console = Small::new();
        feed(&mut console, 0, b"first\n");
        console.record(Event::Restart { partition: 1, count: 1 });
        feed(&mut console, 1, b"third\n");
        feed(&mut console, 0, b"fourth\n");
        assert_eq!(drain_all(&mut console), "[alpha] first\n@restart b count=1\n[b] third\n[alpha] fourth\n");
    }

    #[test]
    fn a_partition_pays_only_for_its_own_lines_and_records() {
        let mut console = Small::new();
        console.record(Event::Restart { partition: 0, count: 1 });
        console.record(Event::Restart { partition: 1, count: 2 });
        feed(&mut console, 0, b"mine\n");
        console.record(Event::Restart { partition: 0, count: 3 });
        feed(&mut console, 1, b"theirs\n");
        let mut device = Device::default();
        let drained = drain(&mut console, Allowed::Only(0), &mut device);
        // Its own record first (older), then its line; the record about
        // partition 1 is next in the kernel's queue, so partition 0's later
        // record waits behind it, for idle time.
        assert_eq!(String::from_utf8(device.bytes).unwrap(), "@restart alpha count=1\n[alpha] mine\n");
        assert!(!drained.more);
        let mut device = Device::default();
        drain(&mut console, Allowed::Only(1), &mut device);
        assert_eq!(String::from_utf8(device.bytes).unwrap(), "@restart b count=2\n[b] theirs\n");
        assert_eq!(drain_all(&mut console), "@restart alpha count=3\n");
        feed(&mut console, 0, b"later\n");
        feed(&mut console, 1, b"theirs\n");
        assert_eq!(drain_all(&mut console), "[alpha] later\n[b] theirs\n");
        // A line a full device stopped is finished first by whoever drains
        // next (at most the device's room), and never interleaved.
        feed(&mut console, 1, b"theirs again\n");
        feed(&mut console, 0, b"later\n");
        let mut device = Device { room: Some(3), ..Device::default() };
        drain(&mut console, Allowed::Any, &mut device);
        assert_eq!(device.bytes, b"[b]");
        let mut device = Device::default();
        let drained = drain(&mut console, Allowed::Only(0), &mut device);
        assert_eq!(String::from_utf8(device.bytes).unwrap(), " theirs again\n[alpha] later\n");
        assert!(!drained.more);
    }

    #[test]
    fn a_line_starts_only_when_it_fits_before_the_boundary() {
        let mut console = Small::new();
        feed(&mut console, 2, b"0123456789\n");
        let line = "[a-rather-long-name-24chr] 0123456789\n";
        // The room is in bytes; a partition line is reckoned with the
        // longest possible name (1 + 24 + 2 + 10 + 2 = 39 bytes) plus the
        // per-line overhead.
        let needed = 39 + LINE_OVERHEAD_BYTES;
        let mut device = Device::default();
        let drained = console.drain(Allowed::Any, usize::MAX, name, &mut device, || needed - 1);
        assert_eq!((device.bytes.len(), drained.more), (0, true), "no room: nothing starts");
        let drained = console.drain(Allowed::Any, 38, name, &mut device, || usize::MAX);
        assert_eq!((device.bytes.len(), drained.more), (0, true), "no budget: nothing starts");
        let drained = console.drain(Allowed::Any, 39, name, &mut device, || needed);
        assert_eq!(String::from_utf8(device.bytes.clone()).unwrap(), line);
        assert!(!drained.more);
        // Records are reckoned at the longest line.
        console.record(Event::Restart { partition: 0, count: 1 });
        let room = MAX_LINE_BYTES + LINE_OVERHEAD_BYTES;
        let drained = console.drain(Allowed::Any, usize::MAX, name, &mut device, || room - 1);
        assert!(drained.more && device.bytes.len() == line.len());
        console.drain(Allowed::Any, usize::MAX, name, &mut device, || room);
        assert!(String::from_utf8(device.bytes).unwrap().ends_with("@restart alpha count=1\n"));
    }

    #[test]
    fn a_full_device_loses_nothing() {
        let mut console = Small::new();
        feed(&mut console, 2, b"0123456789012345678901234567890123456789\n");
        let mut device = Device { room: Some(3), ..Device::default() };
        assert!(drain(&mut console, Allowed::Any, &mut device).more);
        assert_eq!(device.bytes.len(), 3);
        device.room = Some(0);
        assert!(drain(&mut console, Allowed::Only(0), &mut device).more, "blocked by the device, not done");
        device.room = None;
        while drain(&mut console, Allowed::Any, &mut device).more {}
        assert_eq!(
            String::from_utf8(device.bytes).unwrap(),
            "[a-rather-long-name-24chr] 0123456789012345678901234567890123456789\n"
        );
    }

    #[test]
    fn a_core_ring_is_a_record_about_no_partition() {
        let mut console = Small::new();
        console.record(Event::CoreRing { core: 1, frame: 2 });
        assert_eq!(drain_all(&mut console), "@core-ring core=1 frame=2\n");
    }

    #[test]
    fn a_cores_console_takes_only_its_own_partitions_lines() {
        // Core 1 runs partitions 1 and 2 (ids numbered core by core).
        let mut console = Console::<2, 512, 4>::starting_at(1);
        for (id, text) in [(0, "core 0's\n"), (1, "one\n"), (2, "two\n"), (3, "nobody's\n")] {
            for byte in text.bytes() {
                console.feed(id, byte);
            }
        }
        console.record(Event::Restart { partition: 2, count: 1 });
        let mut device = Device::default();
        // A partition paying with its own time prints only its own lines.
        console.drain(Allowed::Only(2), usize::MAX, name, &mut device, || usize::MAX);
        assert_eq!(
            String::from_utf8(device.bytes.clone()).unwrap(),
            "[a-rather-long-name-24chr] two\n@restart a-rather-long-name-24chr count=1\n"
        );
        assert_eq!(drain_all(&mut console), "[b] one\n");
        assert!(console.is_empty());
    }

    #[test]
    fn a_full_ring_drops_whole_lines_and_says_how_many() {
        let mut console = Console::<1, 512, 4>::new();
        let line = [b'x'; 100];
        for _ in 0..10 {
            for &byte in line.iter().chain(b"\n") {
                console.feed(0, byte);
            }
        }
        let text = drain_all(&mut console);
        let lines: Vec<&str> = text.lines().collect();
        // 512 bytes hold four 105-byte lines; the other six are dropped.
        assert_eq!(lines.len(), 5, "{text}");
        assert!(lines[..4].iter().all(|l| *l == format!("[alpha] {}", "x".repeat(100))));
        assert_eq!(lines[4], "@console-dropped alpha lines=6");
        assert_eq!(console.dropped_total(), 6);
        // Reported where the lines went missing, in front of the next one:
        // "one" (8 bytes), three 105-byte lines fit in 512, then two do not.
        for _ in 0..1 {
            for &byte in b"one\n" {
                console.feed(0, byte);
            }
        }
        for _ in 0..5 {
            for &byte in line.iter().chain(b"\n") {
                console.feed(0, byte);
            }
        }
        // Printing "one" and the first long line makes room for "two".
        let mut device = Device::default();
        // A budget admits a line by its longest possible size (a 24-byte
        // name): 32 for "one", then 129 for a long line, after 12 printed.
        console.drain(Allowed::Any, 12 + 129, name, &mut device, || usize::MAX);
        for &byte in b"two\n" {
            console.feed(0, byte);
        }
        let text = drain_all(&mut console);
        let x = "x".repeat(100);
        assert_eq!(
            text,
            format!("[alpha] {x}\n[alpha] {x}\n[alpha] {x}\n@console-dropped alpha lines=1\n[alpha] two\n")
        );
    }

    #[test]
    fn a_full_event_queue_drops_events_and_says_how_many() {
        let mut console = Console::<1, 512, 4>::new();
        for count in 0..7 {
            console.record(Event::Restart { partition: 0, count });
        }
        let text = drain_all(&mut console);
        assert_eq!(
            text,
            "@restart alpha count=0\n@restart alpha count=1\n@restart alpha count=2\n@restart alpha count=3\n\
             @events-dropped count=3\n"
        );
        assert_eq!(console.dropped_total(), 3);
        // A drop is reported where it happened: before the next event that
        // fits. Four queued, two dropped; two printed, which makes room.
        for count in 0..6 {
            console.record(Event::Restart { partition: 0, count });
        }
        let mut device = Device::default();
        // A record is admitted by the longest line: two fit this budget.
        console
            .drain(Allowed::Any, "@restart alpha count=0\n".len() + MAX_LINE_BYTES, name, &mut device, || usize::MAX);
        console.record(Event::Restart { partition: 0, count: 99 });
        let text = drain_all(&mut console);
        assert_eq!(
            text,
            "@restart alpha count=2\n@restart alpha count=3\n@events-dropped count=2\n@restart alpha count=99\n"
        );
    }

    /// What a partition's bytes must come out as: sanitised, split at
    /// newlines and at the capacity (with `\`).
    fn expected_lines(name: &str, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for &byte in bytes {
            match byte {
                b'\n' => lines.push(format!("[{name}] {}", core::mem::take(&mut line))),
                b'\r' => {}
                _ => {
                    if line.len() == LINE_CAPACITY {
                        lines.push(format!("[{name}] {}\\", core::mem::take(&mut line)));
                    }
                    line.push(printable(byte) as char);
                }
            }
        }
        lines
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// Bytes a partition writes, fed `chunk` at a time.
        Write(PartitionId, Vec<u8>, u32),
        Record(u32),
        Drain {
            only: Option<PartitionId>,
            budget: usize,
            window: usize,
            device: Option<usize>,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (
                0..3u8,
                prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'\r'), Just(7u8), 32u8..127], 0..300),
                1u32..200
            )
                .prop_map(|(id, bytes, chunk)| Op::Write(id, bytes, chunk)),
            any::<u32>().prop_map(Op::Record),
            (prop::option::of(0..3u8), 0usize..400, 0usize..400, prop::option::of(0usize..60))
                .prop_map(|(only, budget, window, device)| Op::Drain { only, budget, window, device }),
        ]
    }

    proptest! {
        /// Whatever is written and however it is drained (either mode, any
        /// budget, any room before the boundary, into a device that fills
        /// up): every line comes out whole, each source's lines in order and
        /// complete; a drain starts no line beyond its budget or its room;
        /// an `Only(p)` drain starts nothing but `p`'s lines and records.
        #[test]
        fn drained_output_is_every_line_whole_and_in_order(ops in prop::collection::vec(op(), 0..80)) {
            // Rings large enough never to drop (drops are tested above), so
            // every byte can be checked.
            let mut console = Box::new(Console::<3, 32768, 128>::new());
            let mut written: [Vec<u8>; 3] = Default::default();
            let mut records = Vec::new();
            let mut device = Device::default();
            // Output ranges of drains, with their mode, budget and room.
            let mut drains: Vec<(Option<PartitionId>, usize, usize, usize, usize)> = Vec::new();
            for op in ops {
                match op {
                    Op::Write(id, bytes, chunk) => {
                        let mut iter = bytes.iter().copied();
                        let mut taken = 0;
                        loop {
                            let now = console.feed_some(id, &mut iter, chunk);
                            taken += now;
                            if now < chunk {
                                break;
                            }
                        }
                        prop_assert_eq!(taken as usize, bytes.len());
                        written[id as usize].extend_from_slice(&bytes);
                    }
                    Op::Record(count) => {
                        console.record(Event::Restart { partition: (count % 3) as u8, count });
                        records.push(count);
                    }
                    Op::Drain { only, budget, window, device: room } => {
                        device.room = room;
                        let start = device.bytes.len();
                        let allowed = only.map_or(Allowed::Any, Allowed::Only);
                        // The room shrinks as bytes go out, as time does.
                        let sent = device.sent.clone();
                        let at_start = sent.get();
                        let drained = console
                            .drain(allowed, budget, name, &mut device, || window.saturating_sub(sent.get() - at_start));
                        let end = device.bytes.len();
                        prop_assert_eq!(drained.bytes, end - start);
                        drains.push((only, budget, window, start, end));
                    }
                }
            }
            device.room = None;
            while console.drain(Allowed::Any, usize::MAX, name, &mut device, || usize::MAX).more {}
            prop_assert_eq!(console.dropped_total(), 0);
            let text = String::from_utf8(device.bytes.clone()).unwrap();
            prop_assert!(text.is_empty() || text.ends_with('\n'));
            let mut got: [Vec<String>; 3] = Default::default();
            let mut got_records = Vec::new();
            let mut offset = 0;
            for line in text.split_inclusive('\n') {
                let body = line.trim_end_matches('\n');
                let source = if let Some(record) = crate::log::Record::parse(body) {
                    prop_assert_eq!(record.kind, kind::RESTART);
                    got_records.push(record.number("count").unwrap() as u32);
                    NAMES.iter().position(|n| Some(*n) == record.subject).map(|id| id as u8)
                } else {
                    let (who, _) = crate::log::partition_line(body).unwrap_or(("", ""));
                    let id = NAMES.iter().position(|n| *n == who);
                    prop_assert!(id.is_some(), "not a line of anyone: {:?}", body);
                    let id = id.unwrap();
                    got[id].push(body.into());
                    Some(id as u8)
                };
                // A line whose first byte went out in a drain was started by
                // it: it must fit that drain's budget and room, and be its
                // source's. (Finishing a line a full device cut is anyone's.)
                for (only, budget, window, start, end) in &drains {
                    if *start <= offset && offset < *end {
                        let before = offset - start;
                        prop_assert!(before + line.len() <= *budget, "{:?} started beyond the budget", body);
                        prop_assert!(line.len() <= window - before, "{:?} started beyond the room", body);
                        if let Some(only) = only {
                            prop_assert_eq!(source, Some(*only), "Only({}) started {:?}", only, body);
                        }
                    }
                }
                offset += line.len();
            }
            prop_assert_eq!(got_records, records);
            for id in 0..3u8 {
                let expected = expected_lines(name(id), &written[id as usize]);
                prop_assert_eq!(&got[id as usize], &expected);
            }
        }
    }
}
