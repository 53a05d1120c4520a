//! Split virtqueues, device side, against a driver that may be hostile.
//!
//! The layout is the VIRTIO split ring as legacy drivers (Linux's
//! remoteproc, OpenAMP) lay it out in one block with an alignment:
//!
//! ```text
//! desc    +0                       num x { le64 addr; le32 len; le16 flags; le16 next }
//! avail   +16*num                  le16 flags; le16 idx; le16 ring[num]; le16 used_event
//! used    align_up(avail + 6 + 2*num, align)
//!                                  le16 flags; le16 idx; { le32 id; le32 len } ring[num]; le16 avail_event
//! ```
//!
//! What the driver writes (the descriptor table, the available ring) is read
//! once per field and checked before use: the available index may not run
//! more than `num` ahead, heads and `next` links must be below `num`, a chain
//! may not be longer than [`MAX_CHAIN`] (which also ends any loop), indirect
//! descriptors are refused (the feature is never offered), device-readable
//! descriptors must come before device-writable ones, and every buffer must
//! lie inside the shared window. What the device writes (the used ring) is
//! kept in the device's own state and never read back, so the driver cannot
//! steer it. `VIRTIO_RING_F_EVENT_IDX` is not offered: the device notifies
//! unless the driver sets `VRING_AVAIL_F_NO_INTERRUPT`.
//!
//! This module never decides what a buffer means; see [`crate::rpmsg`].

use crate::window::Window;

/// Size of one descriptor.
pub const DESCRIPTOR_SIZE: u32 = 16;
/// Descriptor flag: the chain continues at `next`.
pub const DESC_F_NEXT: u16 = 1;
/// Descriptor flag: the device writes this buffer.
pub const DESC_F_WRITE: u16 = 2;
/// Descriptor flag: the buffer holds a table of descriptors.
pub const DESC_F_INDIRECT: u16 = 4;
/// Available-ring flag: the driver does not want an interrupt on used buffers.
pub const AVAIL_F_NO_INTERRUPT: u16 = 1;
/// The most descriptors the device accepts in one chain.
pub const MAX_CHAIN: usize = 4;
/// The largest ring (a power of two, as legacy VIRTIO requires).
pub const MAX_NUM: u16 = 32768;

/// Where one split virtqueue lies: offsets of its three parts in the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vring {
    /// Descriptor table.
    pub desc: u32,
    /// Available ring.
    pub avail: u32,
    /// Used ring.
    pub used: u32,
    /// Entries (a power of two).
    pub num: u16,
}

impl Vring {
    /// Bytes a ring of `num` entries with `align` needs (Linux's
    /// `vring_size`), or `None` if `num` is not a power of two up to
    /// [`MAX_NUM`] or `align` not a power of two.
    pub const fn size(num: u16, align: u32) -> Option<u32> {
        if !num.is_power_of_two() || num > MAX_NUM || !align.is_power_of_two() {
            return None;
        }
        let num = num as u32;
        let avail_end = DESCRIPTOR_SIZE * num + 2 * (3 + num);
        let used = (avail_end + align - 1) & !(align - 1);
        Some(used + 2 * 3 + 8 * num)
    }

    /// The ring of `num` entries with `align` at window offset `offset`, if
    /// it fits in a window of `window_size` bytes and `offset` is aligned.
    pub const fn at(offset: u32, num: u16, align: u32, window_size: u32) -> Option<Vring> {
        let Some(size) = Vring::size(num, align) else { return None };
        if offset & (align - 1) != 0 || offset > window_size || window_size - offset < size {
            return None;
        }
        let avail = offset + DESCRIPTOR_SIZE * num as u32;
        let used_unaligned = avail + 2 * (3 + num as u32);
        let used = (used_unaligned + align - 1) & !(align - 1);
        Some(Vring { desc: offset, avail, used, num })
    }

    /// One past the ring's last byte.
    pub const fn end(&self) -> u32 {
        self.used + 2 * 3 + 8 * self.num as u32
    }

    fn avail_flags(&self) -> u32 {
        self.avail
    }
    fn avail_idx(&self) -> u32 {
        self.avail + 2
    }
    fn avail_ring(&self, slot: u16) -> u32 {
        self.avail + 4 + 2 * (slot % self.num) as u32
    }
    fn used_idx(&self) -> u32 {
        self.used + 2
    }
    fn used_ring(&self, slot: u16) -> u32 {
        self.used + 4 + 8 * (slot % self.num) as u32
    }
    fn descriptor(&self, index: u16) -> u32 {
        self.desc + DESCRIPTOR_SIZE * index as u32
    }
}

/// How the driver's bus addresses map onto the window, and where in it
/// the driver's buffers may lie: the buffer area `start..size`, apart from
/// up to three holes (the resource table and the rings, where they fall
/// inside it). A buffer anywhere else is refused, so the device never
/// writes a message over its own table or rings, nor reads one from them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddressMap {
    /// The driver's address of the window's first byte.
    pub remote_base: u64,
    /// Window size.
    pub size: u32,
    /// The buffer area's first byte (window offset).
    pub start: u32,
    /// The driver's address of the buffer area's first byte.
    area_base: u64,
    holes: [(u32, u32); 3],
    hole_count: usize,
}

impl AddressMap {
    /// The whole window as the buffer area (for tools and tests).
    pub const fn whole_window(remote_base: u64, size: u32) -> AddressMap {
        AddressMap { remote_base, size, start: 0, area_base: remote_base, holes: [(0, 0); 3], hole_count: 0 }
    }

    /// The buffer area `start..size` of the window, without the byte
    /// ranges `excluded` (`start..end` each) that fall inside it.
    pub fn buffer_area(remote_base: u64, size: u32, start: u32, excluded: [(u32, u32); 3]) -> AddressMap {
        let start = start.min(size);
        let area_base = remote_base.wrapping_add(start as u64);
        let mut map = AddressMap { remote_base, size, start, area_base, holes: [(0, 0); 3], hole_count: 0 };
        for (from, to) in excluded {
            if from < to && from < size && start < to {
                map.holes[map.hole_count] = (from, to);
                map.hole_count += 1;
            }
        }
        map
    }

    /// The window offset of `len` bytes at driver address `address`, if they
    /// all lie inside the buffer area.
    pub fn offset(&self, address: u64, len: u32) -> Option<u32> {
        // Below the area wraps to far above it.
        let into = u32::try_from(address.wrapping_sub(self.area_base)).ok()?;
        let offset = into.checked_add(self.start)?;
        let end = offset.checked_add(len)?;
        if end > self.size {
            return None;
        }
        if self.hole_count != 0 {
            let holes = self.holes.get(..self.hole_count).unwrap_or(&[]);
            if holes.iter().any(|&(from, to)| offset < to && from < end) {
                return None;
            }
        }
        Some(offset)
    }

    /// Whether `len` bytes at `address` lie inside the window at all.
    pub fn in_window(&self, address: u64, len: u32) -> bool {
        address
            .checked_sub(self.remote_base)
            .and_then(|offset| offset.checked_add(len as u64))
            .is_some_and(|end| end <= self.size as u64)
    }
}

/// One buffer of a chain, checked: inside the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// Window offset.
    pub offset: u32,
    /// Bytes.
    pub len: u32,
    /// The device writes it (else reads it).
    pub writable: bool,
}

/// A descriptor chain taken from the available ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chain {
    /// Its head: what goes back in the used ring.
    pub head: u16,
    segments: [Segment; MAX_CHAIN],
    count: usize,
    /// Bytes of the device-readable and device-writable buffers, summed
    /// (saturating) as they are taken.
    readable: u32,
    writable: u32,
}

impl Chain {
    /// No chain (a place to pop into).
    pub const EMPTY: Chain = Chain {
        head: 0,
        segments: [Segment { offset: 0, len: 0, writable: false }; MAX_CHAIN],
        count: 0,
        readable: 0,
        writable: 0,
    };

    /// Its buffers, device-readable ones first.
    pub fn segments(&self) -> &[Segment] {
        self.segments.get(..self.count).unwrap_or(&[])
    }

    /// Total bytes of the device-readable buffers.
    pub fn readable_len(&self) -> u32 {
        self.readable
    }

    /// Total bytes of the device-writable buffers.
    pub fn writable_len(&self) -> u32 {
        self.writable
    }

    /// Total bytes of all its buffers: what a consumed chain goes back with
    /// in the used ring (see [`crate::device::RpmsgDevice::receive`]).
    pub fn len(&self) -> u32 {
        self.readable.saturating_add(self.writable)
    }

    /// Whether it has no buffers (only [`Chain::EMPTY`]).
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// Why a ring is unusable. Any of these puts the device in NEEDS_RESET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingError {
    /// The available index ran more than `num` ahead of the device.
    AvailIndexJump {
        /// What the driver published.
        avail: u16,
        /// Where the device is.
        seen: u16,
    },
    /// A head index not below `num`.
    HeadOutOfRange(u16),
    /// A `next` link not below `num`.
    NextOutOfRange(u16),
    /// A chain longer than [`MAX_CHAIN`] (or a loop).
    ChainTooLong(u16),
    /// An indirect descriptor (not negotiated).
    Indirect(u16),
    /// A device-readable descriptor after a device-writable one.
    ReadableAfterWritable(u16),
    /// A buffer that is not entirely inside the shared window.
    OutsideWindow {
        /// Descriptor index.
        index: u16,
        /// Its address.
        address: u64,
        /// Its length.
        len: u32,
    },
    /// A buffer inside the window but not entirely in its buffer area: over
    /// the resource table or a ring, or before the area.
    OutsideBufferArea {
        /// Descriptor index.
        index: u16,
        /// Its address.
        address: u64,
        /// Its length.
        len: u32,
    },
    /// The ring itself could not be read or written (it does not fit the
    /// window: a placement bug, or a driver-chosen address).
    RingOutsideWindow,
}

impl RingError {
    /// A short, stable reason for logs.
    pub fn reason(&self) -> &'static str {
        match self {
            RingError::AvailIndexJump { .. } => "avail-index-jump",
            RingError::HeadOutOfRange(_) => "head-out-of-range",
            RingError::NextOutOfRange(_) => "next-out-of-range",
            RingError::ChainTooLong(_) => "chain-too-long",
            RingError::Indirect(_) => "indirect-descriptor",
            RingError::ReadableAfterWritable(_) => "readable-after-writable",
            RingError::OutsideWindow { .. } => "buffer-outside-window",
            RingError::OutsideBufferArea { .. } => "buffer-outside-buffer-area",
            RingError::RingOutsideWindow => "ring-outside-window",
        }
    }
}

/// The device side of one split virtqueue.
#[derive(Clone, Copy, Debug)]
pub struct DeviceQueue {
    ring: Vring,
    map: AddressMap,
    /// The next available-ring slot the device will take.
    last_avail: u16,
    /// The next used-ring slot the device will fill.
    next_used: u16,
    /// Chains the available index showed beyond the one last taken.
    more: u16,
}

impl DeviceQueue {
    /// A queue over `ring`, from the start (both indexes 0, as after a
    /// driver's reset).
    pub const fn new(ring: Vring, map: AddressMap) -> DeviceQueue {
        DeviceQueue { ring, map, last_avail: 0, next_used: 0, more: 0 }
    }

    /// Where the ring is.
    pub fn ring(&self) -> Vring {
        self.ring
    }

    /// Picks the queue up where a previous life of the device left it: both
    /// indexes from the used index in the window. Buffers taken but not
    /// returned before are taken again (at least once, never lost). Refused
    /// if the used index is not within `num` behind the available index.
    pub fn resume(&mut self, window: &impl Window) -> Result<(), RingError> {
        let used = window.read_u16(self.ring.used_idx()).ok_or(RingError::RingOutsideWindow)?;
        let avail = window.read_u16(self.ring.avail_idx()).ok_or(RingError::RingOutsideWindow)?;
        if avail.wrapping_sub(used) > self.ring.num {
            return Err(RingError::AvailIndexJump { avail, seen: used });
        }
        self.last_avail = used;
        self.next_used = used;
        Ok(())
    }

    /// Takes the next available chain, if any, checking all of it.
    pub fn pop(&mut self, window: &impl Window) -> Result<Option<Chain>, RingError> {
        let mut chain = Chain::EMPTY;
        Ok(self.pop_into(window, &mut chain)?.then_some(chain))
    }

    /// [`DeviceQueue::pop`] into a chain the caller keeps (no copy on the
    /// hot path): whether one was taken. On `Ok(false)` or an error the
    /// chain's contents mean nothing.
    pub fn pop_into(&mut self, window: &impl Window, chain: &mut Chain) -> Result<bool, RingError> {
        let num = self.ring.num;
        let avail = window.read_u16(self.ring.avail_idx()).ok_or(RingError::RingOutsideWindow)?;
        let pending = avail.wrapping_sub(self.last_avail);
        if pending == 0 {
            return Ok(false);
        }
        if pending > num {
            return Err(RingError::AvailIndexJump { avail, seen: self.last_avail });
        }
        // The ring entry and descriptors were written before the index.
        window.barrier();
        let head = window.read_u16(self.ring.avail_ring(self.last_avail)).ok_or(RingError::RingOutsideWindow)?;
        if head >= num {
            return Err(RingError::HeadOutOfRange(head));
        }
        chain.head = head;
        chain.count = 0;
        chain.readable = 0;
        chain.writable = 0;
        let mut index = head;
        let mut seen_writable = false;
        loop {
            let at = self.ring.descriptor(index);
            let address = window.read_u64(at).ok_or(RingError::RingOutsideWindow)?;
            let len = window.read_u32(at + 8).ok_or(RingError::RingOutsideWindow)?;
            let flags = window.read_u16(at + 12).ok_or(RingError::RingOutsideWindow)?;
            let next = window.read_u16(at + 14).ok_or(RingError::RingOutsideWindow)?;
            if flags & DESC_F_INDIRECT != 0 {
                return Err(RingError::Indirect(index));
            }
            let writable = flags & DESC_F_WRITE != 0;
            if seen_writable && !writable {
                return Err(RingError::ReadableAfterWritable(index));
            }
            seen_writable |= writable;
            let Some(offset) = self.map.offset(address, len) else {
                return Err(if self.map.in_window(address, len) {
                    RingError::OutsideBufferArea { index, address, len }
                } else {
                    RingError::OutsideWindow { index, address, len }
                });
            };
            let slot = chain.segments.get_mut(chain.count).ok_or(RingError::ChainTooLong(head))?;
            *slot = Segment { offset, len, writable };
            chain.count += 1;
            if writable {
                chain.writable = chain.writable.saturating_add(len);
            } else {
                chain.readable = chain.readable.saturating_add(len);
            }
            if flags & DESC_F_NEXT == 0 {
                break;
            }
            if next >= num {
                return Err(RingError::NextOutOfRange(next));
            }
            index = next;
        }
        self.last_avail = self.last_avail.wrapping_add(1);
        self.more = pending - 1;
        Ok(true)
    }

    /// Returns chain `head` to the driver with used length `len`: the bytes
    /// written into a chain the device filled, the chain's whole length
    /// ([`Chain::len`]) for one it consumed.
    pub fn push(&mut self, window: &mut impl Window, head: u16, len: u32) -> Result<(), RingError> {
        let slot = self.ring.used_ring(self.next_used);
        window.write_u32(slot, head as u32).ok_or(RingError::RingOutsideWindow)?;
        window.write_u32(slot + 4, len).ok_or(RingError::RingOutsideWindow)?;
        // The entry before the index that publishes it.
        window.barrier();
        self.next_used = self.next_used.wrapping_add(1);
        window.write_u16(self.ring.used_idx(), self.next_used).ok_or(RingError::RingOutsideWindow)?;
        window.barrier();
        Ok(())
    }

    /// Whether the driver wants to hear about used buffers.
    pub fn driver_wants_interrupts(&self, window: &impl Window) -> bool {
        window.read_u16(self.ring.avail_flags()).is_none_or(|flags| flags & AVAIL_F_NO_INTERRUPT == 0)
    }

    /// Whether the driver has made a chain available that the device has not
    /// taken (reads only the available index).
    pub fn has_available(&self, window: &impl Window) -> bool {
        window.read_u16(self.ring.avail_idx()).is_some_and(|avail| avail != self.last_avail)
    }

    /// Whether the available index, when the last chain was taken, showed
    /// more after it (read nothing: a driver rings after it posts, so
    /// whatever came later brings the device back).
    pub fn more_available(&self) -> bool {
        self.more != 0
    }

    /// Chains taken and not yet returned.
    pub fn in_flight(&self) -> u16 {
        self.last_avail.wrapping_sub(self.next_used)
    }

    /// The next used-ring slot the device will fill (its used index).
    pub fn next_used(&self) -> u16 {
        self.next_used
    }

    /// Whether the used index in the window is the device's own, and not
    /// 0 (the hot path of [`crate::device::RpmsgDevice::poll`]; anything
    /// else is looked at more closely with [`DeviceQueue::reinitialised`]).
    pub fn keeps_used_index(&self, window: &impl Window) -> bool {
        self.next_used != 0 && window.read_u16(self.ring.used_idx()) == Some(self.next_used)
    }

    /// Whether the ring was re-initialised under the device: the used
    /// index, which only the device writes, reads 0 although the device's
    /// own is not 0. Every driver zeroes a ring before it uses it (Linux's
    /// `rp_find_vq`, OpenAMP's `rproc_virtio_create_virtqueue`); a used
    /// index rewritten to anything else is ignored, as any scribble on the
    /// used ring.
    pub fn reinitialised(&self, window: &impl Window) -> bool {
        self.next_used != 0 && window.read_u16(self.ring.used_idx()) == Some(0)
    }
}

/// How a ring looks to a device that is about to start on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// As a driver leaves a ring it just set up: used index 0, available
    /// index at most `num`.
    Fresh,
    /// The used index is not 0: not set up again (yet).
    Used,
}

impl Vring {
    /// Whether a driver has just set this ring up: [`Freshness::Fresh`] if
    /// the used index is 0 and the available index at most `num` ahead of
    /// it, [`Freshness::Used`] if the used index is not 0, and an
    /// [`RingError::AvailIndexJump`] for a zero used index with the
    /// available index further ahead.
    pub fn freshness(&self, window: &impl Window) -> Result<Freshness, RingError> {
        let used = window.read_u16(self.used_idx()).ok_or(RingError::RingOutsideWindow)?;
        if used != 0 {
            return Ok(Freshness::Used);
        }
        let avail = window.read_u16(self.avail_idx()).ok_or(RingError::RingOutsideWindow)?;
        if avail > self.num {
            return Err(RingError::AvailIndexJump { avail, seen: 0 });
        }
        Ok(Freshness::Fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::SliceWindow;

    /// A driver, as plain writes into the ring, for tests.
    struct Driver {
        ring: Vring,
        remote_base: u64,
        avail_idx: u16,
    }

    impl Driver {
        fn descriptor(&self, w: &mut impl Window, index: u16, offset: u64, len: u32, flags: u16, next: u16) {
            let at = self.ring.descriptor(index);
            w.write_u32(at, (self.remote_base + offset) as u32).unwrap();
            w.write_u32(at + 4, ((self.remote_base + offset) >> 32) as u32).unwrap();
            w.write_u32(at + 8, len).unwrap();
            w.write_u16(at + 12, flags).unwrap();
            w.write_u16(at + 14, next).unwrap();
        }

        fn offer(&mut self, w: &mut impl Window, head: u16) {
            w.write_u16(self.ring.avail_ring(self.avail_idx), head).unwrap();
            self.avail_idx = self.avail_idx.wrapping_add(1);
            w.write_u16(self.ring.avail_idx(), self.avail_idx).unwrap();
        }
    }

    const WINDOW: u32 = 0x4000;
    const REMOTE: u64 = 0x8_8000_0000;

    fn setup(bytes: &mut [u8]) -> (SliceWindow<'_>, DeviceQueue, Driver) {
        let ring = Vring::at(0, 8, 64, WINDOW).unwrap();
        let map = AddressMap::whole_window(REMOTE, WINDOW);
        (SliceWindow::new(bytes), DeviceQueue::new(ring, map), Driver { ring, remote_base: REMOTE, avail_idx: 0 })
    }

    #[test]
    fn layout_matches_linux_vring_init() {
        // vring_size(256, 4096) in Linux: 4096 + 4096 + ... = 0x2806 (10246).
        assert_eq!(Vring::size(256, 4096), Some(10246));
        // num 8, align 64: desc 0..128, avail 128..150, used at 192.
        let ring = Vring::at(0x1000, 8, 64, WINDOW).unwrap();
        assert_eq!((ring.desc, ring.avail, ring.used, ring.end()), (0x1000, 0x1080, 0x10C0, 0x10C0 + 6 + 64));
        assert_eq!(Vring::size(6, 64), None, "not a power of two");
        assert_eq!(Vring::at(0x1001, 8, 64, WINDOW), None, "unaligned");
        assert_eq!(Vring::at(WINDOW - 64, 8, 64, WINDOW), None, "does not fit");
        assert_eq!(Vring::at(!63, 8, 64, WINDOW), None);
    }

    #[test]
    fn a_chain_goes_round_and_comes_back_used() {
        let mut bytes = vec![0u8; WINDOW as usize];
        let (mut w, mut queue, mut driver) = setup(&mut bytes);
        driver.descriptor(&mut w, 3, 0x1000, 16, DESC_F_NEXT, 5);
        driver.descriptor(&mut w, 5, 0x2000, 512, DESC_F_WRITE, 0);
        driver.offer(&mut w, 3);
        let chain = queue.pop(&w).unwrap().unwrap();
        assert_eq!(chain.head, 3);
        assert_eq!(
            chain.segments(),
            [
                Segment { offset: 0x1000, len: 16, writable: false },
                Segment { offset: 0x2000, len: 512, writable: true }
            ]
        );
        assert_eq!((chain.readable_len(), chain.writable_len()), (16, 512));
        assert_eq!(queue.pop(&w).unwrap(), None);
        assert_eq!(queue.in_flight(), 1);
        queue.push(&mut w, 3, 100).unwrap();
        let used = driver.ring.used;
        assert_eq!((w.read_u16(used + 2), w.read_u32(used + 4), w.read_u32(used + 8)), (Some(1), Some(3), Some(100)));
        assert_eq!(queue.in_flight(), 0);
    }

    #[test]
    fn hostile_rings_are_refused() {
        type Case = (&'static str, fn(&mut SliceWindow<'_>, &mut Driver), RingError);
        let cases: [Case; 8] = [
            (
                "avail index jump",
                |w, d| {
                    d.descriptor(w, 0, 0, 8, 0, 0);
                    w.write_u16(d.ring.avail_idx(), 9).unwrap();
                },
                RingError::AvailIndexJump { avail: 9, seen: 0 },
            ),
            ("head out of range", |w, d| d.offer(w, 8), RingError::HeadOutOfRange(8)),
            (
                "next out of range",
                |w, d| {
                    d.descriptor(w, 0, 0, 8, DESC_F_NEXT, 200);
                    d.offer(w, 0);
                },
                RingError::NextOutOfRange(200),
            ),
            (
                "loop",
                |w, d| {
                    d.descriptor(w, 1, 0, 8, DESC_F_NEXT, 2);
                    d.descriptor(w, 2, 8, 8, DESC_F_NEXT, 1);
                    d.offer(w, 1);
                },
                RingError::ChainTooLong(1),
            ),
            (
                "indirect",
                |w, d| {
                    d.descriptor(w, 0, 0, 16, DESC_F_INDIRECT, 0);
                    d.offer(w, 0);
                },
                RingError::Indirect(0),
            ),
            (
                "readable after writable",
                |w, d| {
                    d.descriptor(w, 0, 0, 8, DESC_F_WRITE | DESC_F_NEXT, 1);
                    d.descriptor(w, 1, 8, 8, 0, 0);
                    d.offer(w, 0);
                },
                RingError::ReadableAfterWritable(1),
            ),
            (
                "past the end",
                |w, d| {
                    d.descriptor(w, 0, WINDOW as u64 - 8, 9, 0, 0);
                    d.offer(w, 0);
                },
                RingError::OutsideWindow { index: 0, address: REMOTE + WINDOW as u64 - 8, len: 9 },
            ),
            (
                "below the window",
                |w, d| {
                    let at = d.ring.descriptor(0);
                    w.write_u32(at, 0x1000).unwrap();
                    w.write_u32(at + 4, 0).unwrap();
                    w.write_u32(at + 8, 4).unwrap();
                    d.offer(w, 0);
                },
                RingError::OutsideWindow { index: 0, address: 0x1000, len: 4 },
            ),
        ];
        for (name, corrupt, expected) in cases {
            let mut bytes = vec![0u8; WINDOW as usize];
            let (mut w, mut queue, mut driver) = setup(&mut bytes);
            corrupt(&mut w, &mut driver);
            assert_eq!(queue.pop(&w), Err(expected), "{name}");
        }
    }

    #[test]
    fn resume_adopts_the_used_index() {
        let mut bytes = vec![0u8; WINDOW as usize];
        let (mut w, mut queue, mut driver) = setup(&mut bytes);
        for head in 0..3 {
            driver.descriptor(&mut w, head, 0x1000, 16, 0, 0);
            driver.offer(&mut w, head);
        }
        for _ in 0..3 {
            let chain = queue.pop(&w).unwrap().unwrap();
            if chain.head < 2 {
                queue.push(&mut w, chain.head, 0).unwrap();
            }
        }
        // A restarted device resumes after the two it returned: the third is
        // taken again.
        let mut again = DeviceQueue::new(driver.ring, AddressMap::whole_window(REMOTE, WINDOW));
        again.resume(&w).unwrap();
        assert_eq!(again.pop(&w).unwrap().map(|c| c.head), Some(2));
        // A used index the driver moved far from its available index is refused.
        w.write_u16(driver.ring.used_idx(), 100).unwrap();
        assert!(again.resume(&w).is_err());
    }

    use proptest::prelude::*;

    proptest! {
        /// Whatever a driver writes into the ring, popping never reads or
        /// yields anything outside the window, and never loops.
        #[test]
        fn arbitrary_rings_never_escape_the_window(ring_bytes in proptest::collection::vec(any::<u8>(), 256)) {
            let mut bytes = vec![0u8; WINDOW as usize];
            bytes[..256].copy_from_slice(&ring_bytes);
            let (w, mut queue, _) = setup(&mut bytes);
            for _ in 0..20 {
                match queue.pop(&w) {
                    Ok(Some(chain)) => {
                        prop_assert!(chain.segments().len() <= MAX_CHAIN);
                        for segment in chain.segments() {
                            prop_assert!(segment.offset as u64 + segment.len as u64 <= WINDOW as u64);
                        }
                    }
                    Ok(None) | Err(_) => break,
                }
            }
        }
    }
}
