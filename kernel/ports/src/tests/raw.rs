//! [`RawWindow`] over real memory: little-endian words, byte copies of any
//! alignment, and nothing outside the window ever touched.

use crate::RawWindow;
use crate::window::Window;

/// 64 bytes of backing with guard words on both sides, and a window over
/// the middle 48.
struct Backing {
    words: [u32; 16],
}

impl Backing {
    fn new() -> Backing {
        Backing { words: [0xDEAD_BEEF; 16] }
    }

    fn window(&mut self) -> RawWindow {
        // SAFETY: words 2..14 (48 bytes, 4-aligned) of `self.words`, which
        // outlives the window in every test and is only reached through it
        // while it is used.
        unsafe { RawWindow::new(self.words.as_mut_ptr().add(2).cast(), 48) }
    }

    fn guards_intact(&self) -> bool {
        self.words[..2].iter().chain(&self.words[14..]).all(|&w| w == 0xDEAD_BEEF)
    }
}

#[test]
fn words_are_little_endian() {
    let mut backing = Backing::new();
    let w = backing.window();
    w.store(0, 0x0403_0201);
    w.store(44, 7);
    let mut bytes = [0; 4];
    w.read_bytes(0, &mut bytes);
    assert_eq!(bytes, [1, 2, 3, 4]);
    assert_eq!(w.load(0), 0x0403_0201);
    assert_eq!(w.load(44), 7);
    assert_eq!(w.size(), 48);
    w.fence();
    assert!(backing.guards_intact());
}

#[test]
fn byte_copies_of_any_alignment() {
    let mut backing = Backing::new();
    let w = backing.window();
    let message: [u8; 23] = core::array::from_fn(|i| i as u8 * 7 + 1);
    for offset in [0, 1, 2, 3, 4, 20, 25] {
        for skip in [0, 1, 3] {
            w.write_bytes(offset, &message[skip..]);
            let mut out = [0u8; 24];
            w.read_bytes(offset, &mut out[skip..23]);
            assert_eq!(&out[skip..23], &message[skip..], "offset {offset} skip {skip}");
        }
    }
    assert!(backing.guards_intact());
}

#[test]
fn nothing_outside_the_window_is_touched() {
    let mut backing = Backing::new();
    let w = backing.window();
    for offset in [48, 46, 45, u32::MAX - 3, u32::MAX] {
        assert_eq!(w.load(offset), 0, "{offset:#x}");
        w.store(offset, 0x1234_5678);
    }
    // Misaligned words are refused too.
    w.store(0, 0x0403_0201);
    assert_eq!(w.load(1), 0);
    w.store(2, 0);
    assert_eq!(w.load(0), 0x0403_0201);
    // Copies that do not fit are dropped whole (reads give zeros).
    w.write_bytes(40, &[9; 9]);
    w.write_bytes(u32::MAX, &[9]);
    assert_eq!(w.load(44), 0xDEAD_BEEF);
    let mut out = [0xEE; 9];
    w.read_bytes(40, &mut out);
    assert_eq!(out, [0; 9]);
    w.read_bytes(u32::MAX - 1, &mut out[..4]);
    assert_eq!(out[..4], [0; 4]);
    // The whole window, exactly, is fine.
    w.write_bytes(0, &[5; 48]);
    assert_eq!(w.load(44), 0x0505_0505);
    w.read_bytes(48, &mut []);
    assert!(backing.guards_intact());
}

#[test]
fn the_protocols_run_over_it() {
    use crate::sampling::{SamplingReader, SamplingWriter};
    let mut backing = [0u64; 16];
    // SAFETY: `backing` (128 bytes, 8-aligned) outlives the window and is
    // only reached through it.
    let window = unsafe { RawWindow::new(backing.as_mut_ptr().cast(), 128) };
    assert!(crate::layout::sampling_window_size(8) <= 128);
    let writer = SamplingWriter::new(&window, 8).unwrap();
    let reader = SamplingReader::new(&window, 8).unwrap();
    writer.write(b"raw", 3).unwrap();
    let mut out = [0; 8];
    assert_eq!(reader.read(&mut out).unwrap().length, 3);
    assert_eq!(&out[..3], b"raw");
}
