//! Test partition: hypercalls with bad arguments.
//!
//! Calls the kernel with pointers into other partitions, the kernel and
//! devices, with ranges that run off its memory or wrap around, with lengths
//! over the limit, and with unknown call numbers, and checks every error
//! code; then checks the good calls still work. The kernel must answer each
//! with an error code and never fault.
//!
//! Output: `check name=NAME expect=EXPECTED got=RESULT` per case, then
//! `done checks=N failures=F`.

#![no_std]
#![no_main]

use bulkhead_sdk::abi::{Call, Error};
use bulkhead_sdk::hypercall::{self, console_write_raw};
use bulkhead_sdk::layout;
use bulkhead_sdk::{entry, println};

static MESSAGE: [u8; 8] = *b"ok-data\n";

fn describe(result: Result<usize, Error>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(error) => error.name(),
    }
}

fn region(owner: &str, name: &str) -> (u32, u32) {
    let found = if owner == "kernel" {
        layout::KERNEL.iter().find(|r| r.name == name)
    } else {
        layout::PARTITIONS.iter().find(|p| p.name == owner).and_then(|p| p.regions.iter().find(|r| r.name == name))
    };
    let region = found.expect("region in the layout");
    (region.base, region.size)
}

#[entry]
fn main() -> ! {
    let mut checks = 0;
    let mut failures = 0;
    let mut check = |name: &str, expect: &str, got: &str| {
        checks += 1;
        if expect != got {
            failures += 1;
        }
        println!("check name={name} expect={expect} got={got}");
    };

    let (own_base, own_size) = region(layout::NAME, "data");
    let (code_base, _) = region(layout::NAME, "code");
    let (neighbour_base, neighbour_size) = region("neighbour", "data");
    let (vault_base, _) = region("neighbour", "vault");
    let (kernel_data, _) = region("kernel", "kernel-data");
    let (kernel_code, _) = region("kernel", "kernel-code");
    let (gic, _) = region("kernel", "gic");
    let device = layout::DEVICES.first().expect("a device").base;

    check("own-data", "ok", describe(console_write_raw(MESSAGE.as_ptr() as u32, MESSAGE.len() as u32)));
    check("own-code", "ok", describe(console_write_raw(code_base, 0)));
    let literal = "ok-rodata\n";
    check("own-rodata", "ok", describe(console_write_raw(literal.as_ptr() as u32, literal.len() as u32)));
    check("zero-length-anywhere", "ok", describe(console_write_raw(0xDEAD_BEEF, 0)));
    check(
        "longer-than-limit",
        "too-long",
        describe(console_write_raw(own_base, bulkhead_sdk::abi::CONSOLE_WRITE_MAX + 1)),
    );
    check("neighbour-data", "bad-address", describe(console_write_raw(neighbour_base + neighbour_size / 2, 16)));
    check("neighbour-vault", "bad-address", describe(console_write_raw(vault_base, 16)));
    check("kernel-data", "bad-address", describe(console_write_raw(kernel_data, 16)));
    check("kernel-code", "bad-address", describe(console_write_raw(kernel_code, 16)));
    check("gic", "bad-address", describe(console_write_raw(gic, 4)));
    check("own-device", "bad-address", describe(console_write_raw(device, 4)));
    check("null", "bad-address", describe(console_write_raw(0, 4)));
    check("runs-off-own-data", "bad-address", describe(console_write_raw(own_base + own_size - 8, 16)));
    check("wraps-around", "bad-address", describe(console_write_raw(0xFFFF_FFF0, 32)));
    check("starts-before-own-data", "bad-address", describe(console_write_raw(own_base - 4, 8)));

    let [status, ..] = hypercall::raw(99, [0; 3]);
    check("unknown-call", "unknown-call", describe(Error::from_status(status).map_or(Ok(0), Err)));
    let status: u32;
    // SAFETY: an HVC with a foreign immediate; the kernel must refuse it and
    // preserve every register but r0-r3.
    unsafe {
        core::arch::asm!("hvc #1", inlateout("r0") Call::PartitionId as u32 => status, out("r1") _, out("r2") _, out("r3") _)
    };
    check("foreign-hvc-immediate", "unknown-call", describe(Error::from_status(status).map_or(Ok(0), Err)));

    let identity = hypercall::identity();
    check(
        "identity",
        "ok",
        if identity.id as usize == layout::ID as usize && identity.partitions == 2 { "ok" } else { "wrong" },
    );
    let time = hypercall::partition_time();
    check("time", "ok", if time.hz == 62_500_000 && time.ticks > 0 { "ok" } else { "wrong" });
    // The physical counter minus the epoch is system time: between two
    // SystemTime reads around it.
    let epoch = hypercall::system_epoch().ticks;
    let before = hypercall::system_time().ticks;
    let counter = hypercall::physical_counter().wrapping_sub(epoch);
    let after = hypercall::system_time().ticks;
    check(
        "system-clock",
        "ok",
        if before <= counter && counter <= after && after - before < 1_000 { "ok" } else { "wrong" },
    );

    println!("done checks={checks} failures={failures}");
    hypercall::stop(0)
}
