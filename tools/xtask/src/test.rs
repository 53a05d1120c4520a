//! `cargo xtask test`: host tests, then every system in QEMU.

use crate::{checks, setup, system};
use anyhow::{Result, bail};
use std::path::Path;
use std::process::Command;

fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root);
    command
}

/// How long `cargo xtask test` fuzzes the device side of the VIRTIO link.
const FUZZ_SECONDS: u32 = 30;

/// Fuzzes `bulkhead-virtio` (rings, table and rpmsg from a hostile driver)
/// for `seconds`, starting from the committed seeds. A crash fails the run
/// and leaves the input in `partitions/virtio/fuzz/artifacts/`.
pub fn fuzz(root: &Path, seconds: u32) -> Result<()> {
    eprintln!("== fuzzing the VIRTIO device side for {seconds} s (cargo fuzz)");
    setup::cargo_fuzz(root)?;
    let fuzz_dir = root.join("partitions/virtio/fuzz");
    let corpus = fuzz_dir.join("corpus/device");
    std::fs::create_dir_all(&corpus)?;
    // `cargo fuzz` wants nightly for sanitizers; without one the
    // instrumentation it needs is stable, behind RUSTC_BOOTSTRAP.
    let status = cargo(&fuzz_dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["fuzz", "run", "--sanitizer", "none", "device"])
        .arg(&corpus)
        .arg(fuzz_dir.join("seeds/device"))
        .args(["--", &format!("-max_total_time={seconds}"), "-print_final_stats=1"])
        .status()?;
    if !status.success() {
        bail!("the fuzzer found a failing input (see partitions/virtio/fuzz/artifacts/device/)");
    }
    Ok(())
}

/// Runs everything.
pub fn all(root: &Path, filter: Option<&str>) -> Result<()> {
    let toolchain = setup::toolchain(root)?;
    setup::qemu()?;
    // Before the host tests: those of bulkhead.h and the generated linker
    // files compile and link with it, and skip (saying so) without it.
    setup::c_toolchain()?;
    setup::backports_sources()?;

    eprintln!("== host tests (generator, kernel core, MPU encoding, ABI, tools)");
    if !cargo(root).args(["test", "--quiet"]).status()?.success() {
        bail!("host tests failed");
    }

    fuzz(root, FUZZ_SECONDS)?;

    eprintln!("== building every system");
    let mut kernels = Vec::new();
    for description in system::all_descriptions(root)? {
        let built = system::build(root, &toolchain, &description)?;
        kernels.push(built.kernel);
    }

    eprintln!("== every board's own systems (built and checked, not run: no such board here)");
    for description in system::board_descriptions(root)? {
        let built = system::build(root, &toolchain, &description)?;
        let (text, rodata, ram) = system::kernel_sizes(&built.kernel)?;
        eprintln!(
            "   {:<14} {:<16} kernel .text {text:>6} B, .rodata {rodata:>6} B, RAM {ram:>6} B, {} partitions on {} cores",
            built.system.board.name,
            built.system.name,
            built.system.partitions.len(),
            (0..built.system.board.cores).filter(|core| built.system.schedule(*core).is_some()).count()
        );
        kernels.push(built.kernel);
    }

    eprintln!("== kernel image checks");
    for kernel in &kernels {
        checks::kernel_uses_no_fpu(kernel)?;
        checks::no_panic_reachable_from_partitions(kernel)?;
        checks::kernel_state_is_zero_initialised(kernel)?;
    }
    eprintln!(
        "   {} kernel images: no FP/SIMD instruction outside the context switch, no panic reachable from EL1, \
         all kernel state zero-initialised",
        kernels.len()
    );

    eprintln!("== system tests in QEMU (-icount shift=0)");
    let mut command = cargo(root);
    command.args(["test", "--quiet", "-p", "bulkhead-system-tests", "--tests", "--"]);
    command.args(["--test-threads", "2"]);
    if let Some(filter) = filter {
        command.arg(filter);
    }
    command.env("BULKHEAD_ARTIFACTS", root.join("target/bulkhead"));
    if !command.status()?.success() {
        bail!("system tests failed");
    }
    eprintln!("== all tests passed");
    Ok(())
}
