//! The health monitor's decisions and its error log.
//!
//! This module owns what the kernel decides when a partition goes wrong:
//! which [`HealthAction`] an [`ErrorKind`] gets ([`decide`]), whether a
//! restart is still within the partition's restart limit
//! ([`RestartHistory`]), whether its watchdog expired ([`watchdog_expired`]),
//! and the bounded error log every core keeps ([`ErrorLog`]), which outlives
//! partition restarts and which the monitor partition reads. It must never
//! touch a partition, a register or the console: the kernel applies what is
//! decided here.
//!
//! ## The error log
//!
//! One [`ErrorLog`] per core, in kernel RAM, written only by that core's
//! kernel and read by any core's (the monitor may run on another core). It
//! is a ring of [`LOG_ENTRIES`] entries numbered from 1; entry `n` is in
//! slot `n % LOG_ENTRIES`, so the newest `LOG_ENTRIES` are held and older
//! ones are overwritten (the count of entries ever written says how many
//! were lost). Each slot is a sequence lock: the writer stores `2n + 1`
//! (odd: being written), a release fence, the fields, a release fence, then
//! `2n`; a reader loads the sequence, an acquire fence, the fields, an
//! acquire fence, the sequence again, and accepts the entry only if both
//! loads read `2n`. The writer never waits for a reader; a reader that
//! raced gets [`LogRead::Raced`] and tries again (the host tests interleave
//! a reader with every store of the writer).

pub use bulkhead_abi::health::{LOG_ENTRY_WORDS, LogEntry};

use crate::tables::{ErrorKind, HealthAction, HealthDesc, RestartLimit};
use core::sync::atomic::{AtomicU32, Ordering, fence};

/// Entries each core's log holds.
pub const LOG_ENTRIES: usize = 32;

/// Most restarts a [`RestartLimit`] may allow (the history keeps that
/// many).
pub const MAX_RESTART_LIMIT: u8 = 16;

/// What the health monitor does about one error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// What is done.
    pub action: HealthAction,
    /// The error's action was a restart, but the partition had used its
    /// restart limit: this is the `restart-limit` kind's action instead.
    pub limit_reached: bool,
}

/// The restarts of one partition in the recent frames: the frame numbers
/// of its last [`MAX_RESTART_LIMIT`] restarts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestartHistory {
    /// Ring of frame numbers; `next` is where the next one goes.
    frames: [u64; MAX_RESTART_LIMIT as usize],
    next: u8,
    /// How many of `frames` hold a restart (at most all of them).
    filled: u8,
    /// Restarts recorded in all (saturating).
    count: u32,
}

impl Default for RestartHistory {
    fn default() -> Self {
        Self::new()
    }
}

impl RestartHistory {
    /// No restarts.
    pub const fn new() -> RestartHistory {
        RestartHistory { frames: [0; MAX_RESTART_LIMIT as usize], next: 0, filled: 0, count: 0 }
    }

    /// Whether one more restart in major frame `frame` stays within
    /// `limit`: fewer than `limit.restarts` restarts in the `limit.frames`
    /// frames that end with `frame` (frames `frame - frames + 1 ..= frame`).
    pub fn allows(&self, limit: RestartLimit, frame: u64) -> bool {
        let n = limit.restarts.min(MAX_RESTART_LIMIT);
        if n == 0 {
            return false;
        }
        if self.filled < n {
            return true;
        }
        // The n-th most recent restart.
        let size = MAX_RESTART_LIMIT as usize;
        let oldest = self.frames[(self.next as usize + size - n as usize) % size];
        frame.saturating_sub(oldest) >= limit.frames as u64
    }

    /// Records a restart in frame `frame`.
    pub fn record(&mut self, frame: u64) {
        // `next` is below the ring's size; the `%` says so to the compiler
        // (no bounds check, so no panic path in the kernel).
        self.frames[self.next as usize % MAX_RESTART_LIMIT as usize] = frame;
        self.next = (self.next + 1) % MAX_RESTART_LIMIT;
        self.filled = (self.filled + 1).min(MAX_RESTART_LIMIT);
        self.count = self.count.saturating_add(1);
    }

    /// Restarts recorded (saturating).
    pub const fn count(&self) -> u32 {
        self.count
    }
}

/// The action for error `kind` of a partition described by `desc`, in
/// major frame `frame` (counted from 0), given its restart history. A
/// restart (warm or cold) within the limit is recorded in `history`; one
/// past it becomes the `restart-limit` action (halt or monitor: the
/// generator and [`HealthDesc::check`] allow nothing else).
pub fn decide(desc: &HealthDesc, kind: ErrorKind, history: &mut RestartHistory, frame: u64) -> Decision {
    let action = desc.action(kind);
    if !matches!(action, HealthAction::Restart | HealthAction::RestartCold) {
        return Decision { action, limit_reached: false };
    }
    match desc.restart_limit {
        Some(limit) if !history.allows(limit, frame) => {
            Decision { action: desc.action(ErrorKind::RestartLimit), limit_reached: true }
        }
        _ => {
            history.record(frame);
            Decision { action, limit_reached: false }
        }
    }
}

/// Whether a watchdog of `deadline` ticks of partition time, last kicked
/// at partition time `kicked`, has expired at partition time `now`: more
/// than `deadline` ticks passed without a kick. A `deadline` of 0 is no
/// watchdog.
pub const fn watchdog_expired(deadline: u64, kicked: u64, now: u64) -> bool {
    deadline != 0 && now.saturating_sub(kicked) > deadline
}

/// One slot of the log: a sequence word and the entry's words.
struct Slot {
    sequence: AtomicU32,
    words: [AtomicU32; LOG_ENTRY_WORDS],
}

impl Slot {
    const fn new() -> Slot {
        Slot { sequence: AtomicU32::new(0), words: [const { AtomicU32::new(0) }; LOG_ENTRY_WORDS] }
    }
}

/// The outcome of reading entry `n` of a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogRead {
    /// The entry.
    Entry(LogEntry),
    /// Not held: not written yet, or overwritten already.
    Missing,
    /// The writer was writing that slot: try again.
    Raced,
}

/// A core's error log: [`LOG_ENTRIES`] entries, one writer (the core's
/// kernel), any number of readers on any core.
pub struct ErrorLog {
    /// Entries ever written: the next entry's number minus one.
    written: AtomicU32,
    slots: [Slot; LOG_ENTRIES],
}

impl Default for ErrorLog {
    fn default() -> Self {
        Self::new()
    }
}

impl ErrorLog {
    /// An empty log (all zeros: it lives in `.bss`).
    pub const fn new() -> ErrorLog {
        ErrorLog { written: AtomicU32::new(0), slots: [const { Slot::new() }; LOG_ENTRIES] }
    }

    /// Appends `entry` (its `number` is assigned here) and returns the
    /// number. Only the owning core's kernel may call this.
    pub fn push(&self, mut entry: LogEntry) -> u32 {
        let number = self.written.load(Ordering::Relaxed).wrapping_add(1);
        // Number 0 means "none": after 2^32 entries the numbering wraps to 1.
        let number = if number == 0 { 1 } else { number };
        entry.number = number;
        let slot = &self.slots[number as usize % LOG_ENTRIES];
        slot.sequence.store(number.wrapping_mul(2).wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        for (word, value) in slot.words.iter().zip(entry.to_words()) {
            word.store(value, Ordering::Relaxed);
        }
        fence(Ordering::Release);
        slot.sequence.store(number.wrapping_mul(2), Ordering::Relaxed);
        self.written.store(number, Ordering::Release);
        number
    }

    /// The number of the newest entry (0: none yet).
    pub fn newest(&self) -> u32 {
        self.written.load(Ordering::Acquire)
    }

    /// The number of the oldest entry still held (0: none yet).
    pub fn oldest(&self) -> u32 {
        let newest = self.newest();
        if newest == 0 { 0 } else { newest.saturating_sub(LOG_ENTRIES as u32 - 1).max(1) }
    }

    /// Reads entry `number`.
    pub fn read(&self, number: u32) -> LogRead {
        let (oldest, newest) = (self.oldest(), self.newest());
        if number == 0 || number < oldest || number > newest {
            return LogRead::Missing;
        }
        let slot = &self.slots[number as usize % LOG_ENTRIES];
        let expected = number.wrapping_mul(2);
        let before = slot.sequence.load(Ordering::Relaxed);
        fence(Ordering::Acquire);
        let mut words = [0u32; LOG_ENTRY_WORDS];
        for (value, word) in words.iter_mut().zip(slot.words.iter()) {
            *value = word.load(Ordering::Relaxed);
        }
        fence(Ordering::Acquire);
        let after = slot.sequence.load(Ordering::Relaxed);
        if before != expected || after != expected {
            // Overwritten since the bounds were read, or being written.
            return if before == after && before & 1 == 0 { LogRead::Missing } else { LogRead::Raced };
        }
        LogRead::Entry(LogEntry::from_words(&words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tables::ERROR_KINDS;

    fn desc(action: HealthAction, limit: Option<RestartLimit>) -> HealthDesc {
        let mut actions = [action; ERROR_KINDS];
        actions[ErrorKind::RestartLimit as usize] = HealthAction::Halt;
        HealthDesc { actions, watchdog: 0, restart_limit: limit }
    }

    #[test]
    fn restarts_within_the_limit_then_the_limit_action() {
        let limit = RestartLimit { restarts: 3, frames: 10 };
        let desc = desc(HealthAction::Restart, Some(limit));
        let mut history = RestartHistory::new();
        for frame in [0, 1, 2] {
            let decision = decide(&desc, ErrorKind::Fault, &mut history, frame);
            assert_eq!(decision, Decision { action: HealthAction::Restart, limit_reached: false }, "frame {frame}");
        }
        // A fourth within frames 0..=9: over the limit.
        for frame in [3, 9] {
            let decision = decide(&desc, ErrorKind::Fault, &mut history, frame);
            assert_eq!(decision, Decision { action: HealthAction::Halt, limit_reached: true }, "frame {frame}");
        }
        // Frame 10: the restart of frame 0 left the window of 10 frames.
        let decision = decide(&desc, ErrorKind::Fault, &mut history, 10);
        assert_eq!(decision.action, HealthAction::Restart);
        // The last three are now frames 1, 2 and 10: a fourth is allowed
        // once frame 1 is 10 frames back.
        assert!(!history.allows(limit, 10));
        assert!(history.allows(limit, 11));
    }

    #[test]
    fn the_limit_counts_exactly_n_restarts_in_m_frames() {
        // Exhaustive over small limits: the decision equals counting the
        // recorded restarts in the window by brute force.
        for restarts in 1..=4u8 {
            for frames in 1..=6u32 {
                let limit = RestartLimit { restarts, frames };
                let desc = desc(HealthAction::RestartCold, Some(limit));
                let mut history = RestartHistory::new();
                let mut done: std::vec::Vec<u64> = std::vec::Vec::new();
                for frame in 0..40u64 {
                    // An error in every other frame, two in frames divisible by 3.
                    let errors = if frame % 3 == 0 { 2 } else { (frame % 2) as usize };
                    for _ in 0..errors {
                        let in_window = done.iter().filter(|&&f| frame - f < frames as u64).count();
                        let expected = in_window < restarts as usize;
                        let decision = decide(&desc, ErrorKind::Watchdog, &mut history, frame);
                        assert_eq!(decision.action == HealthAction::RestartCold, expected, "{limit:?} frame {frame}");
                        assert_eq!(decision.limit_reached, !expected);
                        if expected {
                            done.push(frame);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn no_limit_restarts_forever_and_other_actions_are_not_counted() {
        let desc = desc(HealthAction::Restart, None);
        let mut history = RestartHistory::new();
        for frame in 0..100 {
            assert_eq!(decide(&desc, ErrorKind::Fault, &mut history, frame).action, HealthAction::Restart);
        }
        let log = self::desc(HealthAction::Log, Some(RestartLimit { restarts: 1, frames: 100 }));
        let mut history = RestartHistory::new();
        for frame in 0..10 {
            assert_eq!(decide(&log, ErrorKind::PortOverflow, &mut history, frame).action, HealthAction::Log);
        }
        assert_eq!(history.count(), 0);
    }

    #[test]
    fn a_zero_limit_allows_no_restart() {
        let history = RestartHistory::new();
        assert!(!history.allows(RestartLimit { restarts: 0, frames: 5 }, 0));
    }

    #[test]
    fn watchdog_expires_only_past_its_deadline() {
        assert!(!watchdog_expired(0, 0, u64::MAX));
        assert!(!watchdog_expired(100, 50, 150));
        assert!(watchdog_expired(100, 50, 151));
        // A kick "in the future" (cannot happen) is not an expiry.
        assert!(!watchdog_expired(100, 500, 10));
    }

    #[test]
    fn entries_round_trip_through_words() {
        let entry = LogEntry {
            number: 7,
            core: 1,
            partition: 3,
            kind: ErrorKind::Watchdog as u8,
            action: HealthAction::Monitor as u8,
            detail: 0xdead_beef,
            detail2: 0x1234,
            time: 0x1_0000_0002,
        };
        assert_eq!(LogEntry::from_words(&entry.to_words()), entry);
    }

    #[test]
    fn log_keeps_the_newest_entries_in_order() {
        let log = ErrorLog::new();
        assert_eq!((log.oldest(), log.newest()), (0, 0));
        assert_eq!(log.read(0), LogRead::Missing);
        assert_eq!(log.read(1), LogRead::Missing);
        for n in 1..=(LOG_ENTRIES as u32 * 3 + 5) {
            let number = log.push(LogEntry { detail: n * 10, ..LogEntry::default() });
            assert_eq!(number, n);
            assert_eq!(log.newest(), n);
            let oldest = log.oldest();
            assert_eq!(oldest, n.saturating_sub(LOG_ENTRIES as u32 - 1).max(1));
            for k in 0..=n + 1 {
                match log.read(k) {
                    LogRead::Entry(entry) => {
                        assert!(k >= oldest && k <= n);
                        assert_eq!((entry.number, entry.detail), (k, k * 10));
                    }
                    LogRead::Missing => assert!(k < oldest || k > n || k == 0),
                    LogRead::Raced => panic!("no writer is running"),
                }
            }
        }
    }

    /// The writer's stores, one at a time, with a reader's whole read
    /// interleaved after each: a reader never accepts a torn entry, and
    /// accepts the entry when no store of its slot intervenes.
    #[test]
    fn a_read_interleaved_with_any_store_is_whole_or_refused() {
        // The writer's steps, replayed by hand on one slot: `push` as a
        // sequence of single stores.
        let log = ErrorLog::new();
        for n in 1..=LOG_ENTRIES as u32 {
            log.push(LogEntry { detail: n, detail2: !n, ..LogEntry::default() });
        }
        // Overwrite entry 1's slot with entry LOG_ENTRIES + 1, store by store.
        let number = LOG_ENTRIES as u32 + 1;
        let slot = &log.slots[number as usize % LOG_ENTRIES];
        let words = LogEntry { number, detail: number, detail2: !number, ..LogEntry::default() }.to_words();
        let check = |log: &ErrorLog, stage: &str| {
            for k in 1..=number {
                if let LogRead::Entry(entry) = log.read(k) {
                    assert_eq!(entry.number, k, "{stage}: entry {k}");
                    assert_eq!((entry.detail, entry.detail2), (k, !k), "{stage}: torn entry {k}");
                }
            }
        };
        check(&log, "before");
        slot.sequence.store(number * 2 + 1, Ordering::Relaxed);
        check(&log, "odd sequence");
        for (index, value) in words.iter().enumerate() {
            slot.words[index].store(*value, Ordering::Relaxed);
            check(&log, "payload store");
            assert_ne!(
                log.read(1),
                LogRead::Entry(LogEntry { number: 1, detail: 1, detail2: !1, ..LogEntry::default() })
            );
        }
        slot.sequence.store(number * 2, Ordering::Relaxed);
        check(&log, "even sequence");
        // `written` not yet advanced: the new entry is not visible, the old one is gone.
        assert_eq!(log.read(number), LogRead::Missing);
        assert_eq!(log.read(1), LogRead::Missing);
        log.written.store(number, Ordering::Release);
        assert!(matches!(log.read(number), LogRead::Entry(entry) if entry.detail == number));
    }

    #[test]
    fn concurrent_reader_never_sees_a_torn_entry() {
        use std::sync::Arc;
        let log = Arc::new(ErrorLog::new());
        let writer = {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for n in 1..=20_000u32 {
                    log.push(LogEntry { detail: n, detail2: n.wrapping_mul(2654435761), ..LogEntry::default() });
                }
            })
        };
        let mut accepted = 0u32;
        while !writer.is_finished() || accepted == 0 {
            let newest = log.newest();
            for k in log.oldest()..=newest {
                if let LogRead::Entry(entry) = log.read(k) {
                    assert_eq!(entry.number, k);
                    assert_eq!(entry.detail, k);
                    assert_eq!(entry.detail2, k.wrapping_mul(2654435761));
                    accepted += 1;
                }
            }
        }
        writer.join().unwrap();
        assert!(accepted > 0);
    }
}
