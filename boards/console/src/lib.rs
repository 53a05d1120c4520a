//! What the kernel asks of a console device, and how chip drivers reach
//! registers.
//!
//! The kernel is chip-agnostic: it drives its console through
//! [`Console`] only, and the board picks the implementation
//! (`[kernel] console_driver` in `board.toml`, emitted into the kernel's
//! tables as the type `ConsoleDriver`), the way Tock's boards pick their
//! chips' drivers. Drivers live with their chip's other drivers
//! (`boards/cmsdk-uart`, `boards/nxp-s32z2`, `boards/dcc-console`), never in
//! `kernel/`.
//!
//! Drivers are written against [`Registers`], so host tests can run them on
//! a register model that checks the programming sequence the reference
//! manual gives; on the target they run on an [`MmioFrame`].
//!
//! This crate must never hold state or touch hardware itself, except
//! through [`MmioFrame`]'s volatile accesses.

#![no_std]

/// A console device as the kernel uses it: one byte at a time, never
/// waiting unboundedly.
///
/// The kernel's console queues drain through [`Console::try_write_byte`]
/// (a full transmitter stops the drain; the rest is printed later). At
/// moments when no partition's time runs (boot, the end of a bounded run,
/// a kernel panic) the kernel retries a bounded number of times and then
/// drops the byte, counting it.
pub trait Console: Sized {
    /// The driver for the device whose register frame starts at `base`.
    ///
    /// # Safety
    ///
    /// `base` must be the device's frame, mapped for the caller as device
    /// memory, and no other code may drive the device while this value is
    /// used.
    unsafe fn at(base: usize) -> Self;

    /// Sets the device up to transmit (framing, rate, transmitter on).
    /// Called once per core, for that core's instance, before its first
    /// byte. Must finish in bounded time: returns `false` if the device did
    /// not respond as it should (the kernel then prints nothing on it).
    fn init(&mut self) -> bool;

    /// Hands `byte` to the transmitter if it can take it now; `false` (and
    /// nothing sent) if not. Never waits.
    fn try_write_byte(&mut self, byte: u8) -> bool;
}

/// 32-bit register accesses at offsets in one device frame (and the 8-bit
/// stores some data registers need).
pub trait Registers {
    /// Reads the register at `offset`.
    fn read(&mut self, offset: usize) -> u32;
    /// Writes the register at `offset`.
    fn write(&mut self, offset: usize, value: u32);
    /// Writes one byte at `offset` (a byte store on the bus).
    fn write_u8(&mut self, offset: usize, value: u8);
}

/// A device frame in memory: volatile accesses at `base + offset`.
#[derive(Debug)]
pub struct MmioFrame {
    base: usize,
}

impl MmioFrame {
    /// The frame at `base`.
    ///
    /// # Safety
    ///
    /// As [`Console::at`]: `base` is a device's frame, mapped as device
    /// memory, driven by nobody else; every offset a driver uses is inside
    /// it and word aligned (byte aligned for [`Registers::write_u8`]).
    pub const unsafe fn new(base: usize) -> MmioFrame {
        MmioFrame { base }
    }
}

impl Registers for MmioFrame {
    #[inline]
    fn read(&mut self, offset: usize) -> u32 {
        // SAFETY: `new`'s contract: a register of this device's frame.
        unsafe { core::ptr::read_volatile((self.base + offset) as *const u32) }
    }

    #[inline]
    fn write(&mut self, offset: usize, value: u32) {
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile((self.base + offset) as *mut u32, value) }
    }

    #[inline]
    fn write_u8(&mut self, offset: usize, value: u8) {
        // SAFETY: as in `read`.
        unsafe { core::ptr::write_volatile((self.base + offset) as *mut u8, value) }
    }
}
