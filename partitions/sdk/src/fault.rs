//! Hands EL1 exceptions the partition cannot handle to the kernel.
//!
//! The architecture delivers undefined instructions and EL1 MPU faults to the
//! partition's own vectors, not to EL2. These handlers (replacing
//! aarch32-rt's, which spin forever) report them so the kernel logs them and
//! applies the partition's fault policy, like a stage-2 fault. They are the
//! C-level handlers aarch32-rt's vector trampolines call, with its signature
//! `extern "C" fn(addr: usize) -> !`.

#![allow(unsafe_code, reason = "exporting the handler symbols aarch32-rt's vectors call")]

use crate::hypercall::report_fault;
use aarch32_cpu::register::{Dfar, Dfsr, Ifar, Ifsr, SysRegRead};
use bulkhead_abi::El1Exception;

/// Undefined instruction at `address`.
#[unsafe(export_name = "_undefined_handler")]
extern "C" fn undefined(address: usize) -> ! {
    report_fault(El1Exception::Undefined, address as u32, 0)
}

/// Prefetch abort (EL1 MPU or debug).
#[unsafe(export_name = "_prefetch_abort_handler")]
extern "C" fn prefetch_abort(_address: usize) -> ! {
    report_fault(El1Exception::PrefetchAbort, Ifar::read_raw(), Ifsr::read_raw())
}

/// Data abort (EL1 MPU, alignment).
#[unsafe(export_name = "_data_abort_handler")]
extern "C" fn data_abort(_address: usize) -> ! {
    report_fault(El1Exception::DataAbort, Dfar::read_raw(), Dfsr::read_raw())
}
