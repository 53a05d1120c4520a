//! A partition's whole EL1 state, and moving it in and out of the CPU.
//!
//! [`El1Context`] is everything a partition could observe changing if another
//! partition ran in between: general and banked registers, `ELR`/`SPSR`, the
//! VFP/Advanced SIMD registers D0-D31 with `FPSCR` and `FPEXC`, the EL1 system
//! registers (`SCTLR`, `CPACR`, `VBAR`, `TPIDR*`, `CONTEXTIDR`, `CSSELR`, the
//! fault status/address registers), the whole EL1 MPU (`PRSELR`, every
//! `PRBAR`/`PRLAR`, `MAIR0/1`) and the virtual timer (`CNTKCTL`, `CNTV_CTL`,
//! `CNTV_CVAL`; `CNTVOFF` is the kernel's, see `kernel_core::vtime`).
//!
//! The [`TrapFrame`] part is saved and restored by the entry assembly on every
//! exception; the rest only by [`save`] and [`restore`] on a switch, since the
//! kernel itself never touches EL1 state.
//!
//! What EL1 registers are *not* here, and why: `ACTLR` and the `IMP_*`
//! registers trap to EL2 (`HCR.TAC`, `HCR.TIDCP`, `HACTLR` = 0); PMU and debug
//! registers trap (`HDCR`); the physical counter and timer trap (`CNTHCTL`).
//! A partition touching them takes its fault policy.

/// Number of EL1 MPU regions saved per partition (the Cortex-R52 maximum with
/// direct `PRBARn` encodings; AN536 implements 16).
pub const EL1_MPU_REGIONS: usize = 16;

/// Registers the entry assembly saves on every exception from EL1, in the
/// order it stores them.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct TrapFrame {
    /// `ELR_hyp`: where the partition resumes.
    pub elr: u32,
    /// `SPSR_hyp`: the partition's CPSR.
    pub spsr: u32,
    /// `r0`..`r12`.
    pub r: [u32; 13],
    /// `LR_usr` (Hyp mode shares `LR` with User and System modes).
    pub lr_usr: u32,
}

/// Banked registers of the EL1 modes, in the order the assembly stores them.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct BankedRegisters {
    /// `SP_usr`.
    pub sp_usr: u32,
    /// `SP_svc`, `LR_svc`, `SPSR_svc`.
    pub svc: [u32; 3],
    /// `SP_abt`, `LR_abt`, `SPSR_abt`.
    pub abt: [u32; 3],
    /// `SP_und`, `LR_und`, `SPSR_und`.
    pub und: [u32; 3],
    /// `SP_irq`, `LR_irq`, `SPSR_irq`.
    pub irq: [u32; 3],
    /// `R8_fiq`..`R12_fiq`, `SP_fiq`, `LR_fiq`, `SPSR_fiq`.
    pub fiq: [u32; 8],
    padding: u32,
}

/// VFP and Advanced SIMD state.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct VfpState {
    /// D0..D31.
    pub d: [u64; 32],
    /// `FPEXC` as the partition left it.
    pub fpexc: u32,
    /// `FPSCR`.
    pub fpscr: u32,
}

/// EL1 system registers.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct SystemRegisters {
    /// `SCTLR`.
    pub sctlr: u32,
    /// `CPACR`.
    pub cpacr: u32,
    /// `CSSELR`.
    pub csselr: u32,
    /// `VBAR`.
    pub vbar: u32,
    /// `DFSR`, `IFSR`, `ADFSR`, `AIFSR`.
    pub fault_status: [u32; 4],
    /// `DFAR`, `IFAR`.
    pub fault_address: [u32; 2],
    /// `CONTEXTIDR`, `TPIDRURW`, `TPIDRURO`, `TPIDRPRW`.
    pub thread_ids: [u32; 4],
    /// `CNTKCTL`.
    pub cntkctl: u32,
    /// `CNTV_CTL`.
    pub cntv_ctl: u32,
    /// `CNTV_CVAL`.
    pub cntv_cval: u64,
}

/// The EL1 MPU.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct El1MpuState {
    /// `PRSELR`.
    pub prselr: u32,
    /// `MAIR0`, `MAIR1`.
    pub mair: [u32; 2],
    /// `PRBAR0`..`PRBAR15`.
    pub prbar: [u32; EL1_MPU_REGIONS],
    /// `PRLAR0`..`PRLAR15`.
    pub prlar: [u32; EL1_MPU_REGIONS],
}

/// Everything of a partition that lives in the CPU while it runs.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct El1Context {
    /// Saved on every exception; must stay first (the entry assembly stores
    /// it at the context's address).
    pub frame: TrapFrame,
    /// Banked registers.
    pub banked: BankedRegisters,
    /// VFP/SIMD.
    pub vfp: VfpState,
    /// System registers.
    pub system: SystemRegisters,
    /// EL1 MPU.
    pub mpu: El1MpuState,
}

/// SVC mode, A32, IRQ/FIQ/asynchronous abort masked: the state a Cortex-R52
/// program expects when it is entered from EL2.
const ENTRY_CPSR: u32 = 0x13 | (1 << 6) | (1 << 7) | (1 << 8);

impl El1Context {
    /// All zeros: a context that has never run.
    pub const fn zeroed() -> El1Context {
        El1Context {
            frame: TrapFrame { elr: 0, spsr: 0, r: [0; 13], lr_usr: 0 },
            banked: BankedRegisters {
                sp_usr: 0,
                svc: [0; 3],
                abt: [0; 3],
                und: [0; 3],
                irq: [0; 3],
                fiq: [0; 8],
                padding: 0,
            },
            vfp: VfpState { d: [0; 32], fpexc: 0, fpscr: 0 },
            system: SystemRegisters {
                sctlr: 0,
                cpacr: 0,
                csselr: 0,
                vbar: 0,
                fault_status: [0; 4],
                fault_address: [0; 2],
                thread_ids: [0; 4],
                cntkctl: 0,
                cntv_ctl: 0,
                cntv_cval: 0,
            },
            mpu: El1MpuState { prselr: 0, mair: [0; 2], prbar: [0; EL1_MPU_REGIONS], prlar: [0; EL1_MPU_REGIONS] },
        }
    }

    /// Makes this the context of a partition about to run from its entry
    /// point, as after a reset: every register zero except the entry
    /// contract of `bulkhead_abi::entry`, `SP_svc`, and `SCTLR` at the core's
    /// reset value. In place (no copy of the whole context through the
    /// stack: this runs at boot and in a restart step).
    pub fn reset_to_entry(&mut self, entry: u32, stack_top: u32, reset_sctlr: u32, id: u8, restarts: u32) {
        *self = El1Context::zeroed();
        self.frame.elr = entry;
        self.frame.spsr = ENTRY_CPSR;
        self.frame.r[bulkhead_abi::entry::REG_PARTITION_ID] = id as u32;
        self.frame.r[bulkhead_abi::entry::REG_RESTART_COUNT] = restarts;
        self.frame.r[bulkhead_abi::entry::REG_ABI_VERSION] = bulkhead_abi::ABI_VERSION;
        self.banked.svc[0] = stack_top;
        self.system.sctlr = reset_sctlr;
    }
}

// Sizes the assembly depends on.
const _: () = assert!(core::mem::size_of::<TrapFrame>() == 16 * 4);
// `bulkhead_save_system` and `bulkhead_restore_system` walk `system` then
// `mpu` as 53 contiguous words in this order.
const _: () = assert!(core::mem::offset_of!(SystemRegisters, cntkctl) == 14 * 4);
const _: () = assert!(core::mem::offset_of!(SystemRegisters, cntv_cval) == 16 * 4);
const _: () = assert!(core::mem::size_of::<SystemRegisters>() == 18 * 4);
const _: () = assert!(core::mem::offset_of!(El1Context, mpu) == core::mem::offset_of!(El1Context, system) + 18 * 4);
const _: () = assert!(core::mem::offset_of!(El1MpuState, prbar) == 3 * 4);
const _: () = assert!(
    core::mem::offset_of!(El1MpuState, prlar) == core::mem::offset_of!(El1MpuState, prbar) + 4 * EL1_MPU_REGIONS
);
const _: () = assert!(EL1_MPU_REGIONS == 16);
const _: () = assert!(core::mem::size_of::<BankedRegisters>() == 22 * 4);
const _: () = assert!(core::mem::offset_of!(El1Context, vfp) % 8 == 0);

core::arch::global_asm!(
    r#"
    .section .text.bulkhead_context,"ax",%progbits
    .arm
    .fpu neon-fp-armv8

    // r0 = &BankedRegisters
    .global bulkhead_save_banked
    .type bulkhead_save_banked, %function
bulkhead_save_banked:
    mrs     r1, sp_usr
    mrs     r2, sp_svc
    mrs     r3, lr_svc
    mrs     r12, spsr_svc
    stmia   r0!, {{r1, r2, r3, r12}}
    mrs     r1, sp_abt
    mrs     r2, lr_abt
    mrs     r3, spsr_abt
    mrs     r12, sp_und
    stmia   r0!, {{r1, r2, r3, r12}}
    mrs     r1, lr_und
    mrs     r2, spsr_und
    mrs     r3, sp_irq
    mrs     r12, lr_irq
    stmia   r0!, {{r1, r2, r3, r12}}
    mrs     r1, spsr_irq
    mrs     r2, r8_fiq
    mrs     r3, r9_fiq
    mrs     r12, r10_fiq
    stmia   r0!, {{r1, r2, r3, r12}}
    mrs     r1, r11_fiq
    mrs     r2, r12_fiq
    mrs     r3, sp_fiq
    mrs     r12, lr_fiq
    stmia   r0!, {{r1, r2, r3, r12}}
    mrs     r1, spsr_fiq
    str     r1, [r0]
    bx      lr
    .size bulkhead_save_banked, . - bulkhead_save_banked

    // r0 = &BankedRegisters
    .global bulkhead_restore_banked
    .type bulkhead_restore_banked, %function
bulkhead_restore_banked:
    ldmia   r0!, {{r1, r2, r3, r12}}
    msr     sp_usr, r1
    msr     sp_svc, r2
    msr     lr_svc, r3
    msr     spsr_svc, r12
    ldmia   r0!, {{r1, r2, r3, r12}}
    msr     sp_abt, r1
    msr     lr_abt, r2
    msr     spsr_abt, r3
    msr     sp_und, r12
    ldmia   r0!, {{r1, r2, r3, r12}}
    msr     lr_und, r1
    msr     spsr_und, r2
    msr     sp_irq, r3
    msr     lr_irq, r12
    ldmia   r0!, {{r1, r2, r3, r12}}
    msr     spsr_irq, r1
    msr     r8_fiq, r2
    msr     r9_fiq, r3
    msr     r10_fiq, r12
    ldmia   r0!, {{r1, r2, r3, r12}}
    msr     r11_fiq, r1
    msr     r12_fiq, r2
    msr     sp_fiq, r3
    msr     lr_fiq, r12
    ldr     r1, [r0]
    msr     spsr_fiq, r1
    bx      lr
    .size bulkhead_restore_banked, . - bulkhead_restore_banked

    // r0 = &VfpState. FPEXC.EN must be set for EL2 to reach the registers;
    // the partition's own FPEXC is kept and put back on restore.
    .global bulkhead_save_vfp
    .type bulkhead_save_vfp, %function
bulkhead_save_vfp:
    vmrs    r1, fpexc
    orr     r2, r1, #0x40000000
    vmsr    fpexc, r2
    vstmia  r0!, {{d0-d15}}
    vstmia  r0!, {{d16-d31}}
    vmrs    r2, fpscr
    stmia   r0, {{r1, r2}}
    bx      lr
    .size bulkhead_save_vfp, . - bulkhead_save_vfp

    // Returns MVFR0 (the FP/SIMD feature register: how many D registers
    // exist) in r0. Reads an ID register only; no FP data register moves.
    .global bulkhead_read_mvfr0
    .type bulkhead_read_mvfr0, %function
bulkhead_read_mvfr0:
    vmrs    r0, mvfr0
    bx      lr
    .size bulkhead_read_mvfr0, . - bulkhead_read_mvfr0

    .global bulkhead_restore_vfp
    .type bulkhead_restore_vfp, %function
bulkhead_restore_vfp:
    mov     r2, #0x40000000
    vmsr    fpexc, r2
    vldmia  r0!, {{d0-d15}}
    vldmia  r0!, {{d16-d31}}
    ldmia   r0, {{r1, r2}}
    vmsr    fpscr, r2
    vmsr    fpexc, r1
    bx      lr
    .size bulkhead_restore_vfp, . - bulkhead_restore_vfp

    // r0 = &El1Context.system: SystemRegisters then El1MpuState, 53
    // contiguous words (the const assertions above): SCTLR, CPACR, CSSELR,
    // VBAR, DFSR, IFSR, ADFSR, AIFSR, DFAR, IFAR, CONTEXTIDR, TPIDRURW,
    // TPIDRURO, TPIDRPRW, CNTKCTL, CNTV_CTL, CNTV_CVAL (two words), PRSELR,
    // MAIR0, MAIR1, PRBAR0..15, PRLAR0..15. Direct EL1 MPU encodings:
    // PRBARn = p15, 0, c6, c(8 + n/2), 4 * (n % 2); PRLARn: opc2 + 1.
    // Saving also switches the partition's virtual timer off (CNTV_CTL = 0).
    .global bulkhead_save_system
    .type bulkhead_save_system, %function
bulkhead_save_system:
    mrc     p15, 0, r1, c1, c0, 0   // SCTLR
    mrc     p15, 0, r2, c1, c0, 2   // CPACR
    mrc     p15, 2, r3, c0, c0, 0   // CSSELR
    mrc     p15, 0, r12, c12, c0, 0   // VBAR
    stmia   r0!, {{r1, r2, r3, r12}}
    mrc     p15, 0, r1, c5, c0, 0   // DFSR
    mrc     p15, 0, r2, c5, c0, 1   // IFSR
    mrc     p15, 0, r3, c5, c1, 0   // ADFSR
    mrc     p15, 0, r12, c5, c1, 1   // AIFSR
    stmia   r0!, {{r1, r2, r3, r12}}
    mrc     p15, 0, r1, c6, c0, 0   // DFAR
    mrc     p15, 0, r2, c6, c0, 2   // IFAR
    mrc     p15, 0, r3, c13, c0, 1   // CONTEXTIDR
    mrc     p15, 0, r12, c13, c0, 2   // TPIDRURW
    stmia   r0!, {{r1, r2, r3, r12}}
    mrc     p15, 0, r1, c13, c0, 3   // TPIDRURO
    mrc     p15, 0, r2, c13, c0, 4   // TPIDRPRW
    mrc     p15, 0, r3, c14, c1, 0   // CNTKCTL
    mrc     p15, 0, r12, c14, c3, 1   // CNTV_CTL
    stmia   r0!, {{r1, r2, r3, r12}}
    mrrc    p15, 3, r1, r2, c14              // CNTV_CVAL
    mrc     p15, 0, r3, c6, c2, 1            // PRSELR
    mrc     p15, 0, r12, c10, c2, 0          // MAIR0
    stmia   r0!, {{r1, r2, r3, r12}}
    mrc     p15, 0, r1, c10, c2, 1           // MAIR1
    str     r1, [r0], #4
    mrc     p15, 0, r1, c6, c8, 0   // PRBAR0
    mrc     p15, 0, r2, c6, c8, 4   // PRBAR1
    mrc     p15, 0, r3, c6, c9, 0   // PRBAR2
    mrc     p15, 0, r12, c6, c9, 4   // PRBAR3
    stmia   r0!, {{r1, r2, r3, r12}}
    mrc     p15, 0, r1, c6, c10, 0   // PRBAR4
    mrc     p15, 0, r2, c6, c10, 4   // PRBAR5
    mrc     p15, 0, r3, c6, c11, 0   // PRBAR6
    mrc     p15, 0, r12, c6, c11, 4   // PRBAR7
    stmia   r0!, {{r1, r2, r3, r12}}
    mrc     p15, 0, r1, c6, c12, 0   // PRBAR8
    mrc     p15, 0, r2, c6, c12, 4   // PRBAR9
    mrc     p15, 0, r3, c6, c13, 0   // PRBAR10
    mrc     p15, 0, r12, c6, c13, 4   // PRBAR11
    stmia   r0!, {{r1, r2, r3, r12}}
    mrc     p15, 0, r1, c6, c14, 0   // PRBAR12
    mrc     p15, 0, r2, c6, c14, 4   // PRBAR13
    mrc     p15, 0, r3, c6, c15, 0   // PRBAR14
    mrc     p15, 0, r12, c6, c15, 4   // PRBAR15
    stmia   r0!, {{r1, r2, r3, r12}}
    mrc     p15, 0, r1, c6, c8, 1   // PRLAR0
    mrc     p15, 0, r2, c6, c8, 5   // PRLAR1
    mrc     p15, 0, r3, c6, c9, 1   // PRLAR2
    mrc     p15, 0, r12, c6, c9, 5   // PRLAR3
    stmia   r0!, {{r1, r2, r3, r12}}
    mrc     p15, 0, r1, c6, c10, 1   // PRLAR4
    mrc     p15, 0, r2, c6, c10, 5   // PRLAR5
    mrc     p15, 0, r3, c6, c11, 1   // PRLAR6
    mrc     p15, 0, r12, c6, c11, 5   // PRLAR7
    stmia   r0!, {{r1, r2, r3, r12}}
    mrc     p15, 0, r1, c6, c12, 1   // PRLAR8
    mrc     p15, 0, r2, c6, c12, 5   // PRLAR9
    mrc     p15, 0, r3, c6, c13, 1   // PRLAR10
    mrc     p15, 0, r12, c6, c13, 5   // PRLAR11
    stmia   r0!, {{r1, r2, r3, r12}}
    mrc     p15, 0, r1, c6, c14, 1   // PRLAR12
    mrc     p15, 0, r2, c6, c14, 5   // PRLAR13
    mrc     p15, 0, r3, c6, c15, 1   // PRLAR14
    mrc     p15, 0, r12, c6, c15, 5   // PRLAR15
    stmia   r0!, {{r1, r2, r3, r12}}
    mov     r1, #0
    mcr     p15, 0, r1, c14, c3, 1           // CNTV_CTL: silent while out
    bx      lr
    .size bulkhead_save_system, . - bulkhead_save_system

    // r0 = &El1Context.system, as above. CNTV_CVAL is written before
    // CNTV_CTL, so the timer never compares against a stale value.
    .global bulkhead_restore_system
    .type bulkhead_restore_system, %function
bulkhead_restore_system:
    ldmia   r0!, {{r1, r2, r3, r12}}
    mcr     p15, 0, r1, c1, c0, 0   // SCTLR
    mcr     p15, 0, r2, c1, c0, 2   // CPACR
    mcr     p15, 2, r3, c0, c0, 0   // CSSELR
    mcr     p15, 0, r12, c12, c0, 0   // VBAR
    ldmia   r0!, {{r1, r2, r3, r12}}
    mcr     p15, 0, r1, c5, c0, 0   // DFSR
    mcr     p15, 0, r2, c5, c0, 1   // IFSR
    mcr     p15, 0, r3, c5, c1, 0   // ADFSR
    mcr     p15, 0, r12, c5, c1, 1   // AIFSR
    ldmia   r0!, {{r1, r2, r3, r12}}
    mcr     p15, 0, r1, c6, c0, 0   // DFAR
    mcr     p15, 0, r2, c6, c0, 2   // IFAR
    mcr     p15, 0, r3, c13, c0, 1   // CONTEXTIDR
    mcr     p15, 0, r12, c13, c0, 2   // TPIDRURW
    ldmia   r0!, {{r1, r2, r3, r12}}        // TPIDRURO, TPIDRPRW, CNTKCTL, CNTV_CTL
    mcr     p15, 0, r1, c13, c0, 3           // TPIDRURO
    mcr     p15, 0, r2, c13, c0, 4           // TPIDRPRW
    mcr     p15, 0, r3, c14, c1, 0           // CNTKCTL
    mov     r2, r12                          // CNTV_CTL, written after CNTV_CVAL
    push    {{r2}}
    ldmia   r0!, {{r1, r2, r3, r12}}        // CNTV_CVAL, PRSELR, MAIR0
    mcrr    p15, 3, r1, r2, c14              // CNTV_CVAL
    pop     {{r2}}
    mcr     p15, 0, r2, c14, c3, 1           // CNTV_CTL
    mcr     p15, 0, r3, c6, c2, 1            // PRSELR
    mcr     p15, 0, r12, c10, c2, 0          // MAIR0
    ldr     r1, [r0], #4
    mcr     p15, 0, r1, c10, c2, 1           // MAIR1
    ldmia   r0!, {{r1, r2, r3, r12}}
    mcr     p15, 0, r1, c6, c8, 0   // PRBAR0
    mcr     p15, 0, r2, c6, c8, 4   // PRBAR1
    mcr     p15, 0, r3, c6, c9, 0   // PRBAR2
    mcr     p15, 0, r12, c6, c9, 4   // PRBAR3
    ldmia   r0!, {{r1, r2, r3, r12}}
    mcr     p15, 0, r1, c6, c10, 0   // PRBAR4
    mcr     p15, 0, r2, c6, c10, 4   // PRBAR5
    mcr     p15, 0, r3, c6, c11, 0   // PRBAR6
    mcr     p15, 0, r12, c6, c11, 4   // PRBAR7
    ldmia   r0!, {{r1, r2, r3, r12}}
    mcr     p15, 0, r1, c6, c12, 0   // PRBAR8
    mcr     p15, 0, r2, c6, c12, 4   // PRBAR9
    mcr     p15, 0, r3, c6, c13, 0   // PRBAR10
    mcr     p15, 0, r12, c6, c13, 4   // PRBAR11
    ldmia   r0!, {{r1, r2, r3, r12}}
    mcr     p15, 0, r1, c6, c14, 0   // PRBAR12
    mcr     p15, 0, r2, c6, c14, 4   // PRBAR13
    mcr     p15, 0, r3, c6, c15, 0   // PRBAR14
    mcr     p15, 0, r12, c6, c15, 4   // PRBAR15
    ldmia   r0!, {{r1, r2, r3, r12}}
    mcr     p15, 0, r1, c6, c8, 1   // PRLAR0
    mcr     p15, 0, r2, c6, c8, 5   // PRLAR1
    mcr     p15, 0, r3, c6, c9, 1   // PRLAR2
    mcr     p15, 0, r12, c6, c9, 5   // PRLAR3
    ldmia   r0!, {{r1, r2, r3, r12}}
    mcr     p15, 0, r1, c6, c10, 1   // PRLAR4
    mcr     p15, 0, r2, c6, c10, 5   // PRLAR5
    mcr     p15, 0, r3, c6, c11, 1   // PRLAR6
    mcr     p15, 0, r12, c6, c11, 5   // PRLAR7
    ldmia   r0!, {{r1, r2, r3, r12}}
    mcr     p15, 0, r1, c6, c12, 1   // PRLAR8
    mcr     p15, 0, r2, c6, c12, 5   // PRLAR9
    mcr     p15, 0, r3, c6, c13, 1   // PRLAR10
    mcr     p15, 0, r12, c6, c13, 5   // PRLAR11
    ldmia   r0!, {{r1, r2, r3, r12}}
    mcr     p15, 0, r1, c6, c14, 1   // PRLAR12
    mcr     p15, 0, r2, c6, c14, 5   // PRLAR13
    mcr     p15, 0, r3, c6, c15, 1   // PRLAR14
    mcr     p15, 0, r12, c6, c15, 5   // PRLAR15
    bx      lr
    .size bulkhead_restore_system, . - bulkhead_restore_system
    "#
);

unsafe extern "C" {
    fn bulkhead_save_banked(banked: *mut BankedRegisters);
    fn bulkhead_restore_banked(banked: *const BankedRegisters);
    fn bulkhead_save_vfp(vfp: *mut VfpState);
    fn bulkhead_restore_vfp(vfp: *const VfpState);
    fn bulkhead_save_system(system: *mut SystemRegisters);
    fn bulkhead_restore_system(system: *const SystemRegisters);
    fn bulkhead_read_mvfr0() -> u32;
}

/// What this core reports of the facts the context switch depends on
/// (checked against the board at boot: `kernel_core::board_check`).
pub fn hardware_facts() -> bulkhead_kernel_core::board_check::Hardware {
    use aarch32_cpu::register::{Cntfrq, Hmpuir, Mpuir, SysRegRead};
    bulkhead_kernel_core::board_check::Hardware {
        hmpuir: Hmpuir::read_raw(),
        mpuir: Mpuir::read_raw(),
        // SAFETY: reads MVFR0 into r0 and returns; touches nothing else.
        mvfr0: unsafe { bulkhead_read_mvfr0() },
        cntfrq: Cntfrq::read_raw(),
    }
}

/// Writes the counter frequency EL1 reads (`CNTFRQ`), for a core whose boot
/// ROM left it 0.
pub fn set_counter_frequency(hz: u32) {
    use aarch32_cpu::register::{Cntfrq, SysRegWrite};
    // SAFETY: CNTFRQ only reports the frequency; writing it (allowed at the
    // highest EL, EL2 here) changes no timer's behaviour.
    unsafe { Cntfrq::write_raw(hz) };
}

/// Saves the EL1 state that is not in the trap frame into `context`, and
/// switches the partition's virtual timer off while others run.
pub fn save(context: &mut El1Context) {
    // SAFETY: the routines read EL1 registers and store into the structs the
    // pointers designate, whose layouts the const assertions above pin down;
    // the only register they write is CNTV_CTL (the saved partition's own
    // virtual timer, off until its return).
    unsafe {
        bulkhead_save_banked(&mut context.banked);
        bulkhead_save_vfp(&mut context.vfp);
        bulkhead_save_system(&mut context.system);
    }
}

/// Loads the EL1 state that is not in the trap frame from `context`.
///
/// Also clears the core's local exclusive monitor (`CLREX`): an `LDREX` the
/// previous partition left open must not let this one's `STREX` succeed, nor
/// this partition's own `LDREX` from its last window survive another's.
pub fn restore(context: &El1Context) {
    // SAFETY: CLREX only clears the local exclusive monitor; the kernel holds
    // no exclusive access across this point. Every register the routines
    // write is EL1 state that only affects the partition about to run (the
    // EL1 MPU only constrains EL1 accesses, which the EL2 MPU still fences);
    // the EL2 MPU and traps are EL2 registers none of them touch.
    unsafe {
        core::arch::asm!("clrex", options(nomem, nostack, preserves_flags));
        bulkhead_restore_system(&context.system);
        bulkhead_restore_banked(&context.banked);
        bulkhead_restore_vfp(&context.vfp);
    }
}
