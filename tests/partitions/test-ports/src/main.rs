//! Test partition: the ports of `tests/systems/ports.toml`, each role chosen
//! by the partition's name.
//!
//! - `sensor` writes sampling channel `speed` without pause for its whole
//!   window (so its window ends at every point of a write, frame after
//!   frame) and, at the start of each window, queues two messages on
//!   `events` and notifies its readers.
//! - `control` (same core) reads `speed` once per window (the writer was
//!   just preempted somewhere in a write) and drains `events`.
//! - `logger` (the other core) reads `speed` for its whole window while the
//!   writer writes, takes one `events` message per window (so its queue
//!   overflows), and counts its notify interrupts.
//! - `rogue` reads both channels but never drains `events`; each window it
//!   tries what a reader must not do (ack for others, bad counts, notify,
//!   an unknown channel), and every fourth window it stores into `speed`'s
//!   window, which must fault (it is restarted).
//!
//! - `c-control` and `c-logger` (`tests/systems/c-ports.toml`) are
//!   `control` and `logger` for the channels `c-speed` and `c-events`,
//!   which a C partition writes; there `sensor` writes `speed` and `events`
//!   for the C partition to read.
//!
//! Every value carries its own number in a pattern a reader checks byte by
//! byte: a torn value cannot go unnoticed.
//!
//! Output lines (one per window, or per 4 for the busy ones):
//! `sensor window=W written=N events=E full=F`,
//! `reader NAME window=W reads=R raced=X empty=Y torn=T last=N stale=S` and
//! `queue NAME window=W events=E missed=M overflows=O bad=B notified=I`,
//! `rogue ...` with each refused call's error name.

#![no_std]
#![no_main]

use bulkhead_sdk::abi::Error;
use bulkhead_sdk::gic::{self, arm_gic::Trigger};
use bulkhead_sdk::port::{QueueReceiver, QueueSender, ReadError, SamplingReader, SamplingWriter, TakeError};
use bulkhead_sdk::{entry, hypercall, layout, println};
use core::sync::atomic::{AtomicU32, Ordering};

/// Bytes of a `speed` value and of an `events` message.
const SPEED_BYTES: usize = 64;
const EVENT_BYTES: usize = 16;

/// Notify interrupts taken (the logger's).
static NOTIFIED: AtomicU32 = AtomicU32::new(0);

#[aarch32_rt::irq]
fn irq_handler() {
    while let Some(intid) = gic::acknowledge() {
        if intid >= 1020 {
            break;
        }
        NOTIFIED.fetch_add(1, Ordering::Relaxed);
        gic::end(intid);
    }
}

/// Byte `i` of value number `n`: its number in the first word, then a
/// pattern of both.
fn pattern(n: u32, i: usize) -> u8 {
    if i < 4 { n.to_le_bytes()[i] } else { (n as u8).wrapping_mul(31).wrapping_add(i as u8) }
}

fn fill(n: u32, out: &mut [u8]) {
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = pattern(n, i);
    }
}

/// Whether `bytes` is value `n` whole.
fn whole(n: u32, bytes: &[u8]) -> bool {
    bytes.iter().enumerate().all(|(i, byte)| *byte == pattern(n, i))
}

fn error_name(result: Result<(), Error>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(error) => error.name(),
    }
}

/// System time, in ticks.
fn now() -> u64 {
    hypercall::system_time().ticks
}

fn sensor() -> ! {
    let speed = SamplingWriter::open("speed").expect("sensor writes speed");
    let events = QueueSender::open("events").expect("sensor writes events");
    let mut value = [0u8; SPEED_BYTES];
    let (mut written, mut sent, mut full, mut window) = (0u32, 0u32, 0u32, 0u32);
    let mut last = now();
    // A gap in system time longer than any iteration: a new window.
    let gap = u64::from(hypercall::system_time().hz / 100_000);
    loop {
        let time = now();
        if time - last > gap {
            window += 1;
            if window % 4 == 0 {
                println!("sensor window={window} written={written} events={sent} full={full}");
            }
            for _ in 0..2 {
                sent += 1;
                let mut event = [0u8; EVENT_BYTES];
                fill(sent, &mut event);
                if events.send(&event).is_err() {
                    full += 1;
                }
            }
            let _ = events.notify();
        }
        last = time;
        let number = written.wrapping_add(1);
        fill(number, &mut value);
        // The writer numbers its values 1, 2, ... as the protocol does.
        if let Ok(n) = speed.write_stamped(&value, time) {
            written = n;
        }
    }
}

/// A reader's tallies.
#[derive(Default)]
struct Tally {
    reads: u32,
    raced: u32,
    empty: u32,
    torn: u32,
    last: u32,
    stale: u32,
    events: u32,
    last_event: u32,
    missed: u32,
    bad: u32,
}

impl Tally {
    fn read(&mut self, speed: &SamplingReader) {
        let mut value = [0u8; SPEED_BYTES];
        match speed.read(&mut value) {
            Ok(sample) => {
                self.reads += 1;
                if sample.length != SPEED_BYTES || !whole(sample.number, &value) || sample.number < self.last {
                    self.torn += 1;
                }
                self.last = sample.number;
                self.stale += sample.stale as u32;
            }
            Err(ReadError::Raced) => self.raced += 1,
            Err(ReadError::Empty) => self.empty += 1,
            Err(_) => self.bad += 1,
        }
    }

    /// Takes up to `most` messages; each must be the next one sent, or a
    /// later one after a gap no bigger than this reader's overflow count.
    fn take(&mut self, events: &QueueReceiver, most: u32) {
        let mut message = [0u8; EVENT_BYTES];
        for _ in 0..most {
            match events.receive(&mut message) {
                Ok(length) => {
                    let n = u32::from_le_bytes([message[0], message[1], message[2], message[3]]);
                    if length != EVENT_BYTES || !whole(n, &message) || n <= self.last_event {
                        self.bad += 1;
                    } else {
                        self.missed += n - self.last_event - 1;
                        self.last_event = n;
                        self.events += 1;
                    }
                    if self.missed > events.overflows() {
                        self.bad += 1;
                    }
                }
                Err(TakeError::Receive(_)) => break,
                Err(TakeError::Kernel(_)) => self.bad += 1,
            }
        }
    }

    fn print(&self, name: &str, window: u32, overflows: u32) {
        println!(
            "reader {name} window={window} reads={} raced={} empty={} torn={} last={} stale={}",
            self.reads, self.raced, self.empty, self.torn, self.last, self.stale,
        );
        println!(
            "queue {name} window={window} events={} missed={} overflows={overflows} bad={} notified={}",
            self.events,
            self.missed,
            self.bad,
            NOTIFIED.load(Ordering::Relaxed)
        );
    }
}

fn control(speed: &str, events: &str) -> ! {
    let speed = SamplingReader::open(speed).expect("control reads speed");
    let events = QueueReceiver::open(events).expect("control reads events");
    let mut tally = Tally::default();
    let mut window = 0u32;
    loop {
        window += 1;
        tally.read(&speed);
        tally.take(&events, u32::MAX);
        tally.print(layout::NAME, window, events.overflows());
        hypercall::yield_window();
    }
}

fn logger(speed: &str, events: &str) -> ! {
    let speed = SamplingReader::open(speed).expect("logger reads speed");
    let events = QueueReceiver::open(events).expect("logger reads events");
    let notify = events.channel().notify.expect("events notifies its readers");
    let mut gic = gic::init();
    gic::enable(&mut gic, notify, 0x80, Trigger::Edge);
    // SAFETY: this partition's own interrupt mask.
    unsafe { core::arch::asm!("cpsie i") };
    let mut tally = Tally::default();
    let (mut window, mut last) = (0u32, now());
    let gap = u64::from(hypercall::system_time().hz / 100_000);
    loop {
        let time = now();
        if time - last > gap {
            window += 1;
            tally.take(&events, 1);
            if window % 4 == 0 {
                tally.print(layout::NAME, window, events.overflows());
            }
        }
        last = time;
        tally.read(&speed);
    }
}

fn rogue() -> ! {
    let restarts = hypercall::identity().restarts;
    let speed = SamplingReader::open("speed").expect("rogue reads speed");
    let events = QueueReceiver::open("events").expect("rogue reads events");
    let speed_id = speed.channel().id;
    let events_id = events.channel().id;
    let mut window = 0u32;
    loop {
        window += 1;
        // Its own ring is never drained: its count may only move by 1..=depth
        // within what was written.
        let pending = events.pending();
        let consumed_now = 0u32; // the rogue never acked: its count is 0
        let too_far = error_name(hypercall::queue_ack(events_id, consumed_now + pending + 1));
        let nothing = error_name(hypercall::queue_ack(events_id, consumed_now));
        let sampling = error_name(hypercall::queue_ack(speed_id, 1));
        let unknown = error_name(hypercall::queue_ack(999, 1));
        let notify_events = error_name(hypercall::port_notify(events_id));
        let notify_speed = error_name(hypercall::port_notify(speed_id));
        let notify_unknown = error_name(hypercall::port_notify(999));
        println!(
            "rogue restarts={restarts} window={window} pending={pending} overflows={} ack-too-far={too_far} ack-nothing={nothing}",
            events.overflows()
        );
        println!(
            "calls ack-sampling={sampling} ack-unknown={unknown} notify-events={notify_events} notify-speed={notify_speed} notify-unknown={notify_unknown}"
        );
        if window % 4 == 0 {
            println!("rogue stores into speed");
            let target = speed.channel().base as *mut u32;
            // SAFETY: deliberately wrong: the window is read-only to this
            // partition, and the store must fault at the EL2 MPU.
            unsafe { core::ptr::write_volatile(target, 0xDEAD_BEEF) };
            println!("rogue ESCAPED: its store into speed went through");
        }
        hypercall::yield_window();
    }
}

#[entry]
fn main() -> ! {
    match layout::NAME {
        "sensor" => sensor(),
        "control" => control("speed", "events"),
        "logger" => logger("speed", "events"),
        // tests/systems/c-ports.toml: the same readers of the C partition's
        // channels.
        "c-control" => control("c-speed", "c-events"),
        "c-logger" => logger("c-speed", "c-events"),
        "rogue" => rogue(),
        other => panic!("test-ports has no role for partition `{other}`"),
    }
}
