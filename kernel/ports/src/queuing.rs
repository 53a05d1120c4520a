//! Queuing ports: a FIFO of messages from one writer to each of its readers.
//!
//! This module owns the three sides of a queuing channel:
//!
//! - [`QueueSender`], in the writer partition (the window read/write);
//! - [`QueueReceiver`], in each reader partition (the window read-only: it
//!   never stores, it only tells the caller what to acknowledge);
//! - [`ack`], in the kernel at EL2, on the reader's `QueueAck` hypercall:
//!   the one store a reader makes, done for it after checking.
//!
//! None of them trusts the window: a sender may find garbage it wrote
//! itself before a restart, a receiver or the kernel anything a malicious
//! writer put there. No operation panics, waits, retries, or computes an
//! offset outside the window from what it finds; every count and length
//! read from the window is checked before it becomes an index. [`ack`]
//! stores to exactly one word, the acknowledging reader's `consumed`, and
//! only a value it checked.
//!
//! ## Protocol
//!
//! Each reader `r` has its own ring ([`crate::layout`]): `written` and
//! `overflows` (stored by the sender only), `consumed` (stored by the
//! kernel only, for reader `r` only) and `depth` slots. Counts run modulo
//! [`layout::queue_count_period`]`(depth)`, a multiple of `depth`, so
//! message `m` is in slot `m % depth` across the wrap too. The distance
//! `written - consumed` (modulo the period) is the number of unread
//! messages, `0..=depth` while everyone keeps to the protocol.
//!
//! Sender, for each reader `r` in turn:
//!
//! 1. `w := written`, `c := consumed`;
//! 2. if `w - c >= depth`, the ring is full: `overflows += 1`, bit `r` in
//!    [`SendError::Full`]; the reader misses this message. A distance
//!    above `depth` (or a count at or above the period) only comes from a
//!    writer that broke the protocol, and counts as full too: nothing is
//!    written into a ring whose counts cannot be trusted;
//! 3. otherwise **fence S1**; `length` and payload into slot `w % depth`;
//!    **fence S2**; `written := w + 1`.
//!
//! The other readers get the message whether or not some rings were full;
//! `send` never blocks.
//!
//! Receiver `r`: `c := consumed`, `w := written`; equal is
//! [`ReceiveError::Empty`], a distance above `depth`
//! [`ReceiveError::Corrupt`]; **fence R1**; `length` of slot `c % depth`
//! (above `message_size`: `Corrupt`; above the buffer:
//! [`ReceiveError::BufferTooSmall`]) and the payload. It moves nothing:
//! the caller makes the `QueueAck` hypercall with
//! [`Received::consumed_after`], and the kernel runs [`ack`], which checks
//! `1 <= new - consumed <= min(depth, written - consumed)`, then **fence
//! A1**, `consumed := new`, **fence A2**.
//!
//! ## Why nothing is torn, lost or duplicated
//!
//! One ring has one producer (the sender stores `written` and the slots)
//! and one consumer (the kernel stores `consumed`, for that reader, only
//! forward and never past `written`), so each count only grows, and the
//! unread messages `consumed..written` sit in distinct slots (at most
//! `depth` of them, in consecutive slots modulo `depth`).
//!
//! - Not torn: the sender writes slot `w % depth` only when `w - c <
//!   depth`, so not a slot of an unread message; it publishes it (S2, then
//!   `written`) only when complete, and a receiver reads it only after
//!   seeing that `written` (R1). Until the reader acknowledges it nobody
//!   writes the slot again: the sender reuses it only after it sees the
//!   new `consumed`, which the kernel stores after the reader's loads of
//!   the slot (A1), and the sender's stores into it come after its load of
//!   `consumed` (S1).
//! - Not lost: a message not reported full for `r` is in `r`'s ring with
//!   index `w`, published; the receiver returns messages in index order
//!   from `consumed`, and `consumed` only moves past a message when the
//!   reader asks (its acknowledgement of what it received). A message
//!   reported full for `r` is counted in `r`'s `overflows`, exactly once.
//! - Not duplicated: acknowledging moves `consumed` by at least one; a
//!   receive not yet acknowledged returns the same message again, which is
//!   why the reader acknowledges each one it keeps.
//!
//! ## Barriers
//!
//! Checked exhaustively on a sequentially consistent model of the sender,
//! receivers and kernel (this crate's tests); on the target these fences
//! (`dmb ish`, [`Window::fence`], over shareable Normal memory) give the
//! orders that model assumes:
//!
//! - S1 (sender, loads of the counts → stores into the slot): pairs with
//!   A1, so the reader's last loads of a slot see none of the stores that
//!   reuse it. The stores are also control-dependent on the loads, which
//!   Armv8 orders; the fence makes that independent of the compiler.
//! - S2 (sender, slot stores → `written`): pairs with R1.
//! - R1 (receiver, load of `written` → loads of the slot): pairs with S2.
//! - A1 (kernel, before storing `consumed`): the reader's loads of the slot
//!   came before its hypercall on this same core, and taking an exception
//!   is not a memory barrier; pairs with S1.
//! - A2 (kernel, after storing `consumed`): orders the store before
//!   whatever the kernel and the reader do next, such as telling the
//!   writer there is room.
//!
//! The receiver's load of `consumed` reads the kernel's store made on this
//! same core (a partition never moves), and its load order against
//! `written` does not matter (a stale `written` only hides a message until
//! the next receive).
//!
//! ## Restarts
//!
//! All state is in the window. A restarted sender carries on from
//! `written` (a message it was copying when it died was never published);
//! a restarted reader from `consumed` (a message it had received but not
//! acknowledged is received again).

use core::num::NonZeroU32;

use crate::layout::{self, GeometryError};
use crate::window::Window;

/// Why a message was not sent to every reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The payload is longer than the channel's `message_size`: sent to
    /// nobody.
    TooLong,
    /// Some readers' rings were full (or corrupt).
    Full {
        /// Bit `r` set: reader `r`'s ring was full; it missed this message
        /// and its `overflows` count was incremented. The other readers got
        /// it.
        readers: u32,
    },
}

/// Why no message was received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiveError {
    /// No unread message.
    Empty,
    /// The ring's counts, or the head message's length, are impossible:
    /// the writer broke the protocol.
    Corrupt,
    /// The head message is longer than the caller's buffer (it stays; see
    /// [`QueueReceiver::skip`] to drop it).
    BufferTooSmall,
}

/// Why the kernel refused a `QueueAck`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckError {
    /// The geometry is out of the layout's limits, or the reader's ring
    /// does not fit the window (a kernel table mistake, not the reader's).
    Geometry,
    /// The new count does not move `consumed` forward by 1 up to the
    /// number of unread messages (at most `depth`), or the window's counts
    /// are corrupt.
    BadCount,
}

/// What a receive returns besides the payload (in `out[..length]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    /// Payload length in bytes.
    pub length: u32,
    /// The count to pass to `QueueAck` to take the message off the ring.
    pub consumed_after: u32,
}

/// The ring geometry shared by the three sides: slot and count arithmetic
/// that cannot panic (`depth` is non-zero by type) and never divides but
/// for the slot index.
#[derive(Clone, Copy)]
struct Ring {
    message_size: u32,
    depth: NonZeroU32,
    /// The largest count: the period minus one (the period is at most
    /// 2^32, so this fits 32 bits and the arithmetic below needs no
    /// division: this is on every send and receive).
    count_max: u32,
}

impl Ring {
    /// The geometry of a channel whose window is `size` bytes and has at
    /// least `readers` rings.
    fn new(size: u32, message_size: u32, depth: u32, readers: u32) -> Result<Ring, GeometryError> {
        layout::check_queuing(message_size, depth, readers)?;
        if size < layout::queuing_window_size(message_size, depth, readers) {
            return Err(GeometryError::Window);
        }
        match (NonZeroU32::new(depth), layout::queue_count_period(depth).checked_sub(1)) {
            (Some(depth), Some(count_max)) => Ok(Ring { message_size, depth, count_max: count_max as u32 }),
            _ => Err(GeometryError::Depth),
        }
    }

    /// Offset of reader `reader`'s ring.
    const fn base(&self, reader: u32) -> u32 {
        layout::ring(self.message_size, self.depth.get(), reader)
    }

    /// Offset of the slot of message `count` in the ring at `base`.
    fn slot(&self, base: u32, count: u32) -> u32 {
        base + layout::ring_slot(self.message_size, count % self.depth)
    }

    /// The count after `count`.
    fn next(&self, count: u32) -> u32 {
        if count >= self.count_max { 0 } else { count + 1 }
    }

    /// `to - from` modulo the period, if both are counts (below it).
    fn distance(&self, from: u32, to: u32) -> Option<u32> {
        if from > self.count_max || to > self.count_max {
            return None;
        }
        // Both at most `count_max`: neither branch wraps (the second is
        // `period - from + to`, below the period).
        Some(if to >= from { to - from } else { self.count_max - from + 1 + to })
    }
}

/// The writer's side of a queuing channel.
pub struct QueueSender<W: Window> {
    window: W,
    ring: Ring,
    readers: u32,
}

impl<W: Window> QueueSender<W> {
    /// The sender of a channel of `message_size` bytes, `depth` slots per
    /// reader and `readers` readers over `window`. Refuses a geometry out
    /// of the layout's limits or a window smaller than
    /// [`layout::queuing_window_size`].
    pub fn new(window: W, message_size: u32, depth: u32, readers: u32) -> Result<Self, GeometryError> {
        let ring = Ring::new(window.size(), message_size, depth, readers)?;
        Ok(QueueSender { window, ring, readers })
    }

    /// Appends `payload` to every reader's ring that has room. Never waits:
    /// a reader whose ring is full misses the message, which is counted in
    /// its `overflows` and reported in [`SendError::Full`].
    pub fn send(&self, payload: &[u8]) -> Result<(), SendError> {
        let length = match u32::try_from(payload.len()) {
            Ok(length) if length <= self.ring.message_size => length,
            _ => return Err(SendError::TooLong),
        };
        let w = &self.window;
        let mut full = 0u32;
        for reader in 0..self.readers {
            let base = self.ring.base(reader);
            let written = w.load(base + layout::RING_WRITTEN);
            let consumed = w.load(base + layout::RING_CONSUMED);
            match self.ring.distance(consumed, written) {
                Some(unread) if unread < self.ring.depth.get() => {}
                // Full, or counts no honest party produces: nothing goes in.
                _ => {
                    let overflows = w.load(base + layout::RING_OVERFLOWS);
                    w.store(base + layout::RING_OVERFLOWS, overflows.wrapping_add(1));
                    full |= 1 << reader;
                    continue;
                }
            }
            // S1: the slot is free only once the reader's loads of it are
            // done; `consumed` says so, and our stores come after its load
            // (pairs with A1).
            w.fence();
            let slot = self.ring.slot(base, written);
            w.store(slot + layout::QUEUE_SLOT_LENGTH, length);
            w.write_bytes(slot + layout::QUEUE_SLOT_PAYLOAD, payload);
            // S2: the message complete before it is published (pairs with
            // R1).
            w.fence();
            w.store(base + layout::RING_WRITTEN, self.ring.next(written));
        }
        if full == 0 { Ok(()) } else { Err(SendError::Full { readers: full }) }
    }

    /// Messages reader `reader`'s ring has missed because it was full
    /// (wrapping; 0 for a reader the channel does not have).
    pub fn overflows(&self, reader: u32) -> u32 {
        if reader >= self.readers {
            return 0;
        }
        self.window.load(self.ring.base(reader) + layout::RING_OVERFLOWS)
    }

    /// The window.
    pub const fn window(&self) -> &W {
        &self.window
    }
}

/// One reader's side of a queuing channel. It only ever loads from the
/// window.
pub struct QueueReceiver<W: Window> {
    window: W,
    ring: Ring,
    reader: u32,
}

impl<W: Window> QueueReceiver<W> {
    /// Reader `reader` (its index in the channel's readers) of a channel of
    /// `message_size` bytes and `depth` slots per reader over `window`.
    /// Refuses a geometry out of the layout's limits or a window too small
    /// to hold this reader's ring.
    pub fn new(window: W, message_size: u32, depth: u32, reader: u32) -> Result<Self, GeometryError> {
        if reader >= layout::MAX_READERS {
            return Err(GeometryError::Readers);
        }
        let ring = Ring::new(window.size(), message_size, depth, reader + 1)?;
        Ok(QueueReceiver { window, ring, reader })
    }

    /// `(consumed, unread)`: the ring's `consumed` count and how many
    /// messages are unread, if the counts are possible.
    fn counts(&self) -> Result<(u32, u32), ReceiveError> {
        let base = self.ring.base(self.reader);
        let consumed = self.window.load(base + layout::RING_CONSUMED);
        let written = self.window.load(base + layout::RING_WRITTEN);
        match self.ring.distance(consumed, written) {
            Some(unread) if unread <= self.ring.depth.get() => Ok((consumed, unread)),
            _ => Err(ReceiveError::Corrupt),
        }
    }

    /// Copies the oldest unread message into `out[..length]`. Takes nothing
    /// off the ring: acknowledge it with [`Received::consumed_after`]
    /// (`QueueAck`), or receive it again. A fixed number of loads, whatever
    /// the window holds.
    pub fn receive(&self, out: &mut [u8]) -> Result<Received, ReceiveError> {
        let (consumed, unread) = self.counts()?;
        if unread == 0 {
            return Err(ReceiveError::Empty);
        }
        // R1: the slot after the `written` that published it (pairs with
        // S2).
        self.window.fence();
        let slot = self.ring.slot(self.ring.base(self.reader), consumed);
        let length = self.window.load(slot + layout::QUEUE_SLOT_LENGTH);
        if length > self.ring.message_size {
            return Err(ReceiveError::Corrupt);
        }
        let Some(dest) = out.get_mut(..length as usize) else {
            return Err(ReceiveError::BufferTooSmall);
        };
        self.window.read_bytes(slot + layout::QUEUE_SLOT_PAYLOAD, dest);
        Ok(Received { length, consumed_after: self.ring.next(consumed) })
    }

    /// The count to pass to `QueueAck` to drop the oldest unread message
    /// without reading it (one that does not fit the caller's buffer, or
    /// whose length is corrupt).
    pub fn skip(&self) -> Result<u32, ReceiveError> {
        match self.counts()? {
            (_, 0) => Err(ReceiveError::Empty),
            (consumed, _) => Ok(self.ring.next(consumed)),
        }
    }

    /// How many messages are unread, `0..=depth`. Corrupt counts read as
    /// `depth` (and [`receive`](Self::receive) says `Corrupt`), so a caller
    /// looping this many times stays bounded.
    pub fn pending(&self) -> u32 {
        self.counts().map_or(self.ring.depth.get(), |(_, unread)| unread)
    }

    /// Messages this reader missed because its ring was full (wrapping), as
    /// the writer counts them.
    pub fn overflows(&self) -> u32 {
        self.window.load(self.ring.base(self.reader) + layout::RING_OVERFLOWS)
    }

    /// This reader's index in the channel.
    pub const fn reader(&self) -> u32 {
        self.reader
    }

    /// The window.
    pub const fn window(&self) -> &W {
        &self.window
    }
}

/// The kernel's side of `QueueAck`: reader `reader` of a channel of
/// `message_size` bytes and `depth` slots per reader takes messages off its
/// ring, up to the count `new_consumed`.
///
/// Accepts `new_consumed` only if it moves `consumed` forward by at least
/// one and at most by the number of unread messages, itself at most
/// `depth` (all modulo the count period). The window is under the writer's
/// control, so whatever it holds this loads two words of the reader's ring
/// and stores at most one, the reader's `consumed`, never anything else.
pub fn ack<W: Window>(
    window: &W,
    message_size: u32,
    depth: u32,
    reader: u32,
    new_consumed: u32,
) -> Result<(), AckError> {
    if reader >= layout::MAX_READERS {
        return Err(AckError::Geometry);
    }
    let ring = Ring::new(window.size(), message_size, depth, reader + 1).map_err(|_| AckError::Geometry)?;
    let base = ring.base(reader);
    let consumed = window.load(base + layout::RING_CONSUMED);
    let written = window.load(base + layout::RING_WRITTEN);
    let (Some(advance), Some(unread)) = (ring.distance(consumed, new_consumed), ring.distance(consumed, written))
    else {
        return Err(AckError::BadCount);
    };
    if advance == 0 || advance > unread.min(ring.depth.get()) {
        return Err(AckError::BadCount);
    }
    // A1: the reader's loads of the slots it read (before this hypercall,
    // on this core) before the store that frees them (pairs with S1).
    window.fence();
    window.store(base + layout::RING_CONSUMED, new_consumed);
    // A2: the store before whatever follows the hypercall.
    window.fence();
    Ok(())
}
