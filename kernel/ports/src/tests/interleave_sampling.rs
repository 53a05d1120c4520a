//! Every interleaving of a sampling writer and its readers, word by word.
//!
//! Checked at the end of each read, against the writer's position at the
//! read's first step and at its last:
//!
//! - a message read is one written message whole: its number, length,
//!   stamp and every payload byte those of the same write (else "torn");
//! - it was the latest published (its `latest` stored, the next one's not)
//!   at some point during the read (else "stale");
//! - `Empty` only if nothing was published when the read began;
//! - `Raced` only if the writer stored something during the read;
//! - never `Corrupt` or `BufferTooSmall` (honest writer, full buffer).
//!
//! Mutants of the writer and the reader with one ordering mistake each must
//! be caught.

use core::cell::RefCell;
use std::collections::BTreeSet;
use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, println, vec};

use super::ModelWindow;
use super::explore::{Access, Model, Position, Probe, Stats, explore, explore_without_memo};
use crate::layout;
use crate::sampling::{ReadError, Sample, SamplingReader, SamplingWriter, WriteError, next_number};
use crate::window::Window;

type WriteFn = fn(&Probe<'_>, u32, &[u8], u64) -> Result<u32, WriteError>;
type ReadFn = fn(&Probe<'_>, u32, &mut [u8]) -> Result<Sample, ReadError>;

fn real_write(window: &Probe<'_>, message_size: u32, payload: &[u8], stamp: u64) -> Result<u32, WriteError> {
    SamplingWriter::new(window, message_size).unwrap().write(payload, stamp)
}

fn real_read(window: &Probe<'_>, message_size: u32, out: &mut [u8]) -> Result<Sample, ReadError> {
    SamplingReader::new(window, message_size).unwrap().read(out)
}

/// Mutant: marks the slot complete and publishes it before writing the
/// message into it.
fn write_publishing_first(
    window: &Probe<'_>,
    message_size: u32,
    payload: &[u8],
    stamp: u64,
) -> Result<u32, WriteError> {
    let number = next_number(window.load(layout::SAMPLING_LATEST));
    let slot = layout::sampling_slot(message_size, number & 1);
    window.store(slot + layout::SLOT_SEQUENCE, number.wrapping_mul(2));
    window.store(layout::SAMPLING_LATEST, number);
    window.store(slot + layout::SLOT_LENGTH, payload.len() as u32);
    window.store(slot + layout::SLOT_STAMP, stamp as u32);
    window.store(slot + layout::SLOT_STAMP + 4, (stamp >> 32) as u32);
    window.write_bytes(slot + layout::SLOT_PAYLOAD, payload);
    Ok(number)
}

/// Mutant: never marks the slot odd while rewriting it.
fn write_without_busy_mark(
    window: &Probe<'_>,
    message_size: u32,
    payload: &[u8],
    stamp: u64,
) -> Result<u32, WriteError> {
    let number = next_number(window.load(layout::SAMPLING_LATEST));
    let slot = layout::sampling_slot(message_size, number & 1);
    window.store(slot + layout::SLOT_LENGTH, payload.len() as u32);
    window.store(slot + layout::SLOT_STAMP, stamp as u32);
    window.store(slot + layout::SLOT_STAMP + 4, (stamp >> 32) as u32);
    window.write_bytes(slot + layout::SLOT_PAYLOAD, payload);
    window.store(slot + layout::SLOT_SEQUENCE, number.wrapping_mul(2));
    window.store(layout::SAMPLING_LATEST, number);
    Ok(number)
}

/// Mutant: trusts the first sequence check, never looks again after the
/// copy.
fn read_without_recheck(window: &Probe<'_>, message_size: u32, out: &mut [u8]) -> Result<Sample, ReadError> {
    for _ in 0..3 {
        let number = window.load(layout::SAMPLING_LATEST);
        if number == 0 {
            return Err(ReadError::Empty);
        }
        let slot = layout::sampling_slot(message_size, number & 1);
        if window.load(slot + layout::SLOT_SEQUENCE) != number.wrapping_mul(2) {
            continue;
        }
        let length = window.load(slot + layout::SLOT_LENGTH);
        let low = window.load(slot + layout::SLOT_STAMP);
        let high = window.load(slot + layout::SLOT_STAMP + 4);
        window.read_bytes(slot + layout::SLOT_PAYLOAD, &mut out[..length as usize]);
        return Ok(Sample { number, length, stamp: u64::from(high) << 32 | u64::from(low) });
    }
    Err(ReadError::Raced)
}

/// One writer (thread 0) and readers (threads 1..).
struct SamplingModel {
    message_size: u32,
    /// Every message: the first `pre` written before the search starts.
    messages: Vec<(Vec<u8>, u64)>,
    /// Their numbers.
    numbers: Vec<u32>,
    pre: usize,
    /// Reads per reader.
    reads: Vec<u32>,
    write: WriteFn,
    read: ReadFn,
    /// What some interleaving produced: "ok <index>", "raced", "empty".
    seen: RefCell<BTreeSet<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Ghost {
    /// Per thread: the writer's position when its current read began.
    start: Vec<Position>,
    /// Per thread: whether the writer stored during its current read.
    wrote: Vec<bool>,
    /// Per thread: whether a read is under way.
    active: Vec<bool>,
}

#[derive(Debug)]
enum Outcome {
    Write(Result<u32, WriteError>),
    Read(Result<Sample, ReadError>, Vec<u8>),
}

impl SamplingModel {
    fn new(message_size: u32, lengths: &[u32], reads: &[u32]) -> SamplingModel {
        let messages = lengths
            .iter()
            .enumerate()
            .map(|(i, &length)| {
                let payload = (0..length).map(|k| (0x10 * (i as u32 + 1) + k) as u8).collect();
                (payload, 0x1111_0000_0000_0000 * (i as u64 + 1) + i as u64 + 0x100)
            })
            .collect();
        SamplingModel {
            message_size,
            messages,
            numbers: Vec::new(),
            pre: 0,
            reads: reads.to_vec(),
            write: real_write,
            read: real_read,
            seen: RefCell::new(BTreeSet::new()),
        }
    }

    fn with(mut self, write: WriteFn, read: ReadFn) -> SamplingModel {
        self.write = write;
        self.read = read;
        self
    }

    /// The starting window: `latest` = `latest`, then the first `pre`
    /// messages written (with the real writer, no reader about).
    fn prepare(&mut self, latest: u32, pre: usize) -> Vec<u8> {
        let window = ModelWindow::new(layout::sampling_window_size(self.message_size));
        window.set_word(layout::SAMPLING_LATEST, latest);
        let mut number = latest;
        self.numbers = self
            .messages
            .iter()
            .map(|_| {
                number = next_number(number);
                number
            })
            .collect();
        let writer = SamplingWriter::new(&window, self.message_size).unwrap();
        for (payload, stamp) in &self.messages[..pre] {
            writer.write(payload, *stamp).unwrap();
        }
        self.pre = pre;
        window.bytes()
    }

    fn ghost(&self) -> Ghost {
        let threads = self.threads();
        Ghost {
            start: vec![Position { op: 0, step: 0 }; threads],
            wrote: vec![false; threads],
            active: vec![false; threads],
        }
    }

    fn check(&self, number: u32, stamp: u64, bytes: &[u8], start: usize, end: usize) -> Result<usize, String> {
        let Some(index) = self.numbers.iter().position(|&n| n == number) else {
            return Err(format!("torn read: number {number} was never written"));
        };
        let (payload, written_stamp) = &self.messages[index];
        if bytes != payload.as_slice() || stamp != *written_stamp {
            return Err(format!(
                "torn read: message {number} came back as {bytes:x?} stamp {stamp:#x}, written as {payload:x?} stamp {written_stamp:#x}"
            ));
        }
        // Published while the read ran: index `published - 1` was latest.
        if index >= end || index + 1 < start.max(1) {
            return Err(format!("stale read: message {index} read while {start}..={end} were published"));
        }
        Ok(index)
    }
}

impl Model for SamplingModel {
    type Ghost = Ghost;
    type Outcome = Outcome;

    fn threads(&self) -> usize {
        1 + self.reads.len()
    }

    fn run(&self, _ghost: &Ghost, thread: usize, op: u32, window: &Probe<'_>) -> Option<Outcome> {
        if thread == 0 {
            let (payload, stamp) = self.messages.get(self.pre + op as usize)?;
            Some(Outcome::Write((self.write)(window, self.message_size, payload, *stamp)))
        } else if op < self.reads[thread - 1] {
            let mut out = vec![0; self.message_size as usize];
            let result = (self.read)(window, self.message_size, &mut out);
            out.truncate(result.map_or(0, |sample| sample.length as usize));
            Some(Outcome::Read(result, out))
        } else {
            None
        }
    }

    fn started(&self, ghost: &mut Ghost, thread: usize, now: &[Position]) {
        ghost.start[thread] = now[0];
        ghost.wrote[thread] = false;
        ghost.active[thread] = true;
    }

    fn accessed(&self, ghost: &mut Ghost, thread: usize, access: &Access) {
        if thread == 0 && access.stores() {
            for reader in 1..ghost.wrote.len() {
                ghost.wrote[reader] |= ghost.active[reader];
            }
        }
    }

    fn finished(
        &self,
        ghost: &mut Ghost,
        thread: usize,
        op: u32,
        outcome: Outcome,
        now: &[Position],
        _memory: &[u8],
    ) -> Result<(), String> {
        let published_at = |position: Position| self.pre + position.op as usize;
        match outcome {
            Outcome::Write(result) => {
                let expected = self.numbers[self.pre + op as usize];
                if result != Ok(expected) {
                    return Err(format!("write {op} returned {result:?}, expected Ok({expected})"));
                }
            }
            Outcome::Read(result, bytes) => {
                let (start, end) = (published_at(ghost.start[thread]), published_at(now[0]));
                let seen = match result {
                    Ok(sample) => {
                        if sample.length as usize != bytes.len() {
                            return Err(format!("read {sample:?} with {} bytes", bytes.len()));
                        }
                        let index = self.check(sample.number, sample.stamp, &bytes, start, end)?;
                        format!("ok {index}")
                    }
                    Err(ReadError::Empty) if start == 0 => "empty".to_string(),
                    Err(ReadError::Raced) if ghost.wrote[thread] => "raced".to_string(),
                    Err(error) => {
                        return Err(format!(
                            "read {op} of thread {thread}: {error:?} (published {start}..={end}, writer stored: {})",
                            ghost.wrote[thread]
                        ));
                    }
                };
                self.seen.borrow_mut().insert(seen);
                ghost.active[thread] = false;
                ghost.wrote[thread] = false;
                ghost.start[thread] = Position { op: 0, step: 0 };
            }
        }
        Ok(())
    }

    fn ended(&self, _ghost: &Ghost, _memory: &[u8]) -> Result<(), String> {
        Ok(())
    }
}

fn check(name: &str, model: &mut SamplingModel, latest: u32, pre: usize) -> Stats {
    let memory = model.prepare(latest, pre);
    let ghost = model.ghost();
    let stats = explore(&*model, memory, ghost).unwrap_or_else(|error| panic!("{name}: {error}"));
    println!(
        "sampling {name}: {} interleavings checked ({} states, {} steps), outcomes {:?}",
        stats.interleavings,
        stats.states,
        stats.transitions,
        model.seen.borrow()
    );
    stats
}

fn seen(model: &SamplingModel, what: &str) -> bool {
    model.seen.borrow().contains(what)
}

#[test]
fn three_writes_against_two_reads() {
    // 8-byte messages (two payload words), lengths varied: slot 1 is reused
    // by message 3 while a reader may still be in message 1.
    let mut model = SamplingModel::new(8, &[8, 5, 8], &[2]);
    let stats = check("3 writes x 2 reads, 8 bytes", &mut model, 0, 0);
    assert!(stats.interleavings > 1_000_000);
    for what in ["empty", "ok 0", "ok 1", "ok 2"] {
        assert!(seen(&model, what), "{what} never happened");
    }
}

#[test]
fn two_writes_against_two_readers() {
    let mut model = SamplingModel::new(8, &[8, 3], &[1, 1]);
    check("2 writes x 2 readers of 1 read, 8 bytes", &mut model, 0, 0);
    for what in ["empty", "ok 0", "ok 1"] {
        assert!(seen(&model, what), "{what} never happened");
    }
}

#[test]
fn a_fast_writer_makes_a_reader_race() {
    // Three failed attempts need the writer to start three slot reuses
    // during one read (messages 3, 4 and 5 while the reader tries 1, 2, 3):
    // five writes.
    let mut model = SamplingModel::new(4, &[4, 4, 4, 4, 4], &[1]);
    check("5 writes x 1 read, 4 bytes", &mut model, 0, 0);
    assert!(seen(&model, "raced"), "never raced");
    assert!(seen(&model, "ok 4") && seen(&model, "ok 0"));
}

#[test]
fn across_the_number_wrap() {
    // Message u32::MAX - 1 already there; then u32::MAX, then 2.
    let mut model = SamplingModel::new(4, &[4, 2, 4, 3], &[2]);
    check("wrap: 3 writes x 2 reads after u32::MAX - 1", &mut model, u32::MAX - 2, 1);
    assert_eq!(model.numbers, [u32::MAX - 1, u32::MAX, 2, 3]);
    assert!(!seen(&model, "empty"));
}

#[test]
fn the_memo_counts_what_a_plain_walk_counts() {
    let mut model = SamplingModel::new(4, &[4, 2], &[1]);
    let memory = model.prepare(0, 0);
    let remembered = explore(&model, memory.clone(), model.ghost()).unwrap();
    let walked = explore_without_memo(&model, memory, model.ghost()).unwrap();
    println!(
        "sampling memo check: {} interleavings both ways ({} states vs {} walked)",
        walked.interleavings, remembered.states, walked.states
    );
    assert_eq!(remembered.interleavings, walked.interleavings);
    assert!(remembered.states < walked.states);
    assert!(walked.interleavings > 1000);
}

fn mutant_caught(name: &str, write: WriteFn, read: ReadFn, lengths: &[u32], reads: &[u32]) -> String {
    let mut model = SamplingModel::new(8, lengths, reads).with(write, read);
    let memory = model.prepare(0, 0);
    let ghost = model.ghost();
    let error = explore(&model, memory, ghost).expect_err(name);
    println!("sampling mutant {name} caught: {}", error.lines().next().unwrap());
    error
}

#[test]
fn a_writer_publishing_before_the_payload_is_caught() {
    let error = mutant_caught("publishes first", write_publishing_first, real_read, &[8, 8], &[1]);
    assert!(error.starts_with("torn read"), "{error}");
}

#[test]
fn a_writer_not_marking_the_slot_busy_is_caught() {
    let error = mutant_caught("no odd sequence", write_without_busy_mark, real_read, &[8, 8, 8], &[1]);
    assert!(error.starts_with("torn read"), "{error}");
}

#[test]
fn a_reader_not_checking_again_is_caught() {
    let error = mutant_caught("no second check", real_write, read_without_recheck, &[8, 8, 8], &[1]);
    assert!(error.starts_with("torn read"), "{error}");
}
