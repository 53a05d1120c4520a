//! The physical GICv3: set up once, then acknowledge, end, and per-interrupt
//! control on behalf of the partitions' virtual distributors.
//!
//! The kernel owns the distributor, every redistributor and the physical CPU
//! interface; their frames are in a kernel-only EL2 MPU region, so a
//! partition touching them takes a stage-2 abort (which `kernel.rs` may
//! emulate). Group 1 interrupts signal IRQ, which `HCR.IMO` routes to EL2
//! whatever EL1's masks.
//!
//! `ICC_CTLR.EOImode` is 1: ending an interrupt drops the running priority
//! only, and deactivation is separate. Kernel interrupts are deactivated at
//! once ([`end`]); a partition's stay active ([`drop_priority`]) until the
//! partition's own EOI deactivates them through a hardware-linked list
//! register.
//!
//! Set-up is delegated to `arm-gic`. arm-gic 0.10 has no pending/active
//! set and clear, so the per-interrupt operations here are single word
//! writes to the architected `IS*/IC*` registers, on the distributor for SPIs
//! and on the core's own redistributor for SGIs and PPIs. Each core's kernel
//! has its own [`Gic`] handle (its redistributor); only core 0 sets up the
//! distributor, before the other cores run, and afterwards a core touches
//! distributor bits of its own partitions' SPIs only.

use aarch32_cpu::register::{SysRegRead, SysRegWrite};
use arm_gic::gicv3::registers::{Gicd, GicrSgi};
use arm_gic::gicv3::{GicCpuInterface, GicDistributor, GicV3};
use arm_gic::{IntId, InterruptGroup, Trigger, UniqueMmioPointer};
use bulkhead_kernel_core::tables::{BoardDesc, CoreDesc, InterruptRoute, SpiWord};
use bulkhead_kernel_core::vgic::{BitWrite, FIRST_SPI, GicFacts, VIRTUAL_TIMER};
use core::ptr::{NonNull, read_volatile, write_volatile};

pub use bulkhead_kernel_core::vgic::REDISTRIBUTOR_STRIDE;

/// The cores' kernels' doorbell: SGI 0, which no partition is ever given
/// (the generator refuses SGIs), rung with [`ring`].
pub const KERNEL_SGI: u16 = 0;

/// Priority of the doorbell: below the window timer and the maintenance
/// interrupt, above partitions' interrupts.
const KERNEL_SGI_PRIORITY: u8 = 0x20;

/// The hyp (EL2 physical) timer interrupt.
pub const HYP_TIMER: u16 = 26;
/// The GIC maintenance interrupt (list registers running low).
pub const MAINTENANCE: u16 = 25;

/// Priority of the kernel's window timer: above everything, so a boundary
/// is the first thing the kernel handles whenever it looks.
const WINDOW_TIMER_PRIORITY: u8 = 0x00;
/// Priority of the maintenance interrupt: below the window timer (with equal
/// priorities the GIC takes the lower id first, and a refill for the
/// partition whose window just ended must not run before the boundary),
/// above partitions' interrupts.
const MAINTENANCE_PRIORITY: u8 = 0x10;
/// Priority of partition interrupts at EL2 (only the order the kernel
/// acknowledges them in; the partition's own priorities are virtual).
const PARTITION_PRIORITY: u8 = 0x80;

cp15_register!(
    /// `ICC_CTLR`: `p15, 0, c12, c12, 4`.
    IccCtlr, 12, 0, 12, 4, read, write
);
cp15_register!(
    /// `ICC_EOIR1`: `p15, 0, c12, c12, 1`. Written directly with the raw id:
    /// arm-gic's `end_interrupt` takes an `IntId`, whose constructors assert
    /// their range, and nothing on a path a partition can reach may panic.
    IccEoir1, 12, 0, 12, 1, write
);
cp15_register!(
    /// `ICC_DIR`: `p15, 0, c12, c11, 1`.
    IccDir, 12, 0, 11, 1, write
);

const ICC_CTLR_EOIMODE: u32 = 1 << 1;

mod reg {
    pub const ISENABLER: usize = 0x100;
    pub const ICENABLER: usize = 0x180;
    pub const ISPENDR: usize = 0x200;
    pub const ICPENDR: usize = 0x280;
    pub const ISACTIVER: usize = 0x300;
    pub const ICACTIVER: usize = 0x380;
    pub const TYPER: usize = 0x4;
    pub const IIDR: usize = 0x8;
    pub const PIDR2: usize = 0xFFE8;
    /// Offset of the SGI frame in a redistributor.
    pub const SGI_FRAME: usize = 0x1_0000;
}

/// The physical GIC frames.
pub struct Gic {
    gicd: usize,
    gicr: usize,
}

impl Gic {
    /// The GIC at these frames (from the generated tables).
    pub const fn new(gicd: usize, gicr: usize) -> Gic {
        Gic { gicd, gicr }
    }

    /// Initialises the distributor (core 0, before the other cores are
    /// released): every SPI a partition owns gets the partitions' priority,
    /// stays disabled (it is enabled in its owner's windows only), is
    /// edge-triggered if it is in `edge_spis` (the board's fact) and
    /// level-sensitive otherwise, and is routed to the core its owner runs
    /// on, so it can reach no other core.
    ///
    /// Returns `false` if the GIC cannot be found.
    pub fn init_distributor(board: &BoardDesc, cores: &[CoreDesc], edge_spis: &[u16]) -> bool {
        let Some(gicd) = NonNull::new(board.gicd_base as *mut Gicd) else { return false };
        // SAFETY: the board's distributor from the generated tables, mapped
        // by the kernel's own device region; this handle lives only for the
        // set-up and no other core runs yet.
        let mut distributor = GicDistributor::new(unsafe { UniqueMmioPointer::new(gicd) });
        distributor.configure_default_settings();
        let mut ok = true;
        for (core, desc) in cores.iter().enumerate() {
            for (intid_raw, route) in desc.interrupt_routes.iter().enumerate().skip(FIRST_SPI as usize) {
                if route.target().is_some() {
                    let intid = id(intid_raw as u16);
                    ok &= distributor.set_interrupt_priority(intid, PARTITION_PRIORITY).is_ok();
                    ok &= distributor.enable_interrupt(intid, false).is_ok();
                    // The board's fact, set once: partitions never change
                    // it (`SystemDesc::edge_spis`).
                    let edge = edge_spis.binary_search(&(intid_raw as u16)).is_ok();
                    let trigger = if edge { Trigger::Edge } else { Trigger::Level };
                    ok &= distributor.set_trigger(intid, trigger).is_ok();
                    ok &= distributor.set_routing(intid, Some(board.irouter_affinity(core))).is_ok();
                }
            }
        }
        ok
    }

    /// Initialises this core's redistributor and CPU interface (each core
    /// its own, after the distributor): enables the interrupts the kernel
    /// always wants (the hyp timer, the maintenance interrupt, and the
    /// virtual timer, whose owner is whoever runs) and gives the core's own
    /// private interrupts that partitions own the partitions' priority.
    ///
    /// Returns `false` if the redistributor cannot be found.
    pub fn init_core(&self, routes: &[InterruptRoute]) -> bool {
        GicCpuInterface::enable_system_register_el2(true);
        GicCpuInterface::disable_legacy_interrupt_bypass_el2(true);
        let (Some(gicd), Some(gicr)) = (NonNull::new(self.gicd as *mut Gicd), NonNull::new(self.gicr as *mut GicrSgi))
        else {
            return false;
        };
        // SAFETY: the board's GIC frames from the generated tables, mapped by
        // the kernel's own device region; `self.gicr` is this core's own
        // redistributor, and the handle lives only for this set-up, which
        // touches no distributor register.
        let gic = unsafe { GicV3::new(UniqueMmioPointer::new(gicd), gicr, 1) };
        let Ok(mut gic) = gic else {
            return false;
        };
        // arm-gic numbers redistributors from the base it was given: this
        // core's is its 0.
        const OWN: usize = 0;
        gic.init_cpu(OWN);
        let mut ok = match gic.redistributor(OWN) {
            Ok(mut redistributor) => {
                redistributor.configure_default_settings();
                true
            }
            Err(_) => false,
        };
        for (intid, priority) in [
            (HYP_TIMER, WINDOW_TIMER_PRIORITY),
            (MAINTENANCE, MAINTENANCE_PRIORITY),
            (VIRTUAL_TIMER, PARTITION_PRIORITY),
            (KERNEL_SGI, KERNEL_SGI_PRIORITY),
        ] {
            ok &= gic.set_interrupt_priority(id(intid), Some(OWN), priority).is_ok();
            ok &= gic.enable_interrupt(id(intid), Some(OWN), true).is_ok();
        }
        for (intid, route) in routes.iter().enumerate().take(FIRST_SPI as usize) {
            if route.target().is_some() {
                ok &= gic.set_interrupt_priority(id(intid as u16), Some(OWN), PARTITION_PRIORITY).is_ok();
                ok &= gic.enable_interrupt(id(intid as u16), Some(OWN), false).is_ok();
            }
        }
        GicCpuInterface::enable_group1(true);
        GicCpuInterface::set_priority_mask(0xFF);
        // SAFETY: split priority drop and deactivation (see the module doc).
        unsafe { IccCtlr::write_raw(IccCtlr::read_raw() | ICC_CTLR_EOIMODE) };
        ok
    }

    /// What the partitions' virtual GICs report about the hardware.
    pub fn facts(&self) -> GicFacts {
        GicFacts {
            gicd_typer: self.read(self.gicd + reg::TYPER),
            gicd_iidr: self.read(self.gicd + reg::IIDR),
            pidr2: self.read(self.gicd + reg::PIDR2),
            gicr_iidr: self.read(self.gicr + reg::IIDR),
            // The affinity a partition on this core reads in its `MPIDR`
            // (`traps::partition_mpidr`), in `IROUTER` form (Aff2..Aff0;
            // AArch32 has no Aff3): the one its virtual GIC accepts.
            affinity: (super::traps::partition_mpidr(aarch32_cpu::register::Mpidr::read_raw()) & 0x00FF_FFFF) as u64,
        }
    }

    fn read(&self, address: usize) -> u32 {
        // SAFETY: an address inside the GIC frames the kernel owns (see
        // `init`); reads of these registers have no side effects.
        unsafe { read_volatile(address as *const u32) }
    }

    fn write(&self, address: usize, value: u32) {
        // SAFETY: as in `read`; the callers write only the bit of an
        // interrupt the kernel or the calling partition owns.
        unsafe { write_volatile(address as *mut u32, value) }
    }

    /// The frame holding `intid`'s per-interrupt registers.
    fn frame(&self, intid: u16) -> usize {
        if intid >= FIRST_SPI { self.gicd } else { self.gicr + reg::SGI_FRAME }
    }

    /// The address of the word of one-bit-per-interrupt `register` that
    /// holds `intid`.
    fn word(&self, register: usize, intid: u16) -> usize {
        self.frame(intid) + register + (intid as usize / 32) * 4
    }

    fn bit(&self, register: usize, intid: u16) {
        self.write(self.word(register, intid), 1 << (intid % 32));
    }

    /// Makes `intid` active (restoring a switched-out partition's state).
    pub fn set_active(&self, intid: u16) {
        self.bit(reg::ISACTIVER, intid);
    }

    /// Deactivates `intid` through the distributor or redistributor.
    pub fn clear_active(&self, intid: u16) {
        self.bit(reg::ICACTIVER, intid);
    }

    /// Whether `intid` is active.
    pub fn is_active(&self, intid: u16) -> bool {
        self.read(self.word(reg::ISACTIVER, intid)) & (1 << (intid % 32)) != 0
    }

    /// Writes `mask` to `register` for the 32 interrupts from `base` (a
    /// multiple of 32): one word write for a whole emulated access.
    pub fn write_bits(&self, register: BitWrite, base: u16, mask: u32) {
        let offset = match register {
            BitWrite::SetEnable => reg::ISENABLER,
            BitWrite::ClearEnable => reg::ICENABLER,
            BitWrite::SetPending => reg::ISPENDR,
            BitWrite::ClearPending => reg::ICPENDR,
            BitWrite::ClearActive => reg::ICACTIVER,
        };
        self.write(self.word(offset, base), mask);
    }

    /// Enables the SPIs of `word` set in `mask` (a partition's window starts).
    pub fn unmask(&self, word: SpiWord, mask: u32) {
        self.write(self.gicd + reg::ISENABLER + word.word as usize * 4, mask & word.owned);
    }

    /// Disables the SPIs of `word` set in `mask` (a partition's window
    /// ends): they stay pending, if they are, until its next window.
    pub fn mask(&self, word: SpiWord, mask: u32) {
        self.write(self.gicd + reg::ICENABLER + word.word as usize * 4, mask & word.owned);
    }

    /// Puts a partition's SPIs of `word` back in their reset state:
    /// disabled, not pending, not active (three word writes).
    pub fn quiesce(&self, word: SpiWord) {
        let at = |register: usize| self.gicd + register + word.word as usize * 4;
        self.write(at(reg::ICENABLER), word.owned);
        self.write(at(reg::ICPENDR), word.owned);
        self.write(at(reg::ICACTIVER), word.owned);
    }
}

/// The arm-gic id for a raw interrupt id below 1020 (set-up only: the
/// constructors assert their range).
fn id(raw: u16) -> IntId {
    match raw {
        0..16 => IntId::sgi(raw as u32),
        16..32 => IntId::ppi(raw as u32 - 16),
        _ => IntId::spi(raw as u32 - 32),
    }
}

/// Rings core `core`'s kernel: SGI [`KERNEL_SGI`] to it alone, through
/// `ICC_SGI1R` (TargetList bit `core` in the board's cluster,
/// `BoardDesc::sgi1r`). `cargo xtask bench` watches this function and the
/// label `bulkhead_ring_sent` after the write.
#[inline(never)]
#[allow(
    named_asm_labels,
    reason = "one global label the bench needs; a second copy fails to assemble rather than mislead"
)]
pub fn ring(board: &BoardDesc, core: usize) {
    let sgi1r = board.sgi1r(KERNEL_SGI, core);
    let (low, high) = (sgi1r as u32, (sgi1r >> 32) as u32);
    // SAFETY: a write of ICC_SGI1R (`mcrr p15, 0, Rt, Rt2, c12`) raises SGI
    // 0 on the named core, the kernels' own doorbell; nothing else changes.
    unsafe {
        core::arch::asm!(
            "dsb sy",
            "mcrr p15, 0, {low}, {high}, c12",
            "isb",
            ".global bulkhead_ring_sent",
            "bulkhead_ring_sent:",
            low = in(reg) low,
            high = in(reg) high,
            options(nostack, preserves_flags),
        )
    };
}

/// Masks every interrupt at this core's CPU interface (`ICC_PMR` 0): a core
/// that has stopped for good, so that nothing wakes its `WFI`.
pub fn mask_all() {
    GicCpuInterface::set_priority_mask(0);
}

/// Acknowledges the highest-priority pending interrupt, if any.
#[inline]
pub fn acknowledge() -> Option<u16> {
    GicCpuInterface::get_and_acknowledge_interrupt(InterruptGroup::Group1).map(|id| u32::from(id) as u16)
}

/// Drops the running priority for `intid` and leaves it active: a partition
/// interrupt, deactivated later by the partition's EOI.
#[inline]
pub fn drop_priority(intid: u16) {
    // SAFETY: ends the interrupt the kernel just acknowledged.
    unsafe { IccEoir1::write_raw(intid as u32) };
}

/// Ends a kernel interrupt: drops priority and deactivates it.
#[inline]
pub fn end(intid: u16) {
    drop_priority(intid);
    deactivate(intid);
}

/// Deactivates an interrupt whose priority was already dropped and that
/// nobody will handle (its owner halted or is restarting).
#[inline]
pub fn deactivate(intid: u16) {
    // SAFETY: deactivates an interrupt the kernel acknowledged.
    unsafe { IccDir::write_raw(intid as u32) };
}
