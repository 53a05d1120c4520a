//! Models of the doorbell devices, for tests: the other side may ring
//! between any two register accesses, and the tests try every such moment.
//!
//! A [`Bench`] holds one device model and a clock that ticks once per
//! register access (and once per idle step of the test). A ring scheduled
//! at tick `t` reaches the device just before the access of tick `t`, if
//! the device can take it then; otherwise it waits, as a byte waits in
//! QEMU's socket while the UART's receive register is full.

use crate::{Doorbell, RegisterAccess};
use std::cell::RefCell;

/// A device as the test sees it.
pub trait Device {
    /// Reads register `offset` of frame `frame`.
    fn read(&mut self, frame: usize, offset: usize) -> u32;
    /// Writes register `offset` of frame `frame`.
    fn write(&mut self, frame: usize, offset: usize, value: u32);
    /// The interrupt line to the island.
    fn irq(&self) -> bool;
    /// The other side rings; `false` if the device cannot take it now (it
    /// waits and is tried again at every tick).
    fn try_ring(&mut self) -> bool;
}

struct Ring {
    sent: usize,
    delivered: bool,
}

struct State<D> {
    device: D,
    clock: usize,
    rings: Vec<Ring>,
}

/// A device model with a clock and the other side's rings.
pub struct Bench<D> {
    state: RefCell<State<D>>,
}

/// One register frame of a bench's device, for a driver.
#[derive(Clone, Copy)]
pub struct Port<'a, D> {
    bench: &'a Bench<D>,
    frame: usize,
}

impl<D: Device> RegisterAccess for Port<'_, D> {
    fn read(&self, offset: usize) -> u32 {
        self.bench.tick();
        self.bench.state.borrow_mut().device.read(self.frame, offset)
    }

    fn write(&self, offset: usize, value: u32) {
        self.bench.tick();
        self.bench.state.borrow_mut().device.write(self.frame, offset, value)
    }
}

impl<D: Device> Bench<D> {
    /// A bench around `device`.
    pub fn new(device: D) -> Bench<D> {
        Bench { state: RefCell::new(State { device, clock: 0, rings: Vec::new() }) }
    }

    /// Frame `frame` of the device.
    pub fn port(&self, frame: usize) -> Port<'_, D> {
        Port { bench: self, frame }
    }

    /// The other side rings at tick `at`.
    pub fn ring_at(&self, at: usize) {
        self.state.borrow_mut().rings.push(Ring { sent: at, delivered: false });
    }

    fn clock(&self) -> usize {
        self.state.borrow().clock
    }

    /// One tick: rings due reach the device (the oldest first, while it
    /// takes them).
    fn tick(&self) {
        let mut state = self.state.borrow_mut();
        let State { device, clock, rings } = &mut *state;
        for ring in rings.iter_mut().filter(|r| !r.delivered && r.sent <= *clock) {
            if !device.try_ring() {
                break;
            }
            ring.delivered = true;
        }
        *clock += 1;
    }

    /// No interrupt, and every ring's time has come (taken by the device or
    /// not: one it cannot take may wait for ever).
    fn quiet(&self) -> bool {
        let state = self.state.borrow();
        !state.device.irq() && state.rings.iter().all(|r| r.sent < state.clock)
    }
}

/// Runs `doorbell`'s `take` whenever the bench's interrupt is raised (as the
/// island's handler does), until nothing happens for a while; then the
/// other side rings once more and it runs again. Returns the rings that no
/// `take` covered: a ring is covered by a `take` that returned `true` and
/// whose last register access came at or after the ring (the island looks
/// at the rings after `take` returns).
fn run<D: Device>(bench: &Bench<D>, doorbell: &mut dyn Doorbell) -> Vec<usize> {
    let mut covering = Vec::new();
    for round in 0..2 {
        let mut idle = 0;
        let mut steps = 0;
        while idle < 8 {
            steps += 1;
            assert!(steps < 10_000, "the interrupt never drops");
            if bench.state.borrow().device.irq() {
                let rang = doorbell.take();
                if rang {
                    covering.push(bench.clock() - 1);
                }
                idle = 0;
            } else {
                bench.tick();
                idle = if bench.quiet() { idle + 1 } else { 0 };
            }
        }
        if round == 0 {
            bench.ring_at(bench.clock());
        }
    }
    let state = bench.state.borrow();
    state.rings.iter().map(|r| r.sent).filter(|sent| !covering.iter().any(|end| end >= sent)).collect()
}

/// Checks that `make` builds a doorbell that never loses a ring: the other
/// side rings at tick 0 and again at every tick `k` from 0 to 40 (and, for
/// every pair `j <= k` up to 24, at both), then once more when all is quiet.
pub fn no_ring_is_lost<D: Device>(
    device: impl Fn() -> D,
    make: impl for<'a> Fn(&'a Bench<D>) -> Box<dyn Doorbell + 'a>,
) {
    let mut schedules: Vec<Vec<usize>> = (0..=40).map(|k| vec![0, k]).collect();
    for k in 0..=24 {
        schedules.extend((0..=k).map(|j| vec![0, j, k]));
    }
    // A flood: more rings at once than one take drains.
    schedules.push(vec![0; 200]);
    for schedule in schedules {
        let bench = Bench::new(device());
        let mut doorbell = make(&bench);
        // Set-up accesses are done; rings count from here.
        let start = bench.clock();
        for at in &schedule {
            bench.ring_at(start + at);
        }
        let lost = run(&bench, &mut *doorbell);
        assert!(lost.is_empty(), "rings at ticks {schedule:?} (from {start}): the rings of ticks {lost:?} were lost");
    }
}
