//! `bulkhead-sysgen`: from a system description to kernel tables and linker
//! scripts, checked at build time.
//!
//! The flow, which `cargo xtask build` drives:
//!
//! 1. [`load`] reads the description and its board, and validates everything
//!    that can be checked before linking (see [`validate`]). Problems name the
//!    file, the key and the reason.
//! 2. [`emit::write_partition`] writes each partition's `memory.x` (for
//!    aarch32-rt's `link.x`) and `layout.rs` (for the SDK), and what other
//!    toolchains need ([`emit::foreign`]: `memory.ld`, `c-partition.ld`,
//!    `partition.h`, `bulkhead.h`).
//! 3. Each partition is linked: a crate by `cargo xtask`, a prebuilt image
//!    by its own `build` command, which [`prebuilt`] runs. [`image::inspect`]
//!    reads the result, checks its segments lie in its regions, and extracts
//!    entry point, `.data` and `.bss` ranges and flash contents.
//! 4. [`emit::write_kernel`] writes the kernel's `memory.x`, `tables.rs` and the
//!    partition images it embeds.
//!
//! This crate is host-only and has no opinion on how partitions are built,
//! beyond running the command a description gives for a prebuilt image.

pub mod diag;
pub mod emit;
pub mod image;
pub mod model;
pub mod prebuilt;
pub mod raw;
#[cfg(test)]
mod test_elf;
pub mod units;
pub mod validate;

pub use diag::{Problem, Problems};
pub use model::System;
pub use validate::load;
