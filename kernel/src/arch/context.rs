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

use aarch32_cpu::register::{
    self as reg, Adfsr, Aifsr, Cntkctl, CntvCtl, CntvCval, Contextidr, Cpacr, Csselr, Dfar, Dfsr, Ifar, Ifsr, Mair0,
    Mair1, Prselr, Sctlr, SysRegRead, SysRegRead64, SysRegWrite, SysRegWrite64, Tpidrprw, Tpidruro, Tpidrurw, Vbar,
};

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

    /// The context of a partition about to run from its entry point, as after
    /// a reset: every register zero except the entry contract of
    /// `bulkhead_abi::entry`, `SP_svc`, and `SCTLR` at the core's reset value.
    pub fn at_entry(entry: u32, stack_top: u32, reset_sctlr: u32, id: u8, restarts: u32) -> El1Context {
        let mut context = El1Context::zeroed();
        context.frame.elr = entry;
        context.frame.spsr = ENTRY_CPSR;
        context.frame.r[bulkhead_abi::entry::REG_PARTITION_ID] = id as u32;
        context.frame.r[bulkhead_abi::entry::REG_RESTART_COUNT] = restarts;
        context.frame.r[bulkhead_abi::entry::REG_ABI_VERSION] = bulkhead_abi::ABI_VERSION;
        context.banked.svc[0] = stack_top;
        context.system.sctlr = reset_sctlr;
        context
    }
}

// Sizes the assembly depends on.
const _: () = assert!(core::mem::size_of::<TrapFrame>() == 16 * 4);
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
    "#
);

unsafe extern "C" {
    fn bulkhead_save_banked(banked: *mut BankedRegisters);
    fn bulkhead_restore_banked(banked: *const BankedRegisters);
    fn bulkhead_save_vfp(vfp: *mut VfpState);
    fn bulkhead_restore_vfp(vfp: *const VfpState);
}

/// Saves or restores every EL1 MPU region pair through the direct
/// `PRBARn`/`PRLARn` encodings (no `PRSELR` round trip).
macro_rules! el1_mpu_each {
    ($action:ident, $mpu:expr) => {
        el1_mpu_each!(@ $action, $mpu,
            0 Prbar0 Prlar0, 1 Prbar1 Prlar1, 2 Prbar2 Prlar2, 3 Prbar3 Prlar3,
            4 Prbar4 Prlar4, 5 Prbar5 Prlar5, 6 Prbar6 Prlar6, 7 Prbar7 Prlar7,
            8 Prbar8 Prlar8, 9 Prbar9 Prlar9, 10 Prbar10 Prlar10, 11 Prbar11 Prlar11,
            12 Prbar12 Prlar12, 13 Prbar13 Prlar13, 14 Prbar14 Prlar14, 15 Prbar15 Prlar15)
    };
    (@ save, $mpu:expr, $($n:literal $bar:ident $lar:ident),*) => {
        $( $mpu.prbar[$n] = <reg::$bar as SysRegRead>::read_raw();
           $mpu.prlar[$n] = <reg::$lar as SysRegRead>::read_raw(); )*
    };
    (@ restore, $mpu:expr, $($n:literal $bar:ident $lar:ident),*) => {
        // SAFETY: (for each write) EL1 MPU registers only constrain EL1
        // accesses, which the EL2 MPU still fences; any value is harmless to
        // the kernel and other partitions.
        $( unsafe {
            <reg::$bar as SysRegWrite>::write_raw($mpu.prbar[$n]);
            <reg::$lar as SysRegWrite>::write_raw($mpu.prlar[$n]);
        } )*
    };
}

/// Saves the EL1 state that is not in the trap frame into `context`.
pub fn save(context: &mut El1Context) {
    // SAFETY: the routines read EL1 registers and store into the struct the
    // pointer designates, whose layout the const assertions above pin down.
    unsafe {
        bulkhead_save_banked(&mut context.banked);
        bulkhead_save_vfp(&mut context.vfp);
    }
    let system = &mut context.system;
    system.sctlr = Sctlr::read_raw();
    system.cpacr = Cpacr::read_raw();
    system.csselr = Csselr::read_raw();
    system.vbar = Vbar::read_raw();
    system.fault_status = [Dfsr::read_raw(), Ifsr::read_raw(), Adfsr::read_raw(), Aifsr::read_raw()];
    system.fault_address = [Dfar::read_raw(), Ifar::read_raw()];
    system.thread_ids = [Contextidr::read_raw(), Tpidrurw::read_raw(), Tpidruro::read_raw(), Tpidrprw::read_raw()];
    system.cntkctl = Cntkctl::read_raw();
    system.cntv_ctl = CntvCtl::read_raw();
    system.cntv_cval = <CntvCval as SysRegRead64>::read_raw();
    // Silence this partition's virtual timer while others run.
    // SAFETY: CNTV_CTL only controls the EL1 virtual timer, which is saved above.
    unsafe { CntvCtl::write_raw(0) };

    let mpu = &mut context.mpu;
    mpu.prselr = Prselr::read_raw();
    mpu.mair = [Mair0::read_raw(), Mair1::read_raw()];
    el1_mpu_each!(save, mpu);
}

/// Loads the EL1 state that is not in the trap frame from `context`.
pub fn restore(context: &El1Context) {
    let mpu = &context.mpu;
    el1_mpu_each!(restore, mpu);
    let system = &context.system;
    // SAFETY: every register written here is EL1 state that only affects the
    // partition about to run; the EL2 MPU and traps, which fence it, are EL2
    // registers untouched by this function.
    unsafe {
        Prselr::write_raw(mpu.prselr);
        Mair0::write_raw(mpu.mair[0]);
        Mair1::write_raw(mpu.mair[1]);
        Cpacr::write_raw(system.cpacr);
        Csselr::write_raw(system.csselr);
        Vbar::write_raw(system.vbar);
        Dfsr::write_raw(system.fault_status[0]);
        Ifsr::write_raw(system.fault_status[1]);
        Adfsr::write_raw(system.fault_status[2]);
        Aifsr::write_raw(system.fault_status[3]);
        Dfar::write_raw(system.fault_address[0]);
        Ifar::write_raw(system.fault_address[1]);
        Contextidr::write_raw(system.thread_ids[0]);
        Tpidrurw::write_raw(system.thread_ids[1]);
        Tpidruro::write_raw(system.thread_ids[2]);
        Tpidrprw::write_raw(system.thread_ids[3]);
        Cntkctl::write_raw(system.cntkctl);
        <CntvCval as SysRegWrite64>::write_raw(system.cntv_cval);
        CntvCtl::write_raw(system.cntv_ctl);
        Sctlr::write_raw(system.sctlr);
        bulkhead_restore_banked(&context.banked);
        bulkhead_restore_vfp(&context.vfp);
    }
}
