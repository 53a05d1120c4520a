//! Armv8-R AArch32 at EL2: every register access and every line of assembly.
//!
//! The rest of the kernel is written against this module's small functions
//! and never names a coprocessor register itself. Each submodule says what
//! hardware it owns. The split follows Bao's arch/platform/core layering:
//! this is the arch part; board facts arrive through the generated tables.

/// Declares a 32-bit CP15 register aarch32-cpu 0.4 does not provide:
/// `cp15_register!(/// doc, Name, crn, op1, crm, op2, read, write)` for
/// `mrc`/`mcr p15, op1, Rt, crn, crm, op2`, with the accessors named last.
macro_rules! cp15_register {
    ($(#[$doc:meta])* $name:ident, $crn:literal, $op1:literal, $crm:literal, $op2:literal $(, $access:ident)+) => {
        $(#[$doc])*
        struct $name;
        impl aarch32_cpu::register::SysReg for $name {
            const CP: u32 = 15;
            const CRN: u32 = $crn;
            const OP1: u32 = $op1;
            const CRM: u32 = $crm;
            const OP2: u32 = $op2;
        }
        $( cp15_register!(@$access $name); )+
    };
    (@read $name:ident) => {
        impl aarch32_cpu::register::SysRegRead for $name {}
    };
    (@write $name:ident) => {
        impl aarch32_cpu::register::SysRegWrite for $name {}
    };
}

pub mod cache;
pub mod context;
pub mod cpu;
pub mod entry;
pub mod gic;
pub mod guest_registers;
pub mod mpu;
pub mod semihosting;
pub mod timer;
pub mod traps;
pub mod vgic;
