//! Bench partition: what `cargo xtask bench` times on channels, each role
//! chosen by the partition's name.
//!
//! - `bench-writer` (`bench-ports.toml`), once per window: writes a 64-byte
//!   value to sampling channel `sample` ([`bench_sampling_write`]) and sends
//!   a 64-byte message on queuing channel `queue` ([`bench_queue_send`]).
//! - `bench-reader` (same core), once per window: reads `sample`
//!   ([`bench_sampling_read`]) and drains `queue`.
//! - `notify-writer` (`bench-notify.toml`, core 0), once per window: sends a
//!   64-byte message on `ping` and notifies its reader ([`bench_ipc_send`],
//!   the notify itself in [`bench_notify`]),
//!   then waits for interrupts (so core 0 executes nothing more).
//! - `notify-reader` (core 1) waits for interrupts all through its window;
//!   its interrupt handler's first call is `bench_notified`.
//!
//! Each timed function is exported by name and followed by a call of its own
//! marker (`bench_*_done`): the bench counts the instructions from a
//! function's first to its marker's.

#![no_std]
#![no_main]

use bulkhead_sdk::gic::{self, arm_gic::Trigger};
use bulkhead_sdk::port::{QueueReceiver, QueueSender, SamplingReader, SamplingWriter};
use bulkhead_sdk::{entry, hypercall, layout, println};

// One distinct marker per timed operation (distinct code, so the linker
// can never fold two into one address).
core::arch::global_asm!(
    r#"
    .section .text.bench_markers,"ax",%progbits
    .arm
    .global bench_sampling_write_done
bench_sampling_write_done:
    mov r0, r0
    bx lr
    .global bench_sampling_read_done
bench_sampling_read_done:
    mov r1, r1
    bx lr
    .global bench_queue_send_done
bench_queue_send_done:
    mov r2, r2
    bx lr
    .global bench_notified
bench_notified:
    mov r3, r3
    bx lr
    "#
);

unsafe extern "C" {
    fn bench_sampling_write_done();
    fn bench_sampling_read_done();
    fn bench_queue_send_done();
    fn bench_notified();
}

const VALUE: [u8; 64] = [0x5A; 64];

/// Writes one 64-byte value, dated with system time (`SystemTime`).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn bench_sampling_write(writer: &SamplingWriter) -> bool {
    writer.write(&VALUE).is_ok()
}

/// Reads the latest value and its age (one `SystemTime`).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn bench_sampling_read(reader: &SamplingReader, out: &mut [u8; 64]) -> bool {
    reader.read(out).is_ok()
}

/// Queues one 64-byte message to every reader.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn bench_queue_send(sender: &QueueSender) -> bool {
    sender.send(&VALUE).is_ok()
}

/// Queues one 64-byte message and notifies the readers
/// ([`bench_notify`]).
#[unsafe(no_mangle)]
#[inline(never)]
pub fn bench_ipc_send(sender: &QueueSender) -> bool {
    let sent = sender.send(&VALUE).is_ok();
    sent & bench_notify(sender)
}

/// Notifies the readers (`PortNotify`): where `ipc_notify_insns` starts.
#[unsafe(no_mangle)]
#[inline(never)]
pub fn bench_notify(sender: &QueueSender) -> bool {
    sender.notify().is_ok()
}

#[aarch32_rt::irq]
fn irq_handler() {
    // SAFETY: an empty exported function (the bench's marker).
    unsafe { bench_notified() };
    // The notify reader drains its queue after the mark.
    if let Some(ping) = QueueReceiver::open("ping") {
        let mut message = [0u8; 64];
        while ping.receive(&mut message).is_ok() {}
    }
    while let Some(intid) = gic::acknowledge() {
        if intid >= 1020 {
            break;
        }
        gic::end(intid);
    }
}

fn writer() -> ! {
    let sample = SamplingWriter::open("sample").expect("bench-writer writes sample");
    let queue = QueueSender::open("queue").expect("bench-writer writes queue");
    let (mut written, mut sent) = (0u32, 0u32);
    loop {
        written += bench_sampling_write(&sample) as u32;
        // SAFETY: an empty exported function (the bench's marker).
        unsafe { bench_sampling_write_done() };
        sent += bench_queue_send(&queue) as u32;
        // SAFETY: as above.
        unsafe { bench_queue_send_done() };
        if written % 16 == 0 {
            println!("bench-writer written={written} sent={sent}");
        }
        hypercall::yield_window();
    }
}

fn reader() -> ! {
    let sample = SamplingReader::open("sample").expect("bench-reader reads sample");
    let queue = QueueReceiver::open("queue").expect("bench-reader reads queue");
    let mut value = [0u8; 64];
    let (mut read, mut taken) = (0u32, 0u32);
    loop {
        read += bench_sampling_read(&sample, &mut value) as u32;
        // SAFETY: an empty exported function (the bench's marker).
        unsafe { bench_sampling_read_done() };
        while queue.receive(&mut value).is_ok() {
            taken += 1;
        }
        if read % 16 == 0 {
            println!("bench-reader read={read} taken={taken}");
        }
        hypercall::yield_window();
    }
}

fn notify_writer() -> ! {
    let ping = QueueSender::open("ping").expect("notify-writer writes ping");
    let (mut window, mut ok) = (0u32, true);
    loop {
        window += 1;
        // Printed before the send, never between the notify and the
        // reader's handler: QEMU runs the other core only when this one
        // waits, so a print there would count as notify latency.
        if window % 16 == 0 {
            println!("notify-writer window={window} ok={ok}");
        }
        ok = bench_ipc_send(&ping);
        // Nothing more on this core until an interrupt: the window's end
        // (taken at EL2) or nothing. Every instruction counted after the
        // notify is on the path to the reader's handler.
        aarch32_cpu::asm::wfi();
    }
}

fn notify_reader() -> ! {
    let ping = QueueReceiver::open("ping").expect("notify-reader reads ping");
    let intid = ping.channel().notify.expect("ping notifies");
    let mut gic = gic::init();
    gic::enable(&mut gic, intid, 0x80, Trigger::Edge);
    // SAFETY: this partition's own interrupt mask.
    unsafe { core::arch::asm!("cpsie i") };
    loop {
        aarch32_cpu::asm::wfi();
    }
}

#[entry]
fn main() -> ! {
    match layout::NAME {
        "bench-writer" => writer(),
        "bench-reader" => reader(),
        "notify-writer" => notify_writer(),
        "notify-reader" => notify_reader(),
        other => panic!("bench-ports has no role for partition `{other}`"),
    }
}
