//! Inter-partition ports: the layout of a channel's memory window and the
//! lock-free, single-writer protocols over it.
//!
//! This crate owns what a channel's writer, its readers, the kernel (for
//! `QueueAck`) and the generator (for window sizes) must agree on. It runs on
//! the host and on the target, allocates nothing, and never blocks: every
//! operation is a bounded number of loads and stores, whatever a peer has
//! written into the window, and none can panic on it or reach outside the
//! window.
//!
//! - [`layout`]: offsets and sizes (fixed: the kernel, the generator and
//!   the SDK depend on them).
//! - [`window`]: [`Window`], the only way the protocols touch a window.
//! - [`raw`]: [`RawWindow`], a window at an address (volatile accesses,
//!   `dmb ish` fences): the crate's only `unsafe` code.
//! - [`sampling`]: the latest value, one writer, many readers (a sequence
//!   lock over two slots).
//! - [`queuing`]: a FIFO per reader, the writer never blocked, readers'
//!   acknowledgements stored by the kernel.
//!
//! ## Who may store what
//!
//! The writer partition maps its channel's window read/write, each reader
//! read-only (the EL2 MPU enforces it), so a reader never stores to the
//! window; the one word a queuing reader must change, its `consumed` count,
//! the kernel stores for it in [`queuing::ack`]. Everything else in the
//! window is the writer's, which is also why nothing read from it is
//! trusted: each offset derived from it is checked first.
//!
//! ## Memory ordering
//!
//! Writer and readers may run on different cores of a Cortex-R52 cluster;
//! windows are shareable Normal memory (uncached on the R52). The protocols
//! are proven safe in this crate's tests by exhaustive enumeration of every
//! interleaving of the sides' single word accesses on a sequentially
//! consistent model, for small geometries. The step from that model to the
//! hardware is argued, not tested: each point where the protocol needs an
//! order between two accesses has a [`Window::fence`] (`dmb ish` on the
//! target), and a `dmb ish` between two accesses makes every core of the
//! inner shareable domain observe them in program order, which is all the
//! model assumes. Each module lists its fences and what each pairs with.

#![no_std]
#![deny(unsafe_code)]
#![deny(clippy::indexing_slicing, clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::unreachable)]

#[cfg(test)]
extern crate std;

pub mod layout;
pub mod queuing;
#[allow(unsafe_code)]
pub mod raw;
pub mod sampling;
pub mod window;

pub use raw::RawWindow;
pub use window::Window;

#[cfg(test)]
mod tests;
