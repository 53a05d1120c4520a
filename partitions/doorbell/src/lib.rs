//! Doorbells between the island and another processor: one bit per
//! direction, behind one small trait.
//!
//! A VIRTIO link needs nothing more than "look at the rings now" in each
//! direction; what changed is in shared memory. [`Doorbell::ring`] tells the
//! other side; [`Doorbell::take`] says whether the other side rang since the
//! last call and clears the hardware's indication, so that the interrupt
//! drops. The interrupt itself reaches the owning partition as its virtual
//! interrupt; drivers here never touch the GIC.
//!
//! Drivers:
//! - [`uart::UartDoorbell`]: one byte per ring over a CMSDK APB UART, both
//!   directions (the simulation stand-in: QEMU connects the UART to a UNIX
//!   socket whose other end is the host-side driver);
//! - [`mru::MruDoorbell`]: NXP S32Z/S32E Message Receiving Unit;
//! - [`mhuv2::Mhuv2Doorbell`]: Arm MHUv2 doorbell channel.
//!
//! The MRU and MHUv2 drivers follow the register layouts published for the
//! parts (offsets in their modules) and are tested against a register file;
//! they have not run on hardware yet.

#![cfg_attr(not(test), no_std)]

pub mod mhuv2;
mod mmio;
#[cfg(test)]
mod model;
pub mod mru;
pub mod uart;

pub use mmio::{RegisterAccess, Registers};

/// One doorbell in each direction.
///
/// No ring is ever lost: every ring of the other side is followed by a
/// [`Doorbell::take`] that returns `true` and whose last register access
/// comes after the ring, provided `take` is called whenever the interrupt
/// is raised. (The caller looks at the rings after `take` returns, so such
/// a `take` covers the ring.) Each driver's tests check this against a
/// model of its device that lets the other side ring between any two
/// register accesses.
pub trait Doorbell {
    /// Rings the other side.
    fn ring(&mut self);
    /// Whether the other side rang since the last call; clears the
    /// indication (and with it the interrupt).
    fn take(&mut self) -> bool;
}

/// Polls before giving up on hardware that should answer at once (a full
/// transmit register, an access handshake). A doorbell never blocks for
/// long: a ring that cannot be sent is dropped, and the other side looks at
/// the rings on its next doorbell anyway.
pub const MAX_POLLS: u32 = 10_000;
