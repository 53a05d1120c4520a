//! Cache and branch-predictor maintenance a partition asks for, done by the
//! kernel on the partition's own memory only.
//!
//! `arch::traps` traps every cache and TLB maintenance operation EL1 can
//! issue (`HCR.TSW`, `HCR.TPC`, `HCR.TPU`, `HCR.TTLB`). Each becomes, here
//! (the reasons are in `docs/architecture.md`, "Traps"):
//!
//! | operation | becomes |
//! |---|---|
//! | `DCCMVAC`, `DCCMVAU` (clean by address) | the same, if the line is memory the partition may read |
//! | `DCIMVAC`, `DCCIMVAC` (invalidate by address) | clean and invalidate (`DCCIMVAC`), if the line is memory the partition may write: invalidating without a clean could discard another partition's data in a shared region |
//! | `ICIMVAU` (instruction line by address) | the same, if the partition may read the line |
//! | `ICIALLU`, `ICIALLUIS` (whole instruction cache) | `ICIALLU` on this core if the partition has memory it may both write and execute; otherwise nothing (nothing it executes can have changed) |
//! | `DCISW`, `DCCSW`, `DCCISW` (data cache by set/way) | nothing: set/way operations are for bringing a whole core's cache up or down, which is the kernel's; they act on every partition's lines; the kernel enters every partition with its memory coherent |
//! | `TLBIALL`, `TLBIMVA`, `TLBIASID`, `TLBIMVAA` and their `I`/`D`/`L` forms | nothing: a PMSA core has no translation at EL1 |
//!
//! (Branch-predictor maintenance cannot be trapped; see `arch::traps`.)
//!
//! An operation on a line outside the partition's memory is refused, and
//! the partition's fault policy applies, as for the access itself.
//!
//! Cache lines of the Cortex-R52 are 64 bytes and every region is 64-byte
//! aligned (`bulkhead_mpu::GRANULE`), so a line is the partition's exactly
//! when the byte its address names is.

use bulkhead_kernel_core::access::{self, Need};
use bulkhead_kernel_core::syndrome::Cp15Access;
use bulkhead_kernel_core::tables::MemoryGrant;

/// The maintenance operations EL1 can issue (`MCR p15, 0, Rt, c7, CRm, opc2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `DCIMVAC`: invalidate data line to the point of coherency.
    InvalidateData,
    /// `DCCMVAC`: clean data line to the point of coherency.
    CleanData,
    /// `DCCMVAU`: clean data line to the point of unification.
    CleanDataToUnification,
    /// `DCCIMVAC`: clean and invalidate data line to the point of coherency.
    CleanInvalidateData,
    /// `ICIMVAU`: invalidate instruction line.
    InvalidateInstructionLine,
    /// `ICIALLU`, `ICIALLUIS`: invalidate the instruction cache.
    InvalidateInstructionCache,
    /// `DCISW`, `DCCSW`, `DCCISW`.
    DataBySetWay,
    /// Any TLB maintenance (`MCR p15, 0, Rt, c8, CRm, opc2`).
    Tlb,
}

impl Operation {
    /// The operation a trapped CP15 write is, if it is one.
    pub fn of(access: &Cp15Access) -> Option<Operation> {
        if access.read || access.opc1 != 0 {
            return None;
        }
        if access.crn == 8 {
            return Some(Operation::Tlb);
        }
        if access.crn != 7 {
            return None;
        }
        Some(match (access.crm, access.opc2) {
            (1, 0) | (5, 0) => Operation::InvalidateInstructionCache,
            (5, 1) => Operation::InvalidateInstructionLine,
            (6, 1) => Operation::InvalidateData,
            (10, 1) => Operation::CleanData,
            (11, 1) => Operation::CleanDataToUnification,
            (14, 1) => Operation::CleanInvalidateData,
            (6, 2) | (10, 2) | (14, 2) => Operation::DataBySetWay,
            _ => return None,
        })
    }
}

/// Performs `operation` with operand `value` (an address for the by-address
/// operations) for a partition with `grants`. Returns `false`, having done
/// nothing, when the line is not the partition's to maintain that way.
pub fn perform(operation: Operation, value: u32, grants: &[MemoryGrant]) -> bool {
    let owns = |need| access::check(grants, value, 1, need).is_ok();
    match operation {
        Operation::InvalidateData | Operation::CleanInvalidateData => {
            if !owns(Need::Write) {
                return false;
            }
            // SAFETY: clean and invalidate of one line of the partition's
            // own writable memory (checked above): it writes back the line
            // and drops it, which no observer can tell from the line being
            // evicted.
            unsafe { core::arch::asm!("mcr p15, 0, {0}, c7, c14, 1", "dsb sy", in(reg) value, options(nostack)) };
        }
        Operation::CleanData => {
            if !owns(Need::Read) {
                return false;
            }
            // SAFETY: a clean writes back the partition's own line (checked
            // above) and changes no data.
            unsafe { core::arch::asm!("mcr p15, 0, {0}, c7, c10, 1", "dsb sy", in(reg) value, options(nostack)) };
        }
        Operation::CleanDataToUnification => {
            if !owns(Need::Read) {
                return false;
            }
            // SAFETY: as for `CleanData`.
            unsafe { core::arch::asm!("mcr p15, 0, {0}, c7, c11, 1", "dsb sy", in(reg) value, options(nostack)) };
        }
        Operation::InvalidateInstructionLine => {
            if !owns(Need::Read) {
                return false;
            }
            // SAFETY: instruction lines are never dirty: invalidating one of
            // the partition's lines (checked above) only costs a refetch.
            unsafe { core::arch::asm!("mcr p15, 0, {0}, c7, c5, 1", "dsb sy", "isb", in(reg) value, options(nostack)) };
        }
        Operation::InvalidateInstructionCache => {
            if grants.iter().any(|grant| grant.write && grant.execute) {
                // SAFETY: instruction lines are never dirty; invalidating
                // the core's instruction cache costs refetches, no data.
                unsafe {
                    core::arch::asm!("mcr p15, 0, {0}, c7, c5, 0", "dsb sy", "isb", in(reg) 0u32, options(nostack))
                };
            }
        }
        Operation::DataBySetWay | Operation::Tlb => {}
    }
    true
}
