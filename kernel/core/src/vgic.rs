//! The virtual GIC a partition sees: its interrupts, its distributor and
//! redistributor, and the list registers that deliver to it.
//!
//! Every physical interrupt is taken at EL2. One a partition owns is
//! acknowledged and its priority dropped, but it stays *active* physically
//! until the partition's own end-of-interrupt deactivates it through a list
//! register with the hardware bit set (`HW = 1`, `pINTID` = the physical
//! interrupt). So a level-sensitive device cannot re-assert while its owner
//! is switched out, and the owner's ordinary `ICC_EOIR1` write finishes the
//! job with no trap.
//!
//! This module owns the bookkeeping that decides *what* to do; it never
//! touches a register. It holds, per partition:
//!
//! - the virtual configuration of each owned interrupt (enabled, priority,
//!   group, edge or level) and whether it is waiting for a list register;
//! - the saved list registers and virtual CPU interface state while the
//!   partition is switched out;
//! - the emulation of the distributor and of its core's redistributor
//!   ([`emulate`]), which a partition reaches through stage-2 aborts, and
//!   whose answer is a value to return and [`Effect`]s on the physical GIC
//!   for the kernel to apply.
//!
//! Interrupts a partition does not own read as zero, ignore writes, and are
//! reported as ignored so the kernel can log them.

use crate::tables::SpiWord;

/// Bytes between two cores' redistributors: a GICv3 without virtual LPIs
/// (the Cortex-R52's) has an RD and an SGI frame of 64 KiB each. The kernel
/// computes every redistributor address with it, and the generator refuses
/// a board whose `redistributor_stride` differs.
pub const REDISTRIBUTOR_STRIDE: usize = 0x2_0000;

/// The virtual timer PPI: every partition owns its own.
pub const VIRTUAL_TIMER: u16 = 27;
/// Interrupt ids below this are SGIs.
pub const FIRST_PPI: u16 = 16;
/// Interrupt ids from this on are SPIs.
pub const FIRST_SPI: u16 = 32;
/// Most interrupts one partition may own (its devices', its explicit ones and
/// the virtual timer).
pub const MAX_OWNED: usize = 32;
/// List registers the kernel uses (the Cortex-R52 has 4).
pub const LIST_REGISTERS: usize = 4;
const _: () = assert!(LIST_REGISTERS.is_power_of_two(), "list register indices are masked with LIST_REGISTERS - 1");

/// Implemented virtual priority bits (`ICH_VTR.PRIbits + 1` on the R52): the
/// low bits of a priority read as zero.
pub const PRIORITY_MASK: u8 = 0xF8;

/// Frame size of the distributor and of each redistributor half.
pub const FRAME_SIZE: u32 = 0x1_0000;

/// One interrupt as its owner has configured it. (Whether it is enabled or
/// waiting for a list register is kept in [`Vgic`]'s bit masks, so the
/// switch path can tell in one instruction whether anything waits.)
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VirtualIrq {
    /// Whether the waiting interrupt is linked to a physical one (deactivated
    /// by the partition's EOI) or purely virtual (set pending by software).
    pub hardware: bool,
    /// Priority (low is urgent), masked to the implemented bits.
    pub priority: u8,
    /// Group 1 (IRQ) rather than group 0 (FIQ).
    pub group1: bool,
    /// Edge-triggered rather than level-sensitive.
    pub edge: bool,
}

/// A list register, `ICH_LR<n>` (low word: virtual INTID) and `ICH_LRC<n>`
/// (high word: state, HW, group, priority, physical INTID) as one value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListRegister(pub u64);

/// The state field of a list register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LrState {
    /// Free.
    Invalid,
    /// Pending in the guest.
    Pending,
    /// Being handled by the guest.
    Active,
    /// Both (an edge while active).
    PendingActive,
}

impl ListRegister {
    const STATE_SHIFT: u32 = 62;
    const HW: u64 = 1 << 61;
    const GROUP1: u64 = 1 << 60;
    const PRIORITY_SHIFT: u32 = 48;
    const PINTID_SHIFT: u32 = 32;

    /// A pending interrupt for the guest.
    pub const fn pending(intid: u16, priority: u8, group1: bool, hardware: bool) -> ListRegister {
        let mut value = (1u64 << Self::STATE_SHIFT) | ((priority as u64) << Self::PRIORITY_SHIFT) | intid as u64;
        if group1 {
            value |= Self::GROUP1;
        }
        if hardware {
            value |= Self::HW | ((intid as u64) << Self::PINTID_SHIFT);
        }
        ListRegister(value)
    }

    /// The virtual interrupt id.
    pub const fn intid(&self) -> u16 {
        (self.0 & 0xFFFF) as u16
    }

    /// The priority.
    pub const fn priority(&self) -> u8 {
        (self.0 >> Self::PRIORITY_SHIFT) as u8
    }

    /// Whether it is linked to a physical interrupt.
    pub const fn hardware(&self) -> bool {
        self.0 & Self::HW != 0
    }

    /// The state.
    pub const fn state(&self) -> LrState {
        match self.0 >> Self::STATE_SHIFT {
            0 => LrState::Invalid,
            1 => LrState::Pending,
            2 => LrState::Active,
            _ => LrState::PendingActive,
        }
    }

    /// The low word (`ICH_LR<n>`).
    pub const fn low(&self) -> u32 {
        self.0 as u32
    }

    /// The high word (`ICH_LRC<n>`).
    pub const fn high(&self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// From the two words.
    pub const fn from_words(low: u32, high: u32) -> ListRegister {
        ListRegister((high as u64) << 32 | low as u64)
    }
}

/// What the kernel must do to the physical GIC after an emulated access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Enable the physical interrupt.
    Enable(u16),
    /// Disable the physical interrupt.
    Disable(u16),
    /// Make the physical interrupt pending (it will arrive at EL2).
    SetPending(u16),
    /// Clear the physical interrupt's pending state.
    ClearPending(u16),
    /// Deactivate the physical interrupt.
    Deactivate(u16),
    /// Configure the physical interrupt as edge-triggered (true) or level.
    Trigger(u16, bool),
    /// Remove the interrupt from the list registers (it is no longer pending
    /// or active for the guest).
    Unlist(u16),
    /// A list register may be needed: try to deliver queued interrupts.
    Refill,
}

/// What one emulated access does to the physical GIC and the list
/// registers: one [`Action`] on a set of interrupts, then possibly a refill.
///
/// An access writes one register, so it takes one kind of action, on at
/// most 32 interrupts that lie in one 32-aligned block: a bitmask over that
/// block holds them, and a write touching all 32 needs no more room (or
/// time to build) than one touching one.
///
/// (Twelve bytes, so that an [`Outcome`] is sixteen: the compiler builds it
/// with four stores rather than a call to `memset`, on every trapped access.)
#[derive(Clone, Copy, Debug, Default)]
pub struct Effects {
    /// The interrupts acted on.
    mask: u32,
    /// For [`Action::Trigger`]: which of them become edge-triggered.
    edge: u32,
    /// Interrupt id of bit 0 of the masks (32-aligned).
    base: u16,
    action: Action,
    /// [`REFILL`] and [`IGNORED`].
    flags: u8,
}

/// `Effects::flags`: queued interrupts may now be deliverable.
const REFILL: u8 = 1;
/// `Effects::flags`: the access named interrupts the partition does not own
/// (reported through [`Outcome::ignored`]).
const IGNORED: u8 = 2;

impl Effects {
    fn set_refill(&mut self, refill: bool) {
        if refill {
            self.flags |= REFILL;
        }
    }

    fn refill(&self) -> bool {
        self.flags & REFILL != 0
    }
}

/// The kind of action an access takes on its interrupts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
enum Action {
    #[default]
    None,
    Enable,
    Disable,
    SetPending,
    /// Unlist; for an SPI also clear the physical pending state.
    ClearPending,
    /// Unlist, and deactivate the physical interrupt.
    Deactivate,
    Trigger,
}

impl Effects {
    /// Takes `action` on `intid`. Every interrupt of one access shares the
    /// action and the 32-aligned block (see the type); anything else would
    /// be a bug in this module and is dropped.
    fn add(&mut self, action: Action, intid: u16) {
        if self.mask == 0 {
            self.action = action;
            self.base = intid & !31;
        }
        if action != self.action || intid & !31 != self.base {
            return;
        }
        self.mask |= 1 << (intid % 32);
    }

    /// Takes `action` on the interrupts `mask` names in the 32-interrupt
    /// block from `base` (32-aligned), if any.
    fn add_mask(&mut self, action: Action, base: u16, mask: u32) {
        if mask != 0 && self.mask == 0 {
            self.action = action;
            self.base = base & !31;
            self.mask = mask;
        }
    }

    fn trigger(&mut self, intid: u16, edge: bool) {
        self.add(Action::Trigger, intid);
        if edge && self.action == Action::Trigger {
            self.edge |= 1 << (intid % 32);
        }
    }

    /// The effects, in the order to apply them: every interrupt leaves the
    /// list registers before its physical state is cleared or deactivated;
    /// then [`Effect::Refill`].
    pub fn iter(&self) -> EffectsIter<'_> {
        let unlists = matches!(self.action, Action::ClearPending | Action::Deactivate);
        EffectsIter { effects: self, unlisting: unlists, remaining: self.mask, refill: self.refill() }
    }
}

/// A write of a mask to one of the GIC's one-bit-per-interrupt registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BitWrite {
    /// `ISENABLER`.
    SetEnable,
    /// `ICENABLER`.
    ClearEnable,
    /// `ISPENDR`.
    SetPending,
    /// `ICPENDR`.
    ClearPending,
    /// `ICACTIVER`.
    ClearActive,
}

/// [`Effects`] as the kernel applies them: at most one pass over the list
/// registers, one register write for the whole block, the trigger changes,
/// then a refill. (The same effects as [`Effects::iter`], which lists them
/// one interrupt at a time; a property test checks they agree.) The cost of
/// applying an access is therefore the same for one interrupt as for 32.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Interrupt id of bit 0 of the masks (32-aligned).
    pub base: u16,
    /// Take these out of the list registers first.
    pub unlist: u32,
    /// Then write this mask to this register of the block.
    pub write: Option<(BitWrite, u32)>,
    /// Change these interrupts' trigger ...
    pub trigger: u32,
    /// ... to edge where set here, level elsewhere.
    pub edge: u32,
    /// Then try to deliver queued interrupts.
    pub refill: bool,
}

impl Effects {
    /// The effects as one [`Plan`].
    #[inline]
    pub fn plan(&self) -> Plan {
        let mut plan = Plan { base: self.base, refill: self.refill(), ..Plan::default() };
        if matches!(self.action, Action::ClearPending | Action::Deactivate) {
            plan.unlist = self.mask;
        }
        let write = |register| (self.mask != 0).then_some((register, self.mask));
        plan.write = match self.action {
            Action::None => None,
            Action::Enable => write(BitWrite::SetEnable),
            Action::Disable => write(BitWrite::ClearEnable),
            Action::SetPending => write(BitWrite::SetPending),
            // SGIs and PPIs have no physical pending state of theirs.
            Action::ClearPending if self.base < FIRST_SPI => None,
            Action::ClearPending => write(BitWrite::ClearPending),
            Action::Deactivate => write(BitWrite::ClearActive),
            Action::Trigger => {
                plan.trigger = self.mask;
                plan.edge = self.edge;
                None
            }
        };
        plan
    }
}

/// Iterator over [`Effects`].
pub struct EffectsIter<'a> {
    effects: &'a Effects,
    /// In the first pass (unlisting) of an action that needs one.
    unlisting: bool,
    remaining: u32,
    refill: bool,
}

impl Iterator for EffectsIter<'_> {
    type Item = Effect;

    fn next(&mut self) -> Option<Effect> {
        loop {
            if self.remaining == 0 {
                if !self.unlisting {
                    return core::mem::take(&mut self.refill).then_some(Effect::Refill);
                }
                self.unlisting = false;
                self.remaining = self.effects.mask;
                continue;
            }
            let bit = self.remaining.trailing_zeros() as u16;
            self.remaining &= self.remaining - 1;
            let intid = self.effects.base + bit;
            if self.unlisting {
                return Some(Effect::Unlist(intid));
            }
            return Some(match self.effects.action {
                Action::Enable => Effect::Enable(intid),
                Action::Disable => Effect::Disable(intid),
                Action::SetPending => Effect::SetPending(intid),
                // SGIs and PPIs have no physical pending state of theirs.
                Action::ClearPending if intid < FIRST_SPI => continue,
                Action::ClearPending => Effect::ClearPending(intid),
                Action::Deactivate => Effect::Deactivate(intid),
                Action::Trigger => Effect::Trigger(intid, self.effects.edge & (1 << bit) != 0),
                Action::None => continue,
            });
        }
    }
}

/// The set bits of a mask, lowest first.
struct SetBits(u32);

impl Iterator for SetBits {
    type Item = u16;

    fn next(&mut self) -> Option<u16> {
        if self.0 == 0 {
            return None;
        }
        let bit = self.0.trailing_zeros();
        self.0 &= self.0 - 1;
        Some(bit as u16)
    }
}

/// Physical facts the emulation reflects back to guests.
#[derive(Clone, Copy, Debug)]
pub struct GicFacts {
    /// `GICD_TYPER`.
    pub gicd_typer: u32,
    /// `GICD_IIDR`.
    pub gicd_iidr: u32,
    /// `GICD_PIDR2` (and `GICR_PIDR2`).
    pub pidr2: u32,
    /// `GICR_IIDR`.
    pub gicr_iidr: u32,
    /// Affinity of the partition's core, in `IROUTER` format (Aff3 in bits
    /// 39:32, Aff2..Aff0 in bits 23:0).
    pub affinity: u64,
}

/// Which GIC frame an access hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The distributor.
    Distributor,
    /// The partition's core's redistributor, RD_base.
    Redistributor,
    /// The partition's core's redistributor, SGI_base.
    RedistributorSgi,
    /// Another core's redistributor: read as zero, writes ignored.
    OtherRedistributor,
}

/// An emulated access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access {
    /// Which frame.
    pub frame: Frame,
    /// Offset in the frame.
    pub offset: u32,
    /// Bytes: 1, 2 or 4.
    pub size: u8,
    /// The value written, for a write.
    pub write: Option<u32>,
}

/// The outcome of an emulated access.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// The value read (0 for a write).
    pub value: u32,
    /// What to do to the physical GIC.
    pub effects: Effects,
}

impl Outcome {
    /// The access named interrupts the partition does not own (ignored).
    pub fn ignored(&self) -> bool {
        self.effects.flags & IGNORED != 0
    }

    fn set_ignored(&mut self, ignored: bool) {
        if ignored {
            self.effects.flags |= IGNORED;
        }
    }
}

const _: () = assert!(core::mem::size_of::<Outcome>() == 16);

/// Why an access cannot be emulated: the partition's fault policy applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not naturally aligned.
    Unaligned,
    /// A size the register does not support.
    BadSize,
}

/// One partition's virtual GIC.
#[derive(Clone, Copy, Debug)]
pub struct Vgic {
    /// Per owned interrupt, in the order of the partition's interrupt list.
    pub irqs: [VirtualIrq; MAX_OWNED],
    /// Bit n: owned interrupt n is enabled (`ISENABLER`/`ICENABLER`).
    pub enabled: u32,
    /// Bit n: owned interrupt n waits for a list register (acknowledged
    /// physically, or set pending by the guest).
    pub queued: u32,
    /// `GICD_CTLR` as the guest wrote it.
    pub gicd_ctlr: u32,
    /// `GICR_WAKER.ProcessorSleep` clear: the guest has woken its
    /// redistributor. (Stored inverted so a reset `Vgic` is all zeros and the
    /// kernel's state stays in `.bss`.)
    pub awake: bool,
    /// Saved list registers.
    pub lrs: [ListRegister; LIST_REGISTERS],
    /// Saved `ICH_VMCR` (the guest's PMR, BPR, group enables).
    pub vmcr: u32,
    /// Saved `ICH_AP0R0`, `ICH_AP1R0` (active priorities).
    pub apr: [u32; 2],
    /// The virtual timer PPI was physically active when switched out.
    pub timer_active: bool,
    /// Priority levels, kept alongside `irqs[..].priority` by
    /// [`Vgic::set_priority`] so that a refill picks the most urgent
    /// interrupts without looking at each queued one: bit n of
    /// `levels[l]` (l from 1) means slot n has priority `l << 3`.
    levels: [u32; PRIORITY_LEVELS],
    /// Bit l: `levels[l]` is not empty.
    levels_used: u32,
    /// Slots whose priority is not 0 (the rest are at level 0; so a reset
    /// `Vgic`, all priorities 0, is all zeros).
    nonzero: u32,
    /// The slot of the interrupt the kernel last wrote into each list
    /// register (the guest changes a list register's state, never its
    /// interrupt), so a refill finds what is listed without a search. Each
    /// use checks it against the register and searches if it disagrees.
    listed_slots: [u8; LIST_REGISTERS],
}

/// Virtual priority levels (five implemented bits, [`PRIORITY_MASK`]).
const PRIORITY_LEVELS: usize = 32;

impl Vgic {
    /// A reset GIC: everything disabled, priorities 0, group 0, level, the
    /// redistributor asleep, as the architecture resets it.
    pub const fn new() -> Vgic {
        Vgic {
            irqs: [VirtualIrq { hardware: false, priority: 0, group1: false, edge: false }; MAX_OWNED],
            enabled: 0,
            queued: 0,
            gicd_ctlr: 0,
            awake: false,
            lrs: [ListRegister(0); LIST_REGISTERS],
            vmcr: 0,
            apr: [0; 2],
            timer_active: false,
            levels: [0; PRIORITY_LEVELS],
            levels_used: 0,
            nonzero: 0,
            listed_slots: [0; LIST_REGISTERS],
        }
    }

    /// A reset GIC ([`Vgic::new`]) for the interrupts `owned` whose SPIs
    /// read back the trigger the board gives them: edge for those in
    /// `edge_spis` (sorted), level for the others. What a guest later
    /// writes there is kept in the virtual distributor only; the physical
    /// trigger is the board's, set once at boot.
    pub fn at_reset(owned: &[u16], edge_spis: &[u16]) -> Vgic {
        let mut vgic = Vgic::new();
        if !edge_spis.is_empty() {
            for (irq, intid) in vgic.irqs.iter_mut().zip(owned) {
                irq.edge = *intid >= FIRST_SPI && edge_spis.binary_search(intid).is_ok();
            }
        }
        vgic
    }

    /// The slot of the interrupt in list register `n`, which holds `lr`.
    fn listed_slot(&self, owned: &[u16], n: usize, lr: ListRegister) -> Option<usize> {
        let remembered = self.listed_slots.get(n).map(|slot| *slot as usize);
        match remembered {
            Some(slot) if owned.get(slot) == Some(&lr.intid()) => Some(slot),
            _ => Vgic::slot(owned, lr.intid()),
        }
    }

    /// Sets the priority of slot `index` (masked to the implemented bits).
    /// The only way a priority changes, so the levels stay true.
    pub fn set_priority(&mut self, index: usize, priority: u8) {
        let Some(irq) = self.irqs.get_mut(index) else { return };
        let bit = 1u32 << index;
        let (old, new) = ((irq.priority >> 3) as usize, (priority & PRIORITY_MASK) >> 3);
        irq.priority = priority & PRIORITY_MASK;
        if let Some(level) = self.levels.get_mut(old).filter(|_| old != 0) {
            *level &= !bit;
            if *level == 0 {
                self.levels_used &= !(1 << old);
            }
        }
        if let Some(level) = self.levels.get_mut(new as usize).filter(|_| new != 0) {
            *level |= bit;
            self.levels_used |= 1 << new;
            self.nonzero |= bit;
        } else {
            self.nonzero &= !bit;
        }
    }

    /// The index of `intid` in `owned`, if the partition owns it.
    ///
    /// A binary search written out (a few instructions per halving; the
    /// library's generic one costs twice as much), as it runs for every
    /// listed interrupt of a refill.
    pub fn slot(owned: &[u16], intid: u16) -> Option<usize> {
        let owned = owned.get(..owned.len().min(MAX_OWNED)).unwrap_or(owned);
        let (mut low, mut length) = (0usize, owned.len());
        while length > 1 {
            let half = length / 2;
            if owned.get(low + half).is_some_and(|candidate| *candidate <= intid) {
                low += half;
            }
            length -= half;
        }
        (owned.get(low) == Some(&intid)).then_some(low)
    }

    /// Records that `intid` is waiting for delivery. `hardware` when a
    /// physical interrupt was acknowledged for it.
    pub fn queue(&mut self, owned: &[u16], intid: u16, hardware: bool) -> bool {
        Vgic::slot(owned, intid).is_some_and(|index| self.queue_slot(index, hardware))
    }

    /// [`Vgic::queue`] for the interrupt in slot `index`, when the caller
    /// knows it (from the build-time route table).
    pub fn queue_slot(&mut self, index: usize, hardware: bool) -> bool {
        let Some(irq) = self.irqs.get_mut(index) else { return false };
        irq.hardware |= hardware;
        self.queued |= 1 << index;
        true
    }

    /// The fast path of delivery: lists `intid` (slot `index`, just queued)
    /// straight into an empty list register, when that needs no choice:
    /// it is enabled, it is the only interrupt waiting, a list register is
    /// empty, and no list register holds it already. `empty` is `ICH_ELRSR`
    /// (bit n: list register n is empty); `listed(n)` reads the interrupt id
    /// in list register n. Returns the register to write and its value; with
    /// `None` the interrupt stays queued and [`Vgic::refill`] decides.
    #[inline(always)]
    pub fn list_directly(
        &mut self,
        index: usize,
        intid: u16,
        empty: u32,
        listed: impl Fn(usize) -> u16,
    ) -> Option<(usize, ListRegister)> {
        let own = 1u32.checked_shl(index as u32)?;
        let empty = empty & ((1 << LIST_REGISTERS) - 1);
        if self.queued & self.enabled != own || empty == 0 {
            return None;
        }
        let occupied = !empty & ((1 << LIST_REGISTERS) - 1);
        if SetBits(occupied).any(|n| listed(n as usize) == intid) {
            return None;
        }
        let irq = self.irqs.get_mut(index)?;
        let register = empty.trailing_zeros() as usize;
        let value = ListRegister::pending(intid, irq.priority, irq.group1, irq.hardware);
        irq.hardware = false;
        self.queued &= !own;
        // (Masked rather than checked: `register` is below 4, being the
        // lowest set bit of a 4-bit mask, and this is the latency path.)
        self.listed_slots[register & (LIST_REGISTERS - 1)] = index as u8;
        Some((register, value))
    }

    /// Whether queued interrupt `index` could take the place of something
    /// in list registers `lrs` that are all in use: one of them is only
    /// pending and less urgent. When it cannot, a refill would change
    /// nothing (what else is queued could not displace anything at the
    /// last refill either, and list registers only free up or become
    /// active since), so the kernel leaves it queued for the maintenance
    /// interrupt that comes when list registers free up.
    pub fn can_displace(&self, index: usize, lrs: &[ListRegister; LIST_REGISTERS]) -> bool {
        let Some(irq) = self.irqs.get(index) else { return false };
        self.is_enabled(index) && lrs.iter().any(|lr| lr.state() == LrState::Pending && lr.priority() > irq.priority)
    }

    /// Whether owned interrupt `index` is enabled.
    pub fn is_enabled(&self, index: usize) -> bool {
        self.enabled & (1 << index) != 0
    }

    /// Whether owned interrupt `index` waits for a list register.
    pub fn is_queued(&self, index: usize) -> bool {
        self.queued & (1 << index) != 0
    }

    /// The (at most [`LIST_REGISTERS`]) most urgent queued, enabled
    /// interrupts whose slots are not in `skip`, most urgent (lowest
    /// priority value, then lowest id) first: their slots, and how many
    /// there are. A few instructions per priority level in use and per
    /// interrupt chosen, however many are queued (slots are in id order, so
    /// within a level the lowest slots are the lowest ids).
    pub fn most_urgent_queued(&self, skip: u32) -> ([u8; LIST_REGISTERS], usize) {
        // Those not yet chosen: the walk over the levels stops when none is
        // left, or when enough are chosen.
        let mut remaining = self.queued & self.enabled & !skip;
        let mut chosen = [0u8; LIST_REGISTERS];
        let mut count = 0;
        let mut group = remaining & !self.nonzero;
        let mut used = self.levels_used;
        loop {
            remaining &= !group;
            while group != 0 {
                let Some(slot) = chosen.get_mut(count) else { return (chosen, count) };
                *slot = group.trailing_zeros() as u8;
                group &= group - 1;
                count += 1;
            }
            if used == 0 || remaining == 0 {
                return (chosen, count);
            }
            let level = used.trailing_zeros() as usize;
            used &= used - 1;
            group = remaining & self.levels.get(level).copied().unwrap_or(0);
        }
    }

    /// Whether any enabled interrupt is waiting for a list register.
    pub fn has_queued(&self) -> bool {
        self.queued & self.enabled != 0
    }

    /// Moves queued interrupts into `lrs`, most urgent first: into free
    /// registers, then in place of a less urgent one that is only pending
    /// (which goes back to the queue). Returns the registers to write back.
    ///
    /// Bounded whatever is queued: one pass over the queued interrupts to
    /// pick the most urgent few, then at most one write per list register
    /// (each placement takes a free register or evicts a less urgent one).
    /// An interrupt listed when the refill starts is not a candidate, even
    /// if evicted (possible only when its owner changed its priority after
    /// it was listed): it stays queued for the next refill.
    pub fn refill(&mut self, owned: &[u16], lrs: &mut [ListRegister; LIST_REGISTERS]) -> u32 {
        const ALL: u32 = (1 << LIST_REGISTERS) - 1;
        let mut written = 0;
        // Which list registers hold something, and which owned interrupts
        // they hold: one already listed (an edge while active) waits for its
        // register to be free.
        let mut valid = 0u32;
        let mut listed = 0u32;
        for (n, lr) in lrs.iter().enumerate() {
            if lr.state() != LrState::Invalid {
                valid |= 1 << n;
                if let Some(index) = self.listed_slot(owned, n, *lr) {
                    listed |= 1 << index;
                }
            }
        }
        // When everything waiting fits the free registers, order does not
        // matter (the guest's CPU interface orders what is listed): take
        // them as they come.
        let waiting = self.queued & self.enabled & !listed;
        let free = !valid & ALL;
        let (chosen, count) = if waiting.count_ones() <= free.count_ones() {
            let (mut chosen, mut count, mut rest) = ([0u8; LIST_REGISTERS], 0, waiting);
            while rest != 0 {
                let Some(slot) = chosen.get_mut(count) else { break };
                *slot = rest.trailing_zeros() as u8;
                rest &= rest - 1;
                count += 1;
            }
            (chosen, count)
        } else {
            self.most_urgent_queued(listed)
        };
        for &index in chosen.iter().take(count) {
            let index = index as usize;
            let (Some(&intid), Some(irq)) = (owned.get(index), self.irqs.get(index).copied()) else { break };
            let free = !valid & ALL;
            let target = if free != 0 {
                Some(free.trailing_zeros() as usize)
            } else {
                lrs.iter()
                    .enumerate()
                    .filter(|(_, lr)| lr.state() == LrState::Pending && lr.priority() > irq.priority)
                    .max_by_key(|(_, lr)| lr.priority())
                    .map(|(position, _)| position)
            };
            let Some(target) = target else { break };
            if let Some(evicted) = lrs.get(target).copied().filter(|lr| lr.state() == LrState::Pending)
                && let Some(slot) = self.listed_slot(owned, target, evicted)
            {
                self.queue_slot(slot, evicted.hardware());
            }
            if let Some(remembered) = self.listed_slots.get_mut(target) {
                *remembered = index as u8;
            }
            if let (Some(slot), Some(stored)) = (lrs.get_mut(target), self.irqs.get_mut(index)) {
                *slot = ListRegister::pending(intid, irq.priority, irq.group1, irq.hardware);
                stored.hardware = false;
                self.queued &= !(1 << index);
                written |= 1 << target;
                valid |= 1 << target;
            }
        }
        written
    }
}

impl Default for Vgic {
    fn default() -> Self {
        Vgic::new()
    }
}

/// Register offsets.
mod offset {
    pub const CTLR: u32 = 0x0000;
    pub const TYPER: u32 = 0x0004;
    pub const IIDR: u32 = 0x0008;
    pub const GICR_TYPER_HIGH: u32 = 0x000C;
    pub const WAKER: u32 = 0x0014;
    pub const IGROUPR: u32 = 0x0080;
    pub const ISENABLER: u32 = 0x0100;
    pub const ICENABLER: u32 = 0x0180;
    pub const ISPENDR: u32 = 0x0200;
    pub const ICPENDR: u32 = 0x0280;
    pub const ISACTIVER: u32 = 0x0300;
    pub const ICACTIVER: u32 = 0x0380;
    pub const IPRIORITYR: u32 = 0x0400;
    pub const ICFGR: u32 = 0x0C00;
    pub const IROUTER: u32 = 0x6000;
    pub const PIDR2: u32 = 0xFFE8;
}

/// `GICD_CTLR` bits the guest may set (EnableGrp0, EnableGrp1); ARE (bit 4)
/// and DS (bit 6) read as one.
const CTLR_WRITABLE: u32 = 0b11;
const CTLR_FIXED: u32 = (1 << 4) | (1 << 6);

/// The registers with one bit per interrupt.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BitRegister {
    Group,
    SetEnable,
    ClearEnable,
    SetPending,
    ClearPending,
    SetActive,
    ClearActive,
}

impl BitRegister {
    /// The register whose 0x80-byte block holds offset `at`.
    fn at(at: u32) -> Option<BitRegister> {
        Some(match at & !0x7F {
            offset::IGROUPR => BitRegister::Group,
            offset::ISENABLER => BitRegister::SetEnable,
            offset::ICENABLER => BitRegister::ClearEnable,
            offset::ISPENDR => BitRegister::SetPending,
            offset::ICPENDR => BitRegister::ClearPending,
            offset::ISACTIVER => BitRegister::SetActive,
            offset::ICACTIVER => BitRegister::ClearActive,
            _ => return None,
        })
    }
}

/// Emulates one access by a partition that owns `owned` (sorted interrupt
/// ids, including [`VIRTUAL_TIMER`]), whose SPIs by word are `spis`
/// ([`SpiWord::of`] `owned`, as the kernel's tables hold them).
pub fn emulate(
    vgic: &mut Vgic,
    owned: &[u16],
    spis: &[SpiWord],
    facts: &GicFacts,
    access: Access,
) -> Result<Outcome, Refusal> {
    if !matches!(access.size, 1 | 2 | 4) {
        return Err(Refusal::BadSize);
    }
    // The size is 1, 2 or 4 (just checked): a mask, not a division.
    if access.offset & (access.size as u32 - 1) != 0 {
        return Err(Refusal::Unaligned);
    }
    let mut outcome = Outcome { value: 0, effects: Effects::default() };
    let word_only = |outcome: Outcome| if access.size == 4 { Ok(outcome) } else { Err(Refusal::BadSize) };
    match access.frame {
        Frame::OtherRedistributor => {
            outcome.set_ignored(true);
            Ok(outcome)
        }
        Frame::Distributor => match access.offset {
            offset::CTLR => {
                match access.write {
                    Some(value) => vgic.gicd_ctlr = value & CTLR_WRITABLE,
                    None => outcome.value = vgic.gicd_ctlr | CTLR_FIXED,
                }
                word_only(outcome)
            }
            offset::TYPER => word_only(read_only(outcome, access, facts.gicd_typer)),
            offset::IIDR => word_only(read_only(outcome, access, facts.gicd_iidr)),
            offset::PIDR2 => word_only(read_only(outcome, access, facts.pidr2)),
            // SGIs and PPIs live in the redistributor when affinity routing
            // is on: the distributor's first registers of each kind are RES0.
            o if (offset::IGROUPR..offset::IPRIORITYR).contains(&o) && (o - offset::IGROUPR).is_multiple_of(0x80) => {
                word_only(outcome)
            }
            o if (offset::IPRIORITYR..offset::IPRIORITYR + 0x20).contains(&o) => Ok(outcome),
            o if (offset::IROUTER + 0x100..offset::IROUTER + 0x100 + 8 * 988).contains(&o) => {
                word_only(router(owned, facts, access, outcome))
            }
            _ => interrupt_registers(vgic, owned, spis, access, outcome, FIRST_SPI),
        },
        Frame::Redistributor => match access.offset {
            offset::CTLR => word_only(outcome),
            offset::IIDR => word_only(read_only(outcome, access, facts.gicr_iidr)),
            // GICR_TYPER: Last (bit 4): the only redistributor the guest sees;
            // processor number 0; affinity (high word) of its core.
            offset::TYPER => word_only(read_only(outcome, access, 1 << 4)),
            offset::GICR_TYPER_HIGH => word_only(read_only(outcome, access, typer_affinity(facts.affinity))),
            offset::WAKER => {
                match access.write {
                    Some(value) => vgic.awake = value & 0b10 == 0,
                    None => outcome.value = if vgic.awake { 0 } else { 0b110 },
                }
                word_only(outcome)
            }
            offset::PIDR2 => word_only(read_only(outcome, access, facts.pidr2)),
            _ => Ok(outcome),
        },
        Frame::RedistributorSgi => match access.offset {
            o if o < offset::IPRIORITYR + 0x20 || (offset::ICFGR..offset::ICFGR + 8).contains(&o) => {
                // Only the first register of each kind (SGIs and PPIs).
                let first = match o {
                    o if o >= offset::ICFGR => true,
                    o if o >= offset::IPRIORITYR => true,
                    o => (o % 0x80) == 0,
                };
                if first { interrupt_registers(vgic, owned, &[], access, outcome, 0) } else { Ok(outcome) }
            }
            _ => Ok(outcome),
        },
    }
}

/// `GICR_TYPER[63:32]` (Aff3.Aff2.Aff1.Aff0) from an `IROUTER`-format
/// affinity (Aff3 in bits 39:32, Aff2..Aff0 in bits 23:0).
const fn typer_affinity(affinity: u64) -> u32 {
    (((affinity >> 32) as u32 & 0xFF) << 24) | (affinity as u32 & 0x00FF_FFFF)
}

fn read_only(mut outcome: Outcome, access: Access, value: u32) -> Outcome {
    if access.write.is_none() {
        outcome.value = value;
    }
    outcome
}

/// `IROUTER<n>`, accessed as two 32-bit halves: the partition's own core is
/// the only valid target.
fn router(owned: &[u16], facts: &GicFacts, access: Access, mut outcome: Outcome) -> Outcome {
    let relative = access.offset - offset::IROUTER;
    let intid = (relative / 8) as u16;
    let high = relative % 8 == 4;
    if Vgic::slot(owned, intid).is_none() {
        outcome.set_ignored(true);
        return outcome;
    }
    let own = if high { (facts.affinity >> 32) as u32 } else { facts.affinity as u32 };
    match access.write {
        // Routing mode 1 (any core) or another core: not this partition's to choose.
        Some(value) if value != own => outcome.set_ignored(true),
        Some(_) => {}
        None => outcome.value = own,
    }
    outcome
}

/// The per-interrupt registers shared by the distributor (SPIs) and the
/// redistributor's SGI frame (SGIs and PPIs). `first` is the lowest interrupt
/// id the frame serves.
fn interrupt_registers(
    vgic: &mut Vgic,
    owned: &[u16],
    spis: &[SpiWord],
    access: Access,
    mut outcome: Outcome,
    first: u16,
) -> Result<Outcome, Refusal> {
    let o = access.offset;
    if (offset::IPRIORITYR..offset::IPRIORITYR + 0x400).contains(&o) {
        // One byte per interrupt; byte or word accesses.
        let base = (o - offset::IPRIORITYR) as u16;
        let mut owned_lanes = 0u32;
        for (index, intid) in owned_among(owned, first, base, access.size as u16) {
            let shift = (intid - base) * 8;
            owned_lanes |= 0xFF << shift;
            match access.write {
                Some(value) => vgic.set_priority(index, (value >> shift) as u8),
                None => outcome.value |= vgic.irqs.get(index).map_or(0, |irq| irq.priority as u32) << shift,
            }
        }
        outcome.set_ignored(ignored(access.write, owned_lanes));
        return Ok(outcome);
    }
    if access.size != 4 {
        return Err(Refusal::BadSize);
    }
    if (offset::ICFGR..offset::ICFGR + 0x100).contains(&o) {
        // Two bits per interrupt; bit 1 of each is "edge".
        let base = ((o - offset::ICFGR) / 4 * 16) as u16;
        let mut owned_fields = 0u32;
        for (index, intid) in owned_among(owned, first, base, 16) {
            let field = intid - base;
            let edge_bit = 1 << (field * 2 + 1);
            owned_fields |= 0b11 << (field * 2);
            let Some(irq) = vgic.irqs.get_mut(index) else { continue };
            match access.write {
                // SGIs are always edge, PPIs fixed by the core: read-only.
                _ if intid < FIRST_SPI => outcome.value |= if irq.edge || intid < FIRST_PPI { edge_bit } else { 0 },
                Some(value) => {
                    let edge = value & edge_bit != 0;
                    if edge != irq.edge {
                        irq.edge = edge;
                        outcome.effects.trigger(intid, edge);
                    }
                }
                None => outcome.value |= if irq.edge { edge_bit } else { 0 },
            }
        }
        outcome.set_ignored(ignored(access.write, owned_fields));
        return Ok(outcome);
    }
    // The seven one-bit-per-interrupt registers sit in 0x80-byte blocks
    // from IGROUPR to ICACTIVER.
    let Some(register) = BitRegister::at(o) else { return Ok(outcome) };
    let base = ((o % 0x80) / 4 * 32) as u16;
    let block = OwnedBlock::find(owned, spis, first, base);
    outcome.set_ignored(ignored(access.write, block.bits));
    if register == BitRegister::Group {
        // Kept per interrupt (the one bit register that is not a mask of
        // the Vgic's): one step per owned interrupt of the word.
        for (index, intid) in owned_among(owned, first, base, 32) {
            let mask = 1u32 << (intid - base);
            let Some(irq) = vgic.irqs.get_mut(index) else { continue };
            match access.write {
                Some(value) => irq.group1 = value & mask != 0,
                None => outcome.value |= if irq.group1 { mask } else { 0 },
            }
        }
        return Ok(outcome);
    }
    // The others are word operations on the Vgic's slot masks: a few
    // instructions per owned interrupt of the word, the same for a write of
    // one bit as for one of 32 (the bound on a trapped access in
    // `docs/architecture.md` relies on it).
    let Some(value) = access.write else {
        outcome.value = match register {
            BitRegister::SetEnable | BitRegister::ClearEnable => block.word_of(vgic.enabled),
            BitRegister::SetPending | BitRegister::ClearPending => block.word_of(vgic.queued),
            // Active state lives in the list registers and the physical GIC;
            // reads report none.
            _ => 0,
        };
        return Ok(outcome);
    };
    let bits = value & block.bits;
    // SPIs are physical interrupts; SGIs and PPIs (the redistributor's word
    // 0) are the partition's virtual ones.
    let physical = base >= FIRST_SPI;
    let effects = &mut outcome.effects;
    match register {
        // Enables act on every owned interrupt the write names (enabling an
        // enabled interrupt again changes nothing, physically or here).
        BitRegister::SetEnable => {
            let slots = block.slots_of(bits);
            effects.set_refill(slots & !vgic.enabled & vgic.queued != 0);
            vgic.enabled |= slots;
            if physical {
                effects.add_mask(Action::Enable, base, bits);
            }
        }
        BitRegister::ClearEnable => {
            vgic.enabled &= !block.slots_of(bits);
            if physical {
                effects.add_mask(Action::Disable, base, bits);
            }
        }
        BitRegister::SetPending if physical => effects.add_mask(Action::SetPending, base, bits),
        BitRegister::SetPending => {
            let newly = block.slots_of(bits) & !vgic.queued;
            vgic.queued |= newly;
            effects.set_refill(newly != 0);
        }
        BitRegister::ClearPending => {
            vgic.queued &= !block.slots_of(bits);
            effects.add_mask(Action::ClearPending, base, bits);
        }
        BitRegister::ClearActive => effects.add_mask(Action::Deactivate, base, bits),
        // Setting active state by hand is not supported.
        BitRegister::SetActive | BitRegister::Group => {}
    }
    Ok(outcome)
}

/// The owned interrupts of one 32-interrupt word of a bit register: which
/// bits of the word they are, and the slot of the lowest. `owned` is
/// sorted, so the word's interrupts hold consecutive slots, in bit order.
#[derive(Clone, Copy, Debug)]
struct OwnedBlock {
    /// Bit n: interrupt `base + n` is owned (and in a slot below
    /// [`MAX_OWNED`]).
    bits: u32,
    /// The slot of the lowest.
    first_slot: u32,
}

impl OwnedBlock {
    /// The owned interrupts among `base..base + 32`, none below `first`.
    /// An SPI word comes from the build-time table (a step per word the
    /// partition has SPIs in); word 0 (SGIs and PPIs) is found by one binary
    /// search and one step per owned interrupt below 32.
    fn find(owned: &[u16], spis: &[SpiWord], first: u16, base: u16) -> OwnedBlock {
        if base >= FIRST_SPI {
            let word = spis.iter().find(|word| u16::from(word.word) == base / 32);
            return word.map_or(OwnedBlock { bits: 0, first_slot: 0 }, |word| OwnedBlock {
                bits: word.owned,
                first_slot: word.first_slot.into(),
            });
        }
        let start = owned.partition_point(|intid| *intid < base.max(first));
        let mut bits = 0u32;
        for &intid in owned.iter().skip(start).take(MAX_OWNED.saturating_sub(start)) {
            match intid.checked_sub(base) {
                Some(bit) if bit < 32 => bits |= 1 << bit,
                _ => break,
            }
        }
        OwnedBlock { bits, first_slot: start as u32 }
    }

    /// Word bits (owned ones only) to slot bits: the n-th owned interrupt
    /// of the word is slot `first_slot + n` (a software `PEXT`, one step per
    /// run of consecutive owned interrupts, as devices' usually are).
    fn slots_of(self, word: u32) -> u32 {
        let (mut owned, mut slots, mut at) = (self.bits, 0u32, 0u32);
        while owned != 0 {
            let (start, run) = lowest_run(owned);
            let taken = word.checked_shr(start).unwrap_or(0) & run;
            slots |= taken.checked_shl(at).unwrap_or(0);
            at += run.count_ones();
            owned &= !run.checked_shl(start).unwrap_or(0);
        }
        slots.checked_shl(self.first_slot).unwrap_or(0)
    }

    /// Slot bits to word bits (a software `PDEP`): the inverse of
    /// [`OwnedBlock::slots_of`] on the word's slots.
    fn word_of(self, slots: u32) -> u32 {
        let mut slots = slots.checked_shr(self.first_slot).unwrap_or(0);
        let (mut owned, mut word) = (self.bits, 0u32);
        while owned != 0 {
            let (start, run) = lowest_run(owned);
            word |= (slots & run).checked_shl(start).unwrap_or(0);
            slots = slots.checked_shr(run.count_ones()).unwrap_or(0);
            owned &= !run.checked_shl(start).unwrap_or(0);
        }
        word
    }
}

/// The lowest run of consecutive set bits of `bits` (not zero): where it
/// starts, and a mask of its length from bit 0.
fn lowest_run(bits: u32) -> (u32, u32) {
    let start = bits.trailing_zeros();
    let length = (!(bits >> start)).trailing_zeros();
    (start, 1u32.checked_shl(length).map_or(u32::MAX, |bit| bit - 1))
}

/// The partition's interrupts among the `count` consecutive ids from `from`
/// (none below `first`), as (slot, id), lowest first. `owned` is sorted, so
/// this costs one binary search and one step per interrupt it yields,
/// however many ids the register covers.
fn owned_among(owned: &[u16], first: u16, from: u16, count: u16) -> impl Iterator<Item = (usize, u16)> + '_ {
    let end = from.saturating_add(count);
    let start = owned.partition_point(|intid| *intid < from.max(first));
    owned.iter().copied().enumerate().skip(start).take_while(move |(index, intid)| *intid < end && *index < MAX_OWNED)
}

/// Whether an access is about interrupts the partition does not own: a write
/// that sets any bit outside `owned_bits` (the bits of its own interrupts),
/// or a read that names none of its interrupts.
fn ignored(write: Option<u32>, owned_bits: u32) -> bool {
    match write {
        Some(value) => value & !owned_bits != 0,
        None => owned_bits == 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    const OWNED: [u16; 4] = [27, 33, 34, 100];
    const FACTS: GicFacts =
        GicFacts { gicd_typer: 0x0078_0003, gicd_iidr: 0x43B, pidr2: 0x3B, gicr_iidr: 0x43B, affinity: 0 };

    /// The SPI words of `owned`, as the kernel's tables hold them.
    fn spis(owned: &[u16]) -> Vec<SpiWord> {
        SpiWord::of(owned).collect()
    }

    fn distributor(offset: u32, size: u8, write: Option<u32>) -> Access {
        Access { frame: Frame::Distributor, offset, size, write }
    }

    fn effects(outcome: &Outcome) -> Vec<Effect> {
        outcome.effects.iter().collect()
    }

    #[test]
    fn a_reset_vgic_reads_the_boards_triggers() {
        let owned = [27, 33, 44, 100];
        let vgic = Vgic::at_reset(&owned, &[27, 44]);
        let edges: Vec<bool> = vgic.irqs.iter().take(4).map(|irq| irq.edge).collect();
        assert_eq!(edges, [false, false, true, false], "27 is a PPI (fixed by the core), 44 the board's edge SPI");
        assert!(Vgic::at_reset(&owned, &[]).irqs.iter().all(|irq| !irq.edge));
    }

    #[test]
    fn enabling_touches_only_owned_interrupts() {
        let mut vgic = Vgic::new();
        // ISENABLER1 covers INTIDs 32..63: bit 1 = 33 (owned), bit 2 = 34 (owned), bit 5 = 37 (not).
        let outcome =
            emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, distributor(0x104, 4, Some(0b10_0110))).unwrap();
        assert_eq!(effects(&outcome), [Effect::Enable(33), Effect::Enable(34)]);
        assert!(outcome.ignored(), "bit for 37 is not the partition's");
        let read = emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, distributor(0x104, 4, None)).unwrap();
        assert_eq!(read.value, 0b110, "37 reads as zero");
        let disable = emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, distributor(0x184, 4, Some(u32::MAX))).unwrap();
        assert_eq!(effects(&disable), [Effect::Disable(33), Effect::Disable(34)]);
        assert!(disable.ignored());
    }

    /// Expands a plan into the per-interrupt effects it stands for.
    fn expand(plan: &Plan) -> Vec<Effect> {
        let bits = |mask: u32| SetBits(mask).map(move |bit| plan.base + bit);
        let mut out: Vec<Effect> = bits(plan.unlist).map(Effect::Unlist).collect();
        if let Some((register, mask)) = plan.write {
            out.extend(bits(mask).map(|intid| match register {
                BitWrite::SetEnable => Effect::Enable(intid),
                BitWrite::ClearEnable => Effect::Disable(intid),
                BitWrite::SetPending => Effect::SetPending(intid),
                BitWrite::ClearPending => Effect::ClearPending(intid),
                BitWrite::ClearActive => Effect::Deactivate(intid),
            }));
        }
        out.extend(bits(plan.trigger).map(|intid| Effect::Trigger(intid, plan.edge & (1 << (intid - plan.base)) != 0)));
        if plan.refill {
            out.push(Effect::Refill);
        }
        out
    }

    proptest::proptest! {
        /// The word-at-a-time plan the kernel applies is exactly the list of
        /// per-interrupt effects, for any access to any register.
        #[test]
        fn the_plan_is_the_effects_word_at_a_time(
            owned_spis in proptest::collection::btree_set(32u16..128, 0..31),
            accesses in proptest::collection::vec((0u32..0x1000, proptest::option::of(proptest::prelude::any::<u32>()), proptest::prelude::any::<bool>()), 1..40),
        ) {
            let owned: Vec<u16> = core::iter::once(VIRTUAL_TIMER).chain(owned_spis).collect();
            let mut vgic = Vgic::new();
            for (offset, write, redistributor) in accesses {
                let frame = if redistributor { Frame::RedistributorSgi } else { Frame::Distributor };
                let access = Access { frame, offset: offset & !3, size: 4, write };
                if let Ok(outcome) = emulate(&mut vgic, &owned, &spis(&owned), &FACTS, access) {
                    proptest::prop_assert_eq!(expand(&outcome.effects.plan()), effects(&outcome));
                }
            }
        }
    }

    /// The per-interrupt semantics of the one-bit-per-interrupt registers,
    /// one owned interrupt at a time (how the emulation was first written):
    /// the reference the word-at-a-time emulation must agree with.
    fn reference_bit_access(
        vgic: &mut Vgic,
        owned: &[u16],
        first: u16,
        offset: u32,
        write: Option<u32>,
    ) -> (u32, Vec<Effect>, bool) {
        let base = ((offset % 0x80) / 4 * 32) as u16;
        let register = offset & !0x7F;
        let (mut value, mut effects, mut refill, mut owned_bits) = (0u32, Vec::new(), false, 0u32);
        for (index, &intid) in owned.iter().enumerate().take(MAX_OWNED) {
            if intid < first.max(base) || intid >= base + 32 {
                continue;
            }
            let mask = 1u32 << (intid - base);
            owned_bits |= mask;
            let own = 1u32 << index;
            let physical = intid >= FIRST_SPI;
            let (enabled, queued) = (vgic.enabled & own != 0, vgic.queued & own != 0);
            let hit = write.is_some_and(|w| w & mask != 0);
            match (register, write) {
                (offset::IGROUPR, None) => value |= if vgic.irqs[index].group1 { mask } else { 0 },
                (offset::IGROUPR, Some(w)) => vgic.irqs[index].group1 = w & mask != 0,
                (offset::ISENABLER | offset::ICENABLER, None) => value |= if enabled { mask } else { 0 },
                (offset::ISPENDR | offset::ICPENDR, None) => value |= if queued { mask } else { 0 },
                (_, None) => {}
                _ if !hit => {}
                (offset::ISENABLER, _) => {
                    vgic.enabled |= own;
                    if physical {
                        effects.push(Effect::Enable(intid));
                    }
                    refill |= queued && !enabled;
                }
                (offset::ICENABLER, _) => {
                    vgic.enabled &= !own;
                    if physical {
                        effects.push(Effect::Disable(intid));
                    }
                }
                (offset::ISPENDR, _) if physical => effects.push(Effect::SetPending(intid)),
                (offset::ISPENDR, _) if !queued => {
                    vgic.queued |= own;
                    refill = true;
                }
                (offset::ICPENDR, _) => {
                    vgic.queued &= !own;
                    effects.push(Effect::ClearPending(intid));
                }
                (offset::ICACTIVER, _) => effects.push(Effect::Deactivate(intid)),
                _ => {}
            }
        }
        // Unlisting comes first, then the physical effects, then the refill.
        let unlists: Vec<Effect> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::ClearPending(i) | Effect::Deactivate(i) => Some(Effect::Unlist(*i)),
                _ => None,
            })
            .collect();
        let mut all = unlists;
        all.extend(effects.into_iter().filter(|e| !matches!(e, Effect::ClearPending(i) if *i < FIRST_SPI)));
        if refill {
            all.push(Effect::Refill);
        }
        (value, all, ignored(write, owned_bits))
    }

    proptest::proptest! {
        /// `slots_of` and `word_of` are the bit-at-a-time compress and
        /// expand over the owned bits, and each other's inverse.
        #[test]
        fn owned_block_compress_and_expand(bits in proptest::prelude::any::<u32>(), first_slot in 0u32..32, word in proptest::prelude::any::<u32>()) {
            let block = OwnedBlock { bits, first_slot };
            // Bits whose slot would be 32 or more have none.
            let (mut expected, mut kept) = (0u64, 0u32);
            for (n, bit) in SetBits(bits).enumerate() {
                if n as u32 + first_slot < 32 && word & (1 << bit) != 0 {
                    expected |= 1 << (n as u32 + first_slot);
                    kept |= 1 << bit;
                }
            }
            proptest::prop_assert_eq!(block.slots_of(word), expected as u32);
            proptest::prop_assert_eq!(block.word_of(expected as u32), kept);
        }
    }

    proptest::proptest! {
        /// The word-at-a-time emulation of the bit registers (enable,
        /// pending, active, group) does exactly what the per-interrupt
        /// reference does, to the values read, the effects, the ignored
        /// flag and the virtual GIC's state, for any sequence of accesses
        /// by a partition owning any set of interrupts.
        #[test]
        fn bit_registers_word_at_a_time_match_the_per_interrupt_reference(
            owned_spis in proptest::collection::btree_set(32u16..160, 0..31),
            sgis in proptest::collection::btree_set(0u16..16, 0..3),
            accesses in proptest::collection::vec((0u32..7, 0u32..5, proptest::option::of(proptest::prelude::any::<u32>()), proptest::prelude::any::<bool>()), 1..60),
        ) {
            let mut owned: Vec<u16> = sgis.into_iter().chain(core::iter::once(VIRTUAL_TIMER)).chain(owned_spis).collect();
            owned.truncate(MAX_OWNED);
            let mut vgic = Vgic::new();
            let mut reference = Vgic::new();
            for (register, word, write, redistributor) in accesses {
                let (frame, first, word) = if redistributor { (Frame::RedistributorSgi, 0, 0) } else { (Frame::Distributor, FIRST_SPI, word.max(1)) };
                let offset = offset::IGROUPR + register * 0x80 + word * 4;
                let outcome = emulate(&mut vgic, &owned, &spis(&owned), &FACTS, Access { frame, offset, size: 4, write }).unwrap();
                let (value, expected, ignored) = reference_bit_access(&mut reference, &owned, first, offset, write);
                proptest::prop_assert_eq!(outcome.value, value, "value of {:#x}", offset);
                proptest::prop_assert_eq!(effects(&outcome), expected, "effects of {:#x} {:?}", offset, write);
                proptest::prop_assert_eq!(outcome.ignored(), ignored);
                proptest::prop_assert_eq!((vgic.enabled, vgic.queued), (reference.enabled, reference.queued));
                proptest::prop_assert!(vgic.irqs.iter().zip(&reference.irqs).all(|(a, b)| a.group1 == b.group1));
            }
        }
    }

    #[test]
    fn a_write_covering_32_owned_interrupts_keeps_every_effect() {
        // 31 SPIs in one distributor word plus the virtual timer: the most
        // a partition may own. Clearing all their pending and active state
        // in one write needs two effects each.
        let owned: std::vec::Vec<u16> = core::iter::once(VIRTUAL_TIMER).chain(64..95).collect();
        let mut vgic = Vgic::new();
        let clear = emulate(&mut vgic, &owned, &spis(&owned), &FACTS, distributor(0x288, 4, Some(u32::MAX))).unwrap();
        let effects = effects(&clear);
        assert_eq!(effects.len(), 62, "{effects:?}");
        let unlisted: Vec<Effect> = (64..95).map(Effect::Unlist).collect();
        let cleared: Vec<Effect> = (64..95).map(Effect::ClearPending).collect();
        assert_eq!(effects[..31], unlisted[..], "out of the list registers first");
        assert_eq!(effects[31..], cleared[..]);
        assert!(clear.ignored(), "bit 31 (interrupt 95) is not the partition's");
    }

    #[test]
    fn clearing_state_unlists_first_and_leaves_the_virtual_timer_physically_alone() {
        let mut vgic = Vgic::new();
        let sgi_frame = |offset, write| Access { frame: Frame::RedistributorSgi, offset, size: 4, write };
        // ICPENDR0 and ICACTIVER0 for the virtual timer (PPI 27).
        let unpend = emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, sgi_frame(0x280, Some(1 << 27))).unwrap();
        assert_eq!(effects(&unpend), [Effect::Unlist(27)], "no physical pending state to clear for a PPI");
        let deactivate = emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, sgi_frame(0x380, Some(1 << 27))).unwrap();
        assert_eq!(effects(&deactivate), [Effect::Unlist(27), Effect::Deactivate(27)]);
        // ICACTIVER1 for SPIs 33 and 34.
        let deactivate_spis =
            emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, distributor(0x384, 4, Some(0b110))).unwrap();
        assert_eq!(
            effects(&deactivate_spis),
            [Effect::Unlist(33), Effect::Unlist(34), Effect::Deactivate(33), Effect::Deactivate(34)]
        );
        // ICFGR2 (SPIs 32..47): 33 to edge, 34 stays level (already).
        let trigger =
            emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, distributor(0xC08, 4, Some(0b10 << 2))).unwrap();
        assert_eq!(effects(&trigger), [Effect::Trigger(33, true)]);
        let back = emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, distributor(0xC08, 4, Some(0))).unwrap();
        assert_eq!(effects(&back), [Effect::Trigger(33, false)]);
    }

    #[test]
    fn priorities_byte_and_word() {
        let mut vgic = Vgic::new();
        // IPRIORITYR for INTID 33: byte at 0x421.
        emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, distributor(0x421, 1, Some(0xA5))).unwrap();
        let word = emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, distributor(0x420, 4, None)).unwrap();
        assert_eq!(word.value, 0xA0 << 8, "masked to the implemented bits; 32, 35 read as zero");
        let foreign =
            emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, distributor(0x424, 4, Some(0x8080_8080))).unwrap();
        assert!(foreign.ignored(), "36..39 are not owned");
        let read = emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, distributor(0x424, 4, None)).unwrap();
        assert_eq!((read.value, read.ignored()), (0, true), "a read of others' priorities reads zero and is reported");
        assert!(
            !emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, distributor(0x420, 4, None)).unwrap().ignored(),
            "owns 33 and 34"
        );
    }

    #[test]
    fn the_virtual_timer_is_configured_in_the_redistributor() {
        let mut vgic = Vgic::new();
        let sgi = |offset, write| Access { frame: Frame::RedistributorSgi, offset, size: 4, write };
        let enable = emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, sgi(0x100, Some(1 << 27))).unwrap();
        assert_eq!(effects(&enable), [], "the virtual timer's physical PPI stays the kernel's");
        assert!(vgic.is_enabled(0));
        // Setting it pending queues a purely virtual interrupt.
        let pend = emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, sgi(0x200, Some(1 << 27))).unwrap();
        assert_eq!(effects(&pend), [Effect::Refill]);
        assert!(vgic.is_queued(0) && !vgic.irqs[0].hardware);
        // Another PPI (the console UART's 16) is not the partition's.
        assert!(emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, sgi(0x100, Some(1 << 16))).unwrap().ignored());
        // The distributor's copies of SGI/PPI registers are reserved.
        assert_eq!(
            effects(&emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, distributor(0x100, 4, Some(1 << 27))).unwrap()),
            []
        );
    }

    #[test]
    fn refuses_unaligned_and_odd_sizes() {
        let mut vgic = Vgic::new();
        assert_eq!(
            emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, distributor(0x102, 4, None)).unwrap_err(),
            Refusal::Unaligned
        );
        assert_eq!(
            emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, distributor(0x104, 2, None)).unwrap_err(),
            Refusal::BadSize
        );
        assert_eq!(
            emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, distributor(0x104, 8, None)).unwrap_err(),
            Refusal::BadSize
        );
    }

    #[test]
    fn routing_only_to_the_own_core() {
        let mut vgic = Vgic::new();
        let router = |intid: u32, write| distributor(0x6000 + intid * 8, 4, write);
        assert!(!emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, router(33, Some(0))).unwrap().ignored());
        assert!(
            emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, router(33, Some(1))).unwrap().ignored(),
            "another core"
        );
        assert!(emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, router(37, Some(0))).unwrap().ignored(), "not owned");
    }

    #[test]
    fn typer_affinity_packs_aff3() {
        assert_eq!(typer_affinity(0x0000_0012_0003_0405), 0x1203_0405);
    }

    #[test]
    fn redistributor_identity_and_wake() {
        let mut vgic = Vgic::new();
        let rd = |offset, write| Access { frame: Frame::Redistributor, offset, size: 4, write };
        assert_eq!(
            emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, rd(0x8, None)).unwrap().value & (1 << 4),
            1 << 4,
            "Last"
        );
        assert_eq!(
            emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, rd(0x14, None)).unwrap().value,
            0b110,
            "asleep at reset"
        );
        emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, rd(0x14, Some(0))).unwrap();
        assert_eq!(emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, rd(0x14, None)).unwrap().value, 0, "awake");
        let other = Access { frame: Frame::OtherRedistributor, offset: 0x14, size: 4, write: Some(0) };
        assert!(emulate(&mut vgic, &OWNED, &spis(&OWNED), &FACTS, other).unwrap().ignored());
    }

    fn owned_range() -> Vec<u16> {
        (96..106).collect()
    }

    #[test]
    fn refill_delivers_most_urgent_first_and_evicts_less_urgent_pending() {
        let owned = owned_range();
        let mut vgic = Vgic::new();
        vgic.enabled = (1 << owned.len()) - 1;
        for index in 0..owned.len() {
            vgic.irqs[index].group1 = true;
            vgic.set_priority(index, 0xF8 - (index as u8) * 8); // 105 is the most urgent
        }
        let mut lrs = [ListRegister(0); LIST_REGISTERS];
        // Interrupts arrive in id order, least urgent first.
        for intid in owned.clone() {
            vgic.queue(&owned, intid, true);
            vgic.refill(&owned, &mut lrs);
        }
        let mut listed: Vec<u16> = lrs.iter().map(|lr| lr.intid()).collect();
        listed.sort();
        assert_eq!(listed, [102, 103, 104, 105], "the four most urgent are listed");
        assert!(lrs.iter().all(|lr| lr.hardware() && lr.state() == LrState::Pending));
        let queued: Vec<u16> =
            owned.iter().enumerate().filter(|(index, _)| vgic.is_queued(*index)).map(|(_, id)| *id).collect();
        assert_eq!(queued, [96, 97, 98, 99, 100, 101], "the rest wait, none lost");
    }

    #[test]
    fn disabled_interrupts_wait_until_enabled() {
        let owned = owned_range();
        let mut vgic = Vgic::new();
        let mut lrs = [ListRegister(0); LIST_REGISTERS];
        vgic.queue(&owned, 96, true);
        assert_eq!(vgic.refill(&owned, &mut lrs), 0);
        vgic.enabled |= 1;
        assert_eq!(vgic.refill(&owned, &mut lrs), 1);
        assert_eq!(lrs[0].intid(), 96);
    }

    /// A physical interrupt for slot `index` arrives while the partition's
    /// interface is loaded: what `Kernel::deliver` does, against `lrs`.
    fn arrive(vgic: &mut Vgic, owned: &[u16], index: usize, lrs: &mut [ListRegister; LIST_REGISTERS]) {
        vgic.queue_slot(index, true);
        let empty =
            lrs.iter().enumerate().filter(|(_, lr)| lr.state() == LrState::Invalid).fold(0, |m, (n, _)| m | 1 << n);
        let snapshot = *lrs;
        match vgic.list_directly(index, owned[index], empty, |n| snapshot[n].intid()) {
            Some((n, lr)) => lrs[n] = lr,
            None => {
                vgic.refill(owned, lrs);
            }
        }
    }

    #[test]
    fn the_fast_path_lists_a_lone_enabled_interrupt_into_the_first_empty_register() {
        let mut vgic = Vgic::new();
        vgic.enabled = 0b11;
        vgic.irqs[1] = VirtualIrq { hardware: false, priority: 0, group1: true, edge: false };
        vgic.set_priority(1, 0x40);
        vgic.queue_slot(1, true);
        let (register, lr) = vgic.list_directly(1, 97, 0b1100, |_| 96).expect("fast path");
        assert_eq!(register, 2, "first empty list register");
        assert_eq!(lr, ListRegister::pending(97, 0x40, true, true));
        assert!(!vgic.is_queued(1) && !vgic.irqs[1].hardware, "handed over exactly once");
    }

    #[test]
    fn the_fast_path_declines_whenever_a_choice_is_needed() {
        let owned = owned_range();
        let fresh = |enabled: u32| {
            let mut vgic = Vgic::new();
            vgic.enabled = enabled;
            vgic.queue_slot(0, true);
            vgic
        };
        // Disabled: it waits for its enable.
        assert!(fresh(0).list_directly(0, owned[0], 0b1111, |_| 0).is_none());
        // Another interrupt waiting: priority order is refill's to decide.
        let mut two = fresh(0b11);
        two.queue_slot(1, true);
        assert!(two.list_directly(0, owned[0], 0b1111, |_| 0).is_none());
        // No empty list register.
        assert!(fresh(1).list_directly(0, owned[0], 0b10000, |_| 0).is_none());
        // Already listed (a PPI pended by the guest, now also physically).
        assert!(fresh(1).list_directly(0, owned[0], 0b1110, |_| owned[0]).is_none());
        // Each declined case left it queued.
        let mut declined = fresh(0);
        let _ = declined.list_directly(0, owned[0], 0b1111, |_| 0);
        assert!(declined.is_queued(0) && declined.irqs[0].hardware);
        // An out-of-range slot is refused, not a panic.
        assert!(fresh(1).list_directly(40, 1, 0b1111, |_| 0).is_none());
    }

    #[test]
    fn list_register_words_round_trip() {
        let lr = ListRegister::pending(34, 0xA0, true, true);
        assert_eq!(ListRegister::from_words(lr.low(), lr.high()), lr);
        assert_eq!((lr.intid(), lr.priority(), lr.state()), (34, 0xA0, LrState::Pending));
        assert_eq!(lr.high() >> 29 & 1, 1, "HW");
        assert_eq!(lr.high() & 0x1FFF, 34, "pINTID");
    }

    use proptest::prelude::*;

    /// The first refill: pick the single most urgent candidate, place it,
    /// repeat. Quadratic, but obviously right: the reference for
    /// [`Vgic::refill`]. An interrupt listed when the refill starts waits
    /// for the next one, even if it is evicted meanwhile.
    fn reference_refill(vgic: &mut Vgic, owned: &[u16], lrs: &mut [ListRegister; LIST_REGISTERS]) -> u32 {
        let mut written = 0;
        let mut skip = 0u32;
        for lr in lrs.iter().filter(|lr| lr.state() != LrState::Invalid) {
            if let Some(index) = owned.iter().position(|id| *id == lr.intid()) {
                skip |= 1 << index;
            }
        }
        loop {
            let candidates = vgic.queued & vgic.enabled & !skip;
            let Some(index) = SetBits(candidates)
                .map(usize::from)
                .filter(|i| *i < owned.len())
                .min_by_key(|i| (vgic.irqs[*i].priority, owned[*i]))
            else {
                break;
            };
            let (intid, irq) = (owned[index], vgic.irqs[index]);
            if lrs.iter().any(|lr| lr.state() != LrState::Invalid && lr.intid() == intid) {
                skip |= 1 << index;
                continue;
            }
            let target = lrs.iter().position(|lr| lr.state() == LrState::Invalid).or_else(|| {
                lrs.iter()
                    .enumerate()
                    .filter(|(_, lr)| lr.state() == LrState::Pending && lr.priority() > irq.priority)
                    .max_by_key(|(_, lr)| lr.priority())
                    .map(|(n, _)| n)
            });
            let Some(target) = target else { break };
            if lrs[target].state() == LrState::Pending {
                let evicted = lrs[target];
                vgic.queue(owned, evicted.intid(), evicted.hardware());
            }
            lrs[target] = ListRegister::pending(intid, irq.priority, irq.group1, irq.hardware);
            vgic.irqs[index].hardware = false;
            vgic.queued &= !(1 << index);
            written |= 1 << target;
        }
        written
    }

    proptest! {
        /// The priority levels stay true through any sequence of priority
        /// writes through the distributor: the most urgent candidates are
        /// exactly what sorting them by (priority, id) gives.
        #[test]
        fn priority_levels_pick_what_sorting_picks(
            writes in proptest::collection::vec((0u32..8, proptest::prelude::any::<u32>()), 1..40),
            queued in proptest::prelude::any::<u32>(),
            enabled in proptest::prelude::any::<u32>(),
            skip in proptest::prelude::any::<u32>(),
        ) {
            // 32 SPIs, 32..63: IPRIORITYR8..15 cover them.
            let owned: Vec<u16> = (32..64).collect();
            let mut vgic = Vgic::new();
            for (register, value) in writes {
                let access = distributor(0x420 + register * 4, 4, Some(value));
                emulate(&mut vgic, &owned, &spis(&owned), &FACTS, access).unwrap();
            }
            vgic.queued = queued;
            vgic.enabled = enabled;
            let mut expected: Vec<(u8, u16, u8)> = (0..32u8)
                .filter(|slot| queued & enabled & !skip & (1 << slot) != 0)
                .map(|slot| (vgic.irqs[slot as usize].priority, owned[slot as usize], slot))
                .collect();
            expected.sort();
            expected.truncate(LIST_REGISTERS);
            let (chosen, count) = vgic.most_urgent_queued(skip);
            prop_assert_eq!(&chosen[..count], &expected.iter().map(|e| e.2).collect::<Vec<_>>()[..]);
        }
    }

    proptest! {
        /// The one-pass refill leaves the list registers, the queue and the
        /// written mask exactly as the one-at-a-time reference does, from any
        /// list register contents and any queue.
        #[test]
        fn refill_matches_the_one_at_a_time_reference(
            count in 1usize..=MAX_OWNED,
            priorities in proptest::collection::vec(0u8..32, MAX_OWNED),
            queued in proptest::prelude::any::<u32>(),
            enabled in proptest::prelude::any::<u32>(),
            listed in proptest::collection::vec((0usize..MAX_OWNED, 0u64..4, 0u8..32), LIST_REGISTERS),
        ) {
            let owned: Vec<u16> = (0..count as u16).map(|n| 32 + n * 3).collect();
            let all = if count == 32 { u32::MAX } else { (1 << count) - 1 };
            let mut vgic = Vgic::new();
            vgic.queued = queued & all;
            vgic.enabled = enabled & all;
            for (index, priority) in priorities.iter().enumerate() {
                vgic.set_priority(index, priority * 8);
                vgic.irqs[index].group1 = true;
                vgic.irqs[index].hardware = priority % 2 == 0;
            }
            let mut lrs = [ListRegister(0); LIST_REGISTERS];
            for (lr, (index, state, priority)) in lrs.iter_mut().zip(&listed) {
                if *state != 0 {
                    let intid = owned[index % count];
                    *lr = ListRegister(ListRegister::pending(intid, priority * 8, true, false).0 & !(3 << 62) | state << 62);
                }
            }
            let (mut reference, mut reference_lrs) = (vgic, lrs);
            let written = vgic.refill(&owned, &mut lrs);
            let expected = reference_refill(&mut reference, &owned, &mut reference_lrs);
            // Which register holds which interrupt carries no meaning (the
            // guest's CPU interface orders them by priority): the same
            // contents, and as many registers written.
            let sorted = |mut lrs: [ListRegister; LIST_REGISTERS]| {
                lrs.sort_by_key(|lr| lr.0);
                lrs
            };
            prop_assert_eq!(sorted(lrs), sorted(reference_lrs));
            prop_assert_eq!(written.count_ones(), expected.count_ones());
            prop_assert_eq!(vgic.queued, reference.queued);
        }
    }

    proptest! {
        /// Whatever order interrupts arrive in and however the guest acknowledges
        /// them, every queued interrupt is delivered exactly once, and each
        /// delivery is the most urgent of those not yet delivered.
        #[test]
        fn every_interrupt_is_delivered_once_in_priority_order(
            priorities in proptest::collection::vec(0u8..32, 10),
            order in Just((0usize..10).collect::<Vec<_>>()).prop_shuffle(),
        ) {
            let owned = owned_range();
            let mut vgic = Vgic::new();
            vgic.enabled = (1 << owned.len()) - 1;
            for (index, priority) in priorities.iter().enumerate() {
                vgic.irqs[index].group1 = true;
                vgic.set_priority(index, priority * 8);
            }
            let mut lrs = [ListRegister(0); LIST_REGISTERS];
            // All arrive while the guest is masked, each delivered as the
            // kernel does: the fast path when it applies, else a refill.
            for index in order {
                arrive(&mut vgic, &owned, index, &mut lrs);
            }
            // The guest takes the most urgent pending list register, handles
            // it, and ends it (the list register becomes free); the kernel
            // refills on the maintenance interrupt.
            let mut delivered: Vec<(u8, u16)> = Vec::new();
            while let Some(next) = lrs
                .iter()
                .enumerate()
                .filter(|(_, lr)| lr.state() == LrState::Pending)
                .min_by_key(|(_, lr)| (lr.priority(), lr.intid()))
                .map(|(i, _)| i)
            {
                delivered.push((lrs[next].priority(), lrs[next].intid()));
                lrs[next] = ListRegister(0);
                vgic.refill(&owned, &mut lrs);
            }
            let mut expected: Vec<(u8, u16)> = owned.iter().zip(&priorities).map(|(id, p)| (p * 8, *id)).collect();
            expected.sort();
            // In priority order; among equal priorities the GIC promises no
            // order (an interrupt still queued may wait behind a listed one
            // of the same priority), so only the priorities' order is
            // checked, and that each is delivered once.
            let order: Vec<u8> = delivered.iter().map(|(priority, _)| *priority).collect();
            let expected_order: Vec<u8> = expected.iter().map(|(priority, _)| *priority).collect();
            prop_assert_eq!(order, expected_order);
            delivered.sort();
            prop_assert_eq!(delivered, expected);
        }
    }
}
