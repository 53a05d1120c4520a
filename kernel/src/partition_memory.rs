//! Touching partition memory on a partition's behalf: the kernel's only
//! path to it.
//!
//! Two things need it: hypercalls that name a buffer ([`UserBytes`]) and
//! restoring a partition's RAM at boot and restart ([`restore_image`]).
//! In both cases the partition's regions are the ones loaded in the EL2 MPU
//! (hypercalls are served in the caller's window; restores happen after
//! `arch::mpu::load_partition`), so the accesses can only reach that
//! partition's memory, and `bulkhead-sysgen` has checked that no partition
//! memory overlaps kernel memory, so no Rust reference is ever aliased.

use bulkhead_abi::Error;
use bulkhead_kernel_core::access::{self, Need};
use bulkhead_kernel_core::tables::{ImageInit, MemoryGrant};
use core::ptr::{read_volatile, write_volatile};

/// A range of partition memory the kernel has checked the partition may read.
pub struct UserBytes {
    address: u32,
    length: u32,
}

impl UserBytes {
    /// Checks `[address, address + length)` against `grants` for reading.
    pub fn readable(grants: &[MemoryGrant], address: u32, length: u32) -> Result<UserBytes, Error> {
        access::check(grants, address, length, Need::Read)?;
        Ok(UserBytes { address, length })
    }

    /// The bytes, each read once.
    pub fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        (0..self.length).map(move |offset| {
            // SAFETY: `readable` checked the whole range against the caller's
            // grants (no wrap, no gap); see the module comment for why the
            // read reaches only that partition's memory.
            unsafe { read_volatile((self.address + offset) as *const u8) }
        })
    }
}

/// Copies the pristine `.data` from the partition's code region and zeroes its
/// `.bss`.
pub fn restore_image(init: &ImageInit) {
    let data_words = (init.data_end - init.data_start) / 4;
    for index in 0..data_words {
        let offset = index * 4;
        // SAFETY: the ranges come from the partition's linked image, checked by
        // bulkhead-sysgen to lie inside its own code (source) and RAM
        // (destination) regions and to be word-aligned (also asserted in a
        // const over the tables).
        unsafe {
            let word = read_volatile((init.data_load + offset) as *const u32);
            write_volatile((init.data_start + offset) as *mut u32, word);
        }
    }
    let mut address = init.bss_start;
    while address < init.bss_end {
        // SAFETY: as above, for the `.bss` range.
        unsafe { write_volatile(address as *mut u32, 0) };
        address += 4;
    }
}
