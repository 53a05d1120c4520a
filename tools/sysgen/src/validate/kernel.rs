//! The system's `[kernel]`: what it traces and where the kernel lives.
//!
//! Owns the checks of the `[kernel]` section of a system description and
//! their messages: trace kinds, the overrides of the board's kernel code and
//! data regions (aligned, inside one board memory, code in flash, data in
//! RAM), the stack size (one per board core, which the data region must
//! hold). It builds the [`Kernel`], with the EL2 MPU regions
//! the kernel keeps in every partition's windows (code, data, console,
//! GIC).
//!
//! It must never check what partitions place near the kernel: overlaps with
//! the kernel's regions are the placement's (`placement`), which gets the
//! [`Kernel`] built here.

use super::board::BoardKernelDefaults;
use super::{Checker, suggest, to_u32};
use crate::model::*;
use crate::raw;
use bulkhead_mpu::{El1Access, El2Access, GRANULE, MemoryType, Region, Shareability};

/// The kernel as the system places it, and what it traces.
pub(super) struct Built {
    /// The kernel's place and the MPU regions it keeps.
    pub kernel: Kernel,
    /// `trace` has `"windows"`.
    pub trace_windows: bool,
    /// `trace` has `"interrupts"`.
    pub trace_interrupts: bool,
}

/// Checks `[kernel]` against the board's defaults and builds the kernel.
pub(super) fn build(
    checker: &mut Checker,
    file: &raw::SystemFile,
    board: &Board,
    board_kernel: &BoardKernelDefaults,
) -> Built {
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
    // aarch32-rt reserves one Hyp stack per core (`_num_cores`, which the
    // kernel's memory.x sets to the board's cores) in the data region.
    let stacks = kernel_stack * board.cores as u64;
    if stacks > kernel_data.size as u64 {
        let reason = format!(
            "the kernel's data region ({} bytes) cannot hold a {kernel_stack}-byte stack for each of board `{}`'s {} cores",
            kernel_data.size, board.name, board.cores
        );
        match &file.kernel.stack_size {
            Some(value) => checker.at("kernel.stack_size", value, reason),
            None => checker.problem("kernel.data", reason, file.kernel.data.as_ref().map(|data| data.span())),
        }
    }
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
        console_driver: board_kernel.console_driver,
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
    Built { kernel, trace_windows, trace_interrupts }
}
