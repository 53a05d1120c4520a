//! A partition's virtual time: its scheduled time, which stands still
//! outside its windows.
//!
//! The rule: a partition's virtual counter (`CNTVCT` as it reads it, and the
//! time [`bulkhead_abi::Call::PartitionTime`] returns) reads 0 at the
//! *scheduled* start of its first window and afterwards advances exactly as
//! the physical counter does during its windows, and not at all between
//! them. Window boundaries are taken from the schedule, not from the tick at
//! which the kernel happened to handle them, so partition time is the
//! partition's budget: after `k` windows of `d` ticks it reads `k * d` at the
//! scheduled start of window `k + 1`. A window the kernel starts late shows
//! as that lateness (the partition's first instruction reads a little more
//! than the window's start), never as lost or gained time, which is what
//! lets a partition measure its own window starts (`tests/partitions`).
//!
//! One exception keeps the counter monotonic: if the partition's previous
//! window ended late (the kernel took the boundary some ticks after it was
//! due) by more than this one starts late, its time resumes where it
//! stopped rather than going back, and the ticks it is ahead are taken back
//! at later switches as soon as that needs no step back, so they never
//! accumulate. Formally, at each switch-out the kernel passes the scheduled
//! end `E` and the observed tick `n_out`; at the next switch-in, the
//! scheduled start `S` and the observed tick `n`. The ideal offset `I` (the
//! sum of all scheduled gaps `S - E`, which makes the rule above exact)
//! grows by `S - E`, and `CNTVOFF` becomes `min(I, CNTVOFF + n - n_out)`:
//! the ideal, unless less time than that passed between the two
//! observations.
//!
//! The kernel programs `CNTVOFF` with [`VirtualClock::offset`]. Because the
//! virtual timer compares against the virtual counter, a partition's timer
//! deadline is frozen with its time.

/// Virtual-time bookkeeping for one partition.
///
/// A clock that has never run has "switched out" at tick 0 with time 0, so
/// its first switch-in needs no special case: the rule gives `CNTVOFF` = the
/// scheduled start (the observed tick is never earlier).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VirtualClock {
    /// `CNTVOFF`: physical ticks the partition has been switched out for,
    /// by the rule above.
    offset: u64,
    /// The ideal offset: the sum of the scheduled gaps. `offset` is never
    /// more, and equal whenever the partition's windows end no later than
    /// the next ones start.
    ideal: u64,
    /// Scheduled end of its last window.
    out_scheduled: u64,
    /// Physical tick at which the kernel switched it out.
    out_observed: u64,
}

impl VirtualClock {
    /// A clock that has never run.
    pub const fn new() -> VirtualClock {
        VirtualClock { offset: 0, ideal: 0, out_scheduled: 0, out_observed: 0 }
    }

    /// The partition's window, scheduled to start at `scheduled`, starts; the
    /// kernel observed tick `now`. Returns the `CNTVOFF` value to program.
    ///
    /// Both ticks only move forward (the schedule and the physical counter),
    /// so the differences are plain subtractions: this is on every switch.
    #[inline]
    pub fn switch_in(&mut self, scheduled: u64, now: u64) -> u64 {
        let scheduled_gap = scheduled.wrapping_sub(self.out_scheduled);
        let observed_gap = now.wrapping_sub(self.out_observed);
        self.ideal = self.ideal.wrapping_add(scheduled_gap);
        self.offset = self.ideal.min(self.offset.wrapping_add(observed_gap));
        self.offset
    }

    /// The partition's window, scheduled to end at `scheduled`, ends; the
    /// kernel observed tick `now`.
    pub fn switch_out(&mut self, scheduled: u64, now: u64) {
        self.out_scheduled = scheduled;
        self.out_observed = now;
    }

    /// The current `CNTVOFF`.
    pub const fn offset(&self) -> u64 {
        self.offset
    }

    /// Virtual time when it was last switched out (where it stands still
    /// until its next window).
    pub const fn stopped_at(&self) -> u64 {
        self.out_observed.saturating_sub(self.offset)
    }

    /// Virtual time at physical tick `now`, while switched in.
    pub const fn virtual_now(&self, now: u64) -> u64 {
        now.saturating_sub(self.offset)
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        VirtualClock::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    #[test]
    fn reads_zero_at_the_scheduled_start_and_freezes_while_out() {
        let mut clock = VirtualClock::new();
        // Scheduled at 1000, handled at 1003: the partition starts 3 late.
        clock.switch_in(1_000, 1_003);
        assert_eq!(clock.virtual_now(1_003), 3);
        assert_eq!(clock.virtual_now(1_250), 250);
        clock.switch_out(1_300, 1_301);
        clock.switch_in(5_000, 5_002);
        assert_eq!(clock.virtual_now(5_000), 300, "its time resumes at the scheduled end of its last window");
        assert_eq!(clock.virtual_now(5_002), 302, "and shows the 2 ticks of lateness");
    }

    #[test]
    fn a_late_end_is_not_taken_back() {
        let mut clock = VirtualClock::new();
        clock.switch_in(0, 0);
        // Its window was due to end at 100 but ran to 150 (it was inside a
        // long kernel path); the next starts on time at 1000.
        clock.switch_out(100, 150);
        clock.switch_in(1_000, 1_000);
        assert_eq!(clock.virtual_now(1_000), 150, "never back below what it could have read");
        // The 50 ticks it is ahead are taken back at the next switch that
        // allows it: this window ends on time and the next starts 10 late.
        clock.switch_out(1_100, 1_100);
        clock.switch_in(2_000, 2_030);
        assert_eq!(clock.virtual_now(2_030), 250, "not yet: 30 ticks late is not enough to take 50 back");
        clock.switch_out(2_100, 2_100);
        clock.switch_in(3_000, 3_060);
        assert_eq!(clock.virtual_now(3_060), 360, "back on the budget (300) plus this window's lateness");
    }

    proptest! {
        /// Ticks a partition is ahead of its budget (its windows ended later
        /// than the next ones started) are exactly the ones monotonicity
        /// forces, and are taken back as soon as a later start allows: they
        /// never accumulate beyond that (they used to, by a tick or two per
        /// window, for ever).
        #[test]
        fn ticks_ahead_are_only_those_monotonicity_forces(
            windows in proptest::collection::vec((1_000u64..100_000, 100u64..100_000, 0u64..8, 0u64..8), 1..200),
        ) {
            let mut clock = VirtualClock::new();
            let (mut start, mut budget, mut ahead) = (5u64, 0u64, 0u64);
            let mut late_out_before = 0;
            for (gap, length, late_in, late_out) in windows {
                start += gap;
                clock.switch_in(start, start + late_in);
                // The model: ahead by what the last window overran its end
                // beyond this one's lateness, plus what it was already ahead.
                ahead = (ahead + late_out_before).saturating_sub(late_in);
                prop_assert_eq!(clock.virtual_now(start + late_in), budget + late_in + ahead);
                let end = start + length;
                clock.switch_out(end, end + late_out);
                late_out_before = late_out;
                budget += length;
                start = end + late_out;
            }
        }
    }

    proptest! {
        /// With windows handled on time, partition time is exactly the sum of
        /// its scheduled windows plus the lateness of the current one.
        #[test]
        fn partition_time_is_the_scheduled_budget(
            windows in proptest::collection::vec((1u64..1_000_000, 1u64..1_000_000, 0u64..64, 0u64..64), 1..50),
        ) {
            let mut clock = VirtualClock::new();
            let mut start = 17u64;
            let mut budget = 0u64;
            let lateness: Vec<u64> = windows.iter().map(|w| w.2.min(w.1 - 1)).collect();
            for (k, &(gap, length, _, late_out)) in windows.iter().enumerate() {
                start += gap;
                let late_in = lateness[k];
                clock.switch_in(start, start + late_in);
                prop_assert_eq!(clock.virtual_now(start + late_in), budget + late_in);
                let end = start + length;
                prop_assert_eq!(clock.virtual_now(end), budget + length);
                // A window that ends late by no more than the next starts
                // late keeps the rule exact (the other case is below).
                let next_late_in = lateness.get(k + 1).copied().unwrap_or(0);
                clock.switch_out(end, end + late_out.min(next_late_in));
                budget += length;
                start = end;
            }
        }

        /// Whatever the lateness at either end, partition time never goes
        /// back and never runs while the partition is out.
        #[test]
        fn partition_time_never_goes_back(
            windows in proptest::collection::vec((1u64..100_000, 1u64..100_000, 0u64..5_000, 0u64..5_000), 1..60),
        ) {
            let mut clock = VirtualClock::new();
            let mut start = 5u64;
            let mut last_read = 0u64;
            for (gap, length, late_in, late_out) in windows {
                start += gap;
                let now_in = start + late_in;
                clock.switch_in(start, now_in);
                let first = clock.virtual_now(now_in);
                prop_assert!(first >= last_read, "went back from {last_read} to {first}");
                let end = start + length;
                let now_out = end.max(now_in) + late_out;
                last_read = clock.virtual_now(now_out);
                prop_assert_eq!(last_read - first, now_out - now_in, "runs with the counter while in");
                clock.switch_out(end, now_out);
                start = now_out;
            }
        }
    }
}
