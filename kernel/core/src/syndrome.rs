//! What an exception taken to Hyp mode means, from `HSR`.
//!
//! `HSR` holds the exception class (EC, bits 31:26), the instruction length
//! (IL, bit 25) and a class-specific syndrome (ISS, bits 24:0). This module
//! names the classes the kernel handles and decodes the abort syndromes it
//! logs. Values come from the Armv8-R AArch32 supplement (DDI 0568), G5.

/// Exception classes the kernel distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExceptionClass {
    /// EC 0x00: unknown reason (e.g. an instruction UNDEFINED at EL2's request).
    Unknown,
    /// EC 0x01: trapped WFI/WFE.
    WfiWfe,
    /// EC 0x03: trapped MCR/MRC to CP15.
    Cp15Transfer,
    /// EC 0x04: trapped MCRR/MRRC to CP15.
    Cp15DoubleTransfer,
    /// EC 0x05: trapped MCR/MRC to CP14.
    Cp14Transfer,
    /// EC 0x06: trapped LDC/STC to CP14.
    Cp14LoadStore,
    /// EC 0x07: trapped access to the FPU or Advanced SIMD.
    FpuAccess,
    /// EC 0x08: trapped VMRS to an ID register.
    FpuIdRegister,
    /// EC 0x0C: trapped MRRC to CP14.
    Cp14DoubleTransfer,
    /// EC 0x0E: illegal exception return.
    IllegalReturn,
    /// EC 0x12: HVC.
    Hvc,
    /// EC 0x13: trapped SMC.
    Smc,
    /// EC 0x20: prefetch abort from EL1 or EL0 (stage 2: outside its regions).
    PrefetchAbortLower,
    /// EC 0x21: prefetch abort taken in Hyp mode.
    PrefetchAbortHyp,
    /// EC 0x22: PC alignment fault.
    PcAlignment,
    /// EC 0x24: data abort from EL1 or EL0 (stage 2: outside its regions).
    DataAbortLower,
    /// EC 0x25: data abort taken in Hyp mode.
    DataAbortHyp,
    /// Any other class.
    Other(u8),
}

impl ExceptionClass {
    /// Decodes the EC field of `hsr`.
    pub const fn of(hsr: u32) -> ExceptionClass {
        match (hsr >> 26) as u8 {
            0x00 => ExceptionClass::Unknown,
            0x01 => ExceptionClass::WfiWfe,
            0x03 => ExceptionClass::Cp15Transfer,
            0x04 => ExceptionClass::Cp15DoubleTransfer,
            0x05 => ExceptionClass::Cp14Transfer,
            0x06 => ExceptionClass::Cp14LoadStore,
            0x07 => ExceptionClass::FpuAccess,
            0x08 => ExceptionClass::FpuIdRegister,
            0x0C => ExceptionClass::Cp14DoubleTransfer,
            0x0E => ExceptionClass::IllegalReturn,
            0x12 => ExceptionClass::Hvc,
            0x13 => ExceptionClass::Smc,
            0x20 => ExceptionClass::PrefetchAbortLower,
            0x21 => ExceptionClass::PrefetchAbortHyp,
            0x22 => ExceptionClass::PcAlignment,
            0x24 => ExceptionClass::DataAbortLower,
            0x25 => ExceptionClass::DataAbortHyp,
            other => ExceptionClass::Other(other),
        }
    }

    /// A short lower-case name for the log.
    pub const fn name(self) -> &'static str {
        match self {
            ExceptionClass::Unknown => "undefined",
            ExceptionClass::WfiWfe => "trapped-wfi-wfe",
            ExceptionClass::Cp15Transfer => "trapped-cp15",
            ExceptionClass::Cp15DoubleTransfer => "trapped-cp15-64",
            ExceptionClass::Cp14Transfer => "trapped-cp14",
            ExceptionClass::Cp14LoadStore => "trapped-cp14-ldc-stc",
            ExceptionClass::FpuAccess => "trapped-fpu",
            ExceptionClass::FpuIdRegister => "trapped-fpu-id",
            ExceptionClass::Cp14DoubleTransfer => "trapped-cp14-64",
            ExceptionClass::IllegalReturn => "illegal-return",
            ExceptionClass::Hvc => "hvc",
            ExceptionClass::Smc => "trapped-smc",
            ExceptionClass::PrefetchAbortLower => "stage2-prefetch-abort",
            ExceptionClass::PrefetchAbortHyp => "hyp-prefetch-abort",
            ExceptionClass::PcAlignment => "pc-alignment",
            ExceptionClass::DataAbortLower => "stage2-data-abort",
            ExceptionClass::DataAbortHyp => "hyp-data-abort",
            ExceptionClass::Other(_) => "unexpected-class",
        }
    }
}

/// The ISS of an HVC: its 16-bit immediate.
pub const fn hvc_immediate(hsr: u32) -> u16 {
    (hsr & 0xFFFF) as u16
}

/// Fields of a data abort syndrome (EC 0x24/0x25).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataAbort {
    /// The access was a write.
    pub write: bool,
    /// A load sign-extends (SSE), when `valid`.
    pub sign_extend: bool,
    /// The syndrome describes the access (ISV): size and register are valid.
    pub valid: bool,
    /// Access size in bytes, when `valid`.
    pub size: u8,
    /// Transfer register, when `valid`.
    pub register: u8,
    /// Fault status code (DFSC).
    pub status: u8,
}

impl DataAbort {
    /// Decodes the ISS of a data abort.
    pub const fn decode(hsr: u32) -> DataAbort {
        DataAbort {
            write: hsr & (1 << 6) != 0,
            sign_extend: hsr & (1 << 21) != 0,
            valid: hsr & (1 << 24) != 0,
            size: 1 << ((hsr >> 22) & 0b11),
            register: ((hsr >> 16) & 0xF) as u8,
            status: (hsr & 0x3F) as u8,
        }
    }
}

/// A trapped `MCR`/`MRC` to CP15 (EC 0x03): `p15, opc1, Rt, CRn, CRm, opc2`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cp15Access {
    /// `opc1`.
    pub opc1: u8,
    /// `CRn`.
    pub crn: u8,
    /// `CRm`.
    pub crm: u8,
    /// `opc2`.
    pub opc2: u8,
    /// The transfer register.
    pub rt: u8,
    /// An `MRC` (read) rather than an `MCR`.
    pub read: bool,
    /// The instruction's condition, when the syndrome gives one (CV = 1).
    pub condition: Option<u8>,
}

impl Cp15Access {
    /// Decodes the ISS of a trapped CP15 transfer.
    pub const fn decode(hsr: u32) -> Cp15Access {
        Cp15Access {
            opc2: ((hsr >> 17) & 0b111) as u8,
            opc1: ((hsr >> 14) & 0b111) as u8,
            crn: ((hsr >> 10) & 0xF) as u8,
            rt: ((hsr >> 5) & 0xF) as u8,
            crm: ((hsr >> 1) & 0xF) as u8,
            read: hsr & 1 != 0,
            condition: if hsr & (1 << 24) != 0 { Some(((hsr >> 20) & 0xF) as u8) } else { None },
        }
    }

    /// Whether the instruction's condition passes with the flags of
    /// `spsr` (a core may trap a conditional instruction that fails its
    /// condition; such an instruction must then do nothing).
    pub const fn condition_passed(&self, spsr: u32) -> bool {
        match self.condition {
            None => true,
            Some(condition) => condition_passed(condition, spsr),
        }
    }
}

/// Whether A32/T32 condition `condition` (0..=15) passes with the N, Z, C
/// and V flags of `spsr`.
pub const fn condition_passed(condition: u8, spsr: u32) -> bool {
    let (n, z, c, v) = (spsr & (1 << 31) != 0, spsr & (1 << 30) != 0, spsr & (1 << 29) != 0, spsr & (1 << 28) != 0);
    let base = match condition >> 1 {
        0 => z,
        1 => c,
        2 => n,
        3 => v,
        4 => c && !z,
        5 => n == v,
        6 => n == v && !z,
        _ => return true,
    };
    if condition & 1 != 0 { !base } else { base }
}

/// `spsr` with its Thumb `IT` state advanced past one instruction, as the
/// hardware does when an instruction completes (the Arm ARM's `ITAdvance`):
/// needed whenever the kernel completes an instruction on a partition's
/// behalf, which may sit inside an `IT` block (compilers put conditional
/// stores to device registers there).
pub const fn advance_it_state(spsr: u32) -> u32 {
    // IT[7:2] is SPSR[15:10], IT[1:0] is SPSR[26:25].
    let it = ((spsr >> 8) & 0xFC) | ((spsr >> 25) & 0b11);
    let next = if it & 0b111 == 0 { 0 } else { (it & 0xE0) | ((it << 1) & 0x1F) };
    (spsr & !((0x3F << 10) | (0b11 << 25))) | ((next & 0xFC) << 8) | ((next & 0b11) << 25)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn decodes_a_trapped_cache_maintenance_instruction() {
        // `mcr p15, 0, r3, c7, c14, 1` (DCCIMVAC), unconditional, 32-bit:
        // EC 0x03, IL, CV=1 COND=0xE.
        let hsr = (0x03 << 26) | (1 << 25) | (1 << 24) | (0xE << 20) | (1 << 17) | (7 << 10) | (3 << 5) | (14 << 1);
        let access = Cp15Access::decode(hsr);
        assert_eq!(access, Cp15Access { opc1: 0, crn: 7, crm: 14, opc2: 1, rt: 3, read: false, condition: Some(0xE) });
        assert!(access.condition_passed(0));
        // `mrceq p15, 0, r0, c15, c0, 0` with Z clear fails its condition.
        let eq = Cp15Access::decode((0x03 << 26) | (1 << 24) | (15 << 10) | 1);
        assert!(eq.read && !eq.condition_passed(0) && eq.condition_passed(1 << 30));
    }

    #[test]
    fn conditions_follow_the_flags() {
        let flags = |n: bool, z: bool, c: bool, v: bool| {
            (u32::from(n) << 31) | (u32::from(z) << 30) | (u32::from(c) << 29) | (u32::from(v) << 28)
        };
        for bits in 0..16u32 {
            let (n, z, c, v) = (bits & 8 != 0, bits & 4 != 0, bits & 2 != 0, bits & 1 != 0);
            let spsr = flags(n, z, c, v);
            let expected =
                [z, !z, c, !c, n, !n, v, !v, c && !z, !c || z, n == v, n != v, !z && n == v, z || n != v, true, true];
            for (condition, want) in expected.iter().enumerate() {
                assert_eq!(condition_passed(condition as u8, spsr), *want, "condition {condition} flags {bits:04b}");
            }
        }
    }

    #[test]
    fn it_state_advances_and_ends() {
        // An IT block of three instructions with firstcond EQ: IT[7:5] =
        // firstcond[3:1] = 000, IT[4:0] = firstcond[0] and the mask = 00110.
        let it = 0b0000_0110u32;
        let spsr = ((it & 0xFC) << 8) | ((it & 0b11) << 25) | 0x30;
        let once = advance_it_state(spsr);
        let it_of = |spsr: u32| ((spsr >> 8) & 0xFC) | ((spsr >> 25) & 0b11);
        assert_eq!(it_of(once), 0b0000_1100);
        let twice = advance_it_state(once);
        assert_eq!(it_of(twice), 0b0001_1000);
        assert_eq!(it_of(advance_it_state(twice)), 0, "the block ends after its last instruction");
        assert_eq!(advance_it_state(0x1F) & 0x1F, 0x1F, "other bits unchanged");
        assert_eq!(advance_it_state(0x8000_0013), 0x8000_0013, "outside an IT block nothing changes");
    }

    #[test]
    fn decodes_stage2_data_abort_seen_on_an536() {
        // EL1 `str r1, [r0]` into an EL2-only region: EC=0x24, IL, ISV, SAS=word,
        // SRT=1, WnR, DFSC=permission fault level 0 (0x0C) / translation (0x04).
        let hsr = (0x24 << 26) | (1 << 25) | (1 << 24) | (0b10 << 22) | (1 << 16) | (1 << 6) | 0x0C;
        assert_eq!(ExceptionClass::of(hsr), ExceptionClass::DataAbortLower);
        let abort = DataAbort::decode(hsr);
        assert!(abort.write && abort.valid);
        assert_eq!((abort.size, abort.register, abort.status), (4, 1, 0x0C));
    }

    #[test]
    fn names_every_class_distinctly() {
        let classes =
            [0x00, 0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0C, 0x0E, 0x12, 0x13, 0x20, 0x21, 0x22, 0x24, 0x25];
        let mut names: Vec<&str> = classes.iter().map(|ec| ExceptionClass::of(ec << 26).name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), classes.len());
        assert_eq!(ExceptionClass::of(0x3F << 26), ExceptionClass::Other(0x3F));
    }

    #[test]
    fn hvc_immediate_is_the_low_half() {
        assert_eq!(hvc_immediate((0x12 << 26) | (1 << 25) | 0x1234), 0x1234);
    }
}

/// A load or store the kernel completes on a partition's behalf: from the
/// syndrome when the abort carries one ([`Transfer::from_syndrome`]), else
/// decoded from the instruction itself ([`Transfer::decode`]) for the
/// writeback forms of `LDR`/`STR` (word, byte, halfword, signed) and every
/// `LDRD`/`STRD`, which compilers emit for device registers in loops and for
/// 64-bit registers. Any of `r0`-`r14` may be a transfer, base or offset
/// register: compilers allocate `lr` like any other, and handlers address
/// through `sp`; [`crate::registers`] says which bank each is in. Anything
/// else (load/store multiple, exclusives, unprivileged `T` forms, the PC as
/// an operand) is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// A load rather than a store.
    pub load: bool,
    /// Bytes per register: 1, 2 or 4.
    pub size: u8,
    /// A load that sign-extends.
    pub sign_extend: bool,
    /// The transfer register (the lower address for a doubleword).
    pub first: u8,
    /// The second transfer register of `LDRD`/`STRD`.
    pub second: Option<u8>,
    /// The base register and its value after the instruction, for forms that
    /// write the address back.
    pub writeback: Option<(u8, u32)>,
}

/// `r0`-`r14`: everything but the PC.
use crate::registers::GuestRegisters;

const fn usable(register: u32) -> bool {
    register <= 14
}

/// An A32 register offset: `Rm` shifted by an immediate (`RRX` refused).
fn shifted(value: u32, kind: u32, amount: u32) -> Option<u32> {
    Some(match (kind, amount) {
        (0, n) => value << n,
        (1, 0) => 0,
        (1, n) => value >> n,
        (2, 0) => ((value as i32) >> 31) as u32,
        (2, n) => ((value as i32) >> n) as u32,
        (3, 0) => return None,
        (_, n) => value.rotate_right(n),
    })
}

/// The register operands of a decoded transfer.
struct Operands {
    first: u32,
    second: Option<u32>,
    base: u32,
    writes_back: bool,
    /// Unsigned offset, added or subtracted per `add`.
    offset: u32,
    add: bool,
}

impl Transfer {
    /// The access an abort's syndrome describes (`ISV` = 1); `None` when it
    /// carries none or names the PC.
    #[inline(always)]
    pub const fn from_syndrome(abort: &DataAbort) -> Option<Transfer> {
        if !abort.valid || !usable(abort.register as u32) {
            return None;
        }
        Some(Transfer {
            load: !abort.write,
            size: abort.size,
            sign_extend: abort.sign_extend,
            first: abort.register,
            second: None,
            writeback: None,
        })
    }

    /// Decodes the instruction at the fault: an A32 word, or a T32 pair of
    /// halfwords with the first in the high half. `register` gives the value
    /// of r0..r14 in the partition's mode (for writeback addresses and
    /// register offsets).
    pub fn decode(instruction: u32, thumb: bool, register: impl Fn(u8) -> u32) -> Option<Transfer> {
        if thumb { Transfer::decode_t32(instruction, register) } else { Transfer::decode_a32(instruction, register) }
    }

    /// The registers it transfers, each with its byte offset from the
    /// faulting address: the first at 0, a doubleword's second at 4.
    #[inline(always)]
    pub fn accesses(&self) -> [Option<(u8, u32)>; 2] {
        [Some((self.first, 0)), self.second.map(|second| (second, 4))]
    }

    /// What a store of a register holding `value` puts on the bus: its low
    /// `size` bytes.
    #[inline(always)]
    pub const fn stored(&self, value: u32) -> u32 {
        match self.size {
            1 => value & 0xFF,
            2 => value & 0xFFFF,
            _ => value,
        }
    }

    /// What a load that read `value` puts in its register: the low `size`
    /// bytes, sign-extended when the instruction says.
    #[inline(always)]
    pub const fn loaded(&self, value: u32) -> u32 {
        match (self.size, self.sign_extend) {
            (1, false) => value & 0xFF,
            (1, true) => value as u8 as i8 as i32 as u32,
            (2, false) => value & 0xFFFF,
            (2, true) => value as u16 as i16 as i32 as u32,
            _ => value,
        }
    }

    /// Performs the transfer on `device` for a partition whose registers are
    /// `registers`, register by register in [`Transfer::accesses`] order:
    /// a store puts [`Transfer::stored`] of its register on the bus, a load
    /// writes [`Transfer::loaded`] of what the device returned, and the base
    /// is written back last. `device(offset, size, store)` returns the value
    /// loaded (anything for a store) or `None` to refuse the access, which
    /// ends the transfer there (the kernel then applies the partition's
    /// fault policy, so the partition never resumes with what was done).
    /// Returns whether the transfer completed. The kernel's
    /// `emulate_gic_access` is this loop, written out with its borrows.
    pub fn complete(
        &self,
        registers: &mut impl GuestRegisters,
        mut device: impl FnMut(u32, u8, Option<u32>) -> Option<u32>,
    ) -> bool {
        for (register, offset) in self.accesses().into_iter().flatten() {
            let store = if self.load {
                None
            } else {
                let Some(value) = registers.read(register) else { return false };
                Some(self.stored(value))
            };
            let Some(value) = device(offset, self.size, store) else { return false };
            if self.load && !registers.write(register, self.loaded(value)) {
                return false;
            }
        }
        match self.writeback {
            Some((base, value)) => registers.write(base, value),
            None => true,
        }
    }

    fn finish(
        load: bool,
        size: u8,
        sign_extend: bool,
        operands: Operands,
        register: impl Fn(u8) -> u32,
    ) -> Option<Transfer> {
        let Operands { first, second, base, writes_back, offset, add } = operands;
        if !usable(first) || !usable(base) || second.is_some_and(|r| !usable(r) || r == first) {
            return None;
        }
        let writeback = if writes_back {
            // The base must not also be a transfer register (UNPREDICTABLE).
            if base == first || second == Some(base) {
                return None;
            }
            let old = register(base as u8);
            Some((base as u8, if add { old.wrapping_add(offset) } else { old.wrapping_sub(offset) }))
        } else {
            None
        };
        Some(Transfer { load, size, sign_extend, first: first as u8, second: second.map(|r| r as u8), writeback })
    }

    fn decode_a32(word: u32, register: impl Fn(u8) -> u32) -> Option<Transfer> {
        if word >> 28 == 0xF {
            return None;
        }
        let (p, u, w, l) = (word & (1 << 24) != 0, word & (1 << 23) != 0, word & (1 << 21) != 0, word & (1 << 20) != 0);
        let (rn, rt, rm) = ((word >> 16) & 0xF, (word >> 12) & 0xF, word & 0xF);
        // Post-indexed forms with W set are the unprivileged T variants.
        if !p && w {
            return None;
        }
        let writes_back = !p || w;
        match (word >> 25) & 0b111 {
            // LDR/STR{B}: immediate (010) or shifted register (011, bit 4 clear).
            op @ (0b010 | 0b011) => {
                let offset = if op == 0b010 {
                    word & 0xFFF
                } else if word & (1 << 4) == 0 && usable(rm) {
                    shifted(register(rm as u8), (word >> 5) & 0b11, (word >> 7) & 0x1F)?
                } else {
                    return None;
                };
                let size = if word & (1 << 22) != 0 { 1 } else { 4 };
                let operands = Operands { first: rt, second: None, base: rn, writes_back, offset, add: u };
                Transfer::finish(l, size, false, operands, register)
            }
            // Extra loads/stores: halfword, signed, doubleword.
            0b000 if word & 0x90 == 0x90 && (word >> 5) & 0b11 != 0 => {
                let offset = if word & (1 << 22) != 0 {
                    ((word >> 4) & 0xF0) | (word & 0xF)
                } else if (word >> 8) & 0xF == 0 && usable(rm) {
                    register(rm as u8)
                } else {
                    return None;
                };
                let (load, size, sign, second) = match (l, (word >> 5) & 0b11) {
                    (false, 0b01) => (false, 2, false, None),
                    (true, 0b01) => (true, 2, false, None),
                    (true, 0b10) => (true, 1, true, None),
                    (true, _) => (true, 2, true, None),
                    (false, kind) => {
                        if rt % 2 != 0 {
                            return None;
                        }
                        (kind == 0b10, 4, false, Some(rt + 1))
                    }
                };
                let operands = Operands { first: rt, second, base: rn, writes_back, offset, add: u };
                Transfer::finish(load, size, sign, operands, register)
            }
            _ => None,
        }
    }

    fn decode_t32(instruction: u32, register: impl Fn(u8) -> u32) -> Option<Transfer> {
        let (high, low) = (instruction >> 16, instruction & 0xFFFF);
        let rn = high & 0xF;
        let rt = low >> 12;
        // LDRD/STRD (immediate): 1110 100P U1WL Rn : Rt Rt2 imm8.
        if high & 0xFE40 == 0xE840 {
            let (p, u, w) = (high & (1 << 8) != 0, high & (1 << 7) != 0, high & (1 << 5) != 0);
            if !p && !w {
                return None;
            }
            let second = Some((low >> 8) & 0xF);
            let operands = Operands { first: rt, second, base: rn, writes_back: w, offset: (low & 0xFF) << 2, add: u };
            return Transfer::finish(high & (1 << 4) != 0, 4, false, operands, register);
        }
        // LDR/STR{B,H}, LDRS{B,H} (immediate, 8-bit with P/U/W):
        // 1111 100S 0 size L Rn : Rt 1PUW imm8.
        if high & 0xFE80 == 0xF800 && low & (1 << 11) != 0 {
            let (sign, size, load) = (high & (1 << 8) != 0, (high >> 5) & 0b11, high & (1 << 4) != 0);
            let (u, w) = (low & (1 << 9) != 0, low & (1 << 8) != 0);
            // Without writeback this is either the unprivileged T form (P=1
            // U=1) or a form that has a syndrome anyway; signed stores and
            // signed word loads do not exist.
            let unprivileged_or_no_writeback = !w;
            if unprivileged_or_no_writeback || size == 0b11 || (sign && (!load || size == 0b10)) {
                return None;
            }
            let operands =
                Operands { first: rt, second: None, base: rn, writes_back: true, offset: low & 0xFF, add: u };
            return Transfer::finish(load, 1 << size, sign, operands, register);
        }
        None
    }
}

#[cfg(test)]
mod transfer_tests {
    use super::*;

    /// Registers hold 0x1000 * n.
    fn registers(n: u8) -> u32 {
        0x1000 * n as u32
    }

    fn a32(word: u32) -> Option<Transfer> {
        Transfer::decode(word, false, registers)
    }

    fn t32(instruction: u32) -> Option<Transfer> {
        Transfer::decode(instruction, true, registers)
    }

    fn single(load: bool, size: u8, sign_extend: bool, first: u8, writeback: Option<(u8, u32)>) -> Option<Transfer> {
        Some(Transfer { load, size, sign_extend, first, second: None, writeback })
    }

    #[test]
    fn a32_forms_from_the_assembler() {
        // str r2, [r0], #4
        assert_eq!(a32(0xe480_2004), single(false, 4, false, 2, Some((0, 4))));
        // ldr r3, [r1, #-8]!
        assert_eq!(a32(0xe531_3008), single(true, 4, false, 3, Some((1, 0x1000 - 8))));
        // strb r4, [r5], #1
        assert_eq!(a32(0xe4c5_4001), single(false, 1, false, 4, Some((5, 0x5001))));
        // ldrb r6, [r7, #3]!
        assert_eq!(a32(0xe5f7_6003), single(true, 1, false, 6, Some((7, 0x7003))));
        // ldr r0, [r1], r2
        assert_eq!(a32(0xe691_0002), single(true, 4, false, 0, Some((1, 0x3000))));
        // str r0, [r1, r2, lsl #2]!
        assert_eq!(a32(0xe7a1_0102), single(false, 4, false, 0, Some((1, 0x1000 + 0x8000))));
        // ldr r0, [r1], -r2, lsr #1
        assert_eq!(a32(0xe611_00a2), single(true, 4, false, 0, Some((1, 0x1000 - 0x1000))));
        // strh r1, [r2], #2
        assert_eq!(a32(0xe0c2_10b2), single(false, 2, false, 1, Some((2, 0x2002))));
        // ldrh r3, [r4, #-6]!
        assert_eq!(a32(0xe174_30b6), single(true, 2, false, 3, Some((4, 0x4000 - 6))));
        // ldrsh r5, [r6], #2
        assert_eq!(a32(0xe0d6_50f2), single(true, 2, true, 5, Some((6, 0x6002))));
        // ldrsb r7, [r8, #1]!
        assert_eq!(a32(0xe1f8_70d1), single(true, 1, true, 7, Some((8, 0x8001))));
        // ldrh r0, [r1], r2
        assert_eq!(a32(0xe091_00b2), single(true, 2, false, 0, Some((1, 0x3000))));
        // ldrd r0, r1, [r2], #8
        assert_eq!(
            a32(0xe0c2_00d8),
            Some(Transfer {
                load: true,
                size: 4,
                sign_extend: false,
                first: 0,
                second: Some(1),
                writeback: Some((2, 0x2008))
            })
        );
        // strd r4, r5, [r6, #-8]!
        assert_eq!(
            a32(0xe166_40f8),
            Some(Transfer {
                load: false,
                size: 4,
                sign_extend: false,
                first: 4,
                second: Some(5),
                writeback: Some((6, 0x6000 - 8))
            })
        );
        // ldrd r0, r1, [r2, #8]: no writeback
        assert_eq!(
            a32(0xe1c2_00d8),
            Some(Transfer { load: true, size: 4, sign_extend: false, first: 0, second: Some(1), writeback: None })
        );
    }

    #[test]
    fn a32_refusals() {
        assert_eq!(a32(0xe890_0006), None, "ldm");
        assert_eq!(a32(0xe191_0f9f), None, "ldrex");
        assert_eq!(a32(0xe4b1_0004), None, "ldrt (post-index with W)");
        assert_eq!(a32(0xe59f_0004), None, "ldr r0, [pc, #4]");
        assert_eq!(a32(0xe490_0004), None, "ldr r0, [r0], #4: base is the destination");
        assert_eq!(a32(0xe48f_e004), None, "str lr, [pc], #4: the PC as base");
        assert_eq!(a32(0xe480_f004), None, "str pc, [r0], #4: the PC as transfer register");
        assert_eq!(a32(0xe1c2_e0d8), None, "ldrd lr, pc, [r2, #8]: the PC as second register");
        assert_eq!(a32(0xf480_2004), None, "unconditional space");
    }

    #[test]
    fn t32_forms_from_the_assembler() {
        // str.w r2, [r0], #4
        assert_eq!(t32(0xf840_2b04), single(false, 4, false, 2, Some((0, 4))));
        // ldr.w r3, [r1, #-8]!
        assert_eq!(t32(0xf851_3d08), single(true, 4, false, 3, Some((1, 0x1000 - 8))));
        // strb.w r4, [r5], #1
        assert_eq!(t32(0xf805_4b01), single(false, 1, false, 4, Some((5, 0x5001))));
        // ldrh.w r3, [r4, #-6]!
        assert_eq!(t32(0xf834_3d06), single(true, 2, false, 3, Some((4, 0x4000 - 6))));
        // ldrsb.w r7, [r8, #1]!
        assert_eq!(t32(0xf918_7f01), single(true, 1, true, 7, Some((8, 0x8001))));
        // ldrsh.w r5, [r6], #2
        assert_eq!(t32(0xf936_5b02), single(true, 2, true, 5, Some((6, 0x6002))));
        // ldrd r0, r1, [r2], #8
        assert_eq!(
            t32(0xe8f2_0102),
            Some(Transfer {
                load: true,
                size: 4,
                sign_extend: false,
                first: 0,
                second: Some(1),
                writeback: Some((2, 0x2008))
            })
        );
        // strd r3, r7, [r4, #-8]!
        assert_eq!(
            t32(0xe964_3702),
            Some(Transfer {
                load: false,
                size: 4,
                sign_extend: false,
                first: 3,
                second: Some(7),
                writeback: Some((4, 0x4000 - 8))
            })
        );
        // ldrd r0, r1, [r2, #8]
        assert_eq!(
            t32(0xe9d2_0102),
            Some(Transfer { load: true, size: 4, sign_extend: false, first: 0, second: Some(1), writeback: None })
        );
    }

    #[test]
    fn t32_refusals() {
        assert_eq!(t32(0xf8d1_0000), None, "ldr.w imm12 (has a syndrome)");
        assert_eq!(t32(0xe890_0006), None, "ldm.w");
        assert_eq!(t32(0xf851_0e04), None, "ldrt");
    }
}

/// Every mode x every transfer register x every emulated form, on a model of
/// the CPU's banks: the value stored comes from, and the value loaded lands
/// in, the register the architecture names for that mode, and nothing else
/// changes.
#[cfg(test)]
mod banked_transfer_tests {
    use super::*;
    use crate::registers::Mode;
    use crate::registers::tests::{ModelCpu, physical_name};
    use std::collections::BTreeMap;
    use std::string::String;
    use std::vec::Vec;

    /// One emulated form, with its transfer register `rt` and base `rn`.
    struct Form {
        name: &'static str,
        transfer: Option<Transfer>,
        /// Registers the form transfers, in order.
        registers: Vec<u8>,
        load: bool,
        /// The base and how it moves.
        writeback: Option<(u8, i32)>,
        /// (value the device returns, value expected in the register).
        loaded: (u32, u32),
    }

    fn decoded(word: u32, thumb: bool, cpu: &ModelCpu) -> Option<Transfer> {
        Transfer::decode(word, thumb, |n| cpu.architectural(n))
    }

    fn forms(cpu: &ModelCpu, rt: u8, rn: u8, rm: u8) -> Vec<Form> {
        let (t, n, m) = (rt as u32, rn as u32, rm as u32);
        let syndrome = |write: bool, size: u8, sign_extend: bool| {
            Transfer::from_syndrome(&DataAbort { write, sign_extend, valid: true, size, register: rt, status: 0 })
        };
        let mut forms = std::vec![
            Form {
                name: "syndrome str",
                transfer: syndrome(true, 4, false),
                registers: std::vec![rt],
                load: false,
                writeback: None,
                loaded: (0, 0)
            },
            Form {
                name: "syndrome ldr",
                transfer: syndrome(false, 4, false),
                registers: std::vec![rt],
                load: true,
                writeback: None,
                loaded: (0xCAFE_F00D, 0xCAFE_F00D)
            },
            Form {
                name: "syndrome strb",
                transfer: syndrome(true, 1, false),
                registers: std::vec![rt],
                load: false,
                writeback: None,
                loaded: (0, 0)
            },
            Form {
                name: "syndrome ldrsh",
                transfer: syndrome(false, 2, true),
                registers: std::vec![rt],
                load: true,
                writeback: None,
                loaded: (0x8001, 0xFFFF_8001)
            },
            Form {
                name: "syndrome ldrh",
                transfer: syndrome(false, 2, false),
                registers: std::vec![rt],
                load: true,
                writeback: None,
                loaded: (0x8001, 0x8001)
            },
        ];
        if rn != rt {
            forms.extend([
                Form {
                    name: "str rt, [rn], #4",
                    transfer: decoded(0xe480_0004 | n << 16 | t << 12, false, cpu),
                    registers: std::vec![rt],
                    load: false,
                    writeback: Some((rn, 4)),
                    loaded: (0, 0),
                },
                Form {
                    name: "ldr rt, [rn, #-8]!",
                    transfer: decoded(0xe530_0008 | n << 16 | t << 12, false, cpu),
                    registers: std::vec![rt],
                    load: true,
                    writeback: Some((rn, -8)),
                    loaded: (0x1234_5678, 0x1234_5678),
                },
                Form {
                    name: "ldrsb rt, [rn, #1]!",
                    transfer: decoded(0xe1f0_00d1 | n << 16 | t << 12, false, cpu),
                    registers: std::vec![rt],
                    load: true,
                    writeback: Some((rn, 1)),
                    loaded: (0x80, 0xFFFF_FF80),
                },
                Form {
                    name: "strh rt, [rn], #2",
                    transfer: decoded(0xe0c0_00b2 | n << 16 | t << 12, false, cpu),
                    registers: std::vec![rt],
                    load: false,
                    writeback: Some((rn, 2)),
                    loaded: (0, 0),
                },
                Form {
                    name: "str.w rt, [rn], #4",
                    transfer: decoded(0xf840_0b04 | n << 16 | t << 12, true, cpu),
                    registers: std::vec![rt],
                    load: false,
                    writeback: Some((rn, 4)),
                    loaded: (0, 0),
                },
                Form {
                    name: "ldr.w rt, [rn, #-8]!",
                    transfer: decoded(0xf850_0d08 | n << 16 | t << 12, true, cpu),
                    registers: std::vec![rt],
                    load: true,
                    writeback: Some((rn, -8)),
                    loaded: (0xFEED_BEEF, 0xFEED_BEEF),
                },
            ]);
            if rm != rn && rm != rt {
                let offset = cpu.architectural(rm) as i32;
                forms.push(Form {
                    name: "ldr rt, [rn], rm",
                    transfer: decoded(0xe690_0000 | n << 16 | t << 12 | m, false, cpu),
                    registers: std::vec![rt],
                    load: true,
                    writeback: Some((rn, offset)),
                    loaded: (0x0BAD_CAFE, 0x0BAD_CAFE),
                });
            }
            // A32 doublewords: an even first register below r14.
            if rt.is_multiple_of(2) && rt < 14 && rn != rt + 1 {
                let pair = std::vec![rt, rt + 1];
                forms.push(Form {
                    name: "ldrd rt, rt+1, [rn], #8",
                    transfer: decoded(0xe0c0_00d8 | n << 16 | t << 12, false, cpu),
                    registers: pair.clone(),
                    load: true,
                    writeback: Some((rn, 8)),
                    loaded: (0x5555_AAAA, 0x5555_AAAA),
                });
                forms.push(Form {
                    name: "strd rt, rt+1, [rn], #8",
                    transfer: decoded(0xe0c0_00f8 | n << 16 | t << 12, false, cpu),
                    registers: pair,
                    load: false,
                    writeback: Some((rn, 8)),
                    loaded: (0, 0),
                });
            }
            // T32 doublewords: any two distinct registers.
            if rm != rn && rm != rt {
                forms.push(Form {
                    name: "ldrd rt, rm, [rn], #8 (T32)",
                    transfer: decoded(0xe8f0_0002 | n << 16 | t << 12 | m << 8, true, cpu),
                    registers: std::vec![rt, rm],
                    load: true,
                    writeback: Some((rn, 8)),
                    loaded: (0x7777_1111, 0x7777_1111),
                });
                forms.push(Form {
                    name: "strd rt, rm, [rn], #8 (T32)",
                    transfer: decoded(0xe8e0_0002 | n << 16 | t << 12 | m << 8, true, cpu),
                    registers: std::vec![rt, rm],
                    load: false,
                    writeback: Some((rn, 8)),
                    loaded: (0, 0),
                });
            }
        }
        forms
    }

    #[test]
    fn every_mode_register_and_form_uses_the_architectural_bank() {
        let mut checked = 0;
        for mode in Mode::ALL {
            for rt in 0..=14u8 {
                for rn in 0..=14u8 {
                    let rm = (rn + 3) % 15;
                    let before = ModelCpu::new(mode);
                    for form in forms(&before, rt, rn, rm) {
                        let context = std::format!("{mode:?} {} with rt=r{rt} rn=r{rn} rm=r{rm}", form.name);
                        let transfer = form.transfer.unwrap_or_else(|| panic!("{context}: refused"));
                        let mut cpu = ModelCpu::new(mode);
                        let mut stored = Vec::new();
                        let completed = transfer.complete(&mut cpu, |_offset, size, store| {
                            stored.push(store);
                            Some(form.loaded.0 & if size >= 4 { u32::MAX } else { (1 << (size * 8)) - 1 })
                        });
                        assert!(completed, "{context}: not completed");
                        let mut expected: BTreeMap<String, u32> = before.physical.clone();
                        if form.load {
                            assert!(stored.iter().all(Option::is_none), "{context}: a load stored");
                            for register in &form.registers {
                                expected.insert(physical_name(mode, *register), form.loaded.1);
                            }
                        } else {
                            let size_mask = if transfer.size >= 4 { u32::MAX } else { (1 << (transfer.size * 8)) - 1 };
                            let wanted: Vec<Option<u32>> =
                                form.registers.iter().map(|r| Some(before.architectural(*r) & size_mask)).collect();
                            assert_eq!(stored, wanted, "{context}: stored the wrong bank");
                        }
                        if let Some((base, delta)) = form.writeback {
                            expected.insert(
                                physical_name(mode, base),
                                before.architectural(base).wrapping_add(delta as u32),
                            );
                        }
                        assert_eq!(cpu.physical, expected, "{context}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 7 * 15 * 14 * 8, "only {checked} cases");
    }

    #[test]
    fn a_refused_second_access_stops_the_transfer_before_writeback() {
        for mode in Mode::ALL {
            let before = ModelCpu::new(mode);
            // ldrd r0, r1, [r2], #8
            let transfer = Transfer::decode(0xe0c2_00d8, false, |n| before.architectural(n)).unwrap();
            let mut cpu = ModelCpu::new(mode);
            let mut calls = 0;
            assert!(!transfer.complete(&mut cpu, |offset, _, _| {
                calls += 1;
                (offset == 0).then_some(7)
            }));
            assert_eq!(calls, 2);
            let mut expected = before.physical.clone();
            expected.insert("r0".into(), 7);
            assert_eq!(cpu.physical, expected, "{mode:?}: r1 and the base r2 untouched");
        }
    }
}
