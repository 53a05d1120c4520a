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

/// What is connected to the board's `uart2` (the third serial port; UART0 is
/// the kernel console, UART1 exists only with a second core) in a
/// [`Run::run_with`] run. Tests that talk to a UART use [`Run::serve_uart`]
/// and [`Session::uart`] instead, so what they send is paced by what the
/// guest prints, never by the host's speed.
#[derive(Clone, Debug, Default)]
pub enum Uart2 {
    /// Nothing.
    #[default]
    Unconnected,
    /// Forward this process's standard input, and print what comes back.
    Interactive,
}

/// How to run one image.
#[derive(Clone, Debug)]
pub struct Run {
    kernel: PathBuf,
    frames: Option<u32>,
    timeout: Duration,
    plugin: Option<String>,
    qemu: PathBuf,
    uart2: Uart2,
    /// UARTs (beyond uart0) served on UNIX sockets for the caller.
    socket_uarts: Vec<u8>,
    /// QEMU's DDR in a shared file: path and size.
    shared_ddr: Option<(PathBuf, u64)>,
    /// Tells this run's sockets from other runs' in the same process.
    instance: u32,
}

/// Counts runs, for unique socket names.
static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

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
            uart2: Uart2::Unconnected,
            socket_uarts: Vec::new(),
            shared_ddr: None,
            instance: RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Serves `uartN` on a UNIX socket (at [`Run::uart_socket`]) for the
    /// caller to connect to.
    pub fn serve_uart(mut self, n: u8) -> Run {
        self.socket_uarts.push(n);
        self
    }

    /// Where `uartN` is served.
    pub fn uart_socket(&self, n: u8) -> PathBuf {
        let directory = self.kernel.parent().map_or_else(std::env::temp_dir, Path::to_owned);
        directory.join(format!("uart{n}-{}-{}.sock", std::process::id(), self.instance))
    }

    /// Backs the board's DDR with the file at `path` (`size` bytes), which
    /// another process can map: the shared memory of an AMP link.
    pub fn shared_ddr(mut self, path: impl Into<PathBuf>, size: u64) -> Run {
        self.shared_ddr = Some((path.into(), size));
        self
    }

    /// Connects `uart2`.
    pub fn uart2(mut self, uart2: Uart2) -> Run {
        self.uart2 = uart2;
        self
    }

    fn uart2_socket(&self) -> PathBuf {
        self.uart_socket(2)
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
        match &self.shared_ddr {
            Some((path, size)) => {
                command.args(["-M", "mps3-an536,memory-backend=ddr", "-object"]);
                command.arg(format!("memory-backend-file,id=ddr,size={size},mem-path={},share=on", path.display()));
            }
            None => {
                command.args(["-M", "mps3-an536"]);
            }
        }
        command.args(["-display", "none", "-monitor", "none", "-serial", "stdio"]);
        command.args(["-icount", "shift=0,sleep=off"]);
        command.args(["-semihosting-config", "enable=on,target=native"]);
        command.arg("-kernel").arg(&self.kernel);
        // Serial ports in order: uart0 is the console; any later one served
        // on a socket needs every one before it present (as null).
        let mut sockets = self.socket_uarts.clone();
        if !matches!(self.uart2, Uart2::Unconnected) {
            sockets.push(2);
        }
        for n in 1..=sockets.iter().copied().max().unwrap_or(0) {
            command.arg("-serial");
            if sockets.contains(&n) {
                let socket = self.uart_socket(n);
                let _ = std::fs::remove_file(&socket);
                command.arg(format!("unix:{},server=on,wait=off", socket.display()));
            } else {
                command.arg("null");
            }
        }
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

    /// Starts QEMU with its console read line by line on a thread.
    fn spawn(&self) -> Result<(Child, mpsc::Receiver<String>, std::process::ChildStderr)> {
        if let Some((path, size)) = &self.shared_ddr {
            let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
            file.set_len(*size)?;
        }
        let mut child = self
            .command()?
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {} (run `cargo xtask setup`)", self.qemu.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { break };
                if sender.send(String::from_utf8_lossy(&line).trim_end_matches('\r').to_owned()).is_err() {
                    break;
                }
            }
        });
        Ok((child, receiver, stderr))
    }

    /// Starts QEMU and returns at once: the caller talks to the system (its
    /// served UARTs, its shared DDR) while it runs, and stops it.
    pub fn start(&self) -> Result<Session> {
        let (child, receiver, stderr) = self.spawn()?;
        Ok(Session {
            child,
            receiver,
            stderr,
            lines: Vec::new(),
            started: Instant::now(),
            uarts: self.socket_uarts.iter().map(|n| (*n, self.uart_socket(*n))).collect(),
            files: self
                .socket_uarts
                .iter()
                .map(|n| self.uart_socket(*n))
                .chain(self.shared_ddr.as_ref().map(|(p, _)| p.clone()))
                .collect(),
        })
    }

    /// Runs to completion, collecting the console; echoes lines to `echo`
    /// as they arrive when given.
    pub fn run_with(&self, mut echo: Option<&mut dyn FnMut(&str)>) -> Result<Output> {
        let started = Instant::now();
        let (mut child, receiver, mut stderr) = self.spawn()?;
        let uart2 = self.connect_uart2();
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
        drop(uart2);
        let _ = std::fs::remove_file(self.uart2_socket());
        Ok(Output { lines, status, elapsed: started.elapsed() })
    }

    /// Connects to QEMU's `uart2` socket and forwards this process's
    /// standard input to it, printing what comes back a line at a time.
    fn connect_uart2(&self) -> Option<std::thread::JoinHandle<()>> {
        if matches!(self.uart2, Uart2::Unconnected) {
            return None;
        }
        let stream = connect(&self.uart2_socket(), Duration::from_secs(10)).ok()?;
        let mut writer = stream.try_clone().ok()?;
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut std::io::stdin(), &mut writer);
        });
        Some(std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let mut reader = stream;
            let mut chunk = [0u8; 256];
            // Output is shown a whole line at a time, so it does not
            // interleave with the console mid-line.
            let mut shown = 0;
            while let Ok(count) = reader.read(&mut chunk) {
                if count == 0 {
                    break;
                }
                bytes.extend_from_slice(&chunk[..count]);
                while let Some(end) = bytes[shown..].iter().position(|b| *b == b'\n' || *b == b'\r') {
                    println!("[uart2] {}", String::from_utf8_lossy(&bytes[shown..shown + end]));
                    shown += end + 1;
                }
            }
        }))
    }

    /// Runs to completion, collecting the console.
    pub fn run(&self) -> Result<Output> {
        self.run_with(None)
    }
}

/// A running QEMU (see [`Run::start`]). Dropping it kills QEMU and removes
/// its sockets and shared memory file.
pub struct Session {
    child: Child,
    receiver: mpsc::Receiver<String>,
    stderr: std::process::ChildStderr,
    lines: Vec<String>,
    started: Instant,
    /// UARTs served on sockets ([`Run::serve_uart`]).
    uarts: Vec<(u8, PathBuf)>,
    files: Vec<PathBuf>,
}

impl Session {
    /// A connection to `uartN`, which the run serves ([`Run::serve_uart`]):
    /// reads wait at most `patience` each.
    pub fn uart(&self, n: u8, patience: Duration) -> Result<std::os::unix::net::UnixStream> {
        let (_, socket) = self.uarts.iter().find(|(m, _)| *m == n).context("that UART is not served")?;
        let stream = connect(socket, patience)?;
        stream.set_read_timeout(Some(patience))?;
        Ok(stream)
    }

    /// Waits up to `timeout` (wall clock) for a console line containing
    /// `what` and returns it. Lines before it are kept.
    pub fn wait_for(&mut self, what: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let seen = self.lines.len();
        if let Some(line) = self.lines.iter().find(|l| l.contains(what)) {
            return Ok(line.clone());
        }
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match self.receiver.recv_timeout(remaining.max(Duration::from_millis(1))) {
                Ok(line) => {
                    let found = line.contains(what);
                    self.lines.push(line.clone());
                    if found {
                        return Ok(line);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(error) => bail!(
                    "no console line containing {what:?} within {timeout:?} ({error}); since then:\n{}",
                    self.lines[seen.saturating_sub(5)..].join("\n")
                ),
            }
        }
    }

    /// Collects the lines printed so far without waiting.
    pub fn drain(&mut self) -> &[String] {
        while let Ok(line) = self.receiver.try_recv() {
            self.lines.push(line);
        }
        &self.lines
    }

    /// Every line so far (call [`Session::drain`] first for the newest).
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// Asks QEMU to quit (SIGTERM: an orderly shutdown, which lets TCG
    /// plugins write their results) and returns what it printed.
    pub fn terminate(mut self) -> Output {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.finish()
    }

    /// Stops QEMU and returns what it printed.
    pub fn stop(self) -> Output {
        self.finish()
    }

    fn finish(mut self) -> Output {
        kill(&mut self.child);
        self.drain();
        let mut errors = String::new();
        let _ = self.stderr.read_to_string(&mut errors);
        if !errors.trim().is_empty() {
            eprintln!("{}", errors.trim());
        }
        Output { lines: std::mem::take(&mut self.lines), status: None, elapsed: self.started.elapsed() }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        kill(&mut self.child);
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Connects to a UART QEMU serves on `socket`, retrying until `patience`
/// runs out (QEMU creates the socket as it starts).
fn connect(socket: &Path, patience: Duration) -> Result<std::os::unix::net::UnixStream> {
    let deadline = Instant::now() + patience;
    loop {
        match std::os::unix::net::UnixStream::connect(socket) {
            Ok(stream) => return Ok(stream),
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => bail!("cannot connect to {}: {error}", socket.display()),
        }
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
