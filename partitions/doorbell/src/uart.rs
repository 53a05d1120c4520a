//! The simulation stand-in: one byte per ring over a CMSDK APB UART.
//!
//! QEMU connects the UART to a UNIX socket; the host-side driver writes a
//! byte to ring the island and reads the island's bytes. Each byte is one
//! ring; its value carries nothing.
//!
//! | offset | register | use |
//! |---|---|---|
//! | 0x00 | DATA | ring: write a byte; take: read bytes |
//! | 0x04 | STATE | bit 0 TX full, bit 1 RX full |
//! | 0x08 | CTRL | bit 0 TX enable, bit 1 RX enable, bit 3 RX interrupt enable |
//! | 0x0C | INTSTATUS | bit 1 RX interrupt (write 1 to clear) |
//! | 0x10 | BAUDDIV | at least 16 |

use crate::{Doorbell, MAX_POLLS, RegisterAccess, Registers};
use cmsdk_uart::{
    BAUDDIV, CTRL, CTRL_RX_ENABLE, CTRL_RX_INTERRUPT, CTRL_TX_ENABLE, DATA, INT_RX, INTSTATUS, MIN_BAUDDIV, STATE,
    STATE_RX_FULL, STATE_TX_FULL,
};
/// The most bytes one `take` drains: rings are idempotent, so a flood is
/// cut short and the rest raises the interrupt again.
const MAX_DRAIN: u32 = 64;
/// What a ring sends.
pub const RING_BYTE: u8 = b'!';

/// A doorbell over a CMSDK UART.
pub struct UartDoorbell<R = Registers> {
    registers: R,
    /// Rings dropped because the transmitter stayed full.
    pub dropped: u32,
}

impl<R: RegisterAccess> UartDoorbell<R> {
    /// Enables the UART (transmit, receive, receive interrupt) and drops
    /// anything already received.
    pub fn new(registers: R) -> UartDoorbell<R> {
        registers.write(BAUDDIV, MIN_BAUDDIV);
        registers.write(CTRL, CTRL_TX_ENABLE | CTRL_RX_ENABLE | CTRL_RX_INTERRUPT);
        let mut doorbell = UartDoorbell { registers, dropped: 0 };
        doorbell.take();
        doorbell
    }
}

impl<R: RegisterAccess> Doorbell for UartDoorbell<R> {
    fn ring(&mut self) {
        for _ in 0..MAX_POLLS {
            if self.registers.read(STATE) & STATE_TX_FULL == 0 {
                self.registers.write(DATA, RING_BYTE as u32);
                return;
            }
        }
        self.dropped = self.dropped.wrapping_add(1);
    }

    /// Clear, then drain, then re-check. The receive interrupt is set by
    /// each byte that arrives, so clearing it first means any byte that
    /// arrives from here on raises it again; draining then empties the
    /// one-byte receive register, and the look at `STATE` that ends the
    /// drain is the re-check. (Draining first and clearing after loses a
    /// byte that arrives in between: it sits in the full register with the
    /// interrupt cleared, and the UART, full, accepts nothing more, so no
    /// ring gets through again.) A drain cut short by [`MAX_DRAIN`] leaves
    /// the interrupt raised by the bytes that came after the clear.
    fn take(&mut self) -> bool {
        self.registers.write(INTSTATUS, INT_RX);
        let mut rang = false;
        for _ in 0..MAX_DRAIN {
            if self.registers.read(STATE) & STATE_RX_FULL == 0 {
                break;
            }
            let _ = self.registers.read(DATA);
            rang = true;
        }
        rang
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_are_driven_as_documented() {
        let mut frame = [0u32; 8];
        // SAFETY: the array stands in for the register frame and outlives the driver.
        let registers = unsafe { Registers::new(frame.as_mut_ptr() as usize) };
        let mut doorbell = UartDoorbell::new(registers);
        assert_eq!(registers.read(CTRL), 0b1011);
        assert_eq!(registers.read(BAUDDIV), 16);
        doorbell.ring();
        assert_eq!(registers.read(DATA), RING_BYTE as u32);
        assert!(!doorbell.take(), "nothing received");
        assert_eq!(registers.read(INTSTATUS), INT_RX, "interrupt cleared");
        // A receive register that never empties is drained a bounded number of times.
        registers.write(STATE, STATE_RX_FULL);
        assert!(doorbell.take());
        // A transmitter that stays full drops the ring rather than hang.
        registers.write(STATE, STATE_TX_FULL);
        registers.write(DATA, 0);
        doorbell.ring();
        assert_eq!((registers.read(DATA), doorbell.dropped), (0, 1));
    }
}

#[cfg(test)]
mod model {
    use super::*;
    use crate::model::{Device, no_ring_is_lost};

    /// The CMSDK APB UART as QEMU models it (`hw/char/cmsdk-apb-uart.c`):
    /// a one-byte receive register, a byte accepted only while it is
    /// empty, and the receive interrupt status set by each byte received
    /// (with the interrupt enabled) and cleared only by writing it.
    #[derive(Default)]
    struct Uart {
        ctrl: u32,
        rx_full: bool,
        intstatus: u32,
    }

    impl Device for Uart {
        fn read(&mut self, _frame: usize, offset: usize) -> u32 {
            match offset {
                STATE if self.rx_full => STATE_RX_FULL,
                DATA => {
                    self.rx_full = false;
                    RING_BYTE as u32
                }
                INTSTATUS => self.intstatus,
                CTRL => self.ctrl,
                _ => 0,
            }
        }

        fn write(&mut self, _frame: usize, offset: usize, value: u32) {
            match offset {
                CTRL => self.ctrl = value,
                INTSTATUS => self.intstatus &= !value,
                _ => {}
            }
        }

        fn irq(&self) -> bool {
            self.intstatus & INT_RX != 0
        }

        fn try_ring(&mut self) -> bool {
            if self.ctrl & CTRL_RX_ENABLE == 0 || self.rx_full {
                return false;
            }
            self.rx_full = true;
            if self.ctrl & CTRL_RX_INTERRUPT != 0 {
                self.intstatus |= INT_RX;
            }
            true
        }
    }

    #[test]
    fn no_ring_is_lost_whenever_a_byte_arrives() {
        no_ring_is_lost(Uart::default, |bench| Box::new(UartDoorbell::new(bench.port(0))));
    }
}
