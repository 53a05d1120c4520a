//! The partition SDK: everything a Rust partition needs from Bulkhead.
//!
//! A partition is an ordinary `aarch32-rt` program (`#[entry] fn main() -> !`)
//! linked at the place its system description gives it. This crate adds:
//!
//! - [`hypercall`]: safe wrappers for every call of the ABI ([`bulkhead_abi`]);
//! - [`console`]: `print!`/`println!` over the console hypercall;
//! - [`layout`]: this partition's regions and devices, and the whole system
//!   map (for test partitions that probe isolation), generated at build time;
//! - [`port`]: this partition's ends of its channels (sampling and queuing
//!   ports);
//! - [`gic`] (feature `gic`): the interrupt controller as any Cortex-R52
//!   guest drives it, through `arm-gic`; the kernel emulates the distributor
//!   and redistributor and virtualizes the CPU interface;
//! - fault reporting: aarch32-rt's undefined-instruction and abort handlers,
//!   and a panic handler, that hand the exception to the kernel so the
//!   partition's fault policy applies (features `fault-reporting`,
//!   `panic-handler`).
//!
//! It owns no hardware: all it does is issue `hvc #0` and read and write
//! its channels' windows.

#![no_std]
#![deny(unsafe_code)]

pub mod console;
pub mod hypercall;
pub mod layout;
pub mod port;

#[cfg(feature = "fault-reporting")]
mod fault;

#[cfg(feature = "gic")]
pub mod gic;

pub use aarch32_rt::entry;
pub use bulkhead_abi as abi;
