//! Test partition: the witness of the isolation matrix.
//!
//! Fills its private `vault` region with a pattern and puts a canary in the
//! middle of its data region (the very words the attackers aim at), then
//! checks both at the start of every window and yields the rest of it.
//!
//! Output: `canaries ok window=N`, or `CORRUPTED ...` with the first bad word.

#![no_std]
#![no_main]

use bulkhead_sdk::layout;
use bulkhead_sdk::{entry, hypercall, println};
use core::ptr::{read_volatile, write_volatile};

const CANARY: u32 = 0xC0FF_EE00;

fn pattern(index: u32) -> u32 {
    index.wrapping_mul(0x9E37_79B9) ^ 0x5A5A_5A5A
}

fn probe_address(base: u32, size: u32) -> u32 {
    base + ((size / 2) & !3)
}

#[entry]
fn main() -> ! {
    let vault = layout::REGIONS.iter().find(|r| r.name == "vault").expect("a `vault` region");
    let data = layout::REGIONS.iter().find(|r| r.name == "data").expect("a `data` region");
    let canary = probe_address(data.base, data.size);
    // SAFETY: both ranges are this partition's own memory, and nothing else
    // in this program uses the vault or the middle of the data region.
    unsafe {
        for word in 0..vault.size / 4 {
            write_volatile((vault.base + word * 4) as *mut u32, pattern(word));
        }
        write_volatile(canary as *mut u32, CANARY);
    }
    let mut window = 0u32;
    loop {
        // SAFETY: as above.
        let bad_vault = (0..vault.size / 4)
            .find(|word| unsafe { read_volatile((vault.base + word * 4) as *const u32) } != pattern(*word));
        // SAFETY: as above.
        let canary_value = unsafe { read_volatile(canary as *const u32) };
        match bad_vault {
            Some(word) => println!("CORRUPTED vault address={:#010x}", vault.base + word * 4),
            None if canary_value != CANARY => {
                println!("CORRUPTED canary address={canary:#010x} value={canary_value:#010x}")
            }
            None => println!("canaries ok window={window}"),
        }
        window += 1;
        hypercall::yield_window();
    }
}
