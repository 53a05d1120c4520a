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

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

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
