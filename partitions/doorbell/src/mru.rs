//! NXP S32Z/S32E Message Receiving Unit (MRU), one channel, its first
//! mailbox used as a doorbell.
//!
//! Each core has its own MRU instance; a sender rings a core by writing a
//! mailbox of the receiver's instance. The island receives on channel `ch`
//! of its own instance and rings the other side by writing mailbox 0 of
//! channel `ch` of the other side's instance.
//!
//! | offset | register | use |
//! |---|---|---|
//! | 0x10 * ch + 0x0 | CH_CFG0 | bit 0 CHE (channel enable), bit 2 IE (interrupt enable), bit 16 MBE0 (mailbox 0 enable) |
//! | 0x10 * ch + 0x4 | CH_CFG1 | (unused) |
//! | 0x10 * ch + 0x8 | CH_MBSTAT | bit 16 MBS0: mailbox 0 written (write 1 to clear) |
//! | 0x1000 * (ch + 1) | CHx_MB0 | mailbox 0 |
//!
//! Set-up order: CHE alone, then IE | MBE0 | CHE.

use crate::{Doorbell, RegisterAccess, Registers};

const CHE: u32 = 1 << 0;
const IE: u32 = 1 << 2;
const MBE0: u32 = 1 << 16;
const MBS0: u32 = 1 << 16;

const fn ch_cfg0(channel: usize) -> usize {
    0x10 * channel
}
const fn ch_mbstat(channel: usize) -> usize {
    0x10 * channel + 0x8
}
const fn mailbox0(channel: usize) -> usize {
    0x1000 * (channel + 1)
}

/// What a ring writes into the other side's mailbox.
pub const RING_WORD: u32 = 1;

/// A doorbell over two MRU instances.
pub struct MruDoorbell<R = Registers> {
    own: R,
    other: R,
    channel: usize,
}

impl<R: RegisterAccess> MruDoorbell<R> {
    /// Enables channel `channel` of the island's own instance `own` for
    /// receiving; rings go to the same channel of `other`.
    pub fn new(own: R, other: R, channel: usize) -> MruDoorbell<R> {
        own.write(ch_cfg0(channel), CHE);
        own.write(ch_cfg0(channel), IE | MBE0 | CHE);
        MruDoorbell { own, other, channel }
    }
}

impl<R: RegisterAccess> Doorbell for MruDoorbell<R> {
    fn ring(&mut self) {
        self.other.write(mailbox0(self.channel), RING_WORD);
    }

    fn take(&mut self) -> bool {
        let status = self.own.read(ch_mbstat(self.channel));
        if status & MBS0 == 0 {
            return false;
        }
        let _ = self.own.read(mailbox0(self.channel));
        self.own.write(ch_mbstat(self.channel), MBS0);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_are_driven_as_documented() {
        let mut own_frame = vec![0u32; 0x4000 / 4];
        let mut other_frame = vec![0u32; 0x4000 / 4];
        // SAFETY: the vectors stand in for the two register frames and outlive the driver.
        let (own, other) = unsafe {
            (Registers::new(own_frame.as_mut_ptr() as usize), Registers::new(other_frame.as_mut_ptr() as usize))
        };
        let mut doorbell = MruDoorbell::new(own, other, 2);
        assert_eq!(own.read(0x20), 0x0001_0005, "IE | MBE0 | CHE on channel 2");
        doorbell.ring();
        assert_eq!(other.read(0x3000), RING_WORD, "mailbox 0 of channel 2 of the other instance");
        assert!(!doorbell.take());
        own.write(0x28, MBS0);
        assert!(doorbell.take());
        assert_eq!(own.read(0x28), MBS0, "cleared by writing the bit back");
    }
}

#[cfg(test)]
mod model {
    use super::*;
    use crate::model::{Device, no_ring_is_lost};

    const CHANNEL: usize = 2;

    /// One MRU channel as the driver's table describes it: a write to
    /// mailbox 0 (by the other side) sets `MBS0`, which raises the
    /// interrupt while `CHE` and `IE` are set and stays until written back
    /// (write 1 to clear); more writes before that merge into one.
    #[derive(Default)]
    struct Mru {
        cfg0: u32,
        mbs0: bool,
    }

    impl Device for Mru {
        fn read(&mut self, frame: usize, offset: usize) -> u32 {
            match (frame, offset) {
                (0, o) if o == ch_mbstat(CHANNEL) && self.mbs0 => MBS0,
                (0, o) if o == ch_cfg0(CHANNEL) => self.cfg0,
                (0, o) if o == mailbox0(CHANNEL) => RING_WORD,
                _ => 0,
            }
        }

        fn write(&mut self, frame: usize, offset: usize, value: u32) {
            match (frame, offset) {
                (0, o) if o == ch_cfg0(CHANNEL) => self.cfg0 = value,
                (0, o) if o == ch_mbstat(CHANNEL) && value & MBS0 != 0 => self.mbs0 = false,
                _ => {}
            }
        }

        fn irq(&self) -> bool {
            self.mbs0 && self.cfg0 & (CHE | IE) == CHE | IE
        }

        fn try_ring(&mut self) -> bool {
            self.mbs0 = true;
            true
        }
    }

    /// Reading the status, then clearing it after the mailbox, merges a
    /// ring that comes in between into the one being taken: `take` returns
    /// `true` after it, so the island looks at the rings after that ring.
    #[test]
    fn no_ring_is_lost_whenever_the_mailbox_is_written() {
        no_ring_is_lost(Mru::default, |bench| Box::new(MruDoorbell::new(bench.port(0), bench.port(1), CHANNEL)));
    }
}
