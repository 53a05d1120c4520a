//! What each core checks of its own hardware against the board file before
//! it runs anything: the facts the kernel's correctness rests on and the
//! generator had to take on trust.
//!
//! - `HMPUIR.REGION`: the EL2 MPU has at least the regions the tables use
//!   (writing a region the MPU lacks is UNPREDICTABLE).
//! - `MPUIR.DREGION`: the EL1 MPU has exactly the regions the board says,
//!   and no more than the kernel saves on a switch
//!   ([`SAVED_EL1_MPU_REGIONS`]): a region it did not save would carry one
//!   partition's mapping into the next.
//! - `MVFR0.SIMDReg`: 32 double registers, which the context switch saves
//!   and restores (D16-D31 would otherwise be UNDEFINED, or leak).
//! - `CNTFRQ`: the counter frequency the schedule was computed for (0, as
//!   left by a boot ROM that never wrote it, is accepted: the kernel writes
//!   the board's then).
//!
//! A mismatch stops the core with a record naming the fact, the board's
//! value and the hardware's: a board file that is wrong about the silicon
//! must fail at boot, not as a leak later.

use crate::tables::BoardDesc;

/// EL1 MPU regions the context switch saves and restores.
pub const SAVED_EL1_MPU_REGIONS: u32 = 16;

/// The identification registers' values, as the core read them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hardware {
    /// `HMPUIR`.
    pub hmpuir: u32,
    /// `MPUIR`.
    pub mpuir: u32,
    /// `MVFR0`.
    pub mvfr0: u32,
    /// `CNTFRQ`.
    pub cntfrq: u32,
}

/// A board fact the hardware contradicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Which fact (`el2-mpu-regions`, `el1-mpu-regions`, `fpu-registers`,
    /// `counter-frequency`).
    pub fact: &'static str,
    /// What the board file (or the kernel) needs.
    pub board: u32,
    /// What the core reports.
    pub hardware: u32,
}

/// Checks `hardware` against `board` and the timer frequency `timer_hz`.
pub const fn check(board: &BoardDesc, timer_hz: u32, hardware: Hardware) -> Result<(), Mismatch> {
    let el2 = hardware.hmpuir & 0xFF;
    if el2 < board.el2_mpu_regions as u32 {
        return Err(Mismatch { fact: "el2-mpu-regions", board: board.el2_mpu_regions as u32, hardware: el2 });
    }
    let el1 = (hardware.mpuir >> 8) & 0xFF;
    if el1 != board.el1_mpu_regions as u32 || el1 > SAVED_EL1_MPU_REGIONS {
        return Err(Mismatch { fact: "el1-mpu-regions", board: board.el1_mpu_regions as u32, hardware: el1 });
    }
    let simd_registers = match hardware.mvfr0 & 0xF {
        2 => 32,
        1 => 16,
        _ => 0,
    };
    if simd_registers != 32 {
        return Err(Mismatch { fact: "fpu-registers", board: 32, hardware: simd_registers });
    }
    if hardware.cntfrq != 0 && hardware.cntfrq != timer_hz {
        return Err(Mismatch { fact: "counter-frequency", board: timer_hz, hardware: hardware.cntfrq });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOARD: BoardDesc = BoardDesc {
        name: "b",
        console_base: 0,
        gicd_base: 0,
        gicr_base: 0,
        cores: 2,
        cluster_affinity: 0,
        el2_mpu_regions: 16,
        el1_mpu_regions: 16,
    };
    /// The AN536 in QEMU: HMPUIR 16, MPUIR 16 (in bits 15:8), MVFR0
    /// 0x10110222, CNTFRQ 62.5 MHz.
    const AN536: Hardware = Hardware { hmpuir: 16, mpuir: 16 << 8, mvfr0: 0x1011_0222, cntfrq: 62_500_000 };

    #[test]
    fn the_an536_matches_its_board_file() {
        assert_eq!(check(&BOARD, 62_500_000, AN536), Ok(()));
        assert_eq!(check(&BOARD, 62_500_000, Hardware { cntfrq: 0, ..AN536 }), Ok(()), "an unset CNTFRQ");
        assert_eq!(check(&BOARD, 62_500_000, Hardware { hmpuir: 24, ..AN536 }), Ok(()), "more EL2 regions than used");
    }

    #[test]
    fn each_contradiction_is_named_with_both_values() {
        let cases = [
            (Hardware { hmpuir: 8, ..AN536 }, "el2-mpu-regions", 16, 8),
            (Hardware { mpuir: 24 << 8, ..AN536 }, "el1-mpu-regions", 16, 24),
            (Hardware { mpuir: 0, ..AN536 }, "el1-mpu-regions", 16, 0),
            (Hardware { mvfr0: 0x1011_0221, ..AN536 }, "fpu-registers", 32, 16),
            (Hardware { mvfr0: 0x1011_0220, ..AN536 }, "fpu-registers", 32, 0),
            (Hardware { cntfrq: 8_000_000, ..AN536 }, "counter-frequency", 62_500_000, 8_000_000),
        ];
        for (hardware, fact, board, found) in cases {
            assert_eq!(check(&BOARD, 62_500_000, hardware), Err(Mismatch { fact, board, hardware: found }));
        }
        // A board claiming more EL1 regions than the switch saves fails even
        // when the hardware agrees with it.
        let greedy = BoardDesc { el1_mpu_regions: 24, ..BOARD };
        assert_eq!(
            check(&greedy, 62_500_000, Hardware { mpuir: 24 << 8, ..AN536 }),
            Err(Mismatch { fact: "el1-mpu-regions", board: 24, hardware: 24 })
        );
    }
}
