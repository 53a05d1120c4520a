//! Booting Bulkhead systems in QEMU and reading what they print.
//!
//! Used by `cargo xtask run` (which shows every partition UART the way
//! [`uarts`] says) and `cargo xtask bench`, and by this crate's
//! integration tests (`tests/*.rs`), which `cargo xtask test` runs after
//! building every system under `tests/systems/`.
//!
//! Runs are deterministic: QEMU executes with `-icount shift=0,sleep=off`, so
//! one instruction is one nanosecond of virtual time and every tick a test
//! asserts on repeats exactly from run to run.

pub mod amp;
pub mod linux;
pub mod log;
pub mod qemu;
pub mod uarts;

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The documented bound on a window's start (`docs/architecture.md`, "The
/// bound"): its owner's first instruction runs at most this many
/// instructions (nanoseconds under `-icount shift=0`) after the window's
/// scheduled tick, whatever any partition does.
pub const WINDOW_START_BOUND_INSNS: u64 = 1_500;

/// The first part of that bound: the longest kernel path that can be in
/// progress when a boundary falls, after which the kernel takes the window
/// timer's interrupt.
pub const KERNEL_PATH_BOUND_INSNS: u64 = 800;

/// Instructions per counter tick on QEMU `mps3-an536` with `-icount
/// shift=0` (62.5 MHz counter, 1 GHz of instructions).
pub const INSNS_PER_TICK: u64 = 16;

/// [`WINDOW_START_BOUND_INSNS`] in counter ticks, rounded up: what a
/// partition measuring its own window starts in partition time may see.
pub const WINDOW_START_BOUND_TICKS: u64 = WINDOW_START_BOUND_INSNS.div_ceil(INSNS_PER_TICK);

/// [`KERNEL_PATH_BOUND_INSNS`] in counter ticks, rounded up: how late after
/// its scheduled tick the kernel may observe a boundary (`@window
/// observed`).
pub const KERNEL_PATH_BOUND_TICKS: u64 = KERNEL_PATH_BOUND_INSNS.div_ceil(INSNS_PER_TICK);

/// The longest turn QEMU gives one core of `-smp 2` while the test pacer
/// runs (`tests/partitions/test-pacer`: a timer deadline every 1 us, and a
/// turn lasts at most half the time to the next deadline), in instructions.
pub const PACED_TURN_INSNS: u64 = 500;

/// [`WINDOW_START_BOUND_INSNS`] as two busy cores in QEMU can show it, in
/// ticks. QEMU runs the cores in turns on one virtual clock (one nanosecond
/// per instruction of whichever core runs), so while a core executes its
/// bounded `N` instructions the other core's turns interleave with at most
/// as many instructions of its own, plus one turn already under way and one
/// turn of rounding at the end: `2 N + 2 turns`. On silicon the cores run at
/// once and the single-core bound applies to each.
pub const fn two_core_ticks(insns: u64) -> u64 {
    (2 * insns + 2 * PACED_TURN_INSNS).div_ceil(INSNS_PER_TICK)
}

/// Where `cargo xtask build` puts built systems: `target/bulkhead/<system>/`.
pub fn artifacts_dir() -> PathBuf {
    match std::env::var_os("BULKHEAD_ARTIFACTS") {
        Some(dir) => PathBuf::from(dir),
        None => workspace().join("target/bulkhead"),
    }
}

/// The kernel image of built system `name`.
///
/// # Panics
///
/// When the system has not been built: these tests need `cargo xtask test`,
/// which builds every system first.
pub fn kernel_image(name: &str) -> PathBuf {
    let path = artifacts_dir().join(name).join("bulkhead.elf");
    assert!(
        path.exists(),
        "{} does not exist: run the system tests with `cargo xtask test`, which builds the systems first",
        path.display()
    );
    path
}
