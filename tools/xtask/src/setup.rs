//! Making a fresh machine able to build and run Bulkhead.
//!
//! What it needs, and how each is obtained:
//! - the pinned Rust toolchain with `rust-src` (named in `rust-toolchain.toml`,
//!   so rustup installs both on first use; checked and added here anyway);
//! - `core` for `armv8r-none-eabihf`: the prebuilt one when rustup serves it,
//!   otherwise built from source (`-Zbuild-std=core`);
//! - `qemu-system-arm` 9.0 or newer (for `-M mps3-an536`): installed from
//!   Debian bookworm-backports when missing on a Debian machine where we are
//!   root or have sudo; otherwise a message says what to install;
//! - `arm-none-eabi-gcc` and `make`, for the C guests (Debian's
//!   `gcc-arm-none-eabi`), the same way;
//! - bookworm-backports among the apt sources on Debian 12 (root or sudo),
//!   where the Linux guest's kernel packages come from
//!   (`tools/linux-guest/build.sh` fetches and builds the rest itself).

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;

/// The target of the kernel and partitions.
pub const TARGET: &str = "armv8r-none-eabihf";

/// What the environment offers.
#[derive(Clone, Debug)]
pub struct Toolchain {
    /// `core` must be built from source.
    pub build_std: bool,
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Checks and, where it can, installs what the build needs.
pub fn toolchain(root: &Path) -> Result<Toolchain> {
    let rustup = |args: &[&str]| Command::new("rustup").args(args).current_dir(root).output();
    let installed = rustup(&["component", "list", "--installed"]).context("rustup is needed")?;
    if !String::from_utf8_lossy(&installed.stdout).lines().any(|line| line.starts_with("rust-src")) {
        eprintln!("setup: adding rust-src");
        let status = Command::new("rustup").args(["component", "add", "rust-src"]).current_dir(root).status()?;
        if !status.success() {
            bail!("`rustup component add rust-src` failed");
        }
    }
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).current_dir(root).output()?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
    let prebuilt = Path::new(&sysroot).join("lib/rustlib").join(TARGET).join("lib");
    if prebuilt.exists() {
        return Ok(Toolchain { build_std: false });
    }
    // Try once for a prebuilt standard library; rustup does not serve one for
    // this target today, so fall back to building `core`.
    let added = rustup(&["target", "add", TARGET]).map(|o| o.status.success()).unwrap_or(false);
    Ok(Toolchain { build_std: !(added && prebuilt.exists()) })
}

/// QEMU's version as (major, minor), if it runs.
pub fn qemu_version(qemu: &str) -> Option<(u32, u32)> {
    let text = output(qemu, &["--version"])?;
    let version = text.split("version ").nth(1)?.split_whitespace().next()?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    Some((parts.next()??, parts.next()??))
}

/// A shell that runs as root: `sh` when we are root, `sudo sh` when sudo
/// needs no password; `None` otherwise (the caller says what to install).
fn admin_shell() -> Option<Command> {
    if output("id", &["-u"]).is_some_and(|uid| uid.trim() == "0") {
        return Some(Command::new("sh"));
    }
    output("sudo", &["-n", "true"])?;
    let mut command = Command::new("sudo");
    command.arg("sh");
    Some(command)
}

/// Runs `script` in `shell` (from [`admin_shell`]); whether it succeeded.
fn run_as_admin(mut shell: Command, script: &str) -> Result<bool> {
    Ok(shell.args(["-c", script]).status()?.success())
}

/// Makes sure `qemu-system-arm` >= 9.0 is on the path.
pub fn qemu() -> Result<()> {
    if let Some((major, minor)) = qemu_version("qemu-system-arm") {
        if major >= 9 {
            return Ok(());
        }
        eprintln!("setup: qemu-system-arm {major}.{minor} is too old for -M mps3-an536 (need 9.0 or newer)");
    } else {
        eprintln!("setup: qemu-system-arm not found");
    }
    let os = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let bookworm = os.contains("VERSION_CODENAME=bookworm");
    let Some(shell) = admin_shell().filter(|_| bookworm) else {
        bail!(
            "install QEMU 9.0 or newer with qemu-system-arm (for example, on Debian 12: enable bookworm-backports \
             and `apt-get install -t bookworm-backports qemu-system-arm`; on Ubuntu 24.10+ or Fedora 40+ the \
             distribution's package is recent enough), then rerun"
        );
    };
    eprintln!("setup: installing qemu-system-arm from Debian bookworm-backports");
    backports_sources()?;
    let script = "set -e\n\
                  apt-get update -qq\n\
                  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t bookworm-backports qemu-system-arm >/dev/null\n";
    if !run_as_admin(shell, script)? {
        bail!("installing qemu-system-arm from bookworm-backports failed");
    }
    match qemu_version("qemu-system-arm") {
        Some((major, _)) if major >= 9 => Ok(()),
        _ => bail!("qemu-system-arm is still missing or too old after installing it"),
    }
}

/// Makes sure Debian bookworm-backports is among the apt sources on a
/// Debian 12 machine where we are root or have sudo (adding it as the QEMU
/// set-up does): the Linux guest's kernel, headers and sources
/// (tools/linux-guest/build.sh) come from there, and on a machine that
/// already had a recent QEMU nothing else would have added it. Elsewhere it
/// does nothing; the Linux tests then say why they cannot run.
pub fn backports_sources() -> Result<()> {
    let os = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    if !os.contains("VERSION_CODENAME=bookworm") {
        return Ok(());
    }
    let present = |path: &str| std::fs::read_to_string(path).is_ok_and(|text| text.contains("bookworm-backports"));
    let listed = present("/etc/apt/sources.list")
        || std::fs::read_dir("/etc/apt/sources.list.d")
            .into_iter()
            .flatten()
            .flatten()
            .any(|entry| entry.path().to_str().is_some_and(present));
    if listed {
        return Ok(());
    }
    let Some(shell) = admin_shell() else { return Ok(()) };
    eprintln!("setup: adding Debian bookworm-backports to the apt sources (the Linux guest's packages)");
    let sources = "/etc/apt/sources.list.d/bulkhead-backports.sources";
    let script = format!(
        "set -e\n\
         printf 'Types: deb\\nURIs: http://deb.debian.org/debian\\nSuites: bookworm-backports\\nComponents: main\\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\\n' > {sources}\n\
         apt-get update -qq\n"
    );
    if !run_as_admin(shell, &script)? {
        bail!("adding bookworm-backports to the apt sources failed");
    }
    Ok(())
}

/// Makes sure `arm-none-eabi-gcc` (and `make`) are on the path, for the C
/// guests: installs Debian's `gcc-arm-none-eabi` where we are root or have
/// sudo on Debian, otherwise says what to install.
pub fn c_toolchain() -> Result<()> {
    let have = |program: &str| output(program, &["--version"]).is_some();
    if have("arm-none-eabi-gcc") && have("make") {
        return Ok(());
    }
    eprintln!("setup: arm-none-eabi-gcc or make not found (needed to build the C guests)");
    let os = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let debian = os.lines().any(|line| line == "ID=debian" || line.starts_with("ID_LIKE=debian"));
    let Some(shell) = admin_shell().filter(|_| debian) else {
        bail!(
            "install a GCC for bare-metal Arm and make (on Debian or Ubuntu: `apt-get install gcc-arm-none-eabi \
             make`; elsewhere the Arm GNU Toolchain, arm-none-eabi), then rerun"
        );
    };
    eprintln!("setup: installing gcc-arm-none-eabi and make from Debian");
    let script = "set -e\napt-get update -qq\n\
                  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc-arm-none-eabi make >/dev/null\n";
    if !run_as_admin(shell, script)? {
        bail!("installing gcc-arm-none-eabi failed");
    }
    if !have("arm-none-eabi-gcc") {
        bail!("arm-none-eabi-gcc is still missing after installing gcc-arm-none-eabi");
    }
    Ok(())
}

/// The `cargo-fuzz` version the fuzz step installs.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Makes sure `cargo fuzz` runs (installing `cargo-fuzz` from crates.io
/// when it does not; the libFuzzer it builds needs a C++ compiler).
pub fn cargo_fuzz(root: &Path) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let runs =
        Command::new(&cargo).args(["fuzz", "--version"]).current_dir(root).output().is_ok_and(|o| o.status.success());
    if runs {
        return Ok(());
    }
    eprintln!("setup: installing cargo-fuzz {CARGO_FUZZ_VERSION}");
    let status = Command::new(&cargo)
        .args(["install", "--locked", "--quiet", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION])
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("`cargo install cargo-fuzz` failed");
    }
    Ok(())
}
