//! The Arm CMSDK APB UART's registers (Cortex-M System Design Kit, DDI0479):
//! the UARTs of the MPS3 boards and of QEMU's `mps3-an536`.
//!
//! The register map, which the doorbell stand-in and demo partitions drive
//! their own ways, and [`console::CmsdkConsole`], the kernel console driver
//! a board chooses with `console_driver = "cmsdk-uart"`.

#![no_std]

/// Data: write to send, read to receive.
pub const DATA: usize = 0x00;
/// State.
pub const STATE: usize = 0x04;
/// Control.
pub const CTRL: usize = 0x08;
/// Interrupt status; write 1 to clear.
pub const INTSTATUS: usize = 0x0C;
/// Baud divider (at least 16).
pub const BAUDDIV: usize = 0x10;

/// `STATE`: the transmit buffer is full.
pub const STATE_TX_FULL: u32 = 1 << 0;
/// `STATE`: the receive buffer holds a byte.
pub const STATE_RX_FULL: u32 = 1 << 1;
/// `CTRL`: transmitter on.
pub const CTRL_TX_ENABLE: u32 = 1 << 0;
/// `CTRL`: receiver on.
pub const CTRL_RX_ENABLE: u32 = 1 << 1;
/// `CTRL`: interrupt on received bytes.
pub const CTRL_RX_INTERRUPT: u32 = 1 << 3;
/// `CTRL`: transmit interrupt enable.
pub const CTRL_TX_INTERRUPT: u32 = 1 << 2;
/// `INTSTATUS`/`INTCLEAR`: transmit interrupt.
pub const INT_TX: u32 = 1 << 0;
/// `INTSTATUS`: the receive interrupt.
pub const INT_RX: u32 = 1 << 1;
/// The smallest valid `BAUDDIV`.
pub const MIN_BAUDDIV: u32 = 16;

pub mod console;
