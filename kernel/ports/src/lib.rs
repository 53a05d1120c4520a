//! Inter-partition ports: the layout of a channel's memory window and the
//! lock-free, single-writer protocols over it.
//!
//! This crate owns what a channel's writer, its readers, the kernel (for
//! `QueueAck`) and the generator (for window sizes) must agree on. It runs on
//! the host and on the target, holds no `unsafe` except the one memory
//! accessor a caller hands it, and never blocks: every operation is a
//! bounded number of loads and stores.
//!
//! - [`layout`]: offsets and sizes.

#![no_std]

pub mod layout;
