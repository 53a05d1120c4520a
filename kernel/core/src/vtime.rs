//! A partition's virtual time, which stands still outside its windows.
//!
//! The rule: a partition's virtual counter (`CNTVCT` as it reads it, and the
//! time [`bulkhead_abi::Call::PartitionTime`] returns) is 0 when the kernel
//! first switches to it and afterwards advances exactly as the physical
//! counter does between the kernel's switch-in sample and its next switch-out
//! sample. While the partition is switched out it does not move.
//!
//! The kernel samples the physical counter once at each switch and calls
//! [`VirtualClock::switch_in`] / [`VirtualClock::switch_out`] with that
//! sample; `CNTVOFF` is then [`VirtualClock::offset`]. Because the virtual
//! timer compares against the virtual counter, a partition's timer deadline is
//! frozen with its time.

/// Virtual-time bookkeeping for one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VirtualClock {
    /// Physical ticks the partition has spent switched out, plus the tick of
    /// its first switch-in: `CNTVOFF`.
    offset: u64,
    /// Physical tick of the last switch-out (0 before the first switch-in).
    switched_out_at: u64,
}

impl VirtualClock {
    /// A clock that has never run: the first switch-in makes it read 0.
    pub const fn new() -> VirtualClock {
        VirtualClock { offset: 0, switched_out_at: 0 }
    }

    /// The partition is switched in at physical tick `now`. Returns the
    /// `CNTVOFF` value to program.
    pub fn switch_in(&mut self, now: u64) -> u64 {
        self.offset += now.saturating_sub(self.switched_out_at);
        self.offset
    }

    /// The partition is switched out at physical tick `now`.
    pub fn switch_out(&mut self, now: u64) {
        self.switched_out_at = now;
    }

    /// The current `CNTVOFF`.
    pub const fn offset(&self) -> u64 {
        self.offset
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

    #[test]
    fn starts_at_zero_and_freezes_while_out() {
        let mut clock = VirtualClock::new();
        clock.switch_in(1_000);
        assert_eq!(clock.virtual_now(1_000), 0);
        assert_eq!(clock.virtual_now(1_250), 250);
        clock.switch_out(1_300);
        clock.switch_in(5_000);
        assert_eq!(clock.virtual_now(5_000), 300);
        assert_eq!(clock.virtual_now(5_010), 310);
    }

    proptest! {
        /// Virtual time equals the sum of the time spent switched in, whatever
        /// the pattern of windows.
        #[test]
        fn virtual_time_is_the_sum_of_windows(gaps in proptest::collection::vec((1u64..1_000_000, 1u64..1_000_000), 1..50)) {
            let mut clock = VirtualClock::new();
            let mut now = 17u64;
            let mut inside = 0u64;
            for (out_for, in_for) in gaps {
                now += out_for;
                clock.switch_in(now);
                prop_assert_eq!(clock.virtual_now(now), inside);
                now += in_for;
                inside += in_for;
                prop_assert_eq!(clock.virtual_now(now), inside);
                clock.switch_out(now);
            }
        }
    }
}
