//! Sampling ports: the latest value, one writer, any number of readers.
//!
//! This module owns both sides of a sampling channel: [`SamplingWriter`]
//! (the writer partition, mapping the window read/write) and
//! [`SamplingReader`] (each reader partition, mapping it read-only). A
//! reader never stores to the window, so any number of readers read at
//! once without knowing of each other, and the writer never waits for
//! them. Nothing here trusts the window: the writer may find garbage it
//! wrote itself before a restart, a reader may find anything a malicious
//! writer put there; neither panics, loops without bound, or computes an
//! offset outside the window from it.
//!
//! ## Protocol
//!
//! The layout ([`crate::layout`]) has a `latest` word and two slots, each a
//! `sequence` word, `length`, a 64-bit `stamp` and `message_size` payload
//! bytes. Message `n` goes to slot `n % 2`, so the slot of the latest
//! complete message is never the one being written. Numbers start at 1 and
//! go up by one, wrapping from `u32::MAX` to 2: never 0 (no message yet),
//! and the slots keep alternating across the wrap (`u32::MAX` and 1 are
//! both odd).
//!
//! Writer, for message `n` after `latest`:
//!
//! 1. `sequence := 2n + 1` (odd: "being written"); **fence W1**;
//! 2. `length`, `stamp` (low word, high word), payload; **fence W2**;
//! 3. `sequence := 2n` (even: "complete"); **fence W3**;
//! 4. `latest := n`.
//!
//! Reader, at most [`READ_ATTEMPTS`] times:
//!
//! 1. `n := latest`; 0 means no message yet: [`ReadError::Empty`];
//! 2. `a := sequence` of slot `n % 2`; if `a != 2n` the writer has already
//!    started reusing the slot for `n + 2` (or is further): try again from
//!    a fresh `latest`; **fence R1**;
//! 3. `length`, `stamp`; a length above `message_size` is
//!    [`ReadError::Corrupt`], above the caller's buffer
//!    [`ReadError::BufferTooSmall`]; otherwise copy the payload out;
//!    **fence R2**;
//! 4. `b := sequence`; if `b != a` the writer wrote into the slot while it
//!    was being read: try again. Otherwise the copy is message `n`.
//!
//! Errors of step 3 are only reported once step 4 has confirmed the slot
//! was stable: a length read while the writer was rewriting it is a race
//! (try again), not corruption. After the last failed attempt the read is
//! [`ReadError::Raced`]: a writer that rewrites the latest slot faster than
//! a reader can copy it can starve that reader, and the bounded count turns
//! that into an error the caller sees instead of an unbounded loop.
//!
//! ## Why no torn read
//!
//! Take a read that returns `n`: it saw `a = b = 2n` in slot `s = n % 2`.
//! The writer stores `2n` there only as the last store of message `n`,
//! after its data (W2), and touches that slot's data next for message
//! `n + 2`, after first storing `2(n + 2) + 1` (W1). The reader saw the
//! completing store (a), so after R1 its data loads see message `n`'s
//! data or newer (W2 orders the data before `2n` for every observer). Had
//! any of them seen a store of message `n + 2` or later, then W1 (the odd
//! sequence before that data) and R2 (the data loads before `b`) make `b`
//! see that odd value or a later one, and `b != a`. So `b = a` means every
//! word of length, stamp and payload belongs to message `n`: one whole
//! message, never a mix. And `n` was `latest` when step 1 loaded it, so it
//! was the latest complete message at a point during the read. A read is
//! `Raced` only if all its attempts saw the writer in the slot, which an
//! honest writer does only by writing during the read.
//!
//! Sequences are `2n` modulo 2^32, so messages `n` and `n + 2^31` share
//! one: a reader stalled between its two loads of one slot for 2^31
//! messages could be fooled (the classic sequence-lock bound; at one
//! message a microsecond that is half an hour inside one read).
//!
//! ## Barriers
//!
//! The protocol is checked exhaustively on a sequentially consistent model
//! (every interleaving of the writer's and the readers' word accesses, in
//! this crate's tests); on the target the fences give the orders that
//! model assumes. Each is `dmb ish` ([`Window::fence`]); the window is
//! shareable Normal memory, so `dmb ish` orders it between the cores of
//! the cluster:
//!
//! - W1 (writer, odd `sequence` → data): pairs with R2; a reader that sees
//!   any new data sees the odd sequence at `b`.
//! - W2 (writer, data → even `sequence`): pairs with R1; a reader that sees
//!   `2n` sees message `n`'s data.
//! - W3 (writer, `sequence` → `latest`): a reader that sees `latest = n`
//!   finds `sequence = 2n` instead of a stale value. Without it the reader
//!   could only fail step 2 and retry: W3 avoids spurious races, safety
//!   does not rest on it. Nor does it rest on the order of the reader's
//!   loads of `latest` and `a` (no fence between them): whenever `a` was
//!   loaded, seeing `2n` means message `n` was complete in the slot.
//! - R1 (reader, `a` → data): pairs with W2.
//! - R2 (reader, data → `b`): pairs with W1.
//!
//! The writer's load of `latest` reads its own last store (same location,
//! same core): no fence. A notification the writer sends after `write`
//! (an SGI through the kernel) must be ordered after the store of `latest`
//! by whoever raises it; that is not a memory access a `dmb` orders.
//!
//! ## Restarts
//!
//! All state is in the window. A restarted writer carries on from
//! `latest`; if it died in the middle of message `n + 1` (its slot odd),
//! the next write is `n + 1` again in the same slot, while readers keep
//! reading `n` from the other. A reader holds no state at all.

use crate::layout::{self, GeometryError};
use crate::window::Window;

/// How many times [`SamplingReader::read`] tries before it reports
/// [`ReadError::Raced`].
pub const READ_ATTEMPTS: u32 = 3;

/// Why a message was not written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteError {
    /// The payload is longer than the channel's `message_size`.
    TooLong,
}

/// Why no message was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// No message has been written yet (`latest` is 0).
    Empty,
    /// Every attempt found the writer rewriting the slot it wanted (or the
    /// window's sequence words are garbage): try again later.
    Raced,
    /// A stable slot holds a length above `message_size`: the writer broke
    /// the protocol.
    Corrupt,
    /// The latest message is longer than the caller's buffer (it is still
    /// there for a larger one).
    BufferTooSmall,
}

/// What a read returns besides the payload (in `out[..length]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The message's number: 1 for the first, one more for each (see
    /// [`next_number`]). Two reads returning the same number read one message.
    pub number: u32,
    /// Payload length in bytes.
    pub length: u32,
    /// The writer's stamp (system time in counter ticks when it wrote).
    pub stamp: u64,
}

impl Sample {
    /// [`is_stale`] for this sample.
    pub const fn is_stale(&self, now: u64, refresh: u64) -> bool {
        is_stale(self.stamp, now, refresh)
    }
}

/// How old a sample stamped `sample_stamp` is at `now`, or `None` if the
/// stamp is in the future (a writer that lied, or stamped from another
/// clock).
pub const fn age(sample_stamp: u64, now: u64) -> Option<u64> {
    now.checked_sub(sample_stamp)
}

/// Whether a sample stamped `sample_stamp` is older than `refresh` ticks at
/// `now`. `refresh` 0 means the channel has no refresh period: never
/// stale. A stamp from the future counts as stale (it cannot be trusted to
/// say how fresh the value is).
pub const fn is_stale(sample_stamp: u64, now: u64, refresh: u64) -> bool {
    if refresh == 0 {
        return false;
    }
    match age(sample_stamp, now) {
        Some(age) => age > refresh,
        None => true,
    }
}

/// The number of the message after `latest`: one more, but 2 after
/// `u32::MAX`, so never 0 and never in the same slot as `latest`.
pub const fn next_number(latest: u32) -> u32 {
    match latest.wrapping_add(1) {
        0 => 2,
        number => number,
    }
}

/// The sequence word of message `number` while it is being written.
const fn busy(number: u32) -> u32 {
    number.wrapping_mul(2).wrapping_add(1)
}

/// The sequence word of message `number` once complete.
const fn complete(number: u32) -> u32 {
    number.wrapping_mul(2)
}

/// Refuses a geometry out of the layout's limits or a window smaller than
/// its layout.
fn check_geometry<W: Window>(window: &W, message_size: u32) -> Result<(), GeometryError> {
    layout::check_sampling(message_size, 1)?;
    if window.size() < layout::sampling_window_size(message_size) {
        return Err(GeometryError::Window);
    }
    Ok(())
}

/// The offset of the slot of message `number` (only its lowest bit counts,
/// so any value from the window gives one of the two slots).
const fn slot_of(message_size: u32, number: u32) -> u32 {
    layout::sampling_slot(message_size, number & 1)
}

/// The writer's side of a sampling channel.
pub struct SamplingWriter<W: Window> {
    window: W,
    message_size: u32,
}

impl<W: Window> SamplingWriter<W> {
    /// The writer of a channel of `message_size` bytes over `window`.
    /// Refuses a `message_size` out of the layout's limits or a window
    /// smaller than [`layout::sampling_window_size`].
    pub fn new(window: W, message_size: u32) -> Result<Self, GeometryError> {
        check_geometry(&window, message_size)?;
        Ok(SamplingWriter { window, message_size })
    }

    /// Writes `payload` stamped `stamp` as the next message and returns its
    /// number (1 or more). Never waits for readers: a reader copying the
    /// previous message keeps a consistent copy of it, one copying the one
    /// before learns it raced.
    pub fn write(&self, payload: &[u8], stamp: u64) -> Result<u32, WriteError> {
        let length = match u32::try_from(payload.len()) {
            Ok(length) if length <= self.message_size => length,
            _ => return Err(WriteError::TooLong),
        };
        let w = &self.window;
        // Our own last store: no fence needed to read it back.
        let number = next_number(w.load(layout::SAMPLING_LATEST));
        let slot = slot_of(self.message_size, number);
        w.store(slot + layout::SLOT_SEQUENCE, busy(number));
        // W1: the odd sequence before any of the data (pairs with R2).
        w.fence();
        w.store(slot + layout::SLOT_LENGTH, length);
        w.store(slot + layout::SLOT_STAMP, stamp as u32);
        w.store(slot + layout::SLOT_STAMP + 4, (stamp >> 32) as u32);
        w.write_bytes(slot + layout::SLOT_PAYLOAD, payload);
        // W2: all of the data before the even sequence (pairs with R1).
        w.fence();
        w.store(slot + layout::SLOT_SEQUENCE, complete(number));
        // W3: the slot complete before it is published.
        w.fence();
        w.store(layout::SAMPLING_LATEST, number);
        Ok(number)
    }

    /// The number of the latest message written (0: none yet).
    pub fn latest_number(&self) -> u32 {
        self.window.load(layout::SAMPLING_LATEST)
    }

    /// The channel's `message_size`.
    pub const fn message_size(&self) -> u32 {
        self.message_size
    }

    /// The window.
    pub const fn window(&self) -> &W {
        &self.window
    }
}

/// One reader's side of a sampling channel. It only ever loads from the
/// window.
pub struct SamplingReader<W: Window> {
    window: W,
    message_size: u32,
}

impl<W: Window> SamplingReader<W> {
    /// A reader of a channel of `message_size` bytes over `window`.
    /// Refuses a `message_size` out of the layout's limits or a window
    /// smaller than [`layout::sampling_window_size`].
    pub fn new(window: W, message_size: u32) -> Result<Self, GeometryError> {
        check_geometry(&window, message_size)?;
        Ok(SamplingReader { window, message_size })
    }

    /// Copies the latest complete message into `out[..length]`, or says why
    /// not. At most [`READ_ATTEMPTS`] attempts of a fixed number of loads
    /// each, whatever the window holds; `out` beyond the returned length is
    /// left as it was, and on an error `out` may hold a partial copy.
    pub fn read(&self, out: &mut [u8]) -> Result<Sample, ReadError> {
        let w = &self.window;
        for _ in 0..READ_ATTEMPTS {
            let number = w.load(layout::SAMPLING_LATEST);
            if number == 0 {
                return Err(ReadError::Empty);
            }
            let slot = slot_of(self.message_size, number);
            let before = w.load(slot + layout::SLOT_SEQUENCE);
            if before != complete(number) {
                // Not (or no longer) message `number`: the writer is
                // already reusing the slot, or has moved on twice.
                continue;
            }
            // R1: the data after the sequence that says it is complete
            // (pairs with W2).
            w.fence();
            let length = w.load(slot + layout::SLOT_LENGTH);
            let low = w.load(slot + layout::SLOT_STAMP);
            let high = w.load(slot + layout::SLOT_STAMP + 4);
            let copied = if length > self.message_size {
                Err(ReadError::Corrupt)
            } else if let Some(dest) = out.get_mut(..length as usize) {
                w.read_bytes(slot + layout::SLOT_PAYLOAD, dest);
                Ok(())
            } else {
                Err(ReadError::BufferTooSmall)
            };
            // R2: the data before the sequence that says it did not change
            // (pairs with W1).
            w.fence();
            if w.load(slot + layout::SLOT_SEQUENCE) != before {
                continue;
            }
            return copied.map(|()| Sample { number, length, stamp: u64::from(high) << 32 | u64::from(low) });
        }
        Err(ReadError::Raced)
    }

    /// The number of the latest complete message (0: none yet), as the
    /// window says: a hint, since the writer may move on at once.
    pub fn latest_number(&self) -> u32 {
        self.window.load(layout::SAMPLING_LATEST)
    }

    /// The channel's `message_size`.
    pub const fn message_size(&self) -> u32 {
        self.message_size
    }

    /// The window.
    pub const fn window(&self) -> &W {
        &self.window
    }
}
