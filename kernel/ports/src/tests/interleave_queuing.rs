//! Every interleaving of a queuing sender, its receivers and the kernel's
//! `ack`, word by word.
//!
//! Thread 0 sends its messages; thread `r + 1` is reader `r`: it receives,
//! and after each message it gets makes the `QueueAck` call, which runs
//! the kernel's [`ack`] in the same thread (the kernel serves the hypercall
//! on the reader's core) with its loads and its store as steps of their
//! own, interleaved with the sender's. Checked:
//!
//! - each message received is one sent message whole (else "torn");
//! - every `ack` of an honest count is accepted;
//! - at the end (after draining what is left in each ring), each reader
//!   got exactly the messages sent minus those reported `Full` for it, in
//!   order, none twice (else "lost or reordered"), and its `overflows`
//!   count equals the number of `Full` reports for it.
//!
//! Mutants of the sender with one ordering mistake each must be caught.

use core::cell::RefCell;
use std::collections::BTreeSet;
use std::string::String;
use std::vec::Vec;
use std::{format, println, vec};

use super::ModelWindow;
use super::explore::{Model, Position, Probe, Stats, explore, explore_without_memo};
use crate::layout;
use crate::queuing::{AckError, QueueReceiver, QueueSender, ReceiveError, Received, SendError, ack};
use crate::window::Window;

type SendFn = fn(&Probe<'_>, &Geometry, &[u8]) -> Result<(), SendError>;

#[derive(Clone, Copy, Debug)]
struct Geometry {
    message_size: u32,
    depth: u32,
    readers: u32,
}

fn real_send(window: &Probe<'_>, geometry: &Geometry, payload: &[u8]) -> Result<(), SendError> {
    QueueSender::new(window, geometry.message_size, geometry.depth, geometry.readers).unwrap().send(payload)
}

/// Mutant: publishes `written` before copying the message in.
fn send_publishing_first(window: &Probe<'_>, geometry: &Geometry, payload: &[u8]) -> Result<(), SendError> {
    let Geometry { message_size, depth, readers } = *geometry;
    let mut full = 0;
    for reader in 0..readers {
        let ring = layout::ring(message_size, depth, reader);
        let written = window.load(ring + layout::RING_WRITTEN);
        let consumed = window.load(ring + layout::RING_CONSUMED);
        if written.wrapping_sub(consumed) >= depth {
            let overflows = window.load(ring + layout::RING_OVERFLOWS);
            window.store(ring + layout::RING_OVERFLOWS, overflows + 1);
            full |= 1 << reader;
            continue;
        }
        let slot = ring + layout::ring_slot(message_size, written % depth);
        window.store(ring + layout::RING_WRITTEN, written.wrapping_add(1));
        window.store(slot + layout::QUEUE_SLOT_LENGTH, payload.len() as u32);
        window.write_bytes(slot + layout::QUEUE_SLOT_PAYLOAD, payload);
    }
    if full == 0 { Ok(()) } else { Err(SendError::Full { readers: full }) }
}

/// Mutant: never looks at `consumed`, so it overwrites unread messages.
fn send_ignoring_consumed(window: &Probe<'_>, geometry: &Geometry, payload: &[u8]) -> Result<(), SendError> {
    let Geometry { message_size, depth, readers } = *geometry;
    for reader in 0..readers {
        let ring = layout::ring(message_size, depth, reader);
        let written = window.load(ring + layout::RING_WRITTEN);
        let slot = ring + layout::ring_slot(message_size, written % depth);
        window.store(slot + layout::QUEUE_SLOT_LENGTH, payload.len() as u32);
        window.write_bytes(slot + layout::QUEUE_SLOT_PAYLOAD, payload);
        window.store(ring + layout::RING_WRITTEN, written.wrapping_add(1));
    }
    Ok(())
}

struct QueueModel {
    geometry: Geometry,
    messages: Vec<Vec<u8>>,
    /// Receive attempts per reader.
    receives: Vec<u32>,
    send: SendFn,
    /// What some interleaving produced.
    seen: RefCell<BTreeSet<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Ghost {
    /// The `Full` mask of each finished send.
    full: Vec<u32>,
    /// Per reader: the indices of the messages received, in order.
    received: Vec<Vec<u8>>,
    /// Per reader: the count to acknowledge next, if it holds a message.
    to_ack: Vec<Option<u32>>,
    /// Per reader: receive attempts made.
    attempts: Vec<u32>,
}

#[derive(Debug)]
enum Outcome {
    Send(Result<(), SendError>),
    Receive(Result<Received, ReceiveError>, Vec<u8>),
    Ack(Result<(), AckError>),
}

impl QueueModel {
    fn new(message_size: u32, depth: u32, lengths: &[u32], receives: &[u32]) -> QueueModel {
        let messages = lengths
            .iter()
            .enumerate()
            .map(|(i, &length)| (0..length).map(|k| (0x10 * (i as u32 + 1) + k) as u8).collect())
            .collect();
        let geometry = Geometry { message_size, depth, readers: receives.len() as u32 };
        QueueModel {
            geometry,
            messages,
            receives: receives.to_vec(),
            send: real_send,
            seen: RefCell::new(BTreeSet::new()),
        }
    }

    /// The starting window: every ring's counts at `count` (empty).
    fn memory(&self, count: u32) -> Vec<u8> {
        let Geometry { message_size, depth, readers } = self.geometry;
        let window = ModelWindow::new(layout::queuing_window_size(message_size, depth, readers));
        for reader in 0..readers {
            let ring = layout::ring(message_size, depth, reader);
            window.set_word(ring + layout::RING_WRITTEN, count);
            window.set_word(ring + layout::RING_CONSUMED, count);
        }
        window.bytes()
    }

    fn ghost(&self) -> Ghost {
        let readers = self.receives.len();
        Ghost {
            full: Vec::new(),
            received: vec![Vec::new(); readers],
            to_ack: vec![None; readers],
            attempts: vec![0; readers],
        }
    }

    fn identify(&self, bytes: &[u8]) -> Result<u8, String> {
        match self.messages.iter().position(|message| message.as_slice() == bytes) {
            Some(index) => Ok(index as u8),
            None => Err(format!("torn receive: {bytes:x?} was never sent")),
        }
    }

    fn receiver<'w, W: Window>(&self, window: &'w W, reader: u32) -> QueueReceiver<&'w W> {
        QueueReceiver::new(window, self.geometry.message_size, self.geometry.depth, reader).unwrap()
    }
}

impl Model for QueueModel {
    type Ghost = Ghost;
    type Outcome = Outcome;

    fn threads(&self) -> usize {
        1 + self.receives.len()
    }

    fn run(&self, ghost: &Ghost, thread: usize, op: u32, window: &Probe<'_>) -> Option<Outcome> {
        if thread == 0 {
            let payload = self.messages.get(op as usize)?;
            return Some(Outcome::Send((self.send)(window, &self.geometry, payload)));
        }
        let reader = thread - 1;
        if let Some(count) = ghost.to_ack[reader] {
            let Geometry { message_size, depth, .. } = self.geometry;
            return Some(Outcome::Ack(ack(window, message_size, depth, reader as u32, count)));
        }
        if ghost.attempts[reader] == self.receives[reader] {
            return None;
        }
        let mut out = vec![0; self.geometry.message_size as usize];
        let result = self.receiver(window, reader as u32).receive(&mut out);
        out.truncate(result.map_or(0, |received| received.length as usize));
        Some(Outcome::Receive(result, out))
    }

    fn finished(
        &self,
        ghost: &mut Ghost,
        thread: usize,
        _op: u32,
        outcome: Outcome,
        _now: &[Position],
        _memory: &[u8],
    ) -> Result<(), String> {
        let reader = thread.wrapping_sub(1);
        match outcome {
            Outcome::Send(Ok(())) => ghost.full.push(0),
            Outcome::Send(Err(SendError::Full { readers })) => {
                self.seen.borrow_mut().insert(format!("full {readers:#b}"));
                ghost.full.push(readers);
            }
            Outcome::Send(Err(error)) => return Err(format!("send: {error:?}")),
            Outcome::Receive(Ok(received), bytes) => {
                let index = self.identify(&bytes)?;
                ghost.received[reader].push(index);
                ghost.to_ack[reader] = Some(received.consumed_after);
                ghost.attempts[reader] += 1;
                self.seen.borrow_mut().insert(format!("reader {reader} got {index}"));
            }
            Outcome::Receive(Err(ReceiveError::Empty), _) => {
                ghost.attempts[reader] += 1;
                self.seen.borrow_mut().insert(format!("reader {reader} empty"));
            }
            Outcome::Receive(Err(error), _) => return Err(format!("reader {reader}: {error:?}")),
            Outcome::Ack(Ok(())) => ghost.to_ack[reader] = None,
            Outcome::Ack(Err(error)) => return Err(format!("reader {reader}'s honest ack refused: {error:?}")),
        }
        Ok(())
    }

    fn ended(&self, ghost: &Ghost, memory: &[u8]) -> Result<(), String> {
        let window = ModelWindow::from_bytes(memory.to_vec());
        let Geometry { message_size, depth, .. } = self.geometry;
        for (reader, received) in ghost.received.iter().enumerate() {
            let mut received = received.clone();
            let receiver = self.receiver(&window, reader as u32);
            let mut out = vec![0; message_size as usize];
            for _ in 0..=depth {
                match receiver.receive(&mut out) {
                    Ok(message) => {
                        received.push(self.identify(&out[..message.length as usize])?);
                        ack(&window, message_size, depth, reader as u32, message.consumed_after)
                            .map_err(|error| format!("draining ack: {error:?}"))?;
                    }
                    Err(ReceiveError::Empty) => break,
                    Err(error) => return Err(format!("draining reader {reader}: {error:?}")),
                }
            }
            let bit = 1 << reader;
            let expected: Vec<u8> =
                (0..self.messages.len() as u8).filter(|&i| ghost.full[i as usize] & bit == 0).collect();
            if received != expected {
                return Err(format!("lost or reordered: reader {reader} got {received:?}, sent to it {expected:?}"));
            }
            let missed = ghost.full.iter().filter(|&&mask| mask & bit != 0).count() as u32;
            if receiver.overflows() != missed {
                return Err(format!("reader {reader}: overflows {} for {missed} full reports", receiver.overflows()));
            }
        }
        Ok(())
    }
}

fn check(name: &str, model: &QueueModel, count: u32) -> Stats {
    let stats = explore(model, model.memory(count), model.ghost()).unwrap_or_else(|error| panic!("{name}: {error}"));
    println!(
        "queuing {name}: {} interleavings checked ({} states, {} steps), outcomes {:?}",
        stats.interleavings,
        stats.states,
        stats.transitions,
        model.seen.borrow()
    );
    stats
}

fn seen(model: &QueueModel, what: &str) -> bool {
    model.seen.borrow().contains(what)
}

#[test]
fn three_sends_against_receives_and_acks() {
    // Depth 2: the third message finds the ring full unless the reader
    // acknowledged one in time.
    let model = QueueModel::new(8, 2, &[8, 5, 8, 7], &[4]);
    let stats = check("4 sends, depth 2, 8 bytes, 1 reader x 4 receives", &model, 0);
    assert!(stats.interleavings > 1_000_000);
    for what in ["full 0b1", "reader 0 got 3", "reader 0 empty"] {
        assert!(seen(&model, what), "{what} never happened");
    }
}

#[test]
fn two_readers_one_slow() {
    // Reader 1 tries once: its ring of one slot is full for any message
    // after the first it has not taken, while reader 0 keeps up or not.
    let model = QueueModel::new(4, 1, &[4, 3, 4], &[3, 1]);
    check("3 sends, depth 1, 4 bytes, readers x 3 and x 1 receives", &model, 0);
    for what in ["full 0b10", "full 0b11", "full 0b1", "reader 0 got 2", "reader 1 got 0", "reader 1 empty"] {
        assert!(seen(&model, what), "{what} never happened");
    }
}

#[test]
fn two_readers_one_slow_deeper() {
    let model = QueueModel::new(4, 2, &[4, 3, 4, 2], &[3, 1]);
    check("4 sends, depth 2, 4 bytes, readers x 3 and x 1 receives", &model, 0);
    for what in ["full 0b10", "full 0b11", "reader 0 got 3", "reader 1 got 0"] {
        assert!(seen(&model, what), "{what} never happened");
    }
}

#[test]
fn across_the_count_wrap() {
    // Depth 3 does not divide 2^32: counts wrap at the period, 2^32 - 1,
    // and messages P - 2, P - 1, 0 go to slots 1, 2, 0.
    let period = layout::queue_count_period(3) as u32;
    assert_eq!(period, u32::MAX);
    let model = QueueModel::new(4, 3, &[4, 2, 4, 1], &[2]);
    check("wrap: 4 sends, depth 3, 1 reader x 2 receives, counts from 2^32 - 3", &model, period - 2);
    assert!(seen(&model, "full 0b1") && seen(&model, "reader 0 got 1"));
}

#[test]
fn the_memo_counts_what_a_plain_walk_counts() {
    let model = QueueModel::new(4, 1, &[4, 2], &[1]);
    let remembered = explore(&model, model.memory(0), model.ghost()).unwrap();
    let walked = explore_without_memo(&model, model.memory(0), model.ghost()).unwrap();
    println!(
        "queuing memo check: {} interleavings both ways ({} states vs {} walked)",
        walked.interleavings, remembered.states, walked.states
    );
    assert_eq!(remembered.interleavings, walked.interleavings);
    assert!(walked.interleavings > 100);
}

fn mutant_caught(name: &str, send: SendFn, depth: u32, receives: &[u32]) -> String {
    let mut model = QueueModel::new(8, depth, &[8, 8, 8], receives);
    model.send = send;
    let error = explore(&model, model.memory(0), model.ghost()).expect_err(name);
    println!("queuing mutant {name} caught: {}", error.lines().next().unwrap());
    error
}

#[test]
fn a_sender_publishing_before_the_payload_is_caught() {
    let error = mutant_caught("publishes first", send_publishing_first, 2, &[2]);
    assert!(error.starts_with("torn receive"), "{error}");
}

#[test]
fn a_sender_overwriting_unread_messages_is_caught() {
    let error = mutant_caught("ignores consumed", send_ignoring_consumed, 2, &[1]);
    // Torn or lost, or (the first found) the receiver seeing more unread
    // messages than the ring holds and refusing them as corrupt.
    let caught = ["torn receive", "lost or reordered", "draining", "reader 0: Corrupt"];
    assert!(caught.iter().any(|what| error.starts_with(what)), "{error}");
}
