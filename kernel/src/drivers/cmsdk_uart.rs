//! Arm CMSDK APB UART (MPS3 boards, QEMU `mps3-an536`), transmit only.
//!
//! Registers: DATA +0x0, STATE +0x4 (bit 0: TX full), CTRL +0x8 (bit 0: TX
//! enable), BAUDDIV +0x10 (at least 16). The kernel writes with interrupts
//! masked and waits on TX full, so a byte costs a few instructions under
//! simulation; on hardware the console would be a buffered driver or RTT.

use core::ptr::{read_volatile, write_volatile};

const DATA: usize = 0x0;
const STATE: usize = 0x4;
const CTRL: usize = 0x8;
const BAUDDIV: usize = 0x10;
const STATE_TX_FULL: u32 = 1 << 0;
const CTRL_TX_ENABLE: u32 = 1 << 0;

/// A CMSDK UART at a fixed address.
pub struct CmsdkUart {
    base: usize,
}

impl CmsdkUart {
    /// A driver for the UART at `base`.
    ///
    /// # Safety
    ///
    /// `base` must be the address of a CMSDK UART mapped for the kernel, and
    /// no other code may drive it.
    pub const unsafe fn new(base: usize) -> CmsdkUart {
        CmsdkUart { base }
    }

    /// Enables the transmitter.
    pub fn init(&mut self) {
        // SAFETY: `new`'s contract makes these the UART's own registers.
        unsafe {
            write_volatile((self.base + BAUDDIV) as *mut u32, 16);
            write_volatile((self.base + CTRL) as *mut u32, CTRL_TX_ENABLE);
        }
    }

    /// Sends one byte, waiting while the transmitter is full.
    #[inline]
    pub fn write_byte(&mut self, byte: u8) {
        // SAFETY: as in `init`.
        unsafe {
            while read_volatile((self.base + STATE) as *const u32) & STATE_TX_FULL != 0 {}
            write_volatile((self.base + DATA) as *mut u32, byte as u32);
        }
    }
}
