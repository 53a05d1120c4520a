//! How the cores start together and stop together: the only memory the
//! cores' kernels share at run time, and the only places one core ever
//! waits for another.
//!
//! Every core enters the kernel image at reset. Core 0 runs aarch32-rt's
//! start-up (which initialises `.data` and `.bss`, this module's words
//! among them); every other core waits in [`_asm_secondary_core_park`]
//! until core 0 has set up what the cores share (the distributor, the
//! kernel's data) and writes [`RELEASE_MAGIC`] to its word. A released core
//! whose `SYSTEM.cores` entry has no schedule goes back to sleep for good.
//!
//! Then each core sets up its own partitions and reports itself ready; core
//! 0, when every scheduled core is ready, publishes the **epoch**: a tick a
//! little ahead of now, at which every core's first major frame starts.
//! Every window start of every core is computed from that one epoch by
//! addition (`kernel_core::schedule`), and all cores read one system counter,
//! so the cores' boundaries stay exactly as far apart as their schedules say:
//! they cannot drift.
//!
//! After the epoch no core waits for another: the cores share nothing on any
//! path a partition can reach. At the end of a bounded run (`stop_after_frames`)
//! each core flushes its own console and counts itself done; the last one
//! ends the simulation.
//!
//! This module must never hold a lock, and must never be used after the
//! epoch except by [`finished`].

use crate::tables::SYSTEM;
use core::sync::atomic::{AtomicU32, Ordering, fence};

/// What core 0 writes to release the secondaries: a value the word is most
/// unlikely to hold by chance before `.bss` is cleared (the word is in `.bss`:
/// core 0 clears it before anything else, so garbage left in RAM at power-on
/// can only match it before that, by a 1 in 2^32 chance; boards that hold
/// their secondaries in reset until released do not depend on it at all).
const RELEASE_MAGIC: u32 = 0xB07C_0DE5;

/// [`RELEASE_MAGIC`] once core 0 has released the secondaries. Read by the
/// park routine by name, before the secondary has a stack.
#[unsafe(no_mangle)]
static BULKHEAD_RELEASE: AtomicU32 = AtomicU32::new(0);

/// Bit n: core n has set up its partitions and waits for the epoch.
static READY: AtomicU32 = AtomicU32::new(0);
/// The epoch (low and high words), valid once [`EPOCH_SET`] is 1.
static EPOCH: [AtomicU32; 2] = [AtomicU32::new(0), AtomicU32::new(0)];
static EPOCH_SET: AtomicU32 = AtomicU32::new(0);
/// Cores that have finished a bounded run.
static DONE: AtomicU32 = AtomicU32::new(0);

/// Time from the moment core 0 publishes the epoch to the epoch. Every
/// other scheduled core is already waiting for it then (it set its `READY`
/// bit): it needs a few hundred instructions to read the epoch and arm its
/// timer, so 20 us leaves a wide margin on any supported board. (A core that
/// still missed it would start its first window late, on the epoch's
/// schedule all the same: the cursor reckons from the epoch.)
const EPOCH_MARGIN_MICROS: u64 = 20;
/// How long core 0 waits for the other cores at boot before it reports a
/// core that did not start: one second of counter ticks.
const START_PATIENCE_SECONDS: u64 = 1;

/// Bit mask of the cores that run a schedule.
fn scheduled_cores() -> u32 {
    let mut mask = 0;
    for (core, desc) in SYSTEM.cores.iter().enumerate() {
        if desc.schedule.is_some() {
            mask |= 1 << core;
        }
    }
    mask
}

/// Core 0: lets the scheduled secondaries leave the park routine. Called
/// once what they share is set up.
pub fn release_secondaries() {
    // Everything core 0 wrote before (the distributor, `.data`, `.bss`) is
    // visible to a core that sees the magic (Release, and a DSB before the
    // SEV that wakes it).
    BULKHEAD_RELEASE.store(RELEASE_MAGIC, Ordering::Release);
    signal();
}

/// Reports core `core` ready (its partitions are set up) and returns the
/// epoch: core 0 publishes it once every scheduled core is ready, the others
/// wait for it.
pub fn ready_and_wait_for_epoch(core: usize, now: impl Fn() -> u64) -> u64 {
    READY.fetch_or(1 << core, Ordering::AcqRel);
    if core == 0 {
        let wanted = scheduled_cores() | 1;
        let give_up = now() + START_PATIENCE_SECONDS * SYSTEM.timer_hz as u64;
        while READY.load(Ordering::Acquire) & wanted != wanted {
            if now() > give_up {
                let missing = wanted & !READY.load(Ordering::Acquire);
                crate::panic::stop_with("core-did-not-start", missing.trailing_zeros(), 0, 0);
            }
            wait_for_event();
        }
        let epoch = now() + EPOCH_MARGIN_MICROS * SYSTEM.timer_hz as u64 / 1_000_000;
        EPOCH[0].store(epoch as u32, Ordering::Relaxed);
        EPOCH[1].store((epoch >> 32) as u32, Ordering::Relaxed);
        EPOCH_SET.store(1, Ordering::Release);
        signal();
        return epoch;
    }
    signal();
    while EPOCH_SET.load(Ordering::Acquire) == 0 {
        wait_for_event();
    }
    EPOCH[0].load(Ordering::Relaxed) as u64 | (EPOCH[1].load(Ordering::Relaxed) as u64) << 32
}

/// Counts this core done with a bounded run; returns whether it is the last
/// scheduled core to finish (which then ends the run for all).
pub fn finished() -> bool {
    let done = DONE.fetch_add(1, Ordering::AcqRel) + 1;
    done >= scheduled_cores().count_ones()
}

/// Makes earlier stores visible, then wakes cores waiting in `WFE`.
fn signal() {
    fence(Ordering::SeqCst);
    // SAFETY: DSB and SEV only order memory and signal an event.
    unsafe { core::arch::asm!("dsb sy", "sev", options(nostack, preserves_flags)) };
}

/// Waits for an event (another core's `SEV`) or returns at once if one came.
fn wait_for_event() {
    // SAFETY: WFE only waits.
    unsafe { core::arch::asm!("wfe", options(nomem, nostack, preserves_flags)) };
}

// The reset entry (`_start`, which aarch32-rt's vector table jumps to and
// its linker script would otherwise `PROVIDE` as its `_default_start`).
// aarch32-rt takes `MPIDR & 0xFF` as the core number and runs its core-0
// start-up (`.data`/`.bss` initialisation) on every core whose `Aff0` is 0:
// on a part with several clusters (S32Z2's RTUs, Stellar, Versal Gen 2)
// that is one core per cluster, each of which would initialise this image's
// memory again. So this image accepts only the cores of its board's cluster
// (`BoardDesc::cluster_affinity`) with `Aff0` below the board's core count
// (`BoardDesc::core_of`): those continue into aarch32-rt's start-up, where
// `Aff0` is the right core number; any other core sleeps here for good with
// its interrupts masked, before it touches memory. Uses r0-r2 only.
core::arch::global_asm!(
    r#"
    .section .text._start,"ax",%progbits
    .arm
    .global _start
    .type _start, %function
_start:
    mrc     p15, 0, r0, c0, c0, 5
    ldr     r1, ={cluster_mask}
    and     r1, r0, r1
    ldr     r2, ={cluster}
    cmp     r1, r2
    bne     1f
    and     r0, r0, #0xFF
    cmp     r0, #{cores}
    bhs     1f
    b       _default_start
1:
    cpsid   if
    wfi
    b       1b
    .size _start, . - _start
    .ltorg
    "#,
    cluster_mask = const bulkhead_kernel_core::tables::CLUSTER_AFFINITY_MASK,
    cluster = const SYSTEM.board.cluster_affinity,
    cores = const SYSTEM.board.cores,
);

// The park routine of aarch32-rt's start-up (`_asm_secondary_core_park`,
// called on every core but 0 with the core number in r0, before the core
// has a stack or may touch `.data`/`.bss` other than to read): waits for
// [`RELEASE_MAGIC`]. Uses r1-r3 only (the caller keeps the core number in
// r4).
core::arch::global_asm!(
    r#"
    .section .text._asm_secondary_core_park,"ax",%progbits
    .arm
    .global _asm_secondary_core_park
    .type _asm_secondary_core_park, %function
_asm_secondary_core_park:
    ldr     r1, =BULKHEAD_RELEASE
    ldr     r2, ={magic}
1:
    wfe
    ldr     r3, [r1]
    cmp     r3, r2
    bne     1b
    dmb     sy
    bx      lr
    .size _asm_secondary_core_park, . - _asm_secondary_core_park
    .ltorg
    "#,
    magic = const RELEASE_MAGIC,
);
