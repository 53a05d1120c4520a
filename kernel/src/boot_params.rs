//! Optional parameters a debugger or simulator writes into RAM before boot.
//!
//! `cargo xtask run --frames N` and the system tests use QEMU's generic loader
//! (`-device loader,addr=...,data=...`) to store a [`BootParams`] block at the
//! address of `BULKHEAD_BOOT_PARAMS`; on hardware a probe can do the same. The
//! block lives in `.uninit`, which nothing initialises, and is only believed
//! when its magic word is right. Absent parameters mean: run forever.

/// Value of [`BootParams::magic`] when the block is valid.
pub const MAGIC: u32 = 0xB0B0_CAFE;

/// Flag: after the last frame (or a kernel panic), end the simulation through
/// semihosting instead of idling.
pub const FLAG_SEMIHOSTING_EXIT: u32 = 1 << 0;

/// The block as laid out in memory.
#[repr(C)]
pub struct BootParams {
    /// [`MAGIC`] when valid.
    pub magic: u32,
    /// Stop after this many complete major frames (0: never).
    pub stop_after_frames: u32,
    /// `FLAG_*` bits.
    pub flags: u32,
}

#[unsafe(no_mangle)]
#[unsafe(link_section = ".uninit.bulkhead_boot_params")]
static mut BULKHEAD_BOOT_PARAMS: core::mem::MaybeUninit<BootParams> = core::mem::MaybeUninit::uninit();

/// What the kernel was asked to do.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Stop after this many frames.
    pub stop_after_frames: Option<u64>,
    /// Exit through semihosting when stopping.
    pub semihosting_exit: bool,
}

/// Reads the block once; invalid or absent blocks give the defaults.
pub fn read() -> Options {
    let block = &raw const BULKHEAD_BOOT_PARAMS;
    // SAFETY: the static is a plain block of words in kernel RAM; any bit
    // pattern is a valid `u32`, and the magic check rejects garbage.
    let (magic, frames, flags) = unsafe {
        let block = block.cast::<u32>();
        (block.read_volatile(), block.add(1).read_volatile(), block.add(2).read_volatile())
    };
    if magic != MAGIC {
        return Options::default();
    }
    Options {
        stop_after_frames: (frames != 0).then_some(frames as u64),
        semihosting_exit: flags & FLAG_SEMIHOSTING_EXIT != 0,
    }
}
