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

use crate::tables::ConsoleDriver;
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

/// Sends `byte`, waiting at most [`MAX_POLLS`] polls for room, then
/// dropping it (counted). Only for moments no partition's time runs.
fn write_waiting(uart: &mut ConsoleDriver, byte: u8) {
    for _ in 0..MAX_POLLS {
        if uart.try_write_byte(byte) {
            return;
        }
    }
    DROPPED.fetch_add(1, Ordering::Relaxed);
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
        self.uart.try_write_byte(byte)
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
