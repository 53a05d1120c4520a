//! The CMSDK UART as the kernel console ([`bulkhead_console::Console`]):
//! transmit only, [`MIN_BAUDDIV`], never waiting.
//!
//! The board chooses it with `console_driver = "cmsdk-uart"`.

use crate::{BAUDDIV, CTRL, CTRL_TX_ENABLE, DATA, MIN_BAUDDIV, STATE, STATE_TX_FULL};
use bulkhead_console::{Console, MmioFrame, Registers};

/// A CMSDK UART transmitter on registers `R`.
#[derive(Debug)]
pub struct CmsdkConsole<R = MmioFrame> {
    regs: R,
}

impl<R: Registers> CmsdkConsole<R> {
    /// The UART behind `regs`.
    pub const fn new(regs: R) -> Self {
        CmsdkConsole { regs }
    }

    /// Sets the divider and turns the transmitter on.
    pub fn enable(&mut self) {
        self.regs.write(BAUDDIV, MIN_BAUDDIV);
        self.regs.write(CTRL, CTRL_TX_ENABLE);
    }

    /// Sends `byte` if the transmit buffer has room.
    #[inline]
    pub fn send(&mut self, byte: u8) -> bool {
        if self.regs.read(STATE) & STATE_TX_FULL != 0 {
            return false;
        }
        self.regs.write(DATA, byte as u32);
        true
    }

    /// The registers (for tests).
    pub fn registers(&mut self) -> &mut R {
        &mut self.regs
    }
}

impl Console for CmsdkConsole<MmioFrame> {
    unsafe fn at(base: usize) -> Self {
        // SAFETY: forwarded from the caller (`Console::at`'s contract).
        CmsdkConsole::new(unsafe { MmioFrame::new(base) })
    }

    fn init(&mut self) -> bool {
        self.enable();
        true
    }

    #[inline]
    fn try_write_byte(&mut self, byte: u8) -> bool {
        self.send(byte)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// A CMSDK UART whose one-byte buffer empties every `every` state reads.
    struct Model {
        ctrl: u32,
        bauddiv: u32,
        held: Option<u8>,
        every: u32,
        reads: u32,
        sent: Vec<u8>,
        violations: Vec<&'static str>,
    }

    impl Registers for Model {
        fn read(&mut self, offset: usize) -> u32 {
            assert_eq!(offset, STATE, "the console reads only STATE");
            self.reads += 1;
            if self.reads.is_multiple_of(self.every) {
                self.sent.extend(self.held.take());
            }
            if self.held.is_some() { STATE_TX_FULL } else { 0 }
        }

        fn write(&mut self, offset: usize, value: u32) {
            match offset {
                BAUDDIV => self.bauddiv = value,
                CTRL => self.ctrl = value,
                DATA => {
                    if self.ctrl & CTRL_TX_ENABLE == 0 || self.bauddiv < MIN_BAUDDIV {
                        self.violations.push("byte sent before the transmitter was set up");
                    }
                    if self.held.replace(value as u8).is_some() {
                        self.violations.push("byte written over a full buffer");
                    }
                }
                _ => self.violations.push("unexpected register"),
            }
        }

        fn write_u8(&mut self, _offset: usize, _value: u8) {
            self.violations.push("byte store");
        }
    }

    #[test]
    fn bytes_leave_in_order_and_a_full_buffer_refuses() {
        let model =
            Model { ctrl: 0, bauddiv: 0, held: None, every: 3, reads: 0, sent: Vec::new(), violations: Vec::new() };
        let mut uart = CmsdkConsole::new(model);
        uart.enable();
        let text = b"@frames-done count=8\n";
        let mut refused = 0;
        for &byte in text {
            while !uart.send(byte) {
                refused += 1;
            }
        }
        while uart.registers().held.is_some() {
            uart.registers().read(STATE);
        }
        assert_eq!(uart.registers().sent, text);
        assert!(refused > 0);
        assert!(uart.registers().violations.is_empty(), "{:?}", uart.registers().violations);
    }
}
