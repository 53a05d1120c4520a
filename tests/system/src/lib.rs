//! Booting Bulkhead systems in QEMU and reading what they print.
//!
//! Used by `cargo xtask run` and `cargo xtask bench`, and by this crate's
//! integration tests (`tests/*.rs`), which `cargo xtask test` runs after
//! building every system under `tests/systems/`.
//!
//! Runs are deterministic: QEMU executes with `-icount shift=0,sleep=off`, so
//! one instruction is one nanosecond of virtual time and every tick a test
//! asserts on repeats exactly from run to run.

pub mod amp;
pub mod log;
pub mod qemu;

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
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
