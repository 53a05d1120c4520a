//! The EL2 MPU: the fence around every partition.
//!
//! This module is the only writer of the EL2 MPU registers. Its contract:
//!
//! - Slots `0..KERNEL_REGION_SLOTS` hold the kernel's regions (code, data,
//!   console, GIC), all without EL1 access, and stay enabled from [`init`] on.
//! - Slots above hold exactly the regions of the partition whose window it is
//!   ([`load_partition`]), and nothing else: a partition's regions are never
//!   enabled while another partition runs.
//!   The one exception is [`with_kernel_write`]: for the duration of one
//!   kernel store, a loaded read-only region of that partition is made
//!   writable by EL2 alone.
//! - `HSCTLR.BR` (background region) stays clear, so EL2 itself faults on any
//!   address outside the enabled regions, and with `HCR.VM` set EL1 faults to
//!   EL2 on any access no enabled region grants.
//!
//! The region values come pre-encoded from the generated tables (checked by
//! `bulkhead-sysgen` for overlap, granularity and slot count); this module
//! neither computes nor checks them.

use aarch32_cpu::register::{Hprbar, Hprenr, Hprlar, Hprselr, Hsctlr, SysRegRead, SysRegWrite};
use bulkhead_kernel_core::tables::KERNEL_REGION_SLOTS;
use bulkhead_mpu::EncodedRegion;

/// `HPRENR` with only the kernel's slots enabled.
const KERNEL_ENABLE_MASK: u32 = (1 << KERNEL_REGION_SLOTS) - 1;

cp15_register!(
    /// `HMAIR0`: `p15, 4, c10, c2, 0`.
    Hmair0, 10, 4, 2, 0, write
);

const HSCTLR_M: u32 = 1 << 0;
const HSCTLR_C: u32 = 1 << 2;
const HSCTLR_I: u32 = 1 << 12;
const HSCTLR_BR: u32 = 1 << 17;

fn write_slot(slot: usize, region: &EncodedRegion) {
    // SAFETY: selecting a slot and writing its base/limit only changes which
    // accesses the MPU allows; callers keep the overlap and ownership
    // invariants of the module contract.
    unsafe {
        Hprselr::write_raw(slot as u32);
        Hprbar::write_raw(region.prbar);
        Hprlar::write_raw(region.prlar);
    }
}

fn barrier() {
    // SAFETY: barriers have no effect beyond ordering.
    unsafe { core::arch::asm!("dsb sy", "isb", options(nostack, preserves_flags)) };
}

/// Programs the kernel's regions and turns the EL2 MPU on.
pub fn init(kernel_regions: &[EncodedRegion; KERNEL_REGION_SLOTS]) {
    barrier();
    // SAFETY: before the MPU is enabled no region is in force; HMAIR0 gives
    // the attribute indexes the encoded regions refer to.
    unsafe {
        Hprenr::write(Hprenr(0));
        Hmair0::write_raw(bulkhead_mpu::HMAIR0);
    }
    for (slot, region) in kernel_regions.iter().enumerate() {
        write_slot(slot, region);
    }
    // SAFETY: kernel slots only; nothing else is enabled.
    unsafe { Hprenr::write(Hprenr(KERNEL_ENABLE_MASK)) };
    barrier();
    let hsctlr = (Hsctlr::read_raw() | HSCTLR_M | HSCTLR_C | HSCTLR_I) & !HSCTLR_BR;
    // SAFETY: the kernel's code, data, stack and devices are all in the kernel
    // regions just enabled, so turning the MPU on with no background region
    // leaves the kernel able to run, and nothing else.
    unsafe { Hsctlr::write_raw(hsctlr) };
    barrier();
}

/// Makes `regions` the partition slots, disabling whatever was there.
pub fn load_partition(regions: &[EncodedRegion]) {
    // Disable every partition slot first, so that no half-written slot (new
    // base with an old limit) can briefly overlap a kernel region.
    // SAFETY: leaves exactly the kernel's slots enabled.
    unsafe { Hprenr::write(Hprenr(KERNEL_ENABLE_MASK)) };
    for (index, region) in regions.iter().enumerate() {
        write_slot(KERNEL_REGION_SLOTS + index, region);
    }
    barrier();
}

/// Runs `f` with the loaded partition's region `index` (`region`, enabled)
/// made writable by EL2 alone (no EL1 access, not executable), then puts
/// `region` back. Base and limit stay as they were, so no moment of the
/// swap can overlap another region; EL1 does not run in between.
pub fn with_kernel_write<R>(index: usize, region: &EncodedRegion, f: impl FnOnce() -> R) -> R {
    write_slot(KERNEL_REGION_SLOTS + index, &region.writable_by_el2_only());
    barrier();
    let result = f();
    // The store completes under the writable mapping (`dsb`) before the
    // region is read-only again.
    barrier();
    write_slot(KERNEL_REGION_SLOTS + index, region);
    barrier();
    result
}
