//! Test partition: the EL1 context survives partition switches.
//!
//! Two instances run with different seeds. Each fills every register the
//! kernel promises to switch with values derived from its seed: general
//! registers and `LR`, the banked registers of every mode, `D0`-`D31` and
//! `FPSCR`, the EL1 system registers (`TPIDR*`, `CONTEXTIDR`, `DFAR`, `IFAR`,
//! `DFSR`, `IFSR`, `MAIR0/1`, `PRSELR`, every `PRBARn`/`PRLARn`, `CNTKCTL`,
//! `CNTV_CVAL`). It then spins long enough to be switched out
//! several times with the general registers live, and checks every value.
//! Any register the kernel failed to save or restore (or leaked from the
//! other instance) shows up as a named mismatch.
//!
//! Output: `context ok round=N`, or `CONTEXT CORRUPTED round=N register=NAME
//! expected=0x... found=0x...`.

#![no_std]
#![no_main]

use aarch32_cpu::register::{
    self as reg, Cntkctl, CntvCval, Contextidr, Dfar, Dfsr, Ifar, Ifsr, Mair0, Mair1, Prselr, SysRegRead, SysRegRead64,
    SysRegWrite, SysRegWrite64, Tpidrprw, Tpidruro, Tpidrurw,
};
use bulkhead_sdk::{entry, hypercall, println};

/// Iterations of the spin with live registers: two instructions each, about
/// 3 windows of 100 us at one instruction per nanosecond.
const SPIN: u32 = 150_000;

fn pattern(seed: u32, index: u32) -> u32 {
    seed ^ index.wrapping_mul(0x0101_0101).rotate_left(index % 32)
}

/// Values that survive as written: some registers have read-as-zero bits.
struct Check {
    name: &'static str,
    expected: u32,
    found: u32,
}

macro_rules! sysreg_checks {
    ($seed:expr, $write:expr, $($name:literal $reg:ty = $mask:expr),* $(,)?) => {{
        let mut checks = heapless_checks();
        let mut index = 100;
        $(
            index += 1;
            let value = pattern($seed, index) & $mask;
            if $write {
                // SAFETY: this partition's own EL1 register; the value only
                // affects this partition (MPU regions stay disabled: SCTLR.M
                // is never set here).
                unsafe { <$reg as SysRegWrite>::write_raw(value) };
            }
            checks.push(Check { name: $name, expected: value, found: <$reg as SysRegRead>::read_raw() & $mask });
        )*
        checks
    }};
}

fn heapless_checks() -> Checks {
    Checks { items: [const { None }; 48], len: 0 }
}

struct Checks {
    items: [Option<Check>; 48],
    len: usize,
}

impl Checks {
    fn push(&mut self, check: Check) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = Some(check);
            self.len += 1;
        }
    }

    fn first_mismatch(&self) -> Option<&Check> {
        self.items.iter().flatten().find(|c| c.expected != c.found)
    }
}

/// Writes (when `write`) and reads back every EL1 system register.
fn system_registers(seed: u32, write: bool) -> Checks {
    // PRBAR/PRLAR: base/limit and attribute bits, EN (bit 0 of PRLAR) clear so
    // the patterns never become active regions.
    const BAR: u32 = 0xFFFF_FFDF;
    const LAR: u32 = 0xFFFF_FFCE;
    sysreg_checks!(seed, write,
        "TPIDRURW" Tpidrurw = !0, "TPIDRURO" Tpidruro = !0, "TPIDRPRW" Tpidrprw = !0,
        "CONTEXTIDR" Contextidr = !0, "DFAR" Dfar = !0, "IFAR" Ifar = !0,
        "DFSR" Dfsr = 0x0000_3E3F, "IFSR" Ifsr = 0x0000_123F,
        "MAIR0" Mair0 = !0, "MAIR1" Mair1 = !0, "CNTKCTL" Cntkctl = 0x0000_0303,
        "PRBAR1" reg::Prbar1 = BAR, "PRLAR1" reg::Prlar1 = LAR, "PRBAR2" reg::Prbar2 = BAR, "PRLAR2" reg::Prlar2 = LAR,
        "PRBAR3" reg::Prbar3 = BAR, "PRLAR3" reg::Prlar3 = LAR, "PRBAR4" reg::Prbar4 = BAR, "PRLAR4" reg::Prlar4 = LAR,
        "PRBAR5" reg::Prbar5 = BAR, "PRLAR5" reg::Prlar5 = LAR, "PRBAR6" reg::Prbar6 = BAR, "PRLAR6" reg::Prlar6 = LAR,
        "PRBAR7" reg::Prbar7 = BAR, "PRLAR7" reg::Prlar7 = LAR, "PRBAR8" reg::Prbar8 = BAR, "PRLAR8" reg::Prlar8 = LAR,
        "PRBAR9" reg::Prbar9 = BAR, "PRLAR9" reg::Prlar9 = LAR, "PRBAR10" reg::Prbar10 = BAR, "PRLAR10" reg::Prlar10 = LAR,
        "PRBAR11" reg::Prbar11 = BAR, "PRLAR11" reg::Prlar11 = LAR, "PRBAR12" reg::Prbar12 = BAR, "PRLAR12" reg::Prlar12 = LAR,
        "PRBAR13" reg::Prbar13 = BAR, "PRLAR13" reg::Prlar13 = LAR, "PRBAR14" reg::Prbar14 = BAR, "PRLAR14" reg::Prlar14 = LAR,
        "PRBAR15" reg::Prbar15 = BAR, "PRLAR15" reg::Prlar15 = LAR,
        "PRSELR" Prselr = 0x0000_000F,
    )
}

/// The virtual timer compare value (64-bit).
fn virtual_timer(seed: u32, write: bool) -> (u64, u64) {
    let value = ((pattern(seed, 200) as u64) << 32 | pattern(seed, 201) as u64) >> 1;
    if write {
        // SAFETY: this partition's own virtual timer; CNTV_CTL stays 0, so the
        // compare value never fires.
        unsafe { <CntvCval as SysRegWrite64>::write_raw(value) };
    }
    (value, <CntvCval as SysRegRead64>::read_raw())
}

/// Banked registers of the other modes, written and read from System mode
/// with the banked-register forms of MSR/MRS. Returns the first mismatch.
/// (`SP_usr` and `LR_usr` are System mode's own `sp` and `lr`: the general
/// register spin covers `lr`, and a lost `sp` would crash the partition.)
fn banked_registers(seed: u32, write: bool) -> Option<(&'static str, u32, u32)> {
    macro_rules! banked {
        ($($name:literal),*) => {{
            let mut index = 300;
            $(
                index += 1;
                // SPSRs keep mode and mask bits valid (SVC, all masked).
                let value = if $name.starts_with("spsr") { (pattern(seed, index) & 0xF800_0000) | 0x1D3 } else { pattern(seed, index) & !3 };
                let found: u32;
                // SAFETY: another mode's banked register; this partition never
                // enters those modes while the pattern is in place (IRQ/FIQ
                // masked, no exceptions expected), and restores nothing.
                unsafe {
                    if write {
                        core::arch::asm!(concat!("msr ", $name, ", {}"), in(reg) value);
                    }
                    core::arch::asm!(concat!("mrs {}, ", $name), out(reg) found);
                }
                if found != value {
                    return Some(($name, value, found));
                }
            )*
        }};
    }
    banked!(
        "sp_svc", "lr_svc", "spsr_svc", "sp_abt", "lr_abt", "spsr_abt", "sp_und", "lr_und", "spsr_und", "sp_irq",
        "lr_irq", "spsr_irq", "r8_fiq", "r9_fiq", "r10_fiq", "r11_fiq", "r12_fiq", "sp_fiq", "lr_fiq", "spsr_fiq"
    );
    None
}

/// What one round of spinning found.
struct Spin {
    /// General registers (r1-r12, lr) that changed.
    general_mismatches: u32,
    /// D0-D31 as found after the spin.
    vfp: [u64; 32],
    /// FPSCR as found after the spin.
    fpscr: u32,
}

/// FPSCR bits that hold what is written: NZCV, DN, FZ, RMode, cumulative flags.
const FPSCR_MASK: u32 = 0xF3C0_009F;

fn vfp_pattern(seed: u32) -> [u64; 32] {
    core::array::from_fn(|i| (pattern(seed, 400 + i as u32) as u64) << 32 | pattern(seed, 500 + i as u32) as u64)
}

/// Loads r1-r12, lr, D0-D31 and FPSCR with patterns, spins `SPIN` times
/// (being switched out several times meanwhile), and reports what they hold
/// afterwards. All in one assembly block, so no compiled code can touch the
/// registers between loading and reading them.
fn spin_with_live_registers(seed: u32) -> Spin {
    let general: [u32; 13] = core::array::from_fn(|i| pattern(seed, 700 + i as u32));
    let vfp = vfp_pattern(seed);
    let fpscr = pattern(seed, 600) & FPSCR_MASK;
    let mut found = Spin { general_mismatches: 0, vfp: [0; 32], fpscr: 0 };
    let (mismatches, found_fpscr): (u32, u32);
    // SAFETY: saves and restores every callee-saved core register it uses and
    // declares every other register it changes; reads the local arrays and
    // writes only `found.vfp`.
    unsafe {
        core::arch::asm!(
            "push {{r4-r11}}",
            "push {{{vfp_out}}}",
            "push {{{general}}}",
            "vldmia {vfp_in}!, {{d0-d15}}",
            "vldmia {vfp_in}, {{d16-d31}}",
            "vmsr fpscr, {fpscr}",
            "ldr r0, [sp]",
            "ldm r0, {{r1-r12, lr}}",
            "mov r0, #{spin_low}",
            "movt r0, #{spin_high}",
            "2:",
            "subs r0, r0, #1",
            "bne 2b",
            // r0 is 0: count general registers that differ from the pattern.
            "push {{r1-r12, lr}}",
            "ldr r1, [sp, #52]",
            "mov r2, #0",
            "3:",
            "ldr r3, [sp, r2, lsl #2]",
            "ldr r12, [r1, r2, lsl #2]",
            "cmp r3, r12",
            "addne r0, r0, #1",
            "add r2, r2, #1",
            "cmp r2, #13",
            "blt 3b",
            "ldr r1, [sp, #56]",
            "vstmia r1!, {{d0-d15}}",
            "vstmia r1, {{d16-d31}}",
            "vmrs r2, fpscr",
            "add sp, sp, #60",
            "pop {{r4-r11}}",
            general = in(reg) general.as_ptr(),
            vfp_out = in(reg) found.vfp.as_mut_ptr(),
            vfp_in = inout(reg) vfp.as_ptr() => _,
            fpscr = in(reg) fpscr,
            spin_low = const SPIN & 0xFFFF,
            spin_high = const SPIN >> 16,
            out("r0") mismatches, out("r1") _, out("r2") found_fpscr, out("r3") _, out("r12") _, out("lr") _,
            out("d0") _, out("d1") _, out("d2") _, out("d3") _, out("d4") _, out("d5") _, out("d6") _, out("d7") _,
            out("d8") _, out("d9") _, out("d10") _, out("d11") _, out("d12") _, out("d13") _, out("d14") _, out("d15") _,
            out("d16") _, out("d17") _, out("d18") _, out("d19") _, out("d20") _, out("d21") _, out("d22") _, out("d23") _,
            out("d24") _, out("d25") _, out("d26") _, out("d27") _, out("d28") _, out("d29") _, out("d30") _, out("d31") _,
        );
    }
    found.general_mismatches = mismatches;
    found.fpscr = found_fpscr & FPSCR_MASK;
    found
}

#[entry]
fn main() -> ! {
    let me = hypercall::identity();
    let seed = 0x5EED_0000 ^ (me.id as u32).wrapping_mul(0x9E37_79B9);
    // SAFETY: aarch32-rt's main runs in System mode with IRQ/FIQ enabled only
    // if we enable them; make sure they stay masked so no other mode's
    // (patterned) stack is ever used.
    unsafe { core::arch::asm!("cpsid if") };
    system_registers(seed, true);
    virtual_timer(seed, true);
    banked_registers(seed, true);
    let expected_vfp = vfp_pattern(seed);
    let expected_fpscr = pattern(seed, 600) & FPSCR_MASK;
    let mut round = 0u32;
    loop {
        round += 1;
        let spin = spin_with_live_registers(seed);
        let bad_d = (0..32).find(|&i| spin.vfp[i] != expected_vfp[i]);
        if spin.general_mismatches != 0 {
            println!("CONTEXT CORRUPTED round={round} register=general count={}", spin.general_mismatches);
        } else if let Some(index) = bad_d {
            println!(
                "CONTEXT CORRUPTED round={round} register=d{index} expected={:#x} found={:#x}",
                expected_vfp[index], spin.vfp[index]
            );
        } else if spin.fpscr != expected_fpscr {
            println!(
                "CONTEXT CORRUPTED round={round} register=FPSCR expected={expected_fpscr:#010x} found={:#010x}",
                spin.fpscr
            );
        } else if let Some(check) = system_registers(seed, false).first_mismatch() {
            println!(
                "CONTEXT CORRUPTED round={round} register={} expected={:#010x} found={:#010x}",
                check.name, check.expected, check.found
            );
        } else if let (expected, found) = virtual_timer(seed, false)
            && expected != found
        {
            println!("CONTEXT CORRUPTED round={round} register=CNTV_CVAL expected={expected:#x} found={found:#x}");
        } else if let Some((name, expected, found)) = banked_registers(seed, false) {
            println!("CONTEXT CORRUPTED round={round} register={name} expected={expected:#010x} found={found:#010x}");
        } else {
            println!("context ok round={round}");
        }
    }
}
