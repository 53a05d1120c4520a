//! Drivers for the NXP S32Z2/S32E2 real-time units (Cortex-R52 clusters)
//! that Bulkhead's kernel or partitions use.
//!
//! - [`linflexd`]: the LINFlexD UART. [`linflexd::LinflexdConsole`] serves
//!   the kernel console (the board's `console_driver = "nxp-linflexd"`);
//!   [`linflexd::Linflexd`] implements `embedded_io::Write` for partitions
//!   given a LINFlexD instance.
//!
//! Every driver reaches registers through [`bulkhead_console::Registers`],
//! and its host tests run it on a model of the device that checks the
//! programming sequence of the reference manual (S32Z2 RM, LINFlexD
//! chapter; the same sequence NXP's Arm Trusted Firmware port uses on
//! S32G). Nothing here has run on silicon yet (docs/porting-a-board.md).
//!
//! This crate must never own chip-wide resources (clocks, resets, pin
//! multiplexing): those are the board's start-up, before the kernel.

#![no_std]

pub mod linflexd;
