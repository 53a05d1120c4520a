//! Test partition: lines on a UART of its own.
//!
//! Writes [`LINES`] numbered lines on the first device it is given (a CMSDK
//! UART), one byte every [`BYTE_TICKS`] of its own time, so that a line
//! takes more than half of a 200 us window and the window switches fall
//! inside lines, with other partitions writing on their UARTs and on the
//! console before the rest of the line comes. After each line it says so on the console; after the last,
//! it says it is done and waits.
//!
//! UART output: `LINE` = `uartN line K/LINES from NAME: abc...xyz`, ended
//! by CR LF. Console: `writer: sent line K on uartN`, then
//! `writer: done, LINES lines on uartN`.

#![no_std]
#![no_main]

use aarch32_cpu::register::{CntVct, SysRegRead64};
use bulkhead_sdk::{entry, layout, println};
use cmsdk_uart::{BAUDDIV, CTRL, CTRL_TX_ENABLE, DATA, MIN_BAUDDIV, STATE, STATE_TX_FULL};
use core::fmt::Write;
use core::ptr::{read_volatile, write_volatile};

/// Lines written.
const LINES: u32 = 20;
/// Partition time between two bytes, in counter ticks (1.92 us).
const BYTE_TICKS: u64 = 120;

/// This partition's UART, sending one byte per [`BYTE_TICKS`].
struct Uart {
    base: usize,
    next: u64,
}

impl Uart {
    fn read(&self, offset: usize) -> u32 {
        // SAFETY: a register of this partition's own UART.
        unsafe { read_volatile((self.base + offset) as *const u32) }
    }

    fn write(&self, offset: usize, value: u32) {
        // SAFETY: as in `read`.
        unsafe { write_volatile((self.base + offset) as *mut u32, value) }
    }

    fn send(&mut self, byte: u8) {
        while <CntVct as SysRegRead64>::read_raw() < self.next {}
        while self.read(STATE) & STATE_TX_FULL != 0 {}
        self.write(DATA, byte as u32);
        self.next = <CntVct as SysRegRead64>::read_raw() + BYTE_TICKS;
    }
}

impl Write for Uart {
    fn write_str(&mut self, text: &str) -> core::fmt::Result {
        text.bytes().for_each(|byte| self.send(byte));
        Ok(())
    }
}

#[entry]
fn main() -> ! {
    let Some(device) = layout::DEVICES.first() else {
        panic!("writer: this partition needs a UART (devices = [\"uartN\"])");
    };
    let mut uart = Uart { base: device.base as usize, next: 0 };
    uart.write(BAUDDIV, MIN_BAUDDIV);
    uart.write(CTRL, CTRL_TX_ENABLE);
    for line in 1..=LINES {
        let _ =
            write!(uart, "{} line {line}/{LINES} from {}: abcdefghijklmnopqrstuvwxyz\r\n", device.name, layout::NAME);
        println!("writer: sent line {line} on {}", device.name);
    }
    println!("writer: done, {LINES} lines on {}", device.name);
    loop {
        // SAFETY: waits for the end of the window; nothing is left to do.
        unsafe { core::arch::asm!("wfi") };
    }
}
