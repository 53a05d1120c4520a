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
}

impl Call {
    /// All calls, in number order.
    pub const ALL: [Call; 6] =
        [Call::Yield, Call::PartitionTime, Call::PartitionId, Call::ConsoleWrite, Call::StopSelf, Call::ReportFault];

    /// Decodes a call number from `r0`.
    pub const fn from_number(number: u32) -> Option<Call> {
        Some(match number {
            0 => Call::Yield,
            1 => Call::PartitionTime,
            2 => Call::PartitionId,
            3 => Call::ConsoleWrite,
            4 => Call::StopSelf,
            5 => Call::ReportFault,
            _ => return None,
        })
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
}

impl Error {
    /// Decodes an `r0` value; `None` for [`OK`] or unknown values.
    pub const fn from_status(status: Status) -> Option<Error> {
        Some(match status {
            1 => Error::UnknownCall,
            2 => Error::BadAddress,
            3 => Error::TooLong,
            4 => Error::BadArgument,
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
}

/// Version of this ABI, passed in `r2` at entry.
pub const ABI_VERSION: u32 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_numbers_round_trip() {
        for call in Call::ALL {
            assert_eq!(Call::from_number(call as u32), Some(call));
        }
        assert_eq!(Call::from_number(Call::ALL.len() as u32), None);
        assert_eq!(Call::from_number(u32::MAX), None);
    }

    #[test]
    fn error_codes_round_trip_and_never_collide_with_ok() {
        for error in [Error::UnknownCall, Error::BadAddress, Error::TooLong, Error::BadArgument] {
            assert_ne!(error as u32, OK);
            assert_eq!(Error::from_status(error as u32), Some(error));
        }
        assert_eq!(Error::from_status(OK), None);
    }

    #[test]
    fn exception_kinds_round_trip() {
        for kind in [
            El1Exception::Undefined,
            El1Exception::PrefetchAbort,
            El1Exception::DataAbort,
            El1Exception::Unexpected,
            El1Exception::Panic,
        ] {
            assert_eq!(El1Exception::from_number(kind as u32), Some(kind));
        }
        assert_eq!(El1Exception::from_number(0), None);
    }
}
