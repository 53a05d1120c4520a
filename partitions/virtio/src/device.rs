//! The rpmsg virtio device: handshake, both queues, and messages in and out.
//!
//! The island is the VIRTIO *device*; the Cortex-A is the driver. The driver
//! fills vring 0 with empty buffers for the device to write messages into
//! (device to driver) and posts its own messages on vring 1 (driver to
//! device). The device:
//!
//! 1. writes the resource table and waits for a ready status (by the one
//!    rule of [`crate::resource_table::driver_status`]);
//! 2. then checks what the driver wrote (features, ring addresses) and
//!    starts both queues: [`Event::Ready`], after which the application
//!    announces its services;
//! 3. on any ring, table or status error stops using the link, sets
//!    `NEEDS_RESET` and reports [`Event::Broken`] with the reason;
//! 4. when the driver resets or starts over ([`ResetBy`]: status 0, the
//!    handshake begun again, the rings re-initialised under DRIVER_OK, or
//!    DRIVER_OK written over `NEEDS_RESET`) drops both queues and reports
//!    [`Event::Reset`]; the next handshake follows, from queues at 0, with
//!    no step of the driver's beyond what Linux and OpenAMP do (the rule
//!    is in `docs/virtio-link.md`, "Re-attachment").
//!
//! Nothing here blocks or allocates; every call does a bounded amount of
//! work and every shared field it uses is read once.

use crate::resource_table::{DriverStatus, LinkLayout, TableError, driver_status, status};
use crate::rpmsg::{BUFFER_SIZE, HEADER_SIZE, Header, MAX_PAYLOAD, MessageError};

use crate::vring::{Chain, DeviceQueue, Freshness, RingError};
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
    /// A status byte out of the spec's sequence, or one with FAILED (see
    /// [`crate::resource_table::driver_status`]).
    Status(u8),
}

impl Fault {
    /// A short, stable reason for logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Fault::Ring(_, error) => error.reason(),
            Fault::Table(error) => error.reason(),
            Fault::ReadOnlyBufferForDevice => "read-only-buffer-on-vring0",
            Fault::Status(byte) if byte & status::FAILED != 0 => "driver-failed",
            Fault::Status(_) => "status-out-of-sequence",
        }
    }

    /// The queue concerned, if any.
    pub fn queue(&self) -> Option<Queue> {
        match self {
            Fault::Ring(queue, _) => Some(*queue),
            Fault::ReadOnlyBufferForDevice => Some(Queue::ToDriver),
            Fault::Table(_) | Fault::Status(_) => None,
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
    /// The driver reset the device, or started over: the link waits for
    /// a new handshake (which may come at the next [`RpmsgDevice::poll`]).
    /// Ring the doorbell so the driver knows it was seen.
    Reset(ResetBy),
    /// The driver broke a rule: `NEEDS_RESET` is set and the link is down.
    Broken(Fault),
}

/// How the driver reset the link or started over (see
/// `docs/virtio-link.md`, "Re-attachment").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResetBy {
    /// Status 0 (or `NEEDS_RESET` alone, OpenAMP's driver-side reset).
    Status,
    /// The status went back to a step before DRIVER_OK, which a driver
    /// reaches only through a reset the device did not see.
    Restart,
    /// A used index the device wrote reads 0 under an unchanged DRIVER_OK:
    /// a new driver zeroed the rings (OpenAMP's restart, or any driver
    /// whose reset and handshake came between two looks).
    Rings,
    /// The status was rewritten to DRIVER_OK over the device's
    /// `NEEDS_RESET` (OpenAMP's restart after a broken link).
    Rewritten,
}

impl ResetBy {
    /// For logs.
    pub fn describe(&self) -> &'static str {
        match self {
            ResetBy::Status => "status 0",
            ResetBy::Restart => "handshake started over",
            ResetBy::Rings => "rings re-initialised",
            ResetBy::Rewritten => "DRIVER_OK written over NEEDS_RESET",
        }
    }
}

/// The link's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting for `DRIVER_OK`.
    Waiting,
    /// Running.
    Ready,
    /// The driver started over under DRIVER_OK: the link opens again as
    /// soon as both rings look freshly set up (used index 0, available
    /// index at most `num`).
    Reattaching,
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
    /// The status byte the link was opened under (the hot path's look).
    ready_byte: u8,
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
            ready_byte: 0,
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
    /// it was if the driver still has it running (its status is
    /// [`DriverStatus::Ready`], the rule the handshake follows too):
    /// [`Event::Ready`] then comes at once, and services are announced
    /// again. Otherwise (first boot, or a link that was not running) it
    /// writes a fresh table.
    pub fn start(&mut self, window: &mut impl Window, resume: bool) -> Result<Option<Event>, TableError> {
        self.to_driver = None;
        self.from_driver = None;
        self.state = State::Waiting;
        if resume && driver_status(self.layout.status(window)?) == DriverStatus::Ready {
            return Ok(Some(match self.open(window, true) {
                Ok(features) => Event::Ready { features },
                Err(fault) => self.break_down(window, fault),
            }));
        }
        self.layout.write_table(window)?;
        Ok(None)
    }

    /// Looks at the status the driver wrote and, while running, whether a
    /// new driver re-initialised the rings; call on every doorbell (and
    /// whenever the application has time), again while it reports an
    /// event. Reports state changes.
    pub fn poll(&mut self, window: &mut impl Window) -> Option<Event> {
        let byte = match self.layout.status(window) {
            Ok(byte) => byte,
            Err(error) => return self.broken_once(window, Fault::Table(error)),
        };
        // Running under the status it opened with: the hot path.
        if byte == self.ready_byte && matches!(self.state, State::Ready) {
            return self.check_rings(window);
        }
        let status = driver_status(byte);
        if status == DriverStatus::Ready {
            self.ready_byte = byte;
        }
        match (self.state, status) {
            (State::Ready, DriverStatus::Ready) => self.check_rings(window),
            (State::Waiting, DriverStatus::Ready) => Some(match self.open(window, false) {
                Ok(features) => Event::Ready { features },
                Err(fault) => self.break_down(window, fault),
            }),
            (State::Reattaching, DriverStatus::Ready) => self.reattach(window),
            (State::Waiting, DriverStatus::Reset | DriverStatus::Initializing) => None,
            (State::Broken(_), DriverStatus::NeedsReset | DriverStatus::Failed | DriverStatus::OutOfSequence) => None,
            (_, DriverStatus::Reset) => {
                let event = self.stop(State::Waiting, ResetBy::Status);
                // A table the driver may have scribbled on is made whole
                // again, leaving what a driver attaching now may have written.
                if let Err(error) = self.layout.restore_table(window) {
                    return self.broken_once(window, Fault::Table(error));
                }
                Some(event)
            }
            (State::Reattaching, DriverStatus::Initializing) => {
                self.state = State::Waiting;
                None
            }
            (_, DriverStatus::Initializing) => Some(self.stop(State::Waiting, ResetBy::Restart)),
            (State::Broken(_), DriverStatus::Ready) => Some(self.stop(State::Reattaching, ResetBy::Rewritten)),
            (_, DriverStatus::NeedsReset | DriverStatus::Failed | DriverStatus::OutOfSequence) => {
                Some(self.break_down(window, Fault::Status(byte)))
            }
        }
    }

    /// While running: whether a new driver re-initialised the rings under
    /// DRIVER_OK. One read of a used index: every driver zeroes both rings
    /// when it (re)initialises them, so one ring whose used index the
    /// device moved is enough to see it: vring 0's, which the
    /// announcements move first; vring 1's while vring 0's is 0 (before
    /// any, or at a multiple of 65536). A queue both of whose indexes are 0
    /// is as a fresh one anyway.
    fn check_rings(&mut self, window: &impl Window) -> Option<Event> {
        let to_driver = self.to_driver.as_ref()?;
        if to_driver.keeps_used_index(window) {
            return None;
        }
        let watched = if to_driver.next_used() != 0 { Some(to_driver) } else { self.from_driver.as_ref() };
        if !watched.is_some_and(|queue| queue.reinitialised(window)) {
            return None;
        }
        Some(self.stop(State::Reattaching, ResetBy::Rings))
    }

    /// Whether the driver had posted more messages after the last one
    /// taken, as far as the device saw then (reads nothing). A loop over
    /// [`RpmsgDevice::receive`] can stop when this is false: the driver
    /// rings after it posts, which brings the device back.
    pub fn more_received(&self) -> bool {
        self.from_driver.as_ref().is_some_and(|queue| queue.more_available())
    }

    /// Drops both queues and goes to `state`.
    fn stop(&mut self, state: State, by: ResetBy) -> Event {
        self.to_driver = None;
        self.from_driver = None;
        self.state = state;
        Event::Reset(by)
    }

    /// Opens the link again once both rings look freshly set up; until
    /// then nothing (the driver is still at it). A ring whose used index
    /// is 0 with the available index more than `num` ahead is refused, as
    /// any jump.
    fn reattach(&mut self, window: &mut impl Window) -> Option<Event> {
        let rings = match self.layout.negotiated(window) {
            Ok((_, rings)) => rings,
            Err(error) => return Some(self.break_down(window, Fault::Table(error))),
        };
        // The rings were written before the status that says they are ready.
        window.barrier();
        for (queue, ring) in [(Queue::ToDriver, rings[0]), (Queue::FromDriver, rings[1])] {
            match ring.freshness(window) {
                Ok(Freshness::Fresh) => {}
                Ok(Freshness::Used) => return None,
                Err(error) => return Some(self.break_down(window, Fault::Ring(queue, error))),
            }
        }
        Some(match self.open(window, false) {
            Ok(features) => Event::Ready { features },
            Err(fault) => self.break_down(window, fault),
        })
    }

    fn open(&mut self, window: &impl Window, resume: bool) -> Result<u32, Fault> {
        let (features, rings) = self.layout.negotiated(window).map_err(Fault::Table)?;
        let map = self.layout.address_map(&rings);
        let [to_driver, from_driver] = rings;
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
        // The table's device fields are made whole at once (a refused ring
        // address the driver wrote over a device-placed one is put back),
        // so the next driver to attach reads the device's table. If even
        // that cannot be written, the table is outside the window: nothing
        // more to do than stop.
        let _ = self.layout.restore_table(window);
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
    /// [`crate::rpmsg::payload`]`(buffer, &header)`, never `None` for it),
    /// returning the driver's buffer to it.
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
mod tests_support {
    //! A driver written out by hand, for the device's tests.

    use super::*;
    use crate::resource_table::{VringSpec, field};
    use crate::rpmsg::F_NS;
    use crate::vring::{DESC_F_WRITE, DESCRIPTOR_SIZE, Vring};

    pub const SIZE: u32 = 0x10000;
    pub const LOCAL: u32 = 0x2000_0000;
    pub const REMOTE: u64 = 0x8000_0000;
    /// The driver's buffers: 8 to receive, then 8 to send.
    pub const POOL: u32 = 0x5000;
    pub const NUM: u16 = 8;
    pub const LAYOUT: LinkLayout = LinkLayout {
        local_base: LOCAL,
        size: SIZE,
        remote_base: REMOTE,
        table: 0,
        pool: POOL,
        vrings: [
            VringSpec { da: LOCAL + 0x1000, align: 0x1000, num: NUM },
            VringSpec { da: LOCAL + 0x3000, align: 0x1000, num: NUM },
        ],
        features: F_NS,
    };
    pub const OK: u8 = status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK;

    /// A driver written out by hand, byte by byte, for the device's tests.
    pub struct TestDriver {
        pub rings: [Vring; 2],
        avail: [u16; 2],
        used: [u16; 2],
    }

    impl TestDriver {
        /// Attaches the way `virtio_rpmsg_bus` does, ending with `status`:
        /// features, zeroed rings, every receive buffer posted.
        pub fn attach(w: &mut impl Window, status: u8) -> TestDriver {
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

        pub fn descriptor(&self, w: &mut impl Window, ring: usize, index: u16, offset: u32, len: u32, flags: u16) {
            let at = self.rings[ring].desc + DESCRIPTOR_SIZE * index as u32;
            w.write_u32(at, (REMOTE + offset as u64) as u32).unwrap();
            w.write_u32(at + 4, 0).unwrap();
            w.write_u32(at + 8, len).unwrap();
            w.write_u16(at + 12, flags).unwrap();
            w.write_u16(at + 14, 0).unwrap();
        }

        pub fn offer(&mut self, w: &mut impl Window, ring: usize, head: u16) {
            let r = self.rings[ring];
            w.write_u16(r.avail + 4 + 2 * (self.avail[ring] % NUM) as u32, head).unwrap();
            self.avail[ring] = self.avail[ring].wrapping_add(1);
            w.write_u16(r.avail + 2, self.avail[ring]).unwrap();
        }

        /// Sends `payload` to `dst` from transmit buffer `index`, whose
        /// descriptor says `len` bytes (the message's by default).
        pub fn send(&mut self, w: &mut impl Window, index: u16, dst: u32, payload: &[u8], len: Option<u32>) {
            let offset = POOL + (NUM + index) as u32 * 512;
            let header = Header { src: 0x400, dst, len: payload.len() as u16, flags: 0 };
            w.write_bytes(offset, &header.to_bytes()).unwrap();
            w.write_bytes(offset + HEADER_SIZE as u32, payload).unwrap();
            let len = len.unwrap_or((HEADER_SIZE + payload.len()) as u32);
            self.descriptor(w, 1, index, offset, len, 0);
            self.offer(w, 1, index);
        }

        /// The used entries `(id, len)` of `ring` since the last look.
        pub fn used(&mut self, w: &impl Window, ring: usize) -> Vec<(u32, u32)> {
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
    pub fn ready(w: &mut impl Window) -> (RpmsgDevice, TestDriver) {
        let mut device = RpmsgDevice::new(LAYOUT);
        assert_eq!(device.start(w, false), Ok(None));
        let driver = TestDriver::attach(w, OK);
        assert_eq!(device.poll(w), Some(Event::Ready { features: F_NS }));
        (device, driver)
    }

    /// The same driver over rings already set up (to go on after another
    /// attach wrote them), with its indexes where they are in the window.
    pub fn attach_rings_only(w: &impl Window) -> TestDriver {
        let ring = |n: usize| Vring::at(LAYOUT.vrings[n].da - LOCAL, NUM, 0x1000, SIZE).unwrap();
        let rings = [ring(0), ring(1)];
        let index = |at: u32| w.read_u16(at).unwrap_or(0);
        TestDriver {
            rings,
            avail: [index(rings[0].avail + 2), index(rings[1].avail + 2)],
            used: [index(rings[0].used + 2), index(rings[1].used + 2)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::*;
    use super::*;
    use crate::window::SliceWindow;

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

#[cfg(test)]
mod reattach_tests {
    //! The status rule, re-attachment without a reset step, and the hostile
    //! cases that must still be refused.

    use super::tests_support::*;
    use super::*;
    use crate::resource_table::{DriverStatus, driver_status, field};
    use crate::rpmsg::F_NS;
    use crate::window::SliceWindow;

    #[test]
    fn the_status_rule_follows_the_spec_sequence() {
        use status::*;
        let cases = [
            (0, DriverStatus::Reset),
            (NEEDS_RESET, DriverStatus::Reset),
            (ACKNOWLEDGE, DriverStatus::Initializing),
            (ACKNOWLEDGE | DRIVER, DriverStatus::Initializing),
            (ACKNOWLEDGE | DRIVER | FEATURES_OK, DriverStatus::Initializing),
            (ACKNOWLEDGE | DRIVER | DRIVER_OK, DriverStatus::Ready),
            (ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK, DriverStatus::Ready),
            (DRIVER_OK, DriverStatus::Ready),
            (ACKNOWLEDGE | DRIVER | DRIVER_OK | NEEDS_RESET, DriverStatus::NeedsReset),
            (FAILED | DRIVER_OK, DriverStatus::Failed),
            (FAILED | ACKNOWLEDGE | DRIVER | DRIVER_OK, DriverStatus::Failed),
            (FAILED, DriverStatus::Failed),
            (DRIVER, DriverStatus::OutOfSequence),
            (DRIVER | DRIVER_OK, DriverStatus::OutOfSequence),
            (ACKNOWLEDGE | DRIVER_OK, DriverStatus::OutOfSequence),
            (FEATURES_OK | DRIVER_OK, DriverStatus::OutOfSequence),
            (ACKNOWLEDGE | DRIVER | DRIVER_OK | 0x10, DriverStatus::OutOfSequence),
        ];
        for (byte, expected) in cases {
            assert_eq!(driver_status(byte), expected, "{byte:#04x}");
        }
    }

    /// The handshake and the resume after a restart take the same bytes.
    #[test]
    fn handshake_and_resume_agree_on_every_status() {
        for byte in 0..=255u8 {
            let ready = driver_status(byte) == DriverStatus::Ready;
            // A fresh handshake.
            let mut bytes = vec![0u8; SIZE as usize];
            let mut w = SliceWindow::new(&mut bytes);
            let mut device = RpmsgDevice::new(LAYOUT);
            device.start(&mut w, false).unwrap();
            TestDriver::attach(&mut w, byte);
            let fresh = matches!(device.poll(&mut w), Some(Event::Ready { .. }));
            // A restarted device over a link the driver left with `byte`.
            let mut again = RpmsgDevice::new(LAYOUT);
            let resumed = matches!(again.start(&mut w, true), Ok(Some(Event::Ready { .. })));
            assert_eq!((fresh, resumed), (ready, ready), "{byte:#04x}");
            // What is not ready and not a step of the sequence is refused.
            if matches!(driver_status(byte), DriverStatus::Failed | DriverStatus::OutOfSequence) {
                assert!(matches!(device.state(), State::Broken(Fault::Status(b)) if b == byte), "{byte:#04x}");
            }
        }
    }

    #[test]
    fn failed_while_running_takes_the_link_down() {
        let mut bytes = vec![0u8; SIZE as usize];
        let mut w = SliceWindow::new(&mut bytes);
        let (mut device, _driver) = ready(&mut w);
        w.write_u8(field::STATUS, OK | status::FAILED).unwrap();
        let event = device.poll(&mut w);
        assert_eq!(event, Some(Event::Broken(Fault::Status(OK | status::FAILED))));
        assert_eq!(event.map(|_| Fault::Status(OK | status::FAILED).reason()), Some("driver-failed"));
        assert_ne!(w.read_u8(field::STATUS).unwrap() & status::NEEDS_RESET, 0);
    }

    /// Sends an echo-sized message and has the device take it and answer,
    /// as the island does.
    fn exchange(device: &mut RpmsgDevice, w: &mut impl Window, driver: &mut TestDriver, index: u16) {
        driver.send(w, index, 1025, b"ping", None);
        let mut buffer = [0u8; BUFFER_SIZE];
        let Some(Incoming::Message(header)) = device.receive(w, &mut buffer).unwrap() else { panic!("no message") };
        device.send(w, header.dst, header.src, crate::rpmsg::payload(&buffer, &header).unwrap()).unwrap();
    }

    /// A running link with traffic on both rings.
    fn running(w: &mut impl Window) -> (RpmsgDevice, TestDriver) {
        let (mut device, mut driver) = ready(w);
        for index in 0..3 {
            exchange(&mut device, w, &mut driver, index);
        }
        assert_eq!(driver.used(w, 0).len(), 3);
        assert_eq!(driver.used(w, 1).len(), 3);
        (device, driver)
    }

    /// Polls as the island does after a doorbell: again while events come.
    fn settle(device: &mut RpmsgDevice, w: &mut impl Window) -> Vec<Event> {
        let mut events = Vec::new();
        while let Some(event) = device.poll(w) {
            events.push(event);
            assert!(events.len() < 4, "{events:?}");
        }
        events
    }

    /// After a re-attachment both queues start from zero: the next message
    /// and its answer are the first entries of the new rings.
    fn starts_from_zero(device: &mut RpmsgDevice, w: &mut impl Window, driver: &mut TestDriver) {
        exchange(device, w, driver, 0);
        assert_eq!(driver.used(w, 1), [(0, 20)], "vring 1 from slot 0");
        let answered = driver.used(w, 0);
        assert_eq!(answered.len(), 1);
        assert_eq!(w.read_u16(driver.rings[0].used + 2), Some(1), "vring 0's used index from 0");
        assert_eq!(device.stats().handshakes, 2);
    }

    /// The island stops taking messages when the available index showed
    /// no more; one posted later is there at the next look.
    #[test]
    fn more_received_says_whether_the_available_index_showed_more() {
        let mut bytes = vec![0u8; SIZE as usize];
        let mut w = SliceWindow::new(&mut bytes);
        let (mut device, mut driver) = ready(&mut w);
        let mut buffer = [0u8; BUFFER_SIZE];
        driver.send(&mut w, 0, 1025, b"one", None);
        driver.send(&mut w, 1, 1025, b"two", None);
        assert!(matches!(device.receive(&mut w, &mut buffer), Ok(Some(Incoming::Message(_)))));
        assert!(device.more_received());
        assert!(matches!(device.receive(&mut w, &mut buffer), Ok(Some(Incoming::Message(_)))));
        assert!(!device.more_received());
        driver.send(&mut w, 2, 1025, b"three", None);
        assert!(!device.more_received(), "reads nothing");
        assert!(matches!(device.receive(&mut w, &mut buffer), Ok(Some(Incoming::Message(_)))));
    }

    #[test]
    fn a_linux_reset_without_a_kick_then_a_new_handshake_is_taken() {
        let mut bytes = vec![0u8; SIZE as usize];
        let mut w = SliceWindow::new(&mut bytes);
        let (mut device, _) = running(&mut w);
        // Status 0, no kick; the island looks only after the driver has
        // gone through ACKNOWLEDGE, DRIVER, zeroed and set up its rings and
        // set DRIVER_OK again.
        w.write_u8(field::STATUS, 0).unwrap();
        w.write_u8(field::STATUS, status::ACKNOWLEDGE).unwrap();
        let mut driver = TestDriver::attach(&mut w, OK);
        assert_eq!(settle(&mut device, &mut w), [Event::Reset(ResetBy::Rings), Event::Ready { features: F_NS }]);
        starts_from_zero(&mut device, &mut w, &mut driver);
    }

    #[test]
    fn a_handshake_seen_half_way_is_taken() {
        for seen in [0, status::ACKNOWLEDGE, status::ACKNOWLEDGE | status::DRIVER] {
            let mut bytes = vec![0u8; SIZE as usize];
            let mut w = SliceWindow::new(&mut bytes);
            let (mut device, _) = running(&mut w);
            w.write_u8(field::STATUS, seen).unwrap();
            let by = if seen == 0 { ResetBy::Status } else { ResetBy::Restart };
            assert_eq!(settle(&mut device, &mut w), [Event::Reset(by)], "{seen}");
            let mut driver = TestDriver::attach(&mut w, OK);
            assert_eq!(settle(&mut device, &mut w), [Event::Ready { features: F_NS }], "{seen}");
            starts_from_zero(&mut device, &mut w, &mut driver);
        }
    }

    /// OpenAMP's driver never writes 0: a new one zeroes the rings, posts
    /// its buffers and writes DRIVER_OK (4) over the old DRIVER_OK.
    #[test]
    fn an_openamp_restart_is_taken_whenever_the_island_looks() {
        let openamp = status::DRIVER_OK;
        for look in 0..4 {
            let mut bytes = vec![0u8; SIZE as usize];
            let mut w = SliceWindow::new(&mut bytes);
            let mut device = RpmsgDevice::new(LAYOUT);
            device.start(&mut w, false).unwrap();
            TestDriver::attach(&mut w, openamp);
            assert!(matches!(device.poll(&mut w), Some(Event::Ready { .. })));
            let mut old = attach_rings_only(&w);
            for index in 0..3 {
                exchange(&mut device, &mut w, &mut old, index);
            }
            // The new driver, step by step; the island looks after step `look`.
            let ring = |n: usize| old.rings[n];
            let zero = |w: &mut SliceWindow, n: usize| {
                let r = ring(n);
                w.write_bytes(r.desc, &vec![0; (r.end() - r.desc) as usize]).unwrap();
            };
            let mut events = Vec::new();
            zero(&mut w, 0);
            if look == 0 {
                events.extend(settle(&mut device, &mut w));
                assert_eq!(events, [Event::Reset(ResetBy::Rings)], "vring 1 not zeroed yet: wait");
            }
            zero(&mut w, 1);
            if look == 1 {
                events.extend(settle(&mut device, &mut w));
            }
            let mut new = TestDriver::attach(&mut w, openamp);
            if look == 2 {
                events.extend(settle(&mut device, &mut w));
            }
            events.extend(settle(&mut device, &mut w));
            assert!(!events.iter().any(|e| matches!(e, Event::Broken(_))), "look {look}: {events:?}");
            assert_eq!(events.first(), Some(&Event::Reset(ResetBy::Rings)), "look {look}");
            assert!(events.contains(&Event::Ready { features: F_NS }), "look {look}: {events:?}");
            assert_eq!(device.state(), State::Ready);
            starts_from_zero(&mut device, &mut w, &mut new);
        }
    }

    #[test]
    fn a_driver_that_died_mid_message_and_a_new_one() {
        let mut bytes = vec![0u8; SIZE as usize];
        let mut w = SliceWindow::new(&mut bytes);
        let (mut device, mut old) = running(&mut w);
        // The old driver posted a message and died before the island took
        // it; a new one starts over the same table without a reset.
        old.send(&mut w, 5, 1025, b"from the dead", None);
        let mut new = TestDriver::attach(&mut w, OK);
        let events = settle(&mut device, &mut w);
        assert_eq!(events, [Event::Reset(ResetBy::Rings), Event::Ready { features: F_NS }]);
        let mut buffer = [0u8; BUFFER_SIZE];
        assert_eq!(device.receive(&mut w, &mut buffer), Ok(None), "the dead driver's message went with its ring");
        starts_from_zero(&mut device, &mut w, &mut new);
    }

    #[test]
    fn an_openamp_restart_after_needs_reset_is_taken() {
        let mut bytes = vec![0u8; SIZE as usize];
        let mut w = SliceWindow::new(&mut bytes);
        let (mut device, driver) = running(&mut w);
        // The link breaks (a jump); OpenAMP never reads NEEDS_RESET.
        w.write_u16(driver.rings[1].avail + 2, 100).unwrap();
        let mut buffer = [0u8; BUFFER_SIZE];
        assert!(device.receive(&mut w, &mut buffer).is_err());
        assert!(matches!(device.state(), State::Broken(_)));
        let mut new = TestDriver::attach(&mut w, status::DRIVER_OK);
        let events = settle(&mut device, &mut w);
        assert_eq!(events, [Event::Reset(ResetBy::Rewritten), Event::Ready { features: F_NS }]);
        starts_from_zero(&mut device, &mut w, &mut new);
    }

    /// The hostile rules stay: a jump is refused whether or not the used
    /// index was rewritten, and a used index rewritten to anything but 0
    /// is ignored as before.
    #[test]
    fn a_jump_is_still_refused() {
        // A plain jump.
        let mut bytes = vec![0u8; SIZE as usize];
        let mut w = SliceWindow::new(&mut bytes);
        let (mut device, driver) = running(&mut w);
        w.write_u16(driver.rings[1].avail + 2, 3 + NUM + 1).unwrap();
        assert_eq!(device.poll(&mut w), None);
        let mut buffer = [0u8; BUFFER_SIZE];
        assert_eq!(
            device.receive(&mut w, &mut buffer),
            Err(Fault::Ring(Queue::FromDriver, RingError::AvailIndexJump { avail: 3 + NUM + 1, seen: 3 }))
        );

        // Used indexes zeroed, as a re-attach would, with a jump.
        let mut bytes = vec![0u8; SIZE as usize];
        let mut w = SliceWindow::new(&mut bytes);
        let (mut device, driver) = running(&mut w);
        for ring in driver.rings {
            w.write_u16(ring.used + 2, 0).unwrap();
        }
        w.write_u16(driver.rings[1].avail + 2, NUM + 1).unwrap();
        let events = settle(&mut device, &mut w);
        assert_eq!(
            events,
            [
                Event::Reset(ResetBy::Rings),
                Event::Broken(Fault::Ring(Queue::FromDriver, RingError::AvailIndexJump { avail: NUM + 1, seen: 0 }))
            ]
        );
        assert_ne!(w.read_u8(field::STATUS).unwrap() & status::NEEDS_RESET, 0);

        // A used index scribbled to something else: ignored.
        let mut bytes = vec![0u8; SIZE as usize];
        let mut w = SliceWindow::new(&mut bytes);
        let (mut device, mut driver) = running(&mut w);
        w.write_u16(driver.rings[0].used + 2, 0x1234).unwrap();
        assert_eq!(device.poll(&mut w), None);
        exchange(&mut device, &mut w, &mut driver, 3);
        assert_eq!(driver.used(&w, 1), [(3, 20)]);
    }

    /// A driver attaching right after a refused table (no reset the
    /// island saw in between) reads the device's own fields again.
    #[test]
    fn a_refused_table_is_made_whole_at_once() {
        let mut bytes = vec![0u8; SIZE as usize];
        let mut w = SliceWindow::new(&mut bytes);
        let mut device = RpmsgDevice::new(LAYOUT);
        device.start(&mut w, false).unwrap();
        TestDriver::attach(&mut w, OK);
        w.write_u32(field::vring_da(1), 0x1000_0000).unwrap();
        assert!(matches!(device.poll(&mut w), Some(Event::Broken(Fault::Table(_)))));
        assert_eq!(w.read_u32(field::vring_da(1)), Some(LAYOUT.vrings[1].da));
    }

    /// Every buffer lies in the buffer area, never over the table or a
    /// ring, whichever side placed the rings.
    #[test]
    fn buffers_outside_the_buffer_area_are_refused() {
        let table = 0u32;
        let vring0_used = 0x1000 + 16 * NUM as u32 + 6 + 2 * NUM as u32;
        for (what, offset, ring) in
            [("table", table, 1), ("vring 1", 0x3000, 1), ("before the pool", 0x4800, 1), ("vring 0", vring0_used, 0)]
        {
            let mut bytes = vec![0u8; SIZE as usize];
            let mut w = SliceWindow::new(&mut bytes);
            let (mut device, mut driver) = ready(&mut w);
            let mut buffer = [0u8; BUFFER_SIZE];
            let error = if ring == 1 {
                driver.descriptor(&mut w, 1, 0, offset, 32, 0);
                driver.offer(&mut w, 1, 0);
                device.receive(&mut w, &mut buffer).unwrap_err()
            } else {
                // Receive buffers over vring 0's used ring: the reply would
                // land in the island's own ring.
                for index in 0..NUM {
                    driver.descriptor(&mut w, 0, index, offset, 64, crate::vring::DESC_F_WRITE);
                }
                match device.send(&mut w, 1025, 0x400, b"reply") {
                    Err(SendError::Broken(fault)) => fault,
                    other => panic!("{what}: {other:?}"),
                }
            };
            assert_eq!(error.reason(), "buffer-outside-buffer-area", "{what}: {error:?}");
        }
    }
}

#[cfg(test)]
mod race_tests {
    //! A driver that rewrites fields while the device works on them: every
    //! shared byte is read at most once per message, and whatever moment a
    //! field changes at, the outcome is one the first or the second value
    //! gives, never a mix (the unexplained empty echoes of issue 9).

    use super::tests_support::*;
    use super::*;
    use crate::vring::{DESCRIPTOR_SIZE, Vring};
    use core::cell::{Cell, RefCell};

    fn quiet(_: usize, _: &mut [u8]) {}

    /// Shared memory whose other side acts between any two accesses: before
    /// access number `n` (counting every read and write), `hook(n, bytes)`
    /// runs; and every byte read is counted.
    struct RaceWindow<'a> {
        bytes: RefCell<Vec<u8>>,
        reads: RefCell<Vec<u32>>,
        accesses: Cell<usize>,
        hook: &'a dyn Fn(usize, &mut [u8]),
    }

    impl RaceWindow<'_> {
        fn access(&self, offset: u32, len: usize, align: u32, read: bool) -> Option<core::ops::Range<usize>> {
            if !crate::window::span_ok(SIZE, offset, len as u32, align) {
                return None;
            }
            let n = self.accesses.get();
            self.accesses.set(n + 1);
            (self.hook)(n, &mut self.bytes.borrow_mut());
            let range = offset as usize..offset as usize + len;
            if read {
                for count in &mut self.reads.borrow_mut()[range.clone()] {
                    *count += 1;
                }
            }
            Some(range)
        }

        fn read<const N: usize>(&self, offset: u32) -> Option<[u8; N]> {
            let range = self.access(offset, N, N as u32, true)?;
            self.bytes.borrow()[range].try_into().ok()
        }

        fn write(&mut self, offset: u32, from: &[u8], align: u32) -> Option<()> {
            let range = self.access(offset, from.len(), align, false)?;
            self.bytes.borrow_mut()[range].copy_from_slice(from);
            Some(())
        }
    }

    impl Window for RaceWindow<'_> {
        fn size(&self) -> u32 {
            SIZE
        }
        fn read_u8(&self, offset: u32) -> Option<u8> {
            self.read::<1>(offset).map(u8::from_le_bytes)
        }
        fn read_u16(&self, offset: u32) -> Option<u16> {
            self.read::<2>(offset).map(u16::from_le_bytes)
        }
        fn read_u32(&self, offset: u32) -> Option<u32> {
            self.read::<4>(offset).map(u32::from_le_bytes)
        }
        fn write_u8(&mut self, offset: u32, value: u8) -> Option<()> {
            self.write(offset, &[value], 1)
        }
        fn write_u16(&mut self, offset: u32, value: u16) -> Option<()> {
            self.write(offset, &value.to_le_bytes(), 2)
        }
        fn write_u32(&mut self, offset: u32, value: u32) -> Option<()> {
            self.write(offset, &value.to_le_bytes(), 4)
        }
        fn read_bytes(&self, offset: u32, into: &mut [u8]) -> Option<()> {
            let range = self.access(offset, into.len(), 1, true)?;
            into.copy_from_slice(&self.bytes.borrow()[range]);
            Some(())
        }
        fn write_bytes(&mut self, offset: u32, from: &[u8]) -> Option<()> {
            self.write(offset, from, 1)
        }
        fn barrier(&self) {}
    }

    /// The message: 16 bytes from transmit buffer 0.
    const PAYLOAD: &[u8; 16] = b"sixteen bytes ok";

    /// What one echo round came to.
    #[derive(Debug, PartialEq, Eq)]
    enum Outcome {
        /// Echoed, with this payload.
        Echo(Vec<u8>),
        /// Dropped, for this reason.
        Dropped(&'static str),
        /// The link went down, for this reason.
        Broken(&'static str),
    }

    /// Sets up a ready link with one message posted, then runs the island's
    /// receive and echo with `hook` acting between accesses; returns the
    /// outcome, the window, and how many accesses the round took.
    fn round(hook: &dyn Fn(usize, &mut [u8])) -> (Outcome, RaceWindow<'_>, usize) {
        let mut w = RaceWindow {
            bytes: RefCell::new(vec![0; SIZE as usize]),
            reads: RefCell::new(vec![0; SIZE as usize]),
            accesses: Cell::new(0),
            hook: &quiet,
        };
        let (mut device, mut driver) = ready(&mut w);
        driver.send(&mut w, 0, 1025, PAYLOAD, None);
        w.reads.borrow_mut().fill(0);
        w.accesses.set(0);
        w.hook = hook;
        let mut buffer = [0u8; BUFFER_SIZE];
        let outcome = match device.receive(&mut w, &mut buffer) {
            Ok(Some(Incoming::Message(header))) => {
                // A header that no longer fits its buffer would be an empty
                // echo if the payload were taken as empty.
                let payload = crate::rpmsg::payload(&buffer, &header).unwrap_or(&[]);
                match device.send(&mut w, header.dst, header.src, payload) {
                    Ok(()) => {
                        w.hook = &quiet;
                        let (id, len) = driver.used(&w, 0)[0];
                        let mut reply = vec![0u8; len as usize];
                        w.read_bytes(POOL + id * 512, &mut reply).unwrap();
                        let header = Header::parse(&reply, len).unwrap();
                        Outcome::Echo(crate::rpmsg::payload(&reply, &header).unwrap().to_vec())
                    }
                    Err(SendError::Broken(fault)) => Outcome::Broken(fault.reason()),
                    Err(error) => panic!("{error:?}"),
                }
            }
            Ok(Some(Incoming::Dropped(error))) => Outcome::Dropped(error.reason()),
            Ok(None) => panic!("no message"),
            Err(fault) => Outcome::Broken(fault.reason()),
        };
        let accesses = w.accesses.get();
        w.hook = &quiet;
        (outcome, w, accesses)
    }

    const TX0: usize = (POOL + NUM as u32 * 512) as usize;

    #[test]
    fn every_byte_the_driver_wrote_is_read_at_most_once() {
        let (outcome, w, _) = round(&|_, _| {});
        assert_eq!(outcome, Outcome::Echo(PAYLOAD.to_vec()));
        let reads = w.reads.borrow();
        let ring = |n: usize| Vring::at(LAYOUT.vrings[n].da - LOCAL, NUM, 0x1000, SIZE).unwrap();
        let descriptor = |n: usize, index: u32| {
            let at = (ring(n).desc + DESCRIPTOR_SIZE * index) as usize;
            at..at + 16
        };
        let fields = [
            ("the message", TX0..TX0 + 32),
            ("its descriptor", descriptor(1, 0)),
            ("its ring entry", ring(1).avail as usize + 4..ring(1).avail as usize + 6),
            ("the reply buffer's descriptor", descriptor(0, 0)),
            ("the reply's ring entry", ring(0).avail as usize + 4..ring(0).avail as usize + 6),
            ("vring 1's available index", ring(1).avail as usize + 2..ring(1).avail as usize + 4),
        ];
        for (what, range) in fields {
            for at in range {
                assert!(reads[at] <= 1, "{what}: byte {at:#x} read {} times", reads[at]);
            }
        }
        assert_eq!(reads[TX0 + 12], 1, "the length was read");
    }

    /// A field flipped between two values at every moment of the round (and
    /// back and forth on every access after): the outcome is always what
    /// one of the two values gives on its own.
    fn flip_everywhere(field: usize, width: usize, values: [u32; 2], allowed: &[Outcome]) {
        let (_, _, accesses) = round(&|_, _| {});
        for from in 0..=accesses {
            for alternate in [false, true] {
                let hook = |n: usize, bytes: &mut [u8]| {
                    if n >= from {
                        let value = if alternate { values[(n - from) % 2] } else { values[1] };
                        bytes[field..field + width].copy_from_slice(&value.to_le_bytes()[..width]);
                    }
                };
                let (outcome, _, _) = round(&hook);
                assert!(allowed.contains(&outcome), "flip from access {from} (alternate {alternate}): {outcome:?}");
            }
        }
    }

    #[test]
    fn a_length_flipped_at_any_moment_echoes_or_drops_never_empties() {
        flip_everywhere(
            TX0 + 12,
            2,
            [16, 0xFFFF],
            &[Outcome::Echo(PAYLOAD.to_vec()), Outcome::Dropped("message-length-beyond-buffer")],
        );
    }

    #[test]
    fn a_descriptor_flipped_at_any_moment_echoes_or_is_refused() {
        let desc = (LAYOUT.vrings[1].da - LOCAL) as usize;
        // The buffer's address: the message's, or the table's.
        flip_everywhere(
            desc,
            4,
            [REMOTE as u32 + TX0 as u32, REMOTE as u32],
            &[Outcome::Echo(PAYLOAD.to_vec()), Outcome::Broken("buffer-outside-buffer-area")],
        );
        // Its length: the message's, or one past the window.
        flip_everywhere(
            desc + 8,
            4,
            [32, SIZE],
            &[Outcome::Echo(PAYLOAD.to_vec()), Outcome::Broken("buffer-outside-window")],
        );
    }
}
