//! Demo partition: a UART of its own, driven by its receive interrupt.
//!
//! The partition is given a board UART (a CMSDK APB UART: `uart2` in the
//! demo) and with it the UART's interrupts. It enables the receive
//! interrupt, sleeps in `WFI`, and its handler echoes every byte back on the
//! UART; each completed line is also reported on the console. Its interrupt
//! is delivered only to it, and while it is switched out the interrupt waits
//! for its next window.

#![no_std]
#![no_main]

use bulkhead_sdk::gic::{self, arm_gic::Trigger};
use bulkhead_sdk::{entry, layout, println};
use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use cmsdk_uart::{
    BAUDDIV, CTRL, CTRL_RX_ENABLE, CTRL_RX_INTERRUPT, CTRL_TX_ENABLE, DATA, INT_RX, INTSTATUS, MIN_BAUDDIV, STATE,
    STATE_RX_FULL, STATE_TX_FULL,
};

fn uart() -> usize {
    layout::DEVICES.first().map_or(0, |device| device.base as usize)
}

fn read(offset: usize) -> u32 {
    // SAFETY: a register of this partition's own UART.
    unsafe { read_volatile((uart() + offset) as *const u32) }
}

fn write(offset: usize, value: u32) {
    // SAFETY: as in `read`.
    unsafe { write_volatile((uart() + offset) as *mut u32, value) }
}

/// The line being received, for the console report.
static LINE: [AtomicU32; 64] = [const { AtomicU32::new(0) }; 64];
static LINE_LENGTH: AtomicUsize = AtomicUsize::new(0);
static LINE_DONE: AtomicBool = AtomicBool::new(false);
static ECHOED: AtomicU32 = AtomicU32::new(0);

#[aarch32_rt::irq]
fn irq_handler() {
    while let Some(intid) = gic::acknowledge().filter(|intid| *intid < 1020) {
        // Clear the receive interrupt first, then drain: a byte that arrives
        // after the last look at RX-full raises the interrupt again. (The
        // other order loses it: the byte sits in the one-byte receive buffer
        // with the interrupt cleared, and the UART, full, never receives, so
        // never interrupts, again.)
        write(INTSTATUS, INT_RX);
        while read(STATE) & STATE_RX_FULL != 0 {
            let byte = read(DATA) & 0xFF;
            while read(STATE) & STATE_TX_FULL != 0 {}
            write(DATA, byte);
            ECHOED.fetch_add(1, Ordering::Relaxed);
            if byte == b'\n' as u32 || byte == b'\r' as u32 {
                LINE_DONE.store(true, Ordering::Release);
            } else if !LINE_DONE.load(Ordering::Acquire) {
                let length = LINE_LENGTH.load(Ordering::Relaxed);
                if let Some(slot) = LINE.get(length) {
                    slot.store(byte, Ordering::Relaxed);
                    LINE_LENGTH.store(length + 1, Ordering::Relaxed);
                }
            }
        }
        gic::end(intid);
    }
}

#[entry]
fn main() -> ! {
    // A CMSDK UART's interrupts are receive, transmit, combined.
    let rx_interrupt = layout::DEVICES.first().and_then(|device| device.interrupts.first()).copied().unwrap_or(0);
    write(BAUDDIV, MIN_BAUDDIV);
    write(CTRL, CTRL_TX_ENABLE | CTRL_RX_ENABLE | CTRL_RX_INTERRUPT);
    let mut gic = gic::init();
    gic::enable(&mut gic, rx_interrupt, 0x80, Trigger::Level);
    // SAFETY: this partition's own interrupt mask; the handler is ready.
    unsafe { core::arch::asm!("cpsie i") };
    let name = layout::DEVICES.first().map_or("its UART", |device| device.name);
    println!("echo: type into {name}; every byte comes back, driven by the RX interrupt");
    loop {
        if LINE_DONE.load(Ordering::Acquire) {
            let length = LINE_LENGTH.load(Ordering::Relaxed).min(LINE.len());
            let mut text = [0u8; 64];
            for (byte, slot) in text.iter_mut().zip(LINE.iter()).take(length) {
                *byte = slot.load(Ordering::Relaxed) as u8;
            }
            let line = core::str::from_utf8(&text[..length]).unwrap_or("(not utf-8)");
            println!("echo: line \"{line}\" ({length} bytes, {} echoed so far)", ECHOED.load(Ordering::Relaxed));
            LINE_LENGTH.store(0, Ordering::Relaxed);
            LINE_DONE.store(false, Ordering::Release);
        }
        aarch32_rt_wfi();
    }
}

fn aarch32_rt_wfi() {
    // SAFETY: waits for this partition's next interrupt (or the end of its window).
    unsafe { core::arch::asm!("wfi") };
}
