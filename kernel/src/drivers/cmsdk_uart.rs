//! Arm CMSDK APB UART (MPS3 boards, QEMU `mps3-an536`), transmit only.
//!
//! Registers: DATA +0x0, STATE +0x4 (bit 0: TX full), CTRL +0x8 (bit 0: TX
//! enable), BAUDDIV +0x10 (at least 16).
//!
//! The kernel's console queues drain through [`CmsdkUart::try_write_byte`],
//! which never waits: a full transmitter just stops the drain, and the rest
//! is printed later. [`CmsdkUart::write_byte`] waits a bounded number of
//! polls and then drops the byte (counting it); it serves only the moments
//! no partition's time runs (boot, the end of a bounded run, a kernel
//! panic). QEMU's model never fills.

use cmsdk_uart::{BAUDDIV, CTRL, CTRL_TX_ENABLE, DATA, STATE, STATE_TX_FULL};
use core::ptr::{read_volatile, write_volatile};
/// Polls of TX full before a byte is dropped.
const MAX_POLLS: u32 = 256;

/// A CMSDK UART at a fixed address.
pub struct CmsdkUart {
    base: usize,
}

/// Bytes dropped because the transmitter stayed full.
static DROPPED: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// How many bytes were dropped so far.
pub fn dropped() -> u32 {
    DROPPED.load(core::sync::atomic::Ordering::Relaxed)
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
            write_volatile((self.base + BAUDDIV) as *mut u32, cmsdk_uart::MIN_BAUDDIV);
            write_volatile((self.base + CTRL) as *mut u32, CTRL_TX_ENABLE);
        }
    }

    /// Sends one byte if the transmitter has room now; `false` (and nothing
    /// sent) if not.
    #[inline]
    pub fn try_write_byte(&mut self, byte: u8) -> bool {
        // SAFETY: as in `init`.
        if unsafe { read_volatile((self.base + STATE) as *const u32) } & STATE_TX_FULL != 0 {
            return false;
        }
        // SAFETY: as in `init`.
        unsafe { write_volatile((self.base + DATA) as *mut u32, byte as u32) };
        true
    }

    /// Sends one byte, waiting at most [`MAX_POLLS`] polls for room.
    #[inline]
    pub fn write_byte(&mut self, byte: u8) {
        let mut polls = MAX_POLLS;
        // SAFETY: as in `init`.
        while unsafe { read_volatile((self.base + STATE) as *const u32) } & STATE_TX_FULL != 0 {
            polls -= 1;
            if polls == 0 {
                DROPPED.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
                return;
            }
        }
        // SAFETY: as in `init`.
        unsafe { write_volatile((self.base + DATA) as *mut u32, byte as u32) };
    }
}
