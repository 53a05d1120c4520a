//! Test partition: chaos at EL1.
//!
//! Each activation (the restart count seeds it) first makes 16 hypercalls
//! with random arguments, then fills its `jit` region with 64 pseudo-random
//! A32 words (biased towards coprocessor transfers, loads and stores and mode
//! changes) and jumps there. Whatever those words do (undefined
//! instructions, loads and stores anywhere, writes to its own EL1 system
//! registers and MPU, coprocessor accesses that trap, branches anywhere,
//! mode changes, WFI, illegal exception returns) must end in a fault the
//! kernel contains, or in the window ending; the kernel restarts it with the
//! next seed. The `hvc` encoding is left out of the stream (random calls are
//! made deliberately, with `StopSelf` excluded so the run goes on).
//!
//! To make every escape end at EL2 instead of looping inside the partition:
//! its EL1 MPU maps only the `jit` region (executable), its data region, and
//! a page of ATCM that no partition owns, and `VBAR` points at that page, so
//! any EL1 exception fetches its vector from memory the EL2 MPU refuses.
//!
//! Output: `chaos activation=K refused=R`.

#![no_std]
#![no_main]

use aarch32_cpu::register::{Mair0, Prbar, Prlar, Prselr, SysRegWrite, Vbar};
use bulkhead_sdk::abi::Call;
use bulkhead_sdk::hypercall;
use bulkhead_sdk::layout;
use bulkhead_sdk::{entry, println};

/// Words of random code per activation.
const WORDS: u32 = 64;
/// A page nobody is given at stage 2 (ATCM), used as the vector base.
const TRAP_PAGE: u32 = 0x0000_0000;

/// Run first from the `jit` region: turns the EL1 MPU on (from code that stays
/// executable under it) so the partition's own code is not reachable from the
/// random words. `mrc p15,0,r0,c1,c0,0; orr r0,r0,#1; mcr p15,0,r0,c1,c0,0; isb`.
const PROLOGUE: [u32; 4] = [0xEE11_0F10, 0xE380_0001, 0xEE01_0F10, 0xF57F_F06F];

struct XorShift(u32);

impl XorShift {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
}

fn is_hvc(word: u32) -> bool {
    word & 0x0FF0_00F0 == 0x0140_0070
}

/// One instruction word, biased towards the classes that reach the kernel or
/// the partition's own configuration: CP15/CP14 register transfers (traps,
/// EL1 MPU, SCTLR, VBAR), loads and stores through random registers, mode
/// changes, and otherwise anything at all.
fn instruction(random: &mut XorShift) -> u32 {
    let bits = random.next();
    let register = |shift: u32| (bits >> shift) & 0xF;
    match random.next() % 8 {
        // MCR/MRC p15 or p14, any opc1/CRn/CRm/opc2, Rt != PC.
        0 | 1 => {
            let coprocessor = if bits & 1 == 0 { 15 } else { 14 };
            0xEE00_0010 | (bits & 0x00EF_00EF) | (coprocessor << 8) | (register(4).min(12) << 12)
        }
        // MCRR/MRRC p15, any opc1/CRm.
        2 => 0xEC40_0F00 | (bits & 0x0010_00FF) | (register(8).min(12) << 16) | (register(12).min(12) << 12),
        // LDR/STR with a random base register and offset.
        3 | 4 => 0xE500_0000 | (bits & 0x00B0_0FFF) | (register(16) << 16) | (register(12).min(12) << 12),
        // CPS to any mode, with or without masking changes.
        5 => 0xF102_0000 | (bits & 0x000C_01C0) | (bits >> 20 & 0x1F),
        // Anything.
        _ => bits,
    }
}

#[entry]
fn main() -> ! {
    let activation = hypercall::identity().restarts;
    let mut random = XorShift(0x2545_F491 ^ activation.wrapping_mul(0x9E37_79B9) | 1);

    let mut refused = 0;
    for _ in 0..16 {
        let call = [Call::PartitionTime as u32, Call::PartitionId as u32, Call::ConsoleWrite as u32, 99]
            [(random.next() % 4) as usize];
        let args = [random.next(), random.next() % 24, random.next()];
        if hypercall::raw(call, args)[0] != 0 {
            refused += 1;
        }
    }
    println!("chaos activation={activation} refused={refused}");

    let jit = layout::REGIONS.iter().find(|r| r.name == "jit").expect("a `jit` region");
    let data = layout::REGIONS.iter().find(|r| r.name == "data").expect("a `data` region");
    // SAFETY: fills this partition's own `jit` region, then configures its
    // own EL1 MPU and vector base; nothing here reaches beyond the partition.
    unsafe {
        let code = (jit.base as *mut u32).add(PROLOGUE.len());
        for (index, word) in PROLOGUE.iter().enumerate() {
            core::ptr::write_volatile((jit.base as *mut u32).add(index), *word);
        }
        for index in 0..WORDS as usize {
            let mut word = instruction(&mut random);
            while is_hvc(word) {
                word = instruction(&mut random);
            }
            core::ptr::write_volatile(code.add(index), word);
        }
        // Past the random words: an undefined instruction.
        core::ptr::write_volatile(code.add(WORDS as usize), 0xE7F0_00F0);
        Mair0::write_raw(0xFF);
        for (slot, (base, size, execute)) in
            [(jit.base, jit.size, true), (data.base, data.size, false), (TRAP_PAGE, 0x1000, true)]
                .into_iter()
                .enumerate()
        {
            Prselr::write_raw(slot as u32);
            Prbar::write_raw(base | (0b01 << 1) | (!execute as u32));
            Prlar::write_raw((base + size - 64) | 1);
        }
        Vbar::write_raw(TRAP_PAGE);
        core::arch::asm!("dsb", "isb");
        let random_code: extern "C" fn() = core::mem::transmute(jit.base as usize);
        random_code();
    }
    println!("chaos activation={activation} returned");
    hypercall::report_fault(bulkhead_sdk::abi::El1Exception::Unexpected, 0, 0)
}
