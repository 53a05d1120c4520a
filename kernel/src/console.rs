//! The kernel console's device side: what the console queues drain into, and
//! the direct writer for the few moments nothing else runs.
//!
//! At run time every line goes through `bulkhead_kernel_core::console`
//! (recorded cheaply where it happens, printed later in bounded pieces);
//! [`Uart`] is its [`Output`] and never waits. [`Direct`] writes a kernel
//! record straight to the UART, waiting a bounded time for room: only at
//! boot (before the first window), at the end of a bounded run (after the
//! queues are flushed) and when the kernel stops on a bug, never while a
//! partition's time runs. Record spelling is shared with the queues and the
//! log parser (`kernel_core::log`).
//!
//! On a board whose cores share one console device (`CONSOLE_SHARED`: a
//! device that is not `per_core`, such as the S32Z2's LINFlexD), a core
//! takes the device for one whole line ([`LINE_HOLDER`]) before the line's
//! first byte and gives it back after its `\n`, so lines of different cores
//! never interleave. The queues' output never waits for the other core: it
//! reports "no room" and the drainer tries again later, so a core's output
//! is held back by at most the line the other core is writing. The waiting
//! writers wait a bounded time for the line ([`LINE_PATIENCE`]) and then
//! write anyway (the other core is stopped mid-line, for example by a
//! kernel panic).

use crate::arch::{cpu, gic};
use crate::tables::{CONSOLE_SHARED, ConsoleDriver, SYSTEM};
use bulkhead_console::Console;
use bulkhead_kernel_core::console::{MAX_LINE_BYTES, Output};
use bulkhead_kernel_core::fmt::{ByteSink, FixedBuffer};
use bulkhead_kernel_core::log::MARKER;
use core::sync::atomic::{AtomicU32, Ordering};

/// Polls of a full transmitter before a waiting write drops its byte.
const MAX_POLLS: u32 = 256;

/// Bytes dropped because the transmitter stayed full, by every core's
/// waiting writes (boot, end of run, panic).
static DROPPED: AtomicU32 = AtomicU32::new(0);

/// How many bytes waiting writes have dropped so far.
pub fn dropped() -> u32 {
    DROPPED.load(Ordering::Relaxed)
}

/// On a shared console: the core writing a line (core number + 1), or 0.
static LINE_HOLDER: AtomicU32 = AtomicU32::new(0);

/// Polls a waiting writer makes for the line before it writes anyway.
const LINE_PATIENCE: u32 = 1 << 20;

/// On a shared console: bit n set while core n has found the line held
/// and not yet had its turn.
static LINE_WANTED: AtomicU32 = AtomicU32::new(0);

/// Takes the shared console for this core's line, or finds it already
/// this core's; `false` if the other core is in the middle of a line, or
/// the line is free but another core has been waiting for it (turns
/// alternate under contention, so neither core's output starves; nobody
/// waits: a refused core tries again at its next drain).
#[inline]
fn take_line() -> bool {
    let core = cpu::core_number();
    let me = core + 1;
    let mine = 1u32 << (core & 31);
    let holder = LINE_HOLDER.load(Ordering::Relaxed);
    if holder == me {
        return true;
    }
    let wanted = LINE_WANTED.load(Ordering::Relaxed);
    let others_waiting = wanted & !mine != 0;
    if holder == 0
        && (!others_waiting || wanted & mine != 0)
        && LINE_HOLDER.compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed).is_ok()
    {
        if wanted & mine != 0 {
            LINE_WANTED.fetch_and(!mine, Ordering::Relaxed);
        }
        return true;
    }
    if wanted & mine == 0 {
        LINE_WANTED.fetch_or(mine, Ordering::Relaxed);
    }
    false
}

/// On a shared console: bit n set when the line was given back while core
/// n waited for it; core n's kernel, rung, takes it ([`take_line_offer`])
/// and drains again.
static LINE_OFFERED: AtomicU32 = AtomicU32::new(0);

/// Gives the shared console back after this core's line (its `\n`),
/// ordering the line's device writes before the other core's next ones,
/// and rings every core that found it held: a core idles in `WFI` when its
/// drain was refused, and would otherwise wait for its next interrupt.
#[inline]
fn give_line() {
    LINE_HOLDER.store(0, Ordering::Release);
    let mine = 1u32 << (cpu::core_number() & 31);
    let waiting = LINE_WANTED.load(Ordering::Relaxed) & !mine;
    if waiting != 0 {
        let fresh = waiting & !LINE_OFFERED.fetch_or(waiting, Ordering::AcqRel);
        let mut cores = fresh;
        while cores != 0 {
            let core = cores.trailing_zeros() as usize;
            cores &= cores - 1;
            gic::ring(&SYSTEM.board, core);
        }
    }
}

/// Whether the shared console was offered to core `core` since it last
/// asked (clearing the offer): a ring that carried it.
pub fn take_line_offer(core: usize) -> bool {
    let bit = 1u32 << (core & 31);
    CONSOLE_SHARED && LINE_OFFERED.fetch_and(!bit, Ordering::AcqRel) & bit != 0
}

/// Sends `byte` if the device can take it now: on a shared console only
/// while this core holds it for the line (taking it first).
#[inline]
fn try_send(uart: &mut ConsoleDriver, byte: u8) -> bool {
    if CONSOLE_SHARED && !take_line() {
        return false;
    }
    if !uart.try_write_byte(byte) {
        return false;
    }
    if CONSOLE_SHARED && byte == b'\n' {
        give_line();
    }
    true
}

/// Sends `byte`, waiting at most [`LINE_PATIENCE`] polls for the shared
/// console's line and [`MAX_POLLS`] for room, then dropping it (counted).
/// Only for moments no partition's time runs.
fn write_waiting(uart: &mut ConsoleDriver, byte: u8) {
    if CONSOLE_SHARED {
        let mut patience = LINE_PATIENCE;
        while !take_line() && patience > 0 {
            patience -= 1;
        }
    }
    for _ in 0..MAX_POLLS {
        if uart.try_write_byte(byte) {
            if CONSOLE_SHARED && byte == b'\n' {
                give_line();
            }
            return;
        }
    }
    DROPPED.fetch_add(1, Ordering::Relaxed);
    if CONSOLE_SHARED && byte == b'\n' {
        give_line();
    }
}

/// The console device as the queues' output: takes a byte only when the
/// transmitter has room.
pub struct Uart {
    uart: ConsoleDriver,
}

impl Uart {
    /// The console device at `base`.
    ///
    /// # Safety
    ///
    /// As [`Console::at`].
    pub unsafe fn new(base: usize) -> Uart {
        // SAFETY: forwarded to the caller.
        Uart { uart: unsafe { ConsoleDriver::at(base) } }
    }

    /// Sets the device up; `false` if it did not respond (nothing will
    /// show, and the kernel runs on).
    pub fn init(&mut self) -> bool {
        self.uart.init()
    }
}

impl Output for Uart {
    #[inline]
    fn try_put(&mut self, byte: u8) -> bool {
        try_send(&mut self.uart, byte)
    }
}

/// The console device, waiting a bounded time for room before dropping a
/// byte: for draining everything at the end of a run.
pub struct Flush {
    uart: ConsoleDriver,
}

impl Flush {
    /// The console device at `base`.
    ///
    /// # Safety
    ///
    /// As [`Console::at`].
    pub unsafe fn new(base: usize) -> Flush {
        // SAFETY: forwarded to the caller.
        Flush { uart: unsafe { ConsoleDriver::at(base) } }
    }
}

impl Output for Flush {
    fn try_put(&mut self, byte: u8) -> bool {
        write_waiting(&mut self.uart, byte);
        true
    }
}

/// A kernel record written straight to the console device: composed in a
/// line buffer with the console's own number formatting (one copy of it in
/// the kernel), then written whole by [`Direct::end`].
pub struct Direct {
    uart: ConsoleDriver,
    line: FixedBuffer<MAX_LINE_BYTES>,
}

impl Direct {
    /// A writer on the console device at `base`.
    ///
    /// # Safety
    ///
    /// As [`Console::at`].
    pub unsafe fn new(base: usize) -> Direct {
        // SAFETY: forwarded to the caller.
        Direct { uart: unsafe { ConsoleDriver::at(base) }, line: FixedBuffer::new() }
    }

    /// Starts a kernel line of record `kind`; finish it with [`Direct::end`].
    pub fn record(&mut self, kind: &str) -> &mut Self {
        self.line.put(MARKER);
        self.line.put_str(kind);
        self
    }

    /// Writes ` key=` for the next value.
    fn key(&mut self, key: &str) -> &mut FixedBuffer<MAX_LINE_BYTES> {
        self.line.put(b' ');
        self.line.put_str(key);
        self.line.put(b'=');
        &mut self.line
    }

    /// Writes ` word`.
    pub fn word(&mut self, word: &str) -> &mut Self {
        self.line.put(b' ');
        self.line.put_str(word);
        self
    }

    /// Writes ` key=value` with a decimal value.
    pub fn dec(&mut self, key: &str, value: u64) -> &mut Self {
        self.key(key).put_dec(value);
        self
    }

    /// Writes ` key=value` with a hexadecimal value.
    pub fn hex(&mut self, key: &str, value: u32) -> &mut Self {
        self.key(key).put_hex(value);
        self
    }

    /// Writes ` key=text`.
    pub fn text(&mut self, key: &str, text: &str) -> &mut Self {
        self.key(key).put_str(text);
        self
    }

    /// Ends the current line and writes it (an over-long line is cut, never
    /// split).
    pub fn end(&mut self) {
        self.line.put(b'\n');
        for &byte in self.line.as_bytes() {
            write_waiting(&mut self.uart, byte);
        }
        self.line.clear();
    }
}
