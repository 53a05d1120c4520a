//! The debug communications channel (Armv8-R AArch32 debug architecture)
//! as a console: each byte is one word written to `DBGDTRTXint` when
//! `DBGDSCRint.TXfull` is clear, read by an attached debugger (OpenOCD's
//! `arm dcc`, Lauterbach TERM, probe-rs once it has an Armv8-R target).
//!
//! ST's Stellar SR6 parts have UARTs whose register maps are not public;
//! L4Re's Stellar port uses the DCC as its console, and so does the
//! `sr6p7` board here (`console_driver = "dcc"`). With no debugger
//! reading, `TXfull` stays set after the first byte and the console drops
//! bytes rather than wait: a system without a probe runs unchanged.
//!
//! [`Dcc`] is generic over [`DebugChannel`] so host tests drive it with a
//! model; [`Cp14`] is the core's own channel (AArch32 targets only).
//!
//! Not the crates.io `arm-dcc` crate: its `write` waits for the debugger
//! without bound, and a console the kernel drains between partitions'
//! windows must never wait.
//!
//! This crate must never touch any debug register but the two above.

#![no_std]

/// `DBGDSCRint.TXfull`: the debugger has not yet read the last word.
pub const DSCR_TX_FULL: u32 = 1 << 29;

/// The two registers of the channel a core's software uses.
pub trait DebugChannel {
    /// `DBGDSCRint`.
    fn status(&mut self) -> u32;
    /// Writes `DBGDTRTXint`.
    fn transmit(&mut self, word: u32);
}

/// The executing core's DCC, through CP14.
#[derive(Debug, Default)]
pub struct Cp14;

#[cfg(target_arch = "arm")]
impl DebugChannel for Cp14 {
    #[inline]
    fn status(&mut self) -> u32 {
        let value: u32;
        // SAFETY: reads DBGDSCRint (`mrc p14, 0, Rt, c0, c1, 0`), a
        // read-only status view with no side effect.
        unsafe {
            core::arch::asm!("mrc p14, 0, {}, c0, c1, 0", out(reg) value, options(nomem, nostack, preserves_flags))
        };
        value
    }

    #[inline]
    fn transmit(&mut self, word: u32) {
        // SAFETY: writes DBGDTRTXint (`mcr p14, 0, Rt, c0, c5, 0`): hands a
        // word to the debugger and sets TXfull; nothing else changes.
        unsafe {
            core::arch::asm!("mcr p14, 0, {}, c0, c5, 0", in(reg) word, options(nomem, nostack, preserves_flags))
        };
    }
}

/// Bytes over a [`DebugChannel`], one per word.
#[derive(Debug)]
pub struct Dcc<C> {
    channel: C,
}

impl<C: DebugChannel> Dcc<C> {
    /// The console on `channel`.
    pub const fn new(channel: C) -> Self {
        Dcc { channel }
    }

    /// Sends `byte` if the debugger has taken the previous word.
    #[inline]
    pub fn try_write_byte(&mut self, byte: u8) -> bool {
        if self.channel.status() & DSCR_TX_FULL != 0 {
            return false;
        }
        self.channel.transmit(byte as u32);
        true
    }

    /// The channel (for tests).
    pub fn channel(&mut self) -> &mut C {
        &mut self.channel
    }
}

#[cfg(target_arch = "arm")]
impl bulkhead_console::Console for Dcc<Cp14> {
    /// The DCC has no frame: `base` is ignored (the board's console device
    /// is then a placeholder the generator does not map).
    unsafe fn at(_base: usize) -> Self {
        Dcc::new(Cp14)
    }

    fn init(&mut self) -> bool {
        true
    }

    #[inline]
    fn try_write_byte(&mut self, byte: u8) -> bool {
        Dcc::try_write_byte(self, byte)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// A debugger that reads a word every `every` status reads (0: never).
    struct Debugger {
        full: bool,
        every: u32,
        reads: u32,
        received: Vec<u32>,
        pending: Option<u32>,
        overwritten: u32,
    }

    impl DebugChannel for Debugger {
        fn status(&mut self) -> u32 {
            self.reads += 1;
            if self.full && self.every != 0 && self.reads.is_multiple_of(self.every) {
                self.received.extend(self.pending.take());
                self.full = false;
            }
            if self.full { DSCR_TX_FULL } else { 0 }
        }

        fn transmit(&mut self, word: u32) {
            if self.full {
                self.overwritten += 1;
            }
            self.pending = Some(word);
            self.full = true;
        }
    }

    fn debugger(every: u32) -> Debugger {
        Debugger { full: false, every, reads: 0, received: Vec::new(), pending: None, overwritten: 0 }
    }

    #[test]
    fn bytes_reach_a_reading_debugger_in_order_one_word_each() {
        let mut dcc = Dcc::new(debugger(3));
        let text = b"@boot system=demo board=sr6p7\n";
        for &byte in text {
            while !dcc.try_write_byte(byte) {}
        }
        while dcc.channel().status() & DSCR_TX_FULL != 0 {}
        let received: Vec<u8> = dcc.channel().received.iter().map(|w| *w as u8).collect();
        assert_eq!(received, text);
        assert!(dcc.channel().received.iter().all(|w| *w < 0x100), "one byte per word");
        assert_eq!(dcc.channel().overwritten, 0, "never writes over an unread word");
    }

    #[test]
    fn without_a_debugger_bytes_are_refused_not_waited_for() {
        let mut dcc = Dcc::new(debugger(0));
        assert!(dcc.try_write_byte(b'a'));
        for _ in 0..1000 {
            assert!(!dcc.try_write_byte(b'b'));
        }
        assert_eq!(dcc.channel().overwritten, 0);
    }
}
