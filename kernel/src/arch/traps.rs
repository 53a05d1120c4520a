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
//! | | `SWIO` | a set/way data-cache invalidate at EL1 becomes clean+invalidate, so no partition can discard another's dirty lines (belt and braces: `TSW` traps them anyway) |
//! | | `TSW`, `TPC`, `TPU` | every data and instruction cache maintenance operation traps; the kernel performs it on the partition's own lines only, or not at all (`arch::cache`) |
//! | | `TTLB` | TLB maintenance traps and does nothing: a PMSA core has no translation at EL1, and the MPU is the kernel's |
//! | | `TSC` | SMC traps (there is no EL3 to serve it) |
//! | | `TAC` | `ACTLR` (core-wide behaviour) traps |
//! | | `TIDCP` | implementation-defined CP15 registers in c9, c10 and c11 (TCM, flash and peripheral port regions, slave port control) trap |
//! | `HSTR` | `T15` | every CP15 access with CRn = c15 (`MCR`/`MRC`) or CRm = c15 (`MCRR`/`MRRC`) traps: the Cortex-R52's implementation-defined registers (`CPUACTLR`, `IMP_PERIPHPREGIONR`, `IMP_FLASHIFREGIONR`, `IMP_BUILDOPTR`, `IMP_QOSR`, bus timeouts, error records, cache debug) live there; reads of `CBAR` are emulated (the GIC's base), the rest take the fault policy |
//! | `HACTLR` | none | no EL1 access to `IMP_CPUACTLR`, `IMP_*REGIONR`, `QOSR`, bus timeouts or error registers |
//! | `HDCR` | `TDRA`, `TDOSA`, `TDA`, `TPM`, `TPMCR` | debug registers (the debug communications channel among them) and PMU registers are core-wide and not switched |
//! | `HCPTR` | `TTA` | trace registers trap; the FPU stays available (it is switched) |
//! | `CNTHCTL` | `PL1PCEN` clear, `PL1PCTEN` set | the EL1 physical timer traps (partitions use the virtual one); the physical counter `CNTPCT` is readable: it is system time plus the epoch, which `SystemTime` gives anyway, and reading it costs a partition no hypercall (ports date their messages with it) |
//!
//! Not trappable, and harmless: branch-predictor maintenance (`BPIALL`,
//! `BPIALLIS`, `BPIMVA`: no `HCR` bit traps them; they change prediction,
//! never data). `WFI`/`WFE` are not trapped: a waiting partition keeps its
//! window, and the hyp timer still ends it. Trapped accesses arrive as
//! exception classes 0x03, 0x04, 0x05, 0x06, 0x0C or 0x13 and, unless
//! emulated, take the partition's fault policy.

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
const HCR_TSW: u32 = 1 << 22;
const HCR_TPC: u32 = 1 << 23;
const HCR_TPU: u32 = 1 << 24;
const HCR_TTLB: u32 = 1 << 25;

/// The `HCR` value the kernel runs partitions with.
pub const HCR: u32 = HCR_VM
    | HCR_SWIO
    | HCR_FMO
    | HCR_IMO
    | HCR_AMO
    | HCR_TSC
    | HCR_TIDCP
    | HCR_TAC
    | HCR_TSW
    | HCR_TPC
    | HCR_TPU
    | HCR_TTLB;

/// `HSTR.T15`: trap CP15 accesses to primary register c15.
const HSTR_T15: u32 = 1 << 15;

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

/// `MPIDR.U`: a uniprocessor, not core 0 of several.
const MPIDR_U: u32 = 1 << 30;

/// The `MPIDR` a partition reads on the core with `MPIDR` `physical`: a
/// uniprocessor (`U` set) that is core 0 of its cluster, whichever core it
/// runs on. A partition is one virtual CPU; a guest's start-up that parks
/// every core but 0 (aarch32-rt's, most RTOS ports') must not park it on
/// core 1. The virtual GIC reports the same affinity.
pub const fn partition_mpidr(physical: u32) -> u32 {
    (physical & !0xFF) | MPIDR_U
}

/// Configures every trap, and the identity registers EL1 reads.
pub fn init() {
    // SAFETY: each write below only narrows what EL1 may do or sets what it
    // reads as its identity; none affects the kernel's own execution.
    unsafe {
        Vpidr::write_raw(Midr::read_raw());
        Vmpidr::write_raw(partition_mpidr(Mpidr::read_raw()));
        Hactlr::write_raw(0);
        Hstr::write_raw(HSTR_T15);
        Hdcr::write_raw(Hdcr::read_raw() | HDCR_TDRA | HDCR_TDOSA | HDCR_TDA | HDCR_TPM | HDCR_TPMCR);
        Hcptr::write_raw((Hcptr::read_raw() & !(HCPTR_TCP10 | HCPTR_TCP11 | HCPTR_TASE | HCPTR_TCPAC)) | HCPTR_TTA);
        Cnthctl::write_raw((Cnthctl::read_raw() & !(CNTHCTL_PL1PCEN | CNTHCTL_EVNTEN)) | CNTHCTL_PL1PCTEN);
        Hcr::write_raw(HCR);
        core::arch::asm!("isb", options(nomem, nostack, preserves_flags));
    }
}
