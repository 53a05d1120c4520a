//! The health monitor's state the cores share: their error logs, the
//! monitor's requests to other cores, and the monitor's wake-ups.
//!
//! Decisions (which action an error gets, the restart limit, the
//! watchdog) are `bulkhead_kernel_core::health`'s; applying them is
//! `kernel`'s. This module owns only what crosses cores, and it must never
//! wait for another core or take a lock:
//!
//! - [`log`]: each core's [`ErrorLog`], written by that core's kernel
//!   only and read by the monitor's (a sequence lock per entry, see
//!   `bulkhead_kernel_core::health`). It lives in kernel RAM, so it
//!   outlives every partition restart.
//! - [`request`] / [`take_requests`]: one byte per partition, the last
//!   [`ControlOp`] the monitor asked for it (plus one; 0 is none), and a
//!   flag per core announcing one. The monitor's core stores both and rings
//!   the target's core, whose kernel swaps them back to zero and applies
//!   the request: a request is applied once, and a
//!   newer request before that replaces an older one (the monitor's last
//!   word wins).
//! - [`post_monitor`] / [`take_monitor`]: a flag per core, "a partition's
//!   action was `monitor`": set by the core that suspended it, taken by the
//!   monitor's core, which raises the monitor's notify interrupt.

use crate::tables::{CORE_COUNT, PARTITION_COUNT};
use bulkhead_abi::health::ControlOp;
use bulkhead_kernel_core::health::ErrorLog;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

static LOGS: [ErrorLog; CORE_COUNT] = [const { ErrorLog::new() }; CORE_COUNT];

static REQUESTS: [AtomicU8; PARTITION_COUNT] = [const { AtomicU8::new(0) }; PARTITION_COUNT];

static MONITOR_POSTED: [AtomicBool; CORE_COUNT] = [const { AtomicBool::new(false) }; CORE_COUNT];

/// Per core: some request for one of its partitions waits (so a ring
/// without one, a channel's notify above all, scans nothing).
static REQUESTS_POSTED: [AtomicBool; CORE_COUNT] = [const { AtomicBool::new(false) }; CORE_COUNT];

/// Core `core`'s error log (only that core's kernel may push to it).
pub fn log(core: usize) -> Option<&'static ErrorLog> {
    LOGS.get(core)
}

/// Asks for `op` on partition `target`, which runs on core `core` (another
/// core, which the caller then rings). Returns `false` for an unknown
/// partition or core.
pub fn request(core: usize, target: usize, op: ControlOp) -> bool {
    let (Some(slot), Some(posted)) = (REQUESTS.get(target), REQUESTS_POSTED.get(core)) else { return false };
    // Release: whatever the monitor did before asking is visible to the
    // core that applies it; the request before the flag that announces it.
    slot.store(op as u8 + 1, Ordering::Release);
    posted.store(true, Ordering::Release);
    true
}

/// Takes the requests for partitions `first..first + count` (core
/// `core`'s), calling `each` with the partition id and the operation.
pub fn take_requests(core: usize, first: usize, count: usize, mut each: impl FnMut(usize, ControlOp)) {
    // Acquire: the requests stored before the flag are seen below. A
    // request stored after the swap sets the flag again and rings again.
    // A plain load first: a ring almost never carries a request.
    if !REQUESTS_POSTED
        .get(core)
        .is_some_and(|posted| posted.load(Ordering::Relaxed) && posted.swap(false, Ordering::Acquire))
    {
        return;
    }
    for (index, slot) in REQUESTS.iter().enumerate().skip(first).take(count) {
        let value = slot.swap(0, Ordering::Acquire);
        if let Some(op) = value.checked_sub(1).and_then(|op| ControlOp::from_number(op as u32)) {
            each(index, op);
        }
    }
}

/// Tells the monitor's core `core` a partition waits for the monitor.
/// Returns `false` if a post was already waiting (no ring needed).
pub fn post_monitor(core: usize) -> bool {
    MONITOR_POSTED.get(core).is_some_and(|flag| !flag.swap(true, Ordering::Release))
}

/// Whether a post for the monitor waited on core `core` (cleared).
pub fn take_monitor(core: usize) -> bool {
    MONITOR_POSTED.get(core).is_some_and(|flag| flag.load(Ordering::Relaxed) && flag.swap(false, Ordering::Acquire))
}
