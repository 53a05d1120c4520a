//! Register access for the drivers: the only `unsafe` in this crate.

/// A device's 32-bit registers, by byte offset: the hardware
/// ([`Registers`]) or, in tests, a model of the device.
pub trait RegisterAccess {
    /// Reads the register at byte offset `offset`.
    fn read(&self, offset: usize) -> u32;
    /// Writes the register at byte offset `offset`.
    fn write(&self, offset: usize, value: u32);
}

impl RegisterAccess for Registers {
    fn read(&self, offset: usize) -> u32 {
        Registers::read(self, offset)
    }

    fn write(&self, offset: usize, value: u32) {
        Registers::write(self, offset, value)
    }
}

/// A block of 32-bit memory-mapped registers.
#[derive(Clone, Copy, Debug)]
pub struct Registers {
    base: usize,
}

impl Registers {
    /// The registers at `base`.
    ///
    /// # Safety
    ///
    /// `base` must be the 4-byte aligned start of the device's register
    /// frame (or, in tests, of memory standing in for it), covering every
    /// offset the driver using it reads or writes, for as long as it is
    /// used, and used by no one else in this program.
    pub const unsafe fn new(base: usize) -> Registers {
        Registers { base }
    }

    /// Reads the register at byte offset `offset`.
    pub fn read(&self, offset: usize) -> u32 {
        // SAFETY: the frame covers every offset the drivers use (see `new`).
        unsafe { ((self.base + offset) as *const u32).read_volatile() }
    }

    /// Writes the register at byte offset `offset`.
    pub fn write(&self, offset: usize, value: u32) {
        // SAFETY: as in `read`.
        unsafe { ((self.base + offset) as *mut u32).write_volatile(value) }
    }
}
