//! From the description as written to a [`System`] that makes sense.
//!
//! Checks, each reported as a [`Problem`] naming file, key and reason:
//! names (unique, well-formed, known, with a suggestion for near misses);
//! regions (64-byte granularity, inside board memory, no overlap with the
//! kernel or with anything not declared `[[shared]]`); devices and
//! interrupts (exist, not the kernel's, one owner each); the EL2 MPU budget
//! per partition; the schedule (whole ticks, windows inside the major frame,
//! every partition has a window). All problems are collected, not just the
//! first.
//!
//! Placement: regions with a fixed `base` stay there; the others go, in
//! description order, at the lowest free address of their memory, 4 KiB
//! aligned when at least 4 KiB long and 64-byte aligned otherwise.

use crate::diag::{Problem, Problems};
use crate::model::*;
use crate::raw::{self, FaultPolicy, MemoryKind};
use bulkhead_kernel_core::schedule::ticks_from_nanos;
use bulkhead_kernel_core::tables::KERNEL_REGION_SLOTS;
use bulkhead_mpu::{El1Access, El2Access, GRANULE, MemoryType, Region, Shareability};
use miette::NamedSource;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;

/// Default main stack.
const DEFAULT_STACK: u64 = 4096;
/// Default stack of each exception mode.
const DEFAULT_EXCEPTION_STACK: u64 = 512;
/// FIQ stack (partitions get no FIQs).
pub const FIQ_STACK: u32 = 64;
/// Interrupt ids below this are SGIs.
const FIRST_PPI: u32 = 16;
/// The virtual timer PPI every partition owns through its own timer.
const VIRTUAL_TIMER_INTID: u32 = bulkhead_kernel_core::vgic::VIRTUAL_TIMER as u32;
/// Interrupts one partition may own, the virtual timer included.
const MAX_OWNED_INTERRUPTS: usize = bulkhead_kernel_core::vgic::MAX_OWNED;

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

fn valid_crate_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
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
    let board_path = boards_dir.join(&board_name).join("board.toml");
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
    let (board, board_kernel) = load_board(&board_path, &board_text)?;
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

/// The board's kernel defaults, kept for the system's `[kernel]` overrides.
struct BoardKernelDefaults {
    code: Span,
    data: Span,
    stack_size: u32,
    console: usize,
    interrupts: Vec<u32>,
}

fn to_u32(value: u64) -> Option<u32> {
    u32::try_from(value).ok()
}

/// Reads and validates a board description.
fn load_board(path: &Path, text: &str) -> Result<(Board, BoardKernelDefaults), Problems> {
    let mut checker = Checker::new(path, text);
    let Some(file) = checker.parse::<raw::BoardFile>(text) else {
        return Err(checker.problems);
    };
    let mut memories = Vec::new();
    for memory in &file.memory {
        let name = memory.get_ref().name.get_ref().clone();
        let base = *memory.get_ref().base.get_ref();
        let size = memory.get_ref().size.get_ref().0;
        if base % GRANULE as u64 != 0 || size % GRANULE as u64 != 0 || size == 0 || base + size > 1 << 32 {
            checker.at(
                format!("memory.{name}"),
                memory,
                "a memory must be a non-empty, 64-byte aligned range below 4 GiB",
            );
        }
        memories.push(Memory { name, base, size, flash: memory.get_ref().kind == MemoryKind::Flash });
    }
    let mut devices: Vec<Device> = Vec::new();
    for device in &file.device {
        let raw = device.get_ref();
        let name = raw.name.get_ref().clone();
        let (Some(base), Some(size)) = (to_u32(*raw.base.get_ref()), to_u32(raw.size.get_ref().0)) else {
            checker.at(format!("device.{name}"), device, "device frame beyond 4 GiB");
            continue;
        };
        if base % GRANULE != 0 || size % GRANULE != 0 || size == 0 {
            checker.at(format!("device.{name}"), device, "a device frame must be a non-empty, 64-byte aligned range");
        }
        if devices.iter().any(|d| d.name == name) {
            checker.at(format!("device.{name}.name"), &raw.name, "device name used twice");
        }
        if let Some(serial) = &raw.serial
            && let Some(other) = devices.iter().find(|d| d.serial == Some(*serial.get_ref()))
        {
            checker.at(format!("device.{name}.serial"), serial, format!("serial port used by `{}` too", other.name));
        }
        devices.push(Device {
            name,
            base,
            size,
            interrupts: raw.interrupts.clone(),
            description: raw.description.clone(),
            chip_wide: raw.chip_wide.clone(),
            serial: raw.serial.as_ref().map(|s| *s.get_ref()),
        });
    }
    let gic = &file.gic;
    let cores = *file.board.cores.get_ref();
    let distributor = *gic.distributor.get_ref();
    let redistributor_end = *gic.redistributor.get_ref() + gic.redistributor_stride.get_ref().0 * cores as u64;
    let region_base = distributor.min(*gic.redistributor.get_ref());
    let region_end = (distributor + gic.distributor_size.get_ref().0).max(redistributor_end);
    let gic_model = Gic {
        distributor: distributor as u32,
        redistributor: *gic.redistributor.get_ref() as u32,
        interrupts: *gic.interrupts.get_ref(),
        region_base: region_base as u32,
        region_size: (region_end - region_base) as u32,
    };
    let console_name = file.kernel.console.get_ref();
    let console = match devices.iter().position(|d| &d.name == console_name) {
        Some(index) => index,
        None => {
            checker.at("kernel.console", &file.kernel.console, format!("no device `{console_name}`"));
            0
        }
    };
    let board = Board {
        name: file.board.name.get_ref().clone(),
        file: path.to_owned(),
        cores,
        timer_hz: *file.board.timer_hz.get_ref(),
        el2_mpu_regions: *file.board.el2_mpu_regions.get_ref(),
        el1_mpu_regions: *file.board.el1_mpu_regions.get_ref(),
        fpu_d32: file.board.fpu_d32,
        memories,
        devices,
        gic: gic_model,
    };
    if board.el2_mpu_regions as usize <= KERNEL_REGION_SLOTS {
        checker.at("board.el2_mpu_regions", &file.board.el2_mpu_regions, "the kernel alone needs 4 EL2 MPU regions");
    }
    let mut span_of = |key: &str, placement: &Spanned<raw::Placement>| -> Span {
        let raw = placement.get_ref();
        match (raw.base.as_ref().and_then(|b| to_u32(*b.get_ref())), to_u32(raw.size.get_ref().0)) {
            (Some(base), Some(size)) if size > 0 => Span { base, size },
            _ => {
                checker.at(key, placement, "the kernel's regions need a fixed base and a size below 4 GiB");
                Span { base: 0, size: GRANULE }
            }
        }
    };
    let code = span_of("kernel.code", &file.kernel.code);
    let data = span_of("kernel.data", &file.kernel.data);
    let defaults = BoardKernelDefaults {
        code,
        data,
        stack_size: file.kernel.stack_size.get_ref().0 as u32,
        console,
        interrupts: file.kernel.interrupts.iter().map(|i| *i.get_ref()).collect(),
    };
    checker.problems.into_result()?;
    Ok((board, defaults))
}

/// A region waiting to be placed.
struct Request {
    key: String,
    span: Range<usize>,
    base: Option<u64>,
    size: u64,
    memory: Option<usize>,
    want_flash: bool,
    /// Some partition writes it (data and stacks, a `rw` region, a shared
    /// region mapped `rw` by anyone): it must be RAM.
    writable: bool,
}

fn build(
    checker: &mut Checker,
    file: raw::SystemFile,
    board: Board,
    board_kernel: BoardKernelDefaults,
) -> Option<System> {
    let name = file.system.name.get_ref().clone();
    if !valid_name(&name) {
        checker.at(
            "system.name",
            &file.system.name,
            "a system name is lower-case letters, digits and '-', starting with a letter",
        );
    }
    if let Some(channel) = &file.channel {
        checker.at("channel", channel, "channels are not supported yet (planned: sampling and queuing ports)");
    }

    // Kernel.
    let mut trace_windows = false;
    let mut trace_interrupts = false;
    for kind in &file.kernel.trace {
        match kind.get_ref().as_str() {
            "windows" => trace_windows = true,
            "interrupts" => trace_interrupts = true,
            other => checker.at(
                "kernel.trace",
                kind,
                format!("no trace `{other}`{}", suggest(other, ["windows", "interrupts"])),
            ),
        }
    }
    let mut kernel_code = board_kernel.code;
    let mut kernel_data = board_kernel.data;
    for (key, placement, target) in
        [("kernel.code", &file.kernel.code, &mut kernel_code), ("kernel.data", &file.kernel.data, &mut kernel_data)]
    {
        if let Some(placement) = placement {
            let raw = placement.get_ref();
            let base = raw.base.as_ref().map_or(Some(target.base), |b| to_u32(*b.get_ref()));
            match (base, to_u32(raw.size.get_ref().0)) {
                (Some(base), Some(size)) => *target = Span { base, size },
                _ => checker.at(key, placement, "beyond 4 GiB"),
            }
        }
    }
    let kernel_stack = file.kernel.stack_size.as_ref().map_or(board_kernel.stack_size as u64, |s| s.get_ref().0);
    for (key, span) in [("kernel.code", kernel_code), ("kernel.data", kernel_data)] {
        if span.base % GRANULE != 0 || span.size % GRANULE != 0 || span.size == 0 {
            checker.problem(key, "the kernel's regions must be non-empty and 64-byte aligned", None);
        }
    }
    // `[kernel]` overrides go where partition regions may: inside one board
    // memory (the named one, when named), code in flash, data in RAM.
    for (key, placement, span, flash) in
        [("kernel.code", &file.kernel.code, kernel_code, true), ("kernel.data", &file.kernel.data, kernel_data, false)]
    {
        let Some(placement) = placement else { continue };
        let (start, end) = (span.base as u64, span.base as u64 + span.size as u64);
        let named = placement.get_ref().memory.as_ref().map(|name| name.get_ref().as_str());
        match board.memories.iter().find(|m| m.base <= start && end <= m.base + m.size) {
            Some(memory) if named.is_none_or(|name| name == memory.name) => {
                if memory.flash != flash {
                    let (what, kind) = if flash { ("code", "flash") } else { ("data", "RAM") };
                    let is = if memory.flash { "flash" } else { "RAM" };
                    checker.at(
                        format!("{key}.memory"),
                        placement,
                        format!("the kernel's {what} must be in {kind}, and `{}` is {is}", memory.name),
                    );
                }
            }
            _ => {
                let inside = match named {
                    Some(name) => format!("memory `{name}`"),
                    None => format!("any memory of board `{}`", board.name),
                };
                checker.at(
                    format!("{key}.base"),
                    placement,
                    format!("{start:#010x}..{end:#010x} is not inside {inside}"),
                );
            }
        }
    }
    let console = &board.devices[board_kernel.console];
    let kernel_region = |span: Span, el2: El2Access, executable: bool, memory: MemoryType| Region {
        base: span.base,
        limit: span.limit(),
        el1: El1Access::None,
        el2,
        executable,
        memory,
        shareability: Shareability::NonShareable,
    };
    let kernel = Kernel {
        code: kernel_code,
        data: kernel_data,
        stack_size: kernel_stack as u32,
        console: board_kernel.console,
        interrupts: board_kernel.interrupts.clone(),
        mpu_regions: [
            kernel_region(kernel_code, El2Access::ReadOnly, true, MemoryType::Normal),
            kernel_region(kernel_data, El2Access::ReadWrite, false, MemoryType::Normal),
            kernel_region(
                Span { base: console.base, size: console.size },
                El2Access::ReadWrite,
                false,
                MemoryType::Device,
            ),
            kernel_region(
                Span { base: board.gic.region_base, size: board.gic.region_size },
                El2Access::ReadWrite,
                false,
                MemoryType::Device,
            ),
        ],
    };

    // Partition names first, so everything else can refer to them.
    let mut names: HashMap<String, usize> = HashMap::new();
    for (index, partition) in file.partitions.iter().enumerate() {
        let raw = partition.get_ref();
        let name = raw.name.get_ref();
        if !valid_name(name) {
            checker.at(
                format!("partition[{index}].name"),
                &raw.name,
                "a partition name is lower-case letters, digits and '-', starting with a letter, at most 24 long",
            );
        } else if names.contains_key(name) {
            checker.at(
                format!("partition.{name}.name"),
                &raw.name,
                format!("a partition named `{name}` already exists"),
            );
        } else {
            names.insert(name.clone(), index);
        }
    }
    if file.partitions.is_empty() {
        checker.problem("partition", "the system has no partitions", None);
    }
    let partition_names: Vec<String> = file.partitions.iter().map(|p| p.get_ref().name.get_ref().clone()).collect();

    // Memory lookup.
    let memory_index = |checker: &mut Checker, key: &str, name: &Option<Spanned<String>>| -> Option<Option<usize>> {
        match name {
            None => Some(None),
            Some(name) => match board.memories.iter().position(|m| &m.name == name.get_ref()) {
                Some(index) => Some(Some(index)),
                None => {
                    let reason = format!(
                        "board `{}` has no memory `{}`{}",
                        board.name,
                        name.get_ref(),
                        suggest(name.get_ref(), board.memories.iter().map(|m| m.name.as_str()))
                    );
                    checker.at(format!("{key}.memory"), name, reason);
                    None
                }
            },
        }
    };

    // Requests in description order: partitions' regions, then shared.
    let mut requests: Vec<Request> = Vec::new();
    // Per partition: (request index, kind, name, access, memory type).
    type RegionRequest = (usize, RegionKind, String, Access, MemoryType);
    let mut partition_regions: Vec<Vec<RegionRequest>> = Vec::new();
    for partition in &file.partitions {
        let raw = partition.get_ref();
        let pname = raw.name.get_ref();
        let mut list = Vec::new();
        for (role, placement, kind, access) in [
            ("code", &raw.code, RegionKind::Code, Access { read: true, write: false, execute: true }),
            ("data", &raw.data, RegionKind::Data, Access { read: true, write: true, execute: false }),
        ] {
            let key = format!("partition.{pname}.{role}");
            let Some(memory) = memory_index(checker, &key, &placement.get_ref().memory) else { continue };
            requests.push(Request {
                key,
                span: placement.span(),
                base: placement.get_ref().base.as_ref().map(|b| *b.get_ref()),
                size: placement.get_ref().size.get_ref().0,
                memory,
                want_flash: kind == RegionKind::Code,
                writable: access.write,
            });
            list.push((requests.len() - 1, kind, role.to_owned(), access, MemoryType::Normal));
        }
        let mut seen = vec!["code".to_owned(), "data".to_owned()];
        for region in &raw.regions {
            let r = region.get_ref();
            let rname = r.name.get_ref();
            let key = format!("partition.{pname}.regions.{rname}");
            if !valid_name(rname) {
                checker.at(format!("{key}.name"), &r.name, "a region name is lower-case letters, digits and '-'");
            } else if seen.contains(rname) {
                checker.at(
                    format!("{key}.name"),
                    &r.name,
                    format!("partition `{pname}` already has a region `{rname}`"),
                );
            }
            seen.push(rname.clone());
            let Some(access) = Access::parse(r.access.get_ref()) else {
                checker.at(
                    format!("{key}.access"),
                    &r.access,
                    format!("`{}` is not an access (write r, rw, rx or rwx)", r.access.get_ref()),
                );
                continue;
            };
            let Some(memory_type) = parse_memory_type(checker, &key, &r.memory_type) else { continue };
            let Some(memory) = memory_index(checker, &key, &r.memory) else { continue };
            requests.push(Request {
                key,
                span: region.span(),
                base: r.base.as_ref().map(|b| *b.get_ref()),
                size: r.size.get_ref().0,
                memory,
                want_flash: false,
                writable: access.write,
            });
            list.push((requests.len() - 1, RegionKind::Private, rname.clone(), access, memory_type));
        }
        partition_regions.push(list);
    }
    let mut shared_requests = Vec::new();
    let mut shared_names: Vec<String> = Vec::new();
    for shared in &file.shared {
        let s = shared.get_ref();
        let sname = s.name.get_ref();
        let key = format!("shared.{sname}");
        if !valid_name(sname) {
            checker.at(format!("{key}.name"), &s.name, "a shared region name is lower-case letters, digits and '-'");
        } else if shared_names.contains(sname) {
            checker.at(format!("{key}.name"), &s.name, format!("a shared region named `{sname}` already exists"));
        }
        shared_names.push(sname.clone());
        let Some(memory_type) = parse_memory_type(checker, &key, &s.memory_type) else { continue };
        let Some(memory) = memory_index(checker, &key, &s.memory) else { continue };
        requests.push(Request {
            key: key.clone(),
            span: shared.span(),
            base: s.base.as_ref().map(|b| *b.get_ref()),
            size: s.size.get_ref().0,
            memory,
            want_flash: false,
            writable: s.access.values().any(|access| access.get_ref() == "rw"),
        });
        let shared_index = shared_requests.len();
        shared_requests.push(requests.len() - 1);
        if s.access.is_empty() {
            checker.at(format!("{key}.access"), shared, "a shared region needs at least one partition in `access`");
        }
        for (partition, access) in &s.access {
            let Some(&index) = names.get(partition.get_ref()) else {
                // A partition declared with a rejected name was reported at its name.
                if partition_names.contains(partition.get_ref()) {
                    continue;
                }
                let reason = format!(
                    "no partition `{}`{}",
                    partition.get_ref(),
                    suggest(partition.get_ref(), partition_names.iter().map(String::as_str))
                );
                checker.at(format!("{key}.access.{}", partition.get_ref()), partition, reason);
                continue;
            };
            let parsed = match access.get_ref().as_str() {
                "r" | "rw" => Access::parse(access.get_ref()),
                _ => None,
            };
            let Some(parsed) = parsed else {
                checker.at(
                    format!("{key}.access.{}", partition.get_ref()),
                    access,
                    format!("`{}` is not a shared access (write r or rw)", access.get_ref()),
                );
                continue;
            };
            partition_regions[index].push((
                requests.len() - 1,
                RegionKind::Shared(shared_index),
                sname.clone(),
                parsed,
                memory_type,
            ));
        }
    }

    // VIRTIO windows: one region of the owning partition each.
    let mut virtio_requests: Vec<Option<(usize, usize)>> = Vec::new();
    let mut virtio_names: Vec<String> = Vec::new();
    for (link_index, link) in file.virtio.iter().enumerate() {
        let v = link.get_ref();
        let vname = v.name.get_ref();
        let key = format!("virtio.{vname}");
        virtio_requests.push(None);
        if !valid_name(vname) {
            checker.at(format!("{key}.name"), &v.name, "a link name is lower-case letters, digits and '-'");
        } else if virtio_names.contains(vname) {
            checker.at(format!("{key}.name"), &v.name, format!("a VIRTIO link named `{vname}` already exists"));
        }
        virtio_names.push(vname.clone());
        let Some(&owner) = names.get(v.partition.get_ref()) else {
            if !partition_names.contains(v.partition.get_ref()) {
                let reason = format!(
                    "no partition `{}`{}",
                    v.partition.get_ref(),
                    suggest(v.partition.get_ref(), partition_names.iter().map(String::as_str))
                );
                checker.at(format!("{key}.partition"), &v.partition, reason);
            }
            continue;
        };
        let owner_raw = file.partitions[owner].get_ref();
        if owner_raw.regions.iter().any(|r| r.get_ref().name.get_ref() == vname)
            || ["code", "data"].contains(&vname.as_str())
        {
            checker.at(
                format!("{key}.name"),
                &v.name,
                format!(
                    "partition `{}` already has a region `{vname}`; the window takes the link's name",
                    v.partition.get_ref()
                ),
            );
        }
        let window = v.window.get_ref();
        if window.memory.is_none() && window.base.is_none() {
            checker.at(
                format!("{key}.window"),
                &v.window,
                "a VIRTIO window needs a `memory` (one the other processor reaches) or a `base`",
            );
            continue;
        }
        let Some(memory) = memory_index(checker, &format!("{key}.window"), &window.memory) else { continue };
        requests.push(Request {
            key: format!("{key}.window"),
            span: v.window.span(),
            base: window.base.as_ref().map(|b| *b.get_ref()),
            size: window.size.get_ref().0,
            memory,
            want_flash: false,
            // Written by both processors, but checked on its own below, with
            // a reason that names the other processor.
            writable: false,
        });
        partition_regions[owner].push((
            requests.len() - 1,
            RegionKind::Virtio(link_index),
            vname.clone(),
            Access { read: true, write: true, execute: false },
            MemoryType::NormalNonCacheable,
        ));
        virtio_requests[link_index] = Some((requests.len() - 1, owner));
    }

    // Placement.
    let placed = place(checker, &board, &kernel, &requests);

    // Partitions.
    let mut partitions = Vec::new();
    let mut device_owner: HashMap<usize, usize> = HashMap::new();
    let mut interrupt_owner: BTreeMap<u32, usize> = BTreeMap::new();
    let device_names: Vec<&str> = board.devices.iter().map(|d| d.name.as_str()).collect();
    for (index, partition) in file.partitions.iter().enumerate() {
        let raw = partition.get_ref();
        let pname = raw.name.get_ref().clone();
        let mut regions = Vec::new();
        for (request, kind, rname, access, memory_type) in &partition_regions[index] {
            if let Some(span) = placed[*request] {
                regions.push(PartitionRegion {
                    name: rname.clone(),
                    kind: kind.clone(),
                    span,
                    access: *access,
                    memory_type: *memory_type,
                });
            }
        }
        let mut interrupts = Vec::new();
        for device in &raw.devices {
            let dname = device.get_ref();
            let key = format!("partition.{pname}.devices");
            let Some(device_index) = board.devices.iter().position(|d| &d.name == dname) else {
                let reason = format!(
                    "board `{}` has no device `{dname}`{}",
                    board.name,
                    suggest(dname, device_names.iter().copied())
                );
                checker.at(key, device, reason);
                continue;
            };
            if device_index == kernel.console {
                checker.at(
                    key,
                    device,
                    format!("`{dname}` is the kernel's console and cannot be given to a partition"),
                );
                continue;
            }
            if let Some(effect) = &board.devices[device_index].chip_wide {
                checker.at(
                    key,
                    device,
                    format!(
                        "`{dname}` acts on the whole chip ({effect}); board `{}` marks it `chip_wide` in {}, \
                         so no partition may have it: whatever a partition does must leave the kernel and \
                         every other partition running",
                        board.name,
                        board.file.display()
                    ),
                );
                continue;
            }
            if let Some(&owner) = device_owner.get(&device_index) {
                let reason = if owner == index {
                    format!("`{dname}` is listed twice")
                } else {
                    format!(
                        "`{dname}` is already given to partition `{}`; a device has one owner",
                        partition_names[owner]
                    )
                };
                checker.at(key, device, reason);
                continue;
            }
            device_owner.insert(device_index, index);
            let board_device = &board.devices[device_index];
            interrupts.extend(board_device.interrupts.iter().copied());
            regions.push(PartitionRegion {
                name: dname.clone(),
                kind: RegionKind::Device(device_index),
                span: Span { base: board_device.base, size: board_device.size },
                access: Access { read: true, write: true, execute: false },
                memory_type: MemoryType::Device,
            });
        }
        for interrupt in &raw.interrupts {
            let intid = *interrupt.get_ref();
            let key = format!("partition.{pname}.interrupts");
            let reason = if intid >= board.gic.interrupts {
                Some(format!("interrupt {intid} does not exist (the GIC has {})", board.gic.interrupts))
            } else if intid < FIRST_PPI {
                Some(format!("interrupt {intid} is an SGI; SGIs are the kernel's"))
            } else if intid == VIRTUAL_TIMER_INTID {
                Some("interrupt 27 is the virtual timer, which every partition has its own of".to_owned())
            } else if kernel.interrupts.contains(&intid) {
                Some(format!("interrupt {intid} is kept by the kernel"))
            } else if interrupts.contains(&intid) {
                Some(format!("interrupt {intid} is listed twice (or comes with one of its devices)"))
            } else {
                None
            };
            match reason {
                Some(reason) => checker.at(key, interrupt, reason),
                None => interrupts.push(intid),
            }
        }
        // Each partition also owns its virtual timer.
        if interrupts.len() + 1 > MAX_OWNED_INTERRUPTS {
            checker.at(
                format!("partition.{pname}.interrupts"),
                &raw.name,
                format!(
                    "owns {} interrupts with its devices' and its virtual timer; a partition may own at most {MAX_OWNED_INTERRUPTS}",
                    interrupts.len() + 1
                ),
            );
        }
        for &intid in &interrupts {
            if let Some(&owner) = interrupt_owner.get(&intid) {
                if owner != index {
                    checker.at(
                        format!("partition.{pname}.interrupts"),
                        &raw.name,
                        format!(
                            "interrupt {intid} is already given to partition `{}`; an interrupt has one owner",
                            partition_names[owner]
                        ),
                    );
                }
            } else {
                interrupt_owner.insert(intid, index);
            }
        }
        let stack = raw.stack_size.as_ref().map_or(DEFAULT_STACK, |s| s.get_ref().0);
        let exception_stack = raw.exception_stack_size.as_ref().map_or(DEFAULT_EXCEPTION_STACK, |s| s.get_ref().0);
        for (key, value) in [("stack_size", &raw.stack_size), ("exception_stack_size", &raw.exception_stack_size)] {
            if let Some(value) = value
                && (value.get_ref().0 % 8 != 0 || value.get_ref().0 == 0)
            {
                checker.at(
                    format!("partition.{pname}.{key}"),
                    value,
                    "a stack size must be a non-zero multiple of 8 bytes",
                );
            }
        }
        let stacks = stack + 4 * exception_stack + FIQ_STACK as u64;
        let data_size = raw.data.get_ref().size.get_ref().0;
        if stacks > data_size {
            checker.at(
                format!("partition.{pname}.stack_size"),
                raw.stack_size.as_ref().map_or(&raw.name, |_| &raw.name),
                format!("stacks need {stacks} bytes but the data region holds {data_size}"),
            );
        }
        let core = raw.core.as_ref().map_or(0, |c| *c.get_ref());
        if let Some(core_value) = &raw.core {
            if core >= board.cores {
                checker.at(
                    format!("partition.{pname}.core"),
                    core_value,
                    format!("board `{}` has {} cores", board.name, board.cores),
                );
            } else if core != 0 {
                checker.at(format!("partition.{pname}.core"), core_value, "only core 0 runs partitions so far");
            }
        }
        if !valid_crate_name(raw.image.get_ref()) {
            checker.at(format!("partition.{pname}.image"), &raw.image, "an image is a crate name");
        }
        let mpu_regions = merge_mpu_regions(&regions);
        let budget = board.el2_mpu_regions as usize - KERNEL_REGION_SLOTS.min(board.el2_mpu_regions as usize);
        if mpu_regions.len() > budget {
            checker.at(
                format!("partition.{pname}"),
                &raw.name,
                format!(
                    "needs {} EL2 MPU regions but board `{}` leaves {budget} per partition ({} in all, {} kept by the kernel); \
                     place regions next to each other so they merge, or use fewer",
                    mpu_regions.len(),
                    board.name,
                    board.el2_mpu_regions,
                    KERNEL_REGION_SLOTS
                ),
            );
        }
        // Overlaps inside the partition's own set between device frames. Overlaps
        // involving memory regions are reported once already: among placed
        // regions by `place`, with device frames by the device check below.
        for (a, first) in regions.iter().enumerate() {
            for second in &regions[a + 1..] {
                if first.span.overlaps(&second.span)
                    && matches!((&first.kind, &second.kind), (RegionKind::Device(_), RegionKind::Device(_)))
                {
                    checker.at(
                        format!("partition.{pname}.devices"),
                        &raw.name,
                        format!("device `{}` overlaps its own device `{}`", second.name, first.name),
                    );
                }
            }
        }
        partitions.push(Partition {
            name: pname,
            image: raw.image.get_ref().clone(),
            restart_on_fault: *raw.fault_policy.get_ref() == FaultPolicy::Restart,
            stack_size: stack as u32,
            exception_stack_size: exception_stack as u32,
            regions,
            interrupts,
            core,
            mpu_regions,
        });
    }
    // Devices versus memory regions anyone placed.
    for (request, span) in requests.iter().zip(&placed) {
        let Some(span) = span else { continue };
        for device in &board.devices {
            let frame = Span { base: device.base, size: device.size };
            if span.overlaps(&frame) {
                checker.problem(
                    request.key.clone(),
                    format!("overlaps device `{}` at {:#010x}", device.name, device.base),
                    Some(request.span.clone()),
                );
            }
        }
    }
    let shared = shared_requests
        .iter()
        .zip(&shared_names)
        .filter_map(|(request, name)| placed[*request].map(|span| SharedRegion { name: name.clone(), span }))
        .collect();

    // VIRTIO links, now that windows are placed and devices given.
    let mut virtio = Vec::new();
    for (link, request) in file.virtio.iter().zip(&virtio_requests) {
        let Some((request, owner)) = *request else { continue };
        let Some(window) = placed[request] else { continue };
        if let Some(built) = build_virtio_link(checker, &board, link, owner, window, &partitions) {
            virtio.push(built);
        }
    }

    // Schedules.
    let schedules = build_schedules(checker, &file, &board, &names, &partition_names, &partitions);

    let warnings = Vec::new();
    Some(System {
        file: checker.file.clone(),
        name,
        board,
        kernel,
        partitions,
        shared,
        virtio,
        schedules,
        trace_windows,
        trace_interrupts,
        warnings,
    })
}

/// The smallest driver buffer pool: Linux's `virtio_rpmsg_bus` allocates two
/// 512-byte buffers per ring entry, up to 512 buffers.
fn rpmsg_pool_bytes(num: u32) -> u64 {
    2 * num.min(256) as u64 * bulkhead_virtio::rpmsg::BUFFER_SIZE as u64
}

/// Checks the rest of a VIRTIO link once its window is placed and its
/// partition's devices are known.
fn build_virtio_link(
    checker: &mut Checker,
    board: &Board,
    link: &Spanned<raw::Virtio>,
    owner: usize,
    window: Span,
    partitions: &[Partition],
) -> Option<VirtioLink> {
    use bulkhead_virtio::resource_table;
    use bulkhead_virtio::vring::Vring;
    let v = link.get_ref();
    let key = format!("virtio.{}", v.name.get_ref());
    let partition = partitions.get(owner)?;
    let mut ok = true;

    if board
        .memories
        .iter()
        .any(|m| m.flash && m.base <= window.base as u64 && (window.limit() as u64) < m.base + m.size)
    {
        checker.at(
            format!("{key}.window.memory"),
            &v.window,
            "a VIRTIO window must be RAM both processors reach, not flash",
        );
        ok = false;
    }
    let remote_base = v.window.get_ref().remote_base.as_ref().map_or(window.base as u64, |b| *b.get_ref());

    // Resource table.
    let table = v.resource_table.as_ref().map_or(0, |t| t.get_ref().0);
    let table_end = table + resource_table::SIZE as u64;
    if !table.is_multiple_of(8) || table_end > window.size as u64 {
        let span = v.resource_table.as_ref().map_or(v.window.span(), |t| t.span());
        checker.problem(
            format!("{key}.resource_table"),
            format!(
                "the resource table ({} bytes) must start on an 8-byte boundary inside the {}-byte window",
                resource_table::SIZE,
                window.size
            ),
            Some(span),
        );
        return None;
    }
    let table = table as u32;

    // Rings.
    let vrings = v.vrings.get_ref();
    let num = *vrings.num.get_ref();
    let align = vrings.align.as_ref().map_or(4096, |a| a.get_ref().0);
    let ring_size = u16::try_from(num).ok().zip(u32::try_from(align).ok()).and_then(|(n, a)| Vring::size(n, a));
    let Some(ring_size) = ring_size.filter(|_| num >= 2 && align >= 4) else {
        checker.at(
            format!("{key}.vrings"),
            &v.vrings,
            format!("{num} entries aligned to {align} is not a vring: entries must be a power of two from 2 to 32768, the alignment a power of two of at least 4"),
        );
        return None;
    };
    let align = align as u32;
    let driver_places = match vrings.placement.as_ref().map(|p| p.get_ref().as_str()) {
        None | Some("device") => false,
        Some("driver") => true,
        Some(other) => {
            let value = vrings.placement.as_ref()?;
            checker.at(
                format!("{key}.vrings.placement"),
                value,
                format!("`{other}` is not a placement (write device or driver)"),
            );
            return None;
        }
    };
    let up = |value: u64, to: u64| value.div_ceil(to) * to;
    let (offsets, after_rings) = if driver_places {
        ([None, None], table_end)
    } else {
        let first = up(table_end, align as u64);
        let second = up(first + ring_size as u64, align as u64);
        ([Some(first as u32), Some(second as u32)], second + ring_size as u64)
    };
    let pool = up(after_rings, 64);
    let mut needed = rpmsg_pool_bytes(num);
    if driver_places {
        needed += 2 * (ring_size as u64 + align as u64);
    }
    if pool + needed > window.size as u64 {
        checker.at(
            format!("{key}.window.size"),
            &v.window,
            format!(
                "the window holds the table and rings up to offset {pool:#x} and leaves {} bytes, but the driver needs {needed} \
                 ({} rpmsg buffers of 512 bytes{}): make it at least {:#x} bytes",
                (window.size as u64).saturating_sub(pool),
                2 * num.min(256),
                if driver_places { " and both rings" } else { "" },
                pool + needed
            ),
        );
        ok = false;
    }
    let ring = |offset: Option<u32>| VringPlacement { offset, num: num as u16, align };

    // Services.
    let mut services: Vec<Service> = Vec::new();
    for (position, service) in v.services.iter().enumerate() {
        let s = service.get_ref();
        let skey = format!("{key}.services");
        let kind = match s.kind.get_ref().as_str() {
            "tty" => ServiceKind::Tty,
            "echo" => ServiceKind::Echo,
            other => {
                checker.at(
                    format!("{skey}.kind"),
                    &s.kind,
                    format!("no service kind `{other}`{}", suggest(other, ["tty", "echo"])),
                );
                ok = false;
                continue;
            }
        };
        let default_name = match kind {
            ServiceKind::Tty => "rpmsg-tty",
            ServiceKind::Echo => "rpmsg-client-sample",
        };
        let name = s.name.as_ref().map_or(default_name.to_owned(), |n| n.get_ref().clone());
        let address =
            s.address.as_ref().map_or(bulkhead_virtio::rpmsg::RESERVED_ADDRESSES + position as u32, |a| *a.get_ref());
        let at = s.name.as_ref().map_or(service.span(), |n| n.span());
        if name.is_empty() || name.len() >= bulkhead_virtio::rpmsg::NS_NAME_SIZE || !name.is_ascii() {
            checker.problem(
                format!("{skey}.name"),
                format!("`{name}` is not a service name: 1 to 31 ASCII characters"),
                Some(at),
            );
            ok = false;
        } else if services.iter().any(|other| other.name == name) {
            checker.problem(
                format!("{skey}.name"),
                format!("a service named `{name}` already exists on this link"),
                Some(at),
            );
            ok = false;
        }
        let at = s.address.as_ref().map_or(service.span(), |a| a.span());
        if address < bulkhead_virtio::rpmsg::RESERVED_ADDRESSES || address == u32::MAX {
            checker.problem(
                format!("{skey}.address"),
                format!("address {address} is reserved: use 1024 or above"),
                Some(at),
            );
            ok = false;
        } else if services.iter().any(|other| other.address == address) {
            checker.problem(
                format!("{skey}.address"),
                format!("address {address} is already a service's on this link"),
                Some(at),
            );
            ok = false;
        }
        services.push(Service { kind, name, address });
    }

    // Mailbox.
    let m = v.mailbox.get_ref();
    let driver = match m.driver.get_ref().as_str() {
        "uart" => MailboxDriver::Uart,
        "nxp-mru" => MailboxDriver::NxpMru,
        "arm-mhuv2" => MailboxDriver::ArmMhuv2,
        other => {
            checker.at(
                format!("{key}.mailbox.driver"),
                &m.driver,
                format!("no mailbox driver `{other}`{}", suggest(other, ["uart", "nxp-mru", "arm-mhuv2"])),
            );
            return None;
        }
    };
    let owned_device = |checker: &mut Checker, field: &str, name: &Spanned<String>| -> Option<usize> {
        let index = board.devices.iter().position(|d| &d.name == name.get_ref());
        let owned = index.filter(|i| partition.regions.iter().any(|r| r.kind == RegionKind::Device(*i)));
        if owned.is_none() {
            checker.at(
                format!("{key}.mailbox.{field}"),
                name,
                format!(
                    "`{}` is not one of partition `{}`'s devices: give it to the partition in its `devices`",
                    name.get_ref(),
                    partition.name
                ),
            );
        }
        owned
    };
    let device = owned_device(checker, "device", &m.device);
    let send_device = match &m.send_device {
        Some(name) => owned_device(checker, "send_device", name),
        None => device,
    };
    let (device, send_device) = (device?, send_device?);
    let channel = m.channel.as_ref().map_or(0, |c| *c.get_ref());
    let channels = match driver {
        MailboxDriver::Uart => 1,
        MailboxDriver::NxpMru => 12,
        MailboxDriver::ArmMhuv2 => 124,
    };
    if channel >= channels {
        let at = m.channel.as_ref().map_or(v.mailbox.span(), |c| c.span());
        checker.problem(
            format!("{key}.mailbox.channel"),
            format!("a `{}` mailbox has channels 0 to {}", driver.name(), channels - 1),
            Some(at),
        );
        ok = false;
    }
    let interrupt = match &m.interrupt {
        Some(interrupt) => *interrupt.get_ref(),
        None => match board.devices[device].interrupts.first() {
            Some(first) => *first,
            None => {
                checker.at(
                    format!("{key}.mailbox.interrupt"),
                    &m.device,
                    format!("device `{}` raises no interrupt; name one with `interrupt`", board.devices[device].name),
                );
                return None;
            }
        },
    };
    if !partition.interrupts.contains(&interrupt) {
        let at = m.interrupt.as_ref().map_or(v.mailbox.span(), |i| i.span());
        checker.problem(
            format!("{key}.mailbox.interrupt"),
            format!("interrupt {interrupt} is not partition `{}`'s", partition.name),
            Some(at),
        );
        ok = false;
    }

    ok.then(|| VirtioLink {
        name: v.name.get_ref().clone(),
        partition: owner,
        window,
        remote_base,
        table,
        vrings: [ring(offsets[0]), ring(offsets[1])],
        pool: pool as u32,
        services,
        mailbox: Mailbox { driver, device, send_device, channel, interrupt },
    })
}

fn parse_memory_type(checker: &mut Checker, key: &str, value: &Option<Spanned<String>>) -> Option<MemoryType> {
    match value.as_ref().map(|v| v.get_ref().as_str()) {
        None | Some("normal") => Some(MemoryType::Normal),
        Some("non-cacheable") => Some(MemoryType::NormalNonCacheable),
        Some(other) => {
            let value = value.as_ref().expect("matched Some");
            checker.at(
                format!("{key}.memory_type"),
                value,
                format!("`{other}` is not a memory type (write normal or non-cacheable)"),
            );
            None
        }
    }
}

/// Merges regions that touch and have identical attributes into one MPU region.
pub fn merge_mpu_regions(regions: &[PartitionRegion]) -> Vec<Region> {
    let mut sorted: Vec<Region> = regions.iter().map(PartitionRegion::mpu_region).collect();
    sorted.sort_by_key(|region| region.base);
    sorted.dedup();
    let mut merged: Vec<Region> = Vec::new();
    for region in sorted {
        if let Some(last) = merged.last_mut() {
            let same = Region { base: last.base, limit: last.limit, ..region } == *last;
            if same && last.limit.checked_add(1) == Some(region.base) {
                last.limit = region.limit;
                continue;
            }
        }
        merged.push(region);
    }
    merged
}

/// Why memory some partition writes cannot live in `bank`.
fn writable_in_flash(bank: &Memory) -> String {
    format!(
        "`{}` is flash, read-only at run time, and this memory is written (data and stacks, a `rw` region, \
         or a shared region some partition maps `rw`): it must be RAM",
        bank.name
    )
}

/// Places every request; reports bad fixed placements and overlaps.
fn place(checker: &mut Checker, board: &Board, kernel: &Kernel, requests: &[Request]) -> Vec<Option<Span>> {
    let mut placed: Vec<Option<Span>> = vec![None; requests.len()];
    // Taken ranges per memory: kernel first.
    let kernel_spans = [("the kernel's code region", kernel.code), ("the kernel's data region", kernel.data)];
    // Fixed regions.
    for (index, request) in requests.iter().enumerate() {
        if request.size == 0 || request.size % GRANULE as u64 != 0 {
            checker.problem(
                format!("{}.size", request.key),
                format!(
                    "size {} is not a non-zero multiple of 64 bytes (PMSAv8 regions have 64-byte granularity)",
                    request.size
                ),
                Some(request.span.clone()),
            );
            continue;
        }
        let Some(base) = request.base else { continue };
        if base % GRANULE as u64 != 0 {
            checker.problem(
                format!("{}.base", request.key),
                format!("base {base:#010x} is not a multiple of 64 bytes (PMSAv8 regions have 64-byte granularity)"),
                Some(request.span.clone()),
            );
            continue;
        }
        if base + request.size > 1 << 32 {
            checker.problem(
                format!("{}.base", request.key),
                "region runs past the 4 GiB address space",
                Some(request.span.clone()),
            );
            continue;
        }
        let span = Span { base: base as u32, size: request.size as u32 };
        let memory = match request.memory {
            Some(memory) => Some(memory),
            None => board.memories.iter().position(|m| m.base <= base && base < m.base + m.size),
        };
        let Some(memory) = memory else {
            checker.problem(
                format!("{}.base", request.key),
                format!("{base:#010x} is not inside any memory of board `{}`", board.name),
                Some(request.span.clone()),
            );
            continue;
        };
        let bank = &board.memories[memory];
        if base < bank.base || base + request.size > bank.base + bank.size {
            checker.problem(
                format!("{}.base", request.key),
                format!(
                    "{base:#010x}..{:#010x} is not inside memory `{}` ({:#010x}..{:#010x})",
                    base + request.size,
                    bank.name,
                    bank.base,
                    bank.base + bank.size
                ),
                Some(request.span.clone()),
            );
            continue;
        }
        if request.want_flash && !bank.flash {
            checker.problem(
                format!("{}.memory", request.key),
                format!("code must be in flash, and `{}` is RAM", bank.name),
                Some(request.span.clone()),
            );
        }
        if request.writable && bank.flash {
            checker.problem(
                format!("{}.{}", request.key, if request.memory.is_some() { "memory" } else { "base" }),
                writable_in_flash(bank),
                Some(request.span.clone()),
            );
        }
        placed[index] = Some(span);
    }
    // Overlaps among fixed regions and with the kernel.
    for (index, request) in requests.iter().enumerate() {
        let Some(span) = placed[index] else { continue };
        for (what, kernel_span) in kernel_spans {
            if span.overlaps(&kernel_span) {
                checker.problem(
                    format!("{}.base", request.key),
                    format!(
                        "overlaps {what} ({:#010x}..{:#010x})",
                        kernel_span.base,
                        kernel_span.base as u64 + kernel_span.size as u64
                    ),
                    Some(request.span.clone()),
                );
            }
        }
        for (other_index, other) in requests.iter().enumerate().take(index) {
            if let Some(other_span) = placed[other_index]
                && span.overlaps(&other_span)
            {
                checker.problem(
                        format!("{}.base", request.key),
                        format!(
                            "overlaps `{}` ({:#010x}..{:#010x}); memory two partitions use must be declared once as a [[shared]] region",
                            other.key,
                            other_span.base,
                            other_span.base as u64 + other_span.size as u64
                        ),
                        Some(request.span.clone()),
                    );
            }
        }
    }
    // Automatic placement, first fit.
    for (index, request) in requests.iter().enumerate() {
        if request.base.is_some() || request.size == 0 || request.size % GRANULE as u64 != 0 {
            continue;
        }
        let memory = request.memory.or_else(|| board.memories.iter().position(|m| m.flash == request.want_flash));
        let Some(memory) = memory else {
            checker.problem(
                request.key.clone(),
                format!("board `{}` has no {} memory", board.name, if request.want_flash { "flash" } else { "RAM" }),
                Some(request.span.clone()),
            );
            continue;
        };
        let bank = &board.memories[memory];
        if request.want_flash && !bank.flash {
            checker.problem(
                format!("{}.memory", request.key),
                format!("code must be in flash, and `{}` is RAM", bank.name),
                Some(request.span.clone()),
            );
            continue;
        }
        if request.writable && bank.flash {
            checker.problem(format!("{}.memory", request.key), writable_in_flash(bank), Some(request.span.clone()));
            continue;
        }
        let alignment = if request.size >= 4096 { 4096 } else { GRANULE as u64 };
        let mut taken: Vec<(u64, u64)> = placed
            .iter()
            .flatten()
            .map(|span| (span.base as u64, span.base as u64 + span.size as u64))
            .chain(kernel_spans.iter().map(|(_, s)| (s.base as u64, s.base as u64 + s.size as u64)))
            .chain(board.devices.iter().map(|d| (d.base as u64, d.base as u64 + d.size as u64)))
            .collect();
        taken.sort();
        let mut candidate = bank.base.next_multiple_of(alignment);
        for (start, end) in taken {
            if end <= candidate {
                continue;
            }
            if start >= candidate + request.size {
                break;
            }
            candidate = end.next_multiple_of(alignment);
        }
        if candidate + request.size > bank.base + bank.size {
            checker.problem(
                format!("{}.size", request.key),
                format!("no room for {} in memory `{}`", crate::units::human_size(request.size), bank.name),
                Some(request.span.clone()),
            );
            continue;
        }
        placed[index] = Some(Span { base: candidate as u32, size: request.size as u32 });
    }
    placed
}

fn build_schedules(
    checker: &mut Checker,
    file: &raw::SystemFile,
    board: &Board,
    names: &HashMap<String, usize>,
    partition_names: &[String],
    partitions: &[Partition],
) -> Vec<Schedule> {
    let hz = board.timer_hz;
    let mut schedules = Vec::new();
    let mut has_window = vec![false; file.partitions.len()];
    // Without partitions there is nothing to schedule; that was reported.
    if file.schedule.is_empty() && !file.partitions.is_empty() {
        checker.problem("schedule", "the system has no [[schedule]]", None);
    }
    for (number, schedule) in file.schedule.iter().enumerate() {
        let raw = schedule.get_ref();
        let key = format!("schedule[{number}]");
        let core = raw.core.as_ref().map_or(0, |c| *c.get_ref());
        if let Some(core_value) = &raw.core {
            if core >= board.cores {
                checker.at(
                    format!("{key}.core"),
                    core_value,
                    format!("board `{}` has {} cores", board.name, board.cores),
                );
            } else if core != 0 {
                checker.at(format!("{key}.core"), core_value, "only core 0 runs a schedule so far");
            }
        }
        if schedules.iter().any(|s: &Schedule| s.core == core) {
            checker.at(format!("{key}.core"), schedule, format!("core {core} already has a schedule"));
        }
        let frame_nanos = raw.major_frame.get_ref().0;
        let Some(major_frame) = ticks_from_nanos(frame_nanos, hz).filter(|ticks| *ticks > 0) else {
            checker.at(
                format!("{key}.major_frame"),
                &raw.major_frame,
                format!("{frame_nanos} ns is not a whole, non-zero number of timer ticks at {hz} Hz"),
            );
            // Its windows still give their partitions a window.
            for window in &raw.windows {
                if let Some(&index) = names.get(window.get_ref().partition.get_ref()) {
                    has_window[index] = true;
                }
            }
            continue;
        };
        if raw.windows.is_empty() {
            checker.at(format!("{key}.windows"), schedule, "a schedule needs at least one window");
        }
        let mut windows = Vec::new();
        let mut offset = 0u64;
        for (w, window) in raw.windows.iter().enumerate() {
            let wkey = format!("{key}.windows[{w}]");
            let owner = window.get_ref().partition.get_ref();
            let partition = names.get(owner).copied();
            // A partition declared with a rejected name was reported at its name.
            if partition.is_none() && !partition_names.contains(owner) {
                let reason =
                    format!("no partition `{owner}`{}", suggest(owner, partition_names.iter().map(String::as_str)));
                checker.at(format!("{wkey}.partition"), &window.get_ref().partition, reason);
            }
            if let Some(index) = partition {
                has_window[index] = true;
                // Only between cores that are both accepted: a rejected core was reported already.
                if core_in_use(core, board)
                    && partitions.get(index).is_some_and(|p| core_in_use(p.core, board) && p.core != core)
                {
                    checker.at(
                        format!("{wkey}.partition"),
                        &window.get_ref().partition,
                        format!("partition `{owner}` runs on another core"),
                    );
                }
            }
            let nanos = window.get_ref().duration.get_ref().0;
            let Some(duration) = ticks_from_nanos(nanos, hz).filter(|ticks| *ticks > 0) else {
                checker.at(
                    format!("{wkey}.duration"),
                    &window.get_ref().duration,
                    format!("{nanos} ns is not a whole, non-zero number of timer ticks at {hz} Hz"),
                );
                continue;
            };
            let end = offset + duration;
            if end > major_frame {
                checker.at(
                    format!("{wkey}.duration"),
                    &window.get_ref().duration,
                    format!(
                        "windows overrun the major frame: this one ends at {} but the frame is {}",
                        format_nanos(end * 1_000_000_000 / hz as u64),
                        format_nanos(frame_nanos)
                    ),
                );
            }
            windows.push(Window { partition, offset, duration });
            offset = end;
        }
        if offset < major_frame {
            windows.push(Window { partition: None, offset, duration: major_frame - offset });
        }
        schedules.push(Schedule { core, major_frame, windows });
    }
    for (index, partition) in file.partitions.iter().enumerate() {
        let name = partition.get_ref().name.get_ref();
        // Partitions with a rejected or duplicate name were reported at their name.
        if !has_window[index] && !file.schedule.is_empty() && names.get(name) == Some(&index) {
            checker.at(
                format!("partition.{name}"),
                &partition.get_ref().name,
                format!("partition `{name}` has no window in any schedule"),
            );
        }
    }
    schedules
}

/// Whether partitions and schedules may use `core` so far: one the board has,
/// and only core 0 yet (the checks above say which).
fn core_in_use(core: u32, board: &Board) -> bool {
    core < board.cores && core == 0
}

fn format_nanos(nanos: u64) -> String {
    if nanos.is_multiple_of(1_000_000) {
        format!("{}ms", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!("{}us", nanos / 1_000)
    } else {
        format!("{nanos}ns")
    }
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

    fn region(base: u32, size: u32, write: bool) -> PartitionRegion {
        PartitionRegion {
            name: "r".into(),
            kind: RegionKind::Private,
            span: Span { base, size },
            access: Access { read: true, write, execute: false },
            memory_type: MemoryType::Normal,
        }
    }

    #[test]
    fn merging_joins_only_touching_identical_regions() {
        let merged = merge_mpu_regions(&[
            region(0x1000, 0x1000, true),
            region(0x2000, 0x1000, true),
            region(0x3000, 0x1000, false),
        ]);
        assert_eq!(merged.len(), 2);
        assert_eq!((merged[0].base, merged[0].limit), (0x1000, 0x2FFF));
        let apart = merge_mpu_regions(&[region(0x1000, 0x1000, true), region(0x2040, 0x1000, true)]);
        assert_eq!(apart.len(), 2);
    }
}
