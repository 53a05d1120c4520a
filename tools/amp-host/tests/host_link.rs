//! The driver and the island's device on one window in host memory, stepped
//! by hand: the whole protocol without QEMU, including every hostile case.

use bulkhead_amp_host::LinkConfig;
use bulkhead_amp_host::driver::{Driver, Received};
use bulkhead_amp_host::hostile::Case;
use bulkhead_virtio::device::{Event, Incoming, ResetBy, RpmsgDevice, SendError, State};
use bulkhead_virtio::resource_table::{LinkLayout, VringSpec, status};
use bulkhead_virtio::rpmsg::{self, BUFFER_SIZE, NS_ADDR, NS_CREATE};
use bulkhead_virtio::window::MmioWindow;

const SIZE: u32 = 0x40000;
const LOCAL: u32 = 0x2000_0000;
const REMOTE: u64 = 0x8000_0000;
const TTY: u32 = 1024;
const ECHO: u32 = 1025;

/// A window both sides reach: one heap block behind two volatile views.
struct Memory {
    block: Vec<u64>,
}

impl Memory {
    fn new() -> Memory {
        Memory { block: vec![0; SIZE as usize / 8] }
    }

    fn window(&mut self) -> MmioWindow {
        // SAFETY: the block outlives every test's use of it and is 8-aligned;
        // the two views are used from one thread, through volatile accesses
        // on raw pointers only, as two processors would share it.
        unsafe { MmioWindow::new(self.block.as_mut_ptr().cast(), SIZE) }
    }
}

fn layout(driver_places: bool) -> LinkLayout {
    let da = |offset: u32| if driver_places { u32::MAX } else { LOCAL + offset };
    LinkLayout {
        local_base: LOCAL,
        size: SIZE,
        remote_base: REMOTE,
        table: 0,
        pool: 0x5000,
        vrings: [
            VringSpec { da: da(0x1000), align: 0x1000, num: 64 },
            VringSpec { da: da(0x3000), align: 0x1000, num: 64 },
        ],
        features: rpmsg::F_NS,
    }
}

fn config() -> LinkConfig {
    LinkConfig {
        name: "test".into(),
        local_base: LOCAL,
        remote_base: REMOTE,
        size: SIZE,
        table: 0,
        pool: 0x5000,
        file_offset: 0,
        doorbell_uart: 3,
        services: 2,
    }
}

/// The island's side, as `amp-island` does it (echo and a trivial tty).
struct Island {
    device: RpmsgDevice,
    window: MmioWindow,
    events: Vec<Event>,
    /// Reasons of dropped messages.
    dropped: Vec<&'static str>,
}

impl Island {
    fn step(&mut self) {
        for _ in 0..3 {
            let Some(event) = self.device.poll(&mut self.window) else { break };
            self.on(event);
        }
        let mut buffer = [0u8; BUFFER_SIZE];
        while self.device.can_send(&self.window) {
            match self.device.receive(&mut self.window, &mut buffer) {
                Ok(Some(Incoming::Message(header))) => {
                    let payload = rpmsg::payload(&buffer, &header).expect("a checked header fits its buffer").to_vec();
                    if let Err(SendError::Broken(fault)) =
                        self.device.send(&mut self.window, header.dst, header.src, &payload)
                    {
                        self.events.push(Event::Broken(fault));
                        break;
                    }
                }
                Ok(Some(Incoming::Dropped(error))) => self.dropped.push(error.reason()),
                Ok(None) => break,
                Err(fault) => {
                    self.events.push(Event::Broken(fault));
                    break;
                }
            }
        }
    }

    fn on(&mut self, event: Event) {
        if let Event::Ready { .. } = event {
            for (name, address) in [("rpmsg-tty", TTY), ("rpmsg-client-sample", ECHO)] {
                let message = rpmsg::name_service_message(name, address, NS_CREATE);
                self.device.send(&mut self.window, address, NS_ADDR, &message).expect("announce");
            }
        }
        self.events.push(event);
    }
}

fn start(memory: &mut Memory, driver_places: bool) -> (Island, Driver<MmioWindow>) {
    let mut island = Island {
        device: RpmsgDevice::new(layout(driver_places)),
        window: memory.window(),
        events: Vec::new(),
        dropped: Vec::new(),
    };
    assert_eq!(island.device.start(&mut island.window, false), Ok(None));
    let mut driver = Driver::attach(memory.window(), config()).expect("attach");
    island.step();
    assert!(matches!(island.events.last(), Some(Event::Ready { features: 1 })), "{:?}", island.events);
    let announced = driver.receive().unwrap();
    assert_eq!(
        announced,
        [
            Received::Announcement { name: "rpmsg-tty".into(), address: TTY, flags: NS_CREATE },
            Received::Announcement { name: "rpmsg-client-sample".into(), address: ECHO, flags: NS_CREATE },
        ]
    );
    (island, driver)
}

fn echo(island: &mut Island, driver: &mut Driver<MmioWindow>, payload: &[u8]) -> Vec<u8> {
    driver.send(2000, ECHO, payload).expect("send");
    island.step();
    match driver.receive().unwrap().as_slice() {
        [Received::Message { src: ECHO, dst: 2000, payload }] => payload.clone(),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn ten_thousand_messages_of_every_size_come_back_intact() {
    for driver_places in [false, true] {
        let mut memory = Memory::new();
        let (mut island, mut driver) = start(&mut memory, driver_places);
        for n in 0..10_000u32 {
            let size = 1 + (n as usize % rpmsg::MAX_PAYLOAD);
            let payload: Vec<u8> = (0..size).map(|i| (i as u32 * 31 + n) as u8).collect();
            assert_eq!(echo(&mut island, &mut driver, &payload), payload, "message {n}");
        }
        assert_eq!(island.device.stats().received, 10_000);
        assert_eq!(island.device.stats().sent, 10_002, "two announcements and the echoes");
    }
}

#[test]
fn batches_fill_the_ring_and_drain_in_order() {
    let mut memory = Memory::new();
    let (mut island, mut driver) = start(&mut memory, false);
    for round in 0..50u8 {
        let batch = driver.free_tx();
        assert_eq!(batch, 64, "round {round}: every buffer came back");
        for i in 0..batch {
            driver.send(2000, ECHO, &[round, i as u8]).unwrap();
        }
        assert!(driver.send(2000, ECHO, b"one too many").is_err(), "the pool is exhausted");
        island.step();
        let replies = driver.receive().unwrap();
        let expected: Vec<Received> =
            (0..batch).map(|i| Received::Message { src: ECHO, dst: 2000, payload: vec![round, i as u8] }).collect();
        assert_eq!(replies, expected);
    }
}

#[test]
fn the_driver_can_reset_and_handshake_again() {
    let mut memory = Memory::new();
    let (mut island, mut driver) = start(&mut memory, true);
    assert_eq!(echo(&mut island, &mut driver, b"before"), b"before");
    driver.reset().unwrap();
    island.step();
    assert_eq!(island.events.last(), Some(&Event::Reset(ResetBy::Status)));
    assert_eq!(island.device.state(), State::Waiting);
    // The table is pristine again: the driver places the rings anew.
    let mut driver = Driver::attach(driver.into_window(), config()).unwrap();
    island.step();
    assert!(matches!(island.events.last(), Some(Event::Ready { .. })));
    assert_eq!(driver.receive().unwrap().len(), 2, "services announced again");
    assert_eq!(echo(&mut island, &mut driver, b"after"), b"after");
    assert_eq!(island.device.stats().handshakes, 2);
}

#[test]
fn a_restarted_island_resumes_the_running_link() {
    let mut memory = Memory::new();
    let (mut island, mut driver) = start(&mut memory, false);
    assert_eq!(echo(&mut island, &mut driver, b"first life"), b"first life");
    // A message is waiting when the island dies and comes back.
    driver.send(2000, ECHO, b"in flight").unwrap();
    let mut reborn = Island {
        device: RpmsgDevice::new(layout(false)),
        window: memory.window(),
        events: Vec::new(),
        dropped: Vec::new(),
    };
    let event = reborn.device.start(&mut reborn.window, true).unwrap();
    assert!(matches!(event, Some(Event::Ready { .. })), "{event:?}");
    reborn.on(event.unwrap());
    reborn.step();
    let received = driver.receive().unwrap();
    assert_eq!(received.len(), 3, "two announcements again and the waiting echo: {received:?}");
    assert_eq!(received[2], Received::Message { src: ECHO, dst: 2000, payload: b"in flight".to_vec() });
    assert_eq!(echo(&mut reborn, &mut driver, b"second life"), b"second life");
}

#[test]
fn every_hostile_case_is_refused_and_the_link_recovers() {
    for case in Case::ALL {
        let mut memory = Memory::new();
        let (mut island, mut driver) = start(&mut memory, false);
        if case.at_handshake() {
            driver.reset().unwrap();
            island.step();
            driver = Driver::attach_custom(
                driver.into_window(),
                config(),
                |window, table| case.tamper_handshake(window, table),
                case.ready(),
            )
            .unwrap();
        } else {
            case.apply(&mut driver, ECHO).unwrap();
        }
        island.step();
        if case.breaks_link() {
            let reason = match island.events.last() {
                Some(Event::Broken(fault)) => fault.reason(),
                other => panic!("{case:?}: expected the link to break, got {other:?}"),
            };
            assert_eq!(reason, case.reason(), "{case:?}");
            assert_ne!(driver.status().unwrap() & status::NEEDS_RESET, 0, "{case:?}: NEEDS_RESET set");
            assert!(matches!(island.device.state(), State::Broken(_)));
            // Recovery: reset, handshake, echo.
            driver.reset().unwrap();
            island.step();
            assert_eq!(island.events.last(), Some(&Event::Reset(ResetBy::Status)), "{case:?}");
            driver = Driver::attach(driver.into_window(), config()).unwrap();
            island.step();
            assert_eq!(driver.receive().unwrap().len(), 2, "{case:?}: services announced again");
        } else {
            assert_eq!(island.device.state(), State::Ready, "{case:?}: the link stays up");
            assert_eq!(island.dropped.last(), Some(&case.reason()));
            let _ = driver.receive();
        }
        assert_eq!(echo(&mut island, &mut driver, b"still here"), b"still here", "{case:?}");
    }
}

/// A new driver over a link another left running, with no reset: the
/// OpenAMP way (DRIVER_OK over DRIVER_OK) and ours (0, ACKNOWLEDGE | DRIVER,
/// DRIVER_OK, none seen by the island), each after the old driver died
/// with a message posted.
#[test]
fn a_new_driver_starts_over_a_running_link_without_a_reset() {
    for openamp in [true, false] {
        let mut memory = Memory::new();
        let (mut island, mut driver) = start(&mut memory, false);
        for n in 0..70u8 {
            assert_eq!(echo(&mut island, &mut driver, &[n; 20]), [n; 20]);
        }
        driver.send(2000, ECHO, b"from the dead").unwrap();
        let window = driver.into_window();
        let mut driver = if openamp {
            Driver::attach_openamp(window, config()).unwrap()
        } else {
            Driver::attach(window, config()).unwrap()
        };
        island.step();
        assert!(
            matches!(island.events[island.events.len() - 2..], [Event::Reset(ResetBy::Rings), Event::Ready { .. }]),
            "{:?}",
            island.events
        );
        assert_eq!(driver.receive().unwrap().len(), 2, "openamp {openamp}: services announced again");
        assert_eq!(echo(&mut island, &mut driver, b"new life"), b"new life");
        assert_eq!(island.device.stats().handshakes, 2);
    }
}

/// What a driver did that the device can see: a status write or a kick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    Status(u8),
    Kick,
}

type Log = std::rc::Rc<std::cell::RefCell<Vec<Seen>>>;

/// The window, recording every write of the status byte.
struct Recording {
    inner: MmioWindow,
    log: Log,
}

impl bulkhead_virtio::window::Window for Recording {
    fn size(&self) -> u32 {
        self.inner.size()
    }
    fn read_u8(&self, offset: u32) -> Option<u8> {
        self.inner.read_u8(offset)
    }
    fn read_u16(&self, offset: u32) -> Option<u16> {
        self.inner.read_u16(offset)
    }
    fn read_u32(&self, offset: u32) -> Option<u32> {
        self.inner.read_u32(offset)
    }
    fn write_u8(&mut self, offset: u32, value: u8) -> Option<()> {
        if offset == config().table + bulkhead_virtio::resource_table::field::STATUS {
            self.log.borrow_mut().push(Seen::Status(value));
        }
        self.inner.write_u8(offset, value)
    }
    fn write_u16(&mut self, offset: u32, value: u16) -> Option<()> {
        self.inner.write_u16(offset, value)
    }
    fn write_u32(&mut self, offset: u32, value: u32) -> Option<()> {
        self.inner.write_u32(offset, value)
    }
    fn read_bytes(&self, offset: u32, into: &mut [u8]) -> Option<()> {
        self.inner.read_bytes(offset, into)
    }
    fn write_bytes(&mut self, offset: u32, from: &[u8]) -> Option<()> {
        self.inner.write_bytes(offset, from)
    }
    fn barrier(&self) {
        self.inner.barrier()
    }
}

/// The doorbell to an island in this process: a ring is recorded and wakes
/// the island at once; a wait lets it run.
struct Bell {
    island: Island,
    log: Log,
}

impl bulkhead_amp_host::link::Doorbell for Bell {
    fn ring(&mut self) -> anyhow::Result<()> {
        self.log.borrow_mut().push(Seen::Kick);
        self.island.step();
        Ok(())
    }
    fn wait(&mut self, _: std::time::Duration) -> anyhow::Result<bool> {
        self.island.step();
        Ok(true)
    }
}

/// The descriptor heads the driver published on vring 1, in order.
fn tx_heads(memory: &mut Memory, placement: bulkhead_amp_host::driver::Placement, count: u16) -> Vec<u16> {
    use bulkhead_virtio::window::Window;
    let window = memory.window();
    let ring = placement.rings[1];
    (0..count).map(|n| window.read_u16(ring.avail + 4 + 2 * (n % ring.num) as u32).unwrap()).collect()
}

/// Each personality, against the island's real device and a recording
/// window and doorbell: the status steps of attach, reset and re-attach,
/// the kicks per message, which buffer it sends from next, what it makes
/// of a used length of 0, and a death in the middle of a message. Each
/// expectation is what its source does (docs/virtio-link.md, "Driver
/// personalities"), and each differs from another personality's.
#[test]
fn each_personality_attaches_kicks_reuses_and_resets_as_its_source_does() {
    use Seen::{Kick, Status as S};
    use bulkhead_amp_host::driver::Personality::{self, Bulkhead, Linux, OpenAmp};
    use bulkhead_amp_host::host::Host;
    use bulkhead_virtio::window::Window;
    use status::{ACKNOWLEDGE as A, DRIVER as D, DRIVER_OK as OK};
    for personality in Personality::ALL {
        let name = personality.name();
        let mut memory = Memory::new();
        let log = Log::default();
        let mut island = Island {
            device: RpmsgDevice::new(layout(false)),
            window: memory.window(),
            events: Vec::new(),
            dropped: Vec::new(),
        };
        assert_eq!(island.device.start(&mut island.window, false), Ok(None));
        let window = Recording { inner: memory.window(), log: log.clone() };
        let bell = Bell { island, log: log.clone() };
        let mut host = Host::attach_as(window, config(), bell, personality).expect("attach");
        let take = |log: &Log| std::mem::take(&mut *log.borrow_mut());
        // Attach: the status steps, then a kick (and one per batch of
        // announcements taken in).
        let attach = match personality {
            Bulkhead => vec![S(0), S(A | D), S(A | D | OK), Kick, Kick],
            Linux => vec![S(0), S(A), S(A | D), S(A | D | OK), Kick, Kick],
            OpenAmp => vec![S(OK), Kick, Kick],
        };
        assert_eq!(take(&log), attach, "{name}: attach");

        // Three messages: a kick after each (Linux, OpenAMP) or one for the
        // batch (ours), then one for the batch of replies taken in.
        let payloads: Vec<Vec<u8>> = (0..3u8).map(|n| vec![n; 10 + n as usize]).collect();
        assert_eq!(host.exchange(ECHO, &payloads).unwrap(), payloads);
        let kicks = match personality {
            Bulkhead => 2,
            Linux | OpenAmp => 4,
        };
        assert_eq!(take(&log), vec![Kick; kicks], "{name}: kicks for three messages");
        // The island returned each buffer as soon as it was kicked (this
        // doorbell runs it at once): OpenAMP takes a returned buffer before
        // a fresh one, so sends all three from buffer 0; Linux takes every
        // fresh one first; ours sent the batch before ringing, three in
        // flight.
        let placement = host.driver().placement();
        let heads = tx_heads(&mut memory, placement, 3);
        let expected = if personality == OpenAmp { [0, 0, 0] } else { [0, 1, 2] };
        assert_eq!(heads, expected, "{name}: buffers sent from");
        // The descriptor's length: the message's (ours, Linux), or the
        // whole buffer (OpenAMP's `h2r_buf_size`).
        let desc_len = window_read_desc_len(&mut memory, placement, heads[2]);
        let want = if personality == OpenAmp { BUFFER_SIZE as u32 } else { 16 + 12 };
        assert_eq!(desc_len, want, "{name}: descriptor length");

        // Once every fresh buffer has gone out (64 here, one at a time),
        // Linux recycles in the order the device returned them (the oldest,
        // 0, then 1); ours takes the last returned (2, of the batch of
        // three, every time); OpenAMP still its one buffer.
        for n in 3..66u8 {
            assert_eq!(host.exchange(ECHO, &[vec![n]]).unwrap(), [vec![n]]);
        }
        take(&log);
        let wrapped = tx_heads(&mut memory, placement, 2);
        let expected = match personality {
            Bulkhead => [2, 2],
            Linux => [0, 1],
            OpenAmp => [0, 0],
        };
        assert_eq!(wrapped, expected, "{name}: buffers of messages 65 and 66");

        // Reset and re-attach.
        let window = host.reset().unwrap();
        let reset = match personality {
            Bulkhead => vec![S(0), Kick],
            Linux => vec![S(0), S(A)],
            OpenAmp => vec![],
        };
        assert_eq!(take(&log), reset, "{name}: reset");
        host.reattach_as(window, personality).unwrap();
        let reattach = match personality {
            Bulkhead => vec![S(0), S(A | D), S(A | D | OK), Kick, Kick],
            // Bound again after `virtio_dev_remove`: DRIVER, DRIVER_OK.
            Linux => vec![S(A | D), S(A | D | OK), Kick, Kick],
            OpenAmp => vec![S(OK), Kick, Kick],
        };
        assert_eq!(take(&log), reattach, "{name}: re-attach");
        assert_eq!(host.exchange(ECHO, &[b"after a reset".to_vec()]).unwrap(), [b"after a reset".to_vec()]);

        // Killed mid-message: posted, never kicked; a new driver starts over.
        take(&log);
        let window = host.die_mid_message(ECHO, b"never kicked").unwrap();
        assert_eq!(take(&log), vec![], "{name}: a dead driver rings nothing");
        host.reattach_as(window, personality).unwrap();
        assert_eq!(host.exchange(ECHO, &[b"after a death".to_vec()]).unwrap(), [b"after a death".to_vec()]);
        assert_eq!(host.doorbell.island.device.stats().handshakes, 3, "{name}");

        // A used length of 0 on a returned buffer (what the island wrote
        // before issue 9): OpenAMP sizes the buffer from it (0 - 16, compared
        // as signed) and posts a header of length 0xFFF0; the others ignore it.
        let placement = host.driver().placement();
        let ring = placement.rings[1];
        let mut raw = memory.window();
        let used = raw.read_u16(ring.used + 2).unwrap();
        raw.write_u32(ring.used + 4 + 8 * (used.wrapping_sub(1) % ring.num) as u32 + 4, 0).unwrap();
        // (OpenAMP takes that returned buffer next, before a fresh one.)
        host.driver().send(ME_TEST, ECHO, b"hello").unwrap();
        let avail = raw.read_u16(ring.avail + 2).unwrap();
        let head = raw.read_u16(ring.avail + 4 + 2 * (avail.wrapping_sub(1) % ring.num) as u32).unwrap();
        let address = raw.read_u32(ring.desc + 16 * head as u32).unwrap();
        let offset = (address as u64 - REMOTE) as u32;
        let header_len = raw.read_u16(offset + 12).unwrap();
        let want = if personality == OpenAmp { 0xFFF0 } else { 5 };
        assert_eq!(header_len, want, "{name}: header length after a used length of 0");
    }
}

const ME_TEST: u32 = 2000;

fn window_read_desc_len(memory: &mut Memory, placement: bulkhead_amp_host::driver::Placement, head: u16) -> u32 {
    use bulkhead_virtio::window::Window;
    memory.window().read_u32(placement.rings[1].desc + 16 * head as u32 + 8).unwrap()
}
