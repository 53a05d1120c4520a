//! Properties over random operation sequences: honest ones against a
//! reference model, and ones with a malicious peer writing garbage into the
//! window between (and before) them.
//!
//! Every window here is a [`ModelWindow`], which fails the test on any
//! access outside the window or misaligned; a panic anywhere in the crate
//! fails it too. So each property also says: no panic, no out-of-window
//! offset, whatever the window held.

use std::collections::VecDeque;
use std::vec;
use std::vec::Vec;

use proptest::collection::vec as vec_of;
use proptest::prelude::*;

use super::{ModelWindow, Op};
use crate::layout;
use crate::queuing::{AckError, QueueReceiver, QueueSender, ReceiveError, SendError, ack};
use crate::sampling::{READ_ATTEMPTS, ReadError, SamplingReader, SamplingWriter, WriteError, next_number};

#[derive(Clone, Debug)]
enum SamplingOp {
    Write(Vec<u8>, u64),
    Read(usize),
    /// A peer's store of `value` at word `word` (modulo the window).
    Poke(u32, u32),
    /// A peer's forgery of a message the reader will accept: `latest` and
    /// the slot's sequence consistent, the rest as it is.
    Forge(u32),
    /// A peer's store of `length` into a slot.
    Length(u32, u32),
}

fn sampling_op(garbage: bool) -> BoxedStrategy<SamplingOp> {
    let honest = prop_oneof![
        (vec_of(any::<u8>(), 0..28), any::<u64>()).prop_map(|(p, s)| SamplingOp::Write(p, s)),
        (0usize..28).prop_map(SamplingOp::Read),
    ];
    if !garbage {
        return honest.boxed();
    }
    let lengths = prop_oneof![Just(0), 0u32..30, Just(u32::MAX), Just(0x8000_0000), any::<u32>()];
    prop_oneof![
        3 => honest,
        2 => (any::<u32>(), any::<u32>()).prop_map(|(w, v)| SamplingOp::Poke(w, v)),
        1 => any::<u32>().prop_map(SamplingOp::Forge),
        1 => (0u32..2, lengths).prop_map(|(s, l)| SamplingOp::Length(s, l)),
    ]
    .boxed()
}

proptest! {
    /// Honest writer and reader, sequential: each read returns the last
    /// write exactly, and each error is the one the reference predicts.
    #[test]
    fn sampling_matches_a_reference(message_size in 1u32..=24, ops in vec_of(sampling_op(false), 0..40)) {
        let w = ModelWindow::new(layout::sampling_window_size(message_size));
        let writer = SamplingWriter::new(&w, message_size).unwrap();
        let reader = SamplingReader::new(&w, message_size).unwrap();
        let mut last: Option<(u32, Vec<u8>, u64)> = None;
        for op in ops {
            match op {
                SamplingOp::Write(payload, stamp) => {
                    let result = writer.write(&payload, stamp);
                    if payload.len() > message_size as usize {
                        prop_assert_eq!(result, Err(WriteError::TooLong));
                    } else {
                        let number = next_number(last.as_ref().map_or(0, |m| m.0));
                        prop_assert_eq!(result, Ok(number));
                        last = Some((number, payload, stamp));
                    }
                }
                SamplingOp::Read(buffer) => {
                    let mut out = vec![0; buffer];
                    let result = reader.read(&mut out);
                    match &last {
                        None => prop_assert_eq!(result, Err(ReadError::Empty)),
                        Some((_, payload, _)) if payload.len() > buffer => {
                            prop_assert_eq!(result, Err(ReadError::BufferTooSmall));
                        }
                        Some((number, payload, stamp)) => {
                            let sample = result.unwrap();
                            prop_assert_eq!((sample.number, sample.length, sample.stamp), (*number, payload.len() as u32, *stamp));
                            prop_assert_eq!(&out[..payload.len()], payload.as_slice());
                        }
                    }
                }
                _ => unreachable!(),
            }
        }
    }

    /// A window full of garbage, and a peer storing more between the
    /// operations: reads stay bounded, never store, never leave the window
    /// or the buffer; and a write always repairs the channel, so that the
    /// read right after it returns exactly that message.
    #[test]
    fn sampling_under_garbage(
        message_size in 1u32..=24,
        seed in vec_of(any::<u8>(), 224),
        ops in vec_of(sampling_op(true), 0..40),
    ) {
        let size = layout::sampling_window_size(message_size);
        let w = ModelWindow::from_bytes(seed[..size as usize].to_vec());
        let writer = SamplingWriter::new(&w, message_size).unwrap();
        let reader = SamplingReader::new(&w, message_size).unwrap();
        for op in ops {
            match op {
                SamplingOp::Write(payload, stamp) => {
                    if let Ok(number) = writer.write(&payload, stamp) {
                        let mut out = vec![0; message_size as usize];
                        let sample = reader.read(&mut out).unwrap();
                        prop_assert_eq!((sample.number, sample.length, sample.stamp), (number, payload.len() as u32, stamp));
                        prop_assert_eq!(&out[..payload.len()], payload.as_slice());
                    }
                }
                SamplingOp::Read(buffer) => {
                    w.take_log();
                    let mut out = vec![0; buffer];
                    let result = reader.read(&mut out);
                    let log = w.take_log();
                    prop_assert!(log.iter().all(|op| !op.stores()));
                    prop_assert!(log.len() <= 9 * READ_ATTEMPTS as usize);
                    if let Ok(sample) = result {
                        prop_assert!(sample.length <= message_size && sample.length as usize <= buffer);
                        prop_assert!(sample.number != 0);
                    }
                }
                SamplingOp::Poke(word, value) => w.set_word(word % (size / 4) * 4, value),
                SamplingOp::Forge(number) => {
                    w.set_word(layout::SAMPLING_LATEST, number);
                    w.set_word(layout::sampling_slot(message_size, number & 1), number.wrapping_mul(2));
                }
                SamplingOp::Length(slot, length) => {
                    w.set_word(layout::sampling_slot(message_size, slot) + layout::SLOT_LENGTH, length);
                }
            }
        }
    }
}

#[derive(Clone, Debug)]
enum QueueOp {
    Send(Vec<u8>),
    /// Reader (modulo the readers), buffer size.
    Receive(u32, usize),
    /// The reader acknowledges what it received last.
    AckLast(u32),
    /// The reader passes its count plus this to `QueueAck` (a reader may
    /// pass anything; a small distance is the interesting part).
    AckBy(u32, u32),
    /// A peer's store at word `word` (modulo the window).
    Poke(u32, u32),
    /// A peer's store into a reader's counts (0 written, 1 overflows, 2
    /// consumed) or a slot's length (3).
    Field(u32, u32, u32),
}

fn queue_op(garbage: bool) -> BoxedStrategy<QueueOp> {
    let deltas = prop_oneof![0u32..7, any::<u32>()];
    let honest = prop_oneof![
        3 => vec_of(any::<u8>(), 0..20).prop_map(QueueOp::Send),
        3 => (0u32..4, 0usize..20).prop_map(|(r, b)| QueueOp::Receive(r, b)),
        2 => (0u32..4).prop_map(QueueOp::AckLast),
        1 => (0u32..4, deltas).prop_map(|(r, d)| QueueOp::AckBy(r, d)),
    ];
    if !garbage {
        return honest.boxed();
    }
    let values = prop_oneof![0u32..8, Just(u32::MAX), Just(u32::MAX - 1), any::<u32>()];
    prop_oneof![
        3 => honest,
        1 => (any::<u32>(), any::<u32>()).prop_map(|(w, v)| QueueOp::Poke(w, v)),
        2 => (0u32..4, 0u32..4, values).prop_map(|(r, f, v)| QueueOp::Field(r, f, v)),
    ]
    .boxed()
}

/// `to - from` modulo `period`.
fn distance(period: u64, from: u32, to: u32) -> u64 {
    (u64::from(to) + period - u64::from(from)) % period
}

proptest! {
    /// Honest sender, receivers and kernel, sequential, from any starting
    /// count (so across the wrap too): every message is delivered to each
    /// reader with room, in order, the full ones are counted, and every
    /// `QueueAck` is accepted or refused exactly as the rule says.
    #[test]
    fn queuing_matches_a_reference(
        message_size in 1u32..=16,
        depth in 1u32..=4,
        readers in 1u32..=3,
        start_kind in 0u8..3,
        start_raw in any::<u64>(),
        ops in vec_of(queue_op(false), 0..60),
    ) {
        let period = layout::queue_count_period(depth);
        // Zero (a fresh window), just before the wrap, or anywhere.
        let start = match start_kind {
            0 => 0,
            1 => period - 1 - start_raw % 7,
            _ => start_raw % period,
        } as u32;
        let w = ModelWindow::new(layout::queuing_window_size(message_size, depth, readers));
        for reader in 0..readers {
            let ring = layout::ring(message_size, depth, reader);
            w.set_word(ring + layout::RING_WRITTEN, start);
            w.set_word(ring + layout::RING_CONSUMED, start);
        }
        let sender = QueueSender::new(&w, message_size, depth, readers).unwrap();
        let receivers: Vec<_> = (0..readers).map(|r| QueueReceiver::new(&w, message_size, depth, r).unwrap()).collect();
        let mut queues = vec![VecDeque::<Vec<u8>>::new(); readers as usize];
        let mut consumed = vec![start; readers as usize];
        let mut missed = vec![0u32; readers as usize];
        let mut last = vec![None; readers as usize];
        for op in ops {
            match op {
                QueueOp::Send(payload) => {
                    let result = sender.send(&payload);
                    if payload.len() > message_size as usize {
                        prop_assert_eq!(result, Err(SendError::TooLong));
                        continue;
                    }
                    let mut full = 0;
                    for (reader, queue) in queues.iter_mut().enumerate() {
                        if queue.len() == depth as usize {
                            full |= 1 << reader;
                            missed[reader] += 1;
                        } else {
                            queue.push_back(payload.clone());
                        }
                    }
                    prop_assert_eq!(result, if full == 0 { Ok(()) } else { Err(SendError::Full { readers: full }) });
                }
                QueueOp::Receive(reader, buffer) => {
                    let r = (reader % readers) as usize;
                    let mut out = vec![0; buffer];
                    let result = receivers[r].receive(&mut out);
                    prop_assert_eq!(receivers[r].pending() as usize, queues[r].len());
                    match queues[r].front() {
                        None => prop_assert_eq!(result, Err(ReceiveError::Empty)),
                        Some(message) if message.len() > buffer => prop_assert_eq!(result, Err(ReceiveError::BufferTooSmall)),
                        Some(message) => {
                            let received = result.unwrap();
                            prop_assert_eq!(&out[..received.length as usize], message.as_slice());
                            prop_assert_eq!(u64::from(received.consumed_after), (u64::from(consumed[r]) + 1) % period);
                            last[r] = Some(received.consumed_after);
                        }
                    }
                }
                QueueOp::AckLast(reader) | QueueOp::AckBy(reader, _) => {
                    let r = (reader % readers) as usize;
                    let count = match op {
                        QueueOp::AckBy(_, delta) => ((u64::from(consumed[r]) + u64::from(delta)) % (1 << 32)) as u32,
                        _ => match last[r] {
                            Some(count) => count,
                            None => continue,
                        },
                    };
                    let advance = distance(period, consumed[r], count);
                    let valid = u64::from(count) < period && advance >= 1 && advance <= queues[r].len() as u64;
                    let result = ack(&w, message_size, depth, r as u32, count);
                    prop_assert_eq!(result, if valid { Ok(()) } else { Err(AckError::BadCount) });
                    if valid {
                        queues[r].drain(..advance as usize);
                        consumed[r] = count;
                    }
                }
                _ => unreachable!(),
            }
        }
        for r in 0..readers as usize {
            prop_assert_eq!(receivers[r].overflows(), missed[r]);
            prop_assert_eq!(sender.overflows(r as u32), missed[r]);
        }
    }

    /// A window full of garbage, a peer storing more between operations:
    /// every side stays bounded and in the window; receivers never store;
    /// the kernel's `ack` stores at most the reader's `consumed`; whatever
    /// a receive returns fits the channel and the buffer.
    #[test]
    fn queuing_under_garbage(
        message_size in 1u32..=16,
        depth in 1u32..=4,
        readers in 1u32..=3,
        seed in vec_of(any::<u8>(), 1024),
        ops in vec_of(queue_op(true), 0..60),
    ) {
        let size = layout::queuing_window_size(message_size, depth, readers);
        let w = ModelWindow::from_bytes(seed[..size as usize].to_vec());
        let sender = QueueSender::new(&w, message_size, depth, readers).unwrap();
        let receivers: Vec<_> = (0..readers).map(|r| QueueReceiver::new(&w, message_size, depth, r).unwrap()).collect();
        let mut last = vec![None; readers as usize];
        for op in ops {
            w.take_log();
            match op {
                QueueOp::Send(payload) => {
                    let _ = sender.send(&payload);
                    prop_assert!(w.take_log().len() <= 7 * readers as usize);
                }
                QueueOp::Receive(reader, buffer) => {
                    let r = (reader % readers) as usize;
                    let mut out = vec![0; buffer];
                    let result = receivers[r].receive(&mut out);
                    prop_assert!(receivers[r].pending() <= depth);
                    let _ = receivers[r].skip();
                    let log = w.take_log();
                    prop_assert!(log.iter().all(|op| !op.stores()));
                    prop_assert!(log.len() <= 5 + 2 + 2);
                    if let Ok(received) = result {
                        prop_assert!(received.length <= message_size && received.length as usize <= buffer);
                        last[r] = Some(received.consumed_after);
                    }
                }
                QueueOp::AckLast(reader) | QueueOp::AckBy(reader, _) => {
                    let r = reader % readers;
                    let count = match (op, last[r as usize]) {
                        (QueueOp::AckBy(_, delta), _) => delta,
                        (_, Some(count)) => count,
                        _ => continue,
                    };
                    let result = ack(&w, message_size, depth, r, count);
                    let consumed = layout::ring(message_size, depth, r) + layout::RING_CONSUMED;
                    let stores: Vec<Op> = w.take_log().into_iter().filter(Op::stores).collect();
                    if result.is_ok() {
                        prop_assert_eq!(stores, vec![Op::Store(consumed, count)]);
                    } else {
                        prop_assert!(stores.is_empty());
                    }
                }
                QueueOp::Poke(word, value) => w.set_word(word % (size / 4) * 4, value),
                QueueOp::Field(reader, field, value) => {
                    let ring = layout::ring(message_size, depth, reader % readers);
                    let offset = match field {
                        0 => ring + layout::RING_WRITTEN,
                        1 => ring + layout::RING_OVERFLOWS,
                        2 => ring + layout::RING_CONSUMED,
                        _ => ring + layout::ring_slot(message_size, value % depth) + layout::QUEUE_SLOT_LENGTH,
                    };
                    w.set_word(offset, value);
                }
            }
        }
    }
}
