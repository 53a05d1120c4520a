//! The generic timer as the kernel uses it: physical counter and hyp timer.
//!
//! The physical counter is the kernel's clock for the schedule. The hyp timer
//! (`CNTHP_*`, PPI 26) fires at the end of every window; it is programmed
//! with an absolute compare value so a late handler never shifts the next
//! deadline. EL1 can reach neither: `CNTHCTL` traps its physical counter and
//! timer accesses (see `arch::traps`). `CNTVOFF` is written here on every
//! switch-in to give the partition its own frozen-outside-its-windows time.

use aarch32_cpu::register::{
    CntPct, CntVoff, CnthpCtl, SysReg64, SysRegRead, SysRegRead64, SysRegWrite, SysRegWrite64,
};

/// `CNTHP_CVAL`, the hyp timer compare value: `mcrr p15, 6, Rt, Rt2, c14`.
///
/// aarch32-cpu 0.4's `CnthpCval` encodes op1 = 2 (that is `CNTP_CVAL`, the EL1
/// physical timer) and so never reaches the hyp timer; this local type uses
/// the architectural op1 = 6 (Armv8-R AArch32 supplement, CNTHP_CVAL).
struct CnthpCvalFixed;

impl SysReg64 for CnthpCvalFixed {
    const CP: u32 = 15;
    const OP1: u32 = 6;
    const CRM: u32 = 14;
}
impl SysRegWrite64 for CnthpCvalFixed {}

/// The physical counter now.
#[inline]
pub fn now() -> u64 {
    // SAFETY: an ISB only orders the counter read after earlier instructions.
    unsafe { core::arch::asm!("isb", options(nomem, nostack, preserves_flags)) };
    <CntPct as SysRegRead64>::read_raw()
}

/// [`now`], read where the kernel observes a window boundary. The global
/// label right after the read (`bulkhead_boundary_observed`) is for
/// `cargo xtask bench`: the instruction count there, with the tick read,
/// places every boundary on the instruction stream to within one tick.
/// Use it in one place only (a second copy would not assemble).
#[inline(always)]
#[allow(
    named_asm_labels,
    reason = "one global label the bench needs; a duplicated copy fails to assemble rather than mislead"
)]
pub fn now_at_boundary() -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: as in `now`: an ISB, then a read of CNTPCT (`mrrc p15, 0, Rt,
    // Rt2, c14`); the label only names the next instruction.
    unsafe {
        core::arch::asm!(
            "isb",
            "mrrc p15, 0, {low}, {high}, c14",
            ".global bulkhead_boundary_observed",
            "bulkhead_boundary_observed:",
            low = out(reg) low,
            high = out(reg) high,
            options(nomem, nostack, preserves_flags),
        )
    };
    (high as u64) << 32 | low as u64
}

/// Arms the hyp timer to fire when the counter reaches `deadline`.
pub fn set_deadline(deadline: u64) {
    // SAFETY: the hyp timer is the kernel's own; enabling it with a compare
    // value only raises PPI 26 at that tick.
    unsafe {
        <CnthpCvalFixed as SysRegWrite64>::write_raw(deadline);
        CnthpCtl::write_raw(1);
    }
}

/// Switches the hyp timer off (a core that has stopped for good).
pub fn stop() {
    // SAFETY: the hyp timer is the kernel's own; disabling it only stops
    // PPI 26.
    unsafe { CnthpCtl::write_raw(0) };
}

/// `CNTHP_CTL.ISTATUS`: the hyp timer's condition is met.
const CNTHP_CTL_ISTATUS: u32 = 1 << 2;

/// Whether the current window's end is due: the hyp timer's condition is
/// met, whether or not its interrupt has been taken yet.
///
/// Every kernel loop that could run long (a console write, draining the
/// console, a restore) checks this between bounded pieces of work and stops
/// when it says so, so a window boundary waits for at most one piece.
#[inline]
pub fn boundary_due() -> bool {
    CnthpCtl::read_raw() & CNTHP_CTL_ISTATUS != 0
}

/// Sets the virtual counter offset for the partition about to run.
pub fn set_virtual_offset(offset: u64) {
    // SAFETY: CNTVOFF only affects what EL1 reads from the virtual counter.
    unsafe { <CntVoff as SysRegWrite64>::write_raw(offset) };
}
