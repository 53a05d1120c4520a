//! Leaving the simulator: Arm semihosting `SYS_EXIT`.
//!
//! Only used when the boot parameters ask for it (QEMU runs started by
//! `cargo xtask`). On hardware without a debugger a semihosting trap is an
//! undefined instruction, so the kernel never issues one unasked.

const SYS_EXIT: u32 = 0x18;
const ADP_STOPPED_APPLICATION_EXIT: u32 = 0x2_0026;
const ADP_STOPPED_RUN_TIME_ERROR: u32 = 0x2_0023;

/// Ends the simulation: status 0 when `success`, 1 otherwise.
pub fn exit(success: bool) -> ! {
    let reason = if success { ADP_STOPPED_APPLICATION_EXIT } else { ADP_STOPPED_RUN_TIME_ERROR };
    // SAFETY: the A32 semihosting trap (`HLT #0xF000`) with SYS_EXIT takes the
    // reason in r1 and does not return under a semihosting host.
    unsafe {
        core::arch::asm!("hlt #0xf000", in("r0") SYS_EXIT, in("r1") reason, options(nostack));
    }
    loop {
        super::cpu::wait_for_interrupt();
    }
}
