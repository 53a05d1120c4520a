//! Bench partition: the load `cargo xtask bench` measures.
//!
//! Programs all 16 EL1 MPU regions (so a partition switch saves and restores
//! a full EL1 MPU, as a real RTOS would have it), then issues the minimal
//! hypercall (`PartitionId`) in a loop forever, and every 4096 calls the
//! longest one (`ConsoleWrite` of 128 bytes, which bounds how late a window
//! boundary can be taken). The `hvc` instructions and the instructions after
//! them are exported (`bench_hvc`, `bench_hvc_return`, `bench_console`,
//! `bench_console_return`) for the bench's instruction-count plugin.

#![no_std]
#![no_main]

use aarch32_cpu::register::{Mair0, Prbar, Prlar, Prselr, Sctlr, SysRegRead, SysRegWrite};
use bulkhead_sdk::layout;
use bulkhead_sdk::{entry, println};

core::arch::global_asm!(
    r#"
    .section .text.bench_hvc_probe,"ax",%progbits
    .arm
    .global bench_hvc_probe
    .type bench_hvc_probe, %function
bench_hvc_probe:
    mov     r0, #{partition_id}
    .global bench_hvc
bench_hvc:
    hvc     #0
    .global bench_hvc_return
bench_hvc_return:
    bx      lr
    .size bench_hvc_probe, . - bench_hvc_probe

    .global bench_console_probe
    .type bench_console_probe, %function
bench_console_probe:
    mov     r2, r1
    mov     r1, r0
    mov     r0, #{console_write}
    .global bench_console
bench_console:
    hvc     #0
    .global bench_console_return
bench_console_return:
    bx      lr
    .size bench_console_probe, . - bench_console_probe
    "#,
    partition_id = const bulkhead_sdk::abi::Call::PartitionId as u32,
    console_write = const bulkhead_sdk::abi::Call::ConsoleWrite as u32,
);

unsafe extern "C" {
    fn bench_hvc_probe() -> u32;
    fn bench_console_probe(address: *const u8, length: usize) -> u32;
}

/// The longest console write the kernel accepts, as one line.
static LINE: [u8; bulkhead_sdk::abi::CONSOLE_WRITE_MAX as usize] = {
    let mut line = [b'='; bulkhead_sdk::abi::CONSOLE_WRITE_MAX as usize];
    line[bulkhead_sdk::abi::CONSOLE_WRITE_MAX as usize - 1] = b'\n';
    line
};

/// Fills the EL1 MPU: one region per own memory region (read/write or
/// read-only, execute where allowed), the rest as disjoint 64-byte regions
/// inside the data region, all enabled; then turns the EL1 MPU on.
fn fill_el1_mpu() {
    let data = layout::REGIONS.iter().find(|r| r.name == "data").expect("data region");
    let mut slot = 0u32;
    // SAFETY: this partition's own EL1 MPU; every region only narrows or
    // repeats what the EL2 MPU already grants it.
    unsafe {
        Mair0::write_raw(0xFF);
        for region in layout::REGIONS {
            let (read_only, execute) = match region.access {
                layout::Access::Read => (true, false),
                layout::Access::ReadExecute => (true, true),
                _ => (false, false),
            };
            Prselr::write_raw(slot);
            Prbar::write_raw(region.base | ((read_only as u32) << 2) | (1 << 1) | (!execute as u32));
            Prlar::write_raw(((region.base + region.size - 1) & !63) | 1);
            slot += 1;
        }
        let mut spare = data.base;
        while slot < 16 {
            Prselr::write_raw(slot);
            Prbar::write_raw(spare | (1 << 1) | 1);
            Prlar::write_raw(spare | 1);
            spare += 64;
            slot += 1;
        }
        core::arch::asm!("dsb", "isb");
        Sctlr::write_raw(Sctlr::read_raw() | 1);
        core::arch::asm!("isb");
    }
}

#[entry]
fn main() -> ! {
    fill_el1_mpu();
    println!(
        "bench-probe: {} regions, EL1 MPU full, looping on the minimal hypercall",
        layout::REGIONS.len() + layout::DEVICES.len()
    );
    let mut calls = 0u32;
    loop {
        // SAFETY: the probes only issue `hvc #0` (PartitionId, or ConsoleWrite
        // of a static buffer); the kernel preserves every register the AAPCS
        // asks a callee to.
        unsafe { bench_hvc_probe() };
        calls = calls.wrapping_add(1);
        if calls % 4096 == 0 {
            // SAFETY: as above.
            unsafe { bench_console_probe(LINE.as_ptr(), LINE.len()) };
        }
    }
}
