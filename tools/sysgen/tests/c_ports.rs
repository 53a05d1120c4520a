//! `bulkhead.h`'s ports against the Rust crate `bulkhead-ports`, on the host.
//!
//! The rendered header and `c_ports/harness.c` are compiled with the host C
//! compiler (`$CC`, else `cc`); the harness runs one port function per
//! command on a window the test sends and answers with its results and the
//! window as the C code left it. The test computes the same answer with the
//! Rust crate on the same window and the two must be equal, byte for byte:
//!
//! - thousands of random windows (honest histories, counts near the wrap,
//!   words overwritten with garbage, windows too small) and operations;
//! - messages both ways, C writer to Rust reader and Rust writer to C
//!   reader, for sampling and queuing: a full ring, the overflow counts,
//!   corrupt lengths and counts, the QueueAck the C receiver makes (stored
//!   by the Rust `ack` here, as the kernel does);
//! - the header with one layout constant changed must fail the comparison,
//!   so a C side with a wrong offset cannot pass.
//!
//! Without a host C compiler the tests say so and skip (CI has one).

use bulkhead_ports::layout;
use bulkhead_ports::queuing::{self, QueueReceiver, QueueSender};
use bulkhead_ports::sampling::{self, SamplingReader, SamplingWriter};
use bulkhead_ports::window::Window;
use bulkhead_sysgen::emit::foreign::{self, ports_h};
use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// What the harness's stub SystemTime returns (r2:r1).
const NOW: u64 = 0x1122_3344_5566_7788;
/// The channel ids the harness opens its ports with.
const RECEIVER_CHANNEL: u32 = 7;

// ---- the window on the Rust side ----------------------------------------

/// A window over bytes that fails the test on any access outside it.
struct Bytes(RefCell<Vec<u8>>);

impl Bytes {
    fn new(bytes: &[u8]) -> Bytes {
        Bytes(RefCell::new(bytes.to_vec()))
    }

    fn get(&self) -> Vec<u8> {
        self.0.borrow().clone()
    }

    fn check(&self, offset: u32, len: usize, align: u32) -> usize {
        let size = self.0.borrow().len();
        assert!(offset.is_multiple_of(align), "misaligned access at {offset}");
        assert!(offset as usize + len <= size, "access at {offset}+{len} outside a window of {size}");
        offset as usize
    }
}

impl Window for Bytes {
    fn size(&self) -> u32 {
        self.0.borrow().len() as u32
    }

    fn load(&self, offset: u32) -> u32 {
        let at = self.check(offset, 4, 4);
        let bytes = self.0.borrow();
        u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
    }

    fn store(&self, offset: u32, value: u32) {
        let at = self.check(offset, 4, 4);
        self.0.borrow_mut()[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    fn read_bytes(&self, offset: u32, out: &mut [u8]) {
        let at = self.check(offset, out.len(), 1);
        out.copy_from_slice(&self.0.borrow()[at..at + out.len()]);
    }

    fn write_bytes(&self, offset: u32, bytes: &[u8]) {
        let at = self.check(offset, bytes.len(), 1);
        self.0.borrow_mut()[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn fence(&self) {}
}

/// A window of which only the size may be asked: opening touches nothing.
struct SizeOnly(u32);

impl Window for SizeOnly {
    fn size(&self) -> u32 {
        self.0
    }

    fn load(&self, offset: u32) -> u32 {
        panic!("opening loaded {offset}")
    }

    fn store(&self, offset: u32, _: u32) {
        panic!("opening stored at {offset}")
    }

    fn read_bytes(&self, offset: u32, _: &mut [u8]) {
        panic!("opening read at {offset}")
    }

    fn write_bytes(&self, offset: u32, _: &[u8]) {
        panic!("opening wrote at {offset}")
    }

    fn fence(&self) {}
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".to_owned();
    }
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

fn unhex(text: &str) -> Vec<u8> {
    if text == "-" {
        return Vec::new();
    }
    (0..text.len() / 2).map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex")).collect()
}

// ---- the C side -------------------------------------------------------------

fn compiler() -> Option<String> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_owned());
    let found = Command::new(&cc).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    match found {
        Ok(status) if status.success() => Some(cc),
        _ => {
            eprintln!("skipping: no host C compiler (`{cc}`; set CC or install gcc) to run bulkhead.h's ports");
            None
        }
    }
}

fn scratch(what: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("c-ports-{what}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The harness built against `header`, running.
struct Harness {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Harness {
    fn build(cc: &str, what: &str, header: &str) -> Harness {
        let dir = scratch(what);
        std::fs::write(dir.join("bulkhead.h"), header).expect("the header");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c_ports/harness.c");
        let binary = dir.join("harness");
        let built = Command::new(cc)
            .args(["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I"])
            .arg(&dir)
            .arg(&source)
            .arg("-o")
            .arg(&binary)
            .output()
            .expect("the C compiler runs");
        assert!(built.status.success(), "the harness does not build:\n{}", String::from_utf8_lossy(&built.stderr));
        let mut child =
            Command::new(&binary).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("the harness runs");
        let input = child.stdin.take().expect("stdin");
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        Harness { child, input, output }
    }

    fn ask(&mut self, command: &str) -> String {
        writeln!(self.input, "{command}").expect("the harness takes a command");
        self.input.flush().expect("flush");
        let mut answer = String::new();
        self.output.read_line(&mut answer).expect("the harness answers");
        assert!(!answer.is_empty(), "the harness died on `{}`", &command[..command.len().min(200)]);
        answer.trim_end().to_owned()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- commands, and the Rust crate's answer to each --------------------------

/// One operation on one window, as the harness takes it.
#[derive(Clone, Debug)]
enum Op {
    Geometry { message_size: u32, depth: u32, readers: u32 },
    Stale { stamp: u64, now: u64, refresh: u64 },
    Open { message_size: u32, depth: u32, readers: u32, reader: u32, size: u32 },
    Write { message_size: u32, stamp: Option<u64>, payload: Vec<u8>, window: Vec<u8> },
    Read { message_size: u32, capacity: u32, window: Vec<u8> },
    Send { message_size: u32, depth: u32, readers: u32, payload: Vec<u8>, window: Vec<u8> },
    Receive { ack: Option<u32>, message_size: u32, depth: u32, reader: u32, capacity: u32, window: Vec<u8> },
}

impl Op {
    fn command(&self) -> String {
        match self {
            Op::Geometry { message_size, depth, readers } => format!("geometry {message_size} {depth} {readers}"),
            Op::Stale { stamp, now, refresh } => format!("stale {stamp} {now} {refresh}"),
            Op::Open { message_size, depth, readers, reader, size } => {
                format!("open {message_size} {depth} {readers} {reader} {size}")
            }
            Op::Write { message_size, stamp, payload, window } => format!(
                "swrite {message_size} {} {} {} {}",
                stamp.map_or("now".to_owned(), |s| s.to_string()),
                hex(payload),
                window.len(),
                hex(window)
            ),
            Op::Read { message_size, capacity, window } => {
                format!("sread {message_size} {capacity} {} {}", window.len(), hex(window))
            }
            Op::Send { message_size, depth, readers, payload, window } => {
                format!("qsend {message_size} {depth} {readers} {} {} {}", hex(payload), window.len(), hex(window))
            }
            Op::Receive { ack, message_size, depth, reader, capacity, window } => format!(
                "{} {message_size} {depth} {reader} {capacity} {} {} {}",
                if ack.is_some() { "qreceive" } else { "qpeek" },
                ack.unwrap_or(0),
                window.len(),
                hex(window)
            ),
        }
    }

    /// What the C side must answer: the Rust crate's results, in the
    /// harness's format.
    fn rust_answer(&self) -> String {
        let geometry = |error| ports_h::status_of_geometry_error(error);
        match self {
            Op::Geometry { message_size, depth, readers } => {
                let (m, d) = (*message_size, *depth);
                let max = match layout::queue_count_period(d) {
                    0 => 0,
                    period => period - 1,
                };
                format!(
                    "{} {} {} {} {} {max}",
                    layout::sampling_slot_stride(m),
                    layout::sampling_window_size(m),
                    layout::queue_slot_stride(m),
                    layout::ring_stride(m, d),
                    layout::queuing_window_size(m, d, *readers)
                )
            }
            Op::Stale { stamp, now, refresh } => format!("{}", u32::from(sampling::is_stale(*stamp, *now, *refresh))),
            Op::Open { message_size, depth, readers, reader, size } => {
                let window = || SizeOnly(*size);
                let status = |result: Result<(), layout::GeometryError>| result.map_or_else(geometry, |()| ports_h::OK);
                format!(
                    "{} {} {} {}",
                    status(SamplingWriter::new(window(), *message_size).map(drop)),
                    status(SamplingReader::new(window(), *message_size).map(drop)),
                    status(QueueSender::new(window(), *message_size, *depth, *readers).map(drop)),
                    status(QueueReceiver::new(window(), *message_size, *depth, *reader).map(drop)),
                )
            }
            Op::Write { message_size, stamp, payload, window } => {
                let bytes = Bytes::new(window);
                let (status, number, latest) = match SamplingWriter::new(&bytes, *message_size) {
                    Err(error) => (geometry(error), 0, 0),
                    Ok(writer) => {
                        let (status, number) = match writer.write(payload, stamp.unwrap_or(NOW)) {
                            Ok(number) => (ports_h::OK, number),
                            Err(error) => (ports_h::status_of_write_error(error), 0),
                        };
                        (status, number, writer.latest_number())
                    }
                };
                format!("{status} {number} {latest} {}", hex(&bytes.get()))
            }
            Op::Read { message_size, capacity, window } => {
                let bytes = Bytes::new(window);
                let mut out = vec![0; *capacity as usize];
                let answer = match SamplingReader::new(&bytes, *message_size) {
                    Err(error) => format!("{} 0 0 0 0 -", geometry(error)),
                    Ok(reader) => match reader.read(&mut out) {
                        Ok(sample) => format!(
                            "{} {} {} {} {} {}",
                            ports_h::OK,
                            sample.number,
                            sample.length,
                            sample.stamp,
                            reader.latest_number(),
                            hex(&out[..sample.length as usize])
                        ),
                        Err(error) => {
                            format!("{} 0 0 0 {} -", ports_h::status_of_read_error(error), reader.latest_number())
                        }
                    },
                };
                format!("{answer} {}", hex(&bytes.get()))
            }
            Op::Send { message_size, depth, readers, payload, window } => {
                let bytes = Bytes::new(window);
                let reported = (*readers + 1).min(layout::MAX_READERS);
                let answer = match QueueSender::new(&bytes, *message_size, *depth, *readers) {
                    Err(error) => format!("{} 0{}", geometry(error), " 0".repeat(reported as usize)),
                    Ok(sender) => {
                        let (status, full) = match sender.send(payload) {
                            Ok(()) => (ports_h::OK, 0),
                            Err(queuing::SendError::Full { readers }) => {
                                (ports_h::status_of_send_error(queuing::SendError::Full { readers }), readers)
                            }
                            Err(error) => (ports_h::status_of_send_error(error), 0),
                        };
                        let overflows: String = (0..reported).map(|r| format!(" {}", sender.overflows(r))).collect();
                        format!("{status} {full}{overflows}")
                    }
                };
                format!("{answer} {}", hex(&bytes.get()))
            }
            Op::Receive { ack, message_size, depth, reader, capacity, window } => {
                let bytes = Bytes::new(window);
                let none = u32::MAX;
                let answer = match QueueReceiver::new(&bytes, *message_size, *depth, *reader) {
                    Err(error) => format!("{} 0 0 0 0 0 0 0 {none} 0 0 -", geometry(error)),
                    Ok(receiver) => {
                        let (skip, skip_after) = match receiver.skip() {
                            Ok(after) => (ports_h::OK, after),
                            Err(error) => (ports_h::status_of_receive_error(error), 0),
                        };
                        let (pending, overflows) = (receiver.pending(), receiver.overflows());
                        let common = format!("{skip} {skip_after} {pending} {overflows}");
                        let mut out = vec![0; *capacity as usize];
                        match (receiver.receive(&mut out), ack) {
                            (Err(error), _) => {
                                format!("{} 0 0 0 {common} {none} 0 0 -", ports_h::status_of_receive_error(error))
                            }
                            (Ok(got), None) => format!(
                                "{} {} {} 0 {common} {none} 0 0 {}",
                                ports_h::OK,
                                got.length,
                                got.consumed_after,
                                hex(&out[..got.length as usize])
                            ),
                            (Ok(got), Some(0)) => format!(
                                "{} {} 0 0 {common} {} {RECEIVER_CHANNEL} {} {}",
                                ports_h::OK,
                                got.length,
                                bulkhead_abi::Call::QueueAck as u32,
                                got.consumed_after,
                                hex(&out[..got.length as usize])
                            ),
                            (Ok(got), Some(refused)) => format!(
                                "{} {} 0 {refused} {common} {} {RECEIVER_CHANNEL} {} -",
                                ports_h::STATUS.iter().find(|s| s.0 == "KERNEL").expect("KERNEL").1,
                                got.length,
                                bulkhead_abi::Call::QueueAck as u32,
                                got.consumed_after
                            ),
                        }
                    }
                };
                format!("{answer} {}", hex(&bytes.get()))
            }
        }
    }
}

/// Asks the harness `op` and checks its answer against the Rust crate's;
/// returns the C answer's fields.
fn same(harness: &mut Harness, op: &Op) -> Vec<String> {
    let c = harness.ask(&op.command());
    let rust = op.rust_answer();
    assert_eq!(c, rust, "C and Rust differ on {op:?}");
    c.split(' ').map(str::to_owned).collect()
}

/// Whether the C answer to `op` differs from the Rust one (for the mutants).
fn differs(harness: &mut Harness, op: &Op) -> bool {
    harness.ask(&op.command()) != op.rust_answer()
}

// ---- random windows and operations ------------------------------------------

struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A window size for a layout of `needed` bytes: mostly exact or a little
/// more, sometimes too small.
fn size_for(random: &mut Random, needed: u32) -> usize {
    match random.below(10) {
        0 => needed.saturating_sub(1 + random.below(8) as u32) as usize,
        1..=3 => (needed + random.below(13) as u32) as usize,
        _ => needed as usize,
    }
}

/// Overwrites a few words of `window` with values near the ones the
/// protocols check.
fn corrupt(random: &mut Random, window: &mut [u8], message_size: u32, depth: u32) {
    let max = layout::queue_count_period(depth).saturating_sub(1) as u32;
    for _ in 0..1 + random.below(3) {
        if window.len() < 4 {
            return;
        }
        let at = random.below(window.len() as u64 / 4) as usize * 4;
        let garbage = random.next() as u32;
        let value = random.pick(&[
            0,
            1,
            2,
            3,
            depth,
            depth + 1,
            message_size,
            message_size + 1,
            max,
            max.wrapping_add(1),
            u32::MAX,
            u32::MAX - 1,
            garbage,
        ]);
        window[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }
}

/// A sampling window after an honest history of writes of its own.
fn sampling_window(random: &mut Random, message_size: u32) -> Vec<u8> {
    let size = size_for(random, layout::sampling_window_size(message_size));
    let bytes = Bytes::new(&vec![0; size]);
    if let Ok(writer) = SamplingWriter::new(&bytes, message_size) {
        if random.chance(10) {
            bytes.store(layout::SAMPLING_LATEST, u32::MAX - random.below(3) as u32);
        }
        for _ in 0..random.below(4) {
            let length = random.below(u64::from(message_size) + 1) as usize;
            let _ = writer.write(&random.bytes(length), random.next());
        }
    }
    let mut window = bytes.get();
    if random.chance(30) {
        corrupt(random, &mut window, message_size, 1);
    }
    window
}

/// A queuing window after an honest history of sends and acks.
fn queuing_window(random: &mut Random, message_size: u32, depth: u32, readers: u32) -> Vec<u8> {
    let size = size_for(random, layout::queuing_window_size(message_size, depth, readers));
    let bytes = Bytes::new(&vec![0; size]);
    if let Ok(sender) = QueueSender::new(&bytes, message_size, depth, readers) {
        if random.chance(30) {
            // Counts near the wrap, as after 2^32 messages.
            let max = (layout::queue_count_period(depth) - 1) as u32;
            for reader in 0..readers {
                let count = max - random.below(u64::from(depth) + 1) as u32;
                let ring = layout::ring(message_size, depth, reader);
                bytes.store(ring + layout::RING_WRITTEN, count);
                bytes.store(ring + layout::RING_CONSUMED, count);
            }
        }
        for _ in 0..random.below(u64::from(depth) * 2 + 2) {
            if random.chance(60) {
                let length = random.below(u64::from(message_size) + 1) as usize;
                let _ = sender.send(&random.bytes(length));
            } else {
                let reader = random.below(u64::from(readers)) as u32;
                let receiver = QueueReceiver::new(&bytes, message_size, depth, reader).expect("a reader");
                let mut out = vec![0; message_size as usize];
                if let Ok(got) = receiver.receive(&mut out) {
                    queuing::ack(&bytes, message_size, depth, reader, got.consumed_after).expect("an honest ack");
                }
            }
        }
    }
    let mut window = bytes.get();
    if random.chance(30) {
        corrupt(random, &mut window, message_size, depth);
    }
    window
}

fn random_op(random: &mut Random) -> Op {
    let message_size = random.pick(&[1, 3, 4, 5, 8, 13, 16, 64]);
    let depth = random.pick(&[1, 2, 3, 4, 7]);
    let readers = 1 + random.below(3) as u32;
    let length = random.below(u64::from(message_size) + 2) as usize;
    let capacity = random.below(u64::from(message_size) + 2) as u32;
    match random.below(100) {
        0..=2 => Op::Geometry {
            message_size: random.pick(&[1, 7, 64, 1000, layout::MAX_MESSAGE_SIZE]),
            depth: random.pick(&[1, 3, 8, 1000, layout::MAX_DEPTH]),
            readers: random.pick(&[1, 5, layout::MAX_READERS]),
        },
        3..=5 => {
            Op::Stale { stamp: random.below(1000), now: random.below(1000), refresh: random.pick(&[0, 1, 100, 500]) }
        }
        6..=8 => {
            let message_size = random.pick(&[0, 1, 64, layout::MAX_MESSAGE_SIZE, layout::MAX_MESSAGE_SIZE + 1]);
            let depth = random.pick(&[0, 1, 3, layout::MAX_DEPTH, layout::MAX_DEPTH + 1]);
            let readers = random.pick(&[0, 1, 2, layout::MAX_READERS, layout::MAX_READERS + 1]);
            let reader = random.pick(&[0, 1, layout::MAX_READERS - 1, layout::MAX_READERS]);
            let needed = if message_size <= layout::MAX_MESSAGE_SIZE && depth <= layout::MAX_DEPTH {
                layout::queuing_window_size(message_size, depth, readers.min(layout::MAX_READERS))
            } else {
                4096
            };
            let size = size_for(random, needed) as u32;
            Op::Open { message_size, depth, readers, reader, size }
        }
        9..=30 => Op::Write {
            message_size,
            stamp: if random.chance(20) { None } else { Some(random.next()) },
            payload: random.bytes(length),
            window: sampling_window(random, message_size),
        },
        31..=55 => Op::Read { message_size, capacity, window: sampling_window(random, message_size) },
        56..=75 => Op::Send {
            message_size,
            depth,
            readers,
            payload: random.bytes(length),
            window: queuing_window(random, message_size, depth, readers),
        },
        _ => {
            let window = queuing_window(random, message_size, depth, readers);
            let reader = random.below(u64::from(readers)) as u32;
            let ack = match random.below(3) {
                0 => None,
                1 => Some(0),
                _ => Some(bulkhead_abi::Error::BadArgument as u32),
            };
            Op::Receive { ack, message_size, depth, reader, capacity, window }
        }
    }
}

/// The header as sysgen renders it.
fn header() -> String {
    foreign::bulkhead_h()
}

#[test]
fn c_and_rust_agree_on_random_windows_and_operations() {
    let Some(cc) = compiler() else { return };
    let mut harness = Harness::build(&cc, "random", &header());
    let mut random = Random(0x5eed_c0de_1234_5678);
    let mut kinds = [0u32; 7];
    for _ in 0..6000 {
        let op = random_op(&mut random);
        kinds[match op {
            Op::Geometry { .. } => 0,
            Op::Stale { .. } => 1,
            Op::Open { .. } => 2,
            Op::Write { .. } => 3,
            Op::Read { .. } => 4,
            Op::Send { .. } => 5,
            Op::Receive { .. } => 6,
        }] += 1;
        same(&mut harness, &op);
    }
    assert!(kinds.iter().all(|n| *n > 50), "every kind of operation ran: {kinds:?}");
}

// ---- messages both ways -----------------------------------------------------

fn message(n: u32, length: usize) -> Vec<u8> {
    (0..length).map(|i| (n as u8).wrapping_mul(31).wrapping_add(i as u8)).collect()
}

#[test]
fn sampling_from_c_to_rust_and_back() {
    let Some(cc) = compiler() else { return };
    let mut harness = Harness::build(&cc, "sampling", &header());
    let message_size = 13;
    let mut window = vec![0; layout::sampling_window_size(message_size) as usize];

    // C writes, Rust reads: each message whole, numbered 1, 2, ...
    for n in 1..=5u32 {
        let payload = message(n, n as usize + 7);
        let stamp = if n == 5 { None } else { Some(1000 * u64::from(n)) };
        let answer = same(&mut harness, &Op::Write { message_size, stamp, payload: payload.clone(), window });
        assert_eq!((answer[0].as_str(), answer[1].as_str()), ("0", n.to_string().as_str()), "{answer:?}");
        window = unhex(&answer[3]);
        let bytes = Bytes::new(&window);
        let reader = SamplingReader::new(&bytes, message_size).expect("a reader");
        let mut out = [0u8; 13];
        let sample = reader.read(&mut out).expect("the C message");
        assert_eq!((sample.number, &out[..sample.length as usize]), (n, &payload[..]));
        assert_eq!(sample.stamp, stamp.unwrap_or(NOW), "the stamp, low and high words (SystemTime for `now`)");
    }
    // Too long for the channel: refused, the window untouched.
    let answer =
        same(&mut harness, &Op::Write { message_size, stamp: Some(1), payload: vec![0; 14], window: window.clone() });
    assert_eq!(answer[0], ports_h::status_of_write_error(sampling::WriteError::TooLong).to_string());
    assert_eq!(unhex(&answer[3]), window);

    // Rust writes, C reads.
    let bytes = Bytes::new(&window);
    let writer = SamplingWriter::new(&bytes, message_size).expect("a writer");
    let number = writer.write(&message(77, 13), 0xAABB_CCDD_0011_2233).expect("written");
    let read =
        |window: Vec<u8>, capacity, harness: &mut Harness| same(harness, &Op::Read { message_size, capacity, window });
    let answer = read(bytes.get(), 13, &mut harness);
    assert_eq!(
        answer[..4],
        ["0".to_owned(), number.to_string(), "13".to_owned(), 0xAABB_CCDD_0011_2233u64.to_string()]
    );
    assert_eq!(unhex(&answer[5]), message(77, 13));
    // A buffer too small, a corrupt length, a slot being written, nothing yet.
    let code = |error| ports_h::status_of_read_error(error).to_string();
    assert_eq!(read(bytes.get(), 12, &mut harness)[0], code(sampling::ReadError::BufferTooSmall));
    let slot = layout::sampling_slot(message_size, number & 1);
    let mut corrupt = bytes.get();
    corrupt[(slot + layout::SLOT_LENGTH) as usize..][..4].copy_from_slice(&14u32.to_le_bytes());
    assert_eq!(read(corrupt, 64, &mut harness)[0], code(sampling::ReadError::Corrupt));
    let mut busy = bytes.get();
    busy[(slot + layout::SLOT_SEQUENCE) as usize..][..4].copy_from_slice(&(number * 2 + 1).to_le_bytes());
    assert_eq!(read(busy, 64, &mut harness)[0], code(sampling::ReadError::Raced));
    let empty = vec![0; window.len()];
    assert_eq!(read(empty, 64, &mut harness)[0], code(sampling::ReadError::Empty));

    // Staleness as the Rust crate has it.
    for (stamp, now, refresh) in [(10, 20, 0), (10, 20, 10), (10, 21, 10), (30, 20, 10), (u64::MAX, 0, 1)] {
        same(&mut harness, &Op::Stale { stamp, now, refresh });
    }
}

#[test]
fn queuing_from_c_to_rust_with_a_full_ring() {
    let Some(cc) = compiler() else { return };
    let mut harness = Harness::build(&cc, "queue-c-to-rust", &header());
    let (message_size, depth, readers) = (16, 4, 2);
    let mut window = vec![0; layout::queuing_window_size(message_size, depth, readers) as usize];
    let mut taken = Vec::new();
    // Reader 0 (Rust) takes each message; reader 1 never does: its ring
    // fills after `depth` and every later message is its overflow.
    for n in 1..=7u32 {
        let payload = message(n, (n as usize % 16) + 1);
        let answer = same(&mut harness, &Op::Send { message_size, depth, readers, payload, window });
        let (status, full) = (answer[0].parse::<u32>().expect("status"), answer[1].parse::<u32>().expect("mask"));
        if n <= depth {
            assert_eq!((status, full), (ports_h::OK, 0), "{answer:?}");
        } else {
            let expected = queuing::SendError::Full { readers: 0b10 };
            assert_eq!((status, full), (ports_h::status_of_send_error(expected), 0b10), "{answer:?}");
        }
        assert_eq!(answer[3], (n.saturating_sub(depth)).to_string(), "reader 1's overflows: {answer:?}");
        window = unhex(answer.last().expect("the window"));
        let bytes = Bytes::new(&window);
        let receiver = QueueReceiver::new(&bytes, message_size, depth, 0).expect("reader 0");
        let mut out = [0u8; 16];
        let got = receiver.receive(&mut out).expect("the C message");
        taken.push(out[..got.length as usize].to_vec());
        queuing::ack(&bytes, message_size, depth, 0, got.consumed_after).expect("the kernel's ack");
        window = bytes.get();
    }
    assert_eq!(taken, (1..=7).map(|n| message(n, (n as usize % 16) + 1)).collect::<Vec<_>>());
    let bytes = Bytes::new(&window);
    let slow = QueueReceiver::new(&bytes, message_size, depth, 1).expect("reader 1");
    assert_eq!((slow.pending(), slow.overflows()), (depth, 3));
    let mut out = [0u8; 16];
    for n in 1..=depth {
        let got = slow.receive(&mut out).expect("its first messages");
        assert_eq!(&out[..got.length as usize], &message(n, (n as usize % 16) + 1)[..]);
        queuing::ack(&bytes, message_size, depth, 1, got.consumed_after).expect("ack");
    }
    // Too long: sent to nobody.
    let answer =
        same(&mut harness, &Op::Send { message_size, depth, readers, payload: vec![0; 17], window: bytes.get() });
    assert_eq!(answer[0], ports_h::status_of_send_error(queuing::SendError::TooLong).to_string());
}

#[test]
fn queuing_from_rust_to_c_through_queue_ack() {
    let Some(cc) = compiler() else { return };
    let mut harness = Harness::build(&cc, "queue-rust-to-c", &header());
    let (message_size, depth, readers) = (8, 3, 1);
    let bytes = Bytes::new(&vec![0; layout::queuing_window_size(message_size, depth, readers) as usize]);
    let sender = QueueSender::new(&bytes, message_size, depth, readers).expect("a sender");
    // Counts just below the wrap of a depth that does not divide 2^32.
    let max = (layout::queue_count_period(depth) - 1) as u32;
    bytes.store(layout::ring(message_size, depth, 0) + layout::RING_WRITTEN, max - 1);
    bytes.store(layout::ring(message_size, depth, 0) + layout::RING_CONSUMED, max - 1);
    for n in 1..=5 {
        let _ = sender.send(&message(n, 8));
    }
    assert_eq!(sender.overflows(0), 2, "a ring of 3 holds 3 of 5");
    let mut received = Vec::new();
    for _ in 0..depth + 1 {
        let op = Op::Receive { ack: Some(0), message_size, depth, reader: 0, capacity: 8, window: bytes.get() };
        let answer = same(&mut harness, &op);
        if answer[0] != ports_h::OK.to_string() {
            assert_eq!(answer[0], ports_h::status_of_receive_error(queuing::ReceiveError::Empty).to_string());
            break;
        }
        // The C receiver called QueueAck(channel, consumed_after): do what
        // the kernel does with it.
        assert_eq!(answer[8], (bulkhead_abi::Call::QueueAck as u32).to_string());
        let consumed: u32 = answer[10].parse().expect("the count");
        queuing::ack(&bytes, message_size, depth, 0, consumed).expect("the C receiver's ack is one the kernel takes");
        received.push(unhex(&answer[11]));
        assert_eq!(answer[7], "2", "the overflows the C receiver sees");
    }
    assert_eq!(received, (1..=3).map(|n| message(n, 8)).collect::<Vec<_>>());

    // The kernel refuses: KERNEL with its code, and the message stays.
    sender.send(&message(9, 8)).expect("room again");
    let refused = bulkhead_abi::Error::BadArgument as u32;
    let op = Op::Receive { ack: Some(refused), message_size, depth, reader: 0, capacity: 8, window: bytes.get() };
    let answer = same(&mut harness, &op);
    assert_eq!((answer[0].as_str(), answer[3].as_str()), ("7", refused.to_string().as_str()), "{answer:?}");
    // A corrupt length or corrupt counts: CORRUPT, and pending stays bounded.
    let corrupt = ports_h::status_of_receive_error(queuing::ReceiveError::Corrupt).to_string();
    let ring = layout::ring(message_size, depth, 0);
    let consumed = bytes.load(ring + layout::RING_CONSUMED);
    let mut window = bytes.get();
    let slot = (ring + layout::ring_slot(message_size, consumed % depth)) as usize;
    window[slot..slot + 4].copy_from_slice(&9u32.to_le_bytes());
    let answer = same(&mut harness, &Op::Receive { ack: None, message_size, depth, reader: 0, capacity: 8, window });
    assert_eq!(answer[0], corrupt);
    let mut window = bytes.get();
    window[ring as usize..ring as usize + 4].copy_from_slice(&(consumed.wrapping_add(depth + 1)).to_le_bytes());
    let answer = same(&mut harness, &Op::Receive { ack: None, message_size, depth, reader: 0, capacity: 8, window });
    assert_eq!((answer[0].as_str(), answer[6].as_str()), (corrupt.as_str(), depth.to_string().as_str()));
}

#[test]
fn notify_and_closed_ports() {
    let Some(cc) = compiler() else { return };
    let mut harness = Harness::build(&cc, "calls", &header());
    let notify = bulkhead_abi::Call::PortNotify as u32;
    let denied = bulkhead_abi::Error::Denied as u32;
    assert_eq!(harness.ask("notify"), format!("{denied} {notify} 9 {denied} {notify} 10"));
    // Every call on a port whose open failed refuses, and pending reads 0.
    let not_open = ports_h::STATUS.iter().find(|s| s.0 == "NOT_OPEN").expect("NOT_OPEN").1;
    assert_eq!(harness.ask("closed"), format!("{0} {0} {0} {0} {0} 0 0", not_open));
}

/// The header with one layout constant changed: the comparison must catch
/// it, or a C side with a wrong offset could pass these tests.
#[test]
fn a_c_side_with_a_wrong_offset_fails_the_comparison() {
    let Some(cc) = compiler() else { return };
    let mutants = [
        ("SAMPLING_LATEST", "0x4U"),
        ("SLOT_SEQUENCE", "0x4U"),
        ("SLOT_LENGTH", "0xcU"),
        ("SLOT_STAMP", "0xcU"),
        ("SLOT_PAYLOAD", "0x18U"),
        ("RING_WRITTEN", "0xcU"),
        ("RING_OVERFLOWS", "0xcU"),
        ("RING_CONSUMED", "0xcU"),
        ("RING_SLOTS", "0x18U"),
        ("QUEUE_SLOT_PAYLOAD", "0x8U"),
        ("HEADER_SIZE", "0x40U"),
        ("SLOT_ALIGN", "0x10U"),
        ("RING_ALIGN", "0x40U"),
    ];
    let rendered = header();
    for (name, wrong) in mutants {
        let value = layout_value(name);
        let right = format!("#define BULKHEAD_PORTS_{name} {value:#x}U ");
        assert!(rendered.contains(&right), "the header defines {name} as {value:#x}");
        let mutant = rendered.replace(&right, &format!("#define BULKHEAD_PORTS_{name} {wrong} "));
        let mut harness = Harness::build(&cc, &format!("mutant-{name}"), &mutant);
        let mut random = Random(0x0bad_0ff5_e7e7_1234);
        let caught = (0..3000).any(|_| differs(&mut harness, &random_op(&mut random)));
        assert!(caught, "a C side with {name} = {wrong} passed the comparison");
    }
}

fn layout_value(name: &str) -> u32 {
    ports_h::layout_constants().iter().find(|c| c.0 == name).expect("a layout constant").1
}
