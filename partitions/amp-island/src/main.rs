//! The AMP safety island: this partition is the VIRTIO rpmsg *device* of
//! the link its system description gives it, and serves two rpmsg services
//! to the other processor (the driver, a Cortex-A running Linux):
//!
//! - `tty` (announced as `rpmsg-tty` by default): a console. Lines typed
//!   on the other side are commands: `help`, `status`, `echo TEXT`, and,
//!   only in a build whose description marks the link `demo = true`,
//!   `crash` (fault on purpose, to watch the kernel restart the island and
//!   the link come back: it lets the less trusted side restart the island
//!   at will, so nothing but a demo offers it);
//! - `echo` (announced as `rpmsg-client-sample` by default, which Linux's
//!   sample client talks to): every message goes back to its sender.
//!
//! The partition sleeps until its mailbox interrupt (the other side's
//! doorbell) and then works the link; everything the other side wrote is
//! checked by `bulkhead-virtio` before use. A ring or table error takes the
//! link down (NEEDS_RESET) until the driver resets it; the island and its
//! neighbours go on. After a restart the island resumes a running link and
//! announces its services again.

#![no_std]
#![no_main]

mod console;

use bulkhead_doorbell::mhuv2::Mhuv2Doorbell;
use bulkhead_doorbell::mru::MruDoorbell;
use bulkhead_doorbell::uart::UartDoorbell;
use bulkhead_doorbell::{Doorbell, Registers};
use bulkhead_sdk::gic::{self, arm_gic::Trigger};
use bulkhead_sdk::layout::{self, MailboxDriver, ServiceKind, VirtioLink};
use bulkhead_sdk::{entry, println};
use bulkhead_virtio::device::{Event, Incoming, RpmsgDevice, SendError};
use bulkhead_virtio::resource_table::{ADDR_ANY, LinkLayout, VringSpec};
use bulkhead_virtio::rpmsg::{self, BUFFER_SIZE, NS_ADDR, NS_CREATE};
use bulkhead_virtio::window::MmioWindow;
use core::cell::RefCell;
use core::sync::atomic::{AtomicBool, Ordering};
use critical_section::Mutex;

/// The doorbell hardware the description chose.
enum AnyDoorbell {
    Uart(UartDoorbell),
    Mru(MruDoorbell),
    Mhuv2(Mhuv2Doorbell),
}

impl Doorbell for AnyDoorbell {
    fn ring(&mut self) {
        match self {
            AnyDoorbell::Uart(d) => d.ring(),
            AnyDoorbell::Mru(d) => d.ring(),
            AnyDoorbell::Mhuv2(d) => d.ring(),
        }
    }

    fn take(&mut self) -> bool {
        match self {
            AnyDoorbell::Uart(d) => d.take(),
            AnyDoorbell::Mru(d) => d.take(),
            AnyDoorbell::Mhuv2(d) => d.take(),
        }
    }
}

static DOORBELL: Mutex<RefCell<Option<AnyDoorbell>>> = Mutex::new(RefCell::new(None));
/// The other side rang since the main loop last looked.
static RANG: AtomicBool = AtomicBool::new(false);

#[aarch32_rt::irq]
fn irq_handler() {
    while let Some(intid) = gic::acknowledge().filter(|intid| *intid < 1020) {
        let rang = critical_section::with(|cs| DOORBELL.borrow_ref_mut(cs).as_mut().is_some_and(|d| d.take()));
        if rang {
            RANG.store(true, Ordering::Release);
        }
        gic::end(intid);
    }
}

fn ring() {
    critical_section::with(|cs| {
        if let Some(doorbell) = DOORBELL.borrow_ref_mut(cs).as_mut() {
            doorbell.ring();
        }
    });
    bench::rang();
}

fn doorbell_for(link: &VirtioLink) -> AnyDoorbell {
    let mailbox = link.mailbox;
    // SAFETY: the mailbox devices are this partition's (the generator
    // checked they are among its devices); nothing else here drives them.
    let (own, other) = unsafe { (Registers::new(mailbox.base as usize), Registers::new(mailbox.send_base as usize)) };
    match mailbox.driver {
        MailboxDriver::Uart => AnyDoorbell::Uart(UartDoorbell::new(own)),
        MailboxDriver::NxpMru => AnyDoorbell::Mru(MruDoorbell::new(own, other, mailbox.channel as usize)),
        MailboxDriver::ArmMhuv2 => AnyDoorbell::Mhuv2(Mhuv2Doorbell::new(other, own, mailbox.channel as usize)),
    }
}

fn link_layout(link: &VirtioLink) -> LinkLayout {
    let spec = |n: usize| {
        let vring = link.vrings[n];
        VringSpec {
            da: vring.offset.map_or(ADDR_ANY, |offset| link.window_base + offset),
            align: vring.align,
            num: vring.num,
        }
    };
    LinkLayout {
        local_base: link.window_base,
        size: link.window_size,
        remote_base: link.remote_base,
        table: link.table,
        pool: link.pool,
        vrings: [spec(0), spec(1)],
        features: rpmsg::F_NS,
    }
}

/// One rpmsg buffer, word-aligned so copies to and from the window go a
/// word at a time.
#[repr(C, align(8))]
struct Buffer([u8; BUFFER_SIZE]);

/// The island's state besides the device.
struct Island {
    link: &'static VirtioLink,
    device: RpmsgDevice,
    window: MmioWindow,
    /// The message being handled.
    buffer: Buffer,
    console: console::Console,
    /// Service announcements still to send (bit n: service n).
    to_announce: u32,
    restarts: u32,
}

impl Island {
    fn handle(&mut self, event: Event) {
        match event {
            Event::Ready { features } => {
                println!(
                    "island: link {} ready (features {features:#x}, handshake {})",
                    self.link.name,
                    self.device.stats().handshakes
                );
                self.to_announce = (1 << self.link.services.len()) - 1;
            }
            Event::Reset(by) => {
                println!("island: link {} reset by the driver ({}); waiting for it", self.link.name, by.describe());
                self.to_announce = 0;
                // Tells the driver the reset was seen (see bulkhead_virtio::device).
                ring();
            }
            Event::Broken(fault) => {
                println!(
                    "island: link {} broken: {} on {}; NEEDS_RESET set, waiting for a reset",
                    self.link.name,
                    fault.reason(),
                    fault.queue().map_or("table", |q| q.name())
                );
                self.to_announce = 0;
                ring();
            }
        }
    }

    fn announce(&mut self) {
        for (n, service) in self.link.services.iter().enumerate() {
            if self.to_announce & (1 << n) == 0 {
                continue;
            }
            let message = rpmsg::name_service_message(service.name, service.address, NS_CREATE);
            match self.device.send(&mut self.window, service.address, NS_ADDR, &message) {
                Ok(()) => {
                    self.to_announce &= !(1 << n);
                    println!("island: announced {} at {}", service.name, service.address);
                }
                Err(SendError::NoBuffer) => return,
                Err(error) => {
                    println!("island: cannot announce {}: {error:?}", service.name);
                    return;
                }
            }
        }
    }

    /// Works the link until nothing is left to do now.
    fn service(&mut self) {
        if let Some(event) = self.device.poll(&mut self.window) {
            self.handle(event);
            // A reset can be followed at once by the next handshake (a
            // driver that started over under DRIVER_OK): look again while
            // things change.
            for _ in 0..2 {
                let Some(event) = self.device.poll(&mut self.window) else { break };
                self.handle(event);
            }
        }
        if self.to_announce != 0 {
            self.announce();
        }
        // Take a message only when a reply could go out: the driver's
        // doorbell after it posts buffers brings the island back.
        // Stop when the available index showed no more: the driver rings
        // after it posts, so a later message brings the island back.
        while self.to_announce == 0 && self.device.can_send(&self.window) {
            match self.device.receive(&mut self.window, &mut self.buffer.0) {
                Ok(Some(Incoming::Message(header))) => self.dispatch(header),
                Ok(Some(Incoming::Dropped(error))) => println!("island: dropped a message: {}", error.reason()),
                Ok(None) => break,
                Err(fault) => {
                    self.handle(Event::Broken(fault));
                    break;
                }
            }
            if !self.device.more_received() {
                break;
            }
        }
        if self.device.take_notify() {
            ring();
        }
    }

    /// Handles the message in `self.buffer`.
    fn dispatch(&mut self, header: rpmsg::Header) {
        let (src, dst) = (header.src, header.dst);
        let Some(service) = self.link.services.iter().find(|s| s.address == dst) else {
            println!("island: message for unknown endpoint {dst} from {src} dropped");
            return;
        };
        // The header is the island's own copy, checked against the buffer:
        // never `None` (see bulkhead_virtio::rpmsg::payload).
        let Some(payload) = rpmsg::payload(&self.buffer.0, &header) else {
            println!("island: message from {src} says more than its buffer; dropped");
            return;
        };
        let result = match service.kind {
            ServiceKind::Echo => self.device.send(&mut self.window, dst, src, payload),
            ServiceKind::Tty => {
                let mut output = console::Output::new();
                let facts = console::Facts { stats: self.device.stats(), restarts: self.restarts };
                self.console.input(payload, facts, &mut output);
                output.chunks().try_for_each(|chunk| self.device.send(&mut self.window, dst, src, chunk))
            }
        };
        if let Err(error) = result {
            println!("island: reply to {src} lost: {error:?}");
            if let SendError::Broken(fault) = error {
                self.handle(Event::Broken(fault));
            }
        }
    }
}

/// Sleeps until the next doorbell (or the end of the window).
fn wait_for_doorbell() {
    // SAFETY: masking this partition's own interrupts around the check, so a
    // doorbell between the check and WFI still wakes it (WFI wakes on a
    // pending interrupt even when masked).
    unsafe { core::arch::asm!("cpsid i") };
    if !RANG.load(Ordering::Acquire) {
        // SAFETY: waits for this partition's next interrupt.
        unsafe { core::arch::asm!("wfi") };
    }
    // SAFETY: unmask again; the handler is ready.
    unsafe { core::arch::asm!("cpsie i") };
}

#[entry]
fn main() -> ! {
    let Some(link) = layout::VIRTIO.first() else {
        println!("island: no VIRTIO link in the system description; nothing to do");
        loop {
            bulkhead_sdk::hypercall::yield_window();
        }
    };
    let restarts = bulkhead_sdk::hypercall::identity().restarts;
    let doorbell = doorbell_for(link);
    critical_section::with(|cs| *DOORBELL.borrow_ref_mut(cs) = Some(doorbell));
    let mut gic = gic::init();
    gic::enable(&mut gic, link.mailbox.interrupt, 0x80, Trigger::Level);

    // SAFETY: the window is this partition's region (mapped read/write,
    // non-cacheable, by the kernel) and nothing else in it uses the memory.
    let window = unsafe { MmioWindow::new(link.window_base as *mut u8, link.window_size) };
    let mut island = Island {
        link,
        device: RpmsgDevice::new(link_layout(link)),
        window,
        buffer: Buffer([0; BUFFER_SIZE]),
        console: console::Console::new(link.demo),
        to_announce: 0,
        restarts,
    };
    match island.device.start(&mut island.window, restarts > 0) {
        Ok(Some(event)) => island.handle(event),
        Ok(None) => {}
        Err(error) => println!("island: cannot write the resource table: {}", error.reason()),
    }
    println!(
        "island: device of link {} ({} KiB window at {:#010x}), {} services, {}",
        link.name,
        link.window_size / 1024,
        link.window_base,
        link.services.len(),
        if restarts > 0 { "resumed after a restart" } else { "waiting for the driver" }
    );
    // SAFETY: the handler and the doorbell are ready.
    unsafe { core::arch::asm!("cpsie i") };
    loop {
        RANG.store(false, Ordering::Release);
        island.service();
        wait_for_doorbell();
    }
}

/// Markers for `cargo xtask bench` (see tools/xtask/src/bench.rs).
mod bench {
    core::arch::global_asm!(
        r#"
        .section .text.island_rang,"ax",%progbits
        .arm
        .global island_rang
        .type island_rang, %function
    island_rang:
        bx      lr
        .size island_rang, . - island_rang
        "#
    );

    unsafe extern "C" {
        fn island_rang();
    }

    /// The island just rang the other side.
    pub fn rang() {
        // SAFETY: an empty function.
        unsafe { island_rang() };
    }
}
