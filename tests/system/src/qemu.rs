//! Running a kernel image in QEMU `-M mps3-an536`.

use anyhow::{Context, Result, bail};
use object::{Object, ObjectSymbol};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Boot-parameter block magic (see the kernel's `boot_params` module).
const BOOT_PARAMS_MAGIC: u32 = 0xB0B0_CAFE;
/// Boot-parameter flag: exit QEMU through semihosting when done.
const FLAG_SEMIHOSTING_EXIT: u32 = 1;

/// How to run one image.
#[derive(Clone, Debug)]
pub struct Run {
    kernel: PathBuf,
    frames: Option<u32>,
    timeout: Duration,
    plugin: Option<String>,
    qemu: PathBuf,
}

/// What a run printed and how it ended.
#[derive(Clone, Debug)]
pub struct Output {
    /// Every line of the console.
    pub lines: Vec<String>,
    /// QEMU's exit status (`None` if it was killed).
    pub status: Option<i32>,
    /// Wall-clock time.
    pub elapsed: Duration,
}

impl Run {
    /// A run of the kernel image at `kernel`.
    pub fn new(kernel: impl Into<PathBuf>) -> Run {
        Run {
            kernel: kernel.into(),
            frames: None,
            timeout: Duration::from_secs(300),
            plugin: None,
            qemu: std::env::var_os("BULKHEAD_QEMU").map_or_else(|| PathBuf::from("qemu-system-arm"), PathBuf::from),
        }
    }

    /// Stops the kernel (and QEMU, with status 0) after `frames` major frames.
    pub fn frames(mut self, frames: u32) -> Run {
        self.frames = Some(frames);
        self
    }

    /// Kills QEMU after this much wall-clock time.
    pub fn timeout(mut self, timeout: Duration) -> Run {
        self.timeout = timeout;
        self
    }

    /// Loads a TCG plugin (`path,arg=value,...`).
    pub fn plugin(mut self, plugin: impl Into<String>) -> Run {
        self.plugin = Some(plugin.into());
        self
    }

    /// The QEMU command line.
    pub fn command(&self) -> Result<Command> {
        let mut command = Command::new(&self.qemu);
        command.args(["-M", "mps3-an536", "-display", "none", "-monitor", "none", "-serial", "stdio"]);
        command.args(["-icount", "shift=0,sleep=off"]);
        command.args(["-semihosting-config", "enable=on,target=native"]);
        command.arg("-kernel").arg(&self.kernel);
        if let Some(frames) = self.frames {
            let address = boot_params_address(&self.kernel)?;
            for (offset, value) in [(0, BOOT_PARAMS_MAGIC), (4, frames), (8, FLAG_SEMIHOSTING_EXIT)] {
                command.args(["-device", &format!("loader,addr={:#x},data={value:#x},data-len=4", address + offset)]);
            }
        }
        if let Some(plugin) = &self.plugin {
            command.args(["-plugin", plugin]);
        }
        Ok(command)
    }

    /// Runs to completion, collecting the console; echoes lines to `echo`
    /// as they arrive when given.
    pub fn run_with(&self, mut echo: Option<&mut dyn FnMut(&str)>) -> Result<Output> {
        let started = Instant::now();
        let mut child = self
            .command()?
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {} (run `cargo xtask setup`)", self.qemu.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut stderr = child.stderr.take().context("no stderr")?;
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { break };
                if sender.send(String::from_utf8_lossy(&line).trim_end_matches('\r').to_owned()).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        loop {
            let remaining = self.timeout.saturating_sub(started.elapsed());
            match receiver.recv_timeout(remaining.max(Duration::from_millis(1))) {
                Ok(line) => {
                    if let Some(echo) = echo.as_mut() {
                        echo(&line);
                    }
                    lines.push(line);
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    kill(&mut child);
                    bail!(
                        "QEMU did not finish within {:?}; last lines:\n{}",
                        self.timeout,
                        lines[lines.len().saturating_sub(15)..].join("\n")
                    );
                }
            }
        }
        let status = child.wait()?.code();
        let mut errors = String::new();
        let _ = stderr.read_to_string(&mut errors);
        if status != Some(0) && !errors.trim().is_empty() {
            eprintln!("{}", errors.trim());
        }
        Ok(Output { lines, status, elapsed: started.elapsed() })
    }

    /// Runs to completion, collecting the console.
    pub fn run(&self) -> Result<Output> {
        self.run_with(None)
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Address of `BULKHEAD_BOOT_PARAMS` in a kernel image.
pub fn boot_params_address(kernel: &Path) -> Result<u64> {
    symbol_address(kernel, "BULKHEAD_BOOT_PARAMS")
}

/// Address of symbol `name` in an ELF file.
pub fn symbol_address(elf: &Path, name: &str) -> Result<u64> {
    let bytes = std::fs::read(elf).with_context(|| format!("reading {}", elf.display()))?;
    let file = object::File::parse(&*bytes)?;
    file.symbols()
        .find(|symbol| symbol.name() == Ok(name))
        .map(|symbol| symbol.address())
        .with_context(|| format!("no symbol {name} in {}", elf.display()))
}
