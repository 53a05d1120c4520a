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
//! - `irq-trigger` owns UART 5 and asks its virtual distributor to make the
//!   UART's TX interrupt (level-sensitive: the line stays high until the
//!   UART's `INTCLEAR` is written) edge-triggered, reads that back, then
//!   takes the interrupt several times without clearing the UART. Only the
//!   board's trigger reaches the hardware, so the interrupt keeps arriving
//!   until the UART is cleared (an edge-triggered one would arrive once).
//! - `irq-banked` owns four interrupts no device raises (INTIDs 100-103) and
//!   reaches their distributor priority bytes through `sp`, `lr` and FIQ's
//!   `r8`/`r9` in SVC, IRQ, System, FIQ, Abort and Undefined modes, the way
//!   compiled code does (GCC allocates `lr` like any register), with
//!   syndrome-carrying and writeback (decoded) forms. It checks every value
//!   and that the User bank's `r8`/`r9` are untouched, and prints one line
//!   per mode.
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

/// Memory the banked-register probes keep the interrupted mode's `CPSR`,
/// `sp` and `lr` in while they use them as transfer registers.
static mut PROBE_SAVE: [u32; 3] = [0; 3];

/// In mode `$mode`, with interrupts masked: stores `a` through `lr` and `b`
/// through `sp` to priority bytes 100 and 101 (syndrome forms), loads byte
/// 101 into `lr` and byte 100 into `sp`, then loads byte 101 through `lr`
/// as a writeback base (`ldrb r2, [lr, #1]!`, no syndrome: decoded). Returns
/// (value loaded into `sp`, into `lr`, writeback load | (base delta << 8)).
macro_rules! probe_sp_lr {
    ($mode:literal, $bytes:expr, $a:expr, $b:expr) => {{
        let (via_sp, via_lr, writeback): (u32, u32, u32);
        // SAFETY: the block saves this mode's CPSR and the target mode's sp
        // and lr in PROBE_SAVE and restores them before it ends; it touches
        // only this partition's own interrupts' priority bytes; operands are
        // in r0-r5, which no mode banks.
        unsafe {
            core::arch::asm!(
                "mrs r3, cpsr",
                "str r3, [r5]",
                "cpsid if",
                concat!("cps #", $mode),
                "str sp, [r5, #4]",
                "str lr, [r5, #8]",
                "mov lr, r1",
                "strb lr, [r0]",
                "mov sp, r2",
                "strb sp, [r0, #1]",
                "ldrb lr, [r0, #1]",
                "mov r3, lr",
                "ldrb sp, [r0]",
                "mov r1, sp",
                "mov lr, r0",
                "ldrb r2, [lr, #1]!",
                "sub r4, lr, r0",
                "orr r2, r2, r4, lsl #8",
                "ldr sp, [r5, #4]",
                "ldr lr, [r5, #8]",
                "ldr r4, [r5]",
                "msr cpsr_c, r4",
                inout("r0") $bytes => _,
                inout("r1") $a => via_sp,
                inout("r2") $b => writeback,
                out("r3") via_lr,
                out("r4") _,
                in("r5") core::ptr::addr_of_mut!(PROBE_SAVE),
            );
        }
        (via_sp, via_lr, writeback)
    }};
}

fn banked() -> ! {
    let mut gic = gic::init();
    for intid in BURST_FIRST..BURST_FIRST + 4 {
        gic::enable(&mut gic, intid, 0xF0, Trigger::Level);
    }
    let bytes = layout::GIC_DISTRIBUTOR + 0x400 + BURST_FIRST as usize;
    // SAFETY: this partition's own interrupts' priority bytes.
    let priority = |n: usize| unsafe { read_volatile((bytes + n) as *const u8) } as u32;
    let modes: [(&str, u32); 6] =
        [("svc", 0x13), ("irq", 0x12), ("sys", 0x1F), ("fiq", 0x11), ("abt", 0x17), ("und", 0x1B)];
    for (index, (name, bits)) in modes.iter().enumerate() {
        let (a, b) = (0x10 + 0x10 * index as u32, 0xE8 - 0x10 * index as u32);
        let (via_sp, via_lr, writeback) = match bits {
            0x13 => probe_sp_lr!("0x13", bytes, a, b),
            0x12 => probe_sp_lr!("0x12", bytes, a, b),
            0x1F => probe_sp_lr!("0x1f", bytes, a, b),
            0x11 => probe_sp_lr!("0x11", bytes, a, b),
            0x17 => probe_sp_lr!("0x17", bytes, a, b),
            _ => probe_sp_lr!("0x1b", bytes, a, b),
        };
        let ok = via_sp == a && via_lr == b && writeback == (b | 1 << 8) && priority(0) == a && priority(1) == b;
        println!(
            "banked mode={name} sp-load={via_sp:#04x} lr-load={via_lr:#04x} lr-writeback={writeback:#05x} \
             expected={a:#04x},{b:#04x} {}",
            if ok { "ok" } else { "WRONG" }
        );
    }
    // FIQ's own r8-r12: a store from r8_fiq, a load into r9_fiq; the User
    // bank's r8 and r9 (the compiler's) keep their values.
    let (marker8, marker9) = (0x0808_0808u32, 0x0909_0909u32);
    let (value, stored, after8, after9): (u32, u32, u32, u32);
    // SAFETY: as for `probe_sp_lr`; FIQ's r8/r9 are scratch for this
    // partition, which has no FIQ handler.
    unsafe {
        core::arch::asm!(
            "mrs r3, cpsr",
            "str r3, [r5]",
            "cpsid if",
            "cps #0x11",
            "mov r8, r1",
            "strb r8, [r0, #2]",
            "ldrb r9, [r0, #2]",
            "mov r2, r9",
            "ldr r4, [r5]",
            "msr cpsr_c, r4",
            inout("r0") bytes => _,
            inout("r1") 0x60u32 => stored,
            out("r2") value,
            out("r3") _,
            out("r4") _,
            in("r5") core::ptr::addr_of_mut!(PROBE_SAVE),
            inout("r8") marker8 => after8,
            inout("r9") marker9 => after9,
        );
    }
    let ok = value == stored && priority(2) == stored && after8 == marker8 && after9 == marker9;
    println!(
        "banked fiq-r8-r9 loaded={value:#04x} stored={stored:#04x} usr-r8={after8:#010x} usr-r9={after9:#010x} {}",
        if ok { "ok" } else { "WRONG" }
    );
    hypercall::stop(0)
}

/// UART 5 (this partition's device) and its TX interrupt.
const UART5: usize = 0xE020_8000;
const UART5_TX_INTID: u16 = 44;
/// How many deliveries of the uncleared TX interrupt to wait for.
const TRIGGER_DELIVERIES: u32 = 4;

fn trigger() -> ! {
    let mut gic = gic::init();
    gic::enable(&mut gic, UART5_TX_INTID, 0x80, Trigger::Level);
    // Probe in a window of its own, apart from the GIC set-up's noise.
    hypercall::yield_window();
    // GICD_ICFGR2 holds INTIDs 32..47, two bits each; bit 1 of a field is edge.
    let edge_bit = 1u32 << ((UART5_TX_INTID % 16) * 2 + 1);
    // SAFETY: this partition's own interrupt's configuration (emulated) and
    // its own UART: TX enable and TX interrupt enable, then one byte.
    let virtual_edge = unsafe {
        let value = read_volatile(gicd(0xC08));
        write_volatile(gicd(0xC08), value | edge_bit);
        let edge = read_volatile(gicd(0xC08)) & edge_bit != 0;
        write_volatile((UART5 + 0x08) as *mut u32, 0b101);
        write_volatile(UART5 as *mut u32, b'!' as u32);
        edge
    };
    // With interrupts masked, take it at the CPU interface, never clearing
    // the UART: a level-sensitive line pends it again after each end.
    let mut taken = 0;
    let mut spins = 0u32;
    while taken < TRIGGER_DELIVERIES && spins < 200_000 {
        spins += 1;
        if let Some(intid) = gic::acknowledge().filter(|intid| *intid < 1020) {
            if intid == UART5_TX_INTID {
                taken += 1;
            }
            gic::end(intid);
        }
    }
    // SAFETY: this partition's UART: clear its TX interrupt, then disable it.
    unsafe {
        write_volatile((UART5 + 0x0C) as *mut u32, 1);
        write_volatile((UART5 + 0x08) as *mut u32, 0b001);
    }
    let mut after_clear = 0;
    for _ in 0..20_000 {
        if let Some(intid) = gic::acknowledge().filter(|intid| *intid < 1020) {
            after_clear += 1;
            gic::end(intid);
        }
    }
    println!("trigger virtual-edge={virtual_edge} taken={taken} after-clear={after_clear}");
    loop {
        hypercall::yield_window();
    }
}

#[entry]
fn main() -> ! {
    match layout::NAME {
        "irq-owner" => owner(),
        "irq-trigger" => trigger(),
        "irq-intruder" => intruder(),
        "irq-banked" => banked(),
        _ => burst(),
    }
}
