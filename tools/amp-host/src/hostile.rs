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
