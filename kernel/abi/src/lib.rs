//! The Bulkhead hypercall ABI, shared by the kernel, the partition SDK and tools.
//!
//! This crate owns the numbers that cross the EL1/EL2 boundary: hypercall
//! numbers, error codes, the registers a partition finds at its entry point and
//! the limits the kernel enforces on arguments. It holds no code that runs with
//! privilege and must never depend on the kernel or on a board.
//!
//! # Calling convention (A32)
//!
//! A partition issues `hvc #0` with the call number in `r0` and up to three
//! arguments in `r1`..`r3`. On return `r0` holds [`Status`] (0 for success) and
//! `r1`..`r3` hold results as documented per call; `r4`..`r12`, `sp`, `lr`,
//! the banked registers, the VFP registers and the flags are preserved.
//! `hvc` with an immediate other than [`HVC_IMMEDIATE`] returns
//! [`Error::UnknownCall`]. The prose version of this contract is
//! `docs/hypercalls.md`.

#![no_std]

/// The `hvc` immediate that selects the Bulkhead ABI.
pub const HVC_IMMEDIATE: u16 = 0;

/// Largest number of bytes one [`Call::ConsoleWrite`] accepts.
///
/// The bound keeps the longest hypercall short, so a window boundary that
/// falls while a partition is inside the kernel is delayed by a known amount.
pub const CONSOLE_WRITE_MAX: u32 = 128;

/// Hypercall numbers, passed in `r0`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Call {
    /// Give up the rest of the current window. Returns at the start of the
    /// caller's next window. No arguments, no results.
    Yield = 0,
    /// Read partition time: the virtual counter, which stands still outside the
    /// caller's windows. Results: `r1` low word, `r2` high word, `r3` counter
    /// frequency in Hz.
    PartitionTime = 1,
    /// Read the caller's identity. Results: `r1` partition id (index in the
    /// system description), `r2` number of partitions in the system, `r3` how
    /// many times the kernel has restarted the caller (0 at first boot).
    PartitionId = 2,
    /// Write bytes to the console. Arguments: `r1` address, `r2` length (at most
    /// [`CONSOLE_WRITE_MAX`]). The whole range must lie in memory the caller
    /// may read. Result: `r1` bytes accepted.
    ConsoleWrite = 3,
    /// Stop the caller for good: it is never scheduled again and its windows
    /// stay idle. Argument: `r1` exit code, logged. Does not return.
    StopSelf = 4,
    /// Report an exception the partition took at EL1 and cannot handle, so the
    /// kernel applies the partition's fault policy. Arguments: `r1` the
    /// [`El1Exception`] kind, `r2` the faulting address, `r3` the fault status
    /// (DFSR or IFSR). Does not return.
    ReportFault = 5,
    /// Read system time: the physical counter every core shares, in ticks
    /// since the system's epoch (the start of frame 0, common to all
    /// cores). It runs whether or not the caller is scheduled, so it dates
    /// messages between partitions. Results: `r1` low word, `r2` high word,
    /// `r3` counter frequency in Hz.
    SystemTime = 6,
    /// Take messages from a queuing channel: sets the caller's `consumed`
    /// count in the channel's window (which the reader maps read-only).
    /// Arguments: `r1` channel id, `r2` the new count, which must be ahead of
    /// the current one by 1 to `depth` messages and not past `written`.
    /// Errors: [`Error::BadArgument`] for an unknown channel or a bad count,
    /// [`Error::Denied`] if the caller is not a reader of that queuing
    /// channel.
    QueueAck = 7,
    /// Raise the channel's notify interrupt in each of its readers,
    /// delivered in the reader's own windows (on any core). Argument: `r1`
    /// channel id. Errors: [`Error::BadArgument`] for an unknown channel,
    /// [`Error::Denied`] if the caller is not its writer or it does not
    /// notify.
    PortNotify = 8,
    /// Kick the caller's watchdog: its deadline (partition time) starts
    /// again. Errors: [`Error::Denied`] if the caller has no watchdog.
    WatchdogKick = 9,
    /// Report an error the partition found itself, for the health monitor
    /// to act on. Arguments: `r1` the [`health::ErrorKind`] (only
    /// `PortOverflow` may be reported), `r2` its detail (the channel id).
    /// Returns if the error's action is `log`; otherwise the action is
    /// taken and the call does not return. Errors: [`Error::BadArgument`]
    /// for another kind or an unknown channel, [`Error::Denied`] if the
    /// caller does not write that queuing channel.
    HealthReport = 10,
    /// Monitor only: copy entry `r2` of core `r1`'s error log into the
    /// caller's buffer at `r3` ([`health::LOG_ENTRY_BYTES`] bytes it may
    /// write). Results: `r1` the number of that core's newest entry (0:
    /// none), `r2` its oldest still held, also set when the call fails with
    /// [`Error::BadArgument`] because the entry is not held (or the core is
    /// unknown: both 0). Errors: [`Error::Denied`] for any other partition,
    /// [`Error::BadAddress`] for the buffer.
    HealthLog = 11,
    /// Monitor only: restart, halt or resume partition `r1`
    /// ([`health::ControlOp`] in `r2`). A partition on the caller's core is
    /// changed before the call returns; one on another core is changed by
    /// that core's kernel at its next entry (it is rung at once). Errors:
    /// [`Error::Denied`] for any other partition, [`Error::BadArgument`]
    /// for an unknown partition or operation, the caller itself, or
    /// `Resume` of a partition of the caller's core that is not suspended.
    PartitionControl = 12,
    /// Read the system's epoch: the physical counter (`CNTPCT`, which EL1
    /// may read without a trap) at system time 0. System time is `CNTPCT`
    /// minus the epoch, exactly what [`Call::SystemTime`] returns at the
    /// same tick, without a hypercall. Results: `r1` low word, `r2` high
    /// word, `r3` counter frequency in Hz.
    SystemEpoch = 13,
}

impl Call {
    /// All calls, in number order.
    pub const ALL: [Call; 14] = [
        Call::Yield,
        Call::PartitionTime,
        Call::PartitionId,
        Call::ConsoleWrite,
        Call::StopSelf,
        Call::ReportFault,
        Call::SystemTime,
        Call::QueueAck,
        Call::PortNotify,
        Call::WatchdogKick,
        Call::HealthReport,
        Call::HealthLog,
        Call::PartitionControl,
        Call::SystemEpoch,
    ];

    /// Decodes a call number from `r0`.
    pub const fn from_number(number: u32) -> Option<Call> {
        Some(match number {
            0 => Call::Yield,
            1 => Call::PartitionTime,
            2 => Call::PartitionId,
            3 => Call::ConsoleWrite,
            4 => Call::StopSelf,
            5 => Call::ReportFault,
            6 => Call::SystemTime,
            7 => Call::QueueAck,
            8 => Call::PortNotify,
            9 => Call::WatchdogKick,
            10 => Call::HealthReport,
            11 => Call::HealthLog,
            12 => Call::PartitionControl,
            13 => Call::SystemEpoch,
            _ => return None,
        })
    }
}

/// How generated bindings type one register of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperandKind {
    /// A 32-bit value (`uint32_t` in C).
    Word,
    /// The address of bytes the kernel reads (`const void *` in C). The
    /// operand after it is their length in bytes.
    ReadBuffer,
    /// The address of a buffer the kernel writes (`void *` in C), of a
    /// size the call fixes.
    WriteBuffer,
}

/// One argument or result register of a call: what generated bindings
/// (sysgen's `bulkhead.h`) name it and say about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operand {
    /// The register: 1, 2 or 3 for `r1`, `r2` or `r3`.
    pub register: u8,
    /// A snake_case name for bindings.
    pub name: &'static str,
    /// What it holds, one phrase.
    pub meaning: &'static str,
    /// How bindings type it.
    pub kind: OperandKind,
}

/// An [`OperandKind::Word`] operand, as a literal (so slices of them are
/// promoted to `'static`).
macro_rules! word {
    ($register:literal, $name:literal, $meaning:literal $(,)?) => {
        Operand { register: $register, name: $name, meaning: $meaning, kind: OperandKind::Word }
    };
}

/// The shape of one call, for generated bindings: what it does, its
/// arguments and results by register, whether it returns. The prose above
/// each [`Call`] variant and `docs/hypercalls.md` say the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature {
    /// What the call does, one sentence.
    pub summary: &'static str,
    /// Arguments, in register order from `r1`.
    pub arguments: &'static [Operand],
    /// Results, in register order from `r1`; `r0` is always the [`Status`].
    pub results: &'static [Operand],
    /// `false` for the calls that never return to the caller.
    pub returns: bool,
}

impl Call {
    /// The call's arguments and results. An exhaustive `match`: a new call
    /// does not compile until it is described.
    pub const fn signature(self) -> Signature {
        match self {
            Call::Yield => Signature {
                summary: "Give up the rest of the current window; returns at the start of the caller's next window.",
                arguments: &[],
                results: &[],
                returns: true,
            },
            Call::PartitionTime => Signature {
                summary: "Read partition time: the virtual counter, which stands still outside the caller's windows.",
                arguments: &[],
                results: &[
                    word!(1, "ticks_low", "partition time in counter ticks, low word"),
                    word!(2, "ticks_high", "partition time in counter ticks, high word"),
                    word!(3, "frequency_hz", "counter frequency in Hz"),
                ],
                returns: true,
            },
            Call::PartitionId => Signature {
                summary: "Read the caller's identity.",
                arguments: &[],
                results: &[
                    word!(1, "partition_id", "the caller's id (its index in the system description)"),
                    word!(2, "partition_count", "number of partitions in the system"),
                    word!(3, "restart_count", "how many times the kernel has restarted the caller"),
                ],
                returns: true,
            },
            Call::ConsoleWrite => Signature {
                summary: "Write bytes to the console; the whole range must lie in memory the caller may read.",
                arguments: &[
                    Operand {
                        register: 1,
                        name: "bytes",
                        meaning: "address of the first byte",
                        kind: OperandKind::ReadBuffer,
                    },
                    word!(2, "length", "number of bytes, at most CONSOLE_WRITE_MAX"),
                ],
                results: &[word!(1, "accepted", "bytes accepted, possibly fewer than asked: write the rest again")],
                returns: true,
            },
            Call::StopSelf => Signature {
                summary: "Stop the caller for good: it is never scheduled again and its windows stay idle.",
                arguments: &[word!(1, "exit_code", "exit code, logged by the kernel")],
                results: &[],
                returns: false,
            },
            Call::ReportFault => Signature {
                summary: "Report an exception taken at EL1 that the partition cannot handle; the kernel applies \
                          the partition's fault policy.",
                arguments: &[
                    word!(1, "kind", "what was taken: an El1Exception kind"),
                    word!(2, "address", "the faulting address"),
                    word!(3, "status", "the fault status (DFSR or IFSR)"),
                ],
                results: &[],
                returns: false,
            },
            Call::SystemTime => Signature {
                summary: "Read system time: the counter all cores share, in ticks since the system's epoch; it runs \
                          whether or not the caller is scheduled.",
                arguments: &[],
                results: &[
                    word!(1, "ticks_low", "system time in counter ticks, low word"),
                    word!(2, "ticks_high", "system time in counter ticks, high word"),
                    word!(3, "frequency_hz", "counter frequency in Hz"),
                ],
                returns: true,
            },
            Call::QueueAck => Signature {
                summary: "Take messages from a queuing channel the caller reads: set its consumed count, 1 to depth \
                          messages ahead and not past what was written.",
                arguments: &[word!(1, "channel", "the channel id"), word!(2, "consumed", "the new consumed count")],
                results: &[],
                returns: true,
            },
            Call::PortNotify => Signature {
                summary: "Raise a channel's notify interrupt in each of its readers, delivered in their own windows; \
                          only the channel's writer may.",
                arguments: &[word!(1, "channel", "the channel id")],
                results: &[],
                returns: true,
            },
            Call::WatchdogKick => Signature {
                summary: "Kick the caller's watchdog: its deadline of partition time starts again.",
                arguments: &[],
                results: &[],
                returns: true,
            },
            Call::HealthReport => Signature {
                summary: "Report an error the partition found (a full queuing channel it writes); returns only if \
                          the error's action is log.",
                arguments: &[
                    word!(1, "kind", "the error kind: BULKHEAD_HEALTH_ERROR_PORT_OVERFLOW"),
                    word!(2, "detail", "the channel id"),
                ],
                results: &[],
                returns: true,
            },
            Call::HealthLog => Signature {
                summary: "Monitor only: copy one entry of a core's error log into the caller's buffer.",
                arguments: &[
                    word!(1, "core", "the core whose log is read"),
                    word!(2, "number", "the entry's number"),
                    Operand {
                        register: 3,
                        name: "entry",
                        meaning: "address of a word-aligned 32-byte buffer the caller may write",
                        kind: OperandKind::WriteBuffer,
                    },
                ],
                results: &[
                    word!(1, "newest", "number of the core's newest entry, 0 for none"),
                    word!(2, "oldest", "number of its oldest entry still held"),
                ],
                returns: true,
            },
            Call::SystemEpoch => Signature {
                summary: "Read the system's epoch: CNTPCT (readable at EL1) at system time 0; system time is \
                          CNTPCT minus it.",
                arguments: &[],
                results: &[
                    word!(1, "epoch_low", "the epoch in counter ticks, low word"),
                    word!(2, "epoch_high", "the epoch in counter ticks, high word"),
                    word!(3, "frequency_hz", "counter frequency in Hz"),
                ],
                returns: true,
            },
            Call::PartitionControl => Signature {
                summary: "Monitor only: restart, halt or resume another partition.",
                arguments: &[
                    word!(1, "partition", "the target's partition id"),
                    word!(2, "operation", "0 restart, 1 restart-cold, 2 halt, 3 resume"),
                ],
                results: &[],
                returns: true,
            },
        }
    }
}

/// What a hypercall returns in `r0`: 0 for success, otherwise an [`Error`].
pub type Status = u32;

/// `r0` after a successful call.
pub const OK: Status = 0;

/// Hypercall errors, returned in `r0`. The kernel never faults on a bad
/// argument; it returns one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Error {
    /// `r0` names no call, or the `hvc` immediate is not [`HVC_IMMEDIATE`].
    UnknownCall = 1,
    /// A pointer argument, with its length, is not entirely inside memory the
    /// caller may access in the way the call needs (or it wraps around).
    BadAddress = 2,
    /// A length argument exceeds the call's limit.
    TooLong = 3,
    /// Another argument is out of range.
    BadArgument = 4,
    /// The caller may not do this: it is not the channel's writer (or a
    /// reader), or the call is privileged.
    Denied = 5,
}

impl Error {
    /// All errors, in code order.
    pub const ALL: [Error; 5] =
        [Error::UnknownCall, Error::BadAddress, Error::TooLong, Error::BadArgument, Error::Denied];

    /// Decodes an `r0` value; `None` for [`OK`] or unknown values.
    pub const fn from_status(status: Status) -> Option<Error> {
        Some(match status {
            1 => Error::UnknownCall,
            2 => Error::BadAddress,
            3 => Error::TooLong,
            4 => Error::BadArgument,
            5 => Error::Denied,
            _ => return None,
        })
    }

    /// A short lower-case name, as the kernel logs it.
    pub const fn name(self) -> &'static str {
        match self {
            Error::UnknownCall => "unknown-call",
            Error::BadAddress => "bad-address",
            Error::TooLong => "too-long",
            Error::BadArgument => "bad-argument",
            Error::Denied => "denied",
        }
    }

    /// What the error means, one sentence, for generated bindings.
    pub const fn meaning(self) -> &'static str {
        match self {
            Error::UnknownCall => "r0 names no call, or the hvc immediate is not 0",
            Error::BadAddress => {
                "a pointer argument, with its length, is not entirely inside memory the caller may access that way"
            }
            Error::TooLong => "a length argument exceeds the call's limit",
            Error::BadArgument => "another argument is out of range",
            Error::Denied => "the caller may not do this: not the channel's writer or reader, or a privileged call",
        }
    }
}

/// Kinds of EL1 exception a partition reports with [`Call::ReportFault`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum El1Exception {
    /// Undefined instruction taken at EL1.
    Undefined = 1,
    /// Prefetch abort taken at EL1 (EL1 MPU or debug).
    PrefetchAbort = 2,
    /// Data abort taken at EL1 (EL1 MPU, alignment).
    DataAbort = 3,
    /// Any other exception the partition did not expect (SVC, FIQ, ...).
    Unexpected = 4,
    /// The partition's runtime found a fatal error of its own (a Rust panic).
    Panic = 5,
}

impl El1Exception {
    /// All kinds, in number order.
    pub const ALL: [El1Exception; 5] = [
        El1Exception::Undefined,
        El1Exception::PrefetchAbort,
        El1Exception::DataAbort,
        El1Exception::Unexpected,
        El1Exception::Panic,
    ];

    /// Decodes `r1` of [`Call::ReportFault`].
    pub const fn from_number(number: u32) -> Option<El1Exception> {
        Some(match number {
            1 => El1Exception::Undefined,
            2 => El1Exception::PrefetchAbort,
            3 => El1Exception::DataAbort,
            4 => El1Exception::Unexpected,
            5 => El1Exception::Panic,
            _ => return None,
        })
    }

    /// A short lower-case name, as the kernel logs it.
    pub const fn name(self) -> &'static str {
        match self {
            El1Exception::Undefined => "el1-undefined",
            El1Exception::PrefetchAbort => "el1-prefetch-abort",
            El1Exception::DataAbort => "el1-data-abort",
            El1Exception::Unexpected => "el1-unexpected",
            El1Exception::Panic => "panic",
        }
    }

    /// What the kind means, one sentence, for generated bindings.
    pub const fn meaning(self) -> &'static str {
        match self {
            El1Exception::Undefined => "undefined instruction taken at EL1",
            El1Exception::PrefetchAbort => "prefetch abort taken at EL1 (EL1 MPU or debug)",
            El1Exception::DataAbort => "data abort taken at EL1 (EL1 MPU, alignment)",
            El1Exception::Unexpected => "any other exception the partition did not expect (SVC, FIQ, ...)",
            El1Exception::Panic => "the partition's runtime found a fatal error of its own",
        }
    }
}

/// The health monitor's numbers: error kinds and actions (as the error log
/// records them and the description names them), the monitor's control
/// operations and the layout of a log entry.
pub mod health {
    /// What the health monitor detects about a partition (the keys of its
    /// `health` table in the description). Numbered as in the ABI's error log.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[repr(u8)]
    pub enum ErrorKind {
        /// A stage-2 fault: a data or prefetch abort the EL2 MPU raised (memory
        /// the partition was not given).
        Fault = 0,
        /// An undefined or trapped instruction the kernel does not emulate (an
        /// exception class the kernel does not serve, a cache operation on
        /// memory that is not the partition's).
        Undefined = 1,
        /// The partition reported an exception of its own it cannot handle
        /// (`ReportFault`: an EL1 abort or undefined instruction, a panic).
        Reported = 2,
        /// An access to the GIC's frames the virtual GIC refuses (a register
        /// it cannot address, a bad size or alignment).
        VgicMisuse = 3,
        /// Its watchdog was not kicked within its deadline of partition time.
        Watchdog = 4,
        /// A queuing channel it writes was full (reported by the writer's
        /// `HealthReport`, which the SDK's send makes on the first overflow of
        /// a run).
        PortOverflow = 5,
        /// A restart was due but the partition had used its restart limit.
        RestartLimit = 6,
    }

    /// Number of [`ErrorKind`]s.
    pub const ERROR_KINDS: usize = 7;

    impl ErrorKind {
        /// All kinds, in number order.
        pub const ALL: [ErrorKind; ERROR_KINDS] = [
            ErrorKind::Fault,
            ErrorKind::Undefined,
            ErrorKind::Reported,
            ErrorKind::VgicMisuse,
            ErrorKind::Watchdog,
            ErrorKind::PortOverflow,
            ErrorKind::RestartLimit,
        ];

        /// The kind's name as written in the description and the log.
        pub const fn name(self) -> &'static str {
            match self {
                ErrorKind::Fault => "fault",
                ErrorKind::Undefined => "undefined",
                ErrorKind::Reported => "reported",
                ErrorKind::VgicMisuse => "vgic-misuse",
                ErrorKind::Watchdog => "watchdog",
                ErrorKind::PortOverflow => "port-overflow",
                ErrorKind::RestartLimit => "restart-limit",
            }
        }

        /// Decodes a number.
        pub const fn from_number(number: u32) -> Option<ErrorKind> {
            if (number as usize) < ERROR_KINDS { Some(ErrorKind::ALL[number as usize]) } else { None }
        }

        /// Whether the partition can go on after this error (so `log` is a
        /// valid action for it): only for errors that do not stop an
        /// instruction.
        pub const fn can_continue(self) -> bool {
            matches!(self, ErrorKind::Watchdog | ErrorKind::PortOverflow)
        }
    }

    /// What the health monitor does about an error.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[repr(u8)]
    pub enum HealthAction {
        /// Record it; the partition goes on.
        Log = 0,
        /// Warm restart: `.data` and `.bss` restored, private regions cleared
        /// except those marked `noinit`, resumed at its entry in its next
        /// window.
        Restart = 1,
        /// Cold restart: as `restart`, and `noinit` regions and the whole data
        /// region (stacks included) are cleared too.
        RestartCold = 2,
        /// Never scheduled again (unless the monitor restarts it).
        Halt = 3,
        /// Suspended (its windows idle, its state kept) and the monitor told;
        /// the monitor restarts, halts or resumes it.
        Monitor = 4,
    }

    impl HealthAction {
        /// All actions, in number order.
        pub const ALL: [HealthAction; 5] = [
            HealthAction::Log,
            HealthAction::Restart,
            HealthAction::RestartCold,
            HealthAction::Halt,
            HealthAction::Monitor,
        ];

        /// Decodes a number (the log's action byte).
        pub const fn from_number(number: u32) -> Option<HealthAction> {
            if (number as usize) < Self::ALL.len() { Some(Self::ALL[number as usize]) } else { None }
        }

        /// The action's name as written in the description and the log.
        pub const fn name(self) -> &'static str {
            match self {
                HealthAction::Log => "log",
                HealthAction::Restart => "restart",
                HealthAction::RestartCold => "restart-cold",
                HealthAction::Halt => "halt",
                HealthAction::Monitor => "monitor",
            }
        }
    }

    /// What [`super::Call::PartitionControl`] does to its target.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[repr(u32)]
    pub enum ControlOp {
        /// Warm restart (as the `restart` action).
        Restart = 0,
        /// Cold restart (as the `restart-cold` action).
        RestartCold = 1,
        /// Halt.
        Halt = 2,
        /// Resume a partition the `monitor` action suspended, where it
        /// stopped.
        Resume = 3,
    }

    impl ControlOp {
        /// All operations, in number order.
        pub const ALL: [ControlOp; 4] =
            [ControlOp::Restart, ControlOp::RestartCold, ControlOp::Halt, ControlOp::Resume];

        /// Decodes `r2` of `PartitionControl`.
        pub const fn from_number(number: u32) -> Option<ControlOp> {
            if (number as usize) < Self::ALL.len() { Some(Self::ALL[number as usize]) } else { None }
        }

        /// The operation's name, as the kernel logs it.
        pub const fn name(self) -> &'static str {
            match self {
                ControlOp::Restart => "restart",
                ControlOp::RestartCold => "restart-cold",
                ControlOp::Halt => "halt",
                ControlOp::Resume => "resume",
            }
        }
    }

    /// One error, as the log holds it and the `HealthLog` hypercall copies it
    /// out (eight little-endian words, see [`LogEntry::to_words`]).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct LogEntry {
        /// Its number in its core's log, from 1.
        pub number: u32,
        /// The core whose kernel logged it.
        pub core: u8,
        /// The partition it is about.
        pub partition: u8,
        /// What went wrong ([`ErrorKind`] as a number, [`ErrorKind::from_number`]).
        pub kind: u8,
        /// What was done ([`HealthAction`] as a number, [`HealthAction::from_number`]).
        pub action: u8,
        /// Kind-specific: the faulting address, the channel, the exit code.
        pub detail: u32,
        /// Kind-specific: the partition's PC, the syndrome.
        pub detail2: u32,
        /// System time (counter ticks since the epoch) when it was logged.
        pub time: u64,
    }

    /// Words of one entry.
    pub const LOG_ENTRY_WORDS: usize = 8;

    impl LogEntry {
        /// The entry as the ABI lays it out: `number`, `core | partition << 8
        /// | kind << 16 | action << 24`, `detail`, `detail2`, `time` low,
        /// `time` high, two reserved zero words.
        pub const fn to_words(&self) -> [u32; LOG_ENTRY_WORDS] {
            [
                self.number,
                self.core as u32 | (self.partition as u32) << 8 | (self.kind as u32) << 16 | (self.action as u32) << 24,
                self.detail,
                self.detail2,
                self.time as u32,
                (self.time >> 32) as u32,
                0,
                0,
            ]
        }

        /// The inverse of [`LogEntry::to_words`].
        pub const fn from_words(words: &[u32; LOG_ENTRY_WORDS]) -> LogEntry {
            LogEntry {
                number: words[0],
                core: words[1] as u8,
                partition: (words[1] >> 8) as u8,
                kind: (words[1] >> 16) as u8,
                action: (words[1] >> 24) as u8,
                detail: words[2],
                detail2: words[3],
                time: words[4] as u64 | (words[5] as u64) << 32,
            }
        }
    }

    /// Bytes of one error-log entry as `HealthLog` copies it
    /// ([`LogEntry::to_words`]).
    pub const LOG_ENTRY_BYTES: u32 = 4 * LOG_ENTRY_WORDS as u32;
}

/// The registers a partition finds at its entry point.
///
/// The kernel enters a partition in SVC mode, A32 state, with IRQ, FIQ and
/// asynchronous aborts masked, its EL1 MPU and caches off (SCTLR at its reset
/// value), `sp` at the top of its data region, and:
pub mod entry {
    /// `r0`: the partition id.
    pub const REG_PARTITION_ID: usize = 0;
    /// `r1`: how many times the kernel has restarted this partition (0 at boot).
    pub const REG_RESTART_COUNT: usize = 1;
    /// `r2`: [`super::ABI_VERSION`].
    pub const REG_ABI_VERSION: usize = 2;

    /// The registers above with a snake_case name and their meaning, for
    /// generated bindings.
    pub const REGISTERS: [(usize, &str, &str); 3] = [
        (REG_PARTITION_ID, "partition_id", "the partition id"),
        (REG_RESTART_COUNT, "restart_count", "how many times the kernel has restarted this partition (0 at boot)"),
        (REG_ABI_VERSION, "abi_version", "the ABI version"),
    ];
}

/// Version of this ABI, passed in `r2` at entry.
/// 2: channels (`SystemTime`, `QueueAck`, `PortNotify`, `Error::Denied`).
/// 3: the health monitor (`WatchdogKick`, `HealthReport`, `HealthLog`,
/// `PartitionControl`; `SystemEpoch`, `CNTPCT` readable at EL1).
pub const ABI_VERSION: u32 = 3;

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;

    /// Every number below this is tried when checking that a list of all
    /// values misses none; the ABI's numbers are small.
    const PROBE: u32 = 256;

    #[test]
    fn call_numbers_round_trip() {
        for call in Call::ALL {
            assert_eq!(Call::from_number(call as u32), Some(call));
        }
        assert_eq!(Call::from_number(Call::ALL.len() as u32), None);
        assert_eq!(Call::from_number(u32::MAX), None);
    }

    #[test]
    fn every_decodable_value_is_listed_in_all() {
        let calls = (0..PROBE).filter_map(Call::from_number).count();
        let errors = (0..PROBE).filter_map(Error::from_status).count();
        let kinds = (0..PROBE).filter_map(El1Exception::from_number).count();
        assert_eq!(calls, Call::ALL.len(), "a call decodes from r0 but is missing from Call::ALL");
        assert_eq!(errors, Error::ALL.len(), "an error decodes but is missing from Error::ALL");
        assert_eq!(kinds, El1Exception::ALL.len(), "a kind decodes but is missing from El1Exception::ALL");
        for (index, call) in Call::ALL.iter().enumerate() {
            assert_eq!(*call as usize, index, "Call::ALL is in number order");
        }
    }

    #[test]
    fn error_codes_round_trip_and_never_collide_with_ok() {
        for error in Error::ALL {
            assert_ne!(error as u32, OK);
            assert_eq!(Error::from_status(error as u32), Some(error));
            assert!(!error.meaning().is_empty());
        }
        assert_eq!(Error::from_status(OK), None);
    }

    #[test]
    fn exception_kinds_round_trip() {
        for kind in El1Exception::ALL {
            assert_eq!(El1Exception::from_number(kind as u32), Some(kind));
            assert!(!kind.meaning().is_empty());
        }
        assert_eq!(El1Exception::from_number(0), None);
    }

    fn is_snake_case(name: &str) -> bool {
        name.starts_with(|c: char| c.is_ascii_lowercase())
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }

    fn check_operands(call: Call, what: &str, operands: &[Operand]) {
        for (index, operand) in operands.iter().enumerate() {
            assert_eq!(operand.register as usize, index + 1, "{call:?} {what}: registers r1, r2, r3 in order");
            assert!(is_snake_case(operand.name), "{call:?} {what}: `{}` is not snake_case", operand.name);
            assert!(!operand.meaning.is_empty(), "{call:?} {what}: `{}` has no meaning", operand.name);
        }
        assert!(operands.len() <= 3, "{call:?} {what}: only r1..r3 carry them");
    }

    #[test]
    fn every_call_is_described_for_bindings() {
        for call in Call::ALL {
            let signature = call.signature();
            assert!(!signature.summary.is_empty(), "{call:?} has no summary");
            check_operands(call, "arguments", signature.arguments);
            check_operands(call, "results", signature.results);
            assert!(signature.returns || signature.results.is_empty(), "{call:?} does not return but has results");
            let names: Vec<&str> = signature.arguments.iter().chain(signature.results).map(|o| o.name).collect();
            for (index, name) in names.iter().enumerate() {
                assert!(!names[..index].contains(name), "{call:?}: `{name}` names two operands");
            }
            for (index, operand) in signature.arguments.iter().enumerate() {
                if operand.kind == OperandKind::ReadBuffer {
                    let length = signature.arguments.get(index + 1);
                    assert!(
                        length.is_some_and(|l| l.kind == OperandKind::Word),
                        "{call:?}: buffer `{}` must be followed by its length",
                        operand.name
                    );
                }
            }
        }
    }

    #[test]
    fn entry_registers_are_described_once_each() {
        for (index, (register, name, meaning)) in entry::REGISTERS.iter().enumerate() {
            assert!(is_snake_case(name) && !meaning.is_empty());
            assert!(entry::REGISTERS[..index].iter().all(|(r, n, _)| r != register && n != name));
        }
        let described = |register| entry::REGISTERS.iter().any(|(r, _, _)| *r == register);
        assert!(described(entry::REG_PARTITION_ID));
        assert!(described(entry::REG_RESTART_COUNT));
        assert!(described(entry::REG_ABI_VERSION));
    }
}
