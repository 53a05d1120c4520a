//! The rpmsg virtio device: handshake, both queues, and messages in and out.
//!
//! The island is the VIRTIO *device*; the Cortex-A is the driver. The driver
//! fills vring 0 with empty buffers for the device to write messages into
//! (device to driver) and posts its own messages on vring 1 (driver to
//! device). The device:
//!
//! 1. writes the resource table and waits for `DRIVER_OK` in its status;
//! 2. then checks what the driver wrote (features, ring addresses) and
//!    starts both queues: [`Event::Ready`], after which the application
//!    announces its services;
//! 3. on any ring or table error stops using the link, sets `NEEDS_RESET`
//!    and reports [`Event::Broken`] with the reason;
//! 4. when the driver resets (status back to 0) rewrites the table and
//!    waits again: [`Event::Reset`]. The driver must wait for the device's
//!    doorbell after writing 0 before it starts again (the device rings on
//!    `Reset`), since a quick 0-then-`DRIVER_OK` could otherwise go unseen.
//!
//! Nothing here blocks or allocates; every call does a bounded amount of
//! work and every shared field it uses is read once.

use crate::resource_table::{LinkLayout, TableError, status};
use crate::rpmsg::{BUFFER_SIZE, HEADER_SIZE, Header, MAX_PAYLOAD, MessageError};

use crate::vring::{Chain, DeviceQueue, RingError};
use crate::window::Window;

/// Which queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queue {
    /// vring 0: buffers the device fills for the driver.
    ToDriver,
    /// vring 1: messages from the driver.
    FromDriver,
}

impl Queue {
    /// For logs.
    pub fn name(&self) -> &'static str {
        match self {
            Queue::ToDriver => "vring0",
            Queue::FromDriver => "vring1",
        }
    }
}

/// Why the link is down until the driver resets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// A ring broke a rule.
    Ring(Queue, RingError),
    /// The table's driver fields are unusable.
    Table(TableError),
    /// A buffer on vring 0 that the device may not write.
    ReadOnlyBufferForDevice,
}

impl Fault {
    /// A short, stable reason for logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Fault::Ring(_, error) => error.reason(),
            Fault::Table(error) => error.reason(),
            Fault::ReadOnlyBufferForDevice => "read-only-buffer-on-vring0",
        }
    }

    /// The queue concerned, if any.
    pub fn queue(&self) -> Option<Queue> {
        match self {
            Fault::Ring(queue, _) => Some(*queue),
            Fault::ReadOnlyBufferForDevice => Some(Queue::ToDriver),
            Fault::Table(_) => None,
        }
    }
}

/// A change of the link's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The driver is ready and its choices check out: announce services.
    Ready {
        /// The features it took.
        features: u32,
    },
    /// The driver reset the device: the link waits for a new handshake.
    /// Ring the doorbell so the driver knows the reset was seen.
    Reset,
    /// The driver broke a rule: `NEEDS_RESET` is set and the link is down.
    Broken(Fault),
}

/// The link's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting for `DRIVER_OK`.
    Waiting,
    /// Running.
    Ready,
    /// Down after a fault, until the driver resets.
    Broken(Fault),
}

/// What [`RpmsgDevice::receive`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A message; its payload is in the caller's buffer.
    Message(Header),
    /// A malformed message, returned to the driver unread.
    Dropped(MessageError),
}

/// Why [`RpmsgDevice::send`] did not send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The link is not running.
    NotReady,
    /// The driver has no empty buffer posted right now.
    NoBuffer,
    /// More than 496 bytes.
    TooLong,
    /// The buffer offered is too small for this message; the message was
    /// not sent and the buffer went back empty.
    BufferTooSmall,
    /// The link broke while sending (see [`RpmsgDevice::state`]).
    Broken(Fault),
}

/// Counters, for logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Messages received.
    pub received: u32,
    /// Messages sent.
    pub sent: u32,
    /// Malformed messages dropped.
    pub dropped: u32,
    /// Handshakes completed.
    pub handshakes: u32,
}

/// The device side of one rpmsg link.
pub struct RpmsgDevice {
    layout: LinkLayout,
    state: State,
    to_driver: Option<DeviceQueue>,
    from_driver: Option<DeviceQueue>,
    /// A used buffer was returned since the last [`RpmsgDevice::take_notify`].
    notify: bool,
    stats: Stats,
    /// Where chains are taken into.
    chain: Chain,
}

impl RpmsgDevice {
    /// The device of `layout`, not started.
    pub const fn new(layout: LinkLayout) -> RpmsgDevice {
        RpmsgDevice {
            layout,
            state: State::Waiting,
            to_driver: None,
            from_driver: None,
            notify: false,
            stats: Stats { received: 0, sent: 0, dropped: 0, handshakes: 0 },
            chain: Chain::EMPTY,
        }
    }

    /// The link's layout.
    pub fn layout(&self) -> &LinkLayout {
        &self.layout
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Starts the device. With `resume`, a device that already ran in this
    /// window (the island restarted after a fault) picks the link up where
    /// it was if the driver still has it running: [`Event::Ready`] then
    /// comes at once, and services are announced again. Otherwise (first
    /// boot, or a link that was not running) it writes a fresh table.
    pub fn start(&mut self, window: &mut impl Window, resume: bool) -> Result<Option<Event>, TableError> {
        self.to_driver = None;
        self.from_driver = None;
        self.state = State::Waiting;
        if resume {
            let status = self.layout.status(window)?;
            if status & status::DRIVER_OK != 0 && status & (status::NEEDS_RESET | status::FAILED) == 0 {
                return Ok(Some(match self.open(window, true) {
                    Ok(features) => Event::Ready { features },
                    Err(fault) => self.break_down(window, fault),
                }));
            }
        }
        self.layout.write_table(window)?;
        Ok(None)
    }

    /// Looks at the status the driver wrote; call on every doorbell (and
    /// whenever the application has time). Reports state changes.
    pub fn poll(&mut self, window: &mut impl Window) -> Option<Event> {
        let status = match self.layout.status(window) {
            Ok(status) => status,
            Err(error) => return self.broken_once(window, Fault::Table(error)),
        };
        let driver_ok = status & status::DRIVER_OK != 0;
        match self.state {
            State::Waiting if driver_ok => Some(match self.open(window, false) {
                Ok(features) => Event::Ready { features },
                Err(fault) => self.break_down(window, fault),
            }),
            State::Ready | State::Broken(_) if status == 0 => {
                self.to_driver = None;
                self.from_driver = None;
                self.state = State::Waiting;
                // A table the driver may have scribbled on is made pristine.
                if let Err(error) = self.layout.write_table(window) {
                    return self.broken_once(window, Fault::Table(error));
                }
                Some(Event::Reset)
            }
            _ => None,
        }
    }

    fn open(&mut self, window: &impl Window, resume: bool) -> Result<u32, Fault> {
        let (features, [to_driver, from_driver]) = self.layout.negotiated(window).map_err(Fault::Table)?;
        let map = self.layout.address_map();
        let mut queues = [
            (Queue::ToDriver, DeviceQueue::new(to_driver, map)),
            (Queue::FromDriver, DeviceQueue::new(from_driver, map)),
        ];
        if resume {
            for (queue, device_queue) in &mut queues {
                device_queue.resume(window).map_err(|error| Fault::Ring(*queue, error))?;
            }
        }
        let [(_, to_driver), (_, from_driver)] = queues;
        self.to_driver = Some(to_driver);
        self.from_driver = Some(from_driver);
        self.state = State::Ready;
        self.stats.handshakes += 1;
        Ok(features)
    }

    fn break_down(&mut self, window: &mut impl Window, fault: Fault) -> Event {
        self.to_driver = None;
        self.from_driver = None;
        self.state = State::Broken(fault);
        // If even the status cannot be written, the table is outside the
        // window: nothing more to do than stop.
        let _ = self.layout.set_status_bits(window, status::NEEDS_RESET);
        Event::Broken(fault)
    }

    fn broken_once(&mut self, window: &mut impl Window, fault: Fault) -> Option<Event> {
        match self.state {
            State::Broken(_) => None,
            _ => Some(self.break_down(window, fault)),
        }
    }

    /// Whether the driver has an empty buffer posted for the device (so a
    /// reply can be sent). Read-only: nothing is taken.
    pub fn can_send(&self, window: &impl Window) -> bool {
        self.to_driver.as_ref().is_some_and(|queue| queue.has_available(window))
    }

    /// Takes the next message from the driver into `buffer` (header and
    /// payload as received: the payload is
    /// [`crate::rpmsg::payload`]`(buffer, &header)`), returning the driver's
    /// buffer to it.
    pub fn receive(
        &mut self,
        window: &mut impl Window,
        buffer: &mut [u8; BUFFER_SIZE],
    ) -> Result<Option<Incoming>, Fault> {
        let Some(queue) = self.from_driver.as_mut() else { return Ok(None) };
        match queue.pop_into(window, &mut self.chain) {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(error) => return Err(self.fail(window, Fault::Ring(Queue::FromDriver, error))),
        }
        let chain = &self.chain;
        // The header, then only as much payload as it announces.
        let copied = gather(window, chain, 0, &mut buffer[..HEADER_SIZE]);
        let incoming = match Header::parse(&buffer[..copied], chain.readable_len()) {
            Ok(header) => {
                let end = HEADER_SIZE + header.len as usize;
                gather(window, chain, HEADER_SIZE, &mut buffer[HEADER_SIZE..end]);
                self.stats.received += 1;
                Incoming::Message(header)
            }
            Err(error) => {
                self.stats.dropped += 1;
                Incoming::Dropped(error)
            }
        };
        // The used length of a consumed buffer is the chain's length, as
        // every OpenAMP-family device returns it: OpenAMP's driver takes a
        // reused transmit buffer's size from it (0 would wrap to 0xFFF0).
        let (head, len) = (chain.head, chain.len());
        let Some(queue) = self.from_driver.as_mut() else { return Ok(None) };
        if let Err(error) = queue.push(window, head, len) {
            return Err(self.fail(window, Fault::Ring(Queue::FromDriver, error)));
        }
        self.notify |= queue.driver_wants_interrupts(window);
        Ok(Some(incoming))
    }

    /// Sends `payload` from endpoint `src` to `dst` in the next empty
    /// buffer the driver posted.
    pub fn send(&mut self, window: &mut impl Window, src: u32, dst: u32, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(SendError::TooLong);
        }
        let Some(queue) = self.to_driver.as_mut() else {
            return Err(match self.state {
                State::Broken(fault) => SendError::Broken(fault),
                _ => SendError::NotReady,
            });
        };
        match queue.pop_into(window, &mut self.chain) {
            Ok(true) => {}
            Ok(false) => return Err(SendError::NoBuffer),
            Err(error) => return Err(SendError::Broken(self.fail(window, Fault::Ring(Queue::ToDriver, error)))),
        }
        let chain = &self.chain;
        if chain.readable_len() != 0 {
            return Err(SendError::Broken(self.fail(window, Fault::ReadOnlyBufferForDevice)));
        }
        let total = HEADER_SIZE + payload.len();
        let written = if (chain.writable_len() as usize) < total {
            0
        } else {
            let header = Header { src, dst, len: payload.len() as u16, flags: 0 };
            scatter(window, chain, &header.to_bytes(), payload);
            total as u32
        };
        let head = chain.head;
        let Some(queue) = self.to_driver.as_mut() else { return Err(SendError::NotReady) };
        if let Err(error) = queue.push(window, head, written) {
            return Err(SendError::Broken(self.fail(window, Fault::Ring(Queue::ToDriver, error))));
        }
        self.notify |= queue.driver_wants_interrupts(window);
        if written == 0 {
            return Err(SendError::BufferTooSmall);
        }
        self.stats.sent += 1;
        Ok(())
    }

    fn fail(&mut self, window: &mut impl Window, fault: Fault) -> Fault {
        self.break_down(window, fault);
        fault
    }

    /// Whether the driver should be notified (buffers were returned since
    /// the last call), clearing the flag.
    pub fn take_notify(&mut self) -> bool {
        core::mem::take(&mut self.notify)
    }
}

/// Copies the chain's device-readable bytes from byte `skip` on into
/// `into` (as many as fit); returns how many.
fn gather(window: &impl Window, chain: &Chain, mut skip: usize, into: &mut [u8]) -> usize {
    let mut copied = 0usize;
    for segment in chain.segments().iter().filter(|s| !s.writable) {
        let len = segment.len as usize;
        if skip >= len {
            skip -= len;
            continue;
        }
        let take = (len - skip).min(into.len() - copied);
        if take == 0 {
            break;
        }
        // The segment was checked to be inside the window.
        if window.read_bytes(segment.offset + skip as u32, &mut into[copied..copied + take]).is_none() {
            break;
        }
        copied += take;
        skip = 0;
    }
    copied
}

/// Writes `header` then `payload` across the chain's device-writable
/// buffers (which the caller checked are large enough).
fn scatter(window: &mut impl Window, chain: &Chain, header: &[u8], payload: &[u8]) {
    let mut parts = [header, payload];
    let mut part = 0;
    for segment in chain.segments().iter().filter(|s| s.writable) {
        let mut at = segment.offset;
        let mut room = segment.len as usize;
        while room > 0 && part < parts.len() {
            let bytes = parts[part];
            let take = bytes.len().min(room);
            // Inside the window: the segment was checked.
            let _ = window.write_bytes(at, &bytes[..take]);
            at += take as u32;
            room -= take;
            parts[part] = &bytes[take..];
            if parts[part].is_empty() {
                part += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource_table::{VringSpec, field};
    use crate::rpmsg::F_NS;
    use crate::vring::{DESC_F_WRITE, DESCRIPTOR_SIZE, Vring};
    use crate::window::SliceWindow;

    const SIZE: u32 = 0x10000;
    const LOCAL: u32 = 0x2000_0000;
    const REMOTE: u64 = 0x8000_0000;
    /// The driver's buffers: 8 to receive, then 8 to send.
    const POOL: u32 = 0x4000;
    const NUM: u16 = 8;
    const LAYOUT: LinkLayout = LinkLayout {
        local_base: LOCAL,
        size: SIZE,
        remote_base: REMOTE,
        table: 0,
        vrings: [
            VringSpec { da: LOCAL + 0x1000, align: 0x1000, num: NUM },
            VringSpec { da: LOCAL + 0x3000, align: 0x1000, num: NUM },
        ],
        features: F_NS,
    };
    const OK: u8 = status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK;

    /// A driver written out by hand, byte by byte, for the device's tests.
    struct TestDriver {
        rings: [Vring; 2],
        avail: [u16; 2],
        used: [u16; 2],
    }

    impl TestDriver {
        /// Attaches the way `virtio_rpmsg_bus` does, ending with `status`:
        /// features, zeroed rings, every receive buffer posted.
        fn attach(w: &mut impl Window, status: u8) -> TestDriver {
            let ring = |n: usize| Vring::at(LAYOUT.vrings[n].da - LOCAL, NUM, 0x1000, SIZE).unwrap();
            let mut driver = TestDriver { rings: [ring(0), ring(1)], avail: [0; 2], used: [0; 2] };
            for ring in driver.rings {
                w.write_bytes(ring.desc, &vec![0; (ring.end() - ring.desc) as usize]).unwrap();
            }
            w.write_u32(field::DRIVER_FEATURES, F_NS).unwrap();
            for index in 0..NUM {
                driver.descriptor(w, 0, index, POOL + index as u32 * 512, 512, DESC_F_WRITE);
                driver.offer(w, 0, index);
            }
            w.write_u8(field::STATUS, status).unwrap();
            driver
        }

        fn descriptor(&self, w: &mut impl Window, ring: usize, index: u16, offset: u32, len: u32, flags: u16) {
            let at = self.rings[ring].desc + DESCRIPTOR_SIZE * index as u32;
            w.write_u32(at, (REMOTE + offset as u64) as u32).unwrap();
            w.write_u32(at + 4, 0).unwrap();
            w.write_u32(at + 8, len).unwrap();
            w.write_u16(at + 12, flags).unwrap();
            w.write_u16(at + 14, 0).unwrap();
        }

        fn offer(&mut self, w: &mut impl Window, ring: usize, head: u16) {
            let r = self.rings[ring];
            w.write_u16(r.avail + 4 + 2 * (self.avail[ring] % NUM) as u32, head).unwrap();
            self.avail[ring] = self.avail[ring].wrapping_add(1);
            w.write_u16(r.avail + 2, self.avail[ring]).unwrap();
        }

        /// Sends `payload` to `dst` from transmit buffer `index`, whose
        /// descriptor says `len` bytes (the message's by default).
        fn send(&mut self, w: &mut impl Window, index: u16, dst: u32, payload: &[u8], len: Option<u32>) {
            let offset = POOL + (NUM + index) as u32 * 512;
            let header = Header { src: 0x400, dst, len: payload.len() as u16, flags: 0 };
            w.write_bytes(offset, &header.to_bytes()).unwrap();
            w.write_bytes(offset + HEADER_SIZE as u32, payload).unwrap();
            let len = len.unwrap_or((HEADER_SIZE + payload.len()) as u32);
            self.descriptor(w, 1, index, offset, len, 0);
            self.offer(w, 1, index);
        }

        /// The used entries `(id, len)` of `ring` since the last look.
        fn used(&mut self, w: &impl Window, ring: usize) -> Vec<(u32, u32)> {
            let r = self.rings[ring];
            let idx = w.read_u16(r.used + 2).unwrap();
            let mut entries = Vec::new();
            while self.used[ring] != idx {
                let slot = r.used + 4 + 8 * (self.used[ring] % NUM) as u32;
                entries.push((w.read_u32(slot).unwrap(), w.read_u32(slot + 4).unwrap()));
                self.used[ring] = self.used[ring].wrapping_add(1);
            }
            entries
        }
    }

    /// A started device and a driver attached to it, the device ready.
    fn ready(w: &mut impl Window) -> (RpmsgDevice, TestDriver) {
        let mut device = RpmsgDevice::new(LAYOUT);
        assert_eq!(device.start(w, false), Ok(None));
        let driver = TestDriver::attach(w, OK);
        assert_eq!(device.poll(w), Some(Event::Ready { features: F_NS }));
        (device, driver)
    }

    #[test]
    fn a_consumed_buffer_goes_back_with_the_chain_length() {
        let mut bytes = vec![0u8; SIZE as usize];
        let mut w = SliceWindow::new(&mut bytes);
        let (mut device, mut driver) = ready(&mut w);
        let mut buffer = [0u8; BUFFER_SIZE];
        // As Linux sends (the message's length) and as OpenAMP does (the
        // whole buffer), and one the device drops.
        for (index, payload, len) in [(0, &b"hello"[..], None), (1, b"world", Some(512)), (2, b"", Some(8))] {
            driver.send(&mut w, index, 1024, payload, len);
            device.receive(&mut w, &mut buffer).unwrap().unwrap();
            let expected = len.unwrap_or((HEADER_SIZE + payload.len()) as u32);
            assert_eq!(driver.used(&w, 1), [(index as u32, expected)], "buffer {index}");
        }
    }
}
