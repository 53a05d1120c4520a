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
    /// division by the constant 10, which compiles to a multiply; larger ones
    /// are split in base 10^9 first. The kernel is built without the
    /// hardware-divide feature, so a general division would be a long
    /// library call on every digit.
    fn put_dec(&mut self, value: u64) {
        match u32::try_from(value) {
            Ok(small) => put_u32(self, small, 1),
            Err(_) => {
                let high = value / 1_000_000_000;
                self.put_dec(high);
                put_u32(self, (value - high * 1_000_000_000) as u32, 9);
            }
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

    /// One copy, not a byte at a time: this is the console's hot path.
    fn put_all(&mut self, bytes: &[u8]) {
        let take = bytes.len().min(N - self.len.min(N));
        if let (Some(to), Some(from)) = (self.bytes.get_mut(self.len..self.len + take), bytes.get(..take)) {
            to.copy_from_slice(from);
            self.len += take;
        }
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
