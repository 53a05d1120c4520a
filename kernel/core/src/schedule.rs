//! Where the cyclic schedule is at any tick.
//!
//! Window starts are computed from the epoch (the tick the first window began)
//! by addition only: the start of window `i` in frame `f` is
//! `epoch + f * major_frame + offset[i]`. No deadline is ever derived from the
//! time the kernel happened to observe, so lateness in handling one boundary
//! never moves the next one: the schedule cannot drift.

use crate::tables::{PartitionId, ScheduleDesc, WindowDesc};

/// What an empty schedule reads as.
static IDLE: WindowDesc = WindowDesc { partition: None, offset: 0, duration: 1 };

/// The schedule's position: which window is current, in which frame.
///
/// The current window's start and end ticks are kept (computed once per
/// window, by addition), since the kernel reads them on every boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// Index of the current window.
    window: usize,
    /// Number of the current major frame, from 0.
    frame: u64,
    /// Tick at which the current major frame began.
    frame_start: u64,
    /// Tick at which the current window starts.
    start: u64,
    /// Tick at which the current window ends (the next one's start).
    end: u64,
}

impl Cursor {
    /// The cursor at the first window of frame 0 of `schedule`, which
    /// starts at `epoch`.
    pub fn start(epoch: u64, schedule: &ScheduleDesc) -> Cursor {
        let mut cursor = Cursor { window: 0, frame: 0, frame_start: epoch, start: epoch, end: epoch };
        cursor.end = epoch + cursor.window(schedule).offset + cursor.window(schedule).duration;
        cursor
    }

    /// A cursor before any schedule starts (start and end at tick 0).
    pub const fn unstarted() -> Cursor {
        Cursor { window: 0, frame: 0, frame_start: 0, start: 0, end: 0 }
    }

    /// Index of the current window.
    pub const fn window_index(&self) -> usize {
        self.window
    }

    /// Number of the current major frame (0 for the first).
    pub const fn frame(&self) -> u64 {
        self.frame
    }

    /// The current window's description.
    pub fn window<'a>(&self, schedule: &'a ScheduleDesc) -> &'a WindowDesc {
        // The cursor only ever holds indexes below `windows.len()` (see
        // `advance`), and the tables check gives every scheduled core at
        // least one window; an empty schedule (a core before it starts)
        // reads as one idle window, with no division on the way.
        schedule.windows.get(self.window).unwrap_or(&IDLE)
    }

    /// Who owns the current window (`None` for idle).
    pub fn owner(&self, schedule: &ScheduleDesc) -> Option<PartitionId> {
        self.window(schedule).partition
    }

    /// Tick at which the current window starts.
    pub const fn window_start(&self) -> u64 {
        self.start
    }

    /// Tick at which the current window ends, which is the next one's start.
    pub const fn window_end(&self) -> u64 {
        self.end
    }

    /// Moves to the next window, wrapping into the next frame after the last.
    /// Returns `true` when a new major frame began.
    pub fn advance(&mut self, schedule: &ScheduleDesc) -> bool {
        let wrapped = if self.window + 1 < schedule.windows.len() {
            self.window += 1;
            false
        } else {
            self.window = 0;
            self.frame += 1;
            self.frame_start += schedule.major_frame;
            true
        };
        // Windows tile the frame (`SystemDesc::check`): this one starts where
        // the last ended.
        self.start = self.end;
        self.end = self.frame_start + self.window(schedule).offset + self.window(schedule).duration;
        wrapped
    }
}

/// Converts a duration in nanoseconds to counter ticks at `hz`, or `None` when
/// it is not a whole number of ticks or does not fit.
pub fn ticks_from_nanos(nanos: u64, hz: u32) -> Option<u64> {
    let product = (nanos as u128).checked_mul(hz as u128)?;
    if product % 1_000_000_000 != 0 {
        return None;
    }
    u64::try_from(product / 1_000_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    static WINDOWS: [WindowDesc; 3] = [
        WindowDesc { partition: Some(0), offset: 0, duration: 300 },
        WindowDesc { partition: Some(1), offset: 300, duration: 200 },
        WindowDesc { partition: None, offset: 500, duration: 500 },
    ];
    static SCHEDULE: ScheduleDesc = ScheduleDesc { major_frame: 1000, windows: &WINDOWS };

    #[test]
    fn walks_windows_and_frames() {
        let mut cursor = Cursor::start(5_000, &SCHEDULE);
        assert_eq!((cursor.window_start(), cursor.window_end()), (5_000, 5_300));
        assert_eq!(cursor.owner(&SCHEDULE), Some(0));
        assert!(!cursor.advance(&SCHEDULE));
        assert_eq!((cursor.window_start(), cursor.window_end()), (5_300, 5_500));
        assert!(!cursor.advance(&SCHEDULE));
        assert_eq!(cursor.owner(&SCHEDULE), None);
        assert_eq!(cursor.window_end(), 6_000);
        assert!(cursor.advance(&SCHEDULE));
        assert_eq!(cursor.frame(), 1);
        assert_eq!(cursor.window_start(), 6_000);
    }

    proptest! {
        /// After any number of steps, every window starts exactly at
        /// epoch + frame * major_frame + offset: no drift accumulates.
        #[test]
        fn window_starts_never_drift(epoch in 0u64..(1 << 40), steps in 0usize..10_000) {
            let mut cursor = Cursor::start(epoch, &SCHEDULE);
            let mut previous_end = cursor.window_start();
            for _ in 0..steps {
                let start = cursor.window_start();
                prop_assert_eq!(start, previous_end);
                let window = cursor.window(&SCHEDULE);
                prop_assert_eq!(start, epoch + cursor.frame() * SCHEDULE.major_frame + window.offset);
                prop_assert_eq!(cursor.window_end(), start + window.duration);
                previous_end = cursor.window_end();
                cursor.advance(&SCHEDULE);
            }
        }
    }

    #[test]
    fn tick_conversion_is_exact_or_refused() {
        assert_eq!(ticks_from_nanos(1_000_000, 62_500_000), Some(62_500));
        assert_eq!(ticks_from_nanos(16, 62_500_000), Some(1));
        assert_eq!(ticks_from_nanos(1, 62_500_000), None);
        assert_eq!(ticks_from_nanos(u64::MAX, u32::MAX), None);
    }
}
