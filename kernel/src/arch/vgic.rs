//! The GIC virtualization registers: list registers and the virtual CPU
//! interface, which give each partition its own interrupt controller.
//!
//! With `HCR.IMO` set, a partition's `ICC_*` accesses reach the *virtual* CPU
//! interface, which presents what the list registers (`ICH_LR<n>`) hold.
//! This module saves and restores that interface per partition and reads
//! and writes list registers for `kernel.rs`; what goes in them is decided
//! by `bulkhead_kernel_core::vgic`. It never touches the distributor (see
//! `arch::gic`).
//!
//! aarch32-cpu 0.4 has no `ICH_*` accessors; the encodings here are the
//! AArch32 ones (`p15, 4, c12, ...`) from the GICv3 architecture
//! specification.

use aarch32_cpu::register::{SysRegRead, SysRegWrite};
use bulkhead_kernel_core::vgic::{LIST_REGISTERS, ListRegister, Vgic};

/// `ICH_*` registers: `p15, 4, c12, CRm, op2`, read and written.
macro_rules! ich_register {
    ($(#[$doc:meta])* $name:ident, $crm:literal, $op2:literal) => {
        cp15_register!($(#[$doc])* $name, 12, 4, $crm, $op2, read, write);
    };
}

ich_register!(/// `ICH_AP0R0`: group 0 active priorities.
    IchAp0r0, 8, 0);
ich_register!(/// `ICH_AP1R0`: group 1 active priorities.
    IchAp1r0, 9, 0);
ich_register!(/// `ICH_HCR`: virtual interface control.
    IchHcr, 11, 0);
ich_register!(/// `ICH_ELRSR`: which list registers are empty.
    IchElrsr, 11, 5);
ich_register!(/// `ICH_VMCR`: the guest's PMR, BPR and group enables.
    IchVmcr, 11, 7);
ich_register!(/// `ICH_LR0` (low word).
    IchLr0, 12, 0);
ich_register!(/// `ICH_LR1` (low word).
    IchLr1, 12, 1);
ich_register!(/// `ICH_LR2` (low word).
    IchLr2, 12, 2);
ich_register!(/// `ICH_LR3` (low word).
    IchLr3, 12, 3);
ich_register!(/// `ICH_LRC0` (high word).
    IchLrc0, 14, 0);
ich_register!(/// `ICH_LRC1` (high word).
    IchLrc1, 14, 1);
ich_register!(/// `ICH_LRC2` (high word).
    IchLrc2, 14, 2);
ich_register!(/// `ICH_LRC3` (high word).
    IchLrc3, 14, 3);

/// `ICH_HCR.En`: the virtual CPU interface is on.
const HCR_EN: u32 = 1 << 0;
/// `ICH_HCR.UIE`: maintenance interrupt when at most one list register is in use.
const HCR_UIE: u32 = 1 << 1;

/// Reads the list registers.
#[inline(always)]
pub fn read_list_registers() -> [ListRegister; LIST_REGISTERS] {
    [
        ListRegister::from_words(IchLr0::read_raw(), IchLrc0::read_raw()),
        ListRegister::from_words(IchLr1::read_raw(), IchLrc1::read_raw()),
        ListRegister::from_words(IchLr2::read_raw(), IchLrc2::read_raw()),
        ListRegister::from_words(IchLr3::read_raw(), IchLrc3::read_raw()),
    ]
}

/// Writes the list registers selected by `mask` (bit n = `ICH_LR<n>`).
#[inline(always)]
pub fn write_list_registers(lrs: &[ListRegister; LIST_REGISTERS], mask: u32) {
    // Unrolled by hand: a loop here stays a loop, with a jump table per turn.
    let [lr0, lr1, lr2, lr3] = *lrs;
    if mask & 1 != 0 {
        write_list_register(0, lr0);
    }
    if mask & 2 != 0 {
        write_list_register(1, lr1);
    }
    if mask & 4 != 0 {
        write_list_register(2, lr2);
    }
    if mask & 8 != 0 {
        write_list_register(3, lr3);
    }
}

/// Writes list register `n` (ignored beyond the last).
///
/// Always inlined: with `n` known, as in [`write_list_registers`] and
/// [`restore`], it is two instructions.
#[inline(always)]
pub fn write_list_register(n: usize, lr: ListRegister) {
    // SAFETY: list registers only describe virtual interrupts for the
    // partition whose interface is loaded; HW-linked entries name physical
    // interrupts that partition owns (bulkhead_kernel_core::vgic only lists
    // owned ones), so its EOI can deactivate nothing else.
    unsafe {
        match n {
            0 => {
                IchLrc0::write_raw(lr.high());
                IchLr0::write_raw(lr.low());
            }
            1 => {
                IchLrc1::write_raw(lr.high());
                IchLr1::write_raw(lr.low());
            }
            2 => {
                IchLrc2::write_raw(lr.high());
                IchLr2::write_raw(lr.low());
            }
            3 => {
                IchLrc3::write_raw(lr.high());
                IchLr3::write_raw(lr.low());
            }
            _ => {}
        }
    }
}

/// The interrupt id list register `n` holds (whatever its state).
pub fn listed_intid(n: usize) -> u16 {
    let low = match n {
        0 => IchLr0::read_raw(),
        1 => IchLr1::read_raw(),
        2 => IchLr2::read_raw(),
        3 => IchLr3::read_raw(),
        _ => 0,
    };
    ListRegister::from_words(low, 0).intid()
}

/// `ICH_ELRSR`: bit n set when list register n is empty.
pub fn empty_list_registers() -> u32 {
    IchElrsr::read_raw()
}

/// Turns the virtual interface on for the loaded partition, asking for a
/// maintenance interrupt when list registers run low if `more_queued`.
pub fn enable(more_queued: bool) {
    // SAFETY: the virtual CPU interface only affects EL1's view of interrupts.
    unsafe { IchHcr::write_raw(HCR_EN | if more_queued { HCR_UIE } else { 0 }) };
}

/// Saves the virtual CPU interface into `vgic` and turns it off.
pub fn save(vgic: &mut Vgic) {
    vgic.lrs = read_list_registers();
    vgic.vmcr = IchVmcr::read_raw();
    vgic.apr = [IchAp0r0::read_raw(), IchAp1r0::read_raw()];
    // SAFETY: as in `enable`; no partition runs until the next restore.
    unsafe { IchHcr::write_raw(0) };
}

/// Loads the virtual CPU interface from `vgic` (still off; see [`enable`]).
pub fn restore(vgic: &Vgic) {
    write_list_registers(&vgic.lrs, 0b1111);
    // SAFETY: as in `enable`.
    unsafe {
        IchVmcr::write_raw(vgic.vmcr);
        IchAp0r0::write_raw(vgic.apr[0]);
        IchAp1r0::write_raw(vgic.apr[1]);
    }
}
