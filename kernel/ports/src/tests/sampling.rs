//! Sampling: each operation, each error, each malicious-writer case, and
//! the exact order of accesses and fences the module's docs describe.

use std::vec;
use std::vec::Vec;

use super::{ModelWindow, Op};
use crate::layout::{self, GeometryError, SAMPLING_LATEST, SLOT_LENGTH, SLOT_PAYLOAD, SLOT_SEQUENCE, SLOT_STAMP};
use crate::sampling::{
    READ_ATTEMPTS, ReadError, Sample, SamplingReader, SamplingWriter, WriteError, age, is_stale, next_number,
};

const SIZE: u32 = 12;

fn window() -> ModelWindow {
    ModelWindow::new(layout::sampling_window_size(SIZE))
}

fn slot(number: u32) -> u32 {
    layout::sampling_slot(SIZE, number & 1)
}

#[test]
fn geometry_is_checked() {
    let small = ModelWindow::new(layout::sampling_window_size(SIZE) - 1);
    assert_eq!(SamplingWriter::new(&small, SIZE).err(), Some(GeometryError::Window));
    assert_eq!(SamplingReader::new(&small, SIZE).err(), Some(GeometryError::Window));
    let w = window();
    assert_eq!(SamplingWriter::new(&w, 0).err(), Some(GeometryError::MessageSize));
    assert_eq!(SamplingReader::new(&w, layout::MAX_MESSAGE_SIZE + 1).err(), Some(GeometryError::MessageSize));
    assert!(SamplingReader::new(&w, SIZE).is_ok());
}

#[test]
fn a_zeroed_window_is_empty() {
    let w = window();
    let reader = SamplingReader::new(&w, SIZE).unwrap();
    assert_eq!(reader.read(&mut [0; 12]), Err(ReadError::Empty));
    assert_eq!(reader.latest_number(), 0);
    assert!(w.take_log().iter().all(|op| !op.stores()), "a reader never stores");
}

#[test]
fn round_trip_and_numbering() {
    let w = window();
    let writer = SamplingWriter::new(&w, SIZE).unwrap();
    let reader = SamplingReader::new(&w, SIZE).unwrap();
    let mut out = [0xEE; 16];
    for (number, payload) in [(1, &b"hello"[..]), (2, b"twelve bytes"), (3, b""), (4, b"x")] {
        let stamp = 0x0123_4567_89AB_CDEF ^ u64::from(number);
        assert_eq!(writer.write(payload, stamp), Ok(number));
        assert_eq!(writer.latest_number(), number);
        let sample = reader.read(&mut out).unwrap();
        assert_eq!(sample, Sample { number, length: payload.len() as u32, stamp });
        assert_eq!(&out[..payload.len()], payload);
        // The slots alternate and hold the layout's fields.
        let at = slot(number);
        assert_eq!(w.word(at + SLOT_SEQUENCE), 2 * number);
        assert_eq!(w.word(at + SLOT_LENGTH), payload.len() as u32);
        assert_eq!(w.word(at + SLOT_STAMP), stamp as u32);
        assert_eq!(w.word(at + SLOT_STAMP + 4), (stamp >> 32) as u32);
        assert_eq!(w.word(SAMPLING_LATEST), number);
    }
    // The previous message is intact in the other slot.
    assert_eq!(w.word(slot(3) + SLOT_SEQUENCE), 6);
    // A reread returns the same message again.
    assert_eq!(reader.read(&mut out).unwrap().number, 4);
}

#[test]
fn a_full_size_payload_and_out_beyond_it_untouched() {
    let w = window();
    let writer = SamplingWriter::new(&w, SIZE).unwrap();
    let payload: Vec<u8> = (1..=SIZE as u8).collect();
    writer.write(&payload, 7).unwrap();
    let mut out = [0xEE; 20];
    let sample = SamplingReader::new(&w, SIZE).unwrap().read(&mut out).unwrap();
    assert_eq!(sample.length, SIZE);
    assert_eq!(&out[..12], payload.as_slice());
    assert!(out[12..].iter().all(|&b| b == 0xEE));
}

#[test]
fn too_long_is_refused_without_touching_the_window() {
    let w = window();
    let writer = SamplingWriter::new(&w, SIZE).unwrap();
    assert_eq!(writer.write(&[0; 13], 0), Err(WriteError::TooLong));
    assert!(w.take_log().is_empty());
    assert_eq!(writer.latest_number(), 0);
}

#[test]
fn buffer_too_small_leaves_the_message_for_a_larger_one() {
    let w = window();
    SamplingWriter::new(&w, SIZE).unwrap().write(b"0123456789", 5).unwrap();
    let reader = SamplingReader::new(&w, SIZE).unwrap();
    assert_eq!(reader.read(&mut [0; 9]), Err(ReadError::BufferTooSmall));
    let mut out = [0; 10];
    assert_eq!(reader.read(&mut out).unwrap().length, 10);
    assert_eq!(&out, b"0123456789");
}

#[test]
fn numbers_wrap_to_two_keeping_the_slots_alternating() {
    assert_eq!(next_number(0), 1);
    assert_eq!(next_number(1), 2);
    assert_eq!(next_number(u32::MAX - 1), u32::MAX);
    assert_eq!(next_number(u32::MAX), 2);
    let w = window();
    w.set_word(SAMPLING_LATEST, u32::MAX - 1);
    let writer = SamplingWriter::new(&w, SIZE).unwrap();
    let reader = SamplingReader::new(&w, SIZE).unwrap();
    let mut out = [0; 12];
    for (number, slot_index) in [(u32::MAX, 1), (2, 0), (3, 1)] {
        assert_eq!(writer.write(b"abc", u64::from(number)), Ok(number));
        assert_eq!(w.word(layout::sampling_slot(SIZE, slot_index) + SLOT_SEQUENCE), number.wrapping_mul(2));
        assert_eq!(reader.read(&mut out).unwrap().number, number);
    }
}

#[test]
fn a_restarted_writer_carries_on_from_the_window() {
    let w = window();
    SamplingWriter::new(&w, SIZE).unwrap().write(b"one", 1).unwrap();
    // It died while writing message 2: slot 0 odd, `latest` still 1.
    w.set_word(slot(2) + SLOT_SEQUENCE, 5);
    let reader = SamplingReader::new(&w, SIZE).unwrap();
    assert_eq!(reader.read(&mut [0; 12]).unwrap().number, 1);
    let writer = SamplingWriter::new(&w, SIZE).unwrap();
    assert_eq!(writer.write(b"two", 2), Ok(2));
    let mut out = [0; 12];
    assert_eq!(reader.read(&mut out).unwrap(), Sample { number: 2, length: 3, stamp: 2 });
}

/// The exact accesses of a write and a read, fences included: what the
/// module's docs (W1..W3, R1, R2) say.
#[test]
fn accesses_and_fences_are_where_the_docs_say() {
    let w = window();
    let writer = SamplingWriter::new(&w, SIZE).unwrap();
    writer.write(b"abcde", 0x1_0000_0002).unwrap();
    let s = slot(1);
    assert_eq!(
        w.take_log(),
        [
            Op::Load(SAMPLING_LATEST),
            Op::Store(s + SLOT_SEQUENCE, 3),
            Op::Fence, // W1
            Op::Store(s + SLOT_LENGTH, 5),
            Op::Store(s + SLOT_STAMP, 2),
            Op::Store(s + SLOT_STAMP + 4, 1),
            Op::Write(s + SLOT_PAYLOAD, 5),
            Op::Fence, // W2
            Op::Store(s + SLOT_SEQUENCE, 2),
            Op::Fence, // W3
            Op::Store(SAMPLING_LATEST, 1),
        ]
    );
    SamplingReader::new(&w, SIZE).unwrap().read(&mut [0; 12]).unwrap();
    assert_eq!(
        w.take_log(),
        [
            Op::Load(SAMPLING_LATEST),
            Op::Load(s + SLOT_SEQUENCE),
            Op::Fence, // R1
            Op::Load(s + SLOT_LENGTH),
            Op::Load(s + SLOT_STAMP),
            Op::Load(s + SLOT_STAMP + 4),
            Op::Read(s + SLOT_PAYLOAD, 5),
            Op::Fence, // R2
            Op::Load(s + SLOT_SEQUENCE),
        ]
    );
}

// A malicious (or dead-in-the-middle) writer: whatever it leaves, a read
// ends after a bounded number of accesses with an error or a message of a
// possible length, and never stores.

fn read_bounded(w: &ModelWindow) -> Result<Sample, ReadError> {
    w.take_log();
    let result = SamplingReader::new(w, SIZE).unwrap().read(&mut [0; 12]);
    let log = w.take_log();
    assert!(log.iter().all(|op| !op.stores()));
    assert!(log.len() <= READ_ATTEMPTS as usize * 9, "{} accesses", log.len());
    result
}

#[test]
fn garbage_latest_with_no_such_message_races() {
    let w = window();
    for latest in [5, 0x8000_0001, u32::MAX] {
        w.set_word(SAMPLING_LATEST, latest);
        assert_eq!(read_bounded(&w), Err(ReadError::Raced), "latest {latest:#x}");
    }
}

#[test]
fn a_sequence_stuck_odd_races() {
    let w = window();
    SamplingWriter::new(&w, SIZE).unwrap().write(b"x", 0).unwrap();
    w.set_word(slot(1) + SLOT_SEQUENCE, 3);
    assert_eq!(read_bounded(&w), Err(ReadError::Raced));
}

#[test]
fn a_garbage_length_is_corrupt() {
    let w = window();
    SamplingWriter::new(&w, SIZE).unwrap().write(b"x", 0).unwrap();
    for length in [SIZE + 1, 0x8000_0000, u32::MAX] {
        w.set_word(slot(1) + SLOT_LENGTH, length);
        assert_eq!(read_bounded(&w), Err(ReadError::Corrupt), "length {length:#x}");
    }
    // A possible length, but above the buffer.
    w.set_word(slot(1) + SLOT_LENGTH, SIZE);
    assert_eq!(SamplingReader::new(&w, SIZE).unwrap().read(&mut [0; 4]), Err(ReadError::BufferTooSmall));
}

#[test]
fn a_forged_sequence_gives_garbage_but_not_out_of_bounds() {
    // A writer can always publish garbage as a message: what it cannot do is
    // make the reader leave the window or its buffer.
    let w = ModelWindow::from_bytes(vec![0xA5; layout::sampling_window_size(SIZE) as usize]);
    w.set_word(SAMPLING_LATEST, 0xA5A5_A5A5 | 1);
    w.set_word(slot(1) + SLOT_SEQUENCE, (0xA5A5_A5A5u32 | 1).wrapping_mul(2));
    w.set_word(slot(1) + SLOT_LENGTH, SIZE);
    let sample = read_bounded(&w).unwrap();
    assert_eq!(sample.length, SIZE);
}

#[test]
fn staleness() {
    assert!(!is_stale(0, u64::MAX, 0), "refresh 0: never stale");
    assert!(!is_stale(100, 150, 50));
    assert!(is_stale(100, 151, 50));
    assert!(is_stale(200, 150, 50), "a stamp from the future is stale");
    assert!(!is_stale(200, 150, 0));
    assert_eq!(age(100, 150), Some(50));
    assert_eq!(age(151, 150), None);
    let sample = Sample { number: 1, length: 0, stamp: 10 };
    assert!(sample.is_stale(21, 10) && !sample.is_stale(20, 10));
}
