//! Queuing: each operation, each error, each malicious-peer case, and the
//! exact order of accesses and fences the module's docs describe.

use std::vec::Vec;

use super::{ModelWindow, Op};
use crate::layout::{
    self, GeometryError, QUEUE_SLOT_LENGTH, QUEUE_SLOT_PAYLOAD, RING_CONSUMED, RING_OVERFLOWS, RING_WRITTEN,
};
use crate::queuing::{AckError, QueueReceiver, QueueSender, ReceiveError, Received, SendError, ack};

const SIZE: u32 = 6;
const DEPTH: u32 = 3;
const READERS: u32 = 2;

fn window() -> ModelWindow {
    ModelWindow::new(layout::queuing_window_size(SIZE, DEPTH, READERS))
}

fn ring(reader: u32) -> u32 {
    layout::ring(SIZE, DEPTH, reader)
}

fn slot(reader: u32, index: u32) -> u32 {
    ring(reader) + layout::ring_slot(SIZE, index)
}

fn sender(w: &ModelWindow) -> QueueSender<&ModelWindow> {
    QueueSender::new(w, SIZE, DEPTH, READERS).unwrap()
}

fn receiver(w: &ModelWindow, reader: u32) -> QueueReceiver<&ModelWindow> {
    QueueReceiver::new(w, SIZE, DEPTH, reader).unwrap()
}

/// Receives and acknowledges one message of reader `reader`.
fn take(w: &ModelWindow, reader: u32) -> Result<Vec<u8>, ReceiveError> {
    let mut out = [0; SIZE as usize];
    let received = receiver(w, reader).receive(&mut out)?;
    ack(w, SIZE, DEPTH, reader, received.consumed_after).unwrap();
    Ok(out[..received.length as usize].to_vec())
}

#[test]
fn geometry_is_checked() {
    let w = window();
    assert_eq!(QueueSender::new(&w, SIZE, 0, 1).err(), Some(GeometryError::Depth));
    assert_eq!(QueueSender::new(&w, 0, DEPTH, 1).err(), Some(GeometryError::MessageSize));
    assert_eq!(QueueSender::new(&w, SIZE, DEPTH, 0).err(), Some(GeometryError::Readers));
    assert_eq!(QueueSender::new(&w, SIZE, DEPTH, READERS + 1).err(), Some(GeometryError::Window));
    assert_eq!(QueueReceiver::new(&w, SIZE, DEPTH, READERS).err(), Some(GeometryError::Window));
    assert_eq!(QueueReceiver::new(&w, SIZE, DEPTH, layout::MAX_READERS).err(), Some(GeometryError::Readers));
    assert_eq!(QueueReceiver::new(&w, SIZE, DEPTH, u32::MAX).err(), Some(GeometryError::Readers));
    assert_eq!(QueueReceiver::new(&w, SIZE, 0, 0).err(), Some(GeometryError::Depth));
    assert!(QueueReceiver::new(&w, SIZE, DEPTH, READERS - 1).is_ok());
}

#[test]
fn fifo_to_every_reader_round_the_ring() {
    let w = window();
    let tx = sender(&w);
    for round in 0..4u8 {
        for k in 0..DEPTH as u8 {
            tx.send(&[round, k, 0xAA][..1 + k as usize]).unwrap();
        }
        for reader in 0..READERS {
            assert_eq!(receiver(&w, reader).pending(), DEPTH);
            for k in 0..DEPTH as u8 {
                assert_eq!(take(&w, reader).unwrap(), [round, k, 0xAA][..1 + k as usize]);
            }
            assert_eq!(take(&w, reader), Err(ReceiveError::Empty));
        }
    }
    for reader in 0..READERS {
        assert_eq!(w.word(ring(reader) + RING_WRITTEN), 4 * DEPTH);
        assert_eq!(w.word(ring(reader) + RING_CONSUMED), 4 * DEPTH);
        assert_eq!(receiver(&w, reader).overflows(), 0);
    }
}

#[test]
fn receive_takes_nothing_until_acknowledged() {
    let w = window();
    sender(&w).send(b"one").unwrap();
    sender(&w).send(b"two").unwrap();
    let rx = receiver(&w, 0);
    let mut out = [0; SIZE as usize];
    w.take_log();
    assert_eq!(rx.receive(&mut out), Ok(Received { length: 3, consumed_after: 1 }));
    assert_eq!(rx.receive(&mut out), Ok(Received { length: 3, consumed_after: 1 }), "same message again");
    assert!(w.take_log().iter().all(|op| !op.stores()), "a receiver never stores");
    ack(&w, SIZE, DEPTH, 0, 1).unwrap();
    assert_eq!(rx.receive(&mut out), Ok(Received { length: 3, consumed_after: 2 }));
    assert_eq!(&out[..3], b"two");
}

#[test]
fn a_full_ring_overflows_and_the_others_still_get_it() {
    let w = window();
    let tx = sender(&w);
    for k in 0..DEPTH as u8 {
        tx.send(&[k]).unwrap();
    }
    // Reader 1 takes one; reader 0 none.
    assert_eq!(take(&w, 1).unwrap(), [0]);
    assert_eq!(tx.send(b"late"), Err(SendError::Full { readers: 0b01 }));
    assert_eq!(tx.send(b"later"), Err(SendError::Full { readers: 0b11 }));
    assert_eq!(tx.overflows(0), 2);
    assert_eq!(tx.overflows(1), 1);
    assert_eq!(tx.overflows(READERS), 0);
    assert_eq!(receiver(&w, 0).overflows(), 2);
    // Reader 0 has the first three, reader 1 the two left and "late".
    for k in 0..DEPTH as u8 {
        assert_eq!(take(&w, 0).unwrap(), [k]);
    }
    assert_eq!(take(&w, 1).unwrap(), [1]);
    assert_eq!(take(&w, 1).unwrap(), [2]);
    assert_eq!(take(&w, 1).unwrap(), b"late");
    assert_eq!(take(&w, 1), Err(ReceiveError::Empty));
}

#[test]
fn too_long_goes_to_nobody() {
    let w = window();
    assert_eq!(sender(&w).send(&[0; SIZE as usize + 1]), Err(SendError::TooLong));
    assert!(w.take_log().is_empty());
    assert!(sender(&w).send(&[7; SIZE as usize]).is_ok());
}

#[test]
fn buffer_too_small_and_skip() {
    let w = window();
    sender(&w).send(b"sixsix").unwrap();
    sender(&w).send(b"ok").unwrap();
    let rx = receiver(&w, 0);
    assert_eq!(rx.receive(&mut [0; 5]), Err(ReceiveError::BufferTooSmall));
    assert_eq!(rx.skip(), Ok(1));
    ack(&w, SIZE, DEPTH, 0, 1).unwrap();
    let mut out = [0; 5];
    assert_eq!(rx.receive(&mut out).unwrap().length, 2);
    ack(&w, SIZE, DEPTH, 0, 2).unwrap();
    assert_eq!(rx.skip(), Err(ReceiveError::Empty));
}

#[test]
fn counts_wrap_at_the_period() {
    let period = layout::queue_count_period(DEPTH) as u32;
    let w = window();
    for reader in 0..READERS {
        w.set_word(ring(reader) + RING_WRITTEN, period - 2);
        w.set_word(ring(reader) + RING_CONSUMED, period - 2);
    }
    let tx = sender(&w);
    for k in 0..DEPTH as u8 {
        tx.send(&[k]).unwrap();
    }
    // Messages P-2, P-1, 0 in slots 1, 2, 0: distinct, all there.
    assert_eq!((period - 2) % DEPTH, 1);
    assert_eq!(w.word(ring(0) + RING_WRITTEN), 1);
    assert_eq!(tx.send(b"full"), Err(SendError::Full { readers: 0b11 }));
    let rx = receiver(&w, 0);
    let mut out = [0; SIZE as usize];
    let mut counts = Vec::new();
    for k in 0..DEPTH as u8 {
        let received = rx.receive(&mut out).unwrap();
        assert_eq!(out[0], k);
        counts.push(received.consumed_after);
        ack(&w, SIZE, DEPTH, 0, received.consumed_after).unwrap();
    }
    assert_eq!(counts, [period - 1, 0, 1]);
    assert_eq!(rx.receive(&mut out), Err(ReceiveError::Empty));
}

#[test]
fn accesses_and_fences_are_where_the_docs_say() {
    let w = ModelWindow::new(layout::queuing_window_size(SIZE, DEPTH, 1));
    QueueSender::new(&w, SIZE, DEPTH, 1).unwrap().send(b"abc").unwrap();
    let r = ring(0);
    assert_eq!(
        w.take_log(),
        [
            Op::Load(r + RING_WRITTEN),
            Op::Load(r + RING_CONSUMED),
            Op::Fence, // S1
            Op::Store(slot(0, 0) + QUEUE_SLOT_LENGTH, 3),
            Op::Write(slot(0, 0) + QUEUE_SLOT_PAYLOAD, 3),
            Op::Fence, // S2
            Op::Store(r + RING_WRITTEN, 1),
        ]
    );
    let rx = QueueReceiver::new(&w, SIZE, DEPTH, 0).unwrap();
    let received = rx.receive(&mut [0; 6]).unwrap();
    assert_eq!(
        w.take_log(),
        [
            Op::Load(r + RING_CONSUMED),
            Op::Load(r + RING_WRITTEN),
            Op::Fence, // R1
            Op::Load(slot(0, 0) + QUEUE_SLOT_LENGTH),
            Op::Read(slot(0, 0) + QUEUE_SLOT_PAYLOAD, 3),
        ]
    );
    ack(&w, SIZE, DEPTH, 0, received.consumed_after).unwrap();
    assert_eq!(
        w.take_log(),
        [
            Op::Load(r + RING_CONSUMED),
            Op::Load(r + RING_WRITTEN),
            Op::Fence, // A1
            Op::Store(r + RING_CONSUMED, 1),
            Op::Fence, // A2
        ]
    );
    // A full ring: only the overflow count changes.
    let w = ModelWindow::new(layout::queuing_window_size(SIZE, 1, 1));
    let tx = QueueSender::new(&w, SIZE, 1, 1).unwrap();
    tx.send(b"a").unwrap();
    w.take_log();
    assert_eq!(tx.send(b"b"), Err(SendError::Full { readers: 1 }));
    let r = layout::ring(SIZE, 1, 0);
    assert_eq!(
        w.take_log(),
        [
            Op::Load(r + RING_WRITTEN),
            Op::Load(r + RING_CONSUMED),
            Op::Load(r + RING_OVERFLOWS),
            Op::Store(r + RING_OVERFLOWS, 1),
        ]
    );
}

// The kernel's `ack`: the reader chooses the count, the writer the window.

/// Runs `ack` and checks it stored nothing but reader `reader`'s
/// `consumed`, and that only when it accepted.
fn ack_checked(w: &ModelWindow, reader: u32, count: u32) -> Result<(), AckError> {
    let result = ack(w, SIZE, DEPTH, reader, count);
    let stores: Vec<Op> = w.take_log().into_iter().filter(Op::stores).collect();
    match result {
        Ok(()) => assert_eq!(stores, [Op::Store(ring(reader) + RING_CONSUMED, count)]),
        Err(_) => assert!(stores.is_empty(), "{stores:?}"),
    }
    result
}

#[test]
fn ack_checks_the_count() {
    let w = window();
    for k in 0..2u8 {
        sender(&w).send(&[k]).unwrap();
    }
    w.take_log();
    assert_eq!(ack_checked(&w, 0, 0), Err(AckError::BadCount), "no move");
    assert_eq!(ack_checked(&w, 0, 3), Err(AckError::BadCount), "past written");
    assert_eq!(ack_checked(&w, 0, u32::MAX), Err(AckError::BadCount), "backwards");
    assert_eq!(ack_checked(&w, 0, 2), Ok(()), "two at once");
    assert_eq!(ack_checked(&w, 0, 2), Err(AckError::BadCount), "again");
    assert_eq!(ack_checked(&w, 1, 1), Ok(()));
    assert_eq!(w.word(ring(1) + RING_CONSUMED), 1);
    assert_eq!(w.word(ring(0) + RING_CONSUMED), 2);
}

#[test]
fn ack_refuses_bad_geometry_without_touching_the_window() {
    let w = window();
    for (size, depth, reader) in [(SIZE, 0, 0), (0, DEPTH, 0), (SIZE, DEPTH, READERS), (SIZE, DEPTH, u32::MAX)] {
        assert_eq!(ack(&w, size, depth, reader, 1), Err(AckError::Geometry));
    }
    assert!(w.take_log().is_empty());
}

#[test]
fn ack_under_a_malicious_writer() {
    // The writer can set every word of the window; `ack` still stores only
    // the reader's `consumed`, and only within `depth` of what it found.
    let period = layout::queue_count_period(DEPTH) as u32;
    let cases = [
        // (consumed, written, count, accepted)
        (0, u32::MAX, 1, false),   // written not a count (>= period)
        (u32::MAX, 0, 0, false),   // consumed not a count
        (0, 100, 4, false),        // written too far ahead: at most depth
        (0, 100, 3, true),         // ... but up to depth is fine
        (period - 1, 1, 1, true),  // across the wrap
        (period - 1, 1, 2, false), // past written across the wrap
        (5, 2, 6, true),           // written behind consumed: up to depth, as for any
        // corrupt distance (harmless: the ring is the writer's)
        (5, 2, 9, false), // ... and no further
        (7, 7, 8, false), // nothing to take
    ];
    for (consumed, written, count, accepted) in cases {
        let w = window();
        w.set_word(ring(1) + RING_CONSUMED, consumed);
        w.set_word(ring(1) + RING_WRITTEN, written);
        let result = ack_checked(&w, 1, count);
        assert_eq!(result.is_ok(), accepted, "consumed {consumed} written {written} count {count}: {result:?}");
    }
}

#[test]
fn receive_under_a_malicious_writer() {
    let w = window();
    let rx = receiver(&w, 0);
    let mut out = [0; SIZE as usize];
    // Counts no honest party makes.
    for (consumed, written) in [(0, DEPTH + 1), (5, 4), (0, u32::MAX), (u32::MAX, 0)] {
        w.set_word(ring(0) + RING_CONSUMED, consumed);
        w.set_word(ring(0) + RING_WRITTEN, written);
        assert_eq!(rx.receive(&mut out), Err(ReceiveError::Corrupt), "{consumed} {written}");
        assert_eq!(rx.pending(), DEPTH);
        assert_eq!(rx.skip(), Err(ReceiveError::Corrupt));
    }
    // A possible count, a length no message has.
    w.set_word(ring(0) + RING_CONSUMED, 0);
    w.set_word(ring(0) + RING_WRITTEN, 1);
    for length in [SIZE + 1, u32::MAX] {
        w.set_word(slot(0, 0) + QUEUE_SLOT_LENGTH, length);
        assert_eq!(rx.receive(&mut out), Err(ReceiveError::Corrupt));
    }
    assert_eq!(rx.skip(), Ok(1), "a corrupt message can be dropped");
    assert!(w.take_log().iter().all(|op| !op.stores()));
}

#[test]
fn a_sender_finding_corrupt_counts_treats_the_ring_as_full() {
    let w = window();
    // Reader 0's counts are impossible; reader 1's fine.
    w.set_word(ring(0) + RING_CONSUMED, 10);
    w.set_word(ring(0) + RING_WRITTEN, 2);
    w.set_word(ring(0) + RING_OVERFLOWS, u32::MAX);
    assert_eq!(sender(&w).send(b"m"), Err(SendError::Full { readers: 0b01 }));
    let stores: Vec<Op> = w.take_log().into_iter().filter(Op::stores).collect();
    assert!(stores.iter().all(|op| match *op {
        Op::Store(offset, _) | Op::Write(offset, _) => offset == ring(0) + RING_OVERFLOWS || offset >= ring(1),
        _ => false,
    }));
    assert_eq!(w.word(ring(0) + RING_OVERFLOWS), 0, "the overflow count wraps");
    assert_eq!(w.word(ring(0) + RING_WRITTEN), 2);
    assert_eq!(take(&w, 1).unwrap(), b"m");
}

#[test]
fn a_restarted_reader_receives_the_unacknowledged_message_again() {
    let w = window();
    sender(&w).send(b"a").unwrap();
    sender(&w).send(b"b").unwrap();
    let mut out = [0; SIZE as usize];
    receiver(&w, 0).receive(&mut out).unwrap();
    // The reader restarts before its QueueAck: a new receiver, same window.
    assert_eq!(take(&w, 0).unwrap(), b"a");
    assert_eq!(take(&w, 0).unwrap(), b"b");
}
