//! Test partition: virtual interrupts, from three sides. The role is chosen
//! by the partition's name.
//!
//! - `irq-owner` owns the dual timer (INTIDs 33-35). Each round it arms
//!   timer 1 to fire 300 us later, which falls in `irq-intruder`'s window,
//!   and yields. Its handler records what arrives; at the start of its next
//!   window it reports it and checks its interrupt's configuration is still
//!   its own.
//! - `irq-intruder` owns no device. It tries to enable, disable, pend,
//!   reprioritise, reconfigure and reroute `irq-owner`'s interrupt through
//!   the distributor, reads it back, and polls its own CPU interface while
//!   `irq-owner`'s interrupt is waiting: it must never see it.
//! - `irq-burst` owns ten interrupts no device raises (INTIDs 100-109) with
//!   distinct priorities. With its priority mask closed it sets all ten
//!   pending in one distributor write (more than the four list registers),
//!   then opens the mask and records the order they arrive in.
//!
//! Everything GIC-related goes through `arm-gic` and the ordinary `ICC_*`
//! registers, as on bare metal.

#![no_std]
#![no_main]

use bulkhead_sdk::gic::{self, arm_gic::Trigger};
use bulkhead_sdk::{entry, hypercall, layout, println};
use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicU32, Ordering};

/// Dual timer interrupts of timer 1 (SPI 1).
const TIMER1_INTID: u16 = 33;
const DUALTIMER: usize = 0xE010_1000;
const OWNER_PRIORITY: u8 = 0x40;
/// Ten interrupts no device drives, and the priority each gets.
const BURST_FIRST: u16 = 100;
const BURST_PRIORITIES: [u8; 10] = [0x50, 0x10, 0x90, 0x30, 0x70, 0x20, 0x80, 0x40, 0x60, 0x00];

/// Interrupts received, in order: (intid, count so far).
static RECEIVED: [AtomicU32; 16] = [const { AtomicU32::new(0) }; 16];
static RECEIVED_COUNT: AtomicU32 = AtomicU32::new(0);

#[aarch32_rt::irq]
fn irq_handler() {
    while let Some(intid) = gic::acknowledge() {
        if intid >= 1020 {
            break;
        }
        if intid == TIMER1_INTID {
            // Clear the timer's interrupt before ending it (it is level-sensitive).
            // SAFETY: the dual timer is this partition's device.
            unsafe { write_volatile((DUALTIMER + 0x0C) as *mut u32, 1) };
        }
        let slot = RECEIVED_COUNT.fetch_add(1, Ordering::Relaxed) as usize;
        if let Some(entry) = RECEIVED.get(slot) {
            entry.store(intid as u32, Ordering::Relaxed);
        }
        gic::end(intid);
    }
}

fn received() -> ([u16; 16], usize) {
    let count = (RECEIVED_COUNT.load(Ordering::Relaxed) as usize).min(16);
    let mut list = [0u16; 16];
    for (slot, entry) in list.iter_mut().zip(RECEIVED.iter()).take(count) {
        *slot = entry.load(Ordering::Relaxed) as u16;
    }
    (list, count)
}

fn gicd(offset: usize) -> *mut u32 {
    (layout::GIC_DISTRIBUTOR + offset) as *mut u32
}

fn enable_irqs() {
    // SAFETY: this partition's own interrupt mask.
    unsafe { core::arch::asm!("cpsie i") };
}

fn set_priority_mask(mask: u8) {
    bulkhead_sdk::gic::arm_gic::gicv3::GicCpuInterface::set_priority_mask(mask);
}

fn owner() -> ! {
    let mut gic = gic::init();
    gic::enable(&mut gic, TIMER1_INTID, OWNER_PRIORITY, Trigger::Level);
    enable_irqs();
    println!("owner ready");
    let mut round = 0u32;
    loop {
        let (list, count) = received();
        // SAFETY: reads of the emulated distributor: this partition's own
        // interrupt's priority byte and enable bit.
        let (priority, enabled) = unsafe {
            (
                read_volatile((layout::GIC_DISTRIBUTOR + 0x400 + TIMER1_INTID as usize) as *const u8),
                read_volatile(gicd(0x104)),
            )
        };
        if round > 0 {
            println!(
                "round={round} received={:?} priority={priority:#04x} enabled={}",
                &list[..count],
                enabled >> (TIMER1_INTID - 32) & 1
            );
        }
        RECEIVED_COUNT.store(0, Ordering::Relaxed);
        round += 1;
        // Timer 1: one-shot, 32-bit, interrupt enabled, 300 us at 50 MHz.
        // SAFETY: the dual timer is this partition's device.
        unsafe {
            write_volatile((DUALTIMER + 0x08) as *mut u32, 0);
            write_volatile((DUALTIMER + 0x0C) as *mut u32, 1);
            write_volatile(DUALTIMER as *mut u32, 300 * 50);
            write_volatile((DUALTIMER + 0x08) as *mut u32, (1 << 7) | (1 << 5) | (1 << 1) | 1);
        }
        hypercall::yield_window();
    }
}

fn intruder() -> ! {
    let _gic = gic::init();
    enable_irqs();
    // Attack in a window of its own, apart from the GIC set-up's noise.
    hypercall::yield_window();
    let bit = 1u32 << (TIMER1_INTID - 32);
    // SAFETY: every access below names someone else's interrupt; the kernel
    // must ignore the writes and return zero for the reads.
    unsafe {
        write_volatile(gicd(0x104), bit); // ISENABLER1
        write_volatile(gicd(0x184), bit); // ICENABLER1
        write_volatile(gicd(0x204), bit); // ISPENDR1
        write_volatile((layout::GIC_DISTRIBUTOR + 0x400 + TIMER1_INTID as usize) as *mut u8, 0xF0); // IPRIORITYR
        write_volatile(gicd(0xC08), 0xFFFF_FFFF); // ICFGR2: 32..47 edge
        write_volatile(gicd(0x6000 + 8 * TIMER1_INTID as usize), 0); // IROUTER low
        let enabled = read_volatile(gicd(0x104));
        let priority = read_volatile((layout::GIC_DISTRIBUTOR + 0x400 + TIMER1_INTID as usize) as *const u8);
        println!("intruder reads enabled={enabled:#x} priority={priority:#x}");
    }
    let mut spins = 0u32;
    loop {
        // Look at the CPU interface directly too, with interrupts masked.
        // SAFETY: this partition's own interrupt mask.
        unsafe { core::arch::asm!("cpsid i") };
        let seen = gic::acknowledge();
        if let Some(intid) = seen.filter(|i| *i < 1020) {
            println!("UNEXPECTED acknowledged intid={intid}");
            gic::end(intid);
        }
        enable_irqs();
        let (list, count) = received();
        if count > 0 {
            println!("UNEXPECTED received={:?}", &list[..count]);
            RECEIVED_COUNT.store(0, Ordering::Relaxed);
        }
        spins += 1;
        if spins % 2000 == 0 {
            println!("intruder still sees nothing");
        }
    }
}

fn burst() -> ! {
    let mut gic = gic::init();
    for (index, priority) in BURST_PRIORITIES.iter().enumerate() {
        gic::enable(&mut gic, BURST_FIRST + index as u16, *priority, Trigger::Level);
    }
    set_priority_mask(0);
    enable_irqs();
    // All ten pending in one write (ISPENDR3 covers 96..127).
    let bits = ((1u32 << BURST_PRIORITIES.len()) - 1) << (BURST_FIRST - 96);
    // SAFETY: this partition's own interrupts.
    unsafe { write_volatile(gicd(0x20C), bits) };
    // Let them all arrive at EL2 while the mask is closed.
    for _ in 0..1000 {
        core::hint::spin_loop();
    }
    let (_, before) = received();
    set_priority_mask(0xFF);
    while received().1 < BURST_PRIORITIES.len() {
        core::hint::spin_loop();
    }
    for _ in 0..1000 {
        core::hint::spin_loop();
    }
    let (list, count) = received();
    let mut console = bulkhead_sdk::console::Console::new();
    let _ = core::fmt::Write::write_fmt(&mut console, format_args!("burst before-unmask={before} order="));
    for (position, intid) in list[..count].iter().enumerate() {
        let separator = if position == 0 { "" } else { "," };
        let _ = core::fmt::Write::write_fmt(&mut console, format_args!("{separator}{intid}"));
    }
    let _ = core::fmt::Write::write_str(&mut console, "\n");
    hypercall::stop(0)
}

#[entry]
fn main() -> ! {
    match layout::NAME {
        "irq-owner" => owner(),
        "irq-intruder" => intruder(),
        _ => burst(),
    }
}
