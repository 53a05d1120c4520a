//! The VIRTIO device side of an AMP link, for a partition that talks to a
//! less trusted processor (a Cortex-A running Linux) over shared memory.
//!
//! - [`window`]: bounded, read-once access to the shared window;
//! - [`vring`]: split virtqueues, device side, hardened against a hostile
//!   driver;
//! - [`resource_table`]: the remoteproc resource table with one rpmsg vdev;
//! - [`rpmsg`]: message and name-service layouts;
//! - [`device`]: the rpmsg device: handshake, queues, send and receive.
//!
//! Plain `no_std`, no allocation, no `unsafe` outside [`window::MmioWindow`]:
//! everything runs and is tested on the host. The byte layouts and the rules
//! are in `docs/virtio-link.md`.

#![cfg_attr(not(test), no_std)]

pub mod device;
pub mod resource_table;
pub mod rpmsg;
pub mod vring;
pub mod window;
