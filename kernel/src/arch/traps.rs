//! What EL1 may touch directly, and what traps to the kernel.
//!
//! Everything a partition could use to reach outside its own state either
//! belongs to its switched context (`arch::context`) or traps here. The
//! choices, and why:
//!
//! | register | bits set | why |
//! |---|---|---|
//! | `HCR` | `VM` | the EL2 MPU checks every EL1 access (stage 2) |
//! | | `IMO`, `FMO`, `AMO` | physical IRQ/FIQ/SError go to EL2 even when EL1 masks them: the window timer always wins |
//! | | `SWIO` | a set/way data-cache invalidate at EL1 becomes clean+invalidate, so no partition can discard another's dirty lines |
//! | | `TSC` | SMC traps (there is no EL3 to serve it) |
//! | | `TAC` | `ACTLR` (core-wide behaviour) traps |
//! | | `TIDCP` | implementation-defined CP15 registers (TCM, flash and peripheral port regions, error records) trap |
//! | `HACTLR` | none | no EL1 access to `IMP_CPUACTLR`, `IMP_*REGIONR`, `QOSR`, bus timeouts or error registers |
//! | `HDCR` | `TDRA`, `TDOSA`, `TDA`, `TPM`, `TPMCR` | debug and PMU registers are core-wide and not switched |
//! | `HCPTR` | `TTA` | trace registers trap; the FPU stays available (it is switched) |
//! | `CNTHCTL` | `PL1PCTEN`, `PL1PCEN` clear | the physical counter and EL1 physical timer trap; partitions use the virtual ones |
//! | `HSTR` | none | no whole-CP15-group traps needed beyond the above |
//!
//! `WFI`/`WFE` are not trapped: a waiting partition keeps its window, and the
//! hyp timer still ends it. Trapped accesses arrive as exception classes 0x03,
//! 0x04, 0x05, 0x06, 0x0C or 0x13 and take the partition's fault policy.

use aarch32_cpu::register::{
    Cnthctl, Hactlr, Hcptr, Hcr, Hdcr, Hstr, Midr, Mpidr, SysRegRead, SysRegWrite, Vmpidr, Vpidr,
};

const HCR_VM: u32 = 1 << 0;
const HCR_SWIO: u32 = 1 << 1;
const HCR_FMO: u32 = 1 << 3;
const HCR_IMO: u32 = 1 << 4;
const HCR_AMO: u32 = 1 << 5;
const HCR_TSC: u32 = 1 << 19;
const HCR_TIDCP: u32 = 1 << 20;
const HCR_TAC: u32 = 1 << 21;

/// The `HCR` value the kernel runs partitions with.
pub const HCR: u32 = HCR_VM | HCR_SWIO | HCR_FMO | HCR_IMO | HCR_AMO | HCR_TSC | HCR_TIDCP | HCR_TAC;

const HDCR_TPMCR: u32 = 1 << 5;
const HDCR_TPM: u32 = 1 << 6;
const HDCR_TDA: u32 = 1 << 9;
const HDCR_TDOSA: u32 = 1 << 10;
const HDCR_TDRA: u32 = 1 << 11;

const HCPTR_TCP10: u32 = 1 << 10;
const HCPTR_TCP11: u32 = 1 << 11;
const HCPTR_TASE: u32 = 1 << 15;
const HCPTR_TTA: u32 = 1 << 20;
const HCPTR_TCPAC: u32 = 1 << 31;

const CNTHCTL_PL1PCTEN: u32 = 1 << 0;
const CNTHCTL_PL1PCEN: u32 = 1 << 1;
const CNTHCTL_EVNTEN: u32 = 1 << 2;

/// Configures every trap, and the identity registers EL1 reads.
pub fn init() {
    // SAFETY: each write below only narrows what EL1 may do or sets what it
    // reads as its identity; none affects the kernel's own execution.
    unsafe {
        Vpidr::write_raw(Midr::read_raw());
        Vmpidr::write_raw(Mpidr::read_raw());
        Hactlr::write_raw(0);
        Hstr::write_raw(0);
        Hdcr::write_raw(Hdcr::read_raw() | HDCR_TDRA | HDCR_TDOSA | HDCR_TDA | HDCR_TPM | HDCR_TPMCR);
        Hcptr::write_raw((Hcptr::read_raw() & !(HCPTR_TCP10 | HCPTR_TCP11 | HCPTR_TASE | HCPTR_TCPAC)) | HCPTR_TTA);
        Cnthctl::write_raw(Cnthctl::read_raw() & !(CNTHCTL_PL1PCTEN | CNTHCTL_PL1PCEN | CNTHCTL_EVNTEN));
        Hcr::write_raw(HCR);
        core::arch::asm!("isb", options(nomem, nostack, preserves_flags));
    }
}
