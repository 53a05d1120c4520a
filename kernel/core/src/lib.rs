//! Kernel logic with no hardware in it, so it builds and is tested on the host.
//!
//! The EL2 kernel (`kernel/`) is a thin layer of register access and exception
//! entry around this crate. Everything that can be decided with arithmetic lives
//! here: the shape of the generated tables, where each window starts, how a
//! partition's virtual time advances, whether a hypercall's pointer is the
//! caller's to use, what an exception syndrome means, and how the kernel's log
//! lines are spelled.
//!
//! This crate must never touch a register or contain `unsafe`: if it needs the
//! hardware, it belongs in the kernel's `arch` module.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod access;
pub mod board_check;
pub mod console;
pub mod fmt;
pub mod health;
pub mod line;
pub mod log;
pub mod registers;
pub mod restore;
pub mod schedule;
pub mod syndrome;
pub mod tables;
pub mod vgic;
pub mod vtime;
