//! Where every region goes, and what it may not overlap.
//!
//! Owns region requests (a partition's code, data and further regions,
//! `[[shared]]` regions, channel windows, VIRTIO windows, collected in description order by
//! the modules of those sections), the lookup of the board memory a region
//! names, its `memory_type`, and placement: fixed regions stay at their
//! `base` (64-byte granular, inside one board memory, code in flash, written
//! memory in RAM), the others go first fit at the lowest free address of
//! their memory; no two overlap each other or the kernel. Its messages are
//! those about sizes, bases, memories and overlaps.
//!
//! It must never decide what a region is for or who maps it (the requesting
//! section says, through [`Request::want_flash`], [`Request::writable`] and
//! the [`Claim`]s), and never move a region with a fixed base. Overlaps with
//! device frames are the `devices` module's.

use super::{Checker, suggest};
use crate::model::*;
use bulkhead_mpu::{GRANULE, MemoryType};
use std::ops::Range;
use toml::Spanned;

/// A region waiting to be placed.
pub(super) struct Request {
    /// Its key, e.g. `partition.counter.data`.
    pub key: String,
    /// Where it is written in the description.
    pub span: Range<usize>,
    /// Fixed first byte, if any.
    pub base: Option<u64>,
    /// Size in bytes.
    pub size: u64,
    /// The board memory it names, if any.
    pub memory: Option<usize>,
    /// It is code: it must be in flash.
    pub want_flash: bool,
    /// Some partition writes it (data and stacks, a `rw` region, a shared
    /// region mapped `rw` by anyone, a channel's window): it must be RAM.
    pub writable: bool,
    /// The key a size problem (no room) is reported at, when the size is
    /// not written as `<key>.size` (a channel's window, sized from its
    /// messages); `None` for `<key>.size`.
    pub size_key: Option<String>,
}

impl Request {
    /// The key of its size.
    fn size_key(&self) -> String {
        self.size_key.clone().unwrap_or_else(|| format!("{}.size", self.key))
    }
}

/// A partition's claim on a requested region: the region it becomes in that
/// partition once placed.
pub(super) struct Claim {
    /// Index into [`Requests::list`].
    pub request: usize,
    /// Why the partition has it.
    pub kind: RegionKind,
    /// Its name in the partition.
    pub name: String,
    /// What the partition may do in it.
    pub access: Access,
    /// Its memory type.
    pub memory_type: MemoryType,
    /// A private region marked `noinit`.
    pub noinit: bool,
}

/// Every region to place, and the partitions' claims on them.
#[derive(Default)]
pub(super) struct Requests {
    /// In description order: partitions' regions, shared regions, channel
    /// windows, VIRTIO windows.
    pub list: Vec<Request>,
    /// Per partition (in file order), the requested regions it maps.
    pub claims: Vec<Vec<Claim>>,
}

impl Requests {
    /// Adds `request`; returns its index.
    pub fn push(&mut self, request: Request) -> usize {
        self.list.push(request);
        self.list.len() - 1
    }
}

/// The board memory `name` names: `Some(None)` when there is no name,
/// `None` (reported at `key.memory`) when the board has no such memory.
pub(super) fn memory_index(
    checker: &mut Checker,
    board: &Board,
    key: &str,
    name: &Option<Spanned<String>>,
) -> Option<Option<usize>> {
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
}

/// A region's `memory_type` (default `normal`); `None` when reported.
pub(super) fn parse_memory_type(
    checker: &mut Checker,
    key: &str,
    value: &Option<Spanned<String>>,
) -> Option<MemoryType> {
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

/// Why memory some partition writes cannot live in `bank`.
fn writable_in_flash(bank: &Memory) -> String {
    format!(
        "`{}` is flash, read-only at run time, and this memory is written (data and stacks, a `rw` region, \
         a shared region some partition maps `rw`, or a channel's window): it must be RAM",
        bank.name
    )
}

/// Places every request; reports bad fixed placements and overlaps.
pub(super) fn place(checker: &mut Checker, board: &Board, kernel: &Kernel, requests: &[Request]) -> Vec<Option<Span>> {
    let mut placed: Vec<Option<Span>> = vec![None; requests.len()];
    // Taken ranges per memory: kernel first.
    let kernel_spans = [("the kernel's code region", kernel.code), ("the kernel's data region", kernel.data)];
    // Fixed regions.
    for (index, request) in requests.iter().enumerate() {
        if request.size == 0 || request.size % GRANULE as u64 != 0 {
            checker.problem(
                request.size_key(),
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
                request.size_key(),
                format!("no room for {} in memory `{}`", crate::units::human_size(request.size), bank.name),
                Some(request.span.clone()),
            );
            continue;
        }
        placed[index] = Some(Span { base: candidate as u32, size: request.size as u32 });
    }
    placed
}
