//! An exhaustive interleaving checker for the real protocol code.
//!
//! Each "thread" (writer, reader, the kernel's `ack` in the reader's
//! thread) runs a script of operations, each a call of the crate's own
//! functions on a [`Probe`] window. Every access is one step: each
//! `load`, each `store`, and each 4-byte word of `read_bytes` and
//! `write_bytes` (the last one shorter). Fences are not steps: the model is
//! sequentially consistent, and on the target the fences are what makes it
//! so (argued in the modules' docs).
//!
//! ## How a thread is stepped
//!
//! The operations are ordinary functions, so to find a thread's next access
//! the checker re-runs its current operation from the start on a `Probe`
//! that replays the results of the accesses it has already made (in
//! order) and records the first new one. After that the probe answers 0
//! and ignores stores, and the operation runs to its end on those: safe,
//! since the protocols are bounded and panic-free whatever the window
//! holds (which the property tests check). An operation that makes no new
//! access has finished, with the result the run returned. Operations are
//! deterministic in the values they load, so this replays exactly.
//!
//! ## Exploring
//!
//! A depth-first search takes, in every state, each thread that has a next
//! access, applies that access to the memory and goes on; a state where no
//! thread has one is the end of one interleaving. A state is the memory,
//! each thread's position and replay log, and the model's ghost
//! (observations for its checks), which together fix everything that can
//! happen next, so a state reached again by another order is not explored
//! again: its number of complete interleavings is remembered and added.
//! The count reported is that of *all* interleavings (the number of
//! distinct paths from the start to an end), every one of which was
//! checked, each distinct state once. [`explore_without_memo`] walks every
//! path itself, to check on small cases that both count the same.
//!
//! The model's checks run at each end of an operation (with every thread's
//! position at that moment) and at each end of an interleaving; the first
//! failure stops the search and reports the interleaving that led to it.

use core::cell::Cell;
use core::fmt::Debug;
use core::hash::{BuildHasherDefault, Hash, Hasher};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::string::String;
use std::vec::Vec;

use crate::window::{Window, span_ok};

/// One step of a thread: one word access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// A `load` of the word at the offset.
    Load(u32),
    /// A `store` of the value at the offset.
    Store(u32, u32),
    /// One word (1 to 4 bytes) of a `read_bytes`.
    ReadChunk(u32, u8),
    /// One word (the first `len` bytes) of a `write_bytes`.
    WriteChunk(u32, [u8; 4], u8),
}

impl Access {
    /// Whether the step changes memory.
    pub fn stores(&self) -> bool {
        matches!(self, Access::Store(..) | Access::WriteChunk(..))
    }

    /// The bytes it touches.
    fn span(&self) -> (u32, u32, u32) {
        match *self {
            Access::Load(offset) | Access::Store(offset, _) => (offset, 4, 4),
            Access::ReadChunk(offset, len) | Access::WriteChunk(offset, _, len) => (offset, u32::from(len), 1),
        }
    }
}

/// Where a thread is: operations finished, and steps made in the current
/// one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Operations finished.
    pub op: u32,
    /// Steps made in the current operation.
    pub step: u32,
}

/// The window an operation runs on: replays the results of the steps
/// already made, records the next one.
pub struct Probe<'a> {
    replay: &'a [u32],
    size: u32,
    at: Cell<usize>,
    next: Cell<Option<Access>>,
}

impl<'a> Probe<'a> {
    fn new(replay: &'a [u32], size: u32) -> Probe<'a> {
        Probe { replay, size, at: Cell::new(0), next: Cell::new(None) }
    }

    fn step(&self, access: Access) -> u32 {
        let (offset, len, align) = access.span();
        assert!(
            span_ok(self.size, offset, len, align),
            "{access:?} outside a window of {:#x} bytes (or misaligned)",
            self.size
        );
        let at = self.at.get();
        self.at.set(at + 1);
        match self.replay.get(at) {
            Some(&result) => result,
            None => {
                if at == self.replay.len() {
                    self.next.set(Some(access));
                }
                0
            }
        }
    }
}

impl Window for Probe<'_> {
    fn size(&self) -> u32 {
        self.size
    }

    fn load(&self, offset: u32) -> u32 {
        self.step(Access::Load(offset))
    }

    fn store(&self, offset: u32, value: u32) {
        self.step(Access::Store(offset, value));
    }

    fn read_bytes(&self, offset: u32, out: &mut [u8]) {
        for (word, chunk) in out.chunks_mut(4).enumerate() {
            let value = self.step(Access::ReadChunk(offset + 4 * word as u32, chunk.len() as u8));
            chunk.copy_from_slice(&value.to_le_bytes()[..chunk.len()]);
        }
    }

    fn write_bytes(&self, offset: u32, bytes: &[u8]) {
        for (word, chunk) in bytes.chunks(4).enumerate() {
            let mut value = [0; 4];
            value[..chunk.len()].copy_from_slice(chunk);
            self.step(Access::WriteChunk(offset + 4 * word as u32, value, chunk.len() as u8));
        }
    }

    fn fence(&self) {}
}

/// A system of threads to check.
pub trait Model {
    /// What the checks need to remember (part of the state: keep it small).
    type Ghost: Clone + Eq + Hash + Debug;
    /// What one operation returns.
    type Outcome: Debug;

    /// How many threads.
    fn threads(&self) -> usize;

    /// Runs operation `op` of `thread` on `window`, or `None` if the thread
    /// has no more. Must depend only on `ghost`'s part that `finished`
    /// changes, `thread`, `op` and what it loads.
    fn run(&self, ghost: &Self::Ghost, thread: usize, op: u32, window: &Probe<'_>) -> Option<Self::Outcome>;

    /// `thread` is about to make the first step of an operation.
    fn started(&self, _ghost: &mut Self::Ghost, _thread: usize, _now: &[Position]) {}

    /// `thread` made `access`.
    fn accessed(&self, _ghost: &mut Self::Ghost, _thread: usize, _access: &Access) {}

    /// Operation `op` of `thread` returned `outcome`; `now` is every thread's
    /// position just after it (this thread's at the next operation).
    fn finished(
        &self,
        ghost: &mut Self::Ghost,
        thread: usize,
        op: u32,
        outcome: Self::Outcome,
        now: &[Position],
        memory: &[u8],
    ) -> Result<(), String>;

    /// Every thread is done.
    fn ended(&self, ghost: &Self::Ghost, memory: &[u8]) -> Result<(), String>;
}

/// What a search covered.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    /// Complete interleavings, all checked.
    pub interleavings: u128,
    /// Distinct states explored.
    pub states: usize,
    /// Steps taken (transitions explored).
    pub transitions: u64,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Thread {
    op: u32,
    replay: Vec<u32>,
    next: Option<Access>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct State<G> {
    memory: Vec<u8>,
    threads: Vec<Thread>,
    ghost: G,
}

impl<G> State<G> {
    fn positions(&self) -> Vec<Position> {
        self.threads.iter().map(|t| Position { op: t.op, step: t.replay.len() as u32 }).collect()
    }
}

struct Explorer<'m, M: Model> {
    model: &'m M,
    memo: Option<HashMap<State<M::Ghost>, u128, BuildHasherDefault<WordHash>>>,
    trace: Vec<(usize, Access)>,
    states: usize,
    transitions: u64,
}

/// Checks every interleaving of `model`'s threads from `memory`.
pub fn explore<M: Model>(model: &M, memory: Vec<u8>, ghost: M::Ghost) -> Result<Stats, String> {
    run(model, memory, ghost, true)
}

/// As [`explore`], walking every interleaving without remembering states.
pub fn explore_without_memo<M: Model>(model: &M, memory: Vec<u8>, ghost: M::Ghost) -> Result<Stats, String> {
    run(model, memory, ghost, false)
}

fn run<M: Model>(model: &M, memory: Vec<u8>, ghost: M::Ghost, memo: bool) -> Result<Stats, String> {
    let mut explorer =
        Explorer { model, memo: memo.then(HashMap::default), trace: Vec::new(), states: 0, transitions: 0 };
    let threads = (0..model.threads()).map(|_| Thread { op: 0, replay: Vec::new(), next: None }).collect();
    let mut state = State { memory, threads, ghost };
    for thread in 0..model.threads() {
        explorer.settle(&mut state, thread)?;
    }
    let interleavings = explorer.visit(state)?;
    Ok(Stats { interleavings, states: explorer.states, transitions: explorer.transitions })
}

/// A multiply-rotate hash over 8-byte words: the states are small and not
/// adversarial, and SipHash (or a byte-wise hash, unoptimized) costs more
/// than the rest of a step.
#[derive(Default)]
struct WordHash(u64);

impl WordHash {
    fn mix(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    }
}

impl Hasher for WordHash {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.mix(u64::from_le_bytes(word.try_into().unwrap()));
        }
        let mut rest = [0; 8];
        rest[..words.remainder().len()].copy_from_slice(words.remainder());
        self.mix(u64::from_le_bytes(rest) ^ (bytes.len() as u64) << 56);
    }

    fn write_u32(&mut self, value: u32) {
        self.mix(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.mix(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.mix(value as u64);
    }
}

fn apply(memory: &mut [u8], access: Access) -> u32 {
    match access {
        Access::Load(offset) => {
            let at = offset as usize;
            u32::from_le_bytes(memory[at..at + 4].try_into().unwrap())
        }
        Access::Store(offset, value) => {
            let at = offset as usize;
            memory[at..at + 4].copy_from_slice(&value.to_le_bytes());
            0
        }
        Access::ReadChunk(offset, len) => {
            let (at, len) = (offset as usize, len as usize);
            let mut word = [0; 4];
            word[..len].copy_from_slice(&memory[at..at + len]);
            u32::from_le_bytes(word)
        }
        Access::WriteChunk(offset, bytes, len) => {
            let (at, len) = (offset as usize, len as usize);
            memory[at..at + len].copy_from_slice(&bytes[..len]);
            0
        }
    }
}

impl<M: Model> Explorer<'_, M> {
    /// Finds `thread`'s next step, finishing the operations that have none.
    fn settle(&self, state: &mut State<M::Ghost>, thread: usize) -> Result<(), String> {
        let size = u32::try_from(state.memory.len()).unwrap();
        loop {
            let current = &state.threads[thread];
            let probe = Probe::new(&current.replay, size);
            let outcome = self.model.run(&state.ghost, thread, current.op, &probe);
            match (outcome, probe.next.get()) {
                (None, next) => {
                    assert!(next.is_none() && current.replay.is_empty(), "thread {thread} stopped inside an operation");
                    state.threads[thread].next = None;
                    return Ok(());
                }
                (Some(_), Some(next)) => {
                    state.threads[thread].next = Some(next);
                    return Ok(());
                }
                (Some(outcome), None) => {
                    let op = current.op;
                    state.threads[thread].op += 1;
                    state.threads[thread].replay.clear();
                    let now = state.positions();
                    self.model.finished(&mut state.ghost, thread, op, outcome, &now, &state.memory)?;
                }
            }
        }
    }

    /// Explores from `state`; returns its number of complete interleavings.
    fn visit(&mut self, state: State<M::Ghost>) -> Result<u128, String> {
        if let Some(&known) = self.memo.as_ref().and_then(|memo| memo.get(&state)) {
            return Ok(known);
        }
        self.states += 1;
        let mut total = 0u128;
        let mut moved = false;
        for thread in 0..state.threads.len() {
            let Some(access) = state.threads[thread].next else { continue };
            moved = true;
            let mut next = state.clone();
            if next.threads[thread].replay.is_empty() {
                let now = next.positions();
                self.model.started(&mut next.ghost, thread, &now);
            }
            let result = apply(&mut next.memory, access);
            next.threads[thread].replay.push(result);
            self.model.accessed(&mut next.ghost, thread, &access);
            self.trace.push((thread, access));
            self.transitions += 1;
            let below = match self.settle(&mut next, thread) {
                Ok(()) => self.visit(next),
                Err(error) => Err(self.failure(error)),
            };
            self.trace.pop();
            total = total.saturating_add(below?);
        }
        if !moved {
            self.model.ended(&state.ghost, &state.memory).map_err(|error| self.failure(error))?;
            total = 1;
        }
        if let Some(memo) = self.memo.as_mut() {
            memo.insert(state, total);
        }
        Ok(total)
    }

    fn failure(&self, error: String) -> String {
        let mut report = std::format!("{error}\ninterleaving ({} steps):\n", self.trace.len());
        for (thread, access) in &self.trace {
            writeln!(report, "  thread {thread}: {access:x?}").unwrap();
        }
        report
    }
}
