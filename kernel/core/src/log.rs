//! How the kernel's log lines are spelled, and how tools read them back.
//!
//! Every kernel line starts with `@`, then a record kind, an optional subject
//! (a partition name) and `key=value` fields separated by single spaces:
//!
//! ```text
//! @boot system=demo partitions=3 timer-hz=62500000 frame-ticks=625000 windows=4
//! @window frame=7 index=1 owner=counter scheduled=4437500 observed=4437501
//! @fault attacker class=stage2-data-abort hsr=0x93c0804f address=0x10010000 pc=0x08200124 policy=restart
//! @restart attacker count=3
//! ```
//!
//! Partition output is always written as `[name] text`, with control bytes
//! replaced, so no partition can produce a line starting with `@`. The
//! system tests and `cargo xtask run` parse lines with [`Record::parse`]; the
//! kernel writes them with the constants here, so both sides share one spelling.

/// First byte of every kernel line.
pub const MARKER: u8 = b'@';

/// Record kinds.
pub mod kind {
    /// Kernel started; system summary.
    pub const BOOT: &str = "boot";
    /// One partition's layout, at boot.
    pub const PARTITION: &str = "partition";
    /// A window started (only with the `windows` trace).
    pub const WINDOW: &str = "window";
    /// A partition faulted.
    pub const FAULT: &str = "fault";
    /// A partition was restarted at the start of its window.
    pub const RESTART: &str = "restart";
    /// A partition will never run again.
    pub const HALTED: &str = "halted";
    /// The run ended after the requested number of major frames.
    pub const FRAMES_DONE: &str = "frames-done";
    /// The kernel itself took an exception: a kernel bug.
    pub const KERNEL_PANIC: &str = "kernel-panic";
    /// A partition's physical interrupt arrived at EL2 (only with the
    /// `interrupts` trace).
    pub const IRQ: &str = "irq";
    /// A queued interrupt was handed to its partition at the start of its
    /// window (only with the `interrupts` trace).
    pub const VIRQ: &str = "virq";
    /// A partition touched the GIC for an interrupt it does not own; the
    /// access was ignored.
    pub const VGIC_IGNORED: &str = "vgic-ignored";
    /// This core's kernel took another core's kernel's ring (the cores'
    /// doorbell, SGI 0): `@core-ring core=N frame=F`.
    pub const CORE_RING: &str = "core-ring";
    /// The health monitor acted on an error:
    /// `@health NAME error=KIND action=ACTION log-core=C log-entry=N` (the
    /// entry's place in the error log).
    pub const HEALTH: &str = "health";
    /// The monitor partition changed another partition:
    /// `@control NAME op=OP by=MONITOR`.
    pub const CONTROL: &str = "control";
    /// A partition's console lines were dropped because its queue was full.
    pub const CONSOLE_DROPPED: &str = "console-dropped";
    /// Kernel records were dropped because their queue was full.
    pub const EVENTS_DROPPED: &str = "events-dropped";
}

/// A parsed kernel line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// The record kind (see [`kind`]).
    pub kind: &'a str,
    /// The first word after the kind when it is not a `key=value` field.
    pub subject: Option<&'a str>,
    fields: &'a str,
}

impl<'a> Record<'a> {
    /// Parses a kernel line; `None` for anything else (partition output, noise).
    pub fn parse(line: &'a str) -> Option<Record<'a>> {
        let rest = line.trim_end().strip_prefix(MARKER as char)?;
        let (kind, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        if kind.is_empty() {
            return None;
        }
        let (subject, fields) = match rest.split_once(' ') {
            Some((first, tail)) if !first.contains('=') => (Some(first), tail),
            None if !rest.is_empty() && !rest.contains('=') => (Some(rest), ""),
            _ => (None, rest),
        };
        Some(Record { kind, subject, fields })
    }

    /// The value of field `key`.
    pub fn field(&self, key: &str) -> Option<&'a str> {
        self.fields.split(' ').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == key).then_some(v)
        })
    }

    /// The value of field `key` as a decimal or `0x` hexadecimal number.
    pub fn number(&self, key: &str) -> Option<u64> {
        let value = self.field(key)?;
        match value.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => value.parse().ok(),
        }
    }
}

/// Splits a partition output line `[name] text` into its parts.
pub fn partition_line(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('[')?;
    let (name, text) = rest.split_once("] ")?;
    Some((name, text.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_records_with_and_without_subject() {
        let fault =
            Record::parse("@fault attacker class=stage2-data-abort hsr=0x93c0804f address=0x10010000\r").unwrap();
        assert_eq!(fault.kind, kind::FAULT);
        assert_eq!(fault.subject, Some("attacker"));
        assert_eq!(fault.field("class"), Some("stage2-data-abort"));
        assert_eq!(fault.number("address"), Some(0x1001_0000));
        assert_eq!(fault.number("missing"), None);

        let window = Record::parse("@window frame=7 index=1 owner=counter scheduled=4437500").unwrap();
        assert_eq!(window.subject, None);
        assert_eq!(window.number("scheduled"), Some(4_437_500));

        let halted = Record::parse("@halted spinner").unwrap();
        assert_eq!(halted.subject, Some("spinner"));
        assert_eq!(Record::parse("@frames-done count=3").unwrap().number("count"), Some(3));
    }

    #[test]
    fn partition_output_is_never_a_record() {
        assert_eq!(Record::parse("[ticker] @fault x"), None);
        assert_eq!(partition_line("[ticker] @fault x"), Some(("ticker", "@fault x")));
        assert_eq!(Record::parse("@"), None);
    }
}
