//! The crate's tests: unit tests of each side and each error, exhaustive
//! interleaving checks ([`explore`]), and properties under random and
//! malicious windows.
//!
//! Every window here asserts that each access the protocols make is inside
//! it (and aligned, for words): an out-of-window offset fails the test, on
//! honest and garbage contents alike.

#![allow(clippy::indexing_slicing, clippy::panic, clippy::unwrap_used, clippy::expect_used, clippy::unreachable)]

mod explore;
mod interleave_queuing;
mod interleave_sampling;
mod props;
mod queuing;
#[allow(unsafe_code)] // RawWindow over real memory.
mod raw;
mod sampling;

use core::cell::RefCell;
use std::vec::Vec;

use crate::window::{Window, span_ok};

/// One access made through a [`ModelWindow`], in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `load(offset)`.
    Load(u32),
    /// `store(offset, value)`.
    Store(u32, u32),
    /// `read_bytes(offset, len)`.
    Read(u32, u32),
    /// `write_bytes(offset, len)`.
    Write(u32, u32),
    /// `fence()`.
    Fence,
}

impl Op {
    /// Whether the access changes the window.
    pub fn stores(&self) -> bool {
        matches!(self, Op::Store(..) | Op::Write(..))
    }
}

/// A window over a vector of bytes that logs every access and panics on
/// one outside the window or misaligned.
pub struct ModelWindow {
    memory: RefCell<Vec<u8>>,
    log: RefCell<Vec<Op>>,
}

impl ModelWindow {
    /// A zeroed window of `size` bytes.
    pub fn new(size: u32) -> ModelWindow {
        ModelWindow::from_bytes(std::vec![0; size as usize])
    }

    /// A window holding `bytes`.
    pub fn from_bytes(bytes: Vec<u8>) -> ModelWindow {
        ModelWindow { memory: RefCell::new(bytes), log: RefCell::new(Vec::new()) }
    }

    /// The word at `offset`, not logged.
    pub fn word(&self, offset: u32) -> u32 {
        let memory = self.memory.borrow();
        let at = offset as usize;
        u32::from_le_bytes(memory[at..at + 4].try_into().unwrap())
    }

    /// Sets the word at `offset` (a peer's store), not logged.
    pub fn set_word(&self, offset: u32, value: u32) {
        let at = offset as usize;
        self.memory.borrow_mut()[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// A copy of the window's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.memory.borrow().clone()
    }

    /// The accesses since the last call.
    pub fn take_log(&self) -> Vec<Op> {
        core::mem::take(&mut *self.log.borrow_mut())
    }

    fn check(&self, offset: u32, len: usize, align: u32) -> usize {
        let size = self.size();
        let len = u32::try_from(len).expect("length fits u32");
        assert!(
            span_ok(size, offset, len, align),
            "access of {len} bytes at {offset:#x} (alignment {align}) outside a window of {size:#x} bytes"
        );
        offset as usize
    }
}

impl Window for ModelWindow {
    fn size(&self) -> u32 {
        u32::try_from(self.memory.borrow().len()).unwrap()
    }

    fn load(&self, offset: u32) -> u32 {
        self.check(offset, 4, 4);
        self.log.borrow_mut().push(Op::Load(offset));
        self.word(offset)
    }

    fn store(&self, offset: u32, value: u32) {
        self.check(offset, 4, 4);
        self.log.borrow_mut().push(Op::Store(offset, value));
        self.set_word(offset, value);
    }

    fn read_bytes(&self, offset: u32, out: &mut [u8]) {
        let at = self.check(offset, out.len(), 1);
        self.log.borrow_mut().push(Op::Read(offset, out.len() as u32));
        out.copy_from_slice(&self.memory.borrow()[at..at + out.len()]);
    }

    fn write_bytes(&self, offset: u32, bytes: &[u8]) {
        let at = self.check(offset, bytes.len(), 1);
        self.log.borrow_mut().push(Op::Write(offset, bytes.len() as u32));
        self.memory.borrow_mut()[at..at + bytes.len()].copy_from_slice(bytes);
    }

    fn fence(&self) {
        self.log.borrow_mut().push(Op::Fence);
    }
}
