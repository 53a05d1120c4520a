//! Where a trapped partition's register `rN` lives, in the mode it trapped
//! from.
//!
//! When the kernel completes an instruction on a partition's behalf (a
//! load or store to the emulated GIC, a `MRC`/`MCR` it emulates), the
//! instruction names its registers by number, and what `r8`, `sp` or `lr`
//! *is* depends on the partition's mode: compilers use `lr` as an ordinary
//! register (GCC `-O2` emits `ldr lr, [lr, #4072]`), interrupt handlers run in
//! IRQ mode with their own `sp` and `lr`, and FIQ handlers have their own
//! `r8`-`r12`. Hyp mode itself sees the User/System bank of `r8`-`r12` and
//! `lr`, which is what the entry assembly saves in the trap frame; everything
//! else is still in the CPU's banked registers while the kernel handles the
//! trap, and `MRS`/`MSR` (banked) reach it.
//!
//! This module only answers "which storage"; the kernel's
//! `arch::guest_registers` reads and writes it. It never accepts `r15`: the
//! kernel never emulates an instruction that transfers the PC.

/// The EL1/EL0 modes a partition can trap from (`SPSR.M[4:0]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `0b10000`.
    User,
    /// `0b10001`.
    Fiq,
    /// `0b10010`.
    Irq,
    /// `0b10011`.
    Supervisor,
    /// `0b10111`.
    Abort,
    /// `0b11011`.
    Undefined,
    /// `0b11111`.
    System,
}

impl Mode {
    /// Every mode, for tests and tables.
    pub const ALL: [Mode; 7] =
        [Mode::User, Mode::Fiq, Mode::Irq, Mode::Supervisor, Mode::Abort, Mode::Undefined, Mode::System];

    /// The mode in `spsr`'s `M` field; `None` for Hyp, Monitor or reserved
    /// encodings (which no EL1 exception can carry).
    #[inline(always)]
    pub const fn of(spsr: u32) -> Option<Mode> {
        Some(match spsr & 0x1F {
            0x10 => Mode::User,
            0x11 => Mode::Fiq,
            0x12 => Mode::Irq,
            0x13 => Mode::Supervisor,
            0x17 => Mode::Abort,
            0x1B => Mode::Undefined,
            0x1F => Mode::System,
            _ => return None,
        })
    }

    /// The `M` field of this mode.
    pub const fn bits(self) -> u32 {
        match self {
            Mode::User => 0x10,
            Mode::Fiq => 0x11,
            Mode::Irq => 0x12,
            Mode::Supervisor => 0x13,
            Mode::Abort => 0x17,
            Mode::Undefined => 0x1B,
            Mode::System => 0x1F,
        }
    }
}

/// A banked register Hyp mode reaches with `MRS`/`MSR` (banked register).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Banked {
    /// `SP_usr` (User and System modes).
    SpUsr,
    /// `R8_fiq`..`R12_fiq`: index 0..=4.
    FiqHigh(u8),
    /// `SP_fiq`.
    SpFiq,
    /// `LR_fiq`.
    LrFiq,
    /// `SP_irq`.
    SpIrq,
    /// `LR_irq`.
    LrIrq,
    /// `SP_svc`.
    SpSvc,
    /// `LR_svc`.
    LrSvc,
    /// `SP_abt`.
    SpAbt,
    /// `LR_abt`.
    LrAbt,
    /// `SP_und`.
    SpUnd,
    /// `LR_und`.
    LrUnd,
}

/// Where register `rN` of the trapped partition is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// `r0`..`r12` of the User bank: the trap frame's `r[n]`.
    Frame(u8),
    /// `LR_usr`: the trap frame's `lr_usr` (Hyp mode shares `LR` with User
    /// and System modes).
    LrUsr,
    /// In the CPU's banked registers.
    Banked(Banked),
}

/// Where register `n` (0..=14) is for a partition that trapped in the mode
/// of `spsr`. `None` for `r15`, a number above 15, or `sp`/`lr`/FIQ's high
/// registers in a mode no EL1 exception carries (`r0`-`r12` of any other
/// mode are the User bank's: the common case is two compares).
pub const fn locate(spsr: u32, n: u8) -> Option<Location> {
    if in_user_bank(spsr, n) {
        return Some(Location::Frame(n));
    }
    let Some(mode) = Mode::of(spsr) else { return None };
    Some(match (mode, n) {
        (Mode::Fiq, 8..=12) => Location::Banked(Banked::FiqHigh(n - 8)),
        (Mode::User | Mode::System, 13) => Location::Banked(Banked::SpUsr),
        (Mode::User | Mode::System, 14) => Location::LrUsr,
        (Mode::Fiq, 13) => Location::Banked(Banked::SpFiq),
        (Mode::Fiq, 14) => Location::Banked(Banked::LrFiq),
        (Mode::Irq, 13) => Location::Banked(Banked::SpIrq),
        (Mode::Irq, 14) => Location::Banked(Banked::LrIrq),
        (Mode::Supervisor, 13) => Location::Banked(Banked::SpSvc),
        (Mode::Supervisor, 14) => Location::Banked(Banked::LrSvc),
        (Mode::Abort, 13) => Location::Banked(Banked::SpAbt),
        (Mode::Abort, 14) => Location::Banked(Banked::LrAbt),
        (Mode::Undefined, 13) => Location::Banked(Banked::SpUnd),
        (Mode::Undefined, 14) => Location::Banked(Banked::LrUnd),
        _ => return None,
    })
}

/// Whether `rN` is `r0`-`r12` of the User bank (the trap frame's) in the
/// mode of `spsr`: the common case, which [`locate`] answers first and the
/// kernel inlines.
#[inline(always)]
pub const fn in_user_bank(spsr: u32, n: u8) -> bool {
    n < 8 || (n <= 12 && spsr & 0x1F != Mode::Fiq.bits())
}

/// A trapped partition's registers by architectural number (0..=14), as
/// its mode sees them. The kernel implements it over the trap frame and the
/// CPU's banked registers; host tests over a model of every bank.
pub trait GuestRegisters {
    /// The value of `rN`; `None` for the PC or an impossible mode.
    fn read(&self, n: u8) -> Option<u32>;
    /// Sets `rN`; `false` for the PC or an impossible mode.
    fn write(&mut self, n: u8, value: u32) -> bool;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::string::String;
    use std::vec::Vec;

    /// A CPU as the architecture describes it: every physical register by
    /// name, each with a distinct value, and the mode it trapped in. Its
    /// [`GuestRegisters`] goes through [`locate`]; tests compare against
    /// [`architectural_name`], the Arm ARM's table.
    pub(crate) struct ModelCpu {
        pub spsr: u32,
        pub physical: BTreeMap<String, u32>,
    }

    impl ModelCpu {
        pub(crate) fn new(mode: Mode) -> ModelCpu {
            let mut physical = BTreeMap::new();
            let mut names: Vec<String> = (0..8).map(|n| std::format!("r{n}")).collect();
            for bank in ["usr", "fiq"] {
                names.extend((8..=12).map(|n| std::format!("r{n}_{bank}")));
            }
            for bank in ["usr", "fiq", "irq", "svc", "abt", "und"] {
                names.push(std::format!("sp_{bank}"));
                names.push(std::format!("lr_{bank}"));
            }
            for (i, name) in names.into_iter().enumerate() {
                physical.insert(name, 0x1000_0000 + 0x100 * i as u32);
            }
            ModelCpu { spsr: mode.bits(), physical }
        }

        /// `rN` as the architecture defines it for the current mode.
        pub(crate) fn architectural(&self, n: u8) -> u32 {
            self.physical[&physical_name(Mode::of(self.spsr).unwrap(), n)]
        }
    }

    impl GuestRegisters for ModelCpu {
        fn read(&self, n: u8) -> Option<u32> {
            self.physical.get(&storage_name(locate(self.spsr, n)?)).copied()
        }
        fn write(&mut self, n: u8, value: u32) -> bool {
            let Some(location) = locate(self.spsr, n) else { return false };
            *self.physical.get_mut(&storage_name(location)).unwrap() = value;
            true
        }
    }

    /// The physical register behind `rN` in `mode`.
    pub(crate) fn physical_name(mode: Mode, n: u8) -> String {
        if n < 8 { std::format!("r{n}") } else { architectural_name(mode, n).into() }
    }

    /// The Arm ARM's register bank table (DDI 0487, G1.19.2 "ARM core
    /// registers"), written out as data: for each mode, the name of the
    /// physical register behind r8..r14.
    fn architectural_name(mode: Mode, n: u8) -> &'static str {
        const USR: [&str; 7] = ["r8_usr", "r9_usr", "r10_usr", "r11_usr", "r12_usr", "sp_usr", "lr_usr"];
        const FIQ: [&str; 7] = ["r8_fiq", "r9_fiq", "r10_fiq", "r11_fiq", "r12_fiq", "sp_fiq", "lr_fiq"];
        let own = |sp, lr| match n {
            13 => sp,
            14 => lr,
            _ => USR[n as usize - 8],
        };
        match mode {
            Mode::User | Mode::System => USR[n as usize - 8],
            Mode::Fiq => FIQ[n as usize - 8],
            Mode::Irq => own("sp_irq", "lr_irq"),
            Mode::Supervisor => own("sp_svc", "lr_svc"),
            Mode::Abort => own("sp_abt", "lr_abt"),
            Mode::Undefined => own("sp_und", "lr_und"),
        }
    }

    fn storage_name(location: Location) -> String {
        use std::format;
        match location {
            Location::Frame(n @ 8..=12) => format!("r{n}_usr"),
            Location::Frame(n) => format!("r{n}"),
            Location::LrUsr => "lr_usr".into(),
            Location::Banked(Banked::FiqHigh(i)) => format!("r{}_fiq", i + 8),
            Location::Banked(banked) => {
                let name = format!("{banked:?}");
                let (register, mode) = name.split_at(2);
                format!("{}_{}", register.to_lowercase(), mode.to_lowercase())
            }
        }
    }

    #[test]
    fn every_mode_and_register_lands_in_the_architectural_bank() {
        for mode in Mode::ALL {
            let spsr = mode.bits() | 0xF000_01C0;
            for n in 0..=14u8 {
                let location = locate(spsr, n).expect("r0-r14 always have a home");
                assert_eq!(storage_name(location), physical_name(mode, n), "{mode:?} r{n}");
            }
            assert_eq!(locate(spsr, 15), None, "{mode:?} pc");
            assert_eq!(locate(spsr, 16), None);
        }
    }

    #[test]
    fn the_fast_answer_agrees_with_locate() {
        for spsr in (0..32).map(|m| m | 0xF000_0000) {
            for n in 0..=16u8 {
                assert_eq!(
                    in_user_bank(spsr, n),
                    matches!(locate(spsr, n), Some(Location::Frame(_))),
                    "{spsr:#x} r{n}"
                );
            }
        }
    }

    #[test]
    fn no_two_registers_of_one_mode_share_storage() {
        for mode in Mode::ALL {
            let mut seen = BTreeMap::new();
            for n in 0..=14u8 {
                let name = storage_name(locate(mode.bits(), n).unwrap());
                assert_eq!(seen.insert(name.clone(), n), None, "{mode:?}: r{n} and another share {name}");
            }
        }
    }

    #[test]
    fn modes_round_trip_and_others_are_refused() {
        for mode in Mode::ALL {
            assert_eq!(Mode::of(mode.bits()), Some(mode));
        }
        let refused: Vec<u32> = (0..32).filter(|m| Mode::of(*m).is_none()).collect();
        assert_eq!(refused.len(), 32 - 7);
        assert!(refused.contains(&0x1A), "Hyp");
        assert!(refused.contains(&0x16), "Monitor");
        assert_eq!(locate(0x1A, 13), None, "Hyp's sp is not a partition's");
        assert_eq!(locate(0x1A, 14), None);
    }
}
