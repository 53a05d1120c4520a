//! The GIC, driven the way an ordinary Cortex-R52 program drives it.
//!
//! Nothing here is Bulkhead-specific: it is `arm-gic`'s GICv3 driver at EL1,
//! pointed at the distributor and redistributor addresses of the board. The
//! kernel emulates those frames for the interrupts the partition owns
//! (everything else reads as zero and ignores writes) and redirects the
//! `ICC_*` registers to the partition's virtual CPU interface. An RTOS port
//! with its own GIC driver works the same way.

#![allow(unsafe_code, reason = "creating the one arm-gic driver instance for the GIC frames")]

use crate::layout;
use arm_gic::gicv3::registers::{Gicd, GicrSgi};
use arm_gic::gicv3::{GicCpuInterface, GicV3};
use arm_gic::{IntId, InterruptGroup, Trigger, UniqueMmioPointer};
use core::ptr::NonNull;

pub use arm_gic;

/// The raw interrupt id an [`IntId`] names.
pub fn raw(intid: IntId) -> u16 {
    u32::from(intid) as u16
}

/// The [`IntId`] for a raw interrupt id.
pub fn id(raw: u16) -> IntId {
    match raw {
        0..16 => IntId::sgi(raw as u32),
        16..32 => IntId::ppi(raw as u32 - 16),
        _ => IntId::spi(raw as u32 - 32),
    }
}

/// Sets up the distributor, this core's redistributor and CPU interface, as
/// `arm-gic` does on bare metal, and unmasks every priority.
///
/// Call once, before enabling interrupts.
pub fn init() -> GicV3<'static> {
    let gicd = NonNull::new(layout::GIC_DISTRIBUTOR as *mut Gicd).expect("GIC distributor address");
    let gicr = NonNull::new(layout::GIC_REDISTRIBUTOR as *mut GicrSgi).expect("GIC redistributor address");
    // SAFETY: the board's GIC frames, as the partition sees them; this is the
    // partition's only driver instance.
    let mut gic = unsafe { GicV3::new(UniqueMmioPointer::new(gicd), gicr, 1) }.expect("a GICv3");
    gic.setup(0);
    GicCpuInterface::set_priority_mask(0xFF);
    gic
}

/// Configures and enables one interrupt.
pub fn enable(gic: &mut GicV3<'_>, intid: u16, priority: u8, trigger: Trigger) {
    let core = (intid < 32).then_some(0);
    let _ = gic.set_interrupt_priority(id(intid), core, priority);
    if intid >= 32 {
        let _ = gic.set_trigger(id(intid), core, trigger);
    }
    let _ = gic.enable_interrupt(id(intid), core, true);
}

/// Acknowledges the most urgent pending interrupt, if any.
pub fn acknowledge() -> Option<u16> {
    GicCpuInterface::get_and_acknowledge_interrupt(InterruptGroup::Group1).map(raw)
}

/// Ends (and, for a hardware interrupt, deactivates) `intid`.
pub fn end(intid: u16) {
    GicCpuInterface::end_interrupt(id(intid), InterruptGroup::Group1);
}
