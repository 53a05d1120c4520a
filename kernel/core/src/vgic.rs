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
}

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
        }
    }

    /// The index of `intid` in `owned`, if the partition owns it.
    pub fn slot(owned: &[u16], intid: u16) -> Option<usize> {
        owned.binary_search(&intid).ok().filter(|index| *index < MAX_OWNED)
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
        Some((register, value))
    }

    /// Whether owned interrupt `index` is enabled.
    pub fn is_enabled(&self, index: usize) -> bool {
        self.enabled & (1 << index) != 0
    }

    /// Whether owned interrupt `index` waits for a list register.
    pub fn is_queued(&self, index: usize) -> bool {
        self.queued & (1 << index) != 0
    }

    /// The most urgent queued, enabled interrupt (lowest priority value, then
    /// lowest id) whose index is not in `skip`, if any.
    pub fn most_urgent_queued(&self, owned: &[u16], skip: u32) -> Option<(usize, u16)> {
        let mut candidates = self.queued & self.enabled & !skip;
        let mut best: Option<(u8, u16, usize)> = None;
        while candidates != 0 {
            let index = candidates.trailing_zeros() as usize;
            candidates &= candidates - 1;
            let (Some(intid), Some(irq)) = (owned.get(index), self.irqs.get(index)) else { continue };
            if best.is_none_or(|(priority, id, _)| (irq.priority, *intid) < (priority, id)) {
                best = Some((irq.priority, *intid, index));
            }
        }
        best.map(|(_, intid, index)| (index, intid))
    }

    /// Whether any enabled interrupt is waiting for a list register.
    pub fn has_queued(&self) -> bool {
        self.queued & self.enabled != 0
    }

    /// Moves queued interrupts into `lrs`, most urgent first: into free
    /// registers, then in place of a less urgent one that is only pending
    /// (which goes back to the queue). Returns the registers to write back.
    pub fn refill(&mut self, owned: &[u16], lrs: &mut [ListRegister; LIST_REGISTERS]) -> u32 {
        const ALL: u32 = (1 << LIST_REGISTERS) - 1;
        let mut written = 0;
        let mut skip = 0u32;
        // Which list registers hold something, kept up to date below rather
        // than rescanned for every candidate.
        let mut valid = 0u32;
        for (n, lr) in lrs.iter().enumerate() {
            if lr.state() != LrState::Invalid {
                valid |= 1 << n;
            }
        }
        while let Some((index, intid)) = self.most_urgent_queued(owned, skip) {
            let Some(irq) = self.irqs.get(index).copied() else { break };
            // An interrupt already listed (an edge while active) waits for its
            // list register to be free.
            if SetBits(valid).any(|n| lrs.get(n as usize).is_some_and(|lr| lr.intid() == intid)) {
                skip |= 1 << index;
                continue;
            }
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
            if let Some(evicted) = lrs.get(target).copied().filter(|lr| lr.state() == LrState::Pending) {
                self.queue(owned, evicted.intid(), evicted.hardware());
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
/// ids, including [`VIRTUAL_TIMER`]).
pub fn emulate(vgic: &mut Vgic, owned: &[u16], facts: &GicFacts, access: Access) -> Result<Outcome, Refusal> {
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
            _ => interrupt_registers(vgic, owned, access, outcome, FIRST_SPI),
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
                if first { interrupt_registers(vgic, owned, access, outcome, 0) } else { Ok(outcome) }
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
            let Some(irq) = vgic.irqs.get_mut(index) else { continue };
            match access.write {
                Some(value) => irq.priority = (value >> shift) as u8 & PRIORITY_MASK,
                None => outcome.value |= (irq.priority as u32) << shift,
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
    let mut owned_bits = 0u32;
    let mut refill = false;
    match (register, access.write) {
        // A read, or an IGROUPR write, walks the owned interrupts of the word.
        (BitRegister::Group, _) | (_, None) => {
            for (index, intid) in owned_among(owned, first, base, 32) {
                owned_bits |= 1 << (intid - base);
                refill |= bit_register(vgic, &mut outcome, register, access.write, index, intid, base);
            }
        }
        // A write to a set/clear register acts on the bits it sets, each
        // found by one binary search (a guest typically writes one bit).
        (_, Some(value)) => {
            for bit in SetBits(value) {
                let intid = base + bit;
                if let Some(index) = Vgic::slot(owned, intid).filter(|_| intid >= first) {
                    owned_bits |= 1 << bit;
                    refill |= bit_register(vgic, &mut outcome, register, access.write, index, intid, base);
                }
            }
        }
    }
    outcome.effects.set_refill(refill);
    outcome.set_ignored(ignored(access.write, owned_bits));
    Ok(outcome)
}

/// One owned interrupt's bit of a one-bit-per-interrupt register: `intid`,
/// in slot `index`, in the word whose bit 0 is `base`. Returns whether queued
/// interrupts may now be deliverable.
fn bit_register(
    vgic: &mut Vgic,
    outcome: &mut Outcome,
    register: BitRegister,
    write: Option<u32>,
    index: usize,
    intid: u16,
    base: u16,
) -> bool {
    let mask = 1u32 << (intid - base);
    let own = 1u32 << index;
    let physical = intid >= FIRST_SPI;
    let (enabled, queued) = (vgic.enabled & own != 0, vgic.queued & own != 0);
    let Some(irq) = vgic.irqs.get_mut(index) else { return false };
    match (register, write) {
        (BitRegister::Group, None) => outcome.value |= if irq.group1 { mask } else { 0 },
        (BitRegister::Group, Some(value)) => irq.group1 = value & mask != 0,
        (BitRegister::SetEnable | BitRegister::ClearEnable, None) => outcome.value |= if enabled { mask } else { 0 },
        (BitRegister::SetEnable, Some(_)) if !enabled => {
            vgic.enabled |= own;
            if physical {
                outcome.effects.add(Action::Enable, intid);
            }
            return queued;
        }
        (BitRegister::ClearEnable, Some(_)) if enabled => {
            vgic.enabled &= !own;
            if physical {
                outcome.effects.add(Action::Disable, intid);
            }
        }
        (BitRegister::SetPending | BitRegister::ClearPending, None) => outcome.value |= if queued { mask } else { 0 },
        (BitRegister::SetPending, Some(_)) if physical => outcome.effects.add(Action::SetPending, intid),
        (BitRegister::SetPending, Some(_)) if !queued => {
            vgic.queued |= own;
            return true;
        }
        (BitRegister::ClearPending, Some(_)) => {
            vgic.queued &= !own;
            outcome.effects.add(Action::ClearPending, intid);
        }
        (BitRegister::ClearActive, Some(_)) => {
            outcome.effects.add(Action::Deactivate, intid);
        }
        // Active state lives in the list registers and the physical GIC;
        // setting it by hand is not supported and reads report none.
        _ => {}
    }
    false
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

    fn distributor(offset: u32, size: u8, write: Option<u32>) -> Access {
        Access { frame: Frame::Distributor, offset, size, write }
    }

    fn effects(outcome: &Outcome) -> Vec<Effect> {
        outcome.effects.iter().collect()
    }

    #[test]
    fn enabling_touches_only_owned_interrupts() {
        let mut vgic = Vgic::new();
        // ISENABLER1 covers INTIDs 32..63: bit 1 = 33 (owned), bit 2 = 34 (owned), bit 5 = 37 (not).
        let outcome = emulate(&mut vgic, &OWNED, &FACTS, distributor(0x104, 4, Some(0b10_0110))).unwrap();
        assert_eq!(effects(&outcome), [Effect::Enable(33), Effect::Enable(34)]);
        assert!(outcome.ignored(), "bit for 37 is not the partition's");
        let read = emulate(&mut vgic, &OWNED, &FACTS, distributor(0x104, 4, None)).unwrap();
        assert_eq!(read.value, 0b110, "37 reads as zero");
        let disable = emulate(&mut vgic, &OWNED, &FACTS, distributor(0x184, 4, Some(u32::MAX))).unwrap();
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
                if let Ok(outcome) = emulate(&mut vgic, &owned, &FACTS, access) {
                    proptest::prop_assert_eq!(expand(&outcome.effects.plan()), effects(&outcome));
                }
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
        let clear = emulate(&mut vgic, &owned, &FACTS, distributor(0x288, 4, Some(u32::MAX))).unwrap();
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
        let unpend = emulate(&mut vgic, &OWNED, &FACTS, sgi_frame(0x280, Some(1 << 27))).unwrap();
        assert_eq!(effects(&unpend), [Effect::Unlist(27)], "no physical pending state to clear for a PPI");
        let deactivate = emulate(&mut vgic, &OWNED, &FACTS, sgi_frame(0x380, Some(1 << 27))).unwrap();
        assert_eq!(effects(&deactivate), [Effect::Unlist(27), Effect::Deactivate(27)]);
        // ICACTIVER1 for SPIs 33 and 34.
        let spis = emulate(&mut vgic, &OWNED, &FACTS, distributor(0x384, 4, Some(0b110))).unwrap();
        assert_eq!(
            effects(&spis),
            [Effect::Unlist(33), Effect::Unlist(34), Effect::Deactivate(33), Effect::Deactivate(34)]
        );
        // ICFGR2 (SPIs 32..47): 33 to edge, 34 stays level (already).
        let trigger = emulate(&mut vgic, &OWNED, &FACTS, distributor(0xC08, 4, Some(0b10 << 2))).unwrap();
        assert_eq!(effects(&trigger), [Effect::Trigger(33, true)]);
        let back = emulate(&mut vgic, &OWNED, &FACTS, distributor(0xC08, 4, Some(0))).unwrap();
        assert_eq!(effects(&back), [Effect::Trigger(33, false)]);
    }

    #[test]
    fn priorities_byte_and_word() {
        let mut vgic = Vgic::new();
        // IPRIORITYR for INTID 33: byte at 0x421.
        emulate(&mut vgic, &OWNED, &FACTS, distributor(0x421, 1, Some(0xA5))).unwrap();
        let word = emulate(&mut vgic, &OWNED, &FACTS, distributor(0x420, 4, None)).unwrap();
        assert_eq!(word.value, 0xA0 << 8, "masked to the implemented bits; 32, 35 read as zero");
        let foreign = emulate(&mut vgic, &OWNED, &FACTS, distributor(0x424, 4, Some(0x8080_8080))).unwrap();
        assert!(foreign.ignored(), "36..39 are not owned");
        let read = emulate(&mut vgic, &OWNED, &FACTS, distributor(0x424, 4, None)).unwrap();
        assert_eq!((read.value, read.ignored()), (0, true), "a read of others' priorities reads zero and is reported");
        assert!(!emulate(&mut vgic, &OWNED, &FACTS, distributor(0x420, 4, None)).unwrap().ignored(), "owns 33 and 34");
    }

    #[test]
    fn the_virtual_timer_is_configured_in_the_redistributor() {
        let mut vgic = Vgic::new();
        let sgi = |offset, write| Access { frame: Frame::RedistributorSgi, offset, size: 4, write };
        let enable = emulate(&mut vgic, &OWNED, &FACTS, sgi(0x100, Some(1 << 27))).unwrap();
        assert_eq!(effects(&enable), [], "the virtual timer's physical PPI stays the kernel's");
        assert!(vgic.is_enabled(0));
        // Setting it pending queues a purely virtual interrupt.
        let pend = emulate(&mut vgic, &OWNED, &FACTS, sgi(0x200, Some(1 << 27))).unwrap();
        assert_eq!(effects(&pend), [Effect::Refill]);
        assert!(vgic.is_queued(0) && !vgic.irqs[0].hardware);
        // Another PPI (the console UART's 16) is not the partition's.
        assert!(emulate(&mut vgic, &OWNED, &FACTS, sgi(0x100, Some(1 << 16))).unwrap().ignored());
        // The distributor's copies of SGI/PPI registers are reserved.
        assert_eq!(effects(&emulate(&mut vgic, &OWNED, &FACTS, distributor(0x100, 4, Some(1 << 27))).unwrap()), []);
    }

    #[test]
    fn refuses_unaligned_and_odd_sizes() {
        let mut vgic = Vgic::new();
        assert_eq!(emulate(&mut vgic, &OWNED, &FACTS, distributor(0x102, 4, None)).unwrap_err(), Refusal::Unaligned);
        assert_eq!(emulate(&mut vgic, &OWNED, &FACTS, distributor(0x104, 2, None)).unwrap_err(), Refusal::BadSize);
        assert_eq!(emulate(&mut vgic, &OWNED, &FACTS, distributor(0x104, 8, None)).unwrap_err(), Refusal::BadSize);
    }

    #[test]
    fn routing_only_to_the_own_core() {
        let mut vgic = Vgic::new();
        let router = |intid: u32, write| distributor(0x6000 + intid * 8, 4, write);
        assert!(!emulate(&mut vgic, &OWNED, &FACTS, router(33, Some(0))).unwrap().ignored());
        assert!(emulate(&mut vgic, &OWNED, &FACTS, router(33, Some(1))).unwrap().ignored(), "another core");
        assert!(emulate(&mut vgic, &OWNED, &FACTS, router(37, Some(0))).unwrap().ignored(), "not owned");
    }

    #[test]
    fn typer_affinity_packs_aff3() {
        assert_eq!(typer_affinity(0x0000_0012_0003_0405), 0x1203_0405);
    }

    #[test]
    fn redistributor_identity_and_wake() {
        let mut vgic = Vgic::new();
        let rd = |offset, write| Access { frame: Frame::Redistributor, offset, size: 4, write };
        assert_eq!(emulate(&mut vgic, &OWNED, &FACTS, rd(0x8, None)).unwrap().value & (1 << 4), 1 << 4, "Last");
        assert_eq!(emulate(&mut vgic, &OWNED, &FACTS, rd(0x14, None)).unwrap().value, 0b110, "asleep at reset");
        emulate(&mut vgic, &OWNED, &FACTS, rd(0x14, Some(0))).unwrap();
        assert_eq!(emulate(&mut vgic, &OWNED, &FACTS, rd(0x14, None)).unwrap().value, 0, "awake");
        let other = Access { frame: Frame::OtherRedistributor, offset: 0x14, size: 4, write: Some(0) };
        assert!(emulate(&mut vgic, &OWNED, &FACTS, other).unwrap().ignored());
    }

    fn owned_range() -> Vec<u16> {
        (96..106).collect()
    }

    #[test]
    fn refill_delivers_most_urgent_first_and_evicts_less_urgent_pending() {
        let owned = owned_range();
        let mut vgic = Vgic::new();
        vgic.enabled = (1 << owned.len()) - 1;
        for (index, irq) in vgic.irqs.iter_mut().take(owned.len()).enumerate() {
            irq.group1 = true;
            irq.priority = 0xF8 - (index as u8) * 8; // 105 is the most urgent
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
        vgic.irqs[1] = VirtualIrq { hardware: false, priority: 0x40, group1: true, edge: false };
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
            for (irq, priority) in vgic.irqs.iter_mut().zip(&priorities) {
                irq.group1 = true;
                irq.priority = priority * 8;
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
            prop_assert_eq!(delivered, expected);
        }
    }
}
