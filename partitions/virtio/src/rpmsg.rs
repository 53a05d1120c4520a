//! rpmsg messages, as Linux's `virtio_rpmsg_bus` and OpenAMP lay them out.
//!
//! ```text
//! offset  field
//! 0       u32 src        sender's endpoint address
//! 4       u32 dst        receiver's endpoint address
//! 8       u32 reserved
//! 12      u16 len        payload bytes
//! 14      u16 flags
//! 16      u8  data[len]
//! ```
//!
//! Buffers are 512 bytes, so a payload is at most 496. Endpoint 53 (0x35)
//! is the name service: a message to it announces or withdraws a service,
//! `{ char name[32]; u32 addr; u32 flags }` with flags 0 (create) or 1
//! (destroy). Addresses below 1024 are reserved; the island's services
//! live at 1024 and up.
//!
//! This module only encodes and checks; it never touches shared memory.

/// Bytes of one rpmsg buffer.
pub const BUFFER_SIZE: usize = 512;
/// Bytes of the header.
pub const HEADER_SIZE: usize = 16;
/// The largest payload.
pub const MAX_PAYLOAD: usize = BUFFER_SIZE - HEADER_SIZE;
/// The name service endpoint.
pub const NS_ADDR: u32 = 53;
/// "Any address".
pub const ADDR_ANY: u32 = u32::MAX;
/// Addresses below this are reserved.
pub const RESERVED_ADDRESSES: u32 = 1024;
/// `VIRTIO_RPMSG_F_NS`: the device announces its services.
pub const F_NS: u32 = 1 << 0;
/// Bytes of a name in a name service message.
pub const NS_NAME_SIZE: usize = 32;
/// Bytes of a name service message.
pub const NS_MESSAGE_SIZE: usize = NS_NAME_SIZE + 8;
/// Name service flag: the service appeared.
pub const NS_CREATE: u32 = 0;
/// Name service flag: the service went away.
pub const NS_DESTROY: u32 = 1;

/// A message header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Sender.
    pub src: u32,
    /// Receiver.
    pub dst: u32,
    /// Payload bytes.
    pub len: u16,
    /// Flags (0 in practice).
    pub flags: u16,
}

/// Why a message was dropped. The ring is fine; only this message is bad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageError {
    /// The buffer is shorter than a header.
    Truncated(u32),
    /// `len` says more than the buffer (or 496) holds.
    LengthBeyondBuffer {
        /// What the header says.
        len: u16,
        /// What the buffer holds after the header.
        room: u32,
    },
}

impl MessageError {
    /// A short, stable reason for logs.
    pub fn reason(&self) -> &'static str {
        match self {
            MessageError::Truncated(_) => "message-truncated",
            MessageError::LengthBeyondBuffer { .. } => "message-length-beyond-buffer",
        }
    }
}

impl Header {
    /// Encodes the header.
    pub fn to_bytes(&self) -> [u8; HEADER_SIZE] {
        let mut bytes = [0u8; HEADER_SIZE];
        bytes[0..4].copy_from_slice(&self.src.to_le_bytes());
        bytes[4..8].copy_from_slice(&self.dst.to_le_bytes());
        bytes[12..14].copy_from_slice(&self.len.to_le_bytes());
        bytes[14..16].copy_from_slice(&self.flags.to_le_bytes());
        bytes
    }

    /// Decodes the header at the start of a received buffer of `buffer_len`
    /// bytes (only the first [`BUFFER_SIZE`] of which are ever read), and
    /// checks its length against it.
    pub fn parse(bytes: &[u8], buffer_len: u32) -> Result<Header, MessageError> {
        let header = bytes.get(..HEADER_SIZE).ok_or(MessageError::Truncated(buffer_len))?;
        if (buffer_len as usize) < HEADER_SIZE {
            return Err(MessageError::Truncated(buffer_len));
        }
        let word = |at: usize| u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
        let half = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]);
        let parsed = Header { src: word(0), dst: word(4), len: half(12), flags: half(14) };
        let room = (buffer_len.min(BUFFER_SIZE as u32)) - HEADER_SIZE as u32;
        if parsed.len as u32 > room {
            return Err(MessageError::LengthBeyondBuffer { len: parsed.len, room });
        }
        Ok(parsed)
    }
}

/// The payload of a received message whose `header` was parsed from
/// `buffer` (header and payload as received); `None` if `header` says more
/// than `buffer` holds, which [`Header::parse`] never lets through (so a
/// header that changed after its check shows, rather than passing as an
/// empty message).
pub fn payload<'a>(buffer: &'a [u8], header: &Header) -> Option<&'a [u8]> {
    buffer.get(HEADER_SIZE..HEADER_SIZE + header.len as usize)
}

/// A name service message announcing (`NS_CREATE`) or withdrawing
/// (`NS_DESTROY`) service `name` at `address`. Names longer than 31 bytes
/// are cut (the field is NUL-terminated).
pub fn name_service_message(name: &str, address: u32, flags: u32) -> [u8; NS_MESSAGE_SIZE] {
    let mut message = [0u8; NS_MESSAGE_SIZE];
    let name = name.as_bytes();
    let kept = name.len().min(NS_NAME_SIZE - 1);
    message[..kept].copy_from_slice(&name[..kept]);
    message[NS_NAME_SIZE..NS_NAME_SIZE + 4].copy_from_slice(&address.to_le_bytes());
    message[NS_NAME_SIZE + 4..].copy_from_slice(&flags.to_le_bytes());
    message
}

/// The fields of a name service message (for drivers and tests).
pub fn parse_name_service(payload: &[u8]) -> Option<(&[u8], u32, u32)> {
    if payload.len() < NS_MESSAGE_SIZE {
        return None;
    }
    let name = &payload[..NS_NAME_SIZE];
    let end = name.iter().position(|b| *b == 0).unwrap_or(NS_NAME_SIZE);
    let word = |at: usize| u32::from_le_bytes([payload[at], payload[at + 1], payload[at + 2], payload[at + 3]]);
    Some((&name[..end], word(NS_NAME_SIZE), word(NS_NAME_SIZE + 4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bytes_are_the_published_layout() {
        let header = Header { src: 0x400, dst: 0x35, len: 40, flags: 0 };
        assert_eq!(header.to_bytes(), [0, 4, 0, 0, 0x35, 0, 0, 0, 0, 0, 0, 0, 40, 0, 0, 0]);
        assert_eq!(Header::parse(&header.to_bytes(), 512), Ok(header));
    }

    #[test]
    fn lengths_are_checked_against_the_buffer() {
        let header = Header { src: 1, dst: 2, len: 497, flags: 0 };
        assert_eq!(
            Header::parse(&header.to_bytes(), 512),
            Err(MessageError::LengthBeyondBuffer { len: 497, room: 496 })
        );
        let header = Header { len: 100, ..header };
        assert_eq!(Header::parse(&header.to_bytes(), 64), Err(MessageError::LengthBeyondBuffer { len: 100, room: 48 }));
        assert_eq!(Header::parse(&header.to_bytes(), 15), Err(MessageError::Truncated(15)));
        assert_eq!(Header::parse(&header.to_bytes()[..8], 512), Err(MessageError::Truncated(512)));
        assert!(Header::parse(&header.to_bytes(), 4096).is_ok(), "a bigger buffer is fine");
    }

    #[test]
    fn name_service_messages() {
        let message = name_service_message("rpmsg-tty", 1024, NS_CREATE);
        assert_eq!(&message[..10], b"rpmsg-tty\0");
        assert_eq!(&message[32..], [0, 4, 0, 0, 0, 0, 0, 0]);
        assert_eq!(parse_name_service(&message), Some((&b"rpmsg-tty"[..], 1024, NS_CREATE)));
        let long = name_service_message("a-name-that-is-far-too-long-for-the-field", 1, NS_DESTROY);
        assert_eq!(long[31], 0, "always terminated");
        assert_eq!(parse_name_service(&long).map(|(name, ..)| name.len()), Some(31));
    }
}
