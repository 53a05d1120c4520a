//! Demo partition: an unmodified `embassy-executor` application.
//!
//! Three tasks sleep on different periods with `embassy_time::Timer`, driven
//! by the EL1 virtual timer through `embassy-time-vtimer`, and print when
//! they wake. Under Bulkhead the virtual counter is partition time, which
//! stands still outside this partition's windows: each task wakes on its
//! period *of partition time*, however the other partitions use the core.
//!
//! The executor is embassy's own Cortex-A/R thread-mode executor (WFE/SEV);
//! the GIC is driven with `arm-gic` through the SDK's `gic` module. Nothing
//! here knows about the separation kernel except the console it prints to.

#![no_std]
#![no_main]

use bulkhead_sdk::gic::{self, arm_gic::Trigger};
use bulkhead_sdk::println;
use embassy_executor::Spawner;
use embassy_time::{Duration, Instant, Timer};

#[aarch32_rt::irq]
fn irq_handler() {
    while let Some(intid) = gic::acknowledge().filter(|intid| *intid < 1020) {
        if intid == embassy_time_vtimer::INTERRUPT_ID {
            embassy_time_vtimer::on_interrupt();
        }
        gic::end(intid);
    }
}

#[embassy_executor::task(pool_size = 3)]
async fn sleeper(name: &'static str, period: Duration) {
    let start = Instant::now();
    let mut wakes = 0u64;
    loop {
        wakes += 1;
        Timer::at(start + period * wakes as u32).await;
        let late = Instant::now() - (start + period * wakes as u32);
        println!("task={name} wake={wakes} period-us={} late-us={}", period.as_micros(), late.as_micros());
    }
}

#[embassy_executor::main(entry = "bulkhead_sdk::entry")]
async fn main(spawner: Spawner) {
    embassy_time_vtimer::init();
    let mut gic = gic::init();
    gic::enable(&mut gic, embassy_time_vtimer::INTERRUPT_ID, 0xA0, Trigger::Level);
    // SAFETY: this partition's own interrupt mask; the handler above is ready.
    unsafe { core::arch::asm!("cpsie i") };
    println!("embassy: executor running, three tasks sleeping on partition time");
    for (name, period) in [
        ("fast", Duration::from_micros(1_000)),
        ("medium", Duration::from_micros(2_500)),
        ("slow", Duration::from_micros(7_000)),
    ] {
        spawner.spawn(sleeper(name, period).unwrap());
    }
}
