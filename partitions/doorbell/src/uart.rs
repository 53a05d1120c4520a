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

use crate::{Doorbell, MAX_POLLS, Registers};
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
pub struct UartDoorbell {
    registers: Registers,
    /// Rings dropped because the transmitter stayed full.
    pub dropped: u32,
}

impl UartDoorbell {
    /// Enables the UART (transmit, receive, receive interrupt) and drops
    /// anything already received.
    pub fn new(registers: Registers) -> UartDoorbell {
        registers.write(BAUDDIV, MIN_BAUDDIV);
        registers.write(CTRL, CTRL_TX_ENABLE | CTRL_RX_ENABLE | CTRL_RX_INTERRUPT);
        let mut doorbell = UartDoorbell { registers, dropped: 0 };
        doorbell.take();
        doorbell
    }
}

impl Doorbell for UartDoorbell {
    fn ring(&mut self) {
        for _ in 0..MAX_POLLS {
            if self.registers.read(STATE) & STATE_TX_FULL == 0 {
                self.registers.write(DATA, RING_BYTE as u32);
                return;
            }
        }
        self.dropped = self.dropped.wrapping_add(1);
    }

    fn take(&mut self) -> bool {
        let mut rang = false;
        for _ in 0..MAX_DRAIN {
            if self.registers.read(STATE) & STATE_RX_FULL == 0 {
                break;
            }
            let _ = self.registers.read(DATA);
            rang = true;
        }
        self.registers.write(INTSTATUS, INT_RX);
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
