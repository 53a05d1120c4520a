//! The shared window: memory the island shares with a less trusted processor.
//!
//! Everything the other side can write is reached through a [`Window`],
//! by offset, and every access is bounds-checked and happens exactly once:
//! no reference into the window is ever handed out, so a value cannot be
//! checked and then read again after the other side changed it (no double
//! fetch). Accesses outside the window return `None`; they never touch
//! memory.
//!
//! This module owns the access discipline; it never interprets what it
//! reads (see [`crate::vring`], [`crate::resource_table`], [`crate::rpmsg`]).

/// Shared memory, addressed by offset from its first byte.
///
/// Multi-byte values are little-endian (the byte order of both processors
/// and of legacy VIRTIO on them) and must be naturally aligned, as every
/// field of the VIRTIO and rpmsg layouts is; an unaligned offset is `None`.
pub trait Window {
    /// Size in bytes.
    fn size(&self) -> u32;
    /// Reads a byte.
    fn read_u8(&self, offset: u32) -> Option<u8>;
    /// Reads a 16-bit value.
    fn read_u16(&self, offset: u32) -> Option<u16>;
    /// Reads a 32-bit value.
    fn read_u32(&self, offset: u32) -> Option<u32>;
    /// Writes a byte.
    fn write_u8(&mut self, offset: u32, value: u8) -> Option<()>;
    /// Writes a 16-bit value.
    fn write_u16(&mut self, offset: u32, value: u16) -> Option<()>;
    /// Writes a 32-bit value.
    fn write_u32(&mut self, offset: u32, value: u32) -> Option<()>;
    /// Copies `into.len()` bytes from `offset`.
    fn read_bytes(&self, offset: u32, into: &mut [u8]) -> Option<()>;
    /// Copies `from` to `offset`.
    fn write_bytes(&mut self, offset: u32, from: &[u8]) -> Option<()>;
    /// Orders the accesses before it with those after it, as the other
    /// processor observes them.
    fn barrier(&self);

    /// Reads a 64-bit value as two 32-bit reads (low word first). Fields of
    /// this width (descriptor addresses) are never written concurrently by
    /// a well-behaved driver; a torn value from a hostile one is just a bad
    /// address, which the caller's checks refuse.
    fn read_u64(&self, offset: u32) -> Option<u64> {
        if !offset.is_multiple_of(8) {
            return None;
        }
        let low = self.read_u32(offset)?;
        let high = self.read_u32(offset.checked_add(4)?)?;
        Some((high as u64) << 32 | low as u64)
    }
}

/// `offset..offset + len` inside a window of `size` bytes, aligned to `align`.
pub fn span_ok(size: u32, offset: u32, len: u32, align: u32) -> bool {
    offset.is_multiple_of(align) && offset.checked_add(len).is_some_and(|end| end <= size)
}

/// A window at a fixed address: the island's view of the shared memory, or
/// a host program's mapping of it. Accesses are volatile.
pub struct MmioWindow {
    base: *mut u8,
    size: u32,
}

// SAFETY: the window is plain memory; concurrent access by the other side is
// what the whole protocol is about, and every access here is volatile.
unsafe impl Send for MmioWindow {}

impl MmioWindow {
    /// The window of `size` bytes at `base`.
    ///
    /// # Safety
    ///
    /// `base..base + size` must be memory this program may read and write
    /// for as long as the window exists, aligned to 8 bytes, and used by
    /// nothing else in this program.
    pub unsafe fn new(base: *mut u8, size: u32) -> MmioWindow {
        MmioWindow { base, size }
    }

    fn at<T>(&self, offset: u32) -> Option<*mut T> {
        let width = core::mem::size_of::<T>() as u32;
        if !span_ok(self.size, offset, width, width) {
            return None;
        }
        // SAFETY: span_ok keeps offset + width inside the window.
        Some(unsafe { self.base.add(offset as usize) }.cast())
    }
}

macro_rules! volatile_accessors {
    ($($read:ident, $write:ident, $t:ty;)*) => {
        $(
            fn $read(&self, offset: u32) -> Option<$t> {
                let pointer = self.at::<$t>(offset)?;
                // SAFETY: in bounds and aligned (checked by `at`); the caller
                // of `new` promised the memory.
                Some(<$t>::from_le(unsafe { pointer.read_volatile() }))
            }

            fn $write(&mut self, offset: u32, value: $t) -> Option<()> {
                let pointer = self.at::<$t>(offset)?;
                // SAFETY: as in the read.
                unsafe { pointer.write_volatile(value.to_le()) };
                Some(())
            }
        )*
    };
}

impl Window for MmioWindow {
    fn size(&self) -> u32 {
        self.size
    }

    volatile_accessors! {
        read_u8, write_u8, u8;
        read_u16, write_u16, u16;
        read_u32, write_u32, u32;
    }

    fn read_bytes(&self, offset: u32, into: &mut [u8]) -> Option<()> {
        let len = u32::try_from(into.len()).ok()?;
        if !span_ok(self.size, offset, len, 1) {
            return None;
        }
        // SAFETY: inside the window (checked above).
        let from = unsafe { self.base.add(offset as usize) };
        // Whole aligned words first (message copies are most of the cost of
        // echoing one), then the rest byte by byte.
        let words = if (from as usize | into.as_ptr() as usize).is_multiple_of(4) { into.len() / 4 } else { 0 };
        let to = into.as_mut_ptr().cast::<u32>();
        for word in 0..words {
            // SAFETY: both sides aligned (checked), `word * 4 + 4 <= len`
            // inside the window and inside `into`.
            unsafe { to.add(word).write(from.cast::<u32>().add(word).read_volatile()) };
        }
        for (at, byte) in into.iter_mut().enumerate().skip(words * 4) {
            // SAFETY: `at < len`, inside the window.
            *byte = unsafe { from.add(at).read_volatile() };
        }
        Some(())
    }

    fn write_bytes(&mut self, offset: u32, from: &[u8]) -> Option<()> {
        let len = u32::try_from(from.len()).ok()?;
        if !span_ok(self.size, offset, len, 1) {
            return None;
        }
        // SAFETY: inside the window (checked above).
        let to = unsafe { self.base.add(offset as usize) };
        let words = if (to as usize | from.as_ptr() as usize).is_multiple_of(4) { from.len() / 4 } else { 0 };
        let source = from.as_ptr().cast::<u32>();
        for word in 0..words {
            // SAFETY: both sides aligned (checked), `word * 4 + 4 <= len`
            // inside the window and inside `from`.
            unsafe { to.cast::<u32>().add(word).write_volatile(source.add(word).read()) };
        }
        for (at, byte) in from.iter().enumerate().skip(words * 4) {
            // SAFETY: `at < len`, inside the window.
            unsafe { to.add(at).write_volatile(*byte) };
        }
        Some(())
    }

    fn barrier(&self) {
        full_barrier();
    }
}

/// A barrier that orders memory accesses for every observer in the system,
/// other processors included: `DMB SY` on Arm (the other side may be outside
/// this core's shareability domain), a sequentially consistent fence
/// elsewhere.
#[inline(always)]
pub fn full_barrier() {
    #[cfg(target_arch = "arm")]
    // SAFETY: a barrier has no other effect.
    unsafe {
        core::arch::asm!("dmb sy", options(nostack, preserves_flags));
    }
    #[cfg(not(target_arch = "arm"))]
    core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
}

/// A window over a byte slice: for tests, fuzzing and host tools that hold
/// the memory themselves.
pub struct SliceWindow<'a> {
    bytes: &'a mut [u8],
}

impl<'a> SliceWindow<'a> {
    /// The window over `bytes` (at most 4 GiB).
    pub fn new(bytes: &'a mut [u8]) -> SliceWindow<'a> {
        SliceWindow { bytes }
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        self.bytes
    }

    fn range(&self, offset: u32, len: u32, align: u32) -> Option<core::ops::Range<usize>> {
        span_ok(self.size(), offset, len, align).then(|| offset as usize..offset as usize + len as usize)
    }
}

macro_rules! slice_accessors {
    ($($read:ident, $write:ident, $t:ty;)*) => {
        $(
            fn $read(&self, offset: u32) -> Option<$t> {
                const WIDTH: usize = core::mem::size_of::<$t>();
                let range = self.range(offset, WIDTH as u32, WIDTH as u32)?;
                let mut bytes = [0u8; WIDTH];
                bytes.copy_from_slice(self.bytes.get(range)?);
                Some(<$t>::from_le_bytes(bytes))
            }

            fn $write(&mut self, offset: u32, value: $t) -> Option<()> {
                const WIDTH: usize = core::mem::size_of::<$t>();
                let range = self.range(offset, WIDTH as u32, WIDTH as u32)?;
                self.bytes.get_mut(range)?.copy_from_slice(&value.to_le_bytes());
                Some(())
            }
        )*
    };
}

impl Window for SliceWindow<'_> {
    fn size(&self) -> u32 {
        u32::try_from(self.bytes.len()).unwrap_or(u32::MAX)
    }

    slice_accessors! {
        read_u8, write_u8, u8;
        read_u16, write_u16, u16;
        read_u32, write_u32, u32;
    }

    fn read_bytes(&self, offset: u32, into: &mut [u8]) -> Option<()> {
        let range = self.range(offset, u32::try_from(into.len()).ok()?, 1)?;
        into.copy_from_slice(self.bytes.get(range)?);
        Some(())
    }

    fn write_bytes(&mut self, offset: u32, from: &[u8]) -> Option<()> {
        let range = self.range(offset, u32::try_from(from.len()).ok()?, 1)?;
        self.bytes.get_mut(range)?.copy_from_slice(from);
        Some(())
    }

    fn barrier(&self) {
        full_barrier();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accesses_outside_or_misaligned_are_refused() {
        let mut bytes = [0u8; 64];
        let mut window = SliceWindow::new(&mut bytes);
        assert_eq!(window.write_u32(60, 0xA1B2_C3D4), Some(()));
        assert_eq!(window.read_u32(60), Some(0xA1B2_C3D4));
        assert_eq!(window.read_u8(60), Some(0xD4), "little-endian");
        assert_eq!(window.read_u32(61), None, "misaligned");
        assert_eq!(window.read_u32(64), None, "outside");
        assert_eq!(window.read_u32(u32::MAX - 3), None, "wraps");
        assert_eq!(window.read_u64(56), Some(0xA1B2_C3D4_0000_0000));
        assert_eq!(window.read_bytes(60, &mut [0; 5]), None);
        assert_eq!(window.write_bytes(u32::MAX, &[1]), None);
    }

    #[test]
    fn mmio_window_matches_slice_window() {
        let mut backing = [0u64; 16];
        let size = core::mem::size_of_val(&backing) as u32;
        // SAFETY: `backing` outlives the window, is 8-aligned and used only through it.
        let mut mmio = unsafe { MmioWindow::new(backing.as_mut_ptr().cast(), size) };
        let mut copy = [0u8; 128];
        let mut slice = SliceWindow::new(&mut copy);
        let message: [u8; 23] = core::array::from_fn(|i| i as u8 * 7);
        for offset in [0, 1, 2, 3, 5, 64, 105] {
            assert_eq!(mmio.write_bytes(offset, &message), slice.write_bytes(offset, &message));
            // Unaligned on the private side too.
            assert_eq!(mmio.write_bytes(offset + 1, &message[1..]), slice.write_bytes(offset + 1, &message[1..]));
        }
        assert_eq!(mmio.write_u16(6, 0xBEEF), slice.write_u16(6, 0xBEEF));
        assert_eq!(mmio.write_u16(7, 1), None);
        for offset in 0..128 {
            assert_eq!(mmio.read_u8(offset), slice.read_u8(offset), "byte {offset}");
        }
        for (offset, skip) in [(3, 0), (4, 0), (4, 1), (8, 3)] {
            let (mut a, mut b) = ([0u32; 9], [0u8; 36]);
            // SAFETY: viewing a u32 array as bytes.
            let a_bytes = unsafe { core::slice::from_raw_parts_mut(a.as_mut_ptr().cast::<u8>(), 36) };
            assert_eq!(mmio.read_bytes(offset, &mut a_bytes[skip..31]), slice.read_bytes(offset, &mut b[skip..31]));
            assert_eq!(&a_bytes[..31], &b[..31], "offset {offset} skip {skip}");
        }
        let mut a = [0u8; 31];
        assert_eq!(mmio.read_bytes(100, &mut a), None);
    }
}
