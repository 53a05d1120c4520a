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

use crate::{Doorbell, Registers};

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
pub struct MruDoorbell {
    own: Registers,
    other: Registers,
    channel: usize,
}

impl MruDoorbell {
    /// Enables channel `channel` of the island's own instance `own` for
    /// receiving; rings go to the same channel of `other`.
    pub fn new(own: Registers, other: Registers, channel: usize) -> MruDoorbell {
        own.write(ch_cfg0(channel), CHE);
        own.write(ch_cfg0(channel), IE | MBE0 | CHE);
        MruDoorbell { own, other, channel }
    }
}

impl Doorbell for MruDoorbell {
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
