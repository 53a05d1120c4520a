//! Arm MHUv2 doorbell: one bit of one channel window in each direction.
//!
//! The sender frame rings the other side; the receiver frame is rung.
//! Offsets follow the MHUv2 architecture (as Linux's `arm_mhuv2.c` lays
//! them out):
//!
//! | frame | offset | register | use |
//! |---|---|---|---|
//! | sender | 0x20 * ch + 0x0C | CH_ST_SET | ring: set bit 0 |
//! | sender | 0xF88 | ACCESS_REQUEST | 1: keep the receiver awake |
//! | sender | 0xF8C | ACCESS_READY | 1 once the receiver is awake |
//! | receiver | 0x20 * ch + 0x04 | CH_ST_MSK | bits rung and not masked |
//! | receiver | 0x20 * ch + 0x08 | CH_CLR | take: clear the bits rung |
//! | receiver | 0x20 * ch + 0x18 | CH_MSK_CLR | unmask bit 0 |

use crate::{Doorbell, MAX_POLLS, RegisterAccess, Registers};

const fn window(channel: usize) -> usize {
    0x20 * channel
}
const CH_ST_SET: usize = 0x0C;
const CH_ST_MSK: usize = 0x04;
const CH_CLR: usize = 0x08;
const CH_MSK_CLR: usize = 0x18;
const ACCESS_REQUEST: usize = 0xF88;
const ACCESS_READY: usize = 0xF8C;
const DOORBELL: u32 = 1 << 0;

/// A doorbell over an MHUv2 sender and receiver frame.
pub struct Mhuv2Doorbell<R = Registers> {
    sender: R,
    receiver: R,
    channel: usize,
    /// Whether the receiver acknowledged the access request at set-up.
    pub ready: bool,
}

impl<R: RegisterAccess> Mhuv2Doorbell<R> {
    /// Unmasks the doorbell bit of channel `channel` in the `receiver` frame
    /// and requests access through the `sender` frame.
    pub fn new(sender: R, receiver: R, channel: usize) -> Mhuv2Doorbell<R> {
        receiver.write(window(channel) + CH_MSK_CLR, DOORBELL);
        sender.write(ACCESS_REQUEST, 1);
        let ready = (0..MAX_POLLS).any(|_| sender.read(ACCESS_READY) & 1 != 0);
        Mhuv2Doorbell { sender, receiver, channel, ready }
    }
}

impl<R: RegisterAccess> Doorbell for Mhuv2Doorbell<R> {
    fn ring(&mut self) {
        self.sender.write(window(self.channel) + CH_ST_SET, DOORBELL);
    }

    fn take(&mut self) -> bool {
        let rung = self.receiver.read(window(self.channel) + CH_ST_MSK);
        if rung == 0 {
            return false;
        }
        self.receiver.write(window(self.channel) + CH_CLR, rung);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_are_driven_as_documented() {
        let mut sender_frame = vec![0u32; 0x1000 / 4];
        let mut receiver_frame = vec![0u32; 0x1000 / 4];
        sender_frame[ACCESS_READY / 4] = 1;
        // SAFETY: the vectors stand in for the two frames and outlive the driver.
        let (sender, receiver) = unsafe {
            (Registers::new(sender_frame.as_mut_ptr() as usize), Registers::new(receiver_frame.as_mut_ptr() as usize))
        };
        let mut doorbell = Mhuv2Doorbell::new(sender, receiver, 3);
        assert!(doorbell.ready);
        assert_eq!((sender.read(0xF88), receiver.read(0x78)), (1, 1), "access requested, bit 0 of channel 3 unmasked");
        doorbell.ring();
        assert_eq!(sender.read(0x6C), 1, "CH_ST_SET of channel 3");
        assert!(!doorbell.take());
        receiver.write(0x64, 0b101);
        assert!(doorbell.take());
        assert_eq!(receiver.read(0x68), 0b101, "CH_CLR takes what was rung");
    }
}

#[cfg(test)]
mod model {
    use super::*;
    use crate::model::{Device, no_ring_is_lost};

    const CHANNEL: usize = 3;
    const SENDER: usize = 0;
    const RECEIVER: usize = 1;

    /// One MHUv2 channel: the other side's `CH_ST_SET` sets bit 0 of the
    /// receiver's `CH_ST`, which raises the interrupt while unmasked and
    /// stays until `CH_CLR`; more rings before that merge into one. The
    /// receiver is always awake (`ACCESS_READY` reads 1).
    struct Mhu {
        status: u32,
        mask: u32,
    }

    impl Device for Mhu {
        fn read(&mut self, frame: usize, offset: usize) -> u32 {
            match (frame, offset) {
                (SENDER, ACCESS_READY) => 1,
                (RECEIVER, o) if o == window(CHANNEL) + CH_ST_MSK => self.status & !self.mask,
                _ => 0,
            }
        }

        fn write(&mut self, frame: usize, offset: usize, value: u32) {
            match (frame, offset) {
                (RECEIVER, o) if o == window(CHANNEL) + CH_CLR => self.status &= !value,
                (RECEIVER, o) if o == window(CHANNEL) + CH_MSK_CLR => self.mask &= !value,
                _ => {}
            }
        }

        fn irq(&self) -> bool {
            self.status & !self.mask != 0
        }

        fn try_ring(&mut self) -> bool {
            self.status |= DOORBELL;
            true
        }
    }

    /// As for the MRU: a ring between the look at `CH_ST_MSK` and `CH_CLR`
    /// merges into the one being taken, and `take` returns `true` after it.
    #[test]
    fn no_ring_is_lost_whenever_the_channel_is_set() {
        no_ring_is_lost(
            || Mhu { status: 0, mask: u32::MAX },
            |bench| Box::new(Mhuv2Doorbell::new(bench.port(SENDER), bench.port(RECEIVER), CHANNEL)),
        );
    }
}
