//! Stopping: the end of a bounded run, and kernel bugs.
//!
//! Nothing a partition does can reach this module except through the
//! documented end of a run ([`stop`] after the requested frames). Kernel
//! bugs (an exception taken in Hyp mode, a Rust panic) print one
//! `@kernel-panic` line and stop the core.

use crate::arch::{cpu, semihosting};
use crate::boot_params::{self, Options};
use crate::console::Direct;
use crate::tables::SYSTEM;
use bulkhead_kernel_core::board_check::Mismatch;
use bulkhead_kernel_core::log::kind;

/// Ends the run: exits the simulator if asked to, else idles forever.
pub fn stop(options: Options, success: bool) -> ! {
    if options.semihosting_exit {
        semihosting::exit(success);
    }
    loop {
        cpu::wait_for_interrupt();
    }
}

/// Reports a kernel bug and stops.
pub fn stop_with(reason: &str, pc: u32, hsr: u32, address: u32) -> ! {
    // SAFETY: the kernel is stopping; this is the last writer of the UART.
    let mut console = unsafe { Direct::new(SYSTEM.board.console_base) };
    console.end();
    console
        .record(kind::KERNEL_PANIC)
        .text("reason", reason)
        .hex("pc", pc)
        .hex("hsr", hsr)
        .hex("address", address)
        .end();
    stop(boot_params::read(), false)
}

/// A board fact the core's hardware contradicts: reports which, with both
/// values, and stops (`@kernel-panic reason=board-mismatch fact=F board=B
/// hardware=H core=C`).
pub fn board_mismatch(core: usize, mismatch: Mismatch) -> ! {
    // SAFETY: the core is stopping before it ran anything; the console is
    // its own (or, on a shared one, the line is written whole).
    let mut console = unsafe { Direct::new(SYSTEM.board.console_base) };
    console.end();
    console
        .record(kind::KERNEL_PANIC)
        .text("reason", "board-mismatch")
        .text("fact", mismatch.fact)
        .dec("board", mismatch.board as u64)
        .dec("hardware", mismatch.hardware as u64)
        .dec("core", core as u64)
        .end();
    stop(boot_params::read(), false)
}

/// Exception taken in Hyp mode (see `arch::entry`).
#[unsafe(no_mangle)]
extern "C" fn bulkhead_hyp_exception_rust(vector: u32, elr: u32, hsr: u32, hdfar: u32) -> ! {
    let reason = match vector {
        1 => "hyp-undefined",
        2 => "hyp-hvc",
        3 => "hyp-prefetch-abort",
        4 => "hyp-data-abort",
        _ => "unexpected-fiq",
    };
    stop_with(reason, elr, hsr, hdfar)
}

#[panic_handler]
fn rust_panic(_info: &core::panic::PanicInfo) -> ! {
    stop_with("rust-panic", 0, 0, 0)
}
