//! Bench partition: the virtual-interrupt load `cargo xtask bench` measures.
//!
//! It drives the GIC and the virtual timer the way an RTOS port does, in a
//! loop of three rounds:
//!
//! 1. **Timer.** Arms the virtual timer a few microseconds ahead and spins
//!    with interrupts unmasked until its handler has run. The kernel takes
//!    the physical PPI 27 at EL2 and injects it through a list register; the
//!    bench counts from the kernel's IRQ vector to this partition's IRQ
//!    vector (`virq_latency_insns`).
//! 2. **Distributor writes.** Disables one of its own SPIs with a single
//!    store to `GICD_ICENABLER1` and enables it again through
//!    `GICD_ISENABLER1`; the kernel traps and emulates both, and changes the
//!    physical distributor. The store and the instruction after it are
//!    exported (`bench_gicd_write`, `bench_gicd_write_return`) for
//!    `gicd_trap_insns`.
//! 3. **Burst.** Every few rounds, pends all six of its SPIs with one
//!    `GICD_ISPENDR1` write: more than the four list registers, so the
//!    kernel queues two and refills on the maintenance interrupt that the
//!    guest's EOIs provoke. The burst is bracketed by `bench_burst` and
//!    `bench_burst_done`, so its deliveries are not taken for single ones.
//!
//! Every interrupt is ended through one exported `ICC_EOIR1` write
//! (`bench_eoi`, `bench_eoi_return`): `virq_eoi_insns` counts from it to the
//! guest's next instruction, including the refills it triggers.

#![no_std]
#![no_main]

use aarch32_cpu::register::{CntvCtl, CntvTval, SysRegWrite};
use bulkhead_sdk::gic::{self, arm_gic::Trigger};
use bulkhead_sdk::{entry, layout, println};
use core::sync::atomic::{AtomicU32, Ordering};

core::arch::global_asm!(
    r#"
    .section .text.bench_irq_probes,"ax",%progbits
    .arm
    .global bench_gicd_write_probe
    .type bench_gicd_write_probe, %function
bench_gicd_write_probe:
    .global bench_gicd_write
bench_gicd_write:
    str     r1, [r0]
    .global bench_gicd_write_return
bench_gicd_write_return:
    bx      lr
    .size bench_gicd_write_probe, . - bench_gicd_write_probe

    .global bench_burst_probe
    .type bench_burst_probe, %function
bench_burst_probe:
    .global bench_burst
bench_burst:
    str     r1, [r0]
    bx      lr
    .size bench_burst_probe, . - bench_burst_probe

    .global bench_burst_done
    .type bench_burst_done, %function
bench_burst_done:
    bx      lr
    .size bench_burst_done, . - bench_burst_done

    .global bench_eoi_probe
    .type bench_eoi_probe, %function
bench_eoi_probe:
    .global bench_eoi
bench_eoi:
    mcr     p15, 0, r0, c12, c12, 1
    .global bench_eoi_return
bench_eoi_return:
    bx      lr
    .size bench_eoi_probe, . - bench_eoi_probe
    "#
);

unsafe extern "C" {
    /// One 32-bit store of `value` to `address`.
    fn bench_gicd_write_probe(address: *mut u32, value: u32);
    /// `ICC_EOIR1 = intid`.
    fn bench_eoi_probe(intid: u32);
    /// The burst's store (marks the start of a burst for the bench).
    fn bench_burst_probe(address: *mut u32, value: u32);
    /// Marks the end of a burst for the bench.
    fn bench_burst_done();
}

/// The virtual timer's interrupt.
const VIRTUAL_TIMER: u16 = 27;
/// `GICD_ISENABLER<n>`, `GICD_ICENABLER<n>` and `GICD_ISPENDR<n>`.
const GICD_ISENABLER: usize = 0x100;
const GICD_ICENABLER: usize = 0x180;
const GICD_ISPENDR: usize = 0x200;
/// Counter ticks (62.5 MHz) from arming the timer to its firing.
const TIMER_DELAY_TICKS: u32 = 200;
/// Rounds between bursts.
const BURST_EVERY: u32 = 8;

static HANDLED: AtomicU32 = AtomicU32::new(0);

#[aarch32_rt::irq]
fn irq_handler() {
    while let Some(intid) = gic::acknowledge().filter(|intid| *intid < 1020) {
        if intid == VIRTUAL_TIMER {
            // SAFETY: this partition's own virtual timer; disabling it drops
            // the interrupt's level before the EOI.
            unsafe { CntvCtl::write_raw(0) };
        }
        HANDLED.fetch_add(1, Ordering::Release);
        // SAFETY: ends the interrupt just acknowledged, as `gic::end` does.
        unsafe { bench_eoi_probe(intid as u32) };
    }
}

fn wait_for(handled: u32) {
    while HANDLED.load(Ordering::Acquire) < handled {
        core::hint::spin_loop();
    }
}

#[entry]
fn main() -> ! {
    let spis = owned_spis();
    let mut gic = gic::init();
    gic::enable(&mut gic, VIRTUAL_TIMER, 0x80, Trigger::Level);
    for (rank, intid) in spis.iter().enumerate() {
        // Distinct priorities, so the burst is delivered in a defined order.
        gic::enable(&mut gic, *intid, 0x90 + 8 * rank as u8, Trigger::Edge);
    }
    let word = |base: usize, intid: u16| (layout::GIC_DISTRIBUTOR + base + 4 * (intid as usize / 32)) as *mut u32;
    let bit = |intid: u16| 1u32 << (intid % 32);
    let first = spis[0];
    let burst_mask = spis.iter().fold(0, |mask, intid| mask | bit(*intid));
    // SAFETY: this partition's interrupt mask; the handler is ready.
    unsafe { core::arch::asm!("cpsie i") };
    println!("bench-irq: virtual timer, {} SPIs, looping on timer, GICD write and burst rounds", spis.len());

    let mut handled = 0u32;
    let mut round = 0u32;
    loop {
        // 1. Timer.
        // SAFETY: this partition's own virtual timer.
        unsafe {
            CntvTval::write_raw(TIMER_DELAY_TICKS);
            CntvCtl::write_raw(1);
        }
        handled += 1;
        wait_for(handled);

        // 2. Trapped, emulated distributor writes: disable one of its SPIs,
        // then enable it again (each changes the physical distributor).
        // SAFETY: stores to this partition's view of the distributor.
        unsafe {
            bench_gicd_write_probe(word(GICD_ICENABLER, first), bit(first));
            bench_gicd_write_probe(word(GICD_ISENABLER, first), bit(first));
        }

        // 3. Burst.
        round = round.wrapping_add(1);
        if round.is_multiple_of(BURST_EVERY) {
            // SAFETY: as above; pends only this partition's own SPIs.
            unsafe { bench_burst_probe(word(GICD_ISPENDR, first), burst_mask) };
            handled += spis.len() as u32;
            wait_for(handled);
            // SAFETY: returns at once.
            unsafe { bench_burst_done() };
        }
    }
}

/// The six SPIs this partition owns (from its devices), all in the first
/// distributor word that holds one, so one write pends them all.
fn owned_spis() -> [u16; 6] {
    let mut spis = [0u16; 6];
    let mut count = 0;
    for intid in layout::DEVICES.iter().flat_map(|device| device.interrupts.iter()) {
        if *intid >= 32 && count < spis.len() && (count == 0 || *intid / 32 == spis[0] / 32) {
            spis[count] = *intid;
            count += 1;
        }
    }
    assert!(count == spis.len(), "bench-irq needs six SPIs in one distributor word");
    spis
}
