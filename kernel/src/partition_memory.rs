//! Touching partition memory on a partition's behalf: the kernel's only
//! path to it.
//!
//! Four things need it: hypercalls that name a buffer ([`UserBytes`],
//! [`UserWords`]),
//! restoring a partition's RAM at boot and restart, a bounded step at a time
//! ([`apply`]), zeroing a channel's window at boot through its writer's
//! regions ([`zero_channel_window`]) and a queuing reader's `QueueAck`
//! ([`queue_ack`]).
//! In every case the partition's regions are the ones loaded in the EL2 MPU
//! (hypercalls are served in the caller's window; restores and zeroing
//! happen after `arch::mpu::load_partition`), so the accesses can only reach
//! that partition's memory, and `bulkhead-sysgen` has checked that no
//! partition memory overlaps kernel memory, so no Rust reference is ever
//! aliased.

use crate::arch::mpu;
use bulkhead_abi::Error;
use bulkhead_kernel_core::access::{self, Need};
use bulkhead_kernel_core::restore::Step;
use bulkhead_kernel_core::tables::ChannelDesc;
use bulkhead_kernel_core::tables::MemoryGrant;
use bulkhead_mpu::EncodedRegion;
use bulkhead_ports::RawWindow;
use bulkhead_ports::raw::copy_blocks;
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

/// A range of partition memory the kernel has checked the partition may
/// write, for a hypercall's results.
pub struct UserWords {
    address: u32,
    length: u32,
}

impl UserWords {
    /// Checks `[address, address + 4 * words)` against `grants` for
    /// writing, and that `address` is word-aligned.
    pub fn writable(grants: &[MemoryGrant], address: u32, words: u32) -> Result<UserWords, Error> {
        if !address.is_multiple_of(4) {
            return Err(Error::BadAddress);
        }
        let length = words.checked_mul(4).ok_or(Error::BadAddress)?;
        access::check(grants, address, length, Need::Write)?;
        Ok(UserWords { address, length })
    }

    /// Stores `values` from the first word (at most the checked length).
    pub fn write(&self, values: &[u32]) {
        for (index, value) in values.iter().enumerate().take(self.length as usize / 4) {
            // SAFETY: `writable` checked the whole range against the
            // caller's grants for writing, aligned; see the module comment
            // for why the store reaches only that partition's memory.
            unsafe { write_volatile((self.address + 4 * index as u32) as *mut u32, *value) };
        }
    }
}

/// Carries out one step of restoring a partition's RAM: copies part of the
/// pristine `.data` from its code region, or zeroes part of its `.bss`.
///
/// Sixteen bytes per `LDM`/`STM`: a 256-byte step is about 70 instructions,
/// so a restore costs the restarting partition's windows a few hundred
/// instructions per KiB (`cargo xtask bench`, `restart_cost_insns`).
pub fn apply(step: Step) {
    match step {
        Step::Copy { from, to, bytes } => {
            // SAFETY: the step comes from `Restore::next_step` over the
            // partition's `ImageInit`, whose ranges bulkhead-sysgen checked
            // to lie inside its own code (source) and RAM (destination)
            // regions, word-aligned and not overlapping (also asserted in a
            // const over the tables); the caller has those regions loaded.
            // The copy reads the step's whole words from `from` and writes
            // as many to `to`, nothing else.
            let copied = unsafe { copy_blocks(from as *const u8, to as *mut u8, (bytes / 4) as usize) } as u32;
            for offset in (copied * 4..bytes).step_by(4) {
                // SAFETY: as above, for the last words.
                unsafe {
                    let word = read_volatile((from + offset) as *const u32);
                    write_volatile((to + offset) as *mut u32, word);
                }
            }
        }
        Step::Zero { to, bytes } => {
            let blocks = bytes / 16;
            if blocks != 0 {
                // SAFETY: as for `Copy`, for the `.bss` range: writes
                // `16 * blocks` zero bytes from `to`, nothing else.
                unsafe {
                    core::arch::asm!(
                        "2:",
                        "stm {to}!, {{r2, r3, r4, r5}}",
                        "subs {blocks}, {blocks}, #1",
                        "bne 2b",
                        to = inout(reg) to => _,
                        blocks = inout(reg) blocks => _,
                        in("r2") 0u32, in("r3") 0u32, in("r4") 0u32, in("r5") 0u32,
                        options(nostack),
                    )
                };
            }
            for offset in (blocks * 16..bytes).step_by(4) {
                // SAFETY: as above, for the last words.
                unsafe { write_volatile((to + offset) as *mut u32, 0) };
            }
        }
    }
}

/// Zeroes channel `channel`'s window (all zeros is "no message yet" in both
/// protocols). At boot, with the channel's writer's regions loaded, before
/// any partition runs.
pub fn zero_channel_window(channel: &ChannelDesc) {
    apply(Step::Zero { to: channel.base, bytes: channel.size & !3 });
}

/// Stores reader `reader`'s `consumed` count of queuing channel `channel`
/// after `bulkhead_ports::queuing::ack` has checked it against the window.
/// The reader maps the window read-only, EL2 included (the MPU's one `AP`
/// field serves both), so for the store the kernel swaps the reader's
/// region in slot `slot` (`region`, loaded) for the same range writable by
/// EL2 alone, and back: the only store the kernel makes into memory a
/// partition may only read, to exactly one word of it.
pub fn queue_ack(
    slot: usize,
    region: &EncodedRegion,
    channel: &ChannelDesc,
    depth: u32,
    reader: u32,
    consumed: u32,
) -> Result<(), Error> {
    // SAFETY: `channel.base..+size` is the channel's window, which the
    // generator placed in Normal memory no kernel region overlaps and mapped
    // into this reader as the region in `slot`; `ack` touches only offsets
    // inside `size` (the protocol's layout, checked at build time against
    // the region).
    let window = unsafe { RawWindow::new(channel.base as *mut u8, channel.size) };
    mpu::with_kernel_write(slot, region, || {
        bulkhead_ports::queuing::ack(&window, channel.message_size, depth, reader, consumed)
    })
    .map_err(|_| Error::BadArgument)
}
