//! Whatever the driver writes into the shared window, between any two steps
//! of the device: the device never panics, never loops, never reads or
//! writes outside the window (the slice window would refuse, and every
//! segment it takes is checked here too), and either works or reports a
//! fault and stops using the link.
//!
//! The input is a sequence of driver writes (offset, bytes) interleaved
//! with device steps, against a window holding a valid table and rings, so
//! the fuzzer starts from a working link and breaks it in every way.

#![no_main]

use bulkhead_virtio::device::{Incoming, RpmsgDevice, State};
use bulkhead_virtio::resource_table::{LinkLayout, VringSpec, field, status};
use bulkhead_virtio::rpmsg::{self, BUFFER_SIZE};
use bulkhead_virtio::window::{SliceWindow, Window};
use libfuzzer_sys::fuzz_target;

const SIZE: u32 = 0x8000;
const LAYOUT: LinkLayout = LinkLayout {
    local_base: 0x2000_0000,
    size: SIZE,
    remote_base: 0x8000_0000,
    table: 0,
    pool: 0x3000,
    vrings: [
        VringSpec { da: 0x2000_1000, align: 0x100, num: 16 },
        VringSpec { da: 0x2000_2000, align: 0x100, num: 16 },
    ],
    features: rpmsg::F_NS,
};

fuzz_target!(|data: &[u8]| {
    let mut memory = vec![0u8; SIZE as usize];
    let mut window = SliceWindow::new(&mut memory);
    let mut device = RpmsgDevice::new(LAYOUT);
    let _ = device.start(&mut window, data.first().is_some_and(|b| b & 1 != 0));
    // A driver that got as far as DRIVER_OK.
    let _ = window.write_u32(field::DRIVER_FEATURES, 1);
    let _ = window.write_u8(field::STATUS, status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK);
    let mut buffer = [0u8; BUFFER_SIZE];
    let mut rest = data.get(1..).unwrap_or(&[]);
    let mut steps = 0;
    while steps < 64 {
        steps += 1;
        // Device step.
        let was_broken = matches!(device.state(), State::Broken(_));
        let _ = device.poll(&mut window);
        for _ in 0..4 {
            match device.receive(&mut window, &mut buffer) {
                Ok(Some(Incoming::Message(header))) => {
                    let payload = rpmsg::payload(&buffer, &header).expect("a checked header fits its buffer").to_vec();
                    assert!(payload.len() <= rpmsg::MAX_PAYLOAD);
                    let _ = device.send(&mut window, header.dst, header.src, &payload);
                }
                Ok(Some(Incoming::Dropped(_))) => {}
                Ok(None) | Err(_) => break,
            }
        }
        // A device that just broke has said so (the driver may clear the
        // bit later; the device does not set it again).
        if !was_broken && matches!(device.state(), State::Broken(_)) {
            assert_ne!(window.read_u8(field::STATUS).unwrap_or(0) & status::NEEDS_RESET, 0);
        }
        // Driver write: 2-byte offset, 1-byte length, bytes.
        let [high, low, length, tail @ ..] = rest else { break };
        let offset = u16::from_be_bytes([*high, *low]) as u32 % SIZE;
        let length = (*length as usize).min(tail.len());
        let (bytes, next) = tail.split_at(length);
        let end = (offset as usize + bytes.len()).min(SIZE as usize);
        let _ = window.write_bytes(offset, &bytes[..end - offset as usize]);
        rest = next;
    }
});
