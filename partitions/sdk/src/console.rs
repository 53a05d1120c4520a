//! `print!` and `println!` over the console hypercall.
//!
//! Output is gathered in a small buffer and sent in chunks of at most
//! [`bulkhead_abi::CONSOLE_WRITE_MAX`] bytes. The kernel assembles lines per
//! partition, so a line interrupted by a window switch is still printed whole.

use crate::hypercall::console_write;
use bulkhead_abi::CONSOLE_WRITE_MAX;
use core::fmt;

/// A writer to the console.
pub struct Console {
    buffer: [u8; CONSOLE_WRITE_MAX as usize],
    len: usize,
}

impl Console {
    /// An empty writer.
    pub const fn new() -> Console {
        Console { buffer: [0; CONSOLE_WRITE_MAX as usize], len: 0 }
    }

    /// Sends what is buffered.
    pub fn flush(&mut self) {
        let mut sent = 0;
        while sent < self.len {
            match console_write(&self.buffer[sent..self.len]) {
                Ok(0) | Err(_) => break,
                Ok(count) => sent += count,
            }
        }
        self.len = 0;
    }
}

impl Default for Console {
    fn default() -> Self {
        Console::new()
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        for &byte in text.as_bytes() {
            if self.len == self.buffer.len() {
                self.flush();
            }
            self.buffer[self.len] = byte;
            self.len += 1;
            if byte == b'\n' {
                self.flush();
            }
        }
        Ok(())
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Formats and writes to the console.
pub fn print(arguments: fmt::Arguments<'_>) {
    let mut console = Console::new();
    let _ = fmt::Write::write_fmt(&mut console, arguments);
}

/// Prints to the partition console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::console::print(format_args!($($arg)*)) };
}

/// Prints a line to the partition console.
#[macro_export]
macro_rules! println {
    () => { $crate::console::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}

#[cfg(feature = "panic-handler")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    print(format_args!("panic: {}\n", info.message()));
    let address = info.location().map_or(0, |location| location.line());
    crate::hypercall::report_fault(bulkhead_abi::El1Exception::Panic, address, 0)
}
