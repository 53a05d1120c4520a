//! Access to one channel window: the only way the protocols touch it.
//!
//! The protocols ([`crate::sampling`], [`crate::queuing`]) address the
//! window by byte offset through a [`Window`], never through a reference,
//! so every value a peer can change is read exactly once per use and no
//! check can be undone by a later re-read. The SDK and the kernel use
//! [`crate::RawWindow`] (volatile accesses at a fixed address); the tests
//! use models that check every access and can interleave two sides at
//! word granularity.
//!
//! Every offset the protocols pass is word-aligned for `load` and `store`
//! and inside the window (`offset + width <= size()`), whatever the window
//! holds: the constructors refuse a window smaller than their layout and
//! every index taken from the window is checked before it becomes an
//! offset. An implementation may rely on that, but must not have to: a
//! memory-touching one (like [`crate::RawWindow`]) still checks.

/// Word and byte access to one channel window. The SDK and kernel implement
/// it over volatile raw-pointer accesses; tests implement it over models.
///
/// Words are little-endian (the layout's byte order and the target's).
pub trait Window {
    /// Size of the window in bytes. The protocols' constructors compare it
    /// with their layout and refuse a smaller window.
    fn size(&self) -> u32;

    /// One single-copy-atomic, aligned 32-bit load of the word at `offset`
    /// (a multiple of 4).
    fn load(&self, offset: u32) -> u32;

    /// One aligned 32-bit store of `value` at `offset` (a multiple of 4).
    fn store(&self, offset: u32, value: u32);

    /// Copies `out.len()` bytes from `offset` into `out` (a payload: no
    /// atomicity needed, the protocols check around it).
    fn read_bytes(&self, offset: u32, out: &mut [u8]);

    /// Copies `bytes` to `offset` (a payload).
    fn write_bytes(&self, offset: u32, bytes: &[u8]);

    /// Orders every access before it against every access after it, for
    /// another core too (dmb ish on the target).
    fn fence(&self);
}

impl<W: Window + ?Sized> Window for &W {
    fn size(&self) -> u32 {
        (**self).size()
    }

    fn load(&self, offset: u32) -> u32 {
        (**self).load(offset)
    }

    fn store(&self, offset: u32, value: u32) {
        (**self).store(offset, value);
    }

    fn read_bytes(&self, offset: u32, out: &mut [u8]) {
        (**self).read_bytes(offset, out);
    }

    fn write_bytes(&self, offset: u32, bytes: &[u8]) {
        (**self).write_bytes(offset, bytes);
    }

    fn fence(&self) {
        (**self).fence();
    }
}

/// `offset..offset + len` lies inside a window of `size` bytes and
/// `offset` is a multiple of `align`.
pub const fn span_ok(size: u32, offset: u32, len: u32, align: u32) -> bool {
    if !offset.is_multiple_of(align) {
        return false;
    }
    match offset.checked_add(len) {
        Some(end) => end <= size,
        None => false,
    }
}
