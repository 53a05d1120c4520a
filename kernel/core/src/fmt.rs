//! Number formatting for the kernel log, without `core::fmt`.
//!
//! `core::fmt` costs several KiB of kernel text and dynamic dispatch on every
//! log line; the kernel only ever prints strings, decimal and hexadecimal
//! numbers, so it uses these small writers instead.

/// Writes `value` in decimal with at least `min_digits` digits (zero-padded).
fn put_u32<S: ByteSink + ?Sized>(sink: &mut S, mut value: u32, min_digits: usize) {
    let mut digits = [b'0'; 10];
    let mut count = 0;
    for slot in digits.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
        count += 1;
        if value == 0 && count >= min_digits {
            break;
        }
    }
    for &digit in digits.iter().skip(digits.len().saturating_sub(count)) {
        sink.put(digit);
    }
}

/// Something that takes bytes: the console, or a buffer in tests.
pub trait ByteSink {
    /// Takes one byte.
    fn put(&mut self, byte: u8);

    /// Takes every byte of `bytes`.
    fn put_all(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.put(byte);
        }
    }

    /// Takes a string.
    fn put_str(&mut self, text: &str) {
        self.put_all(text.as_bytes());
    }

    /// Writes `value` in decimal.
    ///
    /// Values that fit 32 bits (nearly all the kernel prints) use only
    /// division by the constant 10, which compiles to a multiply. Larger
    /// ones are divided by 10 as four 16-bit limbs, again with 32-bit
    /// arithmetic only: the kernel is built without the hardware-divide
    /// feature, and a 64-bit division would pull in the library's long
    /// division (about 1 KiB of text) for this one use.
    fn put_dec(&mut self, value: u64) {
        if let Ok(small) = u32::try_from(value) {
            put_u32(self, small, 1);
            return;
        }
        let mut limbs =
            [(value >> 48) as u32, (value >> 32) as u32 & 0xFFFF, (value >> 16) as u32 & 0xFFFF, value as u32 & 0xFFFF];
        let mut digits = [b'0'; 20];
        let mut count = 0;
        for slot in digits.iter_mut().rev() {
            let mut remainder = 0u32;
            for limb in limbs.iter_mut() {
                let current = remainder << 16 | *limb;
                *limb = current / 10;
                remainder = current % 10;
            }
            *slot = b'0' + remainder as u8;
            count += 1;
            if limbs.iter().all(|limb| *limb == 0) {
                break;
            }
        }
        for &digit in digits.iter().skip(digits.len() - count) {
            self.put(digit);
        }
    }

    /// Writes `value` as `0x` followed by exactly eight hexadecimal digits.
    fn put_hex(&mut self, value: u32) {
        self.put_str("0x");
        for shift in (0..8).rev() {
            let digit = ((value >> (shift * 4)) & 0xF) as u8;
            self.put(if digit < 10 { b'0' + digit } else { b'a' + digit - 10 });
        }
    }
}

/// A fixed buffer that fills up and then drops bytes, for tests and for
/// composing a line before it is written.
#[derive(Clone, Debug)]
pub struct FixedBuffer<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> FixedBuffer<N> {
    /// An empty buffer.
    pub const fn new() -> Self {
        FixedBuffer { bytes: [0; N], len: 0 }
    }

    /// Forgets what was written (without zeroing the storage).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

impl<const N: usize> Default for FixedBuffer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> ByteSink for FixedBuffer<N> {
    fn put(&mut self, byte: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }

    /// A plain loop, not `copy_from_slice`: lines are short, and a call to
    /// the library's `memcpy` would be its only use in the kernel (half a
    /// KiB of text).
    #[inline(never)]
    fn put_all(&mut self, bytes: &[u8]) {
        let free = self.bytes.get_mut(self.len..).unwrap_or(&mut []);
        let mut taken = 0;
        for (to, from) in free.iter_mut().zip(bytes) {
            *to = *from;
            taken += 1;
        }
        self.len += taken;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::format;

    #[test]
    fn formats_like_core_fmt() {
        let mut buffer = FixedBuffer::<64>::new();
        buffer.put_dec(0);
        buffer.put_str(" ");
        buffer.put_dec(u64::MAX);
        buffer.put_str(" ");
        buffer.put_hex(0xDEAD_BEEF);
        assert_eq!(buffer.as_bytes(), b"0 18446744073709551615 0xdeadbeef");
    }

    #[test]
    fn full_buffer_drops_bytes() {
        let mut buffer = FixedBuffer::<3>::new();
        buffer.put_str("abcdef");
        assert_eq!(buffer.as_bytes(), b"abc");
    }

    proptest! {
        #[test]
        fn decimal_matches_std(value in any::<u64>()) {
            let mut buffer = FixedBuffer::<32>::new();
            buffer.put_dec(value);
            let expected = format!("{value}");
            prop_assert_eq!(buffer.as_bytes(), expected.as_bytes());
        }

        #[test]
        fn hex_matches_std(value in any::<u32>()) {
            let mut buffer = FixedBuffer::<32>::new();
            buffer.put_hex(value);
            let expected = format!("{value:#010x}");
            prop_assert_eq!(buffer.as_bytes(), expected.as_bytes());
        }
    }
}
