//! [`RawWindow`]: a channel window at a fixed address, accessed with
//! volatile loads and stores. The crate's only `unsafe` code.
//!
//! It owns the memory discipline at the lowest level: each word access is
//! one aligned `ldr`/`str` (single-copy atomic on Armv8-R), each access is
//! checked against the window's size, and [`Window::fence`] is `dmb ish`.
//! It never interprets what it reads.
//!
//! ## Out-of-range accesses
//!
//! The protocols never produce one: their constructors refuse a window
//! smaller than their layout, and every index derived from the window's
//! contents is bounds-checked before it becomes an offset (the tests'
//! model windows assert this on every access, under honest and garbage
//! contents alike). `RawWindow` checks anyway, as defence in depth, so
//! that even a caller's mistake cannot reach memory outside the window: a
//! load outside the window (or misaligned) returns 0, a store is dropped,
//! a `read_bytes` fills `out` with zeros and a `write_bytes` is dropped,
//! all without touching memory. No `debug_assert!`: the kernel must not
//! panic on any path, debug build or not.
//!
//! ## Volatile, not atomic
//!
//! The other side of a window is another partition (another program, on
//! this core or another), outside this program's abstract machine, as a
//! device is: volatile accesses keep the compiler from merging, splitting,
//! eliding or reordering them against each other, and the fence orders
//! them for the hardware.

use crate::window::{Window, span_ok};

/// A channel window at a fixed address, accessed with volatile loads and
/// stores, every access checked against its size.
pub struct RawWindow {
    base: *mut u8,
    size: u32,
}

// SAFETY: a `RawWindow` is an address and a size; the memory behind it is
// shared with other programs by design and only ever reached through
// volatile accesses, so moving the handle to another thread adds nothing
// the `new` contract does not already cover.
unsafe impl Send for RawWindow {}

impl RawWindow {
    /// The window of `size` bytes at `base`.
    ///
    /// # Safety
    ///
    /// For as long as the `RawWindow` exists, the caller guarantees that:
    /// `base` is aligned to 4 bytes; `base..base + size` is mapped and
    /// readable, and writable too if `store` or `write_bytes` is ever
    /// called (the writer's mapping; a reader's protocol types never store,
    /// and the kernel's `QueueAck` stores one word through its own
    /// mapping); and this program holds no Rust reference into it (other
    /// partitions and the kernel may access it concurrently: that is what
    /// the protocols are for).
    pub const unsafe fn new(base: *mut u8, size: u32) -> RawWindow {
        RawWindow { base, size }
    }

    /// The address of `offset`, if `offset..offset + len` is inside the
    /// window and `offset` a multiple of `align`.
    fn at(&self, offset: u32, len: u32, align: u32) -> Option<*mut u8> {
        if !span_ok(self.size, offset, len, align) {
            return None;
        }
        // SAFETY: `offset + len <= size`, so the result stays inside the
        // window the caller of `new` vouched for (one past its end at most).
        Some(unsafe { self.base.add(offset as usize) })
    }
}

/// Copies whole blocks of 16 bytes from `from` to `to`, as many as fit in
/// `words` words, and returns the words copied (a multiple of 4). On the
/// target, one `LDM`/`STM` pair of four registers per block: a 64-byte
/// payload is 16 instructions instead of 64. The assembly is not `nomem`,
/// so the compiler keeps it in order with the volatile accesses and fences
/// around it, as it keeps volatile accesses; within the copy the order of
/// the words does not matter to the protocols (the fences around the
/// payload order it as a whole). Elsewhere (host tests) it copies nothing
/// and the callers' word loop does it all.
///
/// The kernel's restore of a partition's `.data` (`partition_memory::apply`)
/// uses it too: the one block copy of the project.
///
/// # Safety
///
/// `from` and `to` 4-aligned, and `words * 4` bytes at each inside memory
/// the caller may read (`from`) and write (`to`).
#[inline(always)]
pub unsafe fn copy_blocks(from: *const u8, to: *mut u8, words: usize) -> usize {
    #[cfg(target_arch = "arm")]
    {
        let blocks = words / 4;
        if blocks != 0 {
            // SAFETY: the caller's contract: `16 * blocks <= 4 * words`
            // bytes at each pointer, aligned; the loop reads exactly those
            // from `from` and writes them to `to`.
            unsafe {
                core::arch::asm!(
                    "2:",
                    "ldm {from}!, {{r2, r3, r4, r5}}",
                    "stm {to}!, {{r2, r3, r4, r5}}",
                    "subs {blocks}, {blocks}, #1",
                    "bne 2b",
                    from = inout(reg) from => _,
                    to = inout(reg) to => _,
                    blocks = inout(reg) blocks => _,
                    out("r2") _, out("r3") _, out("r4") _, out("r5") _,
                    options(nostack),
                )
            };
        }
        blocks * 4
    }
    #[cfg(not(target_arch = "arm"))]
    {
        let _ = (from, to, words);
        0
    }
}

impl Window for RawWindow {
    fn size(&self) -> u32 {
        self.size
    }

    fn load(&self, offset: u32) -> u32 {
        match self.at(offset, 4, 4) {
            // SAFETY: inside the window and 4-aligned (`at`; `base` is
            // 4-aligned by the contract of `new`), mapped readable.
            Some(word) => u32::from_le(unsafe { word.cast::<u32>().read_volatile() }),
            None => 0,
        }
    }

    fn store(&self, offset: u32, value: u32) {
        if let Some(word) = self.at(offset, 4, 4) {
            // SAFETY: as in `load`; the caller of `new` vouched the mapping
            // writable if it stores.
            unsafe { word.cast::<u32>().write_volatile(value.to_le()) };
        }
    }

    fn read_bytes(&self, offset: u32, out: &mut [u8]) {
        let Some(from) = u32::try_from(out.len()).ok().and_then(|len| self.at(offset, len, 1)) else {
            out.fill(0);
            return;
        };
        // Whole words while both sides are aligned (payloads start 4-aligned
        // in the layout), the rest byte by byte.
        let len = out.len();
        let to = out.as_mut_ptr();
        let words = if (from as usize | to as usize).is_multiple_of(4) { len / 4 } else { 0 };
        // SAFETY: `words * 4 <= len`: inside the window and inside `out`,
        // both 4-aligned (checked above).
        let copied = unsafe { copy_blocks(from, to, words) };
        for word in copied..words {
            // SAFETY: `word * 4 + 4 <= len`: inside the window (checked
            // above) and inside `out`; both 4-aligned (checked).
            unsafe { to.cast::<u32>().add(word).write(from.cast::<u32>().add(word).read_volatile()) };
        }
        for at in words * 4..len {
            // SAFETY: `at < out.len()`: inside the window and inside `out`.
            unsafe { to.add(at).write(from.add(at).read_volatile()) };
        }
    }

    fn write_bytes(&self, offset: u32, bytes: &[u8]) {
        let Some(to) = u32::try_from(bytes.len()).ok().and_then(|len| self.at(offset, len, 1)) else {
            return;
        };
        let from = bytes.as_ptr();
        let words = if (to as usize | from as usize).is_multiple_of(4) { bytes.len() / 4 } else { 0 };
        // SAFETY: `words * 4 <= bytes.len()`: inside `bytes` and inside the
        // window (writable by the contract of `new`), both 4-aligned.
        let copied = unsafe { copy_blocks(from, to, words) };
        for word in copied..words {
            // SAFETY: `word * 4 + 4 <= bytes.len()`: inside the window and
            // inside `bytes`; both 4-aligned (checked); writable by the
            // contract of `new`.
            unsafe { to.cast::<u32>().add(word).write_volatile(from.cast::<u32>().add(word).read()) };
        }
        for at in words * 4..bytes.len() {
            // SAFETY: `at < bytes.len()`: inside the window and `bytes`.
            unsafe { to.add(at).write_volatile(from.add(at).read()) };
        }
    }

    /// `dmb ish` on the target: `fence(SeqCst)` lowers to it for Armv8-R
    /// AArch32 (checked in the target's assembly). The cores of one
    /// Cortex-R52 cluster share the inner shareable domain, and the windows
    /// are shareable Normal memory, so `ish` orders them for every core
    /// that maps a window. LLVM moves no volatile access across the fence.
    /// On the host (tests) it is the same sequentially consistent fence.
    fn fence(&self) {
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    }
}
