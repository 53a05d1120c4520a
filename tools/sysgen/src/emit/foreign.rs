//! What a foreign toolchain (GCC, Arm Compiler, TASKING, GHS, clang) needs to
//! build a partition, generated per partition:
//!
//! - `memory.ld` ([`memory_ld`]): the partition's GNU ld / LLVM lld `MEMORY`
//!   block and `PROVIDE`d `__bulkhead_*` symbols;
//! - `c-partition.ld` ([`C_PARTITION_LD`]): the generic section script for C
//!   guests, `linker/c-partition.ld`, which includes `memory.ld`;
//! - `partition.h` ([`partition_h`]): the same facts and more (devices,
//!   interrupts, time) as `#define BULKHEAD_*`;
//! - `bulkhead.h` ([`bulkhead_h`]): the hypercall ABI for C, rendered from
//!   `bulkhead-abi` and checked in as `kernel/abi/include/bulkhead.h`.
//!
//! This module owns the naming scheme the two per-partition files share: a
//! region's *stem* (`CODE`, `DATA`, `REGION_<NAME>`, `SHARED_<NAME>`,
//! `VIRTIO_<NAME>`, from the description's names upper-cased with every
//! character that is not a letter or digit turned into `_`), which becomes
//! `BULKHEAD_<STEM>_BASE` in C and `__bulkhead_<stem>_start` in the linker.
//! A channel's window is a shared region: `SHARED_<NAME>`. `partition.h`'s
//! channel facts are `BULKHEAD_CHANNEL_<NAME>_*`.
//! It also refuses output in which two facts would get one name.

mod bulkhead_h;
mod memory_ld;
mod partition_h;
pub mod ports_h;

pub use bulkhead_h::bulkhead_h;
pub use memory_ld::memory_ld;
pub use partition_h::partition_h;

use crate::model::{PartitionRegion, RegionKind, System};
use std::collections::HashMap;
use std::fmt;

/// The generic section script for C guests (`linker/c-partition.ld`).
pub const C_PARTITION_LD: &str = include_str!("../../../../linker/c-partition.ld");

/// `name` upper-cased, with every character that is not an ASCII letter or
/// digit turned into `_`: how a description name appears in a C macro or a
/// `MEMORY` region name.
pub fn c_identifier(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// The stem naming `region` in `partition.h` and `memory.ld`; `None` for a
/// device, which is not memory.
pub fn region_stem(region: &PartitionRegion) -> Option<String> {
    Some(match region.kind {
        RegionKind::Code => "CODE".to_owned(),
        RegionKind::Data => "DATA".to_owned(),
        RegionKind::Private => format!("REGION_{}", c_identifier(&region.name)),
        RegionKind::Shared(_) => format!("SHARED_{}", c_identifier(&region.name)),
        RegionKind::Virtio(_) => format!("VIRTIO_{}", c_identifier(&region.name)),
        RegionKind::Device(_) => return None,
    })
}

/// The `MEMORY` region name of `region` (in `memory.x` and `memory.ld`
/// alike); `None` for a device.
pub fn memory_region_name(region: &PartitionRegion) -> Option<String> {
    region_stem(region).map(|stem| match region.kind {
        RegionKind::Code | RegionKind::Data => format!("PARTITION_{stem}"),
        _ => stem,
    })
}

/// What a region is, for comments: `partition `clock` code region, in board
/// memory `qspi`, rx`.
fn region_origin(system: &System, partition: &str, region: &PartitionRegion) -> String {
    let what = match region.kind {
        RegionKind::Code => format!("partition `{partition}` code region"),
        RegionKind::Data => format!("partition `{partition}` data region"),
        RegionKind::Private => format!("partition.{partition}.regions `{}`", region.name),
        RegionKind::Shared(shared) if system.shared[shared].channel.is_some() => {
            format!("[[channel]] `{}` window (a shared region)", region.name)
        }
        RegionKind::Shared(_) => format!("[[shared]] `{}`", region.name),
        RegionKind::Virtio(_) => format!("[[virtio]] `{}` window", region.name),
        RegionKind::Device(_) => format!("board device `{}`", region.name),
    };
    let memory = system
        .board
        .memories
        .iter()
        .find(|m| {
            region.span.base as u64 >= m.base && region.span.base as u64 + region.span.size as u64 <= m.base + m.size
        })
        .map(|m| format!(", in board memory `{}`", m.name))
        .unwrap_or_default();
    format!("{what}{memory}, {}", region.access.name())
}

/// Text made safe for a `/* ... */` comment.
fn comment_text(text: &str) -> String {
    text.replace("*/", "* /")
}

/// Two facts of one generated file would get the same name (possible with
/// names such as link `a` and link `a-mailbox`: `..._A_MAILBOX_BASE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameClash {
    /// The file.
    pub file: &'static str,
    /// The name given twice.
    pub name: String,
    /// What it was first given to.
    pub first: String,
    /// What it was given to next.
    pub second: String,
}

impl fmt::Display for NameClash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` in the generated {} would stand for both {} and {}: rename one of them in the description",
            self.name, self.file, self.first, self.second
        )
    }
}

impl std::error::Error for NameClash {}

/// The names one generated file defines, with what each stands for, so a
/// second use of a name is a [`NameClash`] instead of a silent redefinition.
struct Names {
    file: &'static str,
    given: HashMap<String, String>,
}

impl Names {
    fn new(file: &'static str) -> Names {
        Names { file, given: HashMap::new() }
    }

    /// Claims `name` for `what`.
    fn claim(&mut self, name: &str, what: &str) -> Result<(), NameClash> {
        if let Some(first) = self.given.get(name) {
            return Err(NameClash {
                file: self.file,
                name: name.to_owned(),
                first: first.clone(),
                second: what.to_owned(),
            });
        }
        self.given.insert(name.to_owned(), what.to_owned());
        Ok(())
    }
}
