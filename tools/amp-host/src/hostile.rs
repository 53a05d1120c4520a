//! A driver that breaks the rules on purpose, one way at a time, to show
//! the island refuses each without touching memory outside the window.
//!
//! Each case writes into the rings or the table the way a compromised or
//! buggy Cortex-A could, after a normal attach. The island must log the
//! reason and set NEEDS_RESET (or, for a malformed message, drop it and go
//! on); the test then resets the link and checks it works again.

use bulkhead_virtio::resource_table::{field, status};
use bulkhead_virtio::rpmsg::Header;
use bulkhead_virtio::vring::{DESC_F_INDIRECT, DESC_F_NEXT, DESCRIPTOR_SIZE};
use bulkhead_virtio::window::Window;

use crate::driver::{Driver, DriverError, READY};

/// One way to break the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// vring 1's available index jumps more than `num` ahead.
    AvailIndexJump,
    /// A head index past the ring.
    HeadOutOfRange,
    /// A `next` link past the ring.
    NextOutOfRange,
    /// Two descriptors chained to each other.
    Loop,
    /// An indirect descriptor.
    Indirect,
    /// A buffer that runs past the window's end.
    BufferPastWindow,
    /// A buffer below the window (the island's own memory, as the Cortex-A
    /// might try).
    BufferBelowWindow,
    /// A receive buffer on vring 0 that the device may not write.
    ReadOnlyReceiveBuffer,
    /// Features the device never offered, acknowledged at DRIVER_OK.
    UnofferedFeature,
    /// A vring address outside the window, written at DRIVER_OK.
    RingOutsideWindow,
    /// A message whose header claims more than its buffer holds (dropped,
    /// the link stays up).
    LengthBeyondBuffer,
    /// A message in a buffer over the resource table (inside the window,
    /// outside its buffer area).
    BufferOverTable,
    /// A receive buffer over vring 0's own used ring: the island would
    /// write its reply into its ring.
    ReceiveBufferOverRing,
    /// DRIVER_OK with FAILED, at the handshake.
    FailedAtHandshake,
    /// DRIVER_OK after DRIVER without ACKNOWLEDGE, at the handshake.
    StatusOutOfSequence,
}

impl Case {
    /// Every case.
    pub const ALL: [Case; 15] = [
        Case::AvailIndexJump,
        Case::HeadOutOfRange,
        Case::NextOutOfRange,
        Case::Loop,
        Case::Indirect,
        Case::BufferPastWindow,
        Case::BufferBelowWindow,
        Case::ReadOnlyReceiveBuffer,
        Case::UnofferedFeature,
        Case::RingOutsideWindow,
        Case::LengthBeyondBuffer,
        Case::BufferOverTable,
        Case::ReceiveBufferOverRing,
        Case::FailedAtHandshake,
        Case::StatusOutOfSequence,
    ];

    /// The reason the island logs for it.
    pub fn reason(&self) -> &'static str {
        match self {
            Case::AvailIndexJump => "avail-index-jump",
            Case::HeadOutOfRange => "head-out-of-range",
            Case::NextOutOfRange => "next-out-of-range",
            Case::Loop => "chain-too-long",
            Case::Indirect => "indirect-descriptor",
            Case::BufferPastWindow | Case::BufferBelowWindow => "buffer-outside-window",
            Case::ReadOnlyReceiveBuffer => "read-only-buffer-on-vring0",
            Case::UnofferedFeature => "unoffered-features",
            Case::RingOutsideWindow => "bad-ring-address",
            Case::LengthBeyondBuffer => "message-length-beyond-buffer",
            Case::BufferOverTable | Case::ReceiveBufferOverRing => "buffer-outside-buffer-area",
            Case::FailedAtHandshake => "driver-failed",
            Case::StatusOutOfSequence => "status-out-of-sequence",
        }
    }

    /// Whether the link goes down (else only the message is dropped).
    pub fn breaks_link(&self) -> bool {
        *self != Case::LengthBeyondBuffer
    }

    /// Whether the case is set up during the handshake (the driver attaches
    /// with it instead of attaching normally).
    pub fn at_handshake(&self) -> bool {
        matches!(
            self,
            Case::UnofferedFeature | Case::RingOutsideWindow | Case::FailedAtHandshake | Case::StatusOutOfSequence
        )
    }

    /// For a handshake case: the status the driver ends the handshake with.
    pub fn ready(&self) -> u8 {
        match self {
            Case::FailedAtHandshake => READY | status::FAILED,
            Case::StatusOutOfSequence => status::DRIVER | status::DRIVER_OK,
            _ => READY,
        }
    }

    /// For a handshake case: what to corrupt in the table just before
    /// DRIVER_OK (pass to [`Driver::attach_with`]).
    pub fn tamper_handshake<W: Window>(&self, window: &mut W, table: u32) -> Result<(), DriverError> {
        match self {
            Case::UnofferedFeature => {
                let features = window.read_u32(table + field::DRIVER_FEATURES).ok_or(DriverError::Window)?;
                window.write_u32(table + field::DRIVER_FEATURES, features | 1 << 28).ok_or(DriverError::Window)
            }
            Case::RingOutsideWindow => {
                window.write_u32(table + field::vring_da(1), 0x1000_0000).ok_or(DriverError::Window)
            }
            _ => Ok(()),
        }
    }

    /// Applies a case that is not a handshake case to an attached driver.
    /// Ring the island afterwards. `echo` is a device endpoint that replies.
    pub fn apply<W: Window>(&self, driver: &mut Driver<W>, echo: u32) -> Result<(), DriverError> {
        let placement = driver.placement();
        let [rx_ring, tx_ring] = placement.rings;
        let size = driver.config().size;
        let remote_base = driver.config().remote_base;
        // Sends a normal message, then rewrites its descriptor.
        let corrupt_last = |driver: &mut Driver<W>, flags: u16, next: u16, address: Option<u64>, len: Option<u32>| {
            driver.send(1024, echo, b"about to misbehave")?;
            let window = driver.window_mut();
            let avail_idx = window.read_u16(tx_ring.avail + 2).ok_or(DriverError::Window)?;
            let slot = tx_ring.avail + 4 + 2 * (avail_idx.wrapping_sub(1) % tx_ring.num) as u32;
            let head = window.read_u16(slot).ok_or(DriverError::Window)?;
            let at = tx_ring.desc + DESCRIPTOR_SIZE * head as u32;
            if let Some(address) = address {
                window.write_u32(at, address as u32).ok_or(DriverError::Window)?;
                window.write_u32(at + 4, (address >> 32) as u32).ok_or(DriverError::Window)?;
            }
            if let Some(len) = len {
                window.write_u32(at + 8, len).ok_or(DriverError::Window)?;
            }
            window.write_u16(at + 12, flags).ok_or(DriverError::Window)?;
            window.write_u16(at + 14, next).ok_or(DriverError::Window)?;
            Ok::<_, DriverError>(head)
        };
        match self {
            Case::AvailIndexJump => {
                let window = driver.window_mut();
                let idx = window.read_u16(tx_ring.avail + 2).ok_or(DriverError::Window)?;
                window.write_u16(tx_ring.avail + 2, idx.wrapping_add(tx_ring.num + 1)).ok_or(DriverError::Window)?;
            }
            Case::HeadOutOfRange => {
                driver.send(1024, echo, b"about to misbehave")?;
                let window = driver.window_mut();
                let idx = window.read_u16(tx_ring.avail + 2).ok_or(DriverError::Window)?;
                let slot = tx_ring.avail + 4 + 2 * (idx.wrapping_sub(1) % tx_ring.num) as u32;
                window.write_u16(slot, tx_ring.num + 5).ok_or(DriverError::Window)?;
            }
            Case::NextOutOfRange => {
                corrupt_last(driver, DESC_F_NEXT, tx_ring.num + 3, None, None)?;
            }
            Case::Loop => {
                // head -> partner -> head, both with valid buffers.
                let head = corrupt_last(driver, DESC_F_NEXT, 0, None, None)?;
                let partner = (head + 1) % tx_ring.num;
                let window = driver.window_mut();
                let from = tx_ring.desc + DESCRIPTOR_SIZE * head as u32;
                let to = tx_ring.desc + DESCRIPTOR_SIZE * partner as u32;
                for word in [0, 4, 8] {
                    let value = window.read_u32(from + word).ok_or(DriverError::Window)?;
                    window.write_u32(to + word, value).ok_or(DriverError::Window)?;
                }
                window.write_u16(from + 14, partner).ok_or(DriverError::Window)?;
                window.write_u16(to + 12, DESC_F_NEXT).ok_or(DriverError::Window)?;
                window.write_u16(to + 14, head).ok_or(DriverError::Window)?;
            }
            Case::Indirect => {
                corrupt_last(driver, DESC_F_INDIRECT, 0, None, None)?;
            }
            Case::BufferPastWindow => {
                corrupt_last(driver, 0, 0, Some(remote_base + size as u64 - 8), Some(64))?;
            }
            Case::BufferBelowWindow => {
                corrupt_last(driver, 0, 0, Some(remote_base.wrapping_sub(0x1000)), Some(64))?;
            }
            Case::ReadOnlyReceiveBuffer => {
                // Every posted receive buffer loses its WRITE flag; then ask
                // for a reply, which the island must put in one.
                let window = driver.window_mut();
                for index in 0..placement.rx_count {
                    window
                        .write_u16(rx_ring.desc + DESCRIPTOR_SIZE * index as u32 + 12, 0)
                        .ok_or(DriverError::Window)?;
                }
                driver.send(1024, echo, b"reply into a read-only buffer")?;
            }
            Case::LengthBeyondBuffer => {
                let header = Header { src: 1024, dst: echo, len: 600, flags: 0 };
                driver.send_raw(&header, b"short", None)?;
            }
            Case::BufferOverTable => {
                let table = driver.config().table;
                corrupt_last(driver, 0, 0, Some(remote_base + table as u64), Some(32))?;
            }
            Case::ReceiveBufferOverRing => {
                // Every posted receive buffer points at vring 0's used ring;
                // then ask for a reply, which the island must put in one.
                let window = driver.window_mut();
                let used = remote_base + rx_ring.used as u64;
                for index in 0..placement.rx_count {
                    let at = rx_ring.desc + DESCRIPTOR_SIZE * index as u32;
                    window.write_u32(at, used as u32).ok_or(DriverError::Window)?;
                    window.write_u32(at + 4, (used >> 32) as u32).ok_or(DriverError::Window)?;
                }
                driver.send(1024, echo, b"reply into the island's own ring")?;
            }
            Case::UnofferedFeature | Case::RingOutsideWindow | Case::FailedAtHandshake | Case::StatusOutOfSequence => {}
        }
        Ok(())
    }
}

/// A field the race mode rewrites while the island works on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RaceField {
    /// The message header's `len`: 16 (the truth) and 0xFFFF.
    HeaderLength,
    /// The descriptor's address: the message's and the resource table's.
    DescriptorAddress,
    /// The descriptor's length: the message's and the whole window.
    DescriptorLength,
}

impl RaceField {
    /// Every field.
    pub const ALL: [RaceField; 3] =
        [RaceField::HeaderLength, RaceField::DescriptorAddress, RaceField::DescriptorLength];

    /// For the command line.
    pub fn name(&self) -> &'static str {
        match self {
            RaceField::HeaderLength => "len",
            RaceField::DescriptorAddress => "addr",
            RaceField::DescriptorLength => "desc-len",
        }
    }
}

/// What a race run came to, round by round.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RaceReport {
    /// Rounds played.
    pub rounds: u32,
    /// Echoed intact.
    pub echoed: u32,
    /// Refused: dropped (`message-length-beyond-buffer`) or the link taken
    /// down (then reset).
    pub refused: u32,
    /// Echoed with an empty payload (the unexplained result of issue 9).
    pub empty: u32,
    /// Echoed with any other payload.
    pub wrong: u32,
}

impl std::fmt::Display for RaceReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} rounds: {} echoed intact, {} refused, {} empty, {} other",
            self.rounds, self.echoed, self.refused, self.empty, self.wrong
        )
    }
}

/// The field flipper: a second thread of the Cortex-A that, while armed,
/// rewrites one field of the window between two values as fast as it can.
pub struct Flipper {
    target: std::sync::Arc<FlipTarget>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Default)]
struct FlipTarget {
    /// Window offset, or `u32::MAX` for none.
    offset: std::sync::atomic::AtomicU32,
    width: std::sync::atomic::AtomicU32,
    values: [std::sync::atomic::AtomicU32; 2],
    /// Armed (the thread flips) and acknowledged (it has stopped).
    armed: std::sync::atomic::AtomicBool,
    idle: std::sync::atomic::AtomicBool,
    quit: std::sync::atomic::AtomicBool,
}

impl Flipper {
    /// A flipper over `window` (its own view of the shared memory).
    pub fn new<F: Window + Send + 'static>(mut window: F) -> Flipper {
        use std::sync::atomic::Ordering::SeqCst;
        let target = std::sync::Arc::new(FlipTarget::default());
        target.idle.store(true, SeqCst);
        let shared = target.clone();
        let thread = std::thread::spawn(move || {
            let mut flip = 0usize;
            while !shared.quit.load(SeqCst) {
                if !shared.armed.load(SeqCst) {
                    shared.idle.store(true, SeqCst);
                    std::thread::yield_now();
                    continue;
                }
                shared.idle.store(false, SeqCst);
                let offset = shared.offset.load(SeqCst);
                let value = shared.values[flip % 2].load(SeqCst);
                flip += 1;
                let _ = match shared.width.load(SeqCst) {
                    2 => window.write_u16(offset, value as u16),
                    _ => window.write_u32(offset, value),
                };
            }
        });
        Flipper { target, thread: Some(thread) }
    }

    /// Starts flipping `width` bytes at `offset` between `values`.
    pub fn arm(&self, offset: u32, width: u32, values: [u32; 2]) {
        use std::sync::atomic::Ordering::SeqCst;
        self.target.offset.store(offset, SeqCst);
        self.target.width.store(width, SeqCst);
        self.target.values[0].store(values[0], SeqCst);
        self.target.values[1].store(values[1], SeqCst);
        self.target.idle.store(false, SeqCst);
        self.target.armed.store(true, SeqCst);
    }

    /// Stops flipping; returns once the thread has made its last write.
    pub fn disarm(&self) {
        use std::sync::atomic::Ordering::SeqCst;
        self.target.armed.store(false, SeqCst);
        while !self.target.idle.load(SeqCst) {
            std::thread::yield_now();
        }
    }
}

impl Drop for Flipper {
    fn drop(&mut self) {
        self.target.quit.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The window offset of `field` in the message just posted on vring 1,
/// its honest value and the other one.
pub fn race_target<W: Window>(driver: &mut Driver<W>, field: RaceField) -> Result<(u32, u32, [u32; 2]), DriverError> {
    let [_, tx_ring] = driver.placement().rings;
    let remote_base = driver.config().remote_base;
    let table = driver.config().table;
    let size = driver.config().size;
    let window = driver.window_mut();
    let idx = window.read_u16(tx_ring.avail + 2).ok_or(DriverError::Window)?;
    let slot = tx_ring.avail + 4 + 2 * (idx.wrapping_sub(1) % tx_ring.num) as u32;
    let head = window.read_u16(slot).ok_or(DriverError::Window)?;
    let at = tx_ring.desc + DESCRIPTOR_SIZE * head as u32;
    let address = window.read_u32(at).ok_or(DriverError::Window)?;
    let len = window.read_u32(at + 8).ok_or(DriverError::Window)?;
    let buffer = (address as u64).wrapping_sub(remote_base) as u32;
    Ok(match field {
        RaceField::HeaderLength => (buffer + 12, 2, [16, 0xFFFF]),
        RaceField::DescriptorAddress => (at, 4, [address, (remote_base + table as u64) as u32]),
        RaceField::DescriptorLength => (at + 8, 4, [len, size]),
    })
}
