//! Bulkhead: a static separation kernel for the Cortex-R52 at EL2.
//!
//! The kernel runs at EL2 (Hyp mode). Partitions run at EL1, each fenced by
//! the EL2 MPU to its own memory and devices, each given fixed windows of a
//! cyclic schedule enforced by the hyp timer. Everything is decided at build
//! time by `bulkhead-sysgen`; this binary only carries it out.
//!
//! Map of the source: `arch` (registers and assembly), `console` (the
//! console device, through the board's driver: `bulkhead_console::Console`,
//! chosen in the tables), `kernel` (state and decisions), `partition_memory`
//! (the only code that touches partition memory), `boot_params` (optional
//! run limits from a debugger or simulator), `channels` (the kernel's part
//! of inter-partition ports), `health` (the health monitor's
//! state the cores share), `smp` (how the cores start and
//! stop together), `panic` (stopping), `tables` (generated). Host-testable logic lives in `bulkhead-kernel-core`.

#![no_std]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks)]

use aarch32_rt as _;

mod arch;
mod boot_params;
mod channels;
mod console;
mod health;
mod kernel;
mod panic;
mod partition_memory;
mod smp;
mod tables;

/// Called by aarch32-rt's reset code on core 0, at EL2, with `.data` and
/// `.bss` initialised and the Hyp stack set.
#[unsafe(no_mangle)]
pub extern "C" fn kmain() -> ! {
    kernel::boot()
}

/// Called by aarch32-rt's reset code on every other core, at EL2, once
/// core 0 released it (`smp`), with its own Hyp stack set; `core` is its
/// number (`MPIDR.Aff0`).
#[unsafe(no_mangle)]
pub extern "C" fn kmain_secondary(core: u32) -> ! {
    kernel::boot_secondary(core as usize)
}
