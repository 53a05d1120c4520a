//! Test partitions: attacks on time and space, one per partition name.
//!
//! Each attacker tries, for as long as it runs, to take time from the
//! partition scheduled after it (a `test-stopwatch`, which measures) or to
//! reach state that is not its own. `tests/system/tests/interference.rs`
//! checks the stopwatch and the reports below.
//!
//! | name | attack | reports |
//! |---|---|---|
//! | `atk-timer-fault` | arms its virtual timer, masks interrupts and faults (restart), every activation | `armed activation=K` |
//! | `atk-timer-stop` | arms its virtual timer and stops for good | `armed, stopping` |
//! | `ticker` | not an attacker: an RTOS tick, its virtual timer every 10 us of its time | `ticker ticks=N time-us=T` |
//! | `atk-console` | console writes without end: 128 newlines, 128 bytes without one, random bytes and lengths | nothing readable |
//! | `atk-hypercalls` | every hypercall, good and bad, in a tight loop | - |
//! | `atk-irq` | 28 SPIs nobody raises and a UART, all enabled: `ISPENDR`/`ICPENDR` floods, a transmit interrupt left asserting, pending interrupts left at its window's end | `irq storms=N taken=M uart-taken=U` |
//! | `atk-restart` | a 224 KiB `.bss` and a 4 KiB `.data`; checks its memory is pristine, dirties it, faults (restart) in a 20 us window | `restored activation=K bss=zero data=pristine` |
//! | `atk-exclusive` | `LDREX` in one window, `STREX` in the next | `exclusive across-switch strex=S within-window strex=W` |
//! | `atk-cache` | every cache, branch predictor and TLB maintenance operation on its own memory, set/way over the whole cache; then one invalidate of another partition's line and one clean of the kernel's (each must fault) | `cache own-maintenance ok activation=K`, `cache attempt ...` |
//! | `vgic-reset` | leaves its virtual GIC busy (enables, pending, active, priority mask, timer) and faults; after the restart reports what it sees, and what `CBAR` reads | `vgic-reset enabled=... pending=... pmr=... hppir=... cntv-ctl=... delivered=...`, `cbar=... gicd=...` |

#![no_std]
#![no_main]

use aarch32_cpu::register::{CntVct, CntvCtl, CntvCval, SysRegRead, SysRegRead64, SysRegWrite, SysRegWrite64};
use bulkhead_sdk::gic::{self, arm_gic::Trigger};
use bulkhead_sdk::{entry, hypercall, layout, println};
use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicU32, Ordering};

/// The virtual timer's interrupt.
const VIRTUAL_TIMER: u16 = 27;
/// Virtual timer period of the `ticker`, in counter ticks (10 us at 62.5 MHz).
const TICK: u64 = 625;
/// An address no partition is given (the first TCM).
const FORBIDDEN: u32 = 0x0000_0100;

static TAKEN: AtomicU32 = AtomicU32::new(0);
static TICKS: AtomicU32 = AtomicU32::new(0);
/// Interrupts of `atk-irq`'s UART taken (and never cleared at the UART).
static UART_TAKEN: AtomicU32 = AtomicU32::new(0);
/// `atk-irq` lets its UART storm this many interrupts at a time.
const UART_STORM: u32 = 2_000;

fn now() -> u64 {
    <CntVct as SysRegRead64>::read_raw()
}

fn mask_irqs() {
    // SAFETY: this partition's own interrupt mask.
    unsafe { core::arch::asm!("cpsid i") };
}

fn unmask_irqs() {
    // SAFETY: this partition's own interrupt mask.
    unsafe { core::arch::asm!("cpsie i") };
}

fn arm_virtual_timer(at: u64) {
    // SAFETY: this partition's own virtual timer.
    unsafe {
        <CntvCval as SysRegWrite64>::write_raw(at);
        CntvCtl::write_raw(1);
    }
}

fn fault(activation: u32) -> ! {
    // SAFETY: deliberately unsound: the address is not this partition's and
    // the store must fault at stage 2.
    unsafe { write_volatile(FORBIDDEN as *mut u32, activation) };
    println!("ESCAPED fault");
    hypercall::stop(1)
}

#[aarch32_rt::irq]
fn irq_handler() {
    while let Some(intid) = gic::acknowledge().filter(|intid| *intid < 1020) {
        TAKEN.fetch_add(1, Ordering::Relaxed);
        if intid == VIRTUAL_TIMER {
            if attack_name() == "ticker" {
                TICKS.fetch_add(1, Ordering::Relaxed);
                let next = <CntvCval as SysRegRead64>::read_raw() + TICK;
                // SAFETY: this partition's own virtual timer.
                unsafe { <CntvCval as SysRegWrite64>::write_raw(next) };
            } else {
                // SAFETY: as above.
                unsafe { CntvCtl::write_raw(0) };
            }
        }
        // The storm's device interrupts are never cleared at the device;
        // after a burst the UART's transmit interrupt is switched off so the
        // storm's other half (and its reports) get to run.
        if let Some(uart) = layout::DEVICES.first().filter(|d| d.interrupts.contains(&intid)) {
            if UART_TAKEN.fetch_add(1, Ordering::Relaxed) % UART_STORM == UART_STORM - 1 {
                // SAFETY: this partition's own UART.
                unsafe {
                    write_volatile((uart.base as usize + cmsdk_uart::CTRL) as *mut u32, cmsdk_uart::CTRL_TX_ENABLE);
                    write_volatile((uart.base as usize + cmsdk_uart::INTSTATUS) as *mut u32, cmsdk_uart::INT_TX);
                }
            }
        }
        gic::end(intid);
    }
}

/// Arms the virtual timer to fire shortly, masks interrupts, and faults
/// (restart) or stops (halt): the timer must never fire in anyone's time.
fn timer_then_stop(stop: bool) -> ! {
    let mut gic = gic::init();
    gic::enable(&mut gic, VIRTUAL_TIMER, 0x80, Trigger::Level);
    let activation = hypercall::identity().restarts;
    println!("armed activation={activation}");
    mask_irqs();
    arm_virtual_timer(now() + 40);
    if stop {
        println!("armed, stopping");
        hypercall::stop(0)
    }
    fault(activation)
}

/// An RTOS tick: the virtual timer every [`TICK`] of partition time.
fn ticker() -> ! {
    let mut gic = gic::init();
    gic::enable(&mut gic, VIRTUAL_TIMER, 0x80, Trigger::Level);
    let start = now();
    arm_virtual_timer(start + TICK);
    unmask_irqs();
    let mut next_report = start + 50 * TICK;
    loop {
        let time = now();
        if time >= next_report {
            let ticks = TICKS.load(Ordering::Relaxed);
            println!("ticker ticks={ticks} elapsed-ticks={}", time - start);
            next_report += 50 * TICK;
        }
    }
}

/// Console writes without end.
fn console_flood() -> ! {
    let mut buffer = [0u8; 128];
    let mut seed = 0x1234_5678u32;
    let mut pattern = 0u32;
    loop {
        let length = match pattern % 4 {
            0 => {
                buffer.fill(b'\n');
                128
            }
            1 => {
                buffer.fill(b'x');
                128
            }
            _ => {
                for byte in buffer.iter_mut() {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    *byte = (seed >> 16) as u8;
                }
                if pattern % 4 == 2 { 128 } else { 1 + (seed >> 8) as usize % 128 }
            }
        };
        let _ = hypercall::console_write(&buffer[..length]);
        pattern = pattern.wrapping_add(1);
    }
}

/// Every hypercall, good and bad, in a tight loop.
fn hypercall_flood() -> ! {
    let kernel = layout::KERNEL.first().map_or(0x0800_0000, |r| r.base);
    let own = layout::REGIONS.first().map_or(0, |r| r.base);
    loop {
        let _ = hypercall::identity();
        let _ = hypercall::partition_time();
        let _ = hypercall::raw(99, [1, 2, 3]);
        let _ = hypercall::console_write_raw(kernel, 128);
        let _ = hypercall::console_write_raw(0xFFFF_FFF0, 32);
        let _ = hypercall::console_write_raw(own, 129);
        let _ = hypercall::console_write_raw(own, 0);
        let r0: u32;
        // SAFETY: an `hvc` with an immediate the kernel does not serve; it
        // must answer unknown-call and change nothing else.
        unsafe { core::arch::asm!("hvc #1", inlateout("r0") 2u32 => r0, out("r1") _, out("r2") _, out("r3") _) };
        core::hint::black_box(r0);
    }
}

/// Interrupt storms of its own interrupts, and interrupts left pending.
fn irq_storm() -> ! {
    let mut gic = gic::init();
    let mut owned_spis = [0u16; 32];
    let mut count = 0;
    for device in layout::DEVICES {
        for &intid in device.interrupts {
            if let Some(slot) = owned_spis.get_mut(count) {
                *slot = intid;
                count += 1;
            }
        }
    }
    for intid in 100..128u16 {
        if let Some(slot) = owned_spis.get_mut(count) {
            *slot = intid;
            count += 1;
        }
    }
    for &intid in &owned_spis[..count] {
        gic::enable(&mut gic, intid, 0x80, Trigger::Level);
    }
    // A transmit interrupt left asserting: enabled, raised, never cleared
    // (the handler switches it off after a burst, the loop below on again).
    let uart = layout::DEVICES.first().map(|uart| uart.base as usize);
    let storm_uart = || {
        if let Some(base) = uart {
            // SAFETY: this partition's own UART.
            unsafe {
                write_volatile((base + cmsdk_uart::BAUDDIV) as *mut u32, cmsdk_uart::MIN_BAUDDIV);
                write_volatile(
                    (base + cmsdk_uart::CTRL) as *mut u32,
                    cmsdk_uart::CTRL_TX_ENABLE | cmsdk_uart::CTRL_TX_INTERRUPT,
                );
                write_volatile((base + cmsdk_uart::DATA) as *mut u32, b'!' as u32);
            }
        }
    };
    storm_uart();
    unmask_irqs();
    let gicd = |offset: usize| (layout::GIC_DISTRIBUTOR + offset) as *mut u32;
    let mut storms = 0u32;
    let mut next_report = now() + 20_000;
    loop {
        // SAFETY: the distributor as this partition sees it (emulated): its
        // own interrupts only.
        unsafe {
            for word in 1..4 {
                write_volatile(gicd(0x200 + 4 * word), u32::MAX);
            }
            write_volatile(gicd(0x28C), u32::MAX);
            write_volatile(gicd(0x20C), u32::MAX);
        }
        // Some left pending behind a closed mask, as its window may end.
        mask_irqs();
        // SAFETY: as above.
        unsafe { write_volatile(gicd(0x20C), u32::MAX) };
        for _ in 0..200 {
            core::hint::spin_loop();
        }
        unmask_irqs();
        storms += 1;
        if storms % 64 == 0 {
            storm_uart();
        }
        if now() >= next_report {
            println!(
                "irq storms={storms} taken={} uart-taken={}",
                TAKEN.load(Ordering::Relaxed),
                UART_TAKEN.load(Ordering::Relaxed)
            );
            next_report += 20_000;
        }
    }
}

/// 224 KiB of `.bss` and 4 KiB of `.data` the kernel restores at every
/// restart.
static mut BIG_BSS: [u8; 224 * 1024] = [0; 224 * 1024];
static BIG_DATA: [AtomicU32; 1024] = [const { AtomicU32::new(0x600D_DA7A) }; 1024];

fn big_restart() -> ! {
    let activation = hypercall::identity().restarts;
    let bss = &raw mut BIG_BSS;
    // Every 64th byte and every word of .data: a sample the kernel could not
    // get right by luck.
    let mut bss_zero = true;
    for offset in (0..224 * 1024).step_by(64) {
        // SAFETY: this partition's own .bss, read through a raw pointer.
        bss_zero &= unsafe { read_volatile((bss as *const u8).add(offset)) } == 0;
    }
    let data_pristine = BIG_DATA.iter().all(|word| word.load(Ordering::Relaxed) == 0x600D_DA7A);
    println!(
        "restored activation={activation} bss={} data={}",
        if bss_zero { "zero" } else { "DIRTY" },
        if data_pristine { "pristine" } else { "DIRTY" }
    );
    for offset in (0..224 * 1024).step_by(64) {
        // SAFETY: as above.
        unsafe { write_volatile((bss as *mut u8).add(offset), 0xA5) };
    }
    for word in &BIG_DATA {
        word.store(activation, Ordering::Relaxed);
    }
    fault(activation)
}

/// The start and end, in partition time, of this partition's window that
/// contains partition time `at`.
fn own_window(at: u64) -> (u64, u64) {
    let budget: u64 = layout::WINDOWS.iter().map(|w| w.duration).sum::<u64>().max(1);
    let mut start = at / budget * budget;
    for window in layout::WINDOWS {
        if at < start + window.duration {
            return (start, start + window.duration);
        }
        start += window.duration;
    }
    (start, start + budget)
}

fn ldrex(address: *mut u32) -> u32 {
    let value;
    // SAFETY: an exclusive load of this partition's own word.
    unsafe { core::arch::asm!("ldrex {0}, [{1}]", out(reg) value, in(reg) address) };
    value
}

fn strex(address: *mut u32, value: u32) -> u32 {
    let status;
    // SAFETY: an exclusive store to this partition's own word.
    unsafe { core::arch::asm!("strex {0}, {1}, [{2}]", out(reg) status, in(reg) value, in(reg) address) };
    status
}

/// `LDREX` in one window, `STREX` in the next.
fn exclusives() -> ! {
    static WORD: AtomicU32 = AtomicU32::new(0);
    let word = WORD.as_ptr();
    loop {
        // A monitor opened in this window and closed in the same window
        // succeeds (the control)...
        let value = ldrex(word);
        let within = strex(word, value + 1);
        // ...one opened here and closed after a switch must not.
        let value = ldrex(word);
        let (_, end) = own_window(now());
        while now() < end {}
        let across = strex(word, value + 1);
        println!("exclusive across-switch strex={across} within-window strex={within}");
    }
}

/// Cache, branch predictor and TLB maintenance.
fn cache_maintenance() -> ! {
    let activation = hypercall::identity().restarts;
    let data = layout::REGIONS.iter().find(|r| r.name == "data").map_or(0, |r| r.base);
    let code = layout::REGIONS.iter().find(|r| r.name == "code").map_or(0, |r| r.base);
    let own_maintenance = || {
        for set_way in 0..512u32 {
            let operand = ((set_way & 3) << 30) | ((set_way >> 2) << 6);
            // SAFETY: set/way data cache maintenance: the kernel traps it
            // and must leave every partition's lines alone.
            unsafe {
                core::arch::asm!(
                    "mcr p15, 0, {0}, c7, c6, 2",  // DCISW
                    "mcr p15, 0, {0}, c7, c10, 2", // DCCSW
                    "mcr p15, 0, {0}, c7, c14, 2", // DCCISW
                    in(reg) operand,
                )
            };
        }
        // SAFETY: whole-cache, branch predictor and TLB maintenance, and
        // by-address maintenance of this partition's own lines.
        unsafe {
            core::arch::asm!(
                "mcr p15, 0, {z}, c7, c5, 0",   // ICIALLU
                "mcr p15, 0, {z}, c7, c1, 0",   // ICIALLUIS
                "mcr p15, 0, {z}, c7, c5, 6",   // BPIALL
                "mcr p15, 0, {z}, c7, c1, 6",   // BPIALLIS
                "mcr p15, 0, {c}, c7, c5, 7",   // BPIMVA
                "mcr p15, 0, {z}, c8, c7, 0",   // TLBIALL
                "mcr p15, 0, {d}, c8, c7, 1",   // TLBIMVA
                "mcr p15, 0, {d}, c7, c6, 1",   // DCIMVAC
                "mcr p15, 0, {d}, c7, c10, 1",  // DCCMVAC
                "mcr p15, 0, {d}, c7, c11, 1",  // DCCMVAU
                "mcr p15, 0, {d}, c7, c14, 1",  // DCCIMVAC
                "mcr p15, 0, {c}, c7, c5, 1",   // ICIMVAU
                "dsb",
                "isb",
                z = in(reg) 0u32,
                c = in(reg) code,
                d = in(reg) data,
            )
        };
    };
    own_maintenance();
    println!("cache own-maintenance ok activation={activation}");
    match activation {
        0 => {
            // A line of another partition's data: an invalidate must not
            // discard it, so the kernel refuses (fault policy).
            let target = layout::PARTITIONS
                .iter()
                .filter(|p| p.name != layout::NAME)
                .flat_map(|p| p.regions.iter())
                .find(|r| r.name == "data")
                .map_or(0, |r| r.base + ((r.size / 2) & !3));
            println!("cache attempt foreign-invalidate address={target:#010x}");
            // SAFETY: must trap and fault; nothing is invalidated.
            unsafe { core::arch::asm!("mcr p15, 0, {0}, c7, c6, 1", in(reg) target) };
            println!("ESCAPED cache foreign-invalidate");
        }
        1 => {
            let target = layout::KERNEL.get(1).map_or(0, |r| r.base);
            println!("cache attempt kernel-clean address={target:#010x}");
            // SAFETY: as above, for the kernel's data.
            unsafe { core::arch::asm!("mcr p15, 0, {0}, c7, c10, 1", in(reg) target) };
            println!("ESCAPED cache kernel-clean");
        }
        _ => loop {
            own_maintenance();
        },
    }
    fault(activation)
}

/// Leaves its virtual GIC busy and faults; after the restart, reports what
/// its GIC looks like.
fn vgic_reset() -> ! {
    let activation = hypercall::identity().restarts;
    let spi = layout::DEVICES.first().and_then(|d| d.interrupts.first()).copied().unwrap_or(64);
    let gicd = |offset: usize| (layout::GIC_DISTRIBUTOR + offset) as *mut u32;
    let sgi = |offset: usize| (layout::GIC_REDISTRIBUTOR + 0x1_0000 + offset) as *mut u32;
    let word = spi as usize / 32;
    let bit = 1u32 << (spi % 32);
    if activation == 0 {
        let mut gic = gic::init();
        gic::enable(&mut gic, spi, 0x40, Trigger::Level);
        gic::enable(&mut gic, VIRTUAL_TIMER, 0x40, Trigger::Level);
        bulkhead_sdk::gic::arm_gic::gicv3::GicCpuInterface::set_priority_mask(0x80);
        mask_irqs();
        // SAFETY: this partition's own interrupt, made pending.
        unsafe { write_volatile(gicd(0x200 + 4 * word), bit) };
        arm_virtual_timer(0);
        for _ in 0..100 {
            core::hint::spin_loop();
        }
        // One taken and never ended: active.
        let taken = gic::acknowledge();
        println!("vgic-reset busy activation=0 acknowledged={taken:?}");
        fault(activation)
    }
    // SAFETY: reads of this partition's own interrupt state (emulated).
    let (enabled, pending, timer_enabled) = unsafe {
        (
            read_volatile(gicd(0x100 + 4 * word)) & bit,
            read_volatile(gicd(0x200 + 4 * word)) & bit,
            read_volatile(sgi(0x100)) & (1 << VIRTUAL_TIMER),
        )
    };
    let pmr: u32;
    let hppir: u32;
    // SAFETY: reads of this partition's own virtual CPU interface.
    unsafe {
        core::arch::asm!("mrc p15, 0, {0}, c4, c6, 0", out(reg) pmr); // ICC_PMR
        core::arch::asm!("mrc p15, 0, {0}, c12, c12, 2", out(reg) hppir); // ICC_HPPIR1
    }
    let cntv_ctl = CntvCtl::read_raw();
    let cbar: u32;
    // SAFETY: a read of CBAR, which the kernel emulates (the GIC's base, how
    // a guest written for the bare core finds its interrupt controller).
    unsafe { core::arch::asm!("mrc p15, 1, {0}, c15, c3, 0", out(reg) cbar) };
    unmask_irqs();
    for _ in 0..2000 {
        core::hint::spin_loop();
    }
    mask_irqs();
    println!(
        "vgic-reset enabled={enabled:#x} pending={pending:#x} timer-enabled={timer_enabled:#x} pmr={pmr:#x} hppir={} cntv-ctl={cntv_ctl:#x} delivered={}",
        hppir & 0xFF_FFFF,
        TAKEN.load(Ordering::Relaxed)
    );
    println!("cbar={cbar:#010x} gicd={:#010x}", layout::GIC_DISTRIBUTOR);
    hypercall::stop(0)
}

/// The attack this partition makes: its name, without the `-c1` that names
/// the copy of an attacker on core 1 in two-core systems.
fn attack_name() -> &'static str {
    layout::NAME.strip_suffix("-c1").unwrap_or(layout::NAME)
}

/// Bytes between two cores' redistributors on the AN536 (RD and SGI frames
/// of 64 KiB each).
const REDISTRIBUTOR_STRIDE: usize = 0x2_0000;

/// Reaches for the other core's redistributor: disables every SGI and PPI
/// there (its window timer, PPI 26, among them), makes every SGI pending,
/// and puts it to sleep through `GICR_WAKER`, every window. Each access is
/// a trapped GIC access the kernel ignores (`@vgic-ignored ... other-gicr`);
/// the other core's schedule must go on exactly as if nothing happened.
fn other_redistributor() -> ! {
    let own = layout::GIC_REDISTRIBUTOR;
    let other = if layout::CORE == 0 { own + REDISTRIBUTOR_STRIDE } else { own - REDISTRIBUTOR_STRIDE };
    println!("other-gicr attack own={own:#010x} other={other:#010x}");
    let mut rounds = 0u32;
    loop {
        // SAFETY: trapped accesses the kernel ignores; if one reached the
        // hardware, the test sees the other core's windows stop.
        unsafe {
            write_volatile((other + 0x1_0180) as *mut u32, u32::MAX); // GICR_ICENABLER0
            write_volatile((other + 0x1_0200) as *mut u32, 0xFFFF); // GICR_ISPENDR0: SGIs
            write_volatile((other + 0x1_0380) as *mut u32, u32::MAX); // GICR_ICACTIVER0
            write_volatile((other + 0x14) as *mut u32, 0b10); // GICR_WAKER.ProcessorSleep
        }
        rounds += 1;
        if rounds.is_multiple_of(64) {
            println!("other-gicr rounds={rounds}");
        }
        hypercall::yield_window();
    }
}

#[entry]
fn main() -> ! {
    match attack_name() {
        "atk-timer-fault" => timer_then_stop(false),
        "atk-timer-stop" => timer_then_stop(true),
        "ticker" => ticker(),
        "atk-console" => console_flood(),
        "atk-hypercalls" => hypercall_flood(),
        "atk-irq" => irq_storm(),
        "atk-restart" => big_restart(),
        "atk-exclusive" => exclusives(),
        "atk-cache" => cache_maintenance(),
        "vgic-reset" => vgic_reset(),
        "atk-other-gicr" => other_redistributor(),
        other => {
            println!("no attack named {other}");
            hypercall::stop(1)
        }
    }
}
