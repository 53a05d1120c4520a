//! Safe wrappers for the Bulkhead hypercalls.
//!
//! Every call is `hvc #0` with the call number in `r0`; see
//! `docs/hypercalls.md`. The kernel checks every argument, so none of these
//! can harm the caller's memory safety: the only memory the kernel touches on
//! a partition's behalf is the buffer of [`console_write`], which it reads,
//! and the entry buffer of [`health_log`], which it writes.

pub use bulkhead_abi::health::LogEntry;

use bulkhead_abi::health::{ControlOp, ErrorKind, LOG_ENTRY_WORDS};
use bulkhead_abi::{Call, El1Exception, Error, OK};

/// The raw hypercall: `hvc #0` with `r0` = `number`, `r1`..`r3` = `args`.
/// Returns `r0`..`r3`.
#[inline(always)]
pub fn raw(number: u32, args: [u32; 3]) -> [u32; 4] {
    let (r0, r1, r2, r3);
    #[allow(unsafe_code, reason = "the one instruction that enters the kernel")]
    // SAFETY: the kernel preserves every register but r0-r3 and reads at most
    // the buffer an argument names; the asm block declares r0-r3 as outputs
    // and does not claim `nomem`.
    unsafe {
        core::arch::asm!(
            "hvc #0",
            inlateout("r0") number => r0,
            inlateout("r1") args[0] => r1,
            inlateout("r2") args[1] => r2,
            inlateout("r3") args[2] => r3,
            options(nostack),
        );
    }
    [r0, r1, r2, r3]
}

fn status(r0: u32) -> Result<(), Error> {
    if r0 == OK { Ok(()) } else { Err(Error::from_status(r0).unwrap_or(Error::UnknownCall)) }
}

/// Gives up the rest of this window; returns at the start of the next one.
pub fn yield_window() {
    raw(Call::Yield as u32, [0; 3]);
}

/// Partition time: ticks of the virtual counter, which stands still outside
/// this partition's windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionTime {
    /// Counter value.
    pub ticks: u64,
    /// Counter frequency in Hz.
    pub hz: u32,
}

impl PartitionTime {
    /// The time in microseconds.
    pub fn micros(&self) -> u64 {
        self.ticks * 1_000_000 / self.hz.max(1) as u64
    }
}

/// System time: ticks of the counter every core shares, since the system's
/// epoch (the start of frame 0). Unlike partition time it runs when this
/// partition is not scheduled; channels date their messages with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemTime {
    /// Ticks since the epoch.
    pub ticks: u64,
    /// Counter frequency in Hz.
    pub hz: u32,
}

/// Reads system time.
pub fn system_time() -> SystemTime {
    let [_, low, high, hz] = raw(Call::SystemTime as u32, [0; 3]);
    SystemTime { ticks: (u64::from(high) << 32) | u64::from(low), hz }
}

/// The system's epoch: the physical counter at system time 0. System
/// time is [`physical_counter`] minus it (what [`system_time`] returns, with
/// no hypercall).
pub fn system_epoch() -> SystemTime {
    let [_, low, high, hz] = raw(Call::SystemEpoch as u32, [0; 3]);
    SystemTime { ticks: (u64::from(high) << 32) | u64::from(low), hz }
}

/// The physical counter (`CNTPCT`), which the kernel lets partitions read:
/// system time plus [`system_epoch`]. Read after every earlier
/// instruction (`isb`), so a stamp is never taken early.
pub fn physical_counter() -> u64 {
    aarch32_cpu::asm::isb();
    aarch32_cpu::register::CntPct::read().0
}

/// Tells the kernel this partition, a reader of queuing channel `channel`,
/// has taken its messages up to count `consumed` (see [`crate::port`]).
pub fn queue_ack(channel: u32, consumed: u32) -> Result<(), Error> {
    status(raw(Call::QueueAck as u32, [channel, consumed, 0])[0])
}

/// Raises channel `channel`'s notify interrupt in its readers; only its
/// writer may.
pub fn port_notify(channel: u32) -> Result<(), Error> {
    status(raw(Call::PortNotify as u32, [channel, 0, 0])[0])
}

/// Kicks this partition's watchdog: its deadline starts again.
/// `Err(Denied)` if the description gives it no watchdog.
pub fn watchdog_kick() -> Result<(), Error> {
    status(raw(Call::WatchdogKick as u32, [0; 3])[0])
}

/// Reports an error this partition found for the health monitor: only
/// [`ErrorKind::PortOverflow`] with the id of a queuing channel it writes.
/// Returns only if the error's action is `log` (or after the monitor
/// resumes it).
pub fn health_report(kind: ErrorKind, detail: u32) -> Result<(), Error> {
    status(raw(Call::HealthReport as u32, [kind as u32, detail, 0])[0])
}

/// Where a core's error log stands: its newest entry's number (0: none)
/// and its oldest still held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogBounds {
    /// Newest entry's number, 0 if none yet.
    pub newest: u32,
    /// Oldest entry still held.
    pub oldest: u32,
}

/// Monitor only: entry `number` of core `core`'s error log, with the log's
/// bounds. `Err((BadArgument, bounds))` if the entry is not held (not
/// written yet, or overwritten); `Denied` for any partition but the
/// monitor.
pub fn health_log(core: u32, number: u32) -> Result<(LogEntry, LogBounds), (Error, LogBounds)> {
    let mut words = [0u32; LOG_ENTRY_WORDS];
    let [r0, newest, oldest, _] = raw(Call::HealthLog as u32, [core, number, words.as_mut_ptr() as u32]);
    // The kernel wrote the buffer behind the compiler's back.
    let words = core::hint::black_box(words);
    let bounds = LogBounds { newest, oldest };
    status(r0).map_err(|error| (error, bounds))?;
    let entry = LogEntry::from_words(&words);
    Ok((entry, bounds))
}

/// Monitor only: restarts, halts or resumes partition `target`.
pub fn partition_control(target: u32, op: ControlOp) -> Result<(), Error> {
    partition_control_raw(target, op as u32)
}

/// [`partition_control`] with any operation number: what a hostile
/// partition might pass.
pub fn partition_control_raw(target: u32, op: u32) -> Result<(), Error> {
    status(raw(Call::PartitionControl as u32, [target, op, 0])[0])
}

/// Reads partition time.
pub fn partition_time() -> PartitionTime {
    let [_, low, high, hz] = raw(Call::PartitionTime as u32, [0; 3]);
    PartitionTime { ticks: (high as u64) << 32 | low as u64, hz }
}

/// Who the caller is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Partition id (its index in the system description).
    pub id: u8,
    /// Number of partitions in the system.
    pub partitions: u8,
    /// How many times the kernel has restarted this partition.
    pub restarts: u32,
}

/// Reads the caller's identity.
pub fn identity() -> Identity {
    let [_, id, partitions, restarts] = raw(Call::PartitionId as u32, [0; 3]);
    Identity { id: id as u8, partitions: partitions as u8, restarts }
}

/// Writes at most [`bulkhead_abi::CONSOLE_WRITE_MAX`] bytes to the console.
/// Returns how many were accepted.
pub fn console_write(bytes: &[u8]) -> Result<usize, Error> {
    console_write_raw(bytes.as_ptr() as u32, bytes.len() as u32)
}

/// [`console_write`] with an arbitrary address and length: what a hostile or
/// buggy partition might pass. The kernel must refuse what is not the
/// caller's.
pub fn console_write_raw(address: u32, length: u32) -> Result<usize, Error> {
    let [r0, written, _, _] = raw(Call::ConsoleWrite as u32, [address, length, 0]);
    status(r0).map(|()| written as usize)
}

/// Stops this partition for good.
pub fn stop(code: u32) -> ! {
    raw(Call::StopSelf as u32, [code, 0, 0]);
    unreachable_after_kernel_refused()
}

/// Reports an exception this partition cannot handle; the kernel applies the
/// partition's fault policy.
pub fn report_fault(kind: El1Exception, address: u32, status: u32) -> ! {
    raw(Call::ReportFault as u32, [kind as u32, address, status]);
    unreachable_after_kernel_refused()
}

/// The kernel never returns from `StopSelf`/`ReportFault`; should a future
/// kernel do so, wait for the window to end rather than run on.
fn unreachable_after_kernel_refused() -> ! {
    loop {
        yield_window();
    }
}
