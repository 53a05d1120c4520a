//! Armv8-R AArch32 at EL2: every register access and every line of assembly.
//!
//! The rest of the kernel is written against this module's small functions
//! and never names a coprocessor register itself. Each submodule says what
//! hardware it owns. The split follows Bao's arch/platform/core layering:
//! this is the arch part; board facts arrive through the generated tables.

pub mod context;
pub mod cpu;
pub mod entry;
pub mod gic;
pub mod mpu;
pub mod semihosting;
pub mod timer;
pub mod traps;
pub mod vgic;
