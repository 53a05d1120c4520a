//! Running a kernel image in QEMU `-M mps3-an536`.

use anyhow::{Context, Result, bail};
use object::{Object, ObjectSymbol};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Boot-parameter block magic (see the kernel's `boot_params` module).
const BOOT_PARAMS_MAGIC: u32 = 0xB0B0_CAFE;
/// Boot-parameter flag: exit QEMU through semihosting when done.
const FLAG_SEMIHOSTING_EXIT: u32 = 1;

/// How long QEMU may take to start and offer a UART's socket.
const CONNECT_PATIENCE: Duration = Duration::from_secs(60);

/// Where a line of a run came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Source {
    /// The kernel console: serial port 0, QEMU's standard output.
    Console,
    /// A UART captured with [`Run::capture_uart`], by serial port number.
    Uart(u8),
}

/// What [`Run::run_with`] hands each line to as it arrives.
pub type Echo<'a> = &'a mut dyn FnMut(Source, &str);

/// How to run one image.
#[derive(Clone, Debug)]
pub struct Run {
    kernel: PathBuf,
    frames: Option<u32>,
    timeout: Duration,
    plugin: Option<String>,
    qemu: PathBuf,
    /// UARTs (beyond uart0) served on UNIX sockets for the caller.
    socket_uarts: Vec<u8>,
    /// UARTs whose output the run collects as lines, from the first byte.
    captured_uarts: Vec<u8>,
    /// The captured UART [`Run::run_with`] forwards standard input to.
    input: Option<u8>,
    /// QEMU's DDR in a shared file: path and size.
    shared_ddr: Option<(PathBuf, u64)>,
    /// Where in that file the DDR starts.
    ddr_offset: u64,
    /// Tells this run's sockets from other runs' in the same process.
    instance: u32,
    /// Cores QEMU runs (`-smp`).
    cores: u8,
    /// The core whose kernel console is QEMU's standard output, read live
    /// ([`Session::wait_for`]); the other cores' go to files.
    console_core: u8,
    /// Idle time passes in host time (`-icount sleep=on`) instead of being
    /// skipped.
    idle_in_host_time: bool,
}

/// Counts runs, for unique socket names.
static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// What a run printed and how it ended.
#[derive(Clone, Debug)]
pub struct Output {
    /// Every line of the console.
    pub lines: Vec<String>,
    /// Every line of each captured UART ([`Run::capture_uart`]), by serial
    /// port number; a last line without its newline is included.
    pub uarts: BTreeMap<u8, Vec<String>>,
    /// QEMU's exit status (`None` if it was killed).
    pub status: Option<i32>,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// The core whose kernel console [`Output::lines`] holds.
    pub console_core: u8,
}

impl Output {
    /// The kernel console lines of core `core` ([`Output::lines`] for the
    /// one read live, [`Run::console_on`]; another core's is the file
    /// [`Run::cores`] wrote it to).
    pub fn console(&self, core: u8) -> &[String] {
        match core == self.console_core {
            true => &self.lines,
            false => self.uarts.get(&core).map_or(&[], Vec::as_slice),
        }
    }
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
            socket_uarts: Vec::new(),
            captured_uarts: Vec::new(),
            input: None,
            shared_ddr: None,
            ddr_offset: 0,
            instance: RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            cores: 1,
            console_core: 0,
            idle_in_host_time: false,
        }
    }

    /// Serves `uartN` (serial port N) on a UNIX socket (at
    /// [`Run::uart_socket`]) for the caller to connect to when it likes:
    /// what the guest sends before then is lost. To read a UART's output,
    /// capture it instead.
    pub fn serve_uart(mut self, n: u8) -> Run {
        self.socket_uarts.push(n);
        self
    }

    /// Captures `uartN` (serial port N; 0 is the console, always read):
    /// QEMU does not start the guest before the run is connected to it, so
    /// no byte is lost, and every line it sends is collected
    /// ([`Output::uarts`], [`Session::uart_lines`]) and handed to
    /// [`Run::run_with`]'s callback as it arrives, in one sequence with the
    /// console's. Bytes go to it with [`Session::send_uart`] or
    /// [`Run::input_uart`].
    pub fn capture_uart(mut self, n: u8) -> Run {
        if !self.captured_uarts.contains(&n) {
            self.captured_uarts.push(n);
        }
        self
    }

    /// Captures `uartN` and, in [`Run::run_with`], forwards this process's
    /// standard input to it (what `cargo xtask run` does with typing).
    pub fn input_uart(mut self, n: u8) -> Run {
        self.input = Some(n);
        self.capture_uart(n)
    }

    /// Where `uartN` is served.
    pub fn uart_socket(&self, n: u8) -> PathBuf {
        self.run_file(&format!("uart{n}"), "sock")
    }

    /// A file of this run beside the kernel image: `STEM-PID-INSTANCE.EXT`,
    /// unique to this run.
    fn run_file(&self, stem: &str, extension: &str) -> PathBuf {
        let directory = self.kernel.parent().map_or_else(std::env::temp_dir, Path::to_owned);
        directory.join(format!("{stem}-{}-{}.{extension}", std::process::id(), self.instance))
    }

    /// Backs the board's DDR with the file at `path` (`size` bytes), which
    /// another process can map: the shared memory of an AMP link.
    pub fn shared_ddr(mut self, path: impl Into<PathBuf>, size: u64) -> Run {
        self.shared_ddr = Some((path.into(), size));
        self
    }

    /// Backs the board's DDR with `size` bytes at `offset` of the file at
    /// `path`, which may be larger and shared with another QEMU (the Linux
    /// guest's RAM, see [`crate::linux`]): the file is made at least
    /// `offset + size` bytes long, never truncated.
    pub fn shared_ddr_at(mut self, path: impl Into<PathBuf>, size: u64, offset: u64) -> Run {
        self.shared_ddr = Some((path.into(), size));
        self.ddr_offset = offset;
        self
    }

    /// Runs `cores` cores (`-smp`). Core n's kernel console is its own
    /// per-core UART, serial port n on the AN536: it goes to a file, read
    /// when the run ends, and its lines are [`Output::console`]`(n)`.
    ///
    /// A file rather than a socket: QEMU writes a file at once, while a
    /// socket's writes wait for this process to read, which makes the UART
    /// report itself full at host-dependent moments and the kernel, rightly,
    /// drop lines. (Core 0's console, QEMU's standard output, is a pipe
    /// this process reads at once.)
    pub fn cores(mut self, cores: u8) -> Run {
        self.cores = cores;
        self
    }

    /// Makes core `core`'s kernel console the one read live (QEMU's
    /// standard output, [`Output::lines`], [`Session::wait_for`]); core 0's
    /// then goes to a file like every other core's.
    pub fn console_on(mut self, core: u8) -> Run {
        self.console_core = core;
        self
    }

    /// The serial ports written to files: every core's console but the one
    /// read live.
    /// (A console captured live with [`Run::capture_uart`], as `cargo xtask
    /// run` does, is not a file.)
    fn file_uarts(&self) -> Vec<u8> {
        (0..self.cores.max(1))
            .filter(|core| *core != self.console_core && !self.captured_uarts.contains(core))
            .collect()
    }

    /// The files of [`Run::file_uarts`].
    fn file_uart_paths(&self) -> Vec<(u8, PathBuf)> {
        self.file_uarts().into_iter().map(|n| (n, self.uart_file(n))).collect()
    }

    /// Where serial port `n` is written when it is a file.
    fn uart_file(&self, n: u8) -> PathBuf {
        self.run_file(&format!("serial{n}"), "log")
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

    /// Lets idle time pass in host time (`-icount shift=0,sleep=on`): when
    /// every core waits for an interrupt, QEMU sleeps until the next timer
    /// instead of jumping to it. Instruction counts stay exact, but the run is
    /// no longer repeatable tick for tick. For runs a host program drives in
    /// host time (the rpmsg bench): with the default, a partition idling in
    /// its window gives that window no host time at all, so the host's
    /// doorbells nearly always land in the busy neighbour's window.
    pub fn idle_in_host_time(mut self) -> Run {
        self.idle_in_host_time = true;
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
                let offset = if self.ddr_offset == 0 { String::new() } else { format!(",offset={}", self.ddr_offset) };
                command.arg(format!(
                    "memory-backend-file,id=ddr,size={size},mem-path={},share=on{offset}",
                    path.display()
                ));
            }
            None => {
                command.args(["-M", "mps3-an536"]);
            }
        }
        command.args(["-display", "none", "-monitor", "none", "-serial"]);
        let stdio_or_file = |n: u8| match n == self.console_core {
            true => "stdio".to_owned(),
            false => format!("file:{}", self.uart_file(n).display()),
        };
        command.arg(stdio_or_file(0));
        if self.cores > 1 {
            command.args(["-smp", &self.cores.to_string()]);
        }
        command.args(["-icount", if self.idle_in_host_time { "shift=0,sleep=on" } else { "shift=0,sleep=off" }]);
        command.args(["-semihosting-config", "enable=on,target=native"]);
        command.arg("-kernel").arg(&self.kernel);
        // Serial ports in order: port 0 is the console; any later one on a
        // socket needs every one before it present (as null). A captured
        // port makes QEMU wait, before it runs the guest, until it is
        // connected; a served one does not.
        for n in self.socket_uarts.iter().chain(&self.captured_uarts) {
            if *n == 0 {
                bail!("uart0 (serial port 0) is the kernel console: QEMU's standard output, read always");
            }
        }
        if let Some(n) = self.socket_uarts.iter().find(|n| self.captured_uarts.contains(n)) {
            bail!("uart{n} cannot be both served on a socket for the caller and captured by the run");
        }
        let files = self.file_uarts();
        let last = self
            .socket_uarts
            .iter()
            .chain(&self.captured_uarts)
            .chain(&files)
            .copied()
            .chain([self.console_core])
            .max()
            .unwrap_or(0);
        for n in 1..=last {
            command.arg("-serial");
            if n == self.console_core || files.contains(&n) {
                command.arg(stdio_or_file(n));
                continue;
            }
            let wait = if self.captured_uarts.contains(&n) {
                "on"
            } else if self.socket_uarts.contains(&n) {
                "off"
            } else {
                command.arg("null");
                continue;
            };
            let socket = self.uart_socket(n);
            let _ = std::fs::remove_file(&socket);
            command.arg(format!("unix:{},server=on,wait={wait}", socket.display()));
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

    /// Starts QEMU, connects every captured UART (QEMU waits for them
    /// before running the guest), and reads the console and those UARTs
    /// line by line on threads, all into one channel. The channel closes
    /// once QEMU has exited and every line is in it.
    fn spawn(&self) -> Result<Spawned> {
        if let Some((path, size)) = &self.shared_ddr {
            if self.ddr_offset == 0 {
                let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
                file.set_len(*size)?;
            } else {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(path)
                    .with_context(|| format!("opening {}", path.display()))?;
                if file.metadata()?.len() < self.ddr_offset + size {
                    file.set_len(self.ddr_offset + size)?;
                }
            }
        }
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
        let console = sender.clone();
        std::thread::spawn(move || read_lines(stdout, Source::Console, &console));
        // QEMU offers the captured ports one after the other, in order.
        let mut captured = self.captured_uarts.clone();
        captured.sort_unstable();
        let mut uarts = Vec::new();
        for n in captured {
            let stream = match connect_while_running(&self.uart_socket(n), &mut child, CONNECT_PATIENCE) {
                Ok(stream) => stream,
                Err(error) => {
                    kill(&mut child);
                    bail!("uart{n}: {error:#}\n{}", qemu_errors(&mut stderr));
                }
            };
            let reader = stream.try_clone()?;
            let sender = sender.clone();
            std::thread::spawn(move || read_lines(reader, Source::Uart(n), &sender));
            uarts.push((n, stream));
        }
        Ok(Spawned { child, receiver, stderr, uarts })
    }

    /// Starts QEMU and returns at once: the caller talks to the system (its
    /// served UARTs, its shared DDR) while it runs, and stops it.
    pub fn start(&self) -> Result<Session> {
        let Spawned { child, receiver, stderr, uarts } = self.spawn()?;
        Ok(Session {
            child,
            receiver,
            stderr,
            lines: Vec::new(),
            uart_lines: uarts.iter().map(|(n, _)| (*n, Vec::new())).collect(),
            captured: uarts,
            started: Instant::now(),
            uarts: self.socket_uarts.iter().map(|n| (*n, self.uart_socket(*n))).collect(),
            files: self
                .socket_uarts
                .iter()
                .chain(&self.captured_uarts)
                .map(|n| self.uart_socket(*n))
                .chain(self.shared_ddr.as_ref().map(|(p, _)| p.clone()))
                .collect(),
            console_files: self.file_uart_paths(),
            console_core: self.console_core,
        })
    }

    /// Runs to completion, collecting the console and the captured UARTs;
    /// hands each line to `echo`, when given, as it arrives: console and
    /// UART lines in one sequence, each whole.
    pub fn run_with(&self, mut echo: Option<Echo<'_>>) -> Result<Output> {
        let started = Instant::now();
        let Spawned { mut child, receiver, mut stderr, uarts: streams } = self.spawn()?;
        if let Some(n) = self.input {
            let (_, stream) = streams.iter().find(|(m, _)| *m == n).context("the input UART is not captured")?;
            let mut writer = stream.try_clone()?;
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut std::io::stdin(), &mut writer);
            });
        }
        let mut lines = Vec::new();
        let mut uarts: BTreeMap<u8, Vec<String>> = streams.iter().map(|(n, _)| (*n, Vec::new())).collect();
        loop {
            let remaining = self.timeout.saturating_sub(started.elapsed());
            match receiver.recv_timeout(remaining.max(Duration::from_millis(1))) {
                Ok((source, line)) => {
                    if let Some(echo) = echo.as_mut() {
                        echo(source, &line);
                    }
                    match source {
                        Source::Console => lines.push(line),
                        Source::Uart(n) => uarts.entry(n).or_default().push(line),
                    }
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
        let errors = qemu_errors(&mut stderr);
        if status != Some(0) && !errors.is_empty() {
            eprintln!("{errors}");
        }
        drop(streams);
        for n in &self.captured_uarts {
            let _ = std::fs::remove_file(self.uart_socket(*n));
        }
        for (n, path) in self.file_uart_paths() {
            uarts.insert(n, read_uart_file(&path)?);
        }
        Ok(Output { lines, uarts, status, elapsed: started.elapsed(), console_core: self.console_core })
    }

    /// Runs to completion, collecting the console.
    pub fn run(&self) -> Result<Output> {
        self.run_with(None)
    }
}

/// The lines QEMU wrote to a serial port's file (removed after).
fn read_uart_file(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let _ = std::fs::remove_file(path);
    Ok(String::from_utf8_lossy(&text).lines().map(|line| line.trim_end_matches('\r').to_owned()).collect())
}

/// A started QEMU: its lines arrive on `receiver`.
struct Spawned {
    child: Child,
    receiver: mpsc::Receiver<(Source, String)>,
    stderr: std::process::ChildStderr,
    /// The captured UARTs' connections, for writing to them.
    uarts: Vec<(u8, UnixStream)>,
}

/// Sends each line `reader` yields to `sender` as from `source` (a last
/// line without its newline too), until the end of the stream.
fn read_lines(reader: impl Read, source: Source, sender: &mpsc::Sender<(Source, String)>) {
    for line in BufReader::new(reader).split(b'\n') {
        let Ok(line) = line else { break };
        let text = String::from_utf8_lossy(&line).trim_end_matches('\r').to_owned();
        if sender.send((source, text)).is_err() {
            break;
        }
    }
}

/// A running QEMU (see [`Run::start`]). Dropping it kills QEMU and removes
/// its sockets and shared memory file.
pub struct Session {
    child: Child,
    receiver: mpsc::Receiver<(Source, String)>,
    stderr: std::process::ChildStderr,
    lines: Vec<String>,
    /// Lines of the captured UARTs so far.
    uart_lines: BTreeMap<u8, Vec<String>>,
    /// Connections to the captured UARTs, for [`Session::send_uart`].
    captured: Vec<(u8, UnixStream)>,
    started: Instant,
    /// UARTs served on sockets ([`Run::serve_uart`]).
    uarts: Vec<(u8, PathBuf)>,
    files: Vec<PathBuf>,
    /// Consoles written to files, read when the run ends.
    console_files: Vec<(u8, PathBuf)>,
    console_core: u8,
}

impl Session {
    /// A connection to `uartN`, which the run serves ([`Run::serve_uart`]):
    /// reads wait at most `patience` each.
    pub fn uart(&self, n: u8, patience: Duration) -> Result<UnixStream> {
        let (_, socket) = self.uarts.iter().find(|(m, _)| *m == n).context("that UART is not served")?;
        let stream = connect(socket, patience)?;
        stream.set_read_timeout(Some(patience))?;
        Ok(stream)
    }

    /// Sends `bytes` to captured `uartN` ([`Run::capture_uart`]). The UART
    /// takes them as the guest reads them.
    pub fn send_uart(&mut self, n: u8, bytes: &[u8]) -> Result<()> {
        let (_, stream) =
            self.captured.iter_mut().find(|(m, _)| *m == n).with_context(|| format!("uart{n} is not captured"))?;
        stream.write_all(bytes).with_context(|| format!("sending to uart{n}"))
    }

    /// Waits up to `timeout` (wall clock) for a console line containing
    /// `what` and returns it. Lines before it are kept.
    pub fn wait_for(&mut self, what: &str, timeout: Duration) -> Result<String> {
        self.wait_for_line(Source::Console, what, timeout)
    }

    /// Waits up to `timeout` (wall clock: how long to be patient, not when
    /// to look) for a line of captured `uartN` containing `what` and
    /// returns it. Lines before it are kept.
    pub fn wait_for_uart(&mut self, n: u8, what: &str, timeout: Duration) -> Result<String> {
        if !self.uart_lines.contains_key(&n) {
            bail!("uart{n} is not captured");
        }
        self.wait_for_line(Source::Uart(n), what, timeout)
    }

    fn wait_for_line(&mut self, source: Source, what: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let seen = self.lines_of(source).len();
        if let Some(line) = self.lines_of(source).iter().find(|l| l.contains(what)) {
            return Ok(line.clone());
        }
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match self.receiver.recv_timeout(remaining.max(Duration::from_millis(1))) {
                Ok((from, line)) => {
                    let found = from == source && line.contains(what);
                    self.keep(from, line.clone());
                    if found {
                        return Ok(line);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                Err(error) => {
                    let name = match source {
                        Source::Console => "console".to_owned(),
                        Source::Uart(n) => format!("uart{n}"),
                    };
                    let lines = self.lines_of(source);
                    bail!(
                        "no {name} line containing {what:?} within {timeout:?} ({error}); since then:\n{}",
                        lines[seen.saturating_sub(5)..].join("\n")
                    )
                }
            }
        }
    }

    fn lines_of(&self, source: Source) -> &[String] {
        match source {
            Source::Console => &self.lines,
            Source::Uart(n) => self.uart_lines.get(&n).map_or(&[], Vec::as_slice),
        }
    }

    fn keep(&mut self, source: Source, line: String) {
        match source {
            Source::Console => self.lines.push(line),
            Source::Uart(n) => self.uart_lines.entry(n).or_default().push(line),
        }
    }

    /// Collects the lines printed so far without waiting; returns the
    /// console's.
    pub fn drain(&mut self) -> &[String] {
        while let Ok((source, line)) = self.receiver.try_recv() {
            self.keep(source, line);
        }
        &self.lines
    }

    /// The lines of captured `uartN` so far (call [`Session::drain`] first
    /// for the newest); empty for a UART not captured.
    pub fn uart_lines(&self, n: u8) -> &[String] {
        self.lines_of(Source::Uart(n))
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
        // QEMU is gone, so the console and every UART end: take every line.
        while let Ok((source, line)) = self.receiver.recv() {
            self.keep(source, line);
        }
        let errors = qemu_errors(&mut self.stderr);
        if !errors.is_empty() {
            eprintln!("{errors}");
        }
        let mut uarts = std::mem::take(&mut self.uart_lines);
        for (n, path) in std::mem::take(&mut self.console_files) {
            uarts.insert(n, read_uart_file(&path).unwrap_or_default());
        }
        Output {
            lines: std::mem::take(&mut self.lines),
            uarts,
            status: None,
            elapsed: self.started.elapsed(),
            console_core: self.console_core,
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        kill(&mut self.child);
        for file in self.files.iter().chain(self.console_files.iter().map(|(_, path)| path)) {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Connects to a UART QEMU serves on `socket`, retrying until `patience`
/// runs out (QEMU creates the socket as it starts).
fn connect(socket: &Path, patience: Duration) -> Result<UnixStream> {
    let deadline = Instant::now() + patience;
    loop {
        match UnixStream::connect(socket) {
            Ok(stream) => return Ok(stream),
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(error) => bail!("cannot connect to {}: {error}", socket.display()),
        }
    }
}

/// [`connect`], giving up at once if QEMU exits first.
fn connect_while_running(socket: &Path, child: &mut Child, patience: Duration) -> Result<UnixStream> {
    let deadline = Instant::now() + patience;
    loop {
        match UnixStream::connect(socket) {
            Ok(stream) => return Ok(stream),
            Err(error) => {
                if let Some(status) = child.try_wait()? {
                    bail!("QEMU exited ({status}) before offering {}", socket.display());
                }
                if Instant::now() >= deadline {
                    bail!("cannot connect to {} within {patience:?}: {error}", socket.display());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// What QEMU wrote on its standard error, less the notices it gives for
/// every captured UART ("QEMU waiting for connection on: ...").
fn qemu_errors(stderr: &mut std::process::ChildStderr) -> String {
    let mut errors = String::new();
    let _ = stderr.read_to_string(&mut errors);
    errors
        .lines()
        .filter(|l| !l.contains("QEMU waiting for connection on:"))
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
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
