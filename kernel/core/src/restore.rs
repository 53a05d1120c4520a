//! Restoring a partition's RAM in bounded steps.
//!
//! A restart copies the pristine `.data` from the partition's code region and
//! zeroes its `.bss`. For a large image that is a long time with interrupts
//! masked, far longer than a window boundary may wait. So the kernel does it
//! as a sequence of [`Step`]s of at most a few hundred bytes, taken one at a
//! time in the restarting partition's own windows, looking at the window
//! timer between steps; a restore that does not fit one window continues in
//! the next. This module plans the steps; the kernel
//! (`partition_memory::apply`) carries each out.
//!
//! After `.data` and `.bss` come the partition's clear ranges
//! ([`ClearRange`]): its private RAM beyond the image, zeroed by every
//! restart except the ranges a warm restart keeps (`noinit` regions and the
//! stacks), which only a cold restart zeroes.
//!
//! What holds (host-tested): the steps copy exactly `.data` from its load
//! image, zero exactly `.bss` and the clear ranges the restart's kind
//! clears, in order, each step at most the size asked for and word-aligned,
//! whatever the sizes; nothing else is written.

use crate::tables::{ClearRange, ImageInit};

/// One bounded piece of a restore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Copy `bytes` bytes from `from` (the load image) to `to` (`.data`).
    Copy {
        /// Source.
        from: u32,
        /// Destination.
        to: u32,
        /// Length, a multiple of 4.
        bytes: u32,
    },
    /// Zero `bytes` bytes from `to` (`.bss`).
    Zero {
        /// Destination.
        to: u32,
        /// Length, a multiple of 4.
        bytes: u32,
    },
}

impl Step {
    /// Bytes the step writes.
    pub const fn bytes(&self) -> u32 {
        match *self {
            Step::Copy { bytes, .. } | Step::Zero { bytes, .. } => bytes,
        }
    }
}

/// How far a restore has got: bytes of `.data`, `.bss` and then the clear
/// ranges done, and whether it is cold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Restore {
    done: u32,
    cold: bool,
}

impl Restore {
    /// A restore that has not started: warm (what `.data`/`.bss` and the
    /// clear ranges not kept warm need) or cold (every clear range).
    pub const fn start() -> Restore {
        Restore { done: 0, cold: false }
    }

    /// A cold restore that has not started.
    pub const fn start_cold() -> Restore {
        Restore { done: 0, cold: true }
    }

    /// Whether it is cold.
    pub const fn is_cold(&self) -> bool {
        self.cold
    }

    /// Bytes the whole restore writes for `init`.
    pub const fn total(init: &ImageInit) -> u32 {
        (init.data_end - init.data_start) + (init.bss_end - init.bss_start)
    }

    /// Bytes written so far.
    pub const fn done(&self) -> u32 {
        self.done
    }

    /// The next step, of at most `max` bytes (rounded down to whole words,
    /// at least one word), or `None` when the restore is complete: `.data`,
    /// `.bss`, then `clears` (those kept warm only when cold).
    pub fn next_step(&mut self, init: &ImageInit, clears: &[ClearRange], max: u32) -> Option<Step> {
        let max = (max & !3).max(4);
        let data = init.data_end.saturating_sub(init.data_start);
        let bss = init.bss_end.saturating_sub(init.bss_start);
        let step = if self.done < data {
            let bytes = (data - self.done).min(max);
            Step::Copy { from: init.data_load + self.done, to: init.data_start + self.done, bytes }
        } else if self.done - data < bss {
            let into = self.done - data;
            Step::Zero { to: init.bss_start + into, bytes: (bss - into).min(max) }
        } else {
            let mut into = self.done - data - bss;
            let mut found = None;
            for clear in clears.iter().filter(|clear| self.cold || !clear.keep_warm) {
                let size = clear.size & !3;
                if into < size {
                    found = Some(Step::Zero { to: clear.base + into, bytes: (size - into).min(max) });
                    break;
                }
                into -= size;
            }
            found?
        };
        self.done += step.bytes();
        Some(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    #[test]
    fn copies_data_then_zeroes_bss_in_bounded_steps() {
        let init = ImageInit { data_start: 0x100, data_end: 0x10C, data_load: 0x900, bss_start: 0x10C, bss_end: 0x118 };
        let mut restore = Restore::start();
        let steps: Vec<Step> = core::iter::from_fn(|| restore.next_step(&init, &[], 8)).collect();
        assert_eq!(
            steps,
            [
                Step::Copy { from: 0x900, to: 0x100, bytes: 8 },
                Step::Copy { from: 0x908, to: 0x108, bytes: 4 },
                Step::Zero { to: 0x10C, bytes: 8 },
                Step::Zero { to: 0x114, bytes: 4 },
            ]
        );
        assert_eq!(restore.done(), Restore::total(&init));
        assert_eq!(restore.next_step(&init, &[], 8), None, "stays complete");
    }

    #[test]
    fn warm_keeps_what_it_keeps_and_cold_clears_everything() {
        let init = ImageInit { data_start: 0x100, data_end: 0x104, data_load: 0x900, bss_start: 0x104, bss_end: 0x108 };
        let clears = [
            ClearRange { base: 0x108, size: 0x8, keep_warm: true },
            ClearRange { base: 0x200, size: 0xC, keep_warm: false },
            ClearRange { base: 0x300, size: 0x4, keep_warm: true },
        ];
        let run = |mut restore: Restore| -> Vec<Step> {
            core::iter::from_fn(|| restore.next_step(&init, &clears, 8)).collect()
        };
        assert_eq!(
            run(Restore::start()),
            [
                Step::Copy { from: 0x900, to: 0x100, bytes: 4 },
                Step::Zero { to: 0x104, bytes: 4 },
                Step::Zero { to: 0x200, bytes: 8 },
                Step::Zero { to: 0x208, bytes: 4 },
            ]
        );
        assert_eq!(
            run(Restore::start_cold()),
            [
                Step::Copy { from: 0x900, to: 0x100, bytes: 4 },
                Step::Zero { to: 0x104, bytes: 4 },
                Step::Zero { to: 0x108, bytes: 8 },
                Step::Zero { to: 0x200, bytes: 8 },
                Step::Zero { to: 0x208, bytes: 4 },
                Step::Zero { to: 0x300, bytes: 4 },
            ]
        );
    }

    proptest! {
        /// Warm and cold restores with any clear ranges write exactly the
        /// image, `.bss` and the ranges their kind clears, in bounded steps.
        #[test]
        fn clears_exactly_the_ranges_of_the_kind(
            sizes in proptest::collection::vec((0u32..40, any::<bool>()), 0..5),
            cold in any::<bool>(),
            max in 0u32..100,
        ) {
            let init = ImageInit { data_start: 0x40, data_end: 0x48, data_load: 0x2000, bss_start: 0x48, bss_end: 0x50 };
            let mut clears = Vec::new();
            let mut base = 0x100;
            for (words, keep_warm) in &sizes {
                clears.push(ClearRange { base, size: 4 * words, keep_warm: *keep_warm });
                base += 4 * words + 0x40;
            }
            let mut memory: Vec<u8> = (0..0x4000u32).map(|i| (i * 13 + 1) as u8 | 1).collect();
            let mut expected = memory.clone();
            let image: Vec<u8> = memory[0x2000..0x2008].to_vec();
            expected[0x40..0x48].copy_from_slice(&image);
            expected[0x48..0x50].fill(0);
            for clear in clears.iter().filter(|clear| cold || !clear.keep_warm) {
                expected[clear.base as usize..(clear.base + clear.size) as usize].fill(0);
            }
            let mut restore = if cold { Restore::start_cold() } else { Restore::start() };
            let bound = (max & !3).max(4);
            while let Some(step) = restore.next_step(&init, &clears, max) {
                prop_assert!(step.bytes() <= bound && step.bytes() > 0);
                match step {
                    Step::Copy { from, to, bytes } => {
                        let chunk = memory[from as usize..(from + bytes) as usize].to_vec();
                        memory[to as usize..(to + bytes) as usize].copy_from_slice(&chunk);
                    }
                    Step::Zero { to, bytes } => memory[to as usize..(to + bytes) as usize].fill(0),
                }
            }
            prop_assert_eq!(memory, expected);
        }
    }

    proptest! {
        /// Applied to a byte model of memory, the steps leave exactly what a
        /// one-go restore leaves, and each is bounded and word-aligned.
        #[test]
        fn steps_restore_exactly_the_image(
            data_words in 0u32..300, bss_words in 0u32..300, gap_words in 0u32..4, max in 0u32..1100,
        ) {
            let data_start = 0x40;
            let init = ImageInit {
                data_start,
                data_end: data_start + 4 * data_words,
                data_load: 0x4000,
                bss_start: data_start + 4 * (data_words + gap_words),
                bss_end: data_start + 4 * (data_words + gap_words + bss_words),
            };
            let mut memory: Vec<u8> = (0..0x8000u32).map(|i| (i * 7 + 3) as u8).collect();
            let mut expected = memory.clone();
            let range = |a: u32, b: u32| a as usize..b as usize;
            let image: Vec<u8> = memory[range(init.data_load, init.data_load + 4 * data_words)].to_vec();
            expected[range(init.data_start, init.data_end)].copy_from_slice(&image);
            expected[range(init.bss_start, init.bss_end)].fill(0);
            let mut restore = Restore::start();
            let bound = (max & !3).max(4);
            while let Some(step) = restore.next_step(&init, &[], max) {
                prop_assert!(step.bytes() <= bound && step.bytes() % 4 == 0 && step.bytes() > 0);
                match step {
                    Step::Copy { from, to, bytes } => {
                        prop_assert_eq!((from % 4, to % 4), (0, 0));
                        let chunk = memory[range(from, from + bytes)].to_vec();
                        memory[range(to, to + bytes)].copy_from_slice(&chunk);
                    }
                    Step::Zero { to, bytes } => {
                        prop_assert_eq!(to % 4, 0);
                        memory[range(to, to + bytes)].copy_from_slice(&vec![0; bytes as usize]);
                    }
                }
            }
            prop_assert_eq!(memory, expected);
        }
    }
}
