//! The trapped partition's registers, by number, in the mode it trapped
//! from: the trap frame for the User bank (`r0`-`r12`, `LR_usr`) and
//! `MRS`/`MSR` (banked) for the rest, which stay in the CPU while the kernel
//! handles the partition's own trap.
//!
//! `kernel_core::registers` decides which bank a register is in; this module
//! only moves the value. It must only be used for the partition that trapped
//! and before anything switches partitions: after a switch the CPU's banks
//! hold someone else's registers.

use super::context::TrapFrame;
use bulkhead_kernel_core::registers::{Banked, GuestRegisters, Location, in_user_bank, locate};

/// [`GuestRegisters`] of the partition whose trap frame is `frame`.
pub struct TrappedRegisters<'a> {
    /// The frame the entry assembly saved.
    pub frame: &'a mut TrapFrame,
}

impl GuestRegisters for TrappedRegisters<'_> {
    #[inline(always)]
    fn read(&self, n: u8) -> Option<u32> {
        if in_user_bank(self.frame.spsr, n) {
            return self.frame.r.get(n as usize).copied();
        }
        self.read_elsewhere(n)
    }

    #[inline(always)]
    fn write(&mut self, n: u8, value: u32) -> bool {
        if in_user_bank(self.frame.spsr, n)
            && let Some(slot) = self.frame.r.get_mut(n as usize)
        {
            *slot = value;
            return true;
        }
        self.write_elsewhere(n, value)
    }
}

impl TrappedRegisters<'_> {
    /// `rN` outside the User bank's `r0`-`r12`.
    #[cold]
    #[inline(never)]
    fn read_elsewhere(&self, n: u8) -> Option<u32> {
        Some(match locate(self.frame.spsr, n)? {
            Location::Frame(i) => *self.frame.r.get(i as usize)?,
            Location::LrUsr => self.frame.lr_usr,
            Location::Banked(banked) => read_banked(banked),
        })
    }

    #[cold]
    #[inline(never)]
    fn write_elsewhere(&mut self, n: u8, value: u32) -> bool {
        match locate(self.frame.spsr, n) {
            Some(Location::Frame(i)) => match self.frame.r.get_mut(i as usize) {
                Some(slot) => *slot = value,
                None => return false,
            },
            Some(Location::LrUsr) => self.frame.lr_usr = value,
            Some(Location::Banked(banked)) => write_banked(banked, value),
            None => return false,
        }
        true
    }
}

/// One `MRS Rd, <banked>` / `MSR <banked>, Rd` per register: the banked
/// register is part of the instruction encoding, so each needs its own.
macro_rules! banked_access {
    ($($variant:pat => $name:literal),+ $(,)?) => {
        #[inline(always)]
        fn read_banked(banked: Banked) -> u32 {
            let mut value = 0;
            match banked {
                // SAFETY: reading a banked EL1 register from Hyp mode has no
                // side effect; it is the trapped partition's own state.
                $($variant => unsafe {
                    core::arch::asm!(concat!("mrs {}, ", $name), out(reg) value, options(nomem, nostack, preserves_flags))
                },)+
                // `locate` gives FIQ's r8-r12 only: indices 0..=4.
                Banked::FiqHigh(_) => {}
            }
            value
        }

        #[inline(always)]
        fn write_banked(banked: Banked, value: u32) {
            match banked {
                // SAFETY: writing a banked EL1 register from Hyp mode changes
                // only the trapped partition's own state, which is what the
                // emulated instruction does; Hyp mode's own SP, LR and SPSR
                // are not banked registers reachable this way.
                $($variant => unsafe {
                    core::arch::asm!(concat!("msr ", $name, ", {}"), in(reg) value, options(nomem, nostack, preserves_flags))
                },)+
                Banked::FiqHigh(_) => {}
            }
        }
    };
}

banked_access! {
    Banked::SpUsr => "sp_usr",
    Banked::FiqHigh(0) => "r8_fiq",
    Banked::FiqHigh(1) => "r9_fiq",
    Banked::FiqHigh(2) => "r10_fiq",
    Banked::FiqHigh(3) => "r11_fiq",
    Banked::FiqHigh(4) => "r12_fiq",
    Banked::SpFiq => "sp_fiq",
    Banked::LrFiq => "lr_fiq",
    Banked::SpIrq => "sp_irq",
    Banked::LrIrq => "lr_irq",
    Banked::SpSvc => "sp_svc",
    Banked::LrSvc => "lr_svc",
    Banked::SpAbt => "sp_abt",
    Banked::LrAbt => "lr_abt",
    Banked::SpUnd => "sp_und",
    Banked::LrUnd => "lr_und",
}
