//! Byte layout of a channel's memory window.
//!
//! One window per channel, mapped read/write into its writer and read-only
//! into each reader (the EL2 MPU enforces it). Every field is a
//! little-endian `u32` (or two, for a 64-bit stamp) at a fixed offset; the
//! geometry (`message_size`, `depth`, the number of readers) is not stored
//! in the window: each side takes it from its own generated layout, so
//! nothing a peer writes can change where anyone reads or writes. All
//! protocol state lives in the window, so a restarted writer or reader
//! carries on from it. The kernel zeroes every window at boot: all zeros is
//! "no message yet" for both kinds.
//!
//! ## Sampling
//!
//! | offset | field | written by |
//! |---|---|---|
//! | `0x00` | `latest`: number of the latest complete message, 0 = none | writer |
//! | `0x04..0x20` | reserved, zero | |
//! | `0x20 + k * slot_stride` | slot `k` (k = 0, 1): message `n` goes to slot `n % 2` | writer |
//!
//! A slot: `+0` `sequence` (`2n + 1` while message `n` is being written,
//! `2n` once complete), `+4` `length` in bytes, `+8` `stamp` (system time
//! in counter ticks, low word then high word), `+16` the payload
//! (`message_size` bytes). `slot_stride` is `16 + message_size` rounded up
//! to 8.
//!
//! ## Queuing
//!
//! | offset | field | written by |
//! |---|---|---|
//! | `0x00..0x20` | reserved, zero | |
//! | `0x20 + r * ring_stride` | ring of reader `r` (its index in the channel's `readers`) | |
//!
//! A ring: `+0` `written` (messages the writer has put in it, wrapping;
//! writer), `+4` `overflows` (messages this reader missed because its ring
//! was full; writer), `+8` `consumed` (messages the reader has taken;
//! written by the kernel on the reader's `QueueAck` hypercall, since the
//! reader maps the window read-only), `+12` reserved, `+16` `depth` slots.
//! Message `m` is in slot `m % depth`; a slot is `+0` `length`, `+4` the
//! payload. The counts wrap at [`queue_count_period`]`(depth)`, the
//! largest multiple of `depth` up to 2^32 (2^32 itself for a power-of-two
//! depth), so that consecutive messages stay in consecutive slots across
//! the wrap; a count at or above the period is corrupt. `queue_slot_stride` is `4 + message_size` rounded up to 8;
//! `ring_stride` is `16 + depth * queue_slot_stride` rounded up to 32.

/// Offset of the first slot (sampling) or ring (queuing).
pub const HEADER_SIZE: u32 = 0x20;

/// Sampling: offset of `latest`.
pub const SAMPLING_LATEST: u32 = 0x00;
/// Sampling slot: offset of `sequence`.
pub const SLOT_SEQUENCE: u32 = 0;
/// Sampling slot: offset of `length`.
pub const SLOT_LENGTH: u32 = 4;
/// Sampling slot: offset of the stamp's low word (high word at `+4`).
pub const SLOT_STAMP: u32 = 8;
/// Sampling slot: offset of the payload.
pub const SLOT_PAYLOAD: u32 = 16;

/// Queuing ring: offset of `written`.
pub const RING_WRITTEN: u32 = 0;
/// Queuing ring: offset of `overflows`.
pub const RING_OVERFLOWS: u32 = 4;
/// Queuing ring: offset of `consumed`.
pub const RING_CONSUMED: u32 = 8;
/// Queuing ring: offset of the first slot.
pub const RING_SLOTS: u32 = 16;
/// Queuing slot: offset of `length` (payload at `+4`).
pub const QUEUE_SLOT_LENGTH: u32 = 0;
/// Queuing slot: offset of the payload.
pub const QUEUE_SLOT_PAYLOAD: u32 = 4;

/// Largest `message_size` the protocols accept.
pub const MAX_MESSAGE_SIZE: u32 = 64 * 1024;
/// Largest queuing `depth`.
pub const MAX_DEPTH: u32 = 1024;
/// Largest number of readers of one channel (a full-ring mask is a `u32`).
pub const MAX_READERS: u32 = 32;

/// Alignment of a sampling slot and of a queuing slot: strides are rounded
/// up to it.
pub const SLOT_ALIGN: u32 = 8;
/// Alignment of a queuing ring: its stride is rounded up to it.
pub const RING_ALIGN: u32 = 32;

/// `value` rounded up to a multiple of `to` (a power of two).
const fn round_up(value: u32, to: u32) -> u32 {
    (value + to - 1) & !(to - 1)
}

/// Distance between the two sampling slots.
pub const fn sampling_slot_stride(message_size: u32) -> u32 {
    round_up(SLOT_PAYLOAD + message_size, SLOT_ALIGN)
}

/// Offset of sampling slot `slot` (0 or 1).
pub const fn sampling_slot(message_size: u32, slot: u32) -> u32 {
    HEADER_SIZE + slot * sampling_slot_stride(message_size)
}

/// Bytes a sampling channel's window needs (before the MPU's rounding), for
/// a `message_size` up to [`MAX_MESSAGE_SIZE`].
pub const fn sampling_window_size(message_size: u32) -> u32 {
    HEADER_SIZE + 2 * sampling_slot_stride(message_size)
}

/// Distance between two slots of a queuing ring.
pub const fn queue_slot_stride(message_size: u32) -> u32 {
    round_up(QUEUE_SLOT_PAYLOAD + message_size, SLOT_ALIGN)
}

/// Distance between two readers' rings.
pub const fn ring_stride(message_size: u32, depth: u32) -> u32 {
    round_up(RING_SLOTS + depth * queue_slot_stride(message_size), RING_ALIGN)
}

/// Offset of reader `reader`'s ring.
pub const fn ring(message_size: u32, depth: u32, reader: u32) -> u32 {
    HEADER_SIZE + reader * ring_stride(message_size, depth)
}

/// Offset of slot `slot` in a ring, from the ring's start.
pub const fn ring_slot(message_size: u32, slot: u32) -> u32 {
    RING_SLOTS + slot * queue_slot_stride(message_size)
}

/// The period of a queuing ring's `written` and `consumed` counts: the
/// largest multiple of `depth` not above 2^32 (2^32 itself when `depth` is
/// a power of two; 0 for a `depth` of 0, which the checks refuse).
///
/// Counts go `0, 1, ..., period - 1, 0, ...`. Were they to wrap at 2^32
/// for a `depth` that does not divide it (3, say), message `2^32 - 1` and
/// the message after it would both go to slot 0 while both are unread.
pub const fn queue_count_period(depth: u32) -> u64 {
    if depth == 0 {
        return 0;
    }
    (1 << 32) / depth as u64 * depth as u64
}

/// Bytes a queuing channel's window needs (before the MPU's rounding). For
/// geometry within the limits this is at most about 2 GiB, so it cannot
/// overflow (tested).
pub const fn queuing_window_size(message_size: u32, depth: u32, readers: u32) -> u32 {
    HEADER_SIZE + readers * ring_stride(message_size, depth)
}

/// Why a channel's geometry is refused (the generator turns these into
/// errors naming the key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeometryError {
    /// `message_size` is 0 or above [`MAX_MESSAGE_SIZE`].
    MessageSize,
    /// `depth` is 0 or above [`MAX_DEPTH`].
    Depth,
    /// No reader, or more than [`MAX_READERS`] (for one reader's side: its
    /// index is [`MAX_READERS`] or more).
    Readers,
    /// The window handed to a protocol is smaller than the layout of the
    /// geometry it was given: some offset would fall outside it.
    Window,
}

/// Checks a sampling channel's geometry.
pub const fn check_sampling(message_size: u32, readers: u32) -> Result<(), GeometryError> {
    if message_size == 0 || message_size > MAX_MESSAGE_SIZE {
        return Err(GeometryError::MessageSize);
    }
    if readers == 0 || readers > MAX_READERS {
        return Err(GeometryError::Readers);
    }
    Ok(())
}

/// Checks a queuing channel's geometry.
pub const fn check_queuing(message_size: u32, depth: u32, readers: u32) -> Result<(), GeometryError> {
    if depth == 0 || depth > MAX_DEPTH {
        return Err(GeometryError::Depth);
    }
    check_sampling(message_size, readers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_slots_are_aligned_and_disjoint() {
        for size in [1, 7, 8, 64, 496, MAX_MESSAGE_SIZE] {
            let stride = sampling_slot_stride(size);
            assert_eq!(stride % 8, 0);
            assert!(stride >= SLOT_PAYLOAD + size);
            assert_eq!(sampling_slot(size, 1) - sampling_slot(size, 0), stride);
            assert_eq!(sampling_window_size(size), sampling_slot(size, 1) + stride);
        }
    }

    #[test]
    fn rings_are_aligned_and_disjoint() {
        for (size, depth) in [(1, 1), (64, 8), (13, 3), (MAX_MESSAGE_SIZE, 1)] {
            let stride = ring_stride(size, depth);
            assert_eq!(stride % 32, 0);
            assert!(ring_slot(size, depth - 1) + queue_slot_stride(size) <= stride);
            assert_eq!(queuing_window_size(size, depth, 3), ring(size, depth, 2) + stride);
        }
    }

    #[test]
    fn the_largest_window_fits_a_u32() {
        let exact = u64::from(HEADER_SIZE)
            + u64::from(MAX_READERS)
                * ((16 + u64::from(MAX_DEPTH) * ((4 + u64::from(MAX_MESSAGE_SIZE) + 7) & !7) + 31) & !31);
        assert!(exact < u64::from(u32::MAX));
        assert_eq!(u64::from(queuing_window_size(MAX_MESSAGE_SIZE, MAX_DEPTH, MAX_READERS)), exact);
    }

    #[test]
    fn count_periods_are_multiples_of_depth() {
        assert_eq!(queue_count_period(0), 0);
        for depth in [1, 2, 3, 7, 8, 1000, MAX_DEPTH] {
            let period = queue_count_period(depth);
            assert_eq!(period % u64::from(depth), 0);
            assert!(period <= 1 << 32 && period > (1 << 32) - u64::from(depth));
        }
        assert_eq!(queue_count_period(MAX_DEPTH), 1 << 32);
        assert_eq!(queue_count_period(3), (1 << 32) - 1);
    }

    #[test]
    fn geometry_checks() {
        assert_eq!(check_sampling(0, 1), Err(GeometryError::MessageSize));
        assert_eq!(check_sampling(64, 0), Err(GeometryError::Readers));
        assert_eq!(check_sampling(64, MAX_READERS + 1), Err(GeometryError::Readers));
        assert_eq!(check_queuing(64, 0, 1), Err(GeometryError::Depth));
        assert_eq!(check_queuing(64, MAX_DEPTH + 1, 1), Err(GeometryError::Depth));
        assert_eq!(check_queuing(MAX_MESSAGE_SIZE + 1, 1, 1), Err(GeometryError::MessageSize));
        assert_eq!(check_queuing(64, 8, 2), Ok(()));
    }
}
