//! Test partition: the health monitor of `tests/systems/health.toml`, each
//! role chosen by the partition's name.
//!
//! - `hm` is the monitor (core 0). In its first window it makes every
//!   privileged call wrong (itself, an unknown partition or operation, a
//!   resume of a partition that is not suspended, an unknown core, a buffer
//!   in kernel memory). Every window it reads both cores' error logs from
//!   where it stopped and prints each new entry; it resumes `remote` when
//!   its watchdog suspended it, cold-restarts `keeper` once keeper has
//!   faulted twice, and warm-restarts `remote` (on the other core) a few
//!   windows after resuming it. Its notify interrupt is counted.
//! - `dog` (watchdog, action `log`) kicks in its first windows, stops for
//!   a while, then kicks again.
//! - `crasher` (action `restart-cold`, at most 2 restarts) faults in every
//!   life: two restarts, then the limit halts it.
//! - `keeper` (warm restarts) counts its lives in a `noinit` region and in
//!   a plain one, and faults in its first two lives.
//! - `flood` sends ten messages into a queue of four nobody reads: one
//!   run of overflows, one report.
//! - `rogue` (core 1) makes every privileged call and the calls that are
//!   not its to make, then misuses the GIC (a byte store to `GICD_CTLR`).
//! - `remote` (core 1, watchdog of 400 us, action `monitor`, windows of
//!   300 us) does not kick in its first two windows, so it is suspended
//!   before its third until the monitor resumes it; it kicks from then on.
//!
//! Lines: `hm checks ...`, `hm log core=C n=N who=NAME kind=K action=A
//! detail=D`, `hm resume|cold|restart NAME=RESULT`, `dog window=W`,
//! `crasher life=R`, `keeper life=R noinit=N plain=P`, `flood sent=S
//! full=F overflows=O`, `rogue ...`, `remote window=W life=R`.

#![no_std]
#![no_main]

use bulkhead_sdk::abi::health::{ControlOp, ErrorKind, HealthAction};
use bulkhead_sdk::abi::{Call, Error};
use bulkhead_sdk::gic::{self, arm_gic::Trigger};
use bulkhead_sdk::port::QueueSender;
use bulkhead_sdk::{entry, hypercall, layout, println};
use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicU32, Ordering};

/// Notify interrupts taken (the monitor's).
static NOTIFIED: AtomicU32 = AtomicU32::new(0);

#[aarch32_rt::irq]
fn irq_handler() {
    while let Some(intid) = gic::acknowledge() {
        if intid >= 1020 {
            break;
        }
        NOTIFIED.fetch_add(1, Ordering::Relaxed);
        gic::end(intid);
    }
}

fn name(result: Result<(), Error>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(error) => error.name(),
    }
}

/// The id of partition `who` (its place in the system map).
fn id_of(who: &str) -> u32 {
    layout::PARTITIONS.iter().position(|p| p.name == who).expect("a partition of health.toml") as u32
}

fn name_of(id: u8) -> &'static str {
    layout::PARTITIONS.get(id as usize).map_or("?", |p| p.name)
}

fn kind_name(kind: u8) -> &'static str {
    ErrorKind::from_number(kind.into()).map_or("?", ErrorKind::name)
}

fn action_name(action: u8) -> &'static str {
    HealthAction::from_number(action.into()).map_or("?", HealthAction::name)
}

fn life() -> u32 {
    hypercall::identity().restarts
}

/// A word of this partition's region `region`.
fn word(region: &str) -> *mut u32 {
    let region = layout::REGIONS.iter().find(|r| r.name == region).expect("a region of health.toml");
    region.base as *mut u32
}

/// A load from the kernel's memory: a stage-2 fault.
fn fault() -> ! {
    let kernel = layout::KERNEL[1].base as *const u32;
    // SAFETY: deliberately wrong: the EL2 MPU must stop it.
    let value = unsafe { read_volatile(kernel) };
    println!("ESCAPED: read {value:#x} from kernel memory");
    loop {
        hypercall::yield_window();
    }
}

fn monitor() -> ! {
    let mut gic = gic::init();
    if let Some(notify) = layout::MONITOR_NOTIFY {
        gic::enable(&mut gic, notify, 0x80, Trigger::Edge);
    }
    // SAFETY: this partition's own interrupt mask.
    unsafe { core::arch::asm!("cpsie i") };
    let me = hypercall::identity().id as u32;
    let keeper = id_of("keeper");
    let remote = id_of("remote");
    let resume = hypercall::partition_control(keeper, ControlOp::Resume);
    let own = hypercall::partition_control(me, ControlOp::Halt);
    let unknown = hypercall::partition_control(200, ControlOp::Halt);
    let op = hypercall::partition_control_raw(keeper, 9);
    let core = hypercall::health_log(7, 1).map(|_| ()).map_err(|(error, bounds)| (error, bounds.newest, bounds.oldest));
    let kernel = layout::KERNEL[1].base;
    let buffer = hypercall::raw(Call::HealthLog as u32, [0, 1, kernel])[0];
    println!(
        "hm checks resume={} self={} unknown={} op={} core={} buf={}",
        name(resume),
        name(own),
        name(unknown),
        name(op),
        match core {
            Err((error, 0, 0)) => error.name(),
            _ => "WRONG",
        },
        Error::from_status(buffer).map_or("ok", Error::name),
    );
    let mut next = [1u32; 2];
    let mut keeper_faults = 0;
    let mut keeper_second_fault = None;
    let mut cold_done = false;
    let mut resumed_at = None;
    let mut restart_done = false;
    let mut window = 0u32;
    loop {
        window += 1;
        for core in 0..2u32 {
            loop {
                let at = next[core as usize];
                match hypercall::health_log(core, at) {
                    Ok((entry, _)) => {
                        next[core as usize] = at + 1;
                        let who = name_of(entry.partition);
                        println!(
                            "hm log core={} n={} who={} kind={} action={} notified={}",
                            entry.core,
                            entry.number,
                            who,
                            kind_name(entry.kind),
                            action_name(entry.action),
                            NOTIFIED.load(Ordering::Relaxed)
                        );
                        if who == "keeper" && entry.kind == ErrorKind::Fault as u8 {
                            keeper_faults += 1;
                            if keeper_faults == 2 {
                                keeper_second_fault = Some(window);
                            }
                        }
                        if who == "remote" && entry.action == HealthAction::Monitor as u8 {
                            let result = hypercall::partition_control(remote, ControlOp::Resume);
                            println!("hm resume remote={}", name(result));
                            resumed_at = Some(window);
                        }
                    }
                    Err((_, bounds)) => {
                        // Entries lost to the ring's wrap are skipped.
                        if bounds.oldest > at {
                            println!("hm lost core={core} from={at} to={}", bounds.oldest - 1);
                            next[core as usize] = bounds.oldest;
                            continue;
                        }
                        break;
                    }
                }
            }
        }
        // A few windows after its second warm restart, so that its third
        // life has run.
        if !cold_done && keeper_second_fault.is_some_and(|at| window >= at + 3) {
            cold_done = true;
            println!("hm cold keeper={}", name(hypercall::partition_control(keeper, ControlOp::RestartCold)));
        }
        if !restart_done && resumed_at.is_some_and(|at| window == at + 5) {
            restart_done = true;
            println!("hm restart remote={}", name(hypercall::partition_control(remote, ControlOp::Restart)));
        }
        hypercall::yield_window();
    }
}

fn dog() -> ! {
    let mut window = 0u32;
    loop {
        window += 1;
        if !(4..=8).contains(&window) {
            let _ = hypercall::watchdog_kick();
        }
        println!("dog window={window}");
        hypercall::yield_window();
    }
}

fn crasher() -> ! {
    println!("crasher life={}", life());
    hypercall::yield_window();
    fault()
}

fn keeper() -> ! {
    let (noinit, plain) = (word("state"), word("scratch"));
    // SAFETY: the partition's own regions of health.toml.
    let (kept, cleared) = unsafe { (read_volatile(noinit), read_volatile(plain)) };
    let life = life();
    println!("keeper life={life} noinit={kept} plain={cleared}");
    // SAFETY: as above.
    unsafe {
        write_volatile(noinit, kept + 1);
        write_volatile(plain, cleared + 1);
    }
    hypercall::yield_window();
    if life < 2 {
        fault();
    }
    loop {
        hypercall::yield_window();
    }
}

fn flood() -> ! {
    let alarms = QueueSender::open("alarms").expect("flood writes alarms");
    let (mut sent, mut full) = (0, 0);
    for n in 0..10u8 {
        match alarms.send(&[n; 16]) {
            Ok(()) => sent += 1,
            Err(_) => full += 1,
        }
    }
    println!("flood sent={sent} full={full} overflows={}", alarms.overflows(0));
    loop {
        hypercall::yield_window();
    }
}

fn rogue() -> ! {
    let keeper = id_of("keeper");
    let log = hypercall::health_log(0, 1).map(|_| ()).map_err(|(error, _)| error);
    let control = hypercall::partition_control(keeper, ControlOp::Halt);
    let kick = hypercall::watchdog_kick();
    let report = hypercall::health_report(ErrorKind::Fault, 0);
    let overflow = hypercall::health_report(ErrorKind::PortOverflow, 0);
    println!(
        "rogue log={} control={} kick={} report={} overflow={}",
        name(log),
        name(control),
        name(kick),
        name(report),
        name(overflow)
    );
    hypercall::yield_window();
    let ctlr = layout::GIC_DISTRIBUTOR as *mut u8;
    // SAFETY: deliberately wrong: a byte store to GICD_CTLR, which the
    // virtual GIC refuses.
    unsafe { write_volatile(ctlr, 1) };
    println!("rogue ESCAPED: a byte store to GICD_CTLR went through");
    loop {
        hypercall::yield_window();
    }
}

fn remote() -> ! {
    let life = life();
    let mut window = 0u32;
    loop {
        println!("remote window={window} life={life}");
        if window >= 2 {
            let _ = hypercall::watchdog_kick();
        }
        window += 1;
        hypercall::yield_window();
    }
}

#[entry]
fn main() -> ! {
    match layout::NAME {
        "hm" => monitor(),
        "dog" => dog(),
        "crasher" => crasher(),
        "keeper" => keeper(),
        "flood" => flood(),
        "rogue" => rogue(),
        "remote" => remote(),
        other => panic!("test-health has no role for partition `{other}`"),
    }
}
