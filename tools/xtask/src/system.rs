//! Building one system: description -> partition images -> kernel image.
//!
//! Output goes to `target/bulkhead/<system>/`:
//!
//! ```text
//! partitions/<name>/memory.x, layout.rs   generated, per partition
//! partitions/<name>.elf                   each partition, linked (a copy of a prebuilt image)
//! kernel/memory.x, tables.rs, images/     generated for the kernel
//! bulkhead.elf                            the kernel with every image: what QEMU or a probe loads
//! ```
//!
//! A partition whose image is a crate is built with cargo; one whose image
//! is a prebuilt ELF has its `build` command run, if any (see
//! `bulkhead_sysgen::prebuilt`), and its file is used as it is. Both are
//! checked the same way before the kernel embeds them.
//!
//! Partitions build in `target/partitions` with `-Ctarget-cpu=cortex-r52`; the
//! kernel builds in `target/kernel` for the plain target, which has no
//! Advanced SIMD, so the compiler can never put kernel data in a partition's
//! NEON registers (`checks::kernel_uses_no_fpu` verifies it).

use crate::setup::{TARGET, Toolchain};
use anyhow::{Context, Result, bail};
use bulkhead_sysgen::model::{ImageSource, Partition};
use bulkhead_sysgen::prebuilt::Prebuilt;
use bulkhead_sysgen::{System, emit, image};
use miette::Report;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A built system.
pub struct Built {
    /// The validated description.
    pub system: System,
    /// The loadable kernel image.
    pub kernel: PathBuf,
}

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// Loads and validates a description, printing problems the way the
/// generator's CLI does.
pub fn load(root: &Path, description: &Path) -> Result<System> {
    match bulkhead_sysgen::load(description, &root.join("boards")) {
        Ok(system) => {
            for warning in &system.warnings {
                eprintln!("warning: {}: {warning}", description.display());
            }
            Ok(system)
        }
        Err(problems) => {
            let count = problems.0.len();
            for problem in problems.0 {
                eprintln!("{:?}", Report::new(problem));
            }
            bail!("{} has {count} problem(s)", description.display())
        }
    }
}

fn cargo_build(
    root: &Path,
    toolchain: &Toolchain,
    package: &str,
    target_dir: &str,
    envs: &[(&str, &Path)],
    rustflags: &str,
) -> Result<PathBuf> {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root).args(["build", "--release", "--quiet", "-p", package, "--target", TARGET]);
    command.args(["--target-dir", target_dir]);
    if toolchain.build_std {
        command.args(["-Zbuild-std=core"]).env("RUSTC_BOOTSTRAP", "1");
    }
    if !rustflags.is_empty() {
        command.env("CARGO_TARGET_ARMV8R_NONE_EABIHF_RUSTFLAGS", rustflags);
    }
    for (key, value) in envs {
        command.env(key, value);
    }
    let status = command.status().with_context(|| format!("running cargo for {package}"))?;
    if !status.success() {
        bail!("building {package} failed");
    }
    Ok(root.join(target_dir).join(TARGET).join("release"))
}

/// Builds the system described by `description`.
pub fn build(root: &Path, toolchain: &Toolchain, description: &Path) -> Result<Built> {
    let system = load(root, description)?;
    let dir = root.join("target/bulkhead").join(&system.name);
    let partitions_dir = dir.join("partitions");
    let mut images = Vec::new();
    for (index, partition) in system.partitions.iter().enumerate() {
        let generated = partitions_dir.join(&partition.name);
        emit::write_partition(&system, index, &generated)?;
        let elf = partitions_dir.join(format!("{}.elf", partition.name));
        let (checked, bytes) = match &partition.image {
            ImageSource::Crate(package) => {
                build_crate(root, toolchain, partition, package, &generated, &elf)?;
                (elf.clone(), std::fs::read(&elf)?)
            }
            ImageSource::Elf { path, build } => {
                // The C guests of this tree build with arm-none-eabi-gcc and
                // make, which the set-up installs like QEMU; a command that
                // needs anything else fails with its own output.
                if build.is_some() {
                    crate::setup::c_toolchain()?;
                }
                let prebuilt = Prebuilt { partition, path, build: build.as_deref() };
                prebuilt.build(&system, &generated).map_err(|problem| anyhow::anyhow!("{problem}"))?;
                let bytes = prebuilt.read(&system).map_err(|problem| anyhow::anyhow!("{problem}"))?;
                std::fs::write(&elf, &bytes).with_context(|| format!("copying the image to {}", elf.display()))?;
                // Problems name the file as the description does.
                (prebuilt.path.to_owned(), bytes)
            }
        };
        let linked = image::inspect(&checked, &bytes, partition).map_err(|problem| anyhow::anyhow!("{problem}"))?;
        images.push(linked);
    }
    let kernel_dir = dir.join("kernel");
    emit::write_kernel(&system, &images, &kernel_dir)?;
    let out =
        cargo_build(root, toolchain, "bulkhead-kernel", "target/kernel", &[("BULKHEAD_GEN_DIR", &kernel_dir)], "")?;
    let kernel = dir.join("bulkhead.elf");
    std::fs::copy(out.join("bulkhead"), &kernel)?;
    Ok(Built { system, kernel })
}

/// Builds `partition`'s crate `package` against its generated files in
/// `generated` and copies the binary to `elf`.
fn build_crate(
    root: &Path,
    toolchain: &Toolchain,
    partition: &Partition,
    package: &str,
    generated: &Path,
    elf: &Path,
) -> Result<()> {
    let out = cargo_build(
        root,
        toolchain,
        package,
        "target/partitions",
        &[("BULKHEAD_PARTITION_DIR", generated)],
        "-Ctarget-cpu=cortex-r52",
    )
    .with_context(|| format!("partition `{}` (image `{package}`)", partition.name))?;
    std::fs::copy(out.join(package), elf)
        .with_context(|| format!("no image `{package}`: is it a binary crate in the workspace?"))?;
    Ok(())
}

/// Every system the tests use, and the demos (`partitions/systems/`).
pub fn all_descriptions(root: &Path) -> Result<Vec<PathBuf>> {
    let mut descriptions = Vec::new();
    for directory in ["partitions/systems", "tests/systems"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(directory))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            .collect();
        found.sort();
        descriptions.extend(found);
    }
    Ok(descriptions)
}

/// The systems each board keeps for itself (`boards/*/systems/*.toml`): the
/// demo for a board QEMU does not model. `cargo xtask test` builds them (the
/// generator's checks on that board, the kernel image checks, a size
/// report); they run only where the board is.
pub fn board_descriptions(root: &Path) -> Result<Vec<PathBuf>> {
    let mut descriptions = Vec::new();
    let mut boards: Vec<PathBuf> = std::fs::read_dir(root.join("boards"))?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("systems")))
        .filter(|systems| systems.is_dir())
        .collect();
    boards.sort();
    for systems in boards {
        let mut found: Vec<PathBuf> = std::fs::read_dir(&systems)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            .collect();
        found.sort();
        descriptions.extend(found);
    }
    Ok(descriptions)
}

/// A kernel image's sizes in bytes: code (vector table and `.text`),
/// read-only data (tables, strings) and RAM (`.data`, `.bss`, `.uninit`).
pub fn kernel_sizes(kernel: &Path) -> Result<(u64, u64, u64)> {
    use object::{Object, ObjectSection};
    let bytes = std::fs::read(kernel).with_context(|| format!("reading {}", kernel.display()))?;
    let elf = object::File::parse(&*bytes)?;
    let size = |name: &str| elf.section_by_name(name).map_or(0, |s| s.size());
    Ok((size(".vector_table") + size(".text"), size(".rodata"), size(".data") + size(".bss") + size(".uninit")))
}
