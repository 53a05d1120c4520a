//! An `embassy-time` driver on the Armv8-R EL1 virtual timer.
//!
//! Time is the virtual counter (`CNTVCT`), converted to embassy ticks; alarms
//! program `CNTV_CVAL`/`CNTV_CTL`, whose interrupt is PPI 27. Under Bulkhead
//! the virtual counter is *partition time*: it stands still outside the
//! partition's windows, so a task that sleeps 1 ms sleeps 1 ms of the
//! partition's own time. On bare metal it is ordinary time.
//!
//! Use: call [`init`] once, enable PPI 27 at the GIC, and call
//! [`on_interrupt`] from the IRQ handler when PPI 27 is acknowledged. The
//! driver needs a `critical-section` implementation (aarch32-cpu's
//! `critical-section-single-core` feature provides one).
//!
//! It owns the virtual timer registers and nothing else; it never touches
//! the GIC.

#![no_std]

use aarch32_cpu::register::{CntVct, Cntfrq, CntvCtl, CntvCval, SysRegRead, SysRegRead64, SysRegWrite, SysRegWrite64};
use core::cell::RefCell;
use core::sync::atomic::{AtomicU32, Ordering};
use core::task::Waker;
use critical_section::Mutex;
use embassy_time_driver::{Driver, TICK_HZ};
use embassy_time_queue_utils::Queue;

/// The virtual timer's interrupt id (PPI 27).
pub const INTERRUPT_ID: u16 = 27;

/// Counter ticks per embassy tick, as a reduced fraction `COUNTER / TICKS`
/// (set by [`init`] from `CNTFRQ`; zero before).
static COUNTER_PER: AtomicU32 = AtomicU32::new(0);
static TICKS_PER: AtomicU32 = AtomicU32::new(0);

const CTL_ENABLE: u32 = 1 << 0;

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Reads the counter frequency and prepares the conversion. Call once,
/// before the executor runs.
pub fn init() {
    let frequency = Cntfrq::read_raw() as u64;
    let divisor = gcd(frequency, TICK_HZ).max(1);
    COUNTER_PER.store((frequency / divisor) as u32, Ordering::Relaxed);
    TICKS_PER.store((TICK_HZ / divisor) as u32, Ordering::Relaxed);
    // SAFETY: the virtual timer is this program's; disabled until an alarm.
    unsafe { CntvCtl::write_raw(0) };
}

fn ratio() -> Option<(u64, u64)> {
    let (counter, ticks) = (COUNTER_PER.load(Ordering::Relaxed), TICKS_PER.load(Ordering::Relaxed));
    (counter != 0 && ticks != 0).then_some((counter as u64, ticks as u64))
}

/// The driver.
pub struct VirtualTimerDriver {
    queue: Mutex<RefCell<Queue>>,
}

impl VirtualTimerDriver {
    /// Programs the virtual timer for embassy tick `at`, or disables it.
    fn arm(&self, at: u64) {
        let Some((counter, ticks)) = ratio() else { return };
        // SAFETY: the virtual timer is this program's.
        unsafe {
            if at == u64::MAX {
                CntvCtl::write_raw(0);
                return;
            }
            // Round up: never wake before the deadline.
            let compare = (at as u128 * counter as u128).div_ceil(ticks as u128);
            <CntvCval as SysRegWrite64>::write_raw(u64::try_from(compare).unwrap_or(u64::MAX));
            CntvCtl::write_raw(CTL_ENABLE);
        }
    }

    fn rearm(&self) {
        critical_section::with(|cs| {
            let next = self.queue.borrow(cs).borrow_mut().next_expiration(self.now());
            self.arm(next);
        });
    }
}

impl Driver for VirtualTimerDriver {
    fn now(&self) -> u64 {
        let Some((counter, ticks)) = ratio() else { return 0 };
        let count = <CntVct as SysRegRead64>::read_raw();
        (count as u128 * ticks as u128 / counter as u128) as u64
    }

    fn schedule_wake(&self, at: u64, waker: &Waker) {
        critical_section::with(|cs| {
            let mut queue = self.queue.borrow(cs).borrow_mut();
            if queue.schedule_wake(at, waker) {
                let next = queue.next_expiration(self.now());
                self.arm(next);
            }
        });
    }
}

embassy_time_driver::time_driver_impl!(static DRIVER: VirtualTimerDriver = VirtualTimerDriver {
    queue: Mutex::new(RefCell::new(Queue::new())),
});

/// Handles the virtual timer interrupt: wakes expired timers and programs
/// the next alarm (which also stops the interrupt asserting).
pub fn on_interrupt() {
    DRIVER.rearm();
}
