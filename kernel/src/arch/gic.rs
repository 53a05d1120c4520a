//! The GICv3 as the kernel uses it: set up once, then acknowledge and end.
//!
//! The kernel owns the distributor, every redistributor and the physical CPU
//! interface; their MMIO frames are in a kernel-only EL2 MPU region, so a
//! partition touching them takes a stage-2 abort. Group 1 interrupts signal
//! IRQ, which `HCR.IMO` routes to EL2 whatever EL1's masks. The only interrupt
//! enabled today is the hyp timer (PPI 26), at the highest priority.
//!
//! Driver work is delegated to `arm-gic`; this module only chooses settings.

use arm_gic::gicv3::registers::{Gicd, GicrSgi};
use arm_gic::gicv3::{GicCpuInterface, GicV3};
use arm_gic::{IntId, InterruptGroup, UniqueMmioPointer};
use core::ptr::NonNull;

/// The hyp (EL2 physical) timer interrupt.
pub const HYP_TIMER: IntId = IntId::ppi(10);

/// Initialises the distributor and core 0's redistributor and CPU interface,
/// and enables the hyp timer interrupt.
///
/// Only core 0's redistributor is touched: a core that is not running (QEMU
/// starts one core unless told otherwise) may have no redistributor to
/// touch, and each core will own its own when more than one runs.
///
/// Returns `false` if the redistributor cannot be found at `gicr`.
pub fn init(gicd: usize, gicr: usize) -> bool {
    const CORE: usize = 0;
    GicCpuInterface::enable_system_register_el2(true);
    GicCpuInterface::disable_legacy_interrupt_bypass_el2(true);
    let (Some(gicd), Some(gicr)) = (NonNull::new(gicd as *mut Gicd), NonNull::new(gicr as *mut GicrSgi)) else {
        return false;
    };
    // SAFETY: the addresses are the board's GIC frames from the generated
    // tables, mapped by the kernel's own device region; this is the only
    // driver instance, created once at boot.
    let gic = unsafe { GicV3::new(UniqueMmioPointer::new(gicd), gicr, CORE + 1) };
    let Ok(mut gic) = gic else {
        return false;
    };
    gic.setup(CORE);
    let configured = gic.set_interrupt_priority(HYP_TIMER, Some(CORE), 0).is_ok()
        && gic.enable_interrupt(HYP_TIMER, Some(CORE), true).is_ok();
    GicCpuInterface::set_priority_mask(0xFF);
    configured
}

/// Acknowledges the highest-priority pending interrupt, if any.
#[inline]
pub fn acknowledge() -> Option<IntId> {
    GicCpuInterface::get_and_acknowledge_interrupt(InterruptGroup::Group1)
}

/// Drops priority and deactivates `intid`.
#[inline]
pub fn end(intid: IntId) {
    GicCpuInterface::end_interrupt(intid, InterruptGroup::Group1);
}
