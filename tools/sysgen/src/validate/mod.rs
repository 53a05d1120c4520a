//! From the description as written to a [`System`] that makes sense.
//!
//! Checks, each reported as a [`Problem`] naming file, key and reason:
//! names (unique, well-formed, known, with a suggestion for near misses);
//! regions (64-byte granularity, inside board memory, no overlap with the
//! kernel or with anything not declared `[[shared]]`); devices and
//! interrupts (exist, not the kernel's, one owner each); the EL2 MPU budget
//! per partition; channels (writer and readers, geometry, notify SGIs); the
//! schedule (whole ticks, windows inside the major frame,
//! every partition has a window). All problems are collected, not just the
//! first.
//!
//! Placement: regions with a fixed `base` stay there; the others go, in
//! description order, at the lowest free address of their memory, 4 KiB
//! aligned when at least 4 KiB long and 64-byte aligned otherwise.
//!
//! This module owns the flow and what every section shares: reading the
//! files, the `Checker` that collects problems against one file, the keys
//! serde errors are reported at, name rules and suggestions. Each section of
//! a description has its own module, which owns that section's checks and
//! their messages:
//!
//! - `board`: the board file (memories, devices, GIC, kernel defaults);
//! - `kernel`: the system's `[kernel]` (tracing, the kernel's regions);
//! - `partitions`: `[[partition]]` names, regions, stacks, core, image and
//!   EL2 MPU budget;
//! - `shared`: `[[shared]]` regions and who maps them;
//! - `channels`: `[[channel]]`s, desugared into shared regions, and their
//!   readers' notify SGIs;
//! - `health`: `fault_policy`, `[partition.health]` and `[monitor]`, and
//!   the monitor's notify SGI (after its channels');
//! - `placement`: where every region goes and what it may not overlap;
//! - `devices`: devices and interrupts given to partitions;
//! - `virtio`: `[[virtio]]` links;
//! - `schedule`: `[[schedule]]` windows, and the core of each partition;
//! - `ids`: partition ids numbered core by core, once all is checked.
//!
//! `build` calls them in the order of their dependencies (partition names
//! before the sections that refer to them, partitions' cores before their
//! devices and shareability, placement before the checks that need
//! addresses, numbering last). All report into one `Checker`; problems are sorted by
//! position once all are in. This module must never hold a section's rule
//! itself: a new section gets its own module.

mod board;
mod channels;
mod devices;
mod health;
mod ids;
mod kernel;
mod partitions;
mod placement;
mod schedule;
mod shared;
mod virtio;

pub use partitions::{FIQ_STACK, merge_mpu_regions};

use crate::diag::{Problem, Problems};
use crate::model::*;
use crate::raw;
use board::BoardKernelDefaults;
use miette::NamedSource;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;

/// Collects problems against one file.
struct Checker {
    file: PathBuf,
    source: Arc<NamedSource<String>>,
    problems: Problems,
}

impl Checker {
    fn new(file: &Path, text: &str) -> Checker {
        Checker {
            file: file.to_owned(),
            source: Arc::new(NamedSource::new(file.display().to_string(), text.to_owned())),
            problems: Problems::default(),
        }
    }

    fn problem(&mut self, key: impl Into<String>, reason: impl Into<String>, span: Option<Range<usize>>) {
        let mut problem = Problem::new(&self.file, key, reason).with_source(&self.source);
        if let Some(span) = span {
            problem = problem.at(span);
        }
        self.problems.push(problem);
    }

    fn at<T>(&mut self, key: impl Into<String>, value: &Spanned<T>, reason: impl Into<String>) {
        self.problem(key, reason, Some(value.span()));
    }

    fn parse<T: serde::de::DeserializeOwned>(&mut self, text: &str) -> Option<T> {
        match toml::from_str::<T>(text) {
            Ok(value) => Some(value),
            Err(error) => {
                let key = error_key(text, &error);
                self.problem(key, error.message().trim().to_owned(), error.span());
                None
            }
        }
    }
}

/// The key a serde error is about: the dotted key at the error's position
/// (written as the checks write keys), plus the field for a missing one;
/// `(syntax)` when the text is not TOML at all.
fn error_key(text: &str, error: &toml::de::Error) -> String {
    let message = error.message();
    let field = |prefix: &str| message.split(prefix).nth(1).and_then(|rest| rest.split('`').next());
    let at = error.span().and_then(|span| key_at(text, span.start));
    if let Some(missing) = field("missing field `") {
        return match at {
            Some(parent) => format!("{parent}.{missing}"),
            None => missing.to_owned(),
        };
    }
    at.or_else(|| field("unknown field `").map(str::to_owned)).unwrap_or_else(|| "(syntax)".to_owned())
}

/// The dotted key whose key or value covers byte `at` of `text`. Array
/// elements are named by their `name` when they have one
/// (`partition.counter.code`), by index otherwise (`schedule[0].windows[1]`),
/// as the checks name them.
fn key_at(text: &str, at: usize) -> Option<String> {
    let document = toml::de::DeTable::parse(text).ok()?;
    let mut path = String::new();
    key_in_table(document.get_ref(), at, &mut path).then_some(path)
}

fn key_in_table(table: &toml::de::DeTable<'_>, at: usize, path: &mut String) -> bool {
    for (key, value) in table.iter() {
        let length = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key.get_ref());
        if key_in_value(value, at, path) || key.span().contains(&at) {
            return true;
        }
        path.truncate(length);
    }
    false
}

fn key_in_value(value: &Spanned<toml::de::DeValue<'_>>, at: usize, path: &mut String) -> bool {
    match value.get_ref() {
        toml::de::DeValue::Table(table) => key_in_table(table, at, path) || value.span().contains(&at),
        toml::de::DeValue::Array(array) => {
            for (index, element) in array.iter().enumerate() {
                let length = path.len();
                let name = element
                    .get_ref()
                    .as_table()
                    .and_then(|table| table.get("name"))
                    .and_then(|name| name.get_ref().as_str());
                match name {
                    Some(name) => {
                        path.push('.');
                        path.push_str(name);
                    }
                    None => path.push_str(&format!("[{index}]")),
                }
                if key_in_value(element, at, path) {
                    return true;
                }
                path.truncate(length);
            }
            value.span().contains(&at)
        }
        _ => value.span().contains(&at),
    }
}

/// Suggests the closest of `candidates` to `name`, if close enough.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let best = candidates
        .into_iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= 2.max(candidate.len() / 3))
        .min();
    match best {
        Some((_, candidate)) => format!(" (did you mean `{candidate}`?)"),
        None => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb)).min(row[j] + 1).min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && name.len() <= 24
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-'))
}

fn to_u32(value: u64) -> Option<u32> {
    u32::try_from(value).ok()
}

/// The partitions' names, for every section that refers to a partition.
struct PartitionNames {
    /// Accepted names (well-formed, first of their name) to partition index.
    accepted: HashMap<String, usize>,
    /// Every partition's name as written, in file order, accepted or not.
    declared: Vec<String>,
}

impl PartitionNames {
    /// The partition `name` refers to. An unknown name is reported at `key`
    /// with a suggestion, unless some partition is declared with it: that
    /// one was rejected, and reported, at its own name.
    fn resolve(&self, checker: &mut Checker, key: String, name: &Spanned<String>) -> Option<usize> {
        let found = self.accepted.get(name.get_ref()).copied();
        if found.is_none() && !self.declared.contains(name.get_ref()) {
            let reason = format!(
                "no partition `{}`{}",
                name.get_ref(),
                suggest(name.get_ref(), self.declared.iter().map(String::as_str))
            );
            checker.at(key, name, reason);
        }
        found
    }
}

/// Reads and validates the system description at `path`, with boards under
/// `boards_dir` (`<boards_dir>/<board>/board.toml`).
pub fn load(path: &Path, boards_dir: &Path) -> Result<System, Problems> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| Problems(vec![Problem::new(path, "(file)", format!("cannot read the file: {error}"))]))?;
    parse(path, &text, boards_dir)
}

/// Validates the system description `text`, read from `path`.
pub fn parse(path: &Path, text: &str, boards_dir: &Path) -> Result<System, Problems> {
    let mut checker = Checker::new(path, text);
    let Some(file) = checker.parse::<raw::SystemFile>(text) else {
        return Err(checker.problems);
    };
    let board_name = file.system.board.get_ref().clone();
    if !valid_name(&board_name) {
        checker.at("system.board", &file.system.board, "a board name is lower-case letters, digits and '-'");
        return Err(checker.problems);
    }
    // A project's own board, kept next to its description, comes first.
    let local = description_directory(path).join("boards").join(&board_name).join("board.toml");
    let board_path = if local.is_file() { local } else { boards_dir.join(&board_name).join("board.toml") };
    let Ok(board_text) = std::fs::read_to_string(&board_path) else {
        let known = known_boards(boards_dir);
        let reason = format!(
            "no board `{board_name}`: {} does not exist{}",
            board_path.display(),
            suggest(&board_name, known.iter().map(String::as_str))
        );
        checker.at("system.board", &file.system.board, reason);
        return Err(checker.problems);
    };
    let (board, board_kernel) = board::load(&board_path, &board_text)?;
    let system = build(&mut checker, file, board, board_kernel);
    checker.problems.into_result()?;
    Ok(system.expect("problems reported when the build fails"))
}

fn known_boards(boards_dir: &Path) -> Vec<String> {
    std::fs::read_dir(boards_dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .filter(|entry| entry.path().join("board.toml").exists())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Checks every section of `file` in dependency order and builds the model.
fn build(
    checker: &mut Checker,
    file: raw::SystemFile,
    board: Board,
    board_kernel: BoardKernelDefaults,
) -> Option<System> {
    let name = system_header(checker, &file);
    let kernel::Built { kernel, trace_windows, trace_interrupts } =
        kernel::build(checker, &file, &board, &board_kernel);
    let names = partitions::names(checker, &file);
    let monitor = health::monitor(checker, &file, &names);

    // Region requests in description order: partitions' regions, then
    // shared, then channel windows (shared regions too), then VIRTIO
    // windows.
    let mut requests = placement::Requests::default();
    partitions::request_regions(checker, &file, &board, &mut requests);
    let mut shared_requests = shared::request(checker, &file, &board, &names, &mut requests);
    let mut channel_requests = channels::request(checker, &file, &board, &names, &mut requests, &mut shared_requests);
    let monitor_sgi =
        health::assign_monitor_sgi(checker, &file, monitor.as_ref(), &mut channel_requests.partitions.notify);
    let health = health::build(checker, &file, &board, monitor.as_ref());
    let window_requests = virtio::request_windows(checker, &file, &board, &names, &mut requests);
    let placed = placement::place(checker, &board, &kernel, &requests.list);

    let cores = schedule::partition_cores(checker, &file, &board, &names);
    let partitions = partitions::build(
        checker,
        &file,
        &board,
        &kernel,
        &names,
        &requests,
        &placed,
        &cores,
        &channel_requests.partitions,
        &health,
    );
    devices::check_memory_clear_of_devices(checker, &board, &requests.list, &placed);
    let shared = shared::placed(&shared_requests, &placed);
    let channels = channels::build(channel_requests.channels, &placed);
    let virtio = virtio::build_links(checker, &file, &board, &window_requests, &placed, &partitions);
    let schedules = schedule::build(checker, &file, &board, &names);
    // The cores' kernels share words in their data region (start-up,
    // health-monitor requests, notify posts, the shared console's line
    // holder) and update them with exclusives. The Cortex-R52's L1 data
    // caches are not coherent between cores and its global exclusive
    // monitor covers shareable memory only; it does not cache shareable
    // Normal memory. So with more than one core scheduled the kernel's data
    // region is Outer Shareable (uncached, as partitions' cross-core shared
    // regions are); a single core keeps it non-shareable and cached.
    let mut kernel = kernel;
    if schedules.len() > 1 {
        kernel.mpu_regions[1].shareability = bulkhead_mpu::Shareability::OuterShareable;
    }
    let warnings = Vec::new();
    let mut system = System {
        file: checker.file.clone(),
        name,
        board,
        kernel,
        partitions,
        shared,
        channels,
        virtio,
        schedules,
        trace_windows,
        trace_interrupts,
        monitor: health::build_monitor(monitor.as_ref(), monitor_sgi),
        warnings,
    };
    ids::number_core_by_core(&mut system);
    Some(system)
}

/// `[system]` (the board was resolved before).
fn system_header(checker: &mut Checker, file: &raw::SystemFile) -> String {
    let name = file.system.name.get_ref().clone();
    if !valid_name(&name) {
        checker.at(
            "system.name",
            &file.system.name,
            "a system name is lower-case letters, digits and '-', starting with a letter",
        );
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(suggest("countr", ["counter", "clock"]), " (did you mean `counter`?)");
        assert_eq!(suggest("xyz", ["counter", "clock"]), "");
    }

    #[test]
    fn names() {
        assert!(valid_name("demo-clock2"));
        assert!(!valid_name("Demo"));
        assert!(!valid_name("a b"));
        assert!(!valid_name("2x"));
        assert!(!valid_name("a]"));
    }
}
