//! Reading a run's console: kernel records and partition lines.
//!
//! The spelling is `bulkhead_kernel_core::log`'s; this module only gathers
//! lines into shapes tests assert on.

pub use bulkhead_kernel_core::log::{Record, kind, partition_line};

/// A window start as traced by the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowStart {
    /// Major frame.
    pub frame: u64,
    /// Window index in the frame.
    pub index: u64,
    /// Owner name, or `idle`.
    pub owner: String,
    /// Tick the schedule gives.
    pub scheduled: u64,
    /// Tick the kernel observed at the boundary.
    pub observed: u64,
}

/// Kernel records of one kind.
pub fn records<'a>(lines: &'a [String], wanted: &'a str) -> impl Iterator<Item = Record<'a>> + 'a {
    lines.iter().filter_map(|line| Record::parse(line)).filter(move |record| record.kind == wanted)
}

/// All traced window starts.
pub fn window_starts(lines: &[String]) -> Vec<WindowStart> {
    records(lines, kind::WINDOW)
        .filter_map(|record| {
            Some(WindowStart {
                frame: record.number("frame")?,
                index: record.number("index")?,
                owner: record.field("owner")?.to_owned(),
                scheduled: record.number("scheduled")?,
                observed: record.number("observed")?,
            })
        })
        .collect()
}

/// Lines partition `name` printed, without the prefix.
pub fn partition_output<'a>(lines: &'a [String], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    lines.iter().filter_map(move |line| partition_line(line).filter(|(who, _)| *who == name).map(|(_, text)| text))
}

/// The value after `key=` in a partition line (`key=value` words).
pub fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.split(' ').find_map(|word| word.strip_prefix(key)?.strip_prefix('='))
}
