//! The kernel's console: its own log lines and the partitions' output.
//!
//! Kernel lines start with `@` (spelled in `kernel_core::log`); partition
//! lines are assembled per partition ([`bulkhead_kernel_core::line`]) and
//! written whole as `[name] text`. The console never blocks on anything but
//! the UART itself and never reads partition memory (hypercalls copy into the
//! line buffer through `usercopy`).

use crate::drivers::cmsdk_uart::CmsdkUart;
use bulkhead_kernel_core::fmt::ByteSink;
use bulkhead_kernel_core::line::LineBuffer;
use bulkhead_kernel_core::log::MARKER;

/// The kernel console.
pub struct Console {
    uart: CmsdkUart,
}

impl Console {
    /// A console on the UART at `base`.
    ///
    /// # Safety
    ///
    /// As [`CmsdkUart::new`].
    pub const unsafe fn new(base: usize) -> Console {
        // SAFETY: forwarded to the caller.
        Console { uart: unsafe { CmsdkUart::new(base) } }
    }

    /// Enables the UART.
    pub fn init(&mut self) {
        self.uart.init();
    }

    /// Starts a kernel line of record `kind`; finish it with [`Console::end`].
    pub fn record(&mut self, kind: &str) -> &mut Self {
        self.put(MARKER);
        self.put_str(kind);
        self
    }

    /// Writes ` key=` for the next value.
    pub fn key(&mut self, key: &str) -> &mut Self {
        self.put(b' ');
        self.put_str(key);
        self.put(b'=');
        self
    }

    /// Writes ` word`.
    pub fn word(&mut self, word: &str) -> &mut Self {
        self.put(b' ');
        self.put_str(word);
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

    /// Ends the current line.
    pub fn end(&mut self) {
        self.put(b'\n');
    }

    /// Feeds partition output into `line`, writing each completed line as
    /// `[name] text` (a line longer than the buffer as several, the first ones
    /// ending in `\`).
    pub fn partition_bytes(&mut self, name: &str, line: &mut LineBuffer, bytes: impl Iterator<Item = u8>) {
        line.feed(bytes, |text, continued| self.partition_line(name, text, continued));
    }

    fn partition_line(&mut self, name: &str, text: &[u8], continued: bool) {
        self.put(b'[');
        self.put_str(name);
        self.put_str("] ");
        self.put_all(text);
        if continued {
            self.put(b'\\');
        }
        self.put(b'\n');
    }
}

impl ByteSink for Console {
    #[inline]
    fn put(&mut self, byte: u8) {
        self.uart.write_byte(byte);
    }
}
