//! Test partition: the spatial isolation matrix, from one side.
//!
//! Each activation makes exactly one attempt to reach something that is not
//! this partition's: a read, a write or an instruction fetch on every region
//! and device of every other partition, of the kernel, and of every device
//! nobody was given, then a list of instructions that must trap to EL2. The
//! kernel restarts the partition after each fault (policy `restart`), and
//! the restart count picks the next attempt.
//!
//! To prove the EL2 MPU is the fence, the partition first opens its own EL1
//! MPU to the whole address space (read, write, execute): its own stage 1
//! never stops an access, so every fault the kernel logs comes from stage 2.
//!
//! After the last attempt it checks it can still use what is its own
//! (positive control), prints `done`, and stops.
//!
//! Output (parsed by tests/system/tests/isolation.rs):
//! `attempt index=K op=read|write|execute owner=NAME region=NAME address=0x...`,
//! `attempt index=K op=instruction name=NAME`, `ESCAPED index=K`,
//! `own-access ok`, `done attempts=N`.

#![no_std]
#![no_main]

use aarch32_cpu::register::{Mair0, Prbar0, Prlar0, Sctlr, SysRegRead, SysRegWrite};
use bulkhead_sdk::abi::El1Exception;
use bulkhead_sdk::layout::{self, Access};
use bulkhead_sdk::{entry, hypercall, println};
use core::ptr::{read_volatile, write_volatile};

#[derive(Clone, Copy)]
enum Op {
    Read,
    Write,
    Execute,
}

impl Op {
    const ALL: [Op; 3] = [Op::Read, Op::Write, Op::Execute];

    fn name(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write => "write",
            Op::Execute => "execute",
        }
    }
}

/// The word an attempt aims at: the middle of the region, word-aligned.
fn probe_address(base: u32, size: u32) -> u32 {
    base + ((size / 2) & !3)
}

/// Every memory target, in a fixed order: (owner, region, base, size).
fn memory_targets(mut visit: impl FnMut(&str, &str, u32, u32)) {
    for partition in layout::PARTITIONS.iter().filter(|p| p.name != layout::NAME) {
        for region in partition.regions {
            visit(partition.name, region.name, region.base, region.size);
        }
        for device in partition.devices {
            visit(partition.name, device.name, device.base, device.size);
        }
    }
    for region in layout::KERNEL {
        visit("kernel", region.name, region.base, region.size);
    }
    for device in layout::UNASSIGNED_DEVICES {
        visit("nobody", device.name, device.base, device.size);
    }
}

/// Instructions that must trap to EL2 (or, for EL2-only registers, be
/// undefined at EL1), with what each touches.
const INSTRUCTIONS: [&str; 18] = [
    "cntp-tval-write",
    "cntp-ctl-write",
    "actlr-write",
    "atcm-region-write",
    "pmcr-read",
    "dbgdscr-read",
    "smc",
    "hcr-read",
    "sgi-write",
    // The Cortex-R52's implementation-defined registers (CP15 c15).
    "cpuactlr-read",
    "periphpregionr-read",
    "flashifregionr-read",
    "buildoptr-read",
    "cbar-write",
    // Debug and performance monitors (core-wide, not switched).
    "dbgdtrtx-write",
    "dbgdidr-read",
    "pmccntr-read",
    "pmcntenset-write",
];

fn run_instruction(name: &str) {
    // SAFETY: each of these instructions either traps (the point of the test)
    // or, if the isolation were broken, touches only core configuration; the
    // test then fails on the missing fault.
    unsafe {
        match name {
            "cntp-tval-write" => core::arch::asm!("mov r0, #0", "mcr p15, 0, r0, c14, c2, 0", out("r0") _),
            "cntp-ctl-write" => core::arch::asm!("mov r0, #0", "mcr p15, 0, r0, c14, c2, 1", out("r0") _),
            "actlr-write" => core::arch::asm!("mov r0, #0", "mcr p15, 0, r0, c1, c0, 1", out("r0") _),
            "atcm-region-write" => core::arch::asm!("ldr r0, =0x10000003", "mcr p15, 0, r0, c9, c1, 0", out("r0") _),
            "pmcr-read" => core::arch::asm!("mrc p15, 0, r0, c9, c12, 0", out("r0") _),
            "dbgdscr-read" => core::arch::asm!("mrc p14, 0, r0, c0, c2, 2", out("r0") _),
            "smc" => core::arch::asm!(".arch_extension sec", "smc #0"),
            "hcr-read" => core::arch::asm!("mrc p15, 4, r0, c1, c1, 0", out("r0") _),
            "cpuactlr-read" => core::arch::asm!("mrrc p15, 0, r0, r1, c15", out("r0") _, out("r1") _),
            "periphpregionr-read" => core::arch::asm!("mrc p15, 0, r0, c15, c0, 0", out("r0") _),
            "flashifregionr-read" => core::arch::asm!("mrc p15, 0, r0, c15, c0, 1", out("r0") _),
            "buildoptr-read" => core::arch::asm!("mrc p15, 0, r0, c15, c2, 0", out("r0") _),
            "cbar-write" => core::arch::asm!("mov r0, #0", "mcr p15, 1, r0, c15, c3, 0", out("r0") _),
            "dbgdtrtx-write" => core::arch::asm!("mov r0, #0x41", "mcr p14, 0, r0, c0, c5, 0", out("r0") _),
            "dbgdidr-read" => core::arch::asm!("mrc p14, 0, r0, c0, c0, 0", out("r0") _),
            "pmccntr-read" => core::arch::asm!("mrc p15, 0, r0, c9, c13, 0", out("r0") _),
            "pmcntenset-write" => core::arch::asm!("mov r0, #0x80000000", "mcr p15, 0, r0, c9, c12, 1", out("r0") _),
            // ICC_SGI1R: an SGI to every other core (IRM = 1), which could
            // interrupt another core's partitions.
            _ => core::arch::asm!("mov r0, #0", "mov r1, #0x100", "mcrr p15, 0, r0, r1, c12", out("r0") _, out("r1") _),
        }
    }
}

/// Opens the EL1 MPU to everything: region 0 = whole address space, normal
/// memory, read/write/execute at EL1.
fn open_stage1() {
    // SAFETY: these are this partition's own EL1 registers; making its own
    // stage 1 permissive is exactly what the test needs.
    unsafe {
        Mair0::write_raw(0xFF);
        Prbar0::write_raw(0b01 << 1);
        Prlar0::write_raw(0xFFFF_FFC0 | 1);
        core::arch::asm!("dsb", "isb");
        Sctlr::write_raw(Sctlr::read_raw() | 1);
        core::arch::asm!("isb");
    }
}

fn attempt(op: Op, address: u32) {
    // SAFETY: none of this is sound, on purpose: the address belongs to
    // someone else and the access must fault at stage 2 before it happens.
    unsafe {
        match op {
            Op::Read => {
                read_volatile(address as *const u32);
            }
            Op::Write => write_volatile(address as *mut u32, 0xBAD0_BAD0),
            Op::Execute => {
                let function: extern "C" fn() = core::mem::transmute(address as usize);
                function();
            }
        }
    }
}

fn own_access_ok() -> bool {
    let Some(scratch) = layout::REGIONS.iter().find(|r| r.access == Access::ReadWrite && r.name == "scratch") else {
        return false;
    };
    let address = probe_address(scratch.base, scratch.size);
    // SAFETY: the scratch region is this partition's own read/write memory.
    let readback = unsafe {
        write_volatile(address as *mut u32, 0x600D_600D);
        read_volatile(address as *const u32)
    };
    // Device registers: reading a CMSDK UART's STATE register has no effect.
    let devices_readable = layout::DEVICES.iter().all(|device| {
        // SAFETY: the device is this partition's own.
        unsafe { read_volatile((device.base + 4) as *const u32) };
        true
    });
    readback == 0x600D_600D && devices_readable
}

#[entry]
fn main() -> ! {
    open_stage1();
    let index = hypercall::identity().restarts as usize;
    let mut count = 0;
    let mut chosen = None;
    memory_targets(|owner, region, base, size| {
        for op in Op::ALL {
            if count == index {
                chosen = Some((op, base, size));
                println!(
                    "attempt index={index} op={} owner={owner} region={region} address={:#010x}",
                    op.name(),
                    probe_address(base, size)
                );
            }
            count += 1;
        }
    });
    if let Some((op, base, size)) = chosen {
        attempt(op, probe_address(base, size));
        println!("ESCAPED index={index}");
        hypercall::report_fault(El1Exception::Unexpected, 0, 0);
    }
    if let Some(name) = INSTRUCTIONS.get(index - count) {
        println!("attempt index={index} op=instruction name={name}");
        run_instruction(name);
        println!("ESCAPED index={index}");
        hypercall::report_fault(El1Exception::Unexpected, 0, 0);
    }
    if own_access_ok() {
        println!("own-access ok");
    } else {
        println!("own-access FAILED");
    }
    println!("done attempts={}", count + INSTRUCTIONS.len());
    hypercall::stop(0)
}
