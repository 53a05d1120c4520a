//! Register access for the drivers: the only `unsafe` in this crate.

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
